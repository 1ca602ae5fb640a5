// What the Express and Fastify middleware share: the request as received,
// the body hashed while it streams in, the error reply.
import { VerificationError } from './errors.js';
import { BodyHasher, pairsOf } from './request.js';

export const DEFAULT_HEADER = 'X-Upstream-JWT';
export const DEFAULT_MAX_BODY = 8 * 1024 * 1024; // the plugin's max_body_size default

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
  const target = Buffer.from(req.url, 'latin1');
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
export async function readBody(stream, maxBodySize) {
  const hasher = new BodyHasher();
  const chunks = [];
  for await (const chunk of stream) {
    hasher.update(chunk);
    if (hasher.size > maxBodySize) throw new VerificationError('body_too_large', 'body exceeds maxBodySize');
    chunks.push(chunk);
  }
  return { body: Buffer.concat(chunks), bodySha256: hasher.b64() };
}

export function errorReply(e) {
  const headers = { 'content-type': 'application/json' };
  if (e.status === 401) headers['www-authenticate'] = `Bearer error="invalid_token", error_description="${e.reason}"`;
  return { status: e.status, headers, body: JSON.stringify({ error: e.reason }) };
}
