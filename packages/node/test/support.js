// Test helpers: plugin-shaped tokens (jose), raw HTTP requests, redis-server.
import { spawn } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import net from 'node:net';

import { SignJWT } from 'jose';

export const SECRET = Buffer.from('s'.repeat(32));
export const b64sha = (d) => createHash('sha256').update(d).digest('base64url');

export function claimsFor({ method = 'GET', path = '/orders/42', query = '', body = Buffer.alloc(0), now = Math.floor(Date.now() / 1000), ttl = 60, ...extra } = {}) {
  return {
    iss: 'kong', aud: 'orders', iat: now, nbf: now, exp: now + ttl, jti: randomUUID(), sub: 'alice-id',
    consumer: { id: 'alice-id', username: 'alice' }, htm: method, htu: path,
    query_sha256: b64sha(Buffer.from(query)), body_sha256: b64sha(body), ...extra,
  };
}

export async function token(claims = claimsFor(), { key = SECRET, alg = 'HS256', kid } = {}) {
  return new SignJWT(claims).setProtectedHeader({ alg, typ: 'JWT', ...(kid ? { kid } : {}) }).sign(key);
}

// A loopback port nothing listens on, for a process that binds it later. The kernel may give a
// port it just handed out and saw released again, so two calls before either process binds could
// collide: never the same twice.
const handedOut = new Set();
export async function freePort() {
  for (;;) {
    const port = await new Promise((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const { port: p } = s.address();
        s.close(() => resolve(p));
      });
    });
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}

// The timeout only bounds a hang: a process starting on a loaded machine may need many seconds.
export async function waitPort(port, ms = 60000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const ok = await new Promise((resolve) => {
      const c = net.connect(port, '127.0.0.1', () => { c.destroy(); resolve(true); });
      c.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing listens on ${port}`);
}

// Sends the request line exactly as given (raw bytes: non-ASCII, //x); returns
// { status, json }.
export function rawRequest(port, method, target, headers = [], body = Buffer.alloc(0)) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    const chunks = [];
    let head = Buffer.concat([Buffer.from(`${method} `), Buffer.from(target), Buffer.from(' HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n')]);
    for (const [n, v] of headers) head = Buffer.concat([head, Buffer.from(`${n}: ${v}\r\n`)]);
    head = Buffer.concat([head, Buffer.from(`Content-Length: ${body.length}\r\n\r\n`)]);
    sock.on('error', (e) => (chunks.length ? null : reject(e)));
    sock.on('data', (d) => chunks.push(d));
    sock.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const status = Number(text.split(' ')[1]);
      const payload = text.slice(text.indexOf('\r\n\r\n') + 4);
      let json = null;
      try { json = JSON.parse(payload); } catch { json = payload; }
      resolve({ status, json });
    });
    sock.write(head);
    sock.write(body, () => {});
  });
}

export async function startRedis() {
  const port = await freePort();
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  await waitPort(port);
  return { url: `redis://127.0.0.1:${port}/0`, stop: () => new Promise((r) => { proc.once('exit', r); proc.kill('SIGTERM'); }) };
}
