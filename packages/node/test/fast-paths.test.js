// The fast paths of verify() (checked-header cache, compact-JSON parse,
// canonical base64url by the last character, HMAC with the imported secret)
// decide exactly as the strict code they stand in front of.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { VerificationError, Verifier } from '../src/index.js';
import { b64urlDecode, JsonDuplicate, JsonSyntax, parseJson } from '../src/strict.js';
import { SECRET, b64sha, claimsFor, token } from './support.js';

const GET = { method: 'GET', path: '/orders/42', query: null, bodySha256: b64sha(''), headers: [] };
const reason = async (p) => {
  try { await p; return 'valid'; } catch (e) { if (e instanceof VerificationError) return e.reason; throw e; }
};
const verifier = (kid = null) => new Verifier({ audience: 'orders' }).addKey('HS256', SECRET, kid);
const seg = (text) => Buffer.from(typeof text === 'string' ? text : JSON.stringify(text)).toString('base64url');
const parse = (text) => parseJson(Buffer.from(text));

describe('compact JSON', () => {
  test('compact documents parse', () => {
    const doc = { iss: 'kong', aud: ['a', 'b'], exp: 17, x: 1.5, n: null, t: true, o: { k: 'v:"q"\n' }, u: '\u00e9\u2028\u{1f600}' };
    assert.deepEqual(parse(JSON.stringify(doc)), doc);
  });
  test('duplicates in compact form are refused', () => {
    for (const t of ['{"a":1,"a":1}', '{"a":1,"a":2}', '{"o":{"b":1,"b":1}}', '[{"k":1,"k":1}]']) {
      assert.throws(() => parse(t), JsonDuplicate, t);
    }
  });
  test('non-finite numbers, lone surrogates and bad UTF-8 are refused', () => {
    for (const t of ['{"a":1e999}', '[-1e400]', '{"a":NaN}', '{"a":"\\ud800"}', '{"\\udc00":1}', '["x\\udbff"]']) {
      assert.throws(() => parse(t), JsonSyntax, t);
    }
    assert.throws(() => parseJson(Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d])), JsonSyntax);
    assert.deepEqual(parse('{"a":"\\ud83d\\ude00"}'), { a: '\u{1f600}' });
    assert.deepEqual(parseJson(Buffer.from('\ufeff{"a":1}')), { a: 1 });
  });
});

describe('base64url', () => {
  // Lenient decode, canonical only if re-encoding gives the text back.
  const reference = (t) => {
    const out = Buffer.from(t, 'base64url');
    return out.toString('base64url') === t ? out : null;
  };
  test('every last character after every length', () => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    for (const prefix of ['', 'A', '_-', 'AAAA', 'QUJD', 'QUJDR', 'QUJDRE', '_w']) {
      for (const c of alphabet) {
        const t = prefix + c;
        if (t.length % 4 === 1) assert.equal(b64urlDecode(t), null, t);
        else assert.deepEqual(b64urlDecode(t), reference(t), t);
      }
    }
    for (let n = 0; n < 40; n++) {
      const data = Buffer.from(Array.from({ length: n }, (_, i) => (200 + i) & 0xff));
      assert.deepEqual(b64urlDecode(data.toString('base64url')), data);
    }
  });
  test('padding, foreign characters and lengths', () => {
    for (const bad of ['AA==', 'AAA=', 'AA+A', 'AA/A', 'AAAAA', 'AA A', 'AA\nA', 'A', 'AA.A']) assert.equal(b64urlDecode(bad), null, bad);
    assert.deepEqual(b64urlDecode(''), Buffer.alloc(0));
  });
});

describe('checked-header cache', () => {
  test('a cached header still selects the key per verifier', async () => {
    const t = await token(claimsFor(), { kid: 'k1' });
    assert.equal(await reason((await verifier()).verify(t, GET)), 'valid');
    assert.equal(await reason((await verifier('k2')).verify(t, GET)), 'unknown_kid');
    assert.equal(await reason((await verifier('k1')).verify(t, GET)), 'valid');
  });
  test('a cached header does not vouch for the signature or the claims', async () => {
    const v = await verifier();
    const t = await token();
    assert.equal(await reason(v.verify(t, GET)), 'valid');
    const [h, p, s] = t.split('.');
    const short = Buffer.from(s, 'base64url').subarray(0, 31).toString('base64url');
    for (const bad of [`${h}.${p}.${s[0] === 'A' ? 'B' : 'A'}${s.slice(1)}`, `${h}.${p}.${short}`, `${h}.${seg(claimsFor())}.${s}`, `${h}.${p}.`]) {
      assert.equal(await reason(v.verify(bad, GET)), 'bad_signature', bad);
    }
    assert.equal(await reason(v.verify(`${h}.${p}.${s.slice(0, -1)}B`, GET)), 'bad_base64');
  });
  test('rejected headers are rejected every time', async () => {
    const v = await verifier();
    assert.equal(await reason(v.verify(await token(), GET)), 'valid');
    for (const [header, why] of [['{"alg":"HS256","alg":"HS256"}', 'bad_header'], ['{"alg":"none"}', 'alg_none'],
      ['{"alg":"HS256","kid":7}', 'bad_header'], ['{"alg":"HS256","typ":"jwt"}', 'bad_header'],
      ['{"alg":"HS256","crit":["x"]}', 'crit_unsupported'], ['{"alg":"HS999"}', 'alg_not_allowed'], ['{"alg":"HS256"', 'bad_header']]) {
      const t = `${seg(header)}.${seg(claimsFor())}.AAAA`;
      for (let i = 0; i < 2; i++) assert.equal(await reason(v.verify(t, GET)), why, header);
    }
  });
  test('many distinct headers keep verifying', async () => {
    const v = await verifier();
    for (let i = 0; i < 200; i++) assert.equal(await reason(v.verify(await token(claimsFor(), { kid: `kid-${i}` }), GET)), 'valid');
  });
});
