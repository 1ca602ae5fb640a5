// Express and Fastify verifying RFC 9421 over real sockets, with signatures
// made by the project's CLI (`upstream-jwt httpsig sign`) and by the
// independent npm http-message-signatures (interop: theirs verify in ours).
import assert from 'node:assert/strict';
import { createHash, createPrivateKey } from 'node:crypto';
import { after, before, describe, test } from 'node:test';

import express from 'express';
import Fastify from 'fastify';
import { createSigner, httpbis } from 'http-message-signatures';

import { HttpSigVerifier, InMemoryReplayStore } from '../src/index.js';
import { upstreamJwt as expressMw } from '../src/express.js';
import { upstreamJwt as fastifyMw } from '../src/fastify.js';
import { cliSign, contentDigest, hasCli, makeKeys } from './httpsig-support.js';
import { rawRequest } from './support.js';

const KEYS = makeKeys();
const ALGS = Object.keys(KEYS);
const COMPONENTS = ['@method', '@target-uri', '@authority', 'content-digest', 'content-type', 'x-consumer-id'];
const sha = (b) => createHash('sha256').update(b).digest('hex');
const now = () => Math.floor(Date.now() / 1000);

async function makeVerifier(opts = {}) {
  const v = new HttpSigVerifier({ tag: 'orders', replayStore: new InMemoryReplayStore(1000), ...opts });
  for (const alg of ALGS) await v.addKey(alg, KEYS[alg].pub, `k-${alg}`);
  return v;
}

const reply = (sig, body, headers) => ({
  keyid: sig.keyid, alg: sig.alg, consumer: sig.consumer, body_len: body.length, body_sha: sha(body),
  seen: [headers['x-consumer-id'] ?? null, headers['x-consumer-username'] ?? null],
});

async function expressServer(v, opts) {
  const app = express();
  app.use(expressMw(v, opts));
  app.get('/healthz', (req, res) => res.send('ok'));
  app.all('/{*rest}', (req, res) => res.json(reply(req.upstreamSignature, req.rawBody, req.headers)));
  // port 0: the kernel's port, taken as it is chosen (no window for another process to take it)
  const server = await new Promise((r) => { const s = app.listen(0, '127.0.0.1', () => r(s)); });
  return { port: server.address().port, close: () => new Promise((r) => server.close(r)) };
}

async function fastifyServer(v, opts) {
  const app = Fastify();
  await app.register(fastifyMw, { verifier: v, ...opts });
  app.removeAllContentTypeParsers(); // the handler hashes the exact bytes
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (req, body, done) => done(null, body));
  app.get('/healthz', async () => 'ok');
  app.all('/*', async (req) => reply(req.upstreamSignature, req.body ?? Buffer.alloc(0), req.headers));
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { port: app.server.address().port, close: () => app.close() };
}

const BASE_HEADERS = [['Content-Type', 'application/json'], ['X-Consumer-ID', 'c-42'], ['X-Consumer-Username', 'mallory']];

// rawRequest sends `Host: localhost`: the target URI the service sees is http://localhost<target>.
function cliRequest(alg, { method = 'POST', target = '/v1/orders?id=7', body = Buffer.from('{"qty":2}'), components = COMPONENTS, url } = {}) {
  const lines = cliSign({
    alg, keyPem: KEYS[alg].priv, keyid: `k-${alg}`, components: `(${components.map((c) => `"${c}"`).join(' ')})`,
    method, url: url ?? `http://localhost${target}`, headers: BASE_HEADERS, body, created: now(), tag: 'orders',
  });
  return { method, target, headers: [...BASE_HEADERS, ...lines], body };
}

async function npmRequest(alg, { target = '/v1/orders?id=7', body = Buffer.from('{"qty":3}') } = {}) {
  const key = alg === 'hmac-sha256' ? KEYS[alg].priv : createPrivateKey(KEYS[alg].priv);
  const headers = Object.fromEntries([...BASE_HEADERS.map(([n, v]) => [n.toLowerCase(), v]), ['content-digest', contentDigest(body)]]);
  const signed = await httpbis.signMessage({
    key: createSigner(key, alg, `k-${alg}`),
    name: 'npm',
    fields: COMPONENTS,
    params: ['created', 'expires', 'keyid', 'alg', 'nonce', 'tag'],
    paramValues: { nonce: `npm-${alg}-${Math.random()}`, tag: 'orders' },
  }, { method: 'POST', url: `http://localhost${target}`, headers });
  return { method: 'POST', target, headers: Object.entries(signed.headers), body };
}

const send = (port, r, extra = {}) => rawRequest(port, r.method, extra.target ?? r.target, extra.headers ?? r.headers, extra.body ?? r.body);

for (const [name, start] of [['express', expressServer], ['fastify', fastifyServer]]) {
  describe(`${name} with format http-message-signature`, () => {
    let srv;
    let small;
    let tls;
    before(async () => {
      srv = await start(await makeVerifier(), { exempt: ['/healthz'] });
      small = await start(await makeVerifier(), { maxBodySize: 16 });
      tls = await start(await makeVerifier(), { scheme: 'https' });
    });
    after(async () => { await srv.close(); await small.close(); await tls.close(); });

    for (const alg of ALGS) {
      test(`${alg}: signed by upstream-jwt httpsig sign`, { skip: !hasCli && 'build/upstream-jwt not built' }, async () => {
        const r = cliRequest(alg);
        const res = await send(srv.port, r);
        assert.equal(res.status, 200, JSON.stringify(res.json));
        // The username is sent but not covered: the app never sees it, not even in req.headers.
        assert.deepEqual(res.json, {
          keyid: `k-${alg}`, alg, consumer: { id: 'c-42', username: null, credential: null }, body_len: r.body.length, body_sha: sha(r.body), seen: ['c-42', null],
        });
      });

      test(`${alg}: signed by npm http-message-signatures`, async () => {
        const r = await npmRequest(alg);
        const res = await send(srv.port, r);
        assert.equal(res.status, 200, JSON.stringify(res.json));
        assert.equal(res.json.alg, alg);
        assert.equal(res.json.body_sha, sha(r.body));
      });
    }

    test('raw path and query as received (percent-encoding, dot segments, //)', { skip: !hasCli }, async () => {
      const r = cliRequest('ed25519', { target: '/v1//a%2Fb/../c?x=%41&y=a+b' });
      assert.equal((await send(srv.port, r)).status, 200);
      const other = await send(srv.port, cliRequest('ed25519', { target: '/v1//a%2Fb/../c?x=%41&y=a+b' }), { target: '/v1//a%2fb/../c?x=%41&y=a+b' });
      assert.deepEqual([other.status, other.json.error], [401, 'bad_signature']);
    });

    test('a changed body is digest_mismatch; the same request twice is replayed', { skip: !hasCli }, async () => {
      const r = cliRequest('hmac-sha256');
      const bad = await send(srv.port, r, { body: Buffer.from('{"qty":9}') });
      assert.deepEqual([bad.status, bad.json.error], [401, 'digest_mismatch']);
      assert.equal((await send(srv.port, r)).status, 200);
      const again = await send(srv.port, r);
      assert.deepEqual([again.status, again.json.error], [401, 'replayed']);
    });

    test('refusals: unsigned, another method, a covered header removed, a wrong tag', { skip: !hasCli }, async () => {
      const plain = await rawRequest(srv.port, 'GET', '/v1/orders', BASE_HEADERS);
      assert.deepEqual([plain.status, plain.json.error], [401, 'missing_signature']);
      // Refused before its body is read.
      const unsignedPost = await rawRequest(srv.port, 'POST', '/v1/orders', BASE_HEADERS, Buffer.alloc(1 << 20, 0x61));
      assert.deepEqual([unsignedPost.status, unsignedPost.json.error], [401, 'missing_signature']);
      const r = cliRequest('ecdsa-p256-sha256');
      const put = await send(srv.port, { ...r, method: 'PUT' });
      assert.deepEqual([put.status, put.json.error], [401, 'bad_signature']);
      const noConsumer = await send(srv.port, r, { headers: r.headers.filter(([n]) => n !== 'X-Consumer-ID') });
      assert.deepEqual([noConsumer.status, noConsumer.json.error], [401, 'bad_component']);
      const thin = cliRequest('ed25519', { components: ['@method', '@target-uri'] });
      assert.deepEqual((await send(srv.port, thin)).json.error, 'missing_component');
    });

    test('an absolute-form request target is the target URI', { skip: !hasCli }, async () => {
      const r = cliRequest('ed25519', { url: 'http://orders.internal:8080/v1/orders?id=7' });
      assert.equal((await send(srv.port, r, { target: 'http://orders.internal:8080/v1/orders?id=7' })).status, 200);
    });

    test('the scheme is part of @target-uri: set it behind a TLS terminator', { skip: !hasCli }, async () => {
      const r = cliRequest('ed25519', { url: 'https://localhost/v1/orders?id=7' });
      assert.deepEqual((await send(srv.port, r)).json.error, 'bad_signature');
      assert.equal((await send(tls.port, r)).status, 200);
    });

    test('two Host lines are 400; a body over maxBodySize is 413; exempt paths skip', { skip: !hasCli }, async () => {
      const r = cliRequest('ed25519');
      const two = await send(srv.port, r, { headers: [...r.headers, ['Host', 'evil.example']] });
      assert.deepEqual([two.status, two.json.error], [400, 'bad_request']);
      const big = await send(small.port, cliRequest('ed25519', { body: Buffer.alloc(17, 0x61) }));
      assert.deepEqual([big.status, big.json.error], [413, 'body_too_large']);
      assert.equal((await send(small.port, cliRequest('ed25519', { body: Buffer.alloc(16, 0x61) }))).status, 200);
      assert.equal((await rawRequest(srv.port, 'GET', '/healthz')).status, 200);
    });
  });
}
