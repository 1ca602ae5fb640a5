#!/usr/bin/env node
// Upstream service (Express) that trusts a request only when Kong's
// upstream-jwt token proves it came through the gateway, unaltered, recently,
// and for this service. All of the checking is the upstream-jwt-verify package
// (packages/node); this file is configuration and one route.
//
//   node verify-service.mjs --audience orders --port 9000     # HS256, secret from $UPSTREAM_JWT_SECRET
//   node verify-service.mjs --audience orders --alg ES256 --key gw-2024=gateway-pub.pem
//   node verify-service.mjs --audience orders --alg ES256 --jwks-url https://kong.internal/jwks.json
//   node verify-service.mjs --audience orders --redis-url redis://redis:6379/0   # replay guard shared by replicas
//
// Answers every request with the verified claims as JSON (200), or
// {"error": reason} with 401 (503 when the replay store is full or down).
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

import express from 'express';

// In a service of your own: npm install <checkout>/packages/node, then
// import { Verifier } from 'upstream-jwt-verify'.
import { ALGORITHMS, InMemoryReplayStore, RedisReplayStore, Verifier, keysFromJwks } from '../../packages/node/src/index.js';
import { upstreamJwt } from '../../packages/node/src/express.js';

const env = process.env;
const { values: opt } = parseArgs({
  options: {
    port: { type: 'string', default: env.PORT ?? '9000' },
    listen: { type: 'string', default: env.LISTEN ?? '127.0.0.1' },
    alg: { type: 'string', default: env.UPSTREAM_JWT_ALG ?? 'HS256' },
    key: { type: 'string', multiple: true, default: [] },
    jwks: { type: 'string', multiple: true, default: [] },
    'jwks-url': { type: 'string', default: env.UPSTREAM_JWT_JWKS_URL },
    'secret-env': { type: 'string', default: 'UPSTREAM_JWT_SECRET' },
    issuer: { type: 'string', default: env.UPSTREAM_JWT_ISSUER ?? 'kong' },
    audience: { type: 'string', default: env.UPSTREAM_JWT_AUDIENCE },
    leeway: { type: 'string', default: env.UPSTREAM_JWT_LEEWAY ?? '5' },
    'max-lifetime': { type: 'string', default: '3600' },
    header: { type: 'string', default: env.UPSTREAM_JWT_HEADER ?? 'X-Upstream-JWT' },
    'reject-replay': { type: 'boolean', default: false },
    'replay-capacity': { type: 'string', default: '100000' },
    'redis-url': { type: 'string', default: env.UPSTREAM_JWT_REDIS_URL },
    stats: { type: 'boolean', default: false },
    quiet: { type: 'boolean', default: false },
  },
});
const die = (msg) => { process.stderr.write(`verify-service-node: ${msg}\n`); process.exit(2); };
if (!opt.audience) die('--audience (or $UPSTREAM_JWT_AUDIENCE) is required');
if (!ALGORITHMS.includes(opt.alg)) die(`--alg must be one of ${ALGORITHMS.join(' ')}`);

let replayStore = null;
if (opt['redis-url']) replayStore = await RedisReplayStore.fromUrl(opt['redis-url']);
else if (opt['reject-replay']) replayStore = new InMemoryReplayStore(Number(opt['replay-capacity']));
const verifier = new Verifier({
  issuer: opt.issuer, audience: opt.audience, leeway: Number(opt.leeway), maxLifetime: Number(opt['max-lifetime']),
  replayStore, jwksUrl: opt['jwks-url'] ?? null,
});
for (const spec of opt.key) {
  const eq = spec.lastIndexOf('=');
  await verifier.addKey(opt.alg, readFileSync(spec.slice(eq + 1)), eq > 0 ? spec.slice(0, eq) : null);
}
for (const file of opt.jwks) {
  verifier.keys.extend((await keysFromJwks(readFileSync(file), { skipUnusable: true })).filter((k) => k.alg === opt.alg));
}
if (!verifier.keys.size && !verifier.jwks) {
  const secret = env[opt['secret-env']];
  if (!secret) die(`no key: give --key/--jwks/--jwks-url or set $${opt['secret-env']}`);
  // Kid-less: accepts whatever key_id the gateway sets (examples/kong.yml sets one).
  await verifier.addKey(opt.alg, Buffer.from(secret, 'utf8'));
}

const counts = { requests: 0, verified: 0, rejected: 0 };
const count = (k) => { counts.requests += 1; counts[k] += 1; };
const app = express();
app.disable('x-powered-by');
if (opt.stats) app.get('/__stats', (req, res, next) => (req.get(opt.header) ? next() : res.json(counts)));
app.use(upstreamJwt(verifier, {
  header: opt.header,
  onReject: (e) => {
    count('rejected');
    if (!opt.quiet) process.stderr.write(`verify-service-node: rejected ${e.reason}\n`);
  },
}));
app.use((req, res) => { count('verified'); res.json(req.upstreamJwt); });

const server = app.listen(Number(opt.port), opt.listen, () => {
  process.stderr.write(`verify-service-node: listening on ${opt.listen}:${opt.port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
