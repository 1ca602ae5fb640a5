// Two service processes (examples/node/verify-service.mjs) sharing one Debian
// redis-server: a token accepted by one replica is refused by the other; with
// Redis gone every request is refused with 503 (fail closed).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { afterEach, beforeEach, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { SECRET, claimsFor, freePort, rawRequest, startRedis, token, waitPort } from './support.js';

const SERVICE = fileURLToPath(new URL('../../../examples/node/verify-service.mjs', import.meta.url));
let redis;
let procs;
let ports;

beforeEach(async () => {
  redis = await startRedis();
  procs = [];
  ports = [];
  for (let i = 0; i < 2; i++) {
    const port = await freePort();
    procs.push(spawn(process.execPath, [SERVICE, '--audience', 'orders', '--port', String(port), '--quiet', '--redis-url', redis.url],
      { env: { ...process.env, UPSTREAM_JWT_SECRET: SECRET.toString() }, stdio: 'ignore' }));
    ports.push(port);
  }
  for (const p of ports) await waitPort(p);
});
afterEach(async () => {
  for (const p of procs) { p.kill('SIGTERM'); }
  await Promise.all(procs.map((p) => new Promise((r) => (p.exitCode !== null ? r() : p.once('exit', r)))));
  await redis.stop();
});

const send = (port, tok) => rawRequest(port, 'GET', '/orders/42', [['X-Upstream-JWT', tok]]);

test('a token replayed at the other replica is refused', async () => {
  const [a, b] = ports;
  const tok = await token(claimsFor());
  assert.equal((await send(a, tok)).status, 200);
  assert.deepEqual(await send(b, tok), { status: 401, json: { error: 'replayed' } });
  assert.deepEqual(await send(a, tok), { status: 401, json: { error: 'replayed' } });
  assert.equal((await send(b, await token(claimsFor()))).status, 200);
});

test('redis unreachable fails closed with 503', async () => {
  await redis.stop();
  for (const port of ports) {
    assert.deepEqual(await send(port, await token(claimsFor())), { status: 503, json: { error: 'replay_store_unavailable' } });
  }
  redis.stop = async () => {};
});
