// Per-token CPU time of the Node verifier package against raw `jose` on the
// same token (bench only; bench/run section 6).
//
//     node bench/verifiers/bench_node.mjs SPEC.json
//
// SPEC as for bench_python.py. Prints one JSON line: per repetition,
// microseconds per verification for "ours" (upstream-jwt-verify's
// Verifier.verify: signature, claims, lifetime, iss, aud, method/path/query/
// body binding) and "raw" (jose.jwtVerify: signature, lifetime, iss, aud), in
// alternating order. Needs `npm ci` in packages/node (jose).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const pkg = path.join(here, '..', '..', 'packages', 'node');
const { Verifier } = await import(path.join(pkg, 'src', 'index.js'));
const jose = await import(createRequire(path.join(pkg, 'package.json')).resolve('jose'));

const spec = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const secret = Buffer.from(spec.secret);
const verifier = new Verifier({ audience: spec.audience });
await verifier.addKey('HS256', secret);
const request = { method: spec.method, path: spec.path, query: spec.query, bodySha256: spec.body_sha256 };

const ours = () => verifier.verify(spec.token, request, { now: spec.now });
// jose's clock is Date.now(); the token was minted just before this runs.
const raw = () => jose.jwtVerify(spec.token, secret, { algorithms: ['HS256'], audience: spec.audience, issuer: 'kong' });

const a = await ours();
const b = await raw();
if (a.jti !== b.payload.jti) throw new Error('the two verifiers disagree');

async function sample(fn) {
  const t0 = process.cpuUsage();
  const deadline = spec.target_ms * 1000;
  let n = 0;
  for (;;) {
    for (let i = 0; i < 100; i++) await fn();
    n += 100;
    const d = process.cpuUsage(t0);
    const us = d.user + d.system;
    if (us >= deadline) return us / n;
  }
}

// Warm-up: V8 optimises both paths before anything is kept.
await sample(ours);
await sample(raw);
const res = { ours: [], raw: [] };
for (let i = 0; i < spec.reps; i++) {
  const pair = i % 2 === 0 ? [['ours', ours], ['raw', raw]] : [['raw', raw], ['ours', ours]];
  for (const [name, fn] of pair) res[name].push(await sample(fn));
}
console.log(JSON.stringify(res));
