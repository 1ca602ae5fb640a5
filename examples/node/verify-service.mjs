#!/usr/bin/env node
// Upstream service that trusts a request only when Kong's upstream-jwt token
// proves it came through the gateway, unaltered, recently, and for this
// service. Answers with the verified claims as JSON (200), or
// 401 {"error": reason} when the token is missing or invalid.
//
//   node verify-service.mjs --audience orders --port 9000        # HS256, secret in $UPSTREAM_JWT_SECRET
//   node verify-service.mjs --audience orders --alg ES256 --key gw-2024=gateway-pub.pem
//   node verify-service.mjs --audience orders --key old=old.secret --key new=new.secret
//
// A key given as KID=FILE only accepts tokens whose header carries that kid;
// give several during a key rotation. HS* FILEs hold the secret's exact
// bytes, others a PEM public key; --jwks takes a JWKS file instead.
import { createServer } from 'node:http';
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { jwtVerify, decodeProtectedHeader, importSPKI, importJWK, errors } from 'jose';

const ALGS = ['HS256', 'HS384', 'HS512', 'RS256', 'PS256', 'ES256', 'EdDSA'];
// The claims the gateway always sends; a token without them is not ours.
const REQUIRED = ['iss', 'aud', 'iat', 'exp', 'jti', 'htm', 'htu', 'query_sha256', 'body_sha256'];

const env = process.env;
const { values: opt } = parseArgs({
  options: {
    port: { type: 'string', default: env.PORT ?? '9000' },
    listen: { type: 'string', default: env.LISTEN ?? '127.0.0.1' },
    alg: { type: 'string', default: env.UPSTREAM_JWT_ALG ?? 'HS256' },
    key: { type: 'string', multiple: true, default: [] },
    jwks: { type: 'string' },
    'secret-env': { type: 'string', default: 'UPSTREAM_JWT_SECRET' },
    issuer: { type: 'string', default: env.UPSTREAM_JWT_ISSUER ?? 'kong' },
    audience: { type: 'string', default: env.UPSTREAM_JWT_AUDIENCE },
    leeway: { type: 'string', default: env.UPSTREAM_JWT_LEEWAY ?? '5' },
    'max-lifetime': { type: 'string', default: '3600' },
    header: { type: 'string', default: env.UPSTREAM_JWT_HEADER ?? 'X-Upstream-JWT' },
    'reject-replay': { type: 'boolean', default: false },
    stats: { type: 'boolean', default: false },
    quiet: { type: 'boolean', default: false },
  },
});

function die(msg) {
  process.stderr.write(`verify-service-node: ${msg}\n`);
  process.exit(2);
}

if (!ALGS.includes(opt.alg)) die(`--alg must be one of ${ALGS.join(', ')}`);
if (!opt.audience) die('--audience (or $UPSTREAM_JWT_AUDIENCE) is required');
const leeway = Number(opt.leeway);
const maxLifetime = Number(opt['max-lifetime']);
const headerName = opt.header.toLowerCase();
const symmetric = opt.alg.startsWith('HS');

async function loadKeys() {
  const keys = []; // [{ kid, key }]
  for (const spec of opt.key) {
    const eq = spec.lastIndexOf('=');
    const kid = eq > 0 ? spec.slice(0, eq) : undefined;
    const bytes = readFileSync(eq > 0 ? spec.slice(eq + 1) : spec);
    keys.push({ kid, key: symmetric ? new Uint8Array(bytes) : await importSPKI(bytes.toString(), opt.alg) });
  }
  if (opt.jwks) {
    for (const jwk of JSON.parse(readFileSync(opt.jwks, 'utf8')).keys ?? []) {
      if ((jwk.alg ?? opt.alg) !== opt.alg) continue;
      keys.push({ kid: jwk.kid, key: await importJWK(jwk, opt.alg) });
    }
  }
  if (keys.length === 0) {
    const secret = env[opt['secret-env']];
    if (!secret) die(`no key: give --key/--jwks or set $${opt['secret-env']}`);
    keys.push({ kid: undefined, key: new TextEncoder().encode(secret) });
  }
  return keys;
}
const keys = await loadKeys();

class Reject extends Error {}

const b64urlSha256 = (data) => createHash('sha256').update(data).digest('base64url');

function sameString(a, b) {
  const x = Buffer.from(String(a));
  const y = Buffer.from(String(b));
  return x.length === y.length && timingSafeEqual(x, y);
}

// jti -> expiry (seconds), kept until the token could no longer verify.
const seen = new Map();
function checkReplay(jti, exp) {
  const now = Date.now() / 1000;
  if (seen.size >= 100000) {
    for (const [j, e] of seen) if (e < now) seen.delete(j);
    if (seen.size >= 100000) seen.delete(seen.keys().next().value);
  }
  if (seen.has(jti)) throw new Reject('replayed');
  seen.set(jti, exp + leeway);
}

function reasonOf(err) {
  if (err instanceof Reject) return err.message;
  if (err instanceof errors.JWTExpired) return 'expired';
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.reason === 'missing') return 'missing_claim';
    return { iss: 'bad_issuer', aud: 'bad_audience', nbf: 'not_yet_valid', iat: 'issued_in_future' }[err.claim]
      ?? 'bad_claims';
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'bad_signature';
  if (err instanceof errors.JOSEAlgNotAllowed) return 'alg_not_allowed';
  return 'malformed';
}

async function verify(token, method, path, query, bodyDigest) {
  let header;
  try {
    header = decodeProtectedHeader(token);
  } catch {
    throw new Reject('malformed');
  }
  if (header.alg !== opt.alg) throw new Reject('alg_not_allowed'); // pinned
  const candidates = header.kid !== undefined ? keys.filter((k) => k.kid === header.kid) : keys;
  if (candidates.length === 0) throw new Reject('unknown_kid');
  let payload;
  for (const { key } of candidates) {
    try {
      ({ payload } = await jwtVerify(token, key, {
        algorithms: [opt.alg], issuer: opt.issuer, audience: opt.audience,
        clockTolerance: leeway, requiredClaims: REQUIRED,
      }));
      break;
    } catch (err) {
      if (err instanceof errors.JWSSignatureVerificationFailed) continue;
      throw err;
    }
  }
  if (!payload) throw new Reject('bad_signature');
  if (payload.exp - payload.iat > maxLifetime) throw new Reject('lifetime_too_long');
  // The request binding: this token was minted for exactly this request.
  if (!sameString(payload.htm, method)) throw new Reject('method_mismatch');
  if (!sameString(payload.htu, path)) throw new Reject('path_mismatch');
  if (!sameString(payload.query_sha256, b64urlSha256(Buffer.from(query, 'latin1')))) throw new Reject('query_mismatch');
  if (!sameString(payload.body_sha256, bodyDigest)) throw new Reject('body_mismatch');
  if (opt['reject-replay']) checkReplay(String(payload.jti), payload.exp);
  return payload;
}

const stats = { requests: 0, verified: 0, rejected: 0 };

function reply(res, status, obj) {
  const out = JSON.stringify(obj);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(out) });
  res.end(out);
}

const server = createServer((req, res) => {
  const q = req.url.indexOf('?');
  const path = q < 0 ? req.url : req.url.slice(0, q);
  const query = q < 0 ? '' : req.url.slice(q + 1);
  if (opt.stats && path === '/__stats' && req.method === 'GET' && !req.headers[headerName]) {
    req.resume();
    return reply(res, 200, stats);
  }
  // Hash the body as it streams in: bodies may be large.
  const hash = createHash('sha256');
  req.on('data', (chunk) => hash.update(chunk));
  req.on('end', async () => {
    const tokens = req.headersDistinct[headerName] ?? [];
    let token = String(tokens[0] ?? '').trim();
    if (token.slice(0, 7).toLowerCase() === 'bearer ') token = token.slice(7).trim();
    try {
      if (tokens.length > 1) throw new Reject('malformed'); // several token headers: refuse rather than pick one
      if (!token) throw new Reject('missing_token');
      const claims = await verify(token, req.method, path, query, hash.digest('base64url'));
      if (opt.stats) { stats.requests++; stats.verified++; }
      reply(res, 200, claims);
    } catch (err) {
      const reason = reasonOf(err);
      if (opt.stats) { stats.requests++; stats.rejected++; }
      if (!opt.quiet) process.stderr.write(`verify-service-node: rejected ${req.method} ${path}: ${reason}\n`);
      reply(res, 401, { error: reason });
    }
  });
});
server.requestTimeout = 0; // large bodies on slow links
server.listen(Number(opt.port), opt.listen, () => {
  process.stderr.write(`verify-service-node: listening on ${opt.listen}:${opt.port}\n`);
});
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => server.close(() => process.exit(0)) && setTimeout(() => process.exit(0), 200).unref());
