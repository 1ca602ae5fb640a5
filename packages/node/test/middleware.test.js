// Express and Fastify over real sockets: raw paths, bodies, reasons, statuses.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';

import express from 'express';
import Fastify from 'fastify';

import { InMemoryReplayStore, Verifier, headersSha256 } from '../src/index.js';
import { upstreamJwt as expressJwt } from '../src/express.js';
import { upstreamJwt as fastifyJwt } from '../src/fastify.js';
import { SECRET, claimsFor, rawRequest, token } from './support.js';

const H = 'X-Upstream-JWT';
const sha = (b) => createHash('sha256').update(b).digest('hex');

async function verifier(opts = {}) {
  return new Verifier({ audience: 'orders', ...opts }).addKey('HS256', SECRET);
}

async function expressServer(v, opts) {
  const app = express();
  app.use(expressJwt(v, opts));
  app.get('/healthz', (req, res) => res.send('ok'));
  app.all('/{*rest}', (req, res) => res.json({ sub: req.upstreamJwt.sub, body_len: req.rawBody.length, body_sha: sha(req.rawBody) }));
  app.all('/', (req, res) => res.json({ sub: req.upstreamJwt.sub, body_len: req.rawBody.length, body_sha: sha(req.rawBody) }));
  // port 0: the kernel's port, taken as it is chosen (no window for another process to take it)
  const server = await new Promise((r) => { const s = app.listen(0, '127.0.0.1', () => r(s)); });
  return { port: server.address().port, close: () => new Promise((r) => server.close(r)) };
}

async function fastifyServer(v, opts) {
  const app = Fastify({ bodyLimit: 16 << 20 });
  await app.register(fastifyJwt, { verifier: v, ...opts });
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (req, body, done) => done(null, body));
  app.get('/healthz', async () => 'ok');
  app.all('/*', async (req) => {
    const body = req.body ?? Buffer.alloc(0);
    return { sub: req.upstreamJwt.sub, body_len: body.length, body_sha: sha(body) };
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { port: app.server.address().port, close: () => app.close() };
}

for (const [name, start] of [['express', expressServer], ['fastify', fastifyServer]]) {
  describe(name, () => {
    let srv;
    let tiny;
    before(async () => {
      srv = await start(await verifier({ replayStore: new InMemoryReplayStore(1000) }), { maxBodySize: 4 << 20 });
      tiny = await start(await verifier({ replayStore: new InMemoryReplayStore(1) }), { exempt: ['/healthz'] });
    });
    after(async () => { await srv.close(); await tiny.close(); });

    const signed = (method, target, body = Buffer.alloc(0), extra = {}) => {
      const t = Buffer.from(target);
      const q = t.indexOf(0x3f);
      const path = (q < 0 ? t : t.subarray(0, q)).toString('utf8');
      const query = q < 0 ? '' : t.subarray(q + 1).toString('utf8');
      return token(claimsFor({ method, path, query, body, ...extra }));
    };
    const send = (method, target, tok, body, headers = [], s = srv) => rawRequest(s.port, method, target, [...headers, ...(tok ? [[H, tok]] : [])], body);
    const ok = async (method, target, body = Buffer.alloc(0)) => {
      const r = await send(method, target, await signed(method, target, body), body);
      assert.equal(r.status, 200, `${target}: ${JSON.stringify(r.json)}`);
      return r.json;
    };

    test('GET', async () => assert.equal((await ok('GET', '/orders/42')).sub, 'alice-id'));
    // Node's HTTP parser answers 400 to raw non-ASCII bytes in the request line
    // before any middleware runs (see the unit test below for raw bytes).
    test('non-ASCII path, percent-encoded', async () => { await ok('GET', '/caf%C3%A9/%E2%82%AC'); });
    test('// path', async () => { await ok('GET', '//x'); });
    test('percent-encoding compared raw', async () => {
      await ok('GET', '/files/a%2Fb%20c');
      const r = await send('GET', '/files/a%2Fb', await signed('GET', '/files/a/b'));
      assert.deepEqual([r.status, r.json], [401, { error: 'path_mismatch' }]);
    });
    test('query raw and bare ?', async () => {
      await ok('GET', '/q?a=1&b=%2F+x');
      assert.equal((await send('GET', '/q?', await signed('GET', '/q'))).status, 200);
    });
    test('large body reaches the app intact', async () => {
      const body = Buffer.alloc(3 * 1024 * 1024 + 1792);
      for (let i = 0; i < body.length; i++) body[i] = i & 0xff;
      const out = await ok('POST', '/upload', body);
      assert.deepEqual([out.body_len, out.body_sha], [body.length, sha(body)]);
    });
    test('reasons', async () => {
      assert.deepEqual(await send('GET', '/x'), { status: 401, json: { error: 'missing_token' } });
      assert.equal((await send('GET', '/x', `Bearer ${await signed('GET', '/x')}`)).status, 200);
      assert.deepEqual(await send('GET', '/x', await signed('GET', '/x', undefined, { now: 1000 })), { status: 401, json: { error: 'expired' } });
      const tok = await signed('POST', '/x', Buffer.from('original'));
      assert.deepEqual(await send('POST', '/x', tok, Buffer.from('tampered')), { status: 401, json: { error: 'body_mismatch' } });
      assert.deepEqual(await send('POST', '/x', await signed('GET', '/x')), { status: 401, json: { error: 'method_mismatch' } });
      assert.deepEqual((await send('GET', '/x', 'a.b')).json, { error: 'malformed' });
    });
    test('two token headers are refused', async () => {
      const tok = await signed('GET', '/x');
      assert.deepEqual(await send('GET', '/x', tok, undefined, [[H, tok]]), { status: 401, json: { error: 'malformed' } });
    });
    test('replay refused', async () => {
      const tok = await signed('GET', '/r');
      assert.equal((await send('GET', '/r', tok)).status, 200);
      assert.deepEqual(await send('GET', '/r', tok), { status: 401, json: { error: 'replayed' } });
    });
    test('bound headers, repeats as received', async () => {
      const names = ['content-type', 'x-tag', 'x-http-method-override'];
      const sent = [['Content-Type', 'application/octet-stream'], ['X-Tag', 'a'], ['x-tag', ' b ']];
      const body = Buffer.from('{}');
      const mint = () => token(claimsFor({ method: 'POST', path: '/h', body, hdrs: names, hdr_sha256: headersSha256(names, sent) }));
      const okr = await send('POST', '/h', await mint(), body, sent);
      assert.equal(okr.status, 200, JSON.stringify(okr.json));
      assert.deepEqual(await send('POST', '/h', await mint(), body, [...sent, ['X-HTTP-Method-Override', 'DELETE']]),
        { status: 401, json: { error: 'header_mismatch' } });
    });
    test('body over the limit is 413', async () => {
      const body = Buffer.alloc((4 << 20) + 1, 0x78);
      assert.deepEqual(await send('POST', '/big', await signed('POST', '/big', body), body), { status: 413, json: { error: 'body_too_large' } });
    });
    test('full replay cache is 503; exempt paths skip', async () => {
      assert.equal((await send('GET', '/a', await signed('GET', '/a'), undefined, [], tiny)).status, 200);
      assert.deepEqual(await send('GET', '/b', await signed('GET', '/b'), undefined, [], tiny), { status: 503, json: { error: 'replay_cache_full' } });
      assert.equal((await rawRequest(tiny.port, 'GET', '/healthz')).status, 200);
    });
  });
}

test('express middleware compares a raw non-ASCII path as bytes', async () => {
  const { Readable } = await import('node:stream');
  const path = Buffer.from('/café/€', 'utf8');
  const run = async (tok) => {
    const req = Readable.from([]);
    Object.assign(req, { method: 'GET', url: path.toString('latin1'), rawHeaders: [H, tok] });
    let status = 200;
    const res = { status(c) { status = c; return this; }, set() { return this; }, send() { return this; } };
    await expressJwt(await verifier())(req, res, () => {});
    return status;
  };
  assert.equal(await run(await token(claimsFor({ path: '/café/€' }))), 200);
  assert.equal(await run(await token(claimsFor({ path: '/caf%C3%A9/%E2%82%AC' }))), 401);
});
