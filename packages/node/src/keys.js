// Verification keys: one algorithm pinned per key, selected by kid exactly as
// the C++ core selects them.
import {
  constants, createHmac, createPublicKey, createSecretKey, KeyObject, timingSafeEqual, verify as cryptoVerify,
} from 'node:crypto';
import { compactVerify, importJWK } from 'jose';

import { ConfigurationError, VerificationError } from './errors.js';

export const ALGORITHMS = Object.freeze(['HS256', 'HS384', 'HS512', 'RS256', 'PS256', 'ES256', 'EdDSA']);
const HMAC_MIN = { HS256: 32, HS384: 48, HS512: 64 };
const HMAC_HASH = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' };

export const isHmac = (alg) => alg.startsWith('HS');

function checkStrength(alg, key) {
  if (isHmac(alg)) {
    if (key.symmetricKeySize < HMAC_MIN[alg]) {
      throw new ConfigurationError(`${alg} secret must be at least ${HMAC_MIN[alg]} bytes`);
    }
    return;
  }
  const t = key.asymmetricKeyType;
  const d = key.asymmetricKeyDetails ?? {};
  const ok = {
    RS256: t === 'rsa',
    PS256: t === 'rsa' || t === 'rsa-pss',
    ES256: t === 'ec' && d.namedCurve === 'prime256v1',
    EdDSA: t === 'ed25519',
  }[alg];
  if (!ok) throw new ConfigurationError(`key type does not match ${alg}`);
  if ((t === 'rsa' || t === 'rsa-pss') && d.modulusLength < 2048) {
    throw new ConfigurationError('RSA keys must have at least 2048 bits');
  }
}

export class VerificationKey {
  constructor(alg, kid, key) {
    this.alg = alg;
    this.kid = kid ?? null;
    this.key = key; // a node:crypto KeyObject (secret or public)
    Object.freeze(this);
  }

  // jose checks asymmetric signatures (ES256 as 64 raw bytes); HMACs are
  // computed here with the imported secret and compared in constant time.
  // The token's shape was already checked strictly by the verifier.
  async verify(token) {
    if (isHmac(this.alg)) return this.verifyHmac(token);
    if (this.alg === 'PS256') return this.verifyPss(token);
    try {
      await compactVerify(token, this.key, { algorithms: [this.alg] });
      return true;
    } catch {
      return false;
    }
  }

  verifyHmac(token) {
    const last = token.lastIndexOf('.');
    const mac = createHmac(HMAC_HASH[this.alg], this.key).update(token.slice(0, last), 'latin1').digest();
    const signature = Buffer.from(token.slice(last + 1), 'base64url');
    return signature.length === mac.length && timingSafeEqual(signature, mac);
  }

  // RFC 7518 signs with a salt as long as the hash; the core verifies any salt
  // length (OpenSSL AUTO), and so does this (jose insists on the hash length).
  verifyPss(token) {
    const last = token.lastIndexOf('.');
    try {
      return cryptoVerify('sha256', Buffer.from(token.slice(0, last)), {
        key: this.key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_AUTO,
      }, Buffer.from(token.slice(last + 1), 'base64url'));
    } catch {
      return false;
    }
  }
}

// HS*: the secret's exact bytes (a string is UTF-8 encoded); otherwise a PEM
// public or private key (its public half is used), a KeyObject, or a JWK.
export async function makeKey(alg, material, kid = null) {
  if (!ALGORITHMS.includes(alg)) throw new ConfigurationError(`unsupported algorithm ${JSON.stringify(alg)}`);
  let key;
  try {
    if (material instanceof KeyObject) {
      key = material.type === 'private' ? createPublicKey(material) : material;
    } else if (material && typeof material === 'object' && !Buffer.isBuffer(material) && !(material instanceof Uint8Array)) {
      const k = await importJWK({ ...material, alg }, alg);
      key = k instanceof Uint8Array ? createSecretKey(k) : (k.type === 'private' ? createPublicKey(k) : k);
    } else {
      const raw = typeof material === 'string' ? Buffer.from(material, 'utf8') : Buffer.from(material);
      key = isHmac(alg) ? createSecretKey(raw) : createPublicKey(raw);
    }
  } catch (e) {
    if (e instanceof ConfigurationError) throw e;
    throw new ConfigurationError(`unusable ${alg} key: ${e.code ?? e.name}`);
  }
  checkStrength(alg, key);
  return new VerificationKey(alg, kid, key);
}

// Keys of a JWK or a JWKS {"keys": [...]}; each needs "alg" (or `alg`). With
// skipUnusable (remote key sets that also publish encryption keys or other
// algorithms) such keys are left out instead of failing the whole set.
export async function keysFromJwks(jwks, { alg = null, skipUnusable = false } = {}) {
  const doc = typeof jwks === 'string' || Buffer.isBuffer(jwks) ? JSON.parse(jwks.toString()) : jwks;
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new ConfigurationError('JWKS is not a JSON object');
  const items = 'keys' in doc ? doc.keys : [doc];
  if (!Array.isArray(items)) throw new ConfigurationError('JWKS keys is not an array');
  const out = [];
  for (const jwk of items) {
    try {
      if (!jwk || typeof jwk !== 'object') throw new ConfigurationError('a JWK is not an object');
      if ((jwk.use ?? 'sig') !== 'sig') throw new ConfigurationError('"use" is not "sig"');
      const a = jwk.alg ?? alg;
      if (a == null) throw new ConfigurationError('JWK has no alg');
      if (alg != null && a !== alg) throw new ConfigurationError(`JWK alg ${a} is not ${alg}`);
      if (jwk.kid != null && typeof jwk.kid !== 'string') throw new ConfigurationError('"kid" is not a string');
      out.push(await makeKey(a, jwk, jwk.kid ?? null));
    } catch (e) {
      if (!(e instanceof ConfigurationError) || !skipUnusable) throw e;
    }
  }
  return out;
}

// Keys by kid; the same selection rules as the core's Verifier.
export class KeySet {
  constructor(keys = []) {
    this.keys = [];
    this.extend(keys);
  }

  get size() {
    return this.keys.length;
  }

  extend(keys) {
    const fresh = [...keys];
    const kids = new Set(this.keys.filter((k) => k.kid !== null).map((k) => k.kid));
    for (const k of fresh) {
      if (k.kid === null) continue;
      if (kids.has(k.kid)) throw new ConfigurationError(`kid ${JSON.stringify(k.kid)} is already registered`);
      kids.add(k.kid);
    }
    this.keys.push(...fresh);
  }

  hasKid(kid) {
    return this.keys.some((k) => k.kid === kid);
  }

  select(alg, kid) {
    if (kid !== null && kid !== undefined) {
      const named = this.keys.find((k) => k.kid === kid);
      if (named) {
        if (named.alg === alg) return [named];
        if (isHmac(named.alg) !== isHmac(alg)) {
          throw new VerificationError('key_confusion', `key ${JSON.stringify(kid)} is ${named.alg}; a ${alg} token cannot use it`);
        }
        throw new VerificationError('alg_not_allowed', `key ${JSON.stringify(kid)} is for ${named.alg}, not ${alg}`);
      }
      // A kid-less key accepts any kid: one key verifies a gateway that sets key_id.
      const fallback = this.keys.filter((k) => k.kid === null && k.alg === alg);
      if (fallback.length === 0) throw new VerificationError('unknown_kid', `no key has kid ${JSON.stringify(kid)}`);
      return fallback;
    }
    const same = this.keys.filter((k) => k.alg === alg);
    if (same.length) return same;
    if (this.keys.length && !this.keys.some((k) => isHmac(k.alg) === isHmac(alg))) {
      throw new VerificationError('key_confusion', `a ${alg} token against keys of the other kind only`);
    }
    throw new VerificationError('alg_not_allowed', `no key accepts algorithm ${alg}`);
  }
}
