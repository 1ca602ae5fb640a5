// Two-way RFC 9421 interop between libupstream_jwt (through `upstream-jwt
// httpsig`, i.e. the C ABI) and the independent npm implementation
// http-message-signatures, for every algorithm both speak:
//   1. http-message-signatures signs, upstream-jwt verifies (and rejects the
//      same message once tampered with);
//   2. upstream-jwt signs, http-message-signatures verifies (and rejects the
//      tampered message).
// usage: node interop.mjs --cli build/upstream-jwt --keys test/keys/rfc9421
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, createPrivateKey, createPublicKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSigner, createVerifier, httpbis } from 'http-message-signatures';

const arg = (name) => {
  const i = process.argv.indexOf(name);
  if (i < 0 || i + 1 >= process.argv.length) throw new Error(`missing ${name}`);
  return process.argv[i + 1];
};
const cli = arg('--cli');
const keys = arg('--keys');
const work = mkdtempSync(join(tmpdir(), 'httpsig-interop-'));

const ALGS = [
  { alg: 'hmac-sha256', priv: 'test-shared-secret.bin', pub: 'test-shared-secret.bin' },
  { alg: 'ed25519', priv: 'test-key-ed25519.pem', pub: 'test-key-ed25519.pub.pem' },
  { alg: 'ecdsa-p256-sha256', priv: 'test-key-ecc-p256.pem', pub: 'test-key-ecc-p256.pub.pem' },
  { alg: 'rsa-pss-sha512', priv: 'test-key-rsa-pss.pem', pub: 'test-key-rsa-pss.pub.pem' },
  { alg: 'rsa-v1_5-sha256', priv: 'test-key-rsa.pem', pub: 'test-key-rsa.pub.pem' },
];

// Everything the gateway covers, plus the derived components and parameters
// the two implementations must agree on.
const COMPONENTS = [
  '@method', '@target-uri', '@authority', '@scheme', '@path', '@query', '@query-param;name="id"',
  'content-type', 'content-digest', 'x-consumer-id', 'x-consumer-username',
];
const URL_ = 'https://API.example:8443/orders/42?id=7&note=a+b%21';
const BODY = Buffer.from('{"item":"book","qty":2}\n');
const HEADERS = {
  host: 'api.example:8443',
  'content-type': 'application/json',
  'content-digest': `sha-256=:${createHash('sha256').update(BODY).digest('base64')}:`,
  'x-consumer-id': '8c9e1f9a-0000-4000-8000-000000000001',
  'x-consumer-username': 'alice',
};

let failed = 0;
const check = (name, ok, detail = '') => {
  if (ok) console.log(`ok   ${name}`);
  else { failed += 1; console.log(`FAIL ${name} ${detail}`); }
};

const keyBytes = (file) => readFileSync(join(keys, file));
const nodeSigningKey = ({ alg, priv }) => (alg === 'hmac-sha256' ? keyBytes(priv) : createPrivateKey(keyBytes(priv)));
const nodeVerifyingKey = ({ alg, pub }) => (alg === 'hmac-sha256' ? keyBytes(pub) : createPublicKey(keyBytes(pub)));

const headerFile = (headers) => {
  const file = join(work, 'headers');
  writeFileSync(file, Object.entries(headers).map(([k, v]) => `${k}: ${v}`).join('\n') + '\n');
  return file;
};

const cliVerify = (c, method, headers) => spawnSync(cli, [
  'httpsig', 'verify', '--alg', c.alg, '--key', join(keys, c.pub), '--keyid', `interop-${c.alg}`,
  '--method', method, '--url', URL_, '--headers', headerFile(headers), '--body', join(work, 'body'),
  '--require', '("@method" "@target-uri" "content-digest")', '--tag', 'interop',
], { encoding: 'utf8' });

writeFileSync(join(work, 'body'), BODY);
try {
  for (const c of ALGS) {
    // 1. npm signs, we verify.
    const signed = await httpbis.signMessage({
      key: createSigner(nodeSigningKey(c), c.alg, `interop-${c.alg}`),
      name: 'npm',
      fields: COMPONENTS,
      params: ['created', 'expires', 'keyid', 'alg', 'nonce', 'tag'],
      paramValues: { nonce: `n-${c.alg}`, tag: 'interop' },
    }, { method: 'POST', url: URL_, headers: { ...HEADERS } });
    let r = cliVerify(c, 'POST', signed.headers);
    check(`${c.alg}: http-message-signatures -> upstream-jwt`, r.status === 0, `exit ${r.status}: ${r.stderr}`);
    r = cliVerify(c, 'PUT', signed.headers);
    check(`${c.alg}: tampered http-message-signatures signature rejected`,
      r.status === 1 && r.stderr.includes('bad_signature'), `exit ${r.status}: ${r.stderr}`);

    // 2. we sign, npm verifies.
    const args = ['httpsig', 'sign', '--alg', c.alg, '--key', join(keys, c.priv), '--keyid', `interop-${c.alg}`,
      '--label', 'gw', '--components', `(${COMPONENTS.map((id) => {
        const semi = id.indexOf(';');
        return semi < 0 ? `"${id}"` : `"${id.slice(0, semi)}"${id.slice(semi)}`;
      }).join(' ')})`,
      '--method', 'POST', '--url', URL_, '--body', join(work, 'body'), '--ttl', '60', '--random-nonce',
      '--tag', 'interop', '--include-alg'];
    for (const [k, v] of Object.entries(HEADERS)) if (k !== 'content-digest') args.push('--header', `${k}: ${v}`);
    const out = execFileSync(cli, args, { encoding: 'utf8' });
    const headers = { ...HEADERS };
    for (const line of out.trim().split('\n')) {
      const i = line.indexOf(': ');
      headers[line.slice(0, i).toLowerCase()] = line.slice(i + 2);
    }
    check(`${c.alg}: our Content-Digest equals the npm side's`, headers['content-digest'] === HEADERS['content-digest'],
      headers['content-digest']);
    const keyLookup = async (params) => (params.keyid === `interop-${c.alg}` && params.alg === c.alg
      ? { id: params.keyid, algs: [c.alg], verify: createVerifier(nodeVerifyingKey(c), c.alg) } : null);
    const verifyWith = async (method) => {
      try {
        return await httpbis.verifyMessage({
          keyLookup, requiredFields: ['@method', '@target-uri', 'content-digest'], requiredParams: ['created', 'expires', 'nonce', 'tag'],
        }, { method, url: URL_, headers });
      } catch (e) {
        return `threw ${e.name}: ${e.message}`;
      }
    };
    let v = await verifyWith('POST');
    check(`${c.alg}: upstream-jwt -> http-message-signatures`, v === true, String(v));
    v = await verifyWith('PUT');
    check(`${c.alg}: tampered upstream-jwt signature rejected`, v !== true, String(v));
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
console.log(failed === 0 ? 'interop: all passed' : `interop: ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
