// What the Express and Fastify middleware share: the request as received,
// the body hashed while it streams in, the error reply.
import { VerificationError } from './errors.js';
import { combinedField } from './httpsig-base.js';
import { DigestHasher, HTTPSIG_FORMAT } from './httpsig.js';
import { BodyHasher, pairsOf } from './request.js';

export const DEFAULT_HEADER = 'X-Upstream-JWT';
export const DEFAULT_MAX_BODY = 8 * 1024 * 1024; // the plugin's max_body_size default
const CONSUMER_HEADERS = ['x-consumer-id', 'x-consumer-username', 'x-credential-identifier'];

// The token from the header's field lines; an optional `Bearer ` prefix (the
// plugin's header_prefix) is removed. Several lines are refused: picking one
// would let a client's copy compete with the gateway's.
export function tokenFrom(values) {
  if (values.length === 0) throw new VerificationError('missing_token', 'no token header');
  if (values.length > 1) throw new VerificationError('malformed', 'more than one token header');
  let token = values[0].replace(/^[ \t]+|[ \t]+$/g, '');
  if (token.slice(0, 7).toLowerCase() === 'bearer ') token = token.slice(7).replace(/^[ \t]+/, '');
  if (!token) throw new VerificationError('missing_token', 'empty token header');
  return token;
}

// Method, raw path and query (null without '?') and headers of a Node
// IncomingMessage. req.url is the request target exactly as received
// (latin1: one char per byte), never normalized or decoded.
export function describe(req, headerName) {
  // Express rewrites req.url under a mount path; originalUrl keeps the target.
  const target = Buffer.from(req.originalUrl ?? req.url, 'latin1');
  const q = target.indexOf(0x3f);
  const headers = pairsOf(req.rawHeaders);
  const name = headerName.toLowerCase();
  return {
    method: req.method,
    path: q < 0 ? target : target.subarray(0, q),
    query: q < 0 ? null : target.subarray(q + 1),
    headers,
    tokens: headers.filter(([n]) => n.toLowerCase() === name).map(([, v]) => v),
  };
}

// Reads a body stream whole, hashing each chunk as it arrives; over maxBodySize
// is body_too_large (the gateway never signs such a body).
export async function readBody(stream, maxBodySize, hasher = new BodyHasher()) {
  const chunks = [];
  for await (const chunk of stream) {
    hasher.update(chunk);
    if (hasher.size > maxBodySize) throw new VerificationError('body_too_large', 'body exceeds maxBodySize');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

// The request as an RFC 9421 message: the target URI rebuilt as the service
// received it (scheme, the one Host line, the raw target, never decoded).
function messageOf(r, req, scheme) {
  const hosts = r.headers.filter(([n]) => n.toLowerCase() === 'host');
  if (hosts.length > 1) throw new VerificationError('bad_request', 'more than one Host header');
  const host = hosts.length ? hosts[0][1] : '';
  const s = scheme ?? (req.socket?.encrypted ? 'https' : 'http');
  const target = (r.query === null ? r.path : Buffer.concat([r.path, Buffer.from('?'), r.query])).toString('latin1');
  // An absolute-form target (RFC 9112 3.2.2) already is the target URI.
  if (/^https?:\/\//i.test(target)) return { method: r.method, targetUri: target, headers: r.headers };
  return { method: r.method, targetUri: `${s}://${host}${target}`, headers: r.headers };
}

// What both middleware run: verify the request `req` (a Node IncomingMessage,
// r = describe(req, header)) whose body arrives on `stream`. Returns
// { body, property, value }: the verified bytes, and what to set on the request (upstreamJwt: the claims;
// upstreamSignature: the verified RFC 9421 signature). `state.bodyRead` tells
// a caller handling a rejection whether the body was consumed.
export async function authenticate(verifier, req, r, stream, { maxBodySize, scheme }, state = {}) {
  if (verifier.format === HTTPSIG_FORMAT) {
    const msg = messageOf(r, req, scheme);
    const pending = await verifier.verifySignature(msg);
    const hasher = DigestHasher.for(pending.checkDigest ? combinedField(r.headers, 'content-digest') : null);
    const body = await readBody(stream, maxBodySize, hasher);
    state.bodyRead = true;
    const value = await verifier.complete(pending, hasher.digests());
    // A consumer header the signature does not cover is not the gateway's:
    // app code reading req.headers must not find it either.
    for (const name of CONSUMER_HEADERS) if (!(name in value.fields)) delete req.headers[name];
    return { body, property: 'upstreamSignature', value };
  }
  const token = tokenFrom(r.tokens);
  const hasher = new BodyHasher();
  const body = await readBody(stream, maxBodySize, hasher);
  state.bodyRead = true;
  return { body, property: 'upstreamJwt', value: await verifier.verify(token, { ...r, bodySha256: hasher.b64() }) };
}

export function errorReply(e, verifier = null) {
  const headers = { 'content-type': 'application/json' };
  // RFC 9421 defines no authentication scheme to challenge with.
  if (e.status === 401 && verifier?.format !== HTTPSIG_FORMAT) {
    headers['www-authenticate'] = `Bearer error="invalid_token", error_description="${e.reason}"`;
  }
  return { status: e.status, headers, body: JSON.stringify({ error: e.reason }) };
}
