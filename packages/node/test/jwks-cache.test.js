// How long a JwksSource trusts a fetched key set: the server's caching
// headers within the configured bounds, jitter, conditional requests,
// stale-if-error. An injected clock and fetcher, no sleeping. The header cases
// live in the Python package's tests/jwks_cache_cases.json, which its
// test_jwks_cache.py runs too, so both packages cache the same way.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { describe, test } from 'node:test';

import { ConfigurationError, JwksSource, VerificationError } from '../src/index.js';
import { parseCacheControl, parseHttpDate } from '../src/jwks.js';

const DOC = JSON.parse(readFileSync(new URL('../../python/tests/jwks_cache_cases.json', import.meta.url), 'utf8'));
const CAMEL = { max_age: 'maxAge', min_refresh_interval: 'minRefreshInterval', stale_if_error: 'staleIfError', jitter: 'jitter' };
const URL_ = 'https://gw.test/.well-known/jwks.json';
const EPS = 0.001;
const jwk = (kid) => ({ ...generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' }), kid, alg: 'ES256', use: 'sig' });
const SET1 = Buffer.from(JSON.stringify({ keys: [jwk('k1')] }));
const SET2 = Buffer.from(JSON.stringify({ keys: [jwk('k2')] }));

// A scripted fetcher on an injected clock: each answer is a response, an
// Error to throw, or { delay, answer }; the last answer repeats.
class Fake {
  constructor(...answers) {
    this.now = 1000;
    this.answers = answers;
    this.sent = [];
    this.clock = () => this.now;
    this.fetch = async (url, timeoutMs, requestHeaders) => {
      this.sent.push({ ...requestHeaders });
      let answer = this.answers.length > 1 ? this.answers.shift() : this.answers[0];
      if (answer && answer.delay !== undefined) {
        this.now += answer.delay;
        answer = answer.answer;
      }
      if (answer instanceof Error) throw answer;
      return answer;
    };
  }

  source(opts = {}) {
    return new JwksSource(URL_, { jitter: 0, ...opts, fetch: this.fetch, clock: this.clock });
  }
}

const ok = (headers = {}, body = SET1) => ({ status: 200, body, headers });
const kids = async (s) => (await s.keys()).map((k) => k.kid);
const unavailable = async (s) => {
  try { await s.keys(); return false; } catch (e) { if (e instanceof VerificationError) return e.reason === 'jwks_unavailable'; throw e; }
};
const near = (got, want, msg) => assert.ok(Math.abs(got - want) < 1e-9, `${msg}: ${got} != ${want}`);

describe('shared cases (jwks_cache_cases.json)', () => {
  for (const c of DOC.cases) {
    test(c.name, async () => {
      const e = c.expect;
      const delay = c.delay ?? 0;
      const fake = new Fake({ delay, answer: ok(c.headers) }, new Error('down'));
      const config = Object.fromEntries(Object.entries({ ...DOC.base, ...c.config }).map(([k, v]) => [CAMEL[k], v]));
      const s = fake.source({ ...config, rng: () => c.rng ?? 0 });
      assert.deepEqual(await kids(s), ['k1']);
      near(s.freshUntil - (1000 + delay), e.fresh, 'fresh');
      near(s.usableUntil - s.freshUntil, e.stale, 'stale');
      if (e.source !== undefined) assert.equal(s.freshnessSource, e.source);
      if (e.fresh >= EPS) {
        fake.now = s.freshUntil - EPS;
        assert.deepEqual(await kids(s), ['k1']);
        assert.equal(s.fetches, 1, 'fresh until the last instant');
      }
      fake.now = s.freshUntil;
      // the refetch fails: the last good set is served only within stale
      assert.equal(await unavailable(s), e.stale === 0);
      assert.equal(s.fetches, 2, 'stale at freshUntil');
      assert.equal(fake.sent[1]['if-none-match'] ?? null, e.if_none_match);
      if (e.stale > 0) {
        fake.now = s.usableUntil - EPS;
        assert.deepEqual(await kids(s), ['k1']);
        fake.now = s.usableUntil;
        assert.ok(await unavailable(s));
      }
    });
  }
});

describe('conditional requests', () => {
  test('a 304 keeps the keys and renews freshness', async () => {
    const fake = new Fake(ok({ 'cache-control': 'max-age=100', etag: '"v1"' }), { status: 304, body: '', headers: { 'cache-control': 'max-age=200' } });
    const s = fake.source();
    await kids(s);
    assert.deepEqual(fake.sent[0], {}, 'nothing to revalidate on the first fetch');
    fake.now = 1100;
    assert.deepEqual(await kids(s), ['k1']);
    assert.deepEqual(fake.sent[1], { 'if-none-match': '"v1"' });
    assert.equal(s.freshUntil, 1300, "the 304's max-age");
    fake.now = 1300;
    await kids(s);
    assert.deepEqual(fake.sent[2], { 'if-none-match': '"v1"' }, 'the stored ETag stays');
  });

  test("a 304 without caching headers keeps the stored ones but not their Age", async () => {
    const fake = new Fake(ok({ 'cache-control': 'max-age=100', age: '40', etag: 'W/"v1"' }), { status: 304, body: '', headers: {} });
    const s = fake.source();
    await kids(s);
    assert.equal(s.freshUntil, 1060);
    fake.now = 1060;
    await kids(s);
    assert.equal(s.freshUntil, 1160, "max-age 100 again; the 200's Age is not the 304's");
  });

  test('a 304 with a new ETag, then no-store', async () => {
    const fake = new Fake(ok({ 'cache-control': 'max-age=100', etag: '"v1"' }), { status: 304, body: '', headers: { etag: '"v2"' } },
      { status: 304, body: '', headers: { 'cache-control': 'no-store' } }, ok());
    const s = fake.source();
    await kids(s);
    fake.now = 1100;
    await kids(s);
    fake.now = 1200;
    await kids(s);
    assert.deepEqual(fake.sent[2], { 'if-none-match': '"v2"' });
    assert.deepEqual([s.freshUntil, s.usableUntil], [1230, 1230], 'no-store: minimum, never stale');
    fake.now = 1230;
    await kids(s);
    assert.deepEqual(fake.sent[3], {}, 'no-store drops the validator');
  });

  test('a 304 to an unconditional request is a failure', async () => {
    assert.ok(await unavailable(new Fake({ status: 304, body: '', headers: { 'cache-control': 'max-age=100' } }).source()));
    const fake = new Fake(ok({ 'cache-control': 'max-age=100' }), { status: 304, body: '', headers: {} });
    const s = fake.source({ staleIfError: 0 });
    await kids(s);
    fake.now = 1100;
    assert.ok(await unavailable(s), 'no ETag was sent, so a 304 renews nothing');
  });

  test('a new set replaces the keys', async () => {
    const fake = new Fake(ok({ 'cache-control': 'max-age=100', etag: '"v1"' }), ok({ etag: '"v2"' }, SET2));
    const s = fake.source();
    await kids(s);
    fake.now = 1100;
    assert.deepEqual(await kids(s), ['k2']);
    assert.equal(s.freshUntil, 1400, 'no caching headers: maxAge');
  });
});

describe('failure and recovery', () => {
  test('stale-if-error, then recovery, retrying once per minRefreshInterval', async () => {
    const fake = new Fake(ok({ 'cache-control': 'max-age=60' }), new Error('down'));
    const s = fake.source({ minRefreshInterval: 10, staleIfError: 100 });
    await kids(s);
    // every second from the set's expiry to the end of the stale window
    for (let t = 1060; t < 1160; t++) {
      fake.now = t;
      assert.deepEqual(await kids(s), ['k1'], String(t));
    }
    assert.equal(s.fetches, 1 + 10, 'one attempt per 10 s: 1060, 1070, ..., 1150');
    fake.now = 1160;
    assert.ok(await unavailable(s), 'staleIfError is over: fail closed');
    assert.equal(s.fetches, 12);
    fake.now = 1169.999;
    assert.ok(await unavailable(s));
    assert.equal(s.fetches, 12, 'no retry within minRefreshInterval');
    fake.answers = [ok({ 'cache-control': 'max-age=60' }, SET2)];
    fake.now = 1170;
    assert.deepEqual(await kids(s), ['k2'], 'recovered');
    assert.deepEqual([s.freshUntil, s.usableUntil], [1230, 1330]);
  });

  test('every kind of failure keeps the last good set', async () => {
    const failures = [new Error('refused'), new Error('JWKS larger than 1 MiB'), { status: 500, body: '', headers: {} },
      ok({}, 'not json'), ok({}, '[]'), ok({}, '{"keys": {}}'), null, 42, '', { status: 204, body: '', headers: {} }];
    for (const failure of failures) {
      const fake = new Fake(ok({ 'cache-control': 'max-age=60' }), failure);
      const s = fake.source();
      await kids(s);
      fake.now = 1060;
      assert.deepEqual(await kids(s), ['k1'], JSON.stringify(failure));
      assert.equal(s.fetches, 2);
      assert.equal(s.freshUntil, 1060, 'a failure renews nothing');
    }
  });

  test('odd header values from a fetcher are malformed, not an exception', async () => {
    // values that are not text are left out; names count in any case
    for (const [headers, fresh] of [[{ 'cache-control': 5 }, 300], [{ 'cache-control': null }, 300],
      [{ 'Cache-Control': 'max-age=50' }, 50], [{ age: Buffer.from('5'), 'cache-control': 'max-age=50' }, 50]]) {
      const s = new Fake(ok(headers)).source();
      assert.deepEqual(await kids(s), ['k1']);
      assert.equal(s.freshUntil, 1000 + fresh, JSON.stringify(headers));
    }
    assert.ok(await unavailable(new Fake({ status: 200, body: SET1, headers: null }).source()), 'headers that are not an object: a failed fetch');
  });

  test('never a good set fails closed and retries once per minRefreshInterval', async () => {
    const fake = new Fake(new Error('down'));
    const s = fake.source({ minRefreshInterval: 30 });
    assert.ok(await unavailable(s));
    fake.now = 1029.999;
    assert.ok(await unavailable(s));
    assert.equal(await s.refreshForUnknownKid(), false);
    assert.equal(s.fetches, 1);
    fake.now = 1030;
    fake.answers = [ok()];
    assert.deepEqual(await kids(s), ['k1']);
    assert.equal(s.fetches, 2);
  });

  test('must-revalidate fails closed once stale', async () => {
    const fake = new Fake(ok({ 'cache-control': 'max-age=60, must-revalidate' }), new Error('down'));
    const s = fake.source();
    await kids(s);
    fake.now = 1059.999;
    assert.deepEqual(await kids(s), ['k1']);
    fake.now = 1060;
    assert.ok(await unavailable(s));
  });

  test('an unknown-kid refresh renews freshness', async () => {
    const fake = new Fake(ok({ 'cache-control': 'max-age=60' }), ok({ 'cache-control': 'max-age=200' }, SET2));
    const s = fake.source();
    await kids(s);
    fake.now = 1040;
    assert.equal(await s.refreshForUnknownKid(), true);
    assert.deepEqual(await kids(s), ['k2']);
    assert.equal(s.freshUntil, 1240);
    fake.now = 1069.999;
    assert.equal(await s.refreshForUnknownKid(), false, 'minRefreshInterval since the last attempt');
  });

  test('a plain body from a fetcher is a 200 without headers', async () => {
    const s = new Fake(SET1).source();
    assert.deepEqual(await kids(s), ['k1']);
    assert.equal(s.freshUntil, 1300);
    assert.deepEqual(await kids(new Fake(SET1.toString()).source()), ['k1']);
  });

  test('no-cache with no minimum fetches for every call', async () => {
    const s = new Fake(ok({ 'cache-control': 'no-cache' })).source({ minRefreshInterval: 0 });
    for (let i = 0; i < 3; i++) assert.deepEqual(await kids(s), ['k1'], 'the set this call fetched serves it');
    assert.equal(s.fetches, 3);
  });
});

describe('jitter', () => {
  test('bounds across rng values', async () => {
    for (const r of [0, 0.25, 0.5, 0.999999]) {
      const s = new Fake(ok({ 'cache-control': 'max-age=300' })).source({ jitter: 0.1, rng: () => r });
      await kids(s);
      near(s.freshUntil - 1000, 300 - 30 * r, String(r));
      assert.ok(s.freshUntil - 1000 > 270 && s.freshUntil - 1000 <= 300);
    }
  });

  test('an rng that fails means no jitter', async () => {
    for (const rng of [() => { throw new Error('rng'); }, () => NaN, () => -0.5, () => '0.5']) {
      const s = new Fake(ok({ 'cache-control': 'max-age=300' })).source({ jitter: 0.1, rng });
      assert.deepEqual(await kids(s), ['k1']);
      assert.equal(s.freshUntil, 1300);
    }
  });

  test('fifty replicas do not refetch in the same second', async () => {
    // A fixed xorshift sequence, so this cannot flake.
    let x = 9111;
    const rng = () => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x / 2 ** 32; };
    const times = [];
    for (let i = 0; i < 50; i++) {
      const s = new Fake(ok({ 'cache-control': 'max-age=300' })).source({ jitter: 0.1, rng });
      await kids(s);
      times.push(s.freshUntil);
    }
    assert.ok(times.every((t) => t > 1270 && t <= 1300));
    assert.ok(new Set(times.map(Math.floor)).size >= 20, JSON.stringify(times));
  });

  test('the default rng stays within bounds', async () => {
    for (let i = 0; i < 200; i++) {
      const s = new Fake(ok({ 'cache-control': 'max-age=100' })).source({ jitter: 0.1, rng: Math.random });
      await kids(s);
      assert.ok(s.freshUntil - 1000 > 90 && s.freshUntil - 1000 <= 100);
    }
  });

  test('defaults', () => {
    const s = new JwksSource(URL_);
    assert.deepEqual([s.maxAge, s.minRefreshInterval, s.staleIfError, s.jitter], [300, 30, 3600, 0.1]);
  });
});

describe('configuration', () => {
  test('rejected values', () => {
    for (const o of [{ maxAge: -1 }, { minRefreshInterval: -0.5 }, { staleIfError: NaN }, { maxAge: Infinity }, { maxAge: '300' },
      { staleIfError: true }, { jitter: 1 }, { jitter: -0.1 }, { jitter: NaN }, { jitter: '0.1' }]) {
      assert.throws(() => new JwksSource(URL_, o), ConfigurationError, JSON.stringify(o));
    }
  });

  test('accepted edges', () => {
    const s = new JwksSource(URL_, { maxAge: 0, minRefreshInterval: 0, staleIfError: 0, jitter: 0.999 });
    assert.deepEqual([s.maxAge, s.jitter], [0, 0.999]);
  });
});

describe('parsing', () => {
  test('Cache-Control', () => {
    assert.deepEqual(parseCacheControl('a, B=1,c="x\\"y" ,,d'), [['a', null], ['b', '1'], ['c', 'x"y'], ['d', null]]);
    assert.deepEqual(parseCacheControl(''), []);
    for (const bad of ['a b', 'a=', '=1', 'a="x', 'a=1=2', 'a;b', 'a\n']) assert.equal(parseCacheControl(bad), null, bad);
  });

  test('the three HTTP-date formats agree', () => {
    const want = 784111777; // RFC 9110's example instant
    assert.equal(parseHttpDate('Sun, 06 Nov 1994 08:49:37 GMT'), want);
    assert.equal(parseHttpDate('Sunday, 06-Nov-94 08:49:37 GMT', 2026), want);
    assert.equal(parseHttpDate('Sun Nov  6 08:49:37 1994'), want);
    assert.equal(parseHttpDate('Thu, 01 Jan 1970 00:00:00 GMT'), 0);
    assert.equal(parseHttpDate('Wed, 31 Dec 1969 23:59:59 GMT'), -1);
  });

  test('rfc850 two-digit years', () => {
    // more than 50 years ahead: the most recent past year with those digits
    assert.equal(parseHttpDate('Wednesday, 01-Jan-76 00:00:00 GMT', 2026), parseHttpDate('Wed, 01 Jan 2076 00:00:00 GMT'));
    assert.equal(parseHttpDate('Saturday, 01-Jan-77 00:00:00 GMT', 2026), parseHttpDate('Sat, 01 Jan 1977 00:00:00 GMT'));
    assert.equal(parseHttpDate('Friday, 01-Jan-77 00:00:00 GMT', 2026), null, "2077's day name");
  });

  test('HTTP-date rejects', () => {
    for (const bad of ['Sun, 06 Nov 1994 08:49:37 gmt', 'Sun, 06 Nov 1994 08:60:37 GMT', 'Sun, 06 Nov 1994 08:49:61 GMT',
      'Sun,  06 Nov 1994 08:49:37 GMT', ' Sun, 06 Nov 1994 08:49:37 GMT', 'Sun, 31 Nov 1994 08:49:37 GMT',
      'Sun Nov 06 08:49:37 94', 'Sun Nov  6 08:49:37 1994 ', '0', '', 'Sun, 06 Nov 1994 08:49:37 +0000']) {
      assert.equal(parseHttpDate(bad), null, bad);
    }
  });
});

// The package's own fetcher against a local server: the headers it answers
// with reach the cache, If-None-Match goes out, a 304 comes back.
describe('over HTTP', () => {
  const serve = async (state) => {
    const server = http.createServer((req, res) => {
      state.hits += 1;
      let status = state.status;
      let body = JSON.stringify({ keys: [state.jwk] });
      const inm = req.headers['if-none-match'];
      if (inm !== undefined) {
        state.ifNoneMatch.push(inm);
        if (status === 200 && inm === state.headers.ETag) {
          status = 304;
          body = '';
          state.notModified += 1;
        }
      }
      res.writeHead(status, { 'content-type': 'application/json', ...state.headers });
      res.end(body);
    });
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    return server;
  };
  // A server answering as `state` says and a JwksSource for it on the clock `at`.
  const withServer = async (fn) => {
    const state = { hits: 0, status: 200, ifNoneMatch: [], notModified: 0, jwk: JSON.parse(SET1).keys[0],
      headers: { 'Cache-Control': 'public, max-age=120', ETag: '"set-1"' } };
    const at = { now: 1000 };
    const server = await serve(state);
    try {
      await fn(state, at, new JwksSource(`http://127.0.0.1:${server.address().port}/jwks.json`, { jitter: 0, clock: () => at.now }));
    } finally {
      await new Promise((r) => { server.closeAllConnections(); server.close(r); });
    }
  };

  test('Cache-Control and revalidation', () => withServer(async (state, at, s) => {
    assert.deepEqual(await kids(s), ['k1']);
    assert.equal(s.freshUntil, 1120);
    at.now = 1119.9;
    await kids(s);
    assert.equal(state.hits, 1);
    at.now = 1120;
    assert.deepEqual(await kids(s), ['k1']);
    assert.equal(state.hits, 2);
    assert.deepEqual(state.ifNoneMatch, ['"set-1"']);
    assert.equal(state.notModified, 1, 'answered 304');
    assert.equal(s.freshUntil, 1240);
  }));

  test('a server error keeps the last good set', () => withServer(async (state, at, s) => {
    await kids(s);
    state.status = 500;
    at.now = 1120;
    assert.deepEqual(await kids(s), ['k1']);
    assert.equal(s.freshUntil, 1120, 'not renewed');
    state.status = 200;
    state.headers = { 'Cache-Control': 'max-age=60' };
    at.now = 1150;
    await kids(s);
    assert.deepEqual([state.hits, s.freshUntil], [3, 1210]);
  }));
});
