// Keys from a JWKS URL: a local JWKS server, a key rotation at the gateway with
// no verifier restart, the rate limit on refreshes for unknown kids, fail closed.
import assert from 'node:assert/strict';
import http from 'node:http';
import { afterEach, beforeEach, test } from 'node:test';

import { exportJWK, generateKeyPair } from 'jose';

import { JwksSource, VerificationError, Verifier } from '../src/index.js';
import { b64sha, claimsFor, token } from './support.js';

const GET = { method: 'GET', path: '/orders/42', query: null, bodySha256: b64sha(''), headers: [] };
let server;
let doc;
let hits;
let url;
let clock;
let k1;
let k2;
let verifier;

const jwk = async (kp, kid) => ({ ...(await exportJWK(kp.publicKey)), kid, alg: 'ES256', use: 'sig' });
const reason = async (t) => {
  try { await verifier.verify(t, GET); return 'valid'; } catch (e) { if (e instanceof VerificationError) return e.reason; throw e; }
};
const esToken = (kp, kid) => token(claimsFor(), { key: kp.privateKey, alg: 'ES256', kid });

beforeEach(async () => {
  hits = 0;
  k1 = await generateKeyPair('ES256');
  k2 = await generateKeyPair('ES256');
  doc = { keys: [await jwk(k1, '2024-05'), { kty: 'RSA', use: 'enc', kid: 'enc-1', n: 'AQAB', e: 'AQAB' }] };
  server = http.createServer((req, res) => { hits += 1; res.setHeader('content-type', 'application/json'); res.end(JSON.stringify(doc)); });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${server.address().port}/jwks.json`;
  clock = 1000;
  verifier = new Verifier({ audience: 'orders', jwks: new JwksSource(url, { maxAge: 300, minRefreshInterval: 30, clock: () => clock }) });
});
afterEach(() => new Promise((r) => { server.closeAllConnections(); server.close(r); }));

test('rotation without restart', async () => {
  assert.equal(await reason(await esToken(k1, '2024-05')), 'valid');
  assert.equal(await reason(await esToken(k1, '2024-05')), 'valid');
  assert.equal(hits, 1, 'cached');
  doc = { keys: [await jwk(k2, '2024-06'), await jwk(k1, '2024-05')] };
  clock += 31;
  assert.equal(await reason(await esToken(k2, '2024-06')), 'valid');
  assert.equal(hits, 2);
});

test('concurrent requests with the new kid all verify', async () => {
  // Both requests look at the cached set before either refreshes it; the one
  // that finds a refresh already under way must use its result, not fail unknown_kid.
  assert.equal(await reason(await esToken(k1, '2024-05')), 'valid');
  doc = { keys: [await jwk(k2, '2024-06'), await jwk(k1, '2024-05')] };
  clock += 31;
  const t = await esToken(k2, '2024-06');
  assert.deepEqual(await Promise.all([reason(t), reason(t)]), ['valid', 'valid']);
  assert.equal(hits, 2, 'one refresh for both');
});

test('unknown-kid refresh is rate-limited', async () => {
  assert.equal(await reason(await esToken(k1, '2024-05')), 'valid');
  for (let i = 0; i < 20; i++) assert.equal(await reason(await esToken(k2, `made-up-${i}`)), 'unknown_kid');
  assert.equal(hits, 1);
  clock += 30;
  assert.equal(await reason(await esToken(k2, 'made-up')), 'unknown_kid');
  assert.equal(hits, 2);
});

test('stale set is refetched after maxAge', async () => {
  await reason(await esToken(k1, '2024-05'));
  clock += 300;
  await reason(await esToken(k1, '2024-05'));
  assert.equal(hits, 2);
});

test('unreachable without a cached set fails closed; later keeps the last good set', async () => {
  const t = await esToken(k1, '2024-05');
  await new Promise((r) => { server.closeAllConnections(); server.close(r); });
  assert.equal(await reason(t), 'jwks_unavailable');
  server = http.createServer((req, res) => { hits += 1; res.end(JSON.stringify(doc)); });
  await new Promise((r) => server.listen(new URL(url).port, '127.0.0.1', r));
  clock += 30;
  assert.equal(await reason(t), 'valid');
  await new Promise((r) => { server.closeAllConnections(); server.close(r); });
  clock += 400;
  assert.equal(await reason(t), 'valid');
  server = http.createServer(() => {});
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
});
