// RFC 9421 Appendix B with the RFC's keys, the Section 2 component examples,
// RFC 9530 Content-Digest examples, and the structured-field parser's
// strictness (what npm structured-headers lets through).
import assert from 'node:assert/strict';
import { createHmac, createPrivateKey, sign as cryptoSign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';

import { DigestHasher, HttpSigVerifier, VerificationError, signatureBase } from '../src/index.js';
import { componentsFrom, parseComponents } from '../src/httpsig-base.js';
import { parseDictionary, parseItem, parseList, serializeDictionary, serializeList, SfError } from '../src/sf.js';

const KEYS = new URL('../../../test/keys/rfc9421/', import.meta.url);
const key = (name) => readFileSync(new URL(name, KEYS));

const DIGEST_512 = 'sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:';
const BODY = Buffer.from('{"hello": "world"}');
const CREATED = 1618884473;

// RFC 9421 Appendix B.2 test-request, plus the signature fields given.
const testRequest = (extra = []) => ({
  method: 'POST',
  targetUri: 'http://example.com/foo?param=Value&Pet=dog',
  headers: [['Host', 'example.com'], ['Date', 'Tue, 20 Apr 2021 02:07:55 GMT'], ['Content-Type', 'application/json'],
    ['Content-Digest', DIGEST_512], ['Content-Length', '18'], ...extra],
  body: BODY,
});

// The RFC's examples carry no expires and need not cover the gateway's components.
async function rfcVerifier(alg, file, keyid) {
  return new HttpSigVerifier({ requiredComponents: [], requireExpires: false, leeway: 0 }).addKey(alg, key(file), keyid);
}

const B = {
  b21: ['sig-b21=();created=1618884473;keyid="test-key-rsa-pss";nonce="b3k2pp5k7z-50gnwp.yemd"',
    'sig-b21=:d2pmTvmbncD3xQm8E9ZV2828BjQWGgiwAaw5bAkgibUopemLJcWDy/lkbbHAve4cRAtx31Iq786U7it++wgGxbtRxf8Udx7zFZsckzXaJMkA7ChG52eSkFxykJeNqsrWH5S+oxNFlD4dzVuwe8DhTSja8xxbR/Z2cOGdCbzR72rgFWhzx2VjBqJzsPLMIQKhO4DGezXehhWwE56YCE+O6c0mKZsfxVrogUvA4HELjVKWmAvtl6UnCh8jYzuVG5WSb/QEVPnP5TmcAnLH1g+s++v6d4s8m0gCw1fV5/SITLq9mhho8K3+7EPYTU8IU1bLhdxO5Nyt8C8ssinQ98Xw9Q==:'],
  b22: ['sig-b22=("@authority" "content-digest" "@query-param";name="Pet");created=1618884473;keyid="test-key-rsa-pss";tag="header-example"',
    'sig-b22=:LjbtqUbfmvjj5C5kr1Ugj4PmLYvx9wVjZvD9GsTT4F7GrcQEdJzgI9qHxICagShLRiLMlAJjtq6N4CDfKtjvuJyE5qH7KT8UCMkSowOB4+ECxCmT8rtAmj/0PIXxi0A0nxKyB09RNrCQibbUjsLS/2YyFYXEu4TRJQzRw1rLEuEfY17SARYhpTlaqwZVtR8NV7+4UKkjqpcAoFqWFQh62s7Cl+H2fjBSpqfZUJcsIk4N6wiKYd4je2U/lankenQ99PZfB4jY3I5rSV2DSBVkSFsURIjYErOs0tFTQosMTAoxk//0RoKUqiYY8Bh0aaUEb0rQl3/XaVe4bXTugEjHSw==:'],
  b23: ['sig-b23=("date" "@method" "@path" "@query" "@authority" "content-type" "content-digest" "content-length");created=1618884473;keyid="test-key-rsa-pss"',
    'sig-b23=:bbN8oArOxYoyylQQUU6QYwrTuaxLwjAC9fbY2F6SVWvh0yBiMIRGOnMYwZ/5MR6fb0Kh1rIRASVxFkeGt683+qRpRRU5p2voTp768ZrCUb38K0fUxN0O0iC59DzYx8DFll5GmydPxSmme9v6ULbMFkl+V5B1TP/yPViV7KsLNmvKiLJH1pFkh/aYA2HXXZzNBXmIkoQoLd7YfW91kE9o/CCoC1xMy7JA1ipwvKvfrs65ldmlu9bpG6A9BmzhuzF8Eim5f8ui9eH8LZH896+QIF61ka39VBrohr9iyMUJpvRX2Zbhl5ZJzSRxpJyoEZAFL2FUo5fTIztsDZKEgM4cUA==:'],
  b25: ['sig-b25=("date" "@authority" "content-type");created=1618884473;keyid="test-shared-secret"',
    'sig-b25=:pxcQw6G3AjtMBQjwo8XzkZf/bws5LelbaMk5rGIGtE8=:'],
  b26: ['sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519"',
    'sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==:'],
};
const signed = ([input, sig]) => testRequest([['Signature-Input', input], ['Signature', sig]]);
const bytesOf = (sigMember) => Buffer.from(sigMember.slice(sigMember.indexOf(':') + 1, -1), 'base64');

describe('RFC 9421 Appendix B', () => {
  test('B.2.1 minimal, rsa-pss-sha512', async () => {
    const v = await rfcVerifier('rsa-pss-sha512', 'test-key-rsa-pss.pub.pem', 'test-key-rsa-pss');
    const r = await v.verify(signed(B.b21), { now: CREATED });
    assert.equal(r.base, '"@signature-params": ();created=1618884473;keyid="test-key-rsa-pss";nonce="b3k2pp5k7z-50gnwp.yemd"');
    assert.equal(r.nonce, 'b3k2pp5k7z-50gnwp.yemd');
    assert.equal(r.alg, 'rsa-pss-sha512');
  });

  test('B.2.2 selective, with @query-param and tag', async () => {
    const v = await rfcVerifier('rsa-pss-sha512', 'test-key-rsa-pss.pub.pem', 'test-key-rsa-pss');
    const r = await v.verify(signed(B.b22), { now: CREATED, tag: 'header-example' });
    assert.equal(r.base, `"@authority": example.com\n"content-digest": ${DIGEST_512}\n"@query-param";name="Pet": dog\n`
      + '"@signature-params": ("@authority" "content-digest" "@query-param";name="Pet");created=1618884473;keyid="test-key-rsa-pss";tag="header-example"');
    await assert.rejects(v.verify(signed(B.b22), { now: CREATED, tag: 'other' }), { reason: 'tag_mismatch' });
  });

  test('B.2.3 full coverage, key given as the private PEM; Content-Digest checked against the body', async () => {
    const v = await rfcVerifier('rsa-pss-sha512', 'test-key-rsa-pss.pem', 'test-key-rsa-pss');
    const r = await v.verify(signed(B.b23), { now: CREATED });
    assert.equal(r.base, `"date": Tue, 20 Apr 2021 02:07:55 GMT\n"@method": POST\n"@path": /foo\n"@query": ?param=Value&Pet=dog\n`
      + `"@authority": example.com\n"content-type": application/json\n"content-digest": ${DIGEST_512}\n"content-length": 18\n`
      + '"@signature-params": ("date" "@method" "@path" "@query" "@authority" "content-type" "content-digest" "content-length");created=1618884473;keyid="test-key-rsa-pss"');
    await assert.rejects(v.verify({ ...signed(B.b23), body: Buffer.from('{"hello": "world!"}') }, { now: CREATED }), { reason: 'digest_mismatch' });
  });

  test('B.2.4 response, ecdsa-p256-sha256', async () => {
    const v = await new HttpSigVerifier({ requiredComponents: ['@status'], requireExpires: false })
      .addKey('ecdsa-p256-sha256', key('test-key-ecc-p256.pub.pem'), 'test-key-ecc-p256');
    const res = {
      status: 200,
      headers: [['Date', 'Tue, 20 Apr 2021 02:07:56 GMT'], ['Content-Type', 'application/json'],
        ['Content-Digest', 'sha-512=:mEWXIS7MaLRuGgxOBdODa3xqM1XdEvxoYhvlCFJ41QJgJc4GTsPp29l5oGX69wWdXymyU0rjJuahq4l5aGgfLQ==:'],
        ['Content-Length', '23'],
        ['Signature-Input', 'sig-b24=("@status" "content-type" "content-digest" "content-length");created=1618884473;keyid="test-key-ecc-p256"'],
        ['Signature', 'sig-b24=:wNmSUAhwb5LxtOtOpNa6W5xj067m5hFrj0XQ4fvpaCLx0NKocgPquLgyahnzDnDAUy5eCdlYUEkLIj+32oiasw==:']],
      body: Buffer.from('{"message": "good dog"}'),
    };
    const r = await v.verify(res, { now: CREATED });
    assert.equal(r.alg, 'ecdsa-p256-sha256');
    assert.deepEqual(r.components, ['"@status"', '"content-type"', '"content-digest"', '"content-length"']);
  });

  test('B.2.5 hmac-sha256: base byte for byte, signature reproduced, verified', async () => {
    const secret = key('test-shared-secret.bin');
    const base = signatureBase(testRequest(), componentsFrom(['date', '@authority', 'content-type']),
      '("date" "@authority" "content-type");created=1618884473;keyid="test-shared-secret"');
    assert.equal(base, '"date": Tue, 20 Apr 2021 02:07:55 GMT\n"@authority": example.com\n"content-type": application/json\n'
      + '"@signature-params": ("date" "@authority" "content-type");created=1618884473;keyid="test-shared-secret"');
    assert.deepEqual(createHmac('sha256', secret).update(base).digest(), bytesOf(B.b25[1]));
    const v = await rfcVerifier('hmac-sha256', 'test-shared-secret.bin', 'test-shared-secret');
    assert.equal((await v.verify(signed(B.b25), { now: CREATED })).base, base);
  });

  test('B.2.6 ed25519: base byte for byte, signature reproduced, verified', async () => {
    const base = signatureBase(testRequest(), componentsFrom(['date', '@method', '@path', '@authority', 'content-type', 'content-length']),
      '("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519"');
    assert.equal(base, '"date": Tue, 20 Apr 2021 02:07:55 GMT\n"@method": POST\n"@path": /foo\n"@authority": example.com\n'
      + '"content-type": application/json\n"content-length": 18\n'
      + '"@signature-params": ("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519"');
    assert.deepEqual(cryptoSign(null, Buffer.from(base), createPrivateKey(key('test-key-ed25519.pem'))), bytesOf(B.b26[1]));
    const v = await rfcVerifier('ed25519', 'test-key-ed25519.pub.pem', 'test-key-ed25519');
    assert.equal((await v.verify(signed(B.b26), { now: CREATED })).keyid, 'test-key-ed25519');
  });

  test('a flipped bit in a covered field or in the signature is bad_signature', async () => {
    const v = await rfcVerifier('ed25519', 'test-key-ed25519.pub.pem', 'test-key-ed25519');
    const m = signed(B.b26);
    m.headers[2] = ['Content-Type', 'application/jsoN'];
    await assert.rejects(v.verify(m, { now: CREATED }), { reason: 'bad_signature' });
    const s = bytesOf(B.b26[1]);
    s[5] ^= 1;
    await assert.rejects(v.verify(signed([B.b26[0], `sig-b26=:${s.toString('base64')}:`]), { now: CREATED }), { reason: 'bad_signature' });
  });
});

describe('RFC 9421 Section 2 components', () => {
  test("a components list has no parameters of its own after ')' (as the C++ core and the Python package)", () => {
    assert.deepEqual(parseComponents('("@method" "@query-param";name="id")').map((it) => it.value.value), ['@method', '@query-param']);
    for (const text of ['("@method");p=1', '("@method");keyid="gw"', '();a']) {
      assert.throws(() => parseComponents(text), /no parameters after/, text);
    }
    for (const text of ['("@method" 1)', '(@method)']) assert.throws(() => parseComponents(text), text);
    // An identifier cannot close the list early to smuggle parameters in.
    for (const ids of [['@method;x=1);p=2'], ['a', 'b;x=1);y'], ['@method";p=1']]) assert.throws(() => componentsFrom(ids), ids.join());
  });

  const base = (msg, ids) => {
    try {
      return signatureBase(msg, componentsFrom(ids), '()');
    } catch (e) {
      assert.ok(e instanceof VerificationError, e.message);
      assert.equal(e.reason, 'bad_component');
      return `ERROR: ${e.message}`;
    }
  };
  const line = (msg, id) => base(msg, [id]).split('\n')[0];

  test('derived components', () => {
    const m = {
      method: 'GET',
      targetUri: 'https://WWW.Example.com:443/parameters?var=this%20is%20a%20big%0Amultiline%20value&'
        + 'bar=with+plus+whitespace&fa%C3%A7ade%22%3A%20=something&qux=&dup=1&dup=2',
      headers: [],
    };
    assert.equal(line(m, '@authority'), '"@authority": www.example.com');
    assert.equal(line(m, '@scheme'), '"@scheme": https');
    assert.equal(line(m, '@path'), '"@path": /parameters');
    assert.equal(line(m, '@method'), '"@method": GET');
    assert.equal(line(m, '@query-param;name="var"'), '"@query-param";name="var": this%20is%20a%20big%0Amultiline%20value');
    assert.equal(line(m, '@query-param;name="bar"'), '"@query-param";name="bar": with%20plus%20whitespace');
    assert.equal(line(m, '@query-param;name="fa%C3%A7ade%22%3A%20"'), '"@query-param";name="fa%C3%A7ade%22%3A%20": something');
    assert.equal(line(m, '@query-param;name="qux"'), '"@query-param";name="qux": ');
    assert.match(line(m, '@query-param;name="dup"'), /more than once/);
    assert.match(line(m, '@query-param;name="nope"'), /not present/);
    assert.match(line(m, '@query-param'), /parameter name is required/);
    const bare = { ...m, targetUri: 'http://www.example.com:8080' };
    assert.equal(base(bare, ['@authority', '@path', '@query', '@request-target']),
      '"@authority": www.example.com:8080\n"@path": /\n"@query": ?\n"@request-target": /\n"@signature-params": ()');
    const q = { ...m, targetUri: 'http://www.example.com/path?queryString' };
    assert.equal(base(q, ['@query', '@target-uri', '@request-target']),
      '"@query": ?queryString\n"@target-uri": http://www.example.com/path?queryString\n"@request-target": /path?queryString\n"@signature-params": ()');
    assert.match(line(m, '@status'), /for responses/);
    assert.match(line(m, '@unknown'), /unknown derived/);
    assert.match(line(m, '@method;req'), /req is for responses/);
    assert.match(line(m, '@signature-params'), /cannot be covered/);
    assert.match(base(m, ['@method', '@method']), /more than once/);
    assert.match(line(m, '@path;name="x"'), /does not apply/);
    assert.match(line(m, '@method;sf'), /does not apply/);
    assert.match(line({ ...m, method: '' }, '@method'), /no method/);
    for (const [uri, why] of [['http://user@www.example.com/', /userinfo/], ['/relative', /target URI/],
      ['http:///x', /empty authority/], ['http://a/b#frag', /fragment/], ['http://a/b c', /space/], ['http://a/\u00e9', /non-ASCII/]]) {
      assert.match(line({ ...m, targetUri: uri }, '@path'), why, uri);
    }
  });

  test('HTTP fields: trim, obs-fold, repeats, sf, key, bs', () => {
    const m = {
      method: 'GET',
      targetUri: 'https://www.example.com/',
      headers: [['Host', 'www.example.com'], ['X-OWS-Header', '   Leading and trailing whitespace.   '],
        ['X-Obs-Fold-Header', 'Obsolete\r\n    line folding.'], ['Cache-Control', 'max-age=60'],
        ['Cache-Control', '   must-revalidate'], ['Example-Dict', ' a=1,    b=2;x=1;y=2,   c=(a   b   c), d'],
        ['Example-Header', 'value, with, lots'], ['Example-Header', 'of, commas'], ['X-Empty-Header', ''],
        ['X-Ctl', 'a\x01z'], ['X-Bare-LF', 'a\nb'], ['X-Latin1', 'caf\xe9']],
    };
    assert.equal(line(m, 'x-ows-header'), '"x-ows-header": Leading and trailing whitespace.');
    assert.equal(line(m, 'x-obs-fold-header'), '"x-obs-fold-header": Obsolete line folding.');
    assert.equal(line(m, 'cache-control'), '"cache-control": max-age=60, must-revalidate');
    assert.equal(line(m, 'example-dict'), '"example-dict": a=1,    b=2;x=1;y=2,   c=(a   b   c), d');
    assert.equal(line(m, 'example-dict;sf'), '"example-dict";sf: a=1, b=2;x=1;y=2, c=(a b c), d');
    assert.equal(line(m, 'example-dict;key="a"'), '"example-dict";key="a": 1');
    assert.equal(line(m, 'example-dict;key="d"'), '"example-dict";key="d": ?1');
    assert.equal(line(m, 'example-dict;key="b"'), '"example-dict";key="b": 2;x=1;y=2');
    assert.equal(line(m, 'example-dict;key="c"'), '"example-dict";key="c": (a b c)');
    assert.equal(line(m, 'example-header;bs'), '"example-header";bs: :dmFsdWUsIHdpdGgsIGxvdHM=:, :b2YsIGNvbW1hcw==:');
    assert.equal(line(m, 'x-empty-header'), '"x-empty-header": ');
    assert.equal(line(m, 'x-ctl;bs'), '"x-ctl";bs: :YQF6:');
    assert.equal(line(m, 'x-latin1;bs'), '"x-latin1";bs: :Y2Fm6Q==:');
    assert.match(line(m, 'example-dict;key="zz"'), /no member/);
    assert.match(line(m, 'x-ows-header;key="a"'), /structured field/);
    assert.match(line(m, 'x-ows-header;sf'), /not known/);
    assert.match(line(m, 'example-header;bs;sf'), /cannot be combined/);
    assert.match(line(m, 'example-dict;bs;key="a"'), /cannot be combined/);
    assert.match(line(m, 'example-header;sf=?0'), /must be \?1/);
    assert.match(line(m, 'example-dict;key=a'), /must be a string/);
    assert.match(line(m, 'example-header;tr'), /trailers/);
    assert.match(line(m, 'example-header;foo'), /does not apply/);
    assert.match(line(m, 'x-missing'), /not in the message/);
    assert.match(line(m, 'x-ctl'), /control/);
    assert.match(line(m, 'x-bare-lf'), /control/);
    assert.match(line(m, 'x-latin1'), /non-ASCII/);
    assert.match(line(m, 'Content-Type'), /lowercase/);
  });

  test('components of the request a response answers (;req)', () => {
    const req = testRequest();
    const res = { status: 503, headers: [['Content-Type', 'text/plain']], request: req };
    assert.equal(base(res, ['@status', 'content-type', '@method;req', 'content-digest;req']),
      `"@status": 503\n"content-type": text/plain\n"@method";req: POST\n"content-digest";req: ${DIGEST_512}\n"@signature-params": ()`);
    assert.match(base({ ...res, request: undefined }, ['@method;req']), /no request/);
    assert.match(base(res, ['@method']), /add ;req/);
  });
});

describe('RFC 9530 Content-Digest', () => {
  const digest = (body, algs) => {
    const h = new DigestHasher(algs);
    for (let i = 0; i < body.length; i += 3) h.update(body.subarray(i, i + 3)); // the split must not matter
    return serializeDictionary(new Map(Object.entries(h.digests()).map(([a, d]) => [a, { kind: 'item', value: { type: 'bytes', value: d }, params: new Map() }])));
  };
  test('the RFC examples', () => {
    const hello = Buffer.from('{"hello": "world"}\n');
    assert.equal(digest(hello, ['sha-256']), 'sha-256=:RK/0qy18MlBSVnWgjwz6lZEWjP/lF5HF9bvEF8FabDg=:');
    assert.equal(digest(Buffer.alloc(0), ['sha-256']), 'sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:');
    assert.equal(digest(Buffer.from('"world"}\n'), ['sha-256']), 'sha-256=:jjcgBDWNAtbYUXI37CVG3gRuGOAjaaDRGpIUFsdyepQ=:');
    assert.equal(digest(hello, ['sha-256', 'sha-512']), 'sha-256=:RK/0qy18MlBSVnWgjwz6lZEWjP/lF5HF9bvEF8FabDg=:, '
      + 'sha-512=:YMAam51Jz/jOATT6/zvHrLVgOYTGFy1d6GJiOHTohq4yP+pgk4vf2aCsyRZOtw8MjkM7iw7yZ/WkppmM44T3qg==:');
    assert.equal(digest(BODY, ['sha-512']), DIGEST_512);
  });

  test('checked after the signature: every member we compute must match, one at least', async () => {
    const v = await rfcVerifier('hmac-sha256', 'test-shared-secret.bin', 'test-shared-secret');
    const withDigest = (cd, body = BODY) => {
      const m = signed(B.b25);
      m.headers[3] = ['Content-Digest', cd];
      return v.verify({ ...m, body }, { now: CREATED }).then(() => 'ok', (e) => e.reason);
    };
    assert.equal(await withDigest(DIGEST_512), 'ok');
    assert.equal(await withDigest(`md5=:AAAA:, ${DIGEST_512}`), 'ok'); // unknown members are ignored
    assert.equal(await withDigest(DIGEST_512, Buffer.concat([BODY, Buffer.from(' ')])), 'digest_mismatch');
    assert.equal(await withDigest(`sha-256=:RK/0qy18MlBSVnWgjwz6lZEWjP/lF5HF9bvEF8FabDg=:, ${DIGEST_512}`), 'digest_mismatch');
    assert.equal(await withDigest('md5=:AAAA:'), 'missing_digest');
    assert.equal(await withDigest(''), 'missing_digest');
    assert.equal(await withDigest('sha-512="x"'), 'malformed');
    assert.equal(await withDigest('sha-512=(:AAAA:)'), 'malformed');
    assert.equal(await withDigest('sha-512=:WZDP'), 'malformed');
    const m = signed(B.b25);
    m.headers.splice(3, 1);
    await assert.rejects(v.verify(m, { now: CREATED }), { reason: 'missing_digest' });
    assert.equal((await v.verify(m, { now: CREATED, checkDigest: false })).keyid, 'test-shared-secret');
  });
});

describe('structured fields: strict where the core is', () => {
  const fails = (fn, text) => assert.throws(() => fn(text), SfError, JSON.stringify(text));
  test('Byte Sequences only in canonical padded base64 (npm structured-headers accepts these)', () => {
    for (const t of ['a=:YQ:', 'a=:YR==:', 'a=:Y===:', 'a=:YQ=a:', 'a=:Y Q==:', 'a=:YQ==']) fails(parseDictionary, t);
    assert.deepEqual(parseDictionary('a=:YQ==:').get('a').value.value, Buffer.from('a'));
    assert.deepEqual(parseDictionary('a=::').get('a').value.value, Buffer.alloc(0));
  });

  test('numbers, strings, tokens, booleans, dates, display strings', () => {
    for (const t of ['1234567890123456', '1234567890123.1', '1.2345', '1.', '-', '?2', '"\u00e9"', '"a\\b"', '"unterminated',
      '%"%C3%A9"', '%"%c3"', '@1.5', '%x', 'a"', '(1 2', '(1,2)', '1;A=1', '\t1', '']) fails(parseItem, t);
    assert.equal(parseItem('123456789012345').value.value, 123456789012345);
    assert.equal(parseItem('-0').value.value, 0);
    assert.deepEqual(parseItem('1.5').value, { type: 'decimal', value: 1500 });
    assert.deepEqual(parseItem('%"caf%c3%a9"').value, { type: 'display', value: 'café' });
    assert.deepEqual(parseItem('@1659578233').value, { type: 'date', value: 1659578233 });
    assert.deepEqual(parseItem('foo/bar:baz').value, { type: 'token', value: 'foo/bar:baz' });
  });

  test('lists and dictionaries: separators, whitespace, duplicates', () => {
    for (const t of ['a=1,', 'a=1,,b=2', 'a=1 b=2', 'A=1', 'a=1, ', '1a=2']) fails(parseDictionary, t);
    assert.equal(serializeDictionary(parseDictionary(' a=1,\tb=2 ')), 'a=1, b=2');
    // A repeated key keeps its first position and its last value, as RFC 9651 and the core.
    assert.equal(serializeDictionary(parseDictionary('a=1, b=2, a=3')), 'a=3, b=2');
    assert.equal(serializeDictionary(parseDictionary('a;x=1;x=2')), 'a;x=2');
    // Signature-Input's parse: a repeated parameter (at any level) fails, a repeated key does not.
    const strict = { refuseRepeatedParameters: true };
    for (const t of ['a;x=1;x=2', 'a=("b";p;p)', 'a=("b");p=1;q;p=1', 'z=1, a=(1 2);k=?0;k=?0']) {
      assert.throws(() => parseDictionary(t, strict), SfError, t);
    }
    assert.equal(serializeDictionary(parseDictionary('a=1;x=1, a=("b";x);x=2', strict)), 'a=("b";x);x=2');
    assert.equal(serializeList(parseList('("x"  "y");p=?0, z;q')), '("x" "y");p=?0, z;q');
    assert.equal(serializeList(parseList('1.100, 2.0, -3.050')), '1.1, 2.0, -3.05');
    assert.deepEqual(parseDictionary(''), new Map());
  });
});
