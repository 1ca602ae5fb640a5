// Strict decoding, as the C++ core does it: canonical base64url, and JSON
// without duplicate members, non-finite numbers, lone surrogates or invalid
// UTF-8.

const B64URL = /^[A-Za-z0-9_-]*$/;
// The last character of a segment whose length is 2 or 3 (mod 4) carries 4 or
// 2 unused low bits; canonical encodings leave them zero. Non-canonical ones
// decode to the same bytes, so they are told apart here.
const CANONICAL_LAST = [null, null, 'AQgw', 'AEIMQUYcgkosw048'];

// null unless `text` is unpadded base64url with canonical trailing bits.
export function b64urlDecode(text) {
  const rem = text.length % 4;
  if (rem === 1 || !B64URL.test(text)) return null;
  if (rem !== 0 && !CANONICAL_LAST[rem].includes(text[text.length - 1])) return null;
  return Buffer.from(text, 'base64url');
}

export class JsonDuplicate extends Error {}
export class JsonSyntax extends Error {}

// A leading BOM is dropped, as the core's parser skips one.
const utf8 = new TextDecoder('utf-8', { fatal: true });

// The value when `text` is what JSON.stringify writes back for it, byte for
// byte (the gateway writes its header and claims compactly, as stringify
// does), else undefined. Equal text has equal structure, and re-encoded
// objects cannot repeat a member, so such a document has no duplicate member;
// non-finite numbers re-encode as null; a lone surrogate could only come from
// a \u escape, and escapes send the text to the strict check. Anything else
// goes to the strict check, which decides.
function parseCompact(text) {
  if (text.includes('\\u')) return undefined;
  let v;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  return JSON.stringify(v) === text ? v : undefined;
}

// Checks the grammar (RFC 8259) and the core's extra rules, then lets
// JSON.parse build the value.
export function parseJson(bytes) {
  let text;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw new JsonSyntax('invalid UTF-8');
  }
  const compact = parseCompact(text);
  if (compact !== undefined) return compact;
  let i = 0;
  const fail = (why) => { throw new JsonSyntax(`${why} at ${i}`); };
  const ws = () => { while (i < text.length && ' \t\n\r'.includes(text[i])) i++; };
  const string = () => {
    let out = '';
    i++; // opening quote
    for (;;) {
      if (i >= text.length) fail('unterminated string');
      const c = text.charCodeAt(i);
      if (c === 0x22) { i++; return out; }
      if (c < 0x20) fail('control character in string');
      if (c !== 0x5c) { out += text[i++]; continue; }
      const e = text[i + 1];
      if (e === 'u') {
        const hex = (at) => {
          const h = text.slice(at, at + 4);
          if (!/^[0-9A-Fa-f]{4}$/.test(h)) fail('bad \\u escape');
          return parseInt(h, 16);
        };
        const cu = hex(i + 2);
        i += 6;
        if (cu >= 0xdc00 && cu <= 0xdfff) fail('lone low surrogate');
        if (cu >= 0xd800 && cu <= 0xdbff) {
          if (text[i] !== '\\' || text[i + 1] !== 'u') fail('lone high surrogate');
          const lo = hex(i + 2);
          if (lo < 0xdc00 || lo > 0xdfff) fail('lone high surrogate');
          i += 6;
          out += String.fromCharCode(cu, lo);
        } else {
          out += String.fromCharCode(cu);
        }
        continue;
      }
      const simple = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' }[e];
      if (simple === undefined) fail('bad escape');
      out += simple;
      i += 2;
    }
  };
  const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
  const value = () => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const seen = new Set();
      ws();
      if (text[i] === '}') { i++; return; }
      for (;;) {
        ws();
        if (text[i] !== '"') fail('expected a member name');
        const k = string();
        if (seen.has(k)) throw new JsonDuplicate(k);
        seen.add(k);
        ws();
        if (text[i++] !== ':') fail('expected :');
        value();
        ws();
        if (text[i] === ',') { i++; continue; }
        if (text[i] === '}') { i++; return; }
        fail('expected , or }');
      }
    }
    if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') { i++; return; }
      for (;;) {
        value();
        ws();
        if (text[i] === ',') { i++; continue; }
        if (text[i] === ']') { i++; return; }
        fail('expected , or ]');
      }
    }
    if (c === '"') { string(); return; }
    for (const lit of ['true', 'false', 'null']) {
      if (text.startsWith(lit, i)) { i += lit.length; return; }
    }
    NUMBER.lastIndex = i;
    const m = NUMBER.exec(text);
    if (!m) fail('unexpected character');
    if (!Number.isFinite(Number(m[0]))) fail('number overflow');
    i += m[0].length;
  };
  value();
  ws();
  if (i !== text.length) fail('trailing characters');
  return JSON.parse(text);
}

export const isNumber = (v) => typeof v === 'number';
