// RFC 9421 test helpers: keys of every algorithm, a signer over this
// package's signature base (the RFC and CLI tests pin the base itself), and
// the project's CLI.
import { execFileSync } from 'node:child_process';
import {
  constants, createHash, createHmac, generateKeyPairSync, sign as cryptoSign,
} from 'node:crypto';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { signatureBase } from '../src/index.js';
import { componentsFrom } from '../src/httpsig-base.js';

export const CLI = new URL('../../../build/upstream-jwt', import.meta.url).pathname;
export const hasCli = existsSync(CLI);

const pem = (k) => k.export({ type: 'pkcs8', format: 'pem' });
const pub = (k) => k.export({ type: 'spki', format: 'pem' });

// alg -> { priv (PEM, or the secret), pub (PEM, or the secret) }
export function makeKeys() {
  const secret = Buffer.from('0123456789abcdef0123456789abcdef');
  const out = { 'hmac-sha256': { priv: secret, pub: secret } };
  for (const [alg, type, opts] of [['ed25519', 'ed25519', {}], ['ecdsa-p256-sha256', 'ec', { namedCurve: 'P-256' }],
    ['rsa-pss-sha512', 'rsa', { modulusLength: 2048 }], ['rsa-v1_5-sha256', 'rsa', { modulusLength: 2048 }]]) {
    const { privateKey, publicKey } = generateKeyPairSync(type, opts);
    out[alg] = { priv: pem(privateKey), pub: pub(publicKey) };
  }
  return out;
}

export function rawSign(alg, key, base) {
  const data = Buffer.from(base, 'latin1');
  switch (alg) {
    case 'hmac-sha256': return createHmac('sha256', key).update(data).digest();
    case 'ed25519': return cryptoSign(null, data, key);
    case 'ecdsa-p256-sha256': return cryptoSign('sha256', data, { key, dsaEncoding: 'ieee-p1363' });
    case 'rsa-pss-sha512': return cryptoSign('sha512', data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 64 });
    default: return cryptoSign('sha256', data, { key, padding: constants.RSA_PKCS1_PADDING });
  }
}

export const contentDigest = (body) => `sha-256=:${createHash('sha256').update(body).digest('base64')}:`;

// Adds Signature-Input/Signature to msg (a copy). params: an ordered object
// written as given (created, expires, keyid, alg, nonce, tag, or anything);
// numbers are Integers, strings Strings.
export function signMessage(msg, { alg, key, label = 'kong', components, params }) {
  const items = componentsFrom(components);
  const ser = (v) => (typeof v === 'number' ? String(v) : `"${v}"`);
  const inner = `(${components.map((c) => { const i = c.indexOf(';'); return i < 0 ? `"${c}"` : `"${c.slice(0, i)}"${c.slice(i)}`; }).join(' ')})`
    + Object.entries(params).map(([k, v]) => `;${k}=${ser(v)}`).join('');
  const base = signatureBase(msg, items, inner);
  const sig = rawSign(alg, key, base).toString('base64');
  return { ...msg, headers: [...msg.headers, ['Signature-Input', `${label}=${inner}`], ['Signature', `${label}=:${sig}:`]], base };
}

// `upstream-jwt httpsig sign`: the header lines it prints, as pairs.
export function cliSign({ alg, keyPem, keyid, label = 'kong', components, method, url, headers = [], body = null, created, ttl = 60, tag = null }) {
  const dir = mkdtempSync(join(tmpdir(), 'hsnode-'));
  const keyFile = join(dir, 'key');
  writeFileSync(keyFile, keyPem);
  const args = ['httpsig', 'sign', '--alg', alg, '--key', keyFile, '--label', label, '--components', components,
    '--method', method, '--url', url, '--created', String(created), '--ttl', String(ttl), '--random-nonce', '--include-alg'];
  if (keyid) args.push('--keyid', keyid);
  if (tag) args.push('--tag', tag);
  for (const [n, v] of headers) args.push('--header', `${n}: ${v}`);
  if (body !== null) {
    writeFileSync(join(dir, 'body'), body);
    args.push('--body', join(dir, 'body'));
  }
  const out = execFileSync(CLI, args, { encoding: 'latin1' });
  return out.split('\n').filter(Boolean).map((l) => { const i = l.indexOf(':'); return [l.slice(0, i), l.slice(i + 1).trim()]; });
}
