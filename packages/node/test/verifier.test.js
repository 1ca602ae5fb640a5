// Verifier behaviour beyond the conformance vectors: header binding, replay
// stores, key configuration, fromEnv.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';

import {
  ConfigurationError, InMemoryReplayStore, RedisReplayStore, VerificationError, Verifier, canonicalHeaders, headersSha256,
} from '../src/index.js';
import { SECRET, b64sha, claimsFor, token } from './support.js';

const GET = { method: 'GET', path: '/orders/42', query: null, bodySha256: b64sha(''), headers: [] };
const reason = async (p) => {
  try { await p; return 'valid'; } catch (e) { if (e instanceof VerificationError) return e.reason; throw e; }
};
const v = (opts = {}) => new Verifier({ audience: 'orders', ...opts }).addKey('HS256', SECRET);

describe('header binding', () => {
  const HEADERS = [['Content-Type', '  application/json\t'], ['X-Tag', 'a'], ['x-tag', 'b ']];
  const bound = (names, headers, extra = {}) => claimsFor({ hdrs: names, hdr_sha256: headersSha256(names, headers), ...extra });

  test('canonical form', () => {
    assert.equal(canonicalHeaders(['content-type', 'x-tag', 'x-absent'], HEADERS).toString(), 'content-type:application/json\nx-tag:a, b\nx-absent:\n');
    assert.equal(headersSha256([], []), b64sha(''));
  });
  test('matching headers verify; a change, an added repeat, an added override do not', async () => {
    const t = await token(bound(['content-type', 'x-tag'], HEADERS));
    assert.equal(await reason((await v()).verify(t, { ...GET, headers: HEADERS })), 'valid');
    assert.equal(await reason((await v()).verify(t, { ...GET, headers: [['Content-Type', 'text/plain'], ['X-Tag', 'a'], ['x-tag', 'b']] })), 'header_mismatch');
    assert.equal(await reason((await v()).verify(t, { ...GET, headers: [...HEADERS, ['X-Tag', 'c']] })), 'header_mismatch');
    const o = await token(bound(['x-http-method-override'], [], { method: 'POST' }));
    const post = { ...GET, method: 'POST' };
    assert.equal(await reason((await v()).verify(o, post)), 'valid');
    assert.equal(await reason((await v()).verify(o, { ...post, headers: [['X-HTTP-Method-Override', 'DELETE']] })), 'header_mismatch');
  });
  test('required headers', async () => {
    const t = await token(bound(['x-tag'], HEADERS));
    assert.equal(await reason((await v({ requiredHeaders: ['Content-Type'] })).verify(t, { ...GET, headers: HEADERS })), 'header_mismatch');
    assert.equal(await reason((await v({ requiredHeaders: ['content-type'] })).verify(await token(), GET)), 'missing_claim');
    assert.equal(await reason((await v({ checkHeaders: true })).verify(await token(), GET)), 'missing_claim');
    assert.equal(await reason((await v()).verify(await token(), GET)), 'valid');
    assert.equal(await reason((await v()).verify(await token(claimsFor({ hdrs: ['a', 1], hdr_sha256: b64sha('') })), GET)), 'bad_claims');
  });
});

describe('in-memory replay store', () => {
  test('never forgets a live jti (issue 11 item 3)', async () => {
    const s = new InMemoryReplayStore(3);
    await s.checkAndInsert('captured', 1060, 1000);
    await s.checkAndInsert('f1', 1060, 1000);
    await s.checkAndInsert('f2', 1060, 1000);
    await assert.rejects(s.checkAndInsert('f3', 1060, 1000), (e) => e.reason === 'replay_cache_full' && e.status === 503);
    await assert.rejects(s.checkAndInsert('captured', 1060, 1059), (e) => e.reason === 'replayed');
  });
  test('expired entries make room; an expired jti is new again', async () => {
    const s = new InMemoryReplayStore(2);
    await s.checkAndInsert('a', 1010, 1000);
    await s.checkAndInsert('b', 1100, 1000);
    await s.checkAndInsert('c', 1100, 1010);
    await assert.rejects(s.checkAndInsert('d', 1100, 1010), (e) => e.reason === 'replay_cache_full');
    await s.checkAndInsert('b', 1200, 1100);
  });
  test('the verifier records exp + leeway', async () => {
    const store = new InMemoryReplayStore(10);
    const ver = await v({ leeway: 5, replayStore: store });
    const now = Math.floor(Date.now() / 1000);
    const t = await token(claimsFor({ now }));
    await ver.verify(t, GET, { now });
    assert.equal(await reason(ver.verify(t, GET, { now: now + 64 })), 'replayed');
    assert.deepEqual([...store.expiry.values()], [now + 65]);
  });
});

describe('redis replay store (unit)', () => {
  test('SET key 1 NX PX <remaining lifetime ms>', async () => {
    const calls = [];
    const keys = new Set();
    const client = { async set(k, val, o) { calls.push([k, val, o]); if (keys.has(k)) return null; keys.add(k); return 'OK'; } };
    const s = new RedisReplayStore(client, { prefix: 'p:' });
    await s.checkAndInsert('j', 1065, 1000);
    assert.deepEqual(calls, [['p:j', '1', { NX: true, PX: 65000 }]]);
    await assert.rejects(s.checkAndInsert('j', 1065, 1001), (e) => e.reason === 'replayed');
  });
  test('unreachable or slow fails closed with 503; failOpen is explicit', async () => {
    const down = { async set() { throw new Error('ECONNREFUSED'); } };
    await assert.rejects(new RedisReplayStore(down).checkAndInsert('j', 1065, 1000), (e) => e.reason === 'replay_store_unavailable' && e.status === 503);
    const hang = { set: () => new Promise(() => {}) };
    await assert.rejects(new RedisReplayStore(hang, { timeoutMs: 50 }).checkAndInsert('j', 1065, 1000), (e) => e.reason === 'replay_store_unavailable');
    await new RedisReplayStore(down, { failOpen: true }).checkAndInsert('j', 1065, 1000);
  });
});

describe('keys', () => {
  const pem = readFileSync(new URL('../../../conformance/keys/ec.pub.pem', import.meta.url));
  test('short secrets, duplicate kids and mismatched key types are refused', async () => {
    await assert.rejects(new Verifier().addKey('HS256', Buffer.alloc(31)), ConfigurationError);
    await assert.rejects(new Verifier().addKey('HS512', Buffer.alloc(63)), ConfigurationError);
    const ver = await new Verifier().addKey('HS256', SECRET, 'a');
    await assert.rejects(ver.addKey('HS256', Buffer.alloc(32, 1), 'a'), ConfigurationError);
    await new Verifier().addKey('ES256', pem);
    await assert.rejects(new Verifier().addKey('RS256', pem), ConfigurationError);
    await assert.rejects(new Verifier().addKey('RS512', pem), ConfigurationError);
  });
  test('fromEnv: the quick start (gateway sets key_id, service has the secret)', async () => {
    const ver = await Verifier.fromEnv({ UPSTREAM_JWT_SECRET: SECRET.toString(), UPSTREAM_JWT_AUDIENCE: 'orders' });
    assert.equal(await reason(ver.verify(await token(undefined, { kid: 'demo-1' }), GET)), 'valid');
    await assert.rejects(Verifier.fromEnv({}), ConfigurationError);
  });
  test('the request is required when bindings are checked', async () => {
    await assert.rejects((await v()).verify(await token()), ConfigurationError);
    assert.equal(await reason((await v({ bind: [] })).verify(await token())), 'valid');
  });
});
