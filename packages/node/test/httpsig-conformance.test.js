// The RFC 9421 conformance vectors (conformance/httpsig_vectors.json,
// generated from the C++ core): this package must reach the core's verdict,
// reason and, on success, every reported field on each one.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import { HttpSigVerifier, VerificationError } from '../src/index.js';

const doc = JSON.parse(readFileSync(new URL('../../../conformance/httpsig_vectors.json', import.meta.url), 'utf8'));
// JSON text is Unicode; the message is bytes (UTF-8), one char per byte here.
const bytes = (s) => Buffer.from(s, 'utf8').toString('latin1');

test('the vector file is the agreed format', () => {
  assert.equal(doc.format, 'upstream-jwt httpsig conformance vectors');
  assert.equal(doc.version, 1);
  assert.ok(doc.vectors.length > 0);
});

const verifiers = new Map();
async function verifierFor(name) {
  if (!verifiers.has(name)) {
    const v = new HttpSigVerifier();
    for (const k of doc.keysets[name]) await v.addKey(k.alg, k.pem ?? Buffer.from(k.secret_b64, 'base64'), k.keyid);
    verifiers.set(name, v);
  }
  return verifiers.get(name);
}

for (const vec of doc.vectors) {
  test(vec.name, async () => {
    const v = await verifierFor(vec.keyset);
    const { request: r, options: o } = vec;
    const body = Buffer.concat(Array(r.body_repeat ?? 1).fill(Buffer.from(r.body_b64, 'base64')));
    const msg = { method: bytes(r.method), targetUri: bytes(r.url), headers: r.headers.map(([n, val]) => [bytes(n), bytes(val)]), body };
    let got;
    try {
      const s = await v.verify(msg, {
        now: vec.now, label: o.label, leeway: o.leeway, maxAge: o.max_age, requireCreated: o.require_created,
        requireExpires: o.require_expires, requiredComponents: o.required_components, tag: o.tag, checkDigest: o.check_digest,
      });
      got = { valid: true, label: s.label, keyid: s.keyid, alg: s.alg, created: s.created, expires: s.expires, nonce: s.nonce, tag: s.tag, components: s.components };
    } catch (e) {
      if (!(e instanceof VerificationError)) throw e;
      got = { valid: false, reason: e.reason, detail: e.detail };
    }
    if (!vec.expect.valid) assert.deepEqual({ valid: got.valid, reason: got.reason }, vec.expect, got.detail);
    else assert.deepEqual(got, vec.expect);
  });
}
