// The RFC 9421 signature base (Section 2.5): one line per covered component,
// derived components (Section 2.2) and HTTP fields (Section 2.1) with the sf,
// key, bs and req parameters, then the @signature-params line. Built exactly
// as the C++ core builds it; every refusal is bad_component.
//
// A request is { method, targetUri, headers: [[name, value], ...] } with the
// target URI absolute (scheme://authority/path?query, as the service sees it)
// and every string a byte string (latin1: one char per byte, as Node's
// rawHeaders hold them). A response is { status, headers, request } (request:
// the request, for components with `;req`).
import { VerificationError } from './errors.js';
import {
  bare, item, isTrue, parseDictionary, parseInnerList, parseItem, parseList, serializeDictionary, serializeItem,
  serializeList, serializeMember, SfError,
} from './sf.js';

const componentError = (shown, why) => new VerificationError('bad_component', `component ${shown}: ${why}`);

// scheme://authority/path?query, split as RFC 3986 does for http(s) URIs.
function parseTarget(uri) {
  const bad = (why) => { throw new Error(`target URI: ${why}`); };
  const colon = uri.indexOf(':');
  if (colon <= 0) bad('no scheme');
  const scheme = uri.slice(0, colon);
  if (!/^[A-Za-z0-9+.-]+$/.test(scheme)) bad('invalid scheme');
  if (uri.slice(colon + 1, colon + 3) !== '//') bad('not an absolute URI with an authority');
  let rest = uri.slice(colon + 3);
  if (rest.includes('#')) bad('a target URI has no fragment');
  const authEnd = rest.search(/[/?]/);
  const authority = authEnd < 0 ? rest : rest.slice(0, authEnd);
  if (!authority) bad('empty authority');
  if (authority.includes('@')) bad('userinfo is not allowed');
  rest = authEnd < 0 ? '' : rest.slice(authEnd);
  const q = rest.indexOf('?');
  const out = { scheme, authority, path: q < 0 ? rest : rest.slice(0, q), query: q < 0 ? '' : rest.slice(q + 1), hasQuery: q >= 0 };
  if (/[^\x21-\x7e]/.test(uri)) bad('space, control or non-ASCII character');
  return out;
}

// RFC 9110 4.2.3: lowercase host, no default port, no empty port.
function normalizedAuthority(t) {
  const scheme = t.scheme.toLowerCase();
  const a = t.authority;
  const bracket = a.lastIndexOf(']');
  const colon = a.lastIndexOf(':');
  let host = a;
  let port = '';
  if (colon >= 0 && (bracket < 0 || colon > bracket)) {
    host = a.slice(0, colon);
    port = a.slice(colon + 1);
  }
  const dflt = port === '' || (scheme === 'http' && port === '80') || (scheme === 'https' && port === '443');
  return host.toLowerCase() + (dflt ? '' : `:${port}`);
}

const hexValue = (c) => '0123456789abcdef'.indexOf(c.toLowerCase());

// WHATWG application/x-www-form-urlencoded parsing of one name or value, on
// bytes: '+' is a space, valid %XX escapes decode, anything else stays.
function formDecode(s) {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '+') out += ' ';
    else if (s[i] === '%' && i + 2 < s.length && hexValue(s[i + 1]) >= 0 && hexValue(s[i + 2]) >= 0) {
      out += String.fromCharCode(hexValue(s[i + 1]) * 16 + hexValue(s[i + 2]));
      i += 2;
    } else out += s[i];
  }
  return out;
}

// Percent-encoding with the form-urlencoded set, space as %20 (RFC 9421
// 2.2.8: "with+plus+whitespace" -> "with%20plus%20whitespace").
function formEncode(s) {
  let out = '';
  for (const c of s) {
    if (/[A-Za-z0-9*\-._]/.test(c)) out += c;
    else out += `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

// Field values named `name` (lowercase), each trimmed and unfolded.
export function fieldValues(headers, name) {
  const out = [];
  for (const [n, raw] of headers) {
    if (n.length !== name.length || n.toLowerCase() !== name) continue;
    const v = raw.replace(/^[ \t]+|[ \t]+$/g, '');
    // obs-fold (CRLF or LF followed by SP/HTAB) becomes one space; a bare line
    // break stays, and fails the printable check below.
    out.push(v.replace(/(?:\r\n|\r|\n)[ \t]+/g, ' '));
  }
  return out;
}

// What RFC 9110 5.3 makes of repeated field lines (no trimming: the core's
// combined_field, used for Signature, Signature-Input and Content-Digest).
export function combinedField(headers, name) {
  let out = null;
  for (const [n, v] of headers) {
    if (n.length !== name.length || n.toLowerCase() !== name) continue;
    out = out === null ? v : `${out}, ${v}`;
  }
  return out;
}

const SF_TYPES = new Map([
  ...['signature', 'signature-input', 'content-digest', 'repr-digest', 'want-content-digest', 'want-repr-digest',
    'priority', 'accept-signature', 'cache-control-dict', 'example-dict'].map((n) => [n, 'dictionary']),
  ...['cache-status', 'proxy-status', 'accept-ch', 'client-cert-chain', 'example-list'].map((n) => [n, 'list']),
  ...['client-cert', 'example-item'].map((n) => [n, 'item']),
]);

// A flag parameter must be a true Boolean (`;sf`, not `;sf=?0` or `;sf=1`).
function flag(id, key, shown) {
  const p = id.params.get(key);
  if (p === undefined) return false;
  if (!isTrue(p)) throw componentError(shown, `parameter ${key} must be ?1`);
  return true;
}

function stringParam(id, key, shown) {
  const p = id.params.get(key);
  if (p === undefined) throw componentError(shown, `parameter ${key} is required`);
  if (p.type !== 'string') throw componentError(shown, `parameter ${key} must be a string`);
  return p.value;
}

function sfReserialize(shown, fn) {
  try {
    return fn();
  } catch (e) {
    if (e instanceof SfError) throw componentError(shown, e.message);
    throw e;
  }
}

function fieldValue(msg, id, name, shown) {
  const sf = flag(id, 'sf', shown);
  const bs = flag(id, 'bs', shown);
  const hasKey = id.params.has('key');
  if (bs && (sf || hasKey)) throw componentError(shown, 'bs cannot be combined with sf or key');
  const values = fieldValues(msg.headers, name);
  if (values.length === 0) throw componentError(shown, 'field is not in the message');
  if (bs) return serializeList(values.map((v) => item(bare('bytes', Buffer.from(v, 'latin1')))));
  for (const v of values) {
    if (/[^\t\x20-\x7e]/.test(v)) throw componentError(shown, 'field value has a control or non-ASCII character (use ;bs)');
  }
  const combined = values.join(', ');
  if (hasKey) {
    const key = stringParam(id, 'key', shown);
    const dict = sfReserialize(shown, () => parseDictionary(combined));
    if (!dict.has(key)) throw componentError(shown, `dictionary has no member "${key}"`);
    return serializeMember(dict.get(key));
  }
  if (sf) {
    const type = SF_TYPES.get(name);
    if (type === 'dictionary') return sfReserialize(shown, () => serializeDictionary(parseDictionary(combined)));
    if (type === 'list') return sfReserialize(shown, () => serializeList(parseList(combined)));
    if (type === 'item') return sfReserialize(shown, () => serializeItem(parseItem(combined)));
    throw componentError(shown, 'the structured type of this field is not known');
  }
  return combined;
}

function queryParam(u, id, shown) {
  const wanted = stringParam(id, 'name', shown);
  let found = null;
  for (const pair of u.query.split('&')) {
    if (!pair) continue;
    const eq = pair.indexOf('=');
    const n = eq < 0 ? pair : pair.slice(0, eq);
    const v = eq < 0 ? '' : pair.slice(eq + 1);
    if (formEncode(formDecode(n)) !== wanted) continue;
    if (found !== null) throw componentError(shown, 'query parameter occurs more than once');
    found = formEncode(formDecode(v));
  }
  if (found === null) throw componentError(shown, 'query parameter not present');
  return found;
}

const isResponse = (msg) => msg.status != null;

function derivedValue(msg, id, name, shown) {
  if (name === '@status') {
    if (!isResponse(msg)) throw componentError(shown, '@status is for responses');
    if (!(Number.isInteger(msg.status) && msg.status >= 100 && msg.status <= 999)) throw componentError(shown, 'status is not 3 digits');
    return String(msg.status);
  }
  if (isResponse(msg)) throw componentError(shown, 'derived from a request (add ;req)');
  if (name === '@method') {
    if (!msg.method) throw componentError(shown, 'no method');
    return msg.method;
  }
  let u;
  try {
    u = parseTarget(msg.targetUri ?? '');
  } catch (e) {
    throw componentError(shown, e.message);
  }
  switch (name) {
    case '@target-uri': return msg.targetUri;
    case '@authority': return normalizedAuthority(u);
    case '@scheme': return u.scheme.toLowerCase();
    case '@path': return u.path || '/';
    case '@query': return `?${u.query}`;
    case '@request-target': return (u.path || '/') + (u.hasQuery ? `?${u.query}` : '');
    case '@query-param': return queryParam(u, id, shown);
    default: throw componentError(shown, 'unknown derived component');
  }
}

// The base for the covered components (Items whose value is a String) and
// the serialized @signature-params value. shownIds: the components already
// serialized (a verifier has them), so they are not serialized twice.
export function signatureBase(msg, covered, signatureParams, shownIds = null) {
  let base = '';
  const seen = new Set();
  for (const [i, id] of covered.entries()) {
    const shown = shownIds ? shownIds[i] : serializeItem(id);
    if (id.value.type !== 'string') throw componentError(shown, 'not a string');
    if (seen.has(shown)) throw componentError(shown, 'covered more than once');
    seen.add(shown);
    const name = id.value.value;
    if (!name) throw componentError(shown, 'empty name');
    if (name === '@signature-params') throw componentError(shown, 'cannot be covered');
    if (name.toLowerCase() !== name) throw componentError(shown, 'component names are lowercase');
    const derived = name[0] === '@';
    for (const key of id.params.keys()) {
      const known = key === 'req' || (derived ? key === 'name' && name === '@query-param' : ['sf', 'key', 'bs'].includes(key));
      if (key === 'tr') throw componentError(shown, 'trailers (tr) are not supported');
      if (!known) throw componentError(shown, `parameter ${key} does not apply`);
    }
    let target = msg;
    if (flag(id, 'req', shown)) {
      if (!isResponse(msg)) throw componentError(shown, 'req is for responses');
      if (!msg.request) throw componentError(shown, 'no request given for req');
      target = msg.request;
    }
    const value = derived ? derivedValue(target, id, name, shown) : fieldValue(target, id, name, shown);
    base += `${shown}: ${value}\n`;
  }
  base += `"@signature-params": ${signatureParams}`;
  if (/[^\x00-\x7f]/.test(base)) throw new VerificationError('bad_component', 'signature base is not ASCII');
  return base;
}

// Component identifiers as a verifier names them (`@method`,
// `@query-param;name="id"`, `example-dict;key="a"`, `header;bs`) -> Items;
// throws Error on a name or parameter that does not parse.
export function componentsFrom(identifiers) {
  const parts = identifiers.map((id) => {
    const semi = id.indexOf(';');
    const name = semi < 0 ? id : id.slice(0, semi);
    if (!name || /["\\ ]/.test(name)) throw new Error(`invalid component name "${name}"`);
    return `"${name}"${semi < 0 ? '' : id.slice(semi)}`;
  });
  return parseComponents(`(${parts.join(' ')})`);
}

// The covered components as Signature-Input writes them,
// ("@method" "@query-param";name="id"). The signature's parameters follow the
// ')' only in Signature-Input; a components list has none of its own, so any
// there are refused (as the C++ core and the Python package do).
export function parseComponents(innerList) {
  const il = parseInnerList(innerList);
  if (il.params.size) throw new Error("covered components: no parameters after ')'");
  for (const it of il.items) if (it.value.type !== 'string') throw new Error('covered components must be strings');
  return il.items;
}
