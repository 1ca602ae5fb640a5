// The conformance vectors generated from the C++ core: this package must reach
// the core's verdict on every one (conformance/README.md).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { BodyHasher, InMemoryReplayStore, VerificationError, Verifier, makeKey } from '../src/index.js';

const VECTORS = process.env.UPSTREAM_JWT_VECTORS
  ?? fileURLToPath(new URL('../../../conformance/vectors.json', import.meta.url));

async function verdict(doc, v) {
  const keys = [];
  for (const k of doc.keysets[v.keyset]) {
    keys.push(await makeKey(k.alg, 'pem' in k ? k.pem : Buffer.from(k.secret_b64, 'base64'), k.kid));
  }
  const o = v.options;
  let replayStore = null;
  if (o.replay !== null) {
    replayStore = new InMemoryReplayStore(o.replay.capacity);
    for (const s of o.replay.seen) await replayStore.checkAndInsert(s.jti, s.expires_at, v.now).catch(() => {});
  }
  const verifier = new Verifier({
    keys, issuer: o.issuer, audience: o.audience, leeway: o.leeway, maxLifetime: o.max_lifetime,
    maxTokenLength: o.max_token_length, bind: o.bind, checkHeaders: o.check_headers,
    requiredHeaders: o.required_headers, replayStore,
  });
  const r = v.request;
  const body = new BodyHasher();
  const unit = Buffer.from(r.body_b64, 'base64');
  for (let i = 0; i < (r.body_repeat ?? 1); i++) body.update(unit);
  const request = {
    method: r.method,
    path: Buffer.from(r.path, 'utf8'),
    query: r.query === null ? null : Buffer.from(r.query, 'utf8'),
    bodySha256: body.b64(),
    headers: r.headers.map(([n, val]) => [Buffer.from(n, 'utf8'), Buffer.from(val, 'utf8')]),
  };
  try {
    await verifier.verify(v.token, request, { now: v.now });
    return '';
  } catch (e) {
    if (e instanceof VerificationError) return e.reason;
    return `error: ${e.message}`;
  }
}

test('every conformance vector matches the core', async () => {
  const doc = JSON.parse(readFileSync(VECTORS, 'utf8'));
  assert.equal(doc.version, 1, 'unsupported vectors version');
  const failures = [];
  for (const v of doc.vectors) {
    const want = v.expect.valid ? '' : v.expect.reason;
    const got = await verdict(doc, v);
    if (got !== want) failures.push(`${v.name}: core says ${want || 'valid'}, node says ${got || 'valid'}`);
  }
  assert.deepEqual(failures, []);
  assert.ok(doc.vectors.length > 100);
});
