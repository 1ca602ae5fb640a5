// Differential check against the C++ core: messages signed by the CLI, then
// their Signature-Input, Signature and Content-Digest values mutated at
// random (seeded, so a failure reproduces), verified by `upstream-jwt
// httpsig verify` and by this package. Both must reach the same verdict and
// the same reason on every one.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

import { HttpSigVerifier, VerificationError } from '../src/index.js';
import { CLI, cliSign, hasCli, makeKeys } from './httpsig-support.js';

const CASES = 300;
const KEYS = makeKeys();
const NOW = 1767225600;
const URL_ = 'http://orders.internal:8080/v1/orders?id=7&note=a+b';
const BODY = Buffer.from('{"item":"book","qty":2}');
const HEADERS = [['Content-Type', 'application/json'], ['X-Consumer-ID', 'c-1']];
const COMPONENTS = '("@method" "@target-uri" "@authority" "content-digest" "content-type" "x-consumer-id" "@query-param";name="id")';
const REQUIRE = '("@method" "@target-uri" "@authority" "content-digest")';
const ALPHABET = ' \t"();=,:*aZ09-._?@%/+\\';

// mulberry32: a small seeded PRNG.
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function mutate(value, rnd) {
  const i = Math.floor(rnd() * value.length);
  const c = ALPHABET[Math.floor(rnd() * ALPHABET.length)];
  switch (Math.floor(rnd() * 4)) {
    case 0: return value.slice(0, i) + c + value.slice(i + 1);
    case 1: return value.slice(0, i) + value.slice(i + 1);
    case 2: return value.slice(0, i) + c + value.slice(i);
    default: {
      const j = i + Math.floor(rnd() * 12);
      return value.slice(0, j) + value.slice(i, j) + value.slice(j);
    }
  }
}

test('the package and the core CLI agree on mutated signatures', { skip: !hasCli && 'build/upstream-jwt not built' }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hsnode-diff-'));
  const keyFile = join(dir, 'secret');
  writeFileSync(keyFile, KEYS['hmac-sha256'].priv);
  writeFileSync(join(dir, 'body'), BODY);
  const v = await new HttpSigVerifier({ tag: 'orders' }).addKey('hmac-sha256', KEYS['hmac-sha256'].pub, 'gw');
  const signed = [...HEADERS, ...cliSign({
    alg: 'hmac-sha256', keyPem: KEYS['hmac-sha256'].priv, keyid: 'gw', components: COMPONENTS, method: 'POST', url: URL_,
    headers: HEADERS, body: BODY, created: NOW, tag: 'orders',
  })];
  const rnd = prng(0x9421);
  const reasons = new Map();
  for (let n = 0; n < CASES; n++) {
    const target = ['Signature-Input', 'Signature', 'Content-Digest'][n % 3];
    let headers = signed.map(([name, value]) => [name, name === target ? mutate(value, rnd) : value]);
    if (rnd() < 0.2) headers = headers.map(([name, value]) => [name, name === target ? mutate(value, rnd) : value]);
    // Both sides see values trimmed of spaces and tabs (the CLI's header file, Node's parser).
    headers = headers.map(([name, value]) => [name, value.replace(/^[ \t]+|[ \t]+$/g, '')]);
    writeFileSync(join(dir, 'headers'), headers.map(([name, value]) => `${name}: ${value}\n`).join(''));
    const cli = spawnSync(CLI, ['httpsig', 'verify', '--alg', 'hmac-sha256', '--key', keyFile, '--keyid', 'gw', '--method', 'POST',
      '--url', URL_, '--headers', join(dir, 'headers'), '--body', join(dir, 'body'), '--now', String(NOW), '--leeway', '5',
      '--require', REQUIRE, '--tag', 'orders', '--require-expires'], { encoding: 'latin1' });
    assert.ok(cli.status === 0 || cli.status === 1, `CLI exit ${cli.status}: ${cli.stderr}`);
    const core = cli.status === 0 ? 'valid' : /invalid signature: ([a-z_]+)/.exec(cli.stderr)?.[1];
    let ours;
    try {
      await v.verify({ method: 'POST', targetUri: URL_, headers, body: BODY }, { now: NOW });
      ours = 'valid';
    } catch (e) {
      if (!(e instanceof VerificationError)) throw e;
      ours = e.reason;
    }
    assert.equal(ours, core, `case ${n}, ${target}: ${headers.find(([name]) => name === target)[1]}`);
    reasons.set(core, (reasons.get(core) ?? 0) + 1);
  }
  // The mutations must reach more than one kind of verdict, or the test proves little.
  assert.ok(reasons.size >= 4, JSON.stringify([...reasons]));
});
