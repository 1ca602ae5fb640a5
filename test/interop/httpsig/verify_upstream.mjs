// An upstream service that verifies the gateway's RFC 9421 signatures with
// the off-the-shelf npm http-message-signatures package, and the RFC 9530
// Content-Digest with node:crypto. Used by spec/e2e/httpsig_spec.lua.
//
// usage: node verify_upstream.mjs --port N --key KEYID=ALG:FILE... [--tag T]
//   FILE: a PEM public key, or for hmac-sha256 the secret's bytes.
// Answers 200 {verified, keyid, alg, covered, consumer, credential, body_bytes}
// or 401 {error}.
import { createHash, createPublicKey, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createVerifier, httpbis } from 'http-message-signatures';

const args = process.argv.slice(2);
const opt = (name) => { const i = args.indexOf(name); return i < 0 ? undefined : args[i + 1]; };
const keys = new Map();
args.forEach((a, i) => {
  if (a !== '--key') return;
  const [, id, alg, file] = args[i + 1].match(/^([^=]+)=([^:]+):(.+)$/);
  const bytes = readFileSync(file);
  keys.set(id, { alg, verify: createVerifier(alg === 'hmac-sha256' ? bytes : createPublicKey(bytes), alg) });
});
const tag = opt('--tag');

// The components every gateway signature must cover, whatever the route.
const REQUIRED = ['@method', '@target-uri', '@authority', 'content-digest'];

function digestMatches(header, body) {
  if (typeof header !== 'string') return false;
  const m = header.match(/(?:^|,\s*)sha-256=:([A-Za-z0-9+/=]+):/);
  if (!m) return false;
  const want = createHash('sha256').update(body).digest();
  const got = Buffer.from(m[1], 'base64');
  return got.length === want.length && timingSafeEqual(got, want);
}

const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', async () => {
    const body = Buffer.concat(chunks);
    const reply = (status, obj) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(obj));
    };
    let used = null;
    try {
      const ok = await httpbis.verifyMessage({
        requiredFields: REQUIRED,
        requiredParams: ['created', 'expires', 'nonce', 'keyid', 'alg'],
        keyLookup: async (p) => {
          const k = keys.get(p.keyid);
          if (!k || k.alg !== p.alg || (tag && p.tag !== tag)) return null;
          used = { keyid: p.keyid, alg: p.alg };
          return { id: p.keyid, algs: [k.alg], verify: k.verify };
        },
      }, { method: req.method, url: `http://${req.headers.host}${req.url}`, headers: req.headers });
      if (ok !== true) return reply(401, { error: `signature not verified (${ok})` });
    } catch (e) {
      return reply(401, { error: `${e.name}: ${e.message}` });
    }
    if (!digestMatches(req.headers['content-digest'], body)) return reply(401, { error: 'content-digest mismatch' });
    const input = String(req.headers['signature-input']);
    const covered = (input.match(/\(([^)]*)\)/) || [, ''])[1].split(' ').filter(Boolean).map((s) => s.replace(/"/g, ''));
    // Consumer headers are trusted only when the signature covers them.
    const trusted = (name) => (covered.includes(name) ? req.headers[name] : undefined);
    return reply(200, {
      verified: true, ...used, covered, body_bytes: body.length,
      consumer: { id: trusted('x-consumer-id'), username: trusted('x-consumer-username') },
      credential: trusted('x-credential-identifier'),
      jwt_header: req.headers['x-upstream-jwt'] ?? null,
    });
  });
});
server.listen(Number(opt('--port')), '127.0.0.1');
