// A verifying upstream built on the Node package (packages/node, Express
// middleware), keys from the gateway's JWKS URL only, for
// spec/e2e/jwks_rotation_spec.lua.
//
//   node jwks_verifier.mjs --port P --jwks-url URL --audience AUD --max-age S --min-refresh S
//
// Every verified request is answered 200 with {"kid": ...} (the kid of the
// token it accepted); a rejection is the package's own 401/503 answer.
// GET /__stats (not verified): {verified, rejected, reasons, kids, fetches},
// fetches being how many times the JWKS was fetched.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { JwksSource, Verifier } from '../../../packages/node/src/index.js';
import { upstreamJwt } from '../../../packages/node/src/express.js';

// Express is installed for the Node example service (make node-deps).
const express = createRequire(fileURLToPath(new URL('../../../examples/node/package.json', import.meta.url)))('express');

const { values: opt } = parseArgs({
  options: {
    port: { type: 'string' },
    'jwks-url': { type: 'string' },
    audience: { type: 'string' },
    'max-age': { type: 'string' },
    'min-refresh': { type: 'string' },
  },
});
for (const name of ['port', 'jwks-url', 'audience', 'max-age', 'min-refresh']) {
  if (opt[name] === undefined) {
    process.stderr.write(`jwks_verifier.mjs: --${name} is required\n`);
    process.exit(2);
  }
}

const jwks = new JwksSource(opt['jwks-url'], {
  maxAge: Number(opt['max-age']),
  minRefreshInterval: Number(opt['min-refresh']),
  onError: (e) => process.stderr.write(`jwks_verifier.mjs: JWKS fetch failed: ${e.message}\n`),
});
const verifier = new Verifier({ audience: opt.audience, jwks });
const counts = { verified: 0, rejected: 0, reasons: {}, kids: {} };

// Read after the middleware accepted the token: only which key signed it.
const tokenKid = (token) => JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString('utf8')).kid;

const app = express();
app.disable('x-powered-by');
app.get('/__stats', (req, res) => res.json({ ...counts, fetches: jwks.fetches }));
app.use(upstreamJwt(verifier, {
  exempt: ['/__stats'],
  onReject: (e) => {
    counts.rejected += 1;
    counts.reasons[e.reason] = (counts.reasons[e.reason] ?? 0) + 1;
  },
}));
app.use((req, res) => {
  const kid = tokenKid(req.get('x-upstream-jwt'));
  counts.verified += 1;
  counts.kids[kid] = (counts.kids[kid] ?? 0) + 1;
  res.json({ kid });
});

const server = app.listen(Number(opt.port), '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
