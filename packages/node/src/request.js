// What a verifier compares the token with: the request as the service received it.
import { createHash } from 'node:crypto';

// SHA-256 of a body fed in chunks, as body_sha256 (base64url).
export class BodyHasher {
  constructor() {
    this.hash = createHash('sha256');
    this.size = 0;
  }

  update(chunk) {
    this.hash.update(chunk);
    this.size += chunk.length;
  }

  b64() {
    return this.hash.digest('base64url');
  }
}

export const sha256b64 = (data) => createHash('sha256').update(data).digest('base64url');

const bytes = (v) => (Buffer.isBuffer(v) ? v : Buffer.from(v, 'latin1'));

// `name ":" value "\n"` per bound name, in order: every field line of that name
// (case-insensitive, in the order received) trimmed of spaces and tabs and
// joined with ", "; an absent header gives an empty value. headers: [name, value]
// pairs as received (Node: pairs of req.rawHeaders).
export function canonicalHeaders(names, headers) {
  const received = headers.map(([n, v]) => [bytes(n).toString('latin1').toLowerCase(), bytes(v)]);
  const parts = [];
  for (const name of names) {
    const n = name.toLowerCase();
    const values = received.filter(([hn]) => hn === n).map(([, v]) => trim(v));
    parts.push(Buffer.from(`${n}:`, 'utf8'), Buffer.concat(values.flatMap((v, i) => (i ? [Buffer.from(', '), v] : [v]))), Buffer.from('\n'));
  }
  return Buffer.concat(parts);
}

function trim(v) {
  let a = 0;
  let b = v.length;
  while (a < b && (v[a] === 0x20 || v[a] === 0x09)) a++;
  while (b > a && (v[b - 1] === 0x20 || v[b - 1] === 0x09)) b--;
  return v.subarray(a, b);
}

export const headersSha256 = (names, headers) => sha256b64(canonicalHeaders(names, headers));

// Node keeps every field line, in order, in rawHeaders: [name, value, name, value, ...].
export function pairsOf(rawHeaders) {
  const out = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) out.push([rawHeaders[i], rawHeaders[i + 1]]);
  return out;
}
