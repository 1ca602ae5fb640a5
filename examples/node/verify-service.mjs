#!/usr/bin/env node
// Upstream service (Express) that trusts a request only when Kong's
// upstream-jwt plugin proves it came through the gateway, unaltered, recently,
// and for this service: a JWT (format jwt) or an RFC 9421 signature (format
// http-message-signature). All of the checking is the upstream-jwt-verify
// package (packages/node); this file is configuration and one route.
//
//   node verify-service.mjs --audience orders --port 9000     # HS256, secret from $UPSTREAM_JWT_SECRET
//   node verify-service.mjs --audience orders --alg ES256 --key gw-2024=gateway-pub.pem
//   node verify-service.mjs --audience orders --alg ES256 --jwks-url https://kong.internal/jwks.json
//   node verify-service.mjs --audience orders --redis-url redis://redis:6379/0   # replay guard shared by replicas
//   node verify-service.mjs --format http-message-signature --key-id demo-1     # RFC 9421, secret from the env
//
// Answers every request with the verified claims (jwt) or the verified
// signature's summary (http-message-signature) as JSON (200), or
// {"error": reason} with 401 (503 when the replay store is full or down).
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

import express from 'express';

// In a service of your own: npm install --install-links <checkout>/packages/node, then
// import { Verifier } from 'upstream-jwt-verify'.
import {
  ALGORITHMS, ConfigurationError, HTTPSIG_ALG_OF_JWS, HTTPSIG_FORMAT, HttpSigVerifier, InMemoryReplayStore, RedisReplayStore, Verifier,
  JTI_PREFIX, NONCE_PREFIX, keysFromJwks,
} from '../../packages/node/src/index.js';
import { upstreamJwt } from '../../packages/node/src/express.js';

const env = process.env;
const { values: opt } = parseArgs({
  options: {
    port: { type: 'string', default: env.PORT || '9000' },
    format: { type: 'string', default: env.UPSTREAM_JWT_FORMAT || 'jwt' },
    // http-message-signature: the gateway's key_id (for --key without KID= and the secret from the env),
    // the signature's label (default: the only one), the tag it must carry, the oldest created accepted.
    'key-id': { type: 'string', default: env.UPSTREAM_JWT_KEY_ID || '' },
    label: { type: 'string', default: env.UPSTREAM_JWT_SIGNATURE_LABEL || undefined },
    tag: { type: 'string', default: env.UPSTREAM_JWT_SIGNATURE_TAG || undefined },
    'max-age': { type: 'string', default: '0' },
    listen: { type: 'string', default: env.LISTEN ?? '127.0.0.1' },
    alg: { type: 'string', default: env.UPSTREAM_JWT_ALG ?? 'HS256' },
    key: { type: 'string', multiple: true, default: [] },
    jwks: { type: 'string', multiple: true, default: [] },
    'jwks-url': { type: 'string', default: env.UPSTREAM_JWT_JWKS_URL },
    'secret-env': { type: 'string', default: 'UPSTREAM_JWT_SECRET' },
    issuer: { type: 'string', default: env.UPSTREAM_JWT_ISSUER ?? 'kong' },
    audience: { type: 'string', default: env.UPSTREAM_JWT_AUDIENCE },
    leeway: { type: 'string', default: env.UPSTREAM_JWT_LEEWAY || '5' },
    'max-lifetime': { type: 'string', default: '3600' },
    header: { type: 'string', default: env.UPSTREAM_JWT_HEADER ?? 'X-Upstream-JWT' },
    // Larger bodies get 413; at least the plugin's max_body_size.
    'max-body-size': { type: 'string', default: String(256 << 20) },
    'check-headers': { type: 'boolean', default: false },
    'require-headers': { type: 'string', default: '' },
    'reject-replay': { type: 'boolean', default: false },
    'replay-capacity': { type: 'string', default: '100000' },
    'redis-url': { type: 'string', default: env.UPSTREAM_JWT_REDIS_URL },
    stats: { type: 'boolean', default: false },
    quiet: { type: 'boolean', default: false },
  },
});
const die = (msg) => { process.stderr.write(`verify-service-node: ${msg}\n`); process.exit(2); };
const int = (name) => (/^-?[0-9]{1,15}$/.test(opt[name]) ? Number(opt[name]) : die(`--${name} must be an integer`));
const httpsig = opt.format === HTTPSIG_FORMAT;
if (!httpsig && opt.format !== 'jwt') die(`--format must be jwt or ${HTTPSIG_FORMAT}`);
if (!httpsig && !opt.audience) die('--audience (or $UPSTREAM_JWT_AUDIENCE) is required with --format jwt');
if (!ALGORITHMS.includes(opt.alg)) die(`--alg must be one of ${ALGORITHMS.join(' ')}`);

function secretFromEnv() {
  const secret = env[opt['secret-env']];
  if (!secret) die(`no key: give --key/--jwks/--jwks-url or set $${opt['secret-env']}`);
  return Buffer.from(secret, 'utf8');
}

async function signatureVerifier(replayStore) {
  // The plugin's algorithm names (HS256 ...) as RFC 9421 names them; HS384/HS512 have none and are refused.
  const alg = HTTPSIG_ALG_OF_JWS[opt.alg] ?? opt.alg;
  const v = new HttpSigVerifier({
    label: opt.label ?? null, tag: opt.tag ?? null, leeway: int('leeway'), maxAge: int('max-age'),
    replayStore, jwksUrl: opt['jwks-url'] ?? null,
  });
  for (const spec of opt.key) {
    const eq = spec.lastIndexOf('=');
    await v.addKey(alg, readFileSync(spec.slice(eq + 1)), eq >= 0 ? spec.slice(0, eq) : opt['key-id']);
  }
  for (const file of opt.jwks) await v.addJwks(readFileSync(file, 'utf8'));
  // RFC 9421 has no kid fallback: the key carries the gateway's key_id.
  if (!opt.key.length && !opt.jwks.length && !opt['jwks-url']) await v.addKey(alg, secretFromEnv(), opt['key-id']);
  return v;
}

async function jwtVerifier(replayStore) {
  const v = new Verifier({
    issuer: opt.issuer, audience: opt.audience, leeway: int('leeway'), maxLifetime: int('max-lifetime'),
    replayStore, jwksUrl: opt['jwks-url'] ?? null,
    // Bound headers are checked whenever a token carries them; these make them mandatory.
    checkHeaders: opt['check-headers'] ? true : null,
    requiredHeaders: opt['require-headers'].split(',').filter(Boolean),
  });
  for (const spec of opt.key) {
    const eq = spec.lastIndexOf('=');
    await v.addKey(opt.alg, readFileSync(spec.slice(eq + 1)), eq > 0 ? spec.slice(0, eq) : null);
  }
  for (const file of opt.jwks) {
    v.keys.extend((await keysFromJwks(readFileSync(file), { skipUnusable: true })).filter((k) => k.alg === opt.alg));
  }
  // Kid-less: accepts whatever key_id the gateway sets (examples/kong.yml sets one).
  if (!v.keys.size && !v.jwks) await v.addKey(opt.alg, secretFromEnv());
  return v;
}

let verifier;
try {
  let replayStore = null;
  // Nonces under the prefix HttpSigVerifier.fromEnv uses, so this service shares them with replicas configured so.
  if (opt['redis-url']) replayStore = await RedisReplayStore.fromUrl(opt['redis-url'], { prefix: httpsig ? NONCE_PREFIX : JTI_PREFIX });
  else if (opt['reject-replay']) replayStore = new InMemoryReplayStore(int('replay-capacity'));
  verifier = await (httpsig ? signatureVerifier : jwtVerifier)(replayStore);
} catch (e) {
  if (!(e instanceof ConfigurationError) && !e.code) throw e;
  die(e.message);
}

const counts = { requests: 0, verified: 0, rejected: 0 };
const count = (k) => { counts.requests += 1; counts[k] += 1; };
const app = express();
app.disable('x-powered-by');
// A request carrying a token or signature to /__stats is verified like any other.
const credential = httpsig ? 'signature' : opt.header;
if (opt.stats) app.get('/__stats', (req, res, next) => (req.get(credential) ? next() : res.json(counts)));
app.use(upstreamJwt(verifier, {
  header: opt.header,
  maxBodySize: int('max-body-size'),
  onReject: (e) => {
    count('rejected');
    if (!opt.quiet) process.stderr.write(`verify-service-node: rejected ${e.reason}\n`);
  },
}));
app.use((req, res) => {
  count('verified');
  if (!httpsig) return res.json(req.upstreamJwt);
  // consumer: each value only when the signature covers its header.
  const { label, keyid, alg, created, expires, nonce, tag, components, consumer } = req.upstreamSignature;
  return res.json({ label, keyid, alg, created, expires, nonce, tag, components, consumer });
});

const server = app.listen(int('port'), opt.listen, () => {
  process.stderr.write(`verify-service-node: listening on ${opt.listen}:${opt.port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
