// HttpSigVerifier: every rejection reason at its boundary, the core's order
// of checks, keys of every algorithm, JWKS keys, nonce replay, fromEnv.
import assert from 'node:assert/strict';
import { constants, createPrivateKey, generateKeyPairSync, sign as cryptoSign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';

import {
  ConfigurationError, HTTPSIG_REASONS, HttpSigVerifier, InMemoryReplayStore, JwksSource, NONCE_PREFIX, RedisReplayStore, Verifier,
  makeHttpSigKey,
} from '../src/index.js';
import { contentDigest, makeKeys, signMessage } from './httpsig-support.js';
import { startRedis } from './support.js';

const KEYS = makeKeys();
const NOW = 1700000000;
const BODY = Buffer.from('{"id":7}');
const GATEWAY = ['@method', '@target-uri', '@authority', 'content-digest'];

const request = (extra = []) => ({
  method: 'POST',
  targetUri: 'http://orders.internal:8080/v1/orders?id=7',
  headers: [['Host', 'orders.internal:8080'], ['Content-Type', 'application/json'], ['Content-Digest', contentDigest(BODY)],
    ['X-Consumer-ID', 'c-1'], ['X-Consumer-Username', 'alice'], ...extra],
  body: BODY,
});

const PARAMS = { created: NOW, expires: NOW + 60, keyid: 'gw', alg: 'hmac-sha256', nonce: 'n-1', tag: 'orders' };
const signed = ({ msg = request(), alg = 'hmac-sha256', components = [...GATEWAY, 'x-consumer-id'], params = PARAMS, label } = {}) => signMessage(msg, {
  alg, key: KEYS[alg].priv, label, components, params: alg === 'hmac-sha256' || !('alg' in params) ? params : { ...params, alg },
});

async function verifier(opts = {}, alg = 'hmac-sha256', keyid = 'gw') {
  return new HttpSigVerifier({ tag: 'orders', ...opts }).addKey(alg, KEYS[alg].pub, keyid);
}

const reasonOf = (p) => p.then(() => 'valid', (e) => { if (!e.reason) throw e; return e.reason; });

describe('HttpSigVerifier', () => {
  test('the gateway shape verifies; the result names only covered headers', async () => {
    const v = await verifier();
    const r = await v.verify(signed(), { now: NOW });
    assert.equal(r.label, 'kong');
    assert.equal(r.keyid, 'gw');
    assert.equal(r.alg, 'hmac-sha256');
    assert.deepEqual([r.created, r.expires, r.nonce, r.tag], [NOW, NOW + 60, 'n-1', 'orders']);
    assert.deepEqual(r.components, ['"@method"', '"@target-uri"', '"@authority"', '"content-digest"', '"x-consumer-id"']);
    // X-Consumer-Username is in the request but not covered: not exposed.
    assert.deepEqual(r.consumer, { id: 'c-1', username: null, credential: null });
    assert.deepEqual(Object.keys(r.fields), ['content-digest', 'x-consumer-id']);
  });

  test('missing_signature', async () => {
    const v = await verifier();
    const m = signed();
    assert.equal(await reasonOf(v.verify({ ...m, headers: m.headers.filter(([n]) => n !== 'Signature') }, { now: NOW })), 'missing_signature');
    assert.equal(await reasonOf(v.verify({ ...m, headers: m.headers.filter(([n]) => n !== 'Signature-Input') }, { now: NOW })), 'missing_signature');
    assert.equal(await reasonOf(v.verify(m, { now: NOW, label: 'other' })), 'missing_signature');
    assert.equal(await reasonOf(v.verify(request([['Signature-Input', ''], ['Signature', '']]), { now: NOW })), 'missing_signature');
    const other = m.headers.map(([n, val]) => [n, n === 'Signature' ? val.replace(/^kong=/, 'kong2=') : val]);
    assert.equal(await reasonOf(v.verify({ ...m, headers: other }, { now: NOW })), 'missing_signature');
  });

  test('malformed: fields, member shapes, parameter types', async () => {
    const v = await verifier();
    const m = signed();
    const edit = (name, fn) => ({ ...m, headers: m.headers.map(([n, val]) => [n, n === name ? fn(val) : val]) });
    const cases = [
      edit('Signature-Input', (s) => `${s},`),
      edit('Signature', (s) => s.replace(/=:$/, ':')), // not canonical base64
      edit('Signature', (s) => s.replace(/:(.*):/, '"$1"')),
      edit('Signature-Input', () => 'kong=:AAAA:'),
      edit('Signature-Input', (s) => s.replace('"@method"', '@method')),
      edit('Signature-Input', (s) => s.replace(`created=${NOW}`, `created=${NOW}.5`)),
      edit('Signature-Input', (s) => s.replace(`expires=${NOW + 60}`, `expires="${NOW + 60}"`)),
      edit('Signature-Input', (s) => s.replace('keyid="gw"', 'keyid=gw')),
      edit('Signature-Input', (s) => s.replace('nonce="n-1"', 'nonce=?1')),
      edit('Signature-Input', (s) => s.replace('tag="orders"', 'tag=1')),
      edit('Signature-Input', (s) => s.replace('alg="hmac-sha256"', 'alg=:AAAA:')),
      // A repeated parameter, though the last value re-serializes to what was signed.
      edit('Signature-Input', (s) => `${s};created=${NOW}`),
      edit('Signature-Input', (s) => s.replace(`created=${NOW}`, `created=${NOW - 86400};created=${NOW}`)),
      edit('Signature-Input', (s) => s.replace('"@method"', '"@method";x;x')),
      edit('Signature-Input', (s) => `${s}, other=("@method");a=1;a=1`),
    ];
    for (const c of cases) assert.equal(await reasonOf(v.verify(c, { now: NOW })), 'malformed', c.headers.at(-2)[1] + c.headers.at(-1)[1]);
    // Parameters it does not know are signed over but not interpreted.
    const extra = signed({ params: { ...PARAMS, other: 5 } });
    assert.equal((await v.verify(extra, { now: NOW })).keyid, 'gw');
  });

  test('ambiguous unless a label is chosen', async () => {
    const v = await verifier();
    const first = signed();
    const two = signed({ msg: first, label: 'second' });
    assert.equal(await reasonOf(v.verify(two, { now: NOW })), 'ambiguous');
    assert.equal((await v.verify(two, { now: NOW, label: 'second' })).label, 'second');
    assert.equal((await v.verify(two, { now: NOW, label: 'kong' })).label, 'kong');
  });

  test('unknown_key: exact keyid, and the kid-less key only for signatures without keyid', async () => {
    const v = await verifier();
    assert.equal(await reasonOf(v.verify(signed({ params: { ...PARAMS, keyid: 'gw2' } }), { now: NOW })), 'unknown_key');
    const { keyid, ...noKeyid } = PARAMS;
    assert.equal(await reasonOf(v.verify(signed({ params: noKeyid }), { now: NOW })), 'unknown_key');
    const anon = await verifier({}, 'hmac-sha256', '');
    assert.equal((await anon.verify(signed({ params: noKeyid }), { now: NOW })).keyid, '');
    assert.equal(await reasonOf(anon.verify(signed(), { now: NOW })), 'unknown_key');
    // keyid="" is a keyid, not its absence: signed with the kid-less key, still unknown_key.
    const empty = signed({ params: { ...PARAMS, keyid: '' } });
    assert.match(empty.headers.at(-2)[1], /;keyid="";/);
    assert.equal(await reasonOf(anon.verify(empty, { now: NOW })), 'unknown_key');
  });

  test('alg_mismatch: the key decides, alg can only confirm', async () => {
    const v = await verifier();
    assert.equal(await reasonOf(v.verify(signed({ params: { ...PARAMS, alg: 'ed25519' } }), { now: NOW })), 'alg_mismatch');
    assert.equal(await reasonOf(v.verify(signed({ params: { ...PARAMS, alg: 'HMAC-SHA256' } }), { now: NOW })), 'alg_mismatch');
    const { alg, ...noAlg } = PARAMS;
    assert.equal((await v.verify(signed({ params: noAlg }), { now: NOW })).alg, 'hmac-sha256');
  });

  test('missing_component: the gateway components by default, any list by option', async () => {
    const v = await verifier();
    for (const drop of GATEWAY) {
      const m = signed({ components: GATEWAY.filter((c) => c !== drop) });
      assert.equal(await reasonOf(v.verify(m, { now: NOW })), 'missing_component', drop);
    }
    assert.equal(await reasonOf(v.verify(signed(), { now: NOW, requiredComponents: ['x-consumer-username'] })), 'missing_component');
    assert.equal(await reasonOf(v.verify(signed(), { now: NOW, requiredComponents: ['@query-param;name="id"'] })), 'missing_component');
    const q = signed({ components: [...GATEWAY, '@query-param;name="id"'] });
    assert.equal((await v.verify(q, { now: NOW, requiredComponents: ['@query-param;name="id"'] })).keyid, 'gw');
    assert.throws(() => new HttpSigVerifier({ requiredComponents: ['"bad'] }), ConfigurationError);
  });

  test('bad_component: a covered component the message cannot give', async () => {
    const v = await verifier();
    const m = signed({ components: [...GATEWAY, 'x-consumer-id'] });
    const without = { ...m, headers: m.headers.filter(([n]) => n !== 'X-Consumer-ID') };
    assert.equal(await reasonOf(v.verify(without, { now: NOW })), 'bad_component');
    const relative = { ...m, targetUri: '/v1/orders?id=7' };
    assert.equal(await reasonOf(v.verify(relative, { now: NOW })), 'bad_component');
  });

  test('tag_mismatch, including a signature without tag', async () => {
    const v = await verifier();
    assert.equal(await reasonOf(v.verify(signed({ params: { ...PARAMS, tag: 'billing' } }), { now: NOW })), 'tag_mismatch');
    const { tag, ...noTag } = PARAMS;
    assert.equal(await reasonOf(v.verify(signed({ params: noTag }), { now: NOW })), 'tag_mismatch');
    assert.equal((await v.verify(signed({ params: noTag }), { now: NOW, tag: null })).tag, null);
  });

  test('time: exact boundaries with leeway', async () => {
    const v = await verifier({ leeway: 5 });
    const m = signed();
    assert.equal(await reasonOf(v.verify(m, { now: NOW + 60 + 5 })), 'valid');
    assert.equal(await reasonOf(v.verify(m, { now: NOW + 60 + 6 })), 'expired');
    assert.equal(await reasonOf(v.verify(m, { now: NOW - 5 })), 'valid');
    assert.equal(await reasonOf(v.verify(m, { now: NOW - 6 })), 'created_in_future');
    assert.equal(await reasonOf(v.verify(m, { now: NOW + 35, maxAge: 30 })), 'valid');
    assert.equal(await reasonOf(v.verify(m, { now: NOW + 36, maxAge: 30 })), 'too_old');
    assert.equal(await reasonOf(v.verify(m, { now: NOW + 66, leeway: 0 })), 'expired');
    assert.equal(await reasonOf(v.verify(m, { now: NOW + 61, leeway: 0 })), 'expired');
    assert.equal(await reasonOf(v.verify(m, { now: NOW + 60, leeway: 0 })), 'valid');
  });

  test('missing_parameter: created, expires, created for maxAge, nonce for replay', async () => {
    const v = await verifier();
    const { created, ...noCreated } = PARAMS;
    const { expires, ...noExpires } = PARAMS;
    assert.equal(await reasonOf(v.verify(signed({ params: noCreated }), { now: NOW })), 'missing_parameter');
    assert.equal(await reasonOf(v.verify(signed({ params: noCreated }), { now: NOW, requireCreated: false })), 'valid');
    assert.equal(await reasonOf(v.verify(signed({ params: noCreated }), { now: NOW, requireCreated: false, maxAge: 10 })), 'missing_parameter');
    assert.equal(await reasonOf(v.verify(signed({ params: noExpires }), { now: NOW })), 'missing_parameter');
    assert.equal(await reasonOf(v.verify(signed({ params: noExpires }), { now: NOW, requireExpires: false })), 'valid');
  });

  test('the core order: key, components, tag, time, then the signature, then the digest', async () => {
    const v = await verifier();
    const tampered = (m) => ({ ...m, headers: m.headers.map(([n, val]) => [n, n === 'Signature' ? val.replace(/=:./, (c) => (c === '=:A' ? '=:B' : '=:A')) : val]) });
    const wrongBody = (m) => ({ ...m, body: Buffer.from('{"id":8}') });
    assert.equal(await reasonOf(v.verify(tampered(signed()), { now: NOW + 999 })), 'expired');
    assert.equal(await reasonOf(v.verify(tampered(signed({ params: { ...PARAMS, tag: 'x' } })), { now: NOW + 999 })), 'tag_mismatch');
    assert.equal(await reasonOf(v.verify(signed({ components: ['@method'], params: { ...PARAMS, tag: 'x' } }), { now: NOW })), 'missing_component');
    assert.equal(await reasonOf(v.verify(signed({ components: ['@method'], params: { ...PARAMS, keyid: 'zz' } }), { now: NOW })), 'unknown_key');
    assert.equal(await reasonOf(v.verify(wrongBody(tampered(signed())), { now: NOW })), 'bad_signature');
    assert.equal(await reasonOf(v.verify(wrongBody(signed()), { now: NOW })), 'digest_mismatch');
  });

  test('HTTPSIG_REASONS are the core reasons, as the project docs list them', () => {
    const doc = readFileSync(new URL('../../../docs/http-message-signatures.md', import.meta.url), 'utf8');
    const listed = [...doc.matchAll(/^\| `([a-z_]+)` \(1\d\d\) \|/gm)].map((m) => m[1]);
    assert.deepEqual([...HTTPSIG_REASONS], listed);
  });
});

describe('HttpSigVerifier keys', () => {
  for (const alg of Object.keys(KEYS)) {
    test(`${alg}: signs and verifies; one flipped bit fails`, async () => {
      const v = await verifier({}, alg);
      const m = signed({ alg });
      assert.equal((await v.verify(m, { now: NOW })).alg, alg);
      const sig = m.headers.at(-1)[1];
      const bytes = Buffer.from(sig.slice(6, -1), 'base64');
      bytes[bytes.length - 1] ^= 1;
      const bad = { ...m, headers: [...m.headers.slice(0, -1), ['Signature', `kong=:${bytes.toString('base64')}:`]] };
      assert.equal(await reasonOf(v.verify(bad, { now: NOW })), 'bad_signature');
      const short = { ...m, headers: [...m.headers.slice(0, -1), ['Signature', `kong=:${bytes.subarray(1).toString('base64')}:`]] };
      assert.equal(await reasonOf(v.verify(short, { now: NOW })), 'bad_signature');
    });
  }

  test('rsa-pss-sha512 verifies any salt length (Node signs with the maximum)', async () => {
    const v = await verifier({}, 'rsa-pss-sha512');
    const m = signed({ alg: 'rsa-pss-sha512' });
    for (const saltLength of [0, 32, constants.RSA_PSS_SALTLEN_MAX_SIGN]) {
      const sig = cryptoSign('sha512', Buffer.from(m.base), { key: createPrivateKey(KEYS['rsa-pss-sha512'].priv), padding: constants.RSA_PKCS1_PSS_PADDING, saltLength });
      const other = { ...m, headers: [...m.headers.slice(0, -1), ['Signature', `kong=:${sig.toString('base64')}:`]] };
      assert.equal((await v.verify(other, { now: NOW })).alg, 'rsa-pss-sha512', String(saltLength));
    }
  });

  test('ecdsa-p256-sha256 takes raw r||s only (DER is bad_signature)', async () => {
    const v = await verifier({}, 'ecdsa-p256-sha256');
    const m = signed({ alg: 'ecdsa-p256-sha256' });
    const der = cryptoSign('sha256', Buffer.from(m.base), createPrivateKey(KEYS['ecdsa-p256-sha256'].priv));
    const other = { ...m, headers: [...m.headers.slice(0, -1), ['Signature', `kong=:${der.toString('base64')}:`]] };
    assert.equal(await reasonOf(v.verify(other, { now: NOW })), 'bad_signature');
  });

  test("the gateway's algorithm names map to the RFC 9421 algorithm it signs; HS384/HS512 have none", async () => {
    const names = { HS256: 'hmac-sha256', RS256: 'rsa-v1_5-sha256', PS256: 'rsa-pss-sha512', ES256: 'ecdsa-p256-sha256', EdDSA: 'ed25519' };
    for (const [jws, alg] of Object.entries(names)) {
      assert.equal((await makeHttpSigKey(jws, KEYS[alg].pub)).alg, alg, jws);
      const v = await new HttpSigVerifier({ tag: 'orders' }).addKey(jws, KEYS[alg].pub, 'gw');
      assert.equal((await v.verify(signed({ alg }), { now: NOW })).alg, alg, jws);
    }
    // The key rules are the algorithm's, whichever name chose it.
    await assert.rejects(makeHttpSigKey('HS256', Buffer.alloc(31)), /at least 32/);
    await assert.rejects(makeHttpSigKey('EdDSA', KEYS['ecdsa-p256-sha256'].pub), ConfigurationError);
    for (const jws of ['HS384', 'HS512']) {
      await assert.rejects(makeHttpSigKey(jws, Buffer.alloc(64)), new RegExp(`^ConfigurationError: ${jws} has no RFC 9421 algorithm`));
      await assert.rejects(new HttpSigVerifier().addKey(jws, Buffer.alloc(64)), /has no RFC 9421 algorithm/);
    }
    for (const bad of ['hs256', 'RS384', 'hmac-sha512', '', 'toString']) {
      await assert.rejects(makeHttpSigKey(bad, Buffer.alloc(64)), /unsupported HTTP signature algorithm/, bad);
    }
  });

  test('key rules: secret >= 32 bytes, RSA >= 2048, the right key type, unique keyids', async () => {
    await assert.rejects(makeHttpSigKey('hmac-sha256', Buffer.alloc(31)), ConfigurationError);
    assert.ok(await makeHttpSigKey('hmac-sha256', Buffer.alloc(32)));
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'pem' });
    await assert.rejects(makeHttpSigKey('rsa-v1_5-sha256', small), /2048/);
    await assert.rejects(makeHttpSigKey('ed25519', KEYS['ecdsa-p256-sha256'].pub), ConfigurationError);
    const pssOnly = generateKeyPairSync('rsa-pss', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'pem' });
    await assert.rejects(makeHttpSigKey('rsa-v1_5-sha256', pssOnly), ConfigurationError);
    assert.equal((await makeHttpSigKey('rsa-pss-sha512', pssOnly)).alg, 'rsa-pss-sha512');
    const v = await verifier();
    await assert.rejects(v.addKey('ed25519', KEYS.ed25519.pub, 'gw'), /already registered/);
    assert.throws(() => new HttpSigVerifier({ label: 'Kong' }), ConfigurationError);
  });

  test('keys from a JWKS: the gateway algorithm names map to RFC 9421 ones', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const jwk = { ...publicKey.export({ format: 'jwk' }), alg: 'EdDSA', kid: 'gw-2024', use: 'sig' };
    const v = await new HttpSigVerifier({ tag: 'orders' }).addJwks({ keys: [jwk] });
    const m = signMessage(request(), { alg: 'ed25519', key: privateKey, components: GATEWAY, params: { ...PARAMS, keyid: 'gw-2024', alg: 'ed25519' } });
    assert.equal((await v.verify(m, { now: NOW })).alg, 'ed25519');
  });

  test('a JWKS URL: an unknown keyid fetches the set again (key rotation)', async () => {
    const ed = () => generateKeyPairSync('ed25519');
    const a = ed();
    const b = ed();
    const jwk = (k, kid) => ({ ...k.publicKey.export({ format: 'jwk' }), alg: 'EdDSA', kid });
    let served = { keys: [jwk(a, 'a')] };
    let t = 0;
    const jwks = new JwksSource('http://gw.test/jwks', { fetch: async () => JSON.stringify(served), clock: () => t, minRefreshInterval: 10 });
    const v = new HttpSigVerifier({ tag: 'orders', jwks });
    const by = (k, kid) => signMessage(request(), { alg: 'ed25519', key: k.privateKey, components: GATEWAY, params: { ...PARAMS, keyid: kid, alg: 'ed25519' } });
    assert.equal((await v.verify(by(a, 'a'), { now: NOW })).keyid, 'a');
    served = { keys: [jwk(a, 'a'), jwk(b, 'b')] };
    t = 11;
    assert.equal((await v.verify(by(b, 'b'), { now: NOW })).keyid, 'b');
    assert.equal(jwks.fetches, 2);
    // Within the rate limit a made-up keyid does not fetch again.
    assert.equal(await reasonOf(v.verify(by(b, 'zz'), { now: NOW })), 'unknown_key');
    assert.equal(jwks.fetches, 2);
  });
});

describe('HttpSigVerifier nonce replay', () => {
  test('a nonce is accepted once until expires + leeway; a refused request does not spend it', async () => {
    const store = new InMemoryReplayStore(10);
    const v = await verifier({ replayStore: store });
    const m = signed();
    assert.equal(await reasonOf(v.verify({ ...m, body: Buffer.from('x') }, { now: NOW })), 'digest_mismatch');
    assert.equal(await reasonOf(v.verify(m, { now: NOW })), 'valid');
    assert.equal(await reasonOf(v.verify(m, { now: NOW + 1 })), 'replayed');
    // Accepted through expires + leeway (not expired while now <= NOW + 65):
    // remembered past it, under the nonce alone.
    assert.equal(store.expiry.get('n-1'), NOW + 60 + 5 + 1);
    assert.equal(await reasonOf(v.verify(m, { now: NOW + 65 })), 'replayed');
    assert.equal(await reasonOf(v.verify(m, { now: NOW + 66 })), 'expired');
    const { nonce, ...noNonce } = PARAMS;
    assert.equal(await reasonOf(v.verify(signed({ params: noNonce }), { now: NOW })), 'missing_parameter');
    const { expires, ...noExpires } = PARAMS;
    const open = await verifier({ replayStore: new InMemoryReplayStore(10), requireExpires: false });
    assert.equal(await reasonOf(open.verify(signed({ params: noExpires }), { now: NOW })), 'missing_parameter');
    assert.equal(await reasonOf(open.verify(signed({ params: noExpires }), { now: NOW, maxAge: 30 })), 'valid');
  });
});

test('the Redis SET: the key and TTL the Python package sends for the same signature', async () => {
  const calls = [];
  const client = { set: async (...args) => { calls.push(args); return 'OK'; } };
  const v = await verifier({ replayStore: new RedisReplayStore(client, { prefix: NONCE_PREFIX }) });
  await v.verify(signed(), { now: NOW + 10 });
  assert.deepEqual(calls, [['upstream-jwt:nonce:n-1', '1', { NX: true, PX: 56000 }]]);
});

test('two replicas sharing Redis: a nonce one accepted, the other refuses; Redis gone is 503', async () => {
  const redis = await startRedis();
  let running = true;
  const stores = [];
  try {
    const replicas = [];
    for (let i = 0; i < 2; i++) {
      const store = await RedisReplayStore.fromUrl(redis.url, { prefix: 'upstream-jwt:nonce:', timeoutMs: 500 });
      stores.push(store);
      replicas.push(await verifier({ replayStore: store }));
    }
    const m = signed({ params: { ...PARAMS, nonce: `n-${Date.now()}` } });
    assert.equal(await reasonOf(replicas[0].verify(m, { now: NOW })), 'valid');
    assert.equal(await reasonOf(replicas[1].verify(m, { now: NOW })), 'replayed');
    await redis.stop();
    running = false;
    const other = signed({ params: { ...PARAMS, nonce: 'n-other' } });
    const e = await replicas[1].verify(other, { now: NOW }).catch((x) => x);
    assert.deepEqual([e.reason, e.status], ['replay_store_unavailable', 503]);
  } finally {
    for (const s of stores) s.client.destroy();
    if (running) await redis.stop();
  }
});

describe('fromEnv', () => {
  test('UPSTREAM_JWT_FORMAT=http-message-signature gives an RFC 9421 verifier', async () => {
    const env = {
      UPSTREAM_JWT_FORMAT: 'http-message-signature', UPSTREAM_JWT_SECRET: KEYS['hmac-sha256'].priv.toString(),
      UPSTREAM_JWT_KEY_ID: 'gw', UPSTREAM_JWT_SIGNATURE_TAG: 'orders', UPSTREAM_JWT_LEEWAY: '2',
    };
    const v = await Verifier.fromEnv(env);
    assert.ok(v instanceof HttpSigVerifier);
    assert.equal(v.leeway, 2);
    assert.equal((await v.verify(signed(), { now: NOW })).keyid, 'gw');
    const pemEnv = { UPSTREAM_JWT_ALG: 'EdDSA', UPSTREAM_JWT_PUBLIC_KEY: KEYS.ed25519.pub, UPSTREAM_JWT_KEY_ID: 'gw' };
    const e = await Verifier.fromEnv(pemEnv, { format: 'http-message-signature', tag: 'orders' });
    assert.equal((await e.verify(signed({ alg: 'ed25519' }), { now: NOW })).alg, 'ed25519');
    await assert.rejects(Verifier.fromEnv({ UPSTREAM_JWT_FORMAT: 'http-message-signature' }), /no key/);
    await assert.rejects(Verifier.fromEnv({ UPSTREAM_JWT_FORMAT: 'cavage', UPSTREAM_JWT_SECRET: 'x'.repeat(32) }), /unknown format/);
    assert.ok((await Verifier.fromEnv({ UPSTREAM_JWT_SECRET: 'x'.repeat(32) })) instanceof Verifier);
  });
});
