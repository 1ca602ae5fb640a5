// CPU time per RFC 9421 verification of a gateway-shaped request: this
// package's HttpSigVerifier.verify (every check, Content-Digest against the
// body's precomputed digest) against http-message-signatures' verifyMessage
// (signature only) on the same message. Not a test: timings vary by machine.
//
//   node bench/httpsig-verify.mjs [seconds per sample, default 0.3]
import { createHash, createPublicKey } from 'node:crypto';
import { createVerifier, httpbis } from 'http-message-signatures';

import { HttpSigVerifier } from '../src/index.js';
import { makeKeys, signMessage } from '../test/httpsig-support.js';

const SAMPLE = Number(process.argv[2] ?? 0.3);
const KEYS = makeKeys();
const BODY = Buffer.from('{"item":"book","qty":2}');
const NOW = Math.floor(Date.now() / 1000);
const COMPONENTS = ['@method', '@target-uri', '@authority', 'content-digest', 'content-type', 'x-consumer-id', 'x-consumer-username', 'x-credential-identifier'];
const base = {
  method: 'POST',
  targetUri: 'http://orders.internal:8080/v1/orders?id=7',
  headers: [['Host', 'orders.internal:8080'], ['Content-Type', 'application/json'],
    ['Content-Digest', `sha-256=:${createHash('sha256').update(BODY).digest('base64')}:`],
    ['X-Consumer-ID', '5a1c3e00-0000-4000-8000-00000000a11c'], ['X-Consumer-Username', 'alice'],
    ['X-Credential-Identifier', '6b3a2a4e-0000-4000-8000-0000000000c1']],
};

async function perOpAsync(fn) {
  const start = process.cpuUsage();
  let n = 0;
  const t0 = process.hrtime.bigint();
  while (Number(process.hrtime.bigint() - t0) < SAMPLE * 1e9) { await fn(); n += 1; }
  const used = process.cpuUsage(start);
  return (used.user + used.system) / n;
}
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

console.log('alg                 ours (us)  http-message-signatures (us)  ratio');
for (const alg of ['hmac-sha256', 'ed25519', 'ecdsa-p256-sha256', 'rsa-pss-sha512']) {
  const params = { created: NOW, expires: NOW + 60, keyid: 'gw', alg, nonce: 'yJ1l4m1ZJ0S5p5wq3b2Y3g', tag: 'orders' };
  const msg = signMessage(base, { alg, key: KEYS[alg].priv, components: COMPONENTS, params });
  const digests = { 'sha-256': createHash('sha256').update(BODY).digest() };
  const ours = await new HttpSigVerifier({ tag: 'orders' }).addKey(alg, KEYS[alg].pub, 'gw');
  const pub = alg === 'hmac-sha256' ? KEYS[alg].pub : createPublicKey(KEYS[alg].pub);
  const theirKey = { id: 'gw', algs: [alg], verify: createVerifier(pub, alg) };
  const theirMsg = { method: msg.method, url: msg.targetUri, headers: Object.fromEntries(msg.headers.map(([n, v]) => [n.toLowerCase(), v])) };
  const theirs = () => httpbis.verifyMessage({ keyLookup: async () => theirKey, requiredFields: ['@method', '@target-uri', '@authority', 'content-digest'] }, theirMsg);
  // Both must accept the message, or the timing means nothing.
  await ours.verify({ ...msg, digests });
  if ((await theirs()) !== true) throw new Error(`http-message-signatures did not verify ${alg}`);
  const a = [];
  const b = [];
  for (let i = 0; i < 7; i += 1) {
    a.push(await perOpAsync(() => ours.verify({ ...msg, digests })));
    b.push(await perOpAsync(theirs));
  }
  console.log(`${alg.padEnd(20)}${median(a).toFixed(1).padStart(9)}${median(b).toFixed(1).padStart(30)}${(median(a) / median(b)).toFixed(2).padStart(7)}x`);
}
