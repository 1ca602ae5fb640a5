// Verifier.fromEnv / HttpSigVerifier.fromEnv: every UPSTREAM_JWT_* variable,
// its default, an empty value, and every malformed value. The cases live in
// the Python package's tests/env_cases.json, which its test_env.py runs too,
// so both packages read the environment the same way.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import { ConfigurationError, HttpSigVerifier, Verifier } from '../src/index.js';

const DOC = JSON.parse(readFileSync(new URL('../../python/tests/env_cases.json', import.meta.url), 'utf8'));
const SECRET = 's'.repeat(32);
const CAMEL = { max_age: 'maxAge', max_lifetime: 'maxLifetime', required_components: 'requiredIds' };

const environment = (c) => Object.fromEntries(
  Object.entries({ ...DOC.base, ...c.env }).map(([k, v]) => [k, v === 'SECRET' ? SECRET : v]),
);

function settings(v, wanted) {
  const got = {};
  for (const name of Object.keys(wanted)) {
    got[name] = name === 'keys' ? v.keys.map((k) => [k.keyid, k.alg]).sort() : v[CAMEL[name] ?? name];
  }
  return got;
}

for (const c of DOC.cases) {
  test(`fromEnv: ${c.name}`, async () => {
    const env = environment(c);
    if ('error' in c) {
      const e = await Verifier.fromEnv(env).then(() => null, (x) => x);
      assert.ok(e instanceof ConfigurationError, `expected a ConfigurationError, got ${e}`);
      assert.ok(e.message.startsWith(c.error), e.message);
      return;
    }
    const v = await Verifier.fromEnv(env);
    const httpsig = (env.UPSTREAM_JWT_FORMAT || 'jwt') === 'http-message-signature';
    assert.ok(v instanceof (httpsig ? HttpSigVerifier : Verifier));
    const expect = { ...c.expect };
    if (expect.required_components === 'gateway_components') expect.required_components = DOC.gateway_components;
    assert.deepEqual(settings(v, expect), expect);
  });
}

test('HttpSigVerifier.fromEnv reads the same variables without UPSTREAM_JWT_FORMAT', async () => {
  const v = await HttpSigVerifier.fromEnv({
    UPSTREAM_JWT_SECRET: SECRET, UPSTREAM_JWT_SIGNATURE_TAG: 'orders', UPSTREAM_JWT_REQUIRED_COMPONENTS: '@method',
  });
  assert.deepEqual([v.tag, v.requiredIds], ['orders', ['"@method"']]);
  await assert.rejects(HttpSigVerifier.fromEnv({ UPSTREAM_JWT_SECRET: SECRET, UPSTREAM_JWT_MAX_AGE: '1e3' }), ConfigurationError);
});

test('options override the environment, but a malformed variable is still refused', async () => {
  const env = environment({ env: { UPSTREAM_JWT_LEEWAY: '9' } });
  assert.equal((await Verifier.fromEnv(env, { leeway: 1 })).leeway, 1);
  await assert.rejects(Verifier.fromEnv({ ...env, UPSTREAM_JWT_LEEWAY: 'x' }, { leeway: 1 }), ConfigurationError);
});
