// RFC 9651 structured fields (obsoletes RFC 8941): a strict parser and a
// serializer, agreeing with the C++ core's on every input.
//
// Why not npm structured-headers: it decodes Byte Sequences leniently
// (`:YQ:` and `:YR==:` both parse as "a"), so a signature or a digest would
// have several spellings and the core's `malformed` verdicts could not be
// reached. Here a Byte Sequence must be canonical padded base64.
//
// Field text is a "byte string" (latin1: one char per byte). Values:
//   bare item  { type: 'integer'|'decimal'|'string'|'token'|'bytes'|'boolean'|'date'|'display', value }
//              (decimal: value in thousandths, an integer, so it re-serializes exactly;
//               bytes: a Buffer; display: a JS string)
//   Item       { kind: 'item', value: bare, params: Map<key, bare> }
//   InnerList  { kind: 'inner', items: Item[], params: Map<key, bare> }
//   Dictionary Map<key, Item|InnerList>; List (Item|InnerList)[]
// A repeated Dictionary or Parameters key keeps its first position and its
// last value (RFC 9651 4.2.2, 4.2.3.2); parseDictionary(text, { refuseRepeatedParameters: true })
// fails on a Parameters key repeated instead (RFC 9421 verifiers parse
// Signature-Input so: no serializer writes a parameter twice, and a parser
// keeping the first value would read another signature).

export class SfError extends Error {
  constructor(message) {
    super(`structured field: ${message}`);
    this.name = 'SfError';
  }
}

const MAX_INTEGER = 999999999999999;
const MAX_DECIMAL_MILLI = 999999999999999; // 999999999999.999

const isDigit = (c) => c >= '0' && c <= '9';
const isLcAlpha = (c) => c >= 'a' && c <= 'z';
const isAlpha = (c) => isLcAlpha(c) || (c >= 'A' && c <= 'Z');
const isTchar = (c) => isAlpha(c) || isDigit(c) || (c !== '' && "!#$%&'*+-.^_`|~".includes(c));
const isKeyChar = (c) => isLcAlpha(c) || isDigit(c) || c === '_' || c === '-' || c === '.' || c === '*';
const B64_CHARS = /^[A-Za-z0-9+/=]*$/;

export const bare = (type, value) => ({ type, value });
export const item = (value, params = new Map()) => ({ kind: 'item', value, params });
export const isTrue = (b) => b.type === 'boolean' && b.value === true;

export function isValidKey(key) {
  if (!key || !(isLcAlpha(key[0]) || key[0] === '*')) return false;
  for (const c of key) if (!isKeyChar(c)) return false;
  return true;
}

export function isValidToken(token) {
  if (!token || !(isAlpha(token[0]) || token[0] === '*')) return false;
  for (const c of token) if (!isTchar(c) && c !== ':' && c !== '/') return false;
  return true;
}

// Canonical padded base64 only: the text must be exactly what encoding the
// decoded bytes gives back (no missing padding, no stray pad bits).
export function decodeCanonicalBase64(text) {
  if (!B64_CHARS.test(text) || text.length % 4 !== 0) return null;
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64') === text ? bytes : null;
}

function validUtf8(buf) {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(buf);
    return true;
  } catch {
    return false;
  }
}

class Parser {
  constructor(text, refuseRepeatedParameters = false) {
    this.s = text;
    this.i = 0;
    this.refuseRepeated = refuseRepeatedParameters;
  }

  fail(what) {
    throw new SfError(`${what} at offset ${this.i}`);
  }

  get empty() {
    return this.i >= this.s.length;
  }

  peek() {
    return this.empty ? '' : this.s[this.i];
  }

  skipSp() {
    while (!this.empty && this.s[this.i] === ' ') this.i++;
  }

  skipOws() {
    while (!this.empty && (this.s[this.i] === ' ' || this.s[this.i] === '\t')) this.i++;
  }

  // RFC 9651 4.2: ASCII only, leading and trailing SP, nothing after the value.
  top(parse) {
    if (/[^\x00-\x7f]/.test(this.s)) throw new SfError('non-ASCII byte');
    this.skipSp();
    const v = parse();
    this.skipSp();
    if (!this.empty) this.fail('unexpected character');
    return v;
  }

  memberSeparator() {
    this.skipOws();
    if (this.empty) return false;
    if (this.s[this.i] !== ',') this.fail("expected ','");
    this.i++;
    this.skipOws();
    if (this.empty) this.fail("trailing ','");
    return true;
  }

  list() {
    const out = [];
    while (!this.empty) {
      out.push(this.itemOrInnerList());
      if (!this.memberSeparator()) break;
    }
    return out;
  }

  dictionary() {
    const out = new Map();
    while (!this.empty) {
      const key = this.key();
      let member;
      if (this.peek() === '=') {
        this.i++;
        member = this.itemOrInnerList();
      } else {
        member = item(bare('boolean', true), this.parameters());
      }
      out.set(key, member);
      if (!this.memberSeparator()) break;
    }
    return out;
  }

  itemOrInnerList() {
    return this.peek() === '(' ? this.innerList() : this.item();
  }

  innerList() {
    if (this.peek() !== '(') this.fail("expected '('");
    this.i++;
    const items = [];
    while (!this.empty) {
      this.skipSp();
      if (this.peek() === ')') {
        this.i++;
        return { kind: 'inner', items, params: this.parameters() };
      }
      items.push(this.item());
      if (this.peek() !== ' ' && this.peek() !== ')') this.fail("expected ' ' or ')' in inner list");
    }
    return this.fail('unterminated inner list');
  }

  item() {
    const value = this.bareItem();
    return item(value, this.parameters());
  }

  parameters() {
    const out = new Map();
    while (this.peek() === ';') {
      this.i++;
      this.skipSp();
      const key = this.key();
      let value = bare('boolean', true);
      if (this.peek() === '=') {
        this.i++;
        value = this.bareItem();
      }
      if (this.refuseRepeated && out.has(key)) this.fail(`parameter "${key}" repeated`);
      out.set(key, value);
    }
    return out;
  }

  key() {
    const c = this.peek();
    if (!isLcAlpha(c) && c !== '*') this.fail('expected a key');
    const start = this.i;
    while (!this.empty && isKeyChar(this.s[this.i])) this.i++;
    return this.s.slice(start, this.i);
  }

  bareItem() {
    const c = this.peek();
    if (c === '-' || isDigit(c)) return this.number();
    if (c === '"') return this.string();
    if (c === '*' || isAlpha(c)) return this.token();
    if (c === ':') return this.byteSequence();
    if (c === '?') return this.boolean();
    if (c === '@') return this.date();
    if (c === '%') return this.displayString();
    return this.fail('expected an item');
  }

  number() {
    let negative = false;
    if (this.peek() === '-') {
      negative = true;
      this.i++;
    }
    if (!isDigit(this.peek())) this.fail('expected a digit');
    let decimal = false;
    let intPart = 0;
    let intDigits = 0;
    let frac = 0;
    let fracDigits = 0;
    while (!this.empty) {
      const ch = this.s[this.i];
      if (isDigit(ch)) {
        this.i++;
        if (decimal) {
          frac = frac * 10 + (ch.charCodeAt(0) - 48);
          fracDigits++;
        } else {
          intPart = intPart * 10 + (ch.charCodeAt(0) - 48);
          intDigits++;
        }
      } else if (!decimal && ch === '.') {
        if (intDigits > 12) this.fail('decimal with more than 12 integer digits');
        this.i++;
        decimal = true;
      } else {
        break;
      }
      if (!decimal && intDigits > 15) this.fail('integer with more than 15 digits');
      if (decimal && intDigits + 1 + fracDigits > 16) this.fail('decimal too long');
    }
    if (!decimal) return bare('integer', negative ? -intPart || 0 : intPart);
    if (fracDigits === 0) this.fail("decimal ends with '.'");
    if (fracDigits > 3) this.fail('decimal with more than 3 fractional digits');
    for (let k = fracDigits; k < 3; k++) frac *= 10;
    const milli = intPart * 1000 + frac;
    return bare('decimal', negative ? -milli || 0 : milli);
  }

  string() {
    this.i++; // '"'
    let out = '';
    while (!this.empty) {
      const c = this.s[this.i++];
      if (c === '\\') {
        if (this.empty) this.fail('string ends in an escape');
        const next = this.s[this.i++];
        if (next !== '"' && next !== '\\') this.fail('invalid escape in string');
        out += next;
      } else if (c === '"') {
        return bare('string', out);
      } else if (c < ' ' || c > '~') {
        this.i--;
        this.fail('control character in string');
      } else {
        out += c;
      }
    }
    return this.fail('unterminated string');
  }

  token() {
    const start = this.i++;
    while (!this.empty && (isTchar(this.s[this.i]) || this.s[this.i] === ':' || this.s[this.i] === '/')) this.i++;
    return bare('token', this.s.slice(start, this.i));
  }

  byteSequence() {
    this.i++; // ':'
    const end = this.s.indexOf(':', this.i);
    if (end < 0) this.fail('unterminated byte sequence');
    const text = this.s.slice(this.i, end);
    if (!B64_CHARS.test(text)) this.fail('invalid character in byte sequence');
    const bytes = decodeCanonicalBase64(text);
    if (bytes === null) this.fail('byte sequence is not canonical padded base64');
    this.i = end + 1;
    return bare('bytes', bytes);
  }

  boolean() {
    this.i++; // '?'
    const c = this.peek();
    if (c !== '0' && c !== '1') this.fail('expected ?0 or ?1');
    this.i++;
    return bare('boolean', c === '1');
  }

  date() {
    this.i++; // '@'
    const n = this.number();
    if (n.type !== 'integer') this.fail('date is not an integer');
    return bare('date', n.value);
  }

  displayString() {
    this.i++; // '%'
    if (this.peek() !== '"') this.fail("expected '\"' after '%'");
    this.i++;
    const bytes = [];
    const hex = (h) => '0123456789abcdef'.indexOf(h); // uppercase is invalid here (RFC 9651 4.2.10)
    while (!this.empty) {
      const c = this.s[this.i++];
      if (c < ' ' || c > '~') {
        this.i--;
        this.fail('control character in display string');
      }
      if (c === '%') {
        if (this.s.length - this.i < 2) this.fail('truncated escape in display string');
        const hi = hex(this.s[this.i]);
        const lo = hex(this.s[this.i + 1]);
        if (hi < 0 || lo < 0) this.fail('invalid escape in display string');
        bytes.push(hi * 16 + lo);
        this.i += 2;
      } else if (c === '"') {
        const buf = Buffer.from(bytes);
        if (!validUtf8(buf)) this.fail('display string is not UTF-8');
        return bare('display', buf.toString('utf8'));
      } else {
        bytes.push(c.charCodeAt(0));
      }
    }
    return this.fail('unterminated display string');
  }
}

export const parseDictionary = (text, { refuseRepeatedParameters = false } = {}) => {
  const p = new Parser(text, refuseRepeatedParameters);
  return p.top(() => p.dictionary());
};
export const parseList = (text) => { const p = new Parser(text); return p.top(() => p.list()); };
export const parseItem = (text) => { const p = new Parser(text); return p.top(() => p.item()); };
export const parseInnerList = (text) => { const p = new Parser(text); return p.top(() => p.innerList()); };

const HEX = '0123456789abcdef';

export function serializeBare(b) {
  switch (b.type) {
    case 'integer':
      if (!Number.isInteger(b.value) || Math.abs(b.value) > MAX_INTEGER) throw new SfError('cannot serialize integer out of range');
      return String(b.value);
    case 'date':
      if (!Number.isInteger(b.value) || Math.abs(b.value) > MAX_INTEGER) throw new SfError('cannot serialize date out of range');
      return `@${b.value}`;
    case 'decimal': {
      if (!Number.isInteger(b.value) || Math.abs(b.value) > MAX_DECIMAL_MILLI) throw new SfError('cannot serialize decimal out of range');
      const a = Math.abs(b.value);
      const digits = String(1000 + (a % 1000)).slice(1).replace(/(?<=.)0+$/, '');
      return `${b.value < 0 ? '-' : ''}${Math.floor(a / 1000)}.${digits}`;
    }
    case 'string':
      if (/[^\x20-\x7e]/.test(b.value)) throw new SfError('cannot serialize string with a non-printable character');
      return `"${b.value.replace(/["\\]/g, '\\$&')}"`;
    case 'token':
      if (!isValidToken(b.value)) throw new SfError('cannot serialize invalid token');
      return b.value;
    case 'bytes':
      return `:${Buffer.from(b.value).toString('base64')}:`;
    case 'boolean':
      return b.value ? '?1' : '?0';
    case 'display': {
      let out = '%"';
      for (const u of Buffer.from(b.value, 'utf8')) {
        out += u === 0x25 || u === 0x22 || u < 0x20 || u > 0x7e ? `%${HEX[u >> 4]}${HEX[u & 15]}` : String.fromCharCode(u);
      }
      return `${out}"`;
    }
    default:
      throw new SfError('cannot serialize unknown type');
  }
}

export function serializeParams(params) {
  let out = '';
  for (const [key, value] of params) {
    if (!isValidKey(key)) throw new SfError('cannot serialize invalid parameter key');
    out += `;${key}`;
    if (!isTrue(value)) out += `=${serializeBare(value)}`;
  }
  return out;
}

export const serializeItem = (it) => serializeBare(it.value) + serializeParams(it.params);

export const serializeInnerList = (il) => `(${il.items.map(serializeItem).join(' ')})${serializeParams(il.params)}`;

export const serializeMember = (m) => (m.kind === 'inner' ? serializeInnerList(m) : serializeItem(m));

export const serializeList = (list) => list.map(serializeMember).join(', ');

export function serializeDictionary(dict) {
  const parts = [];
  for (const [key, m] of dict) {
    if (!isValidKey(key)) throw new SfError('cannot serialize invalid dictionary key');
    parts.push(m.kind === 'item' && isTrue(m.value) ? key + serializeParams(m.params) : `${key}=${serializeMember(m)}`);
  }
  return parts.join(', ');
}
