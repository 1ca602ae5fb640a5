// Replicas in Node and Python sharing one redis-server: an RFC 9421 nonce
// spent by either language's verifier is refused by the other, both with the
// TTL expires + leeway, and both refuse (503) while Redis is gone. The Python
// side is the real Python package (SignatureVerifier.from_env), run once per
// request with Debian's python3 (python3-redis, python3-cryptography).
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, test } from 'node:test';

import { HttpSigVerifier, NONCE_PREFIX } from '../src/index.js';
import { contentDigest, makeKeys, signMessage } from './httpsig-support.js';
import { startRedis } from './support.js';

const PYTHON = '/usr/bin/python3';
const PYTHON_SRC = fileURLToPath(new URL('../../python/src', import.meta.url));
const KEYS = makeKeys();
const BODY = Buffer.from('{"id":7}');

// Verifies the message on stdin with the environment's settings; prints the reason or "valid".
const PYTHON_VERIFY = `
import base64, json, os, sys
from upstream_jwt_verify import VerificationError
from upstream_jwt_verify.httpsig import Message, SignatureVerifier
m = json.load(sys.stdin)
v = SignatureVerifier.from_env(os.environ)
try:
    v.verify(Message(m["method"], m["targetUri"], [tuple(h) for h in m["headers"]]),
             content=base64.b64decode(m["body"]), now=m["now"])
    sys.stdout.write("valid")
except VerificationError as e:
    sys.stdout.write(e.reason)
`;

const havePython = existsSync(PYTHON)
  && spawnSync(PYTHON, ['-c', 'import redis, cryptography'], { env: { ...process.env, PYTHONPATH: PYTHON_SRC } }).status === 0;

describe('RFC 9421 nonces shared with the Python package through Redis', { skip: !havePython && 'python3 with python3-redis is needed (make deps)' }, () => {
  let redis;
  let running;
  let env;
  let node;
  let now;

  beforeEach(async () => {
    redis = await startRedis();
    running = true;
    env = {
      UPSTREAM_JWT_ALG: 'EdDSA', UPSTREAM_JWT_PUBLIC_KEY: KEYS.ed25519.pub, UPSTREAM_JWT_KEY_ID: 'gw',
      UPSTREAM_JWT_LEEWAY: '5', UPSTREAM_JWT_REDIS_URL: redis.url,
    };
    node = await HttpSigVerifier.fromEnv(env);
    // The stores count TTLs from "now": the real clock, so Redis's TTL is real.
    now = Math.floor(Date.now() / 1000);
  });

  afterEach(async () => {
    node.replayStore.client.destroy();
    if (running) await redis.stop();
  });

  const message = () => {
    const nonce = randomUUID();
    const msg = {
      method: 'POST',
      targetUri: 'http://orders.internal:8080/v1/orders?id=7',
      headers: [['Host', 'orders.internal:8080'], ['Content-Type', 'application/json'], ['Content-Digest', contentDigest(BODY)]],
      body: BODY,
    };
    return [nonce, signMessage(msg, {
      alg: 'ed25519', key: KEYS.ed25519.priv, components: ['@method', '@target-uri', '@authority', 'content-digest'],
      params: { created: now, expires: now + 60, keyid: 'gw', alg: 'ed25519', nonce },
    })];
  };

  const python = (msg) => execFileSync(PYTHON, ['-c', PYTHON_VERIFY], {
    env: { ...process.env, ...env, PYTHONPATH: PYTHON_SRC },
    input: JSON.stringify({ method: msg.method, targetUri: msg.targetUri, headers: msg.headers, body: BODY.toString('base64'), now }),
    timeout: 60000,
  }).toString();

  const nodeReason = (msg) => node.verify(msg, { now }).then(() => 'valid', (e) => { if (!e.reason) throw e; return e.reason; });
  const ttlMs = (nonce) => node.replayStore.client.pTTL(NONCE_PREFIX + nonce);

  test('spent by Python, refused by Node', async () => {
    const [nonce, msg] = message();
    assert.equal(python(msg), 'valid');
    // expires + leeway + 1 s from now, less the time since Python's SET
    const ttl = await ttlMs(nonce);
    assert.ok(ttl > 60000 && ttl <= 66000, String(ttl));
    assert.equal(await nodeReason(msg), 'replayed');
    assert.equal(python(msg), 'replayed');
  });

  test('spent by Node, refused by Python', async () => {
    const [nonce, msg] = message();
    assert.equal(await nodeReason(msg), 'valid');
    const ttl = await ttlMs(nonce);
    assert.ok(ttl > 60000 && ttl <= 66000, String(ttl));
    assert.equal(python(msg), 'replayed');
  });

  test('both fail closed while Redis is gone', async () => {
    await redis.stop();
    running = false;
    assert.equal(python(message()[1]), 'replay_store_unavailable');
    const e = await node.verify(message()[1], { now }).catch((x) => x);
    assert.deepEqual([e.reason, e.status], ['replay_store_unavailable', 503]);
  });
});
