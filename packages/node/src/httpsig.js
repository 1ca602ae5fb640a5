// RFC 9421 HTTP Message Signatures with RFC 9530 Content-Digest: the C++
// core's checks, in the core's order, with the core's reason names.
//
// fields present and parse, label, member shapes, key and alg, required
// components, tag, created/expires, signature base, signature; then the
// package's own: Content-Digest against the body, nonce replay.
import { constants, createHash, createHmac, timingSafeEqual, verify as cryptoVerify } from 'node:crypto';

import { ConfigurationError, VerificationError } from './errors.js';
import { checkRenamed, components, integer, text } from './env.js';
import { combinedField, componentsFrom, fieldValues, signatureBase } from './httpsig-base.js';
import { JwksSource } from './jwks.js';
import { keysFromJwks, makeKey } from './keys.js';
import { isValidKey, parseDictionary, serializeItem, serializeParams, SfError } from './sf.js';

export const HTTPSIG_FORMAT = 'http-message-signature';

export const HTTPSIG_REASONS = Object.freeze([
  'missing_signature', 'malformed', 'ambiguous', 'bad_component', 'missing_component', 'unknown_key',
  'alg_mismatch', 'missing_parameter', 'expired', 'created_in_future', 'too_old', 'tag_mismatch',
  'bad_signature', 'digest_mismatch', 'missing_digest',
]);

// What every signature of the gateway covers, whatever the route.
export const GATEWAY_COMPONENTS = Object.freeze(['@method', '@target-uri', '@authority', 'content-digest']);

// RFC 9421 algorithm -> the JWS algorithm whose key rules it shares (the
// gateway's `algorithm` setting maps the other way; HS384/HS512 have no
// RFC 9421 algorithm).
const JWS_TWIN = Object.freeze({
  'hmac-sha256': 'HS256', ed25519: 'EdDSA', 'ecdsa-p256-sha256': 'ES256', 'rsa-pss-sha512': 'PS256', 'rsa-v1_5-sha256': 'RS256',
});
export const HTTPSIG_ALGORITHMS = Object.freeze(Object.keys(JWS_TWIN));
export const HTTPSIG_ALG_OF_JWS = Object.freeze(Object.fromEntries(Object.entries(JWS_TWIN).map(([h, j]) => [j, h])));

const reject = (reason, message) => { throw new VerificationError(reason, message); };

// A key with its algorithm pinned, ready to verify; keyid '' is the key for
// signatures without keyid.
export class HttpSigKey {
  constructor(alg, keyid, key) {
    this.alg = alg;
    this.keyid = keyid ?? '';
    this.key = key; // node:crypto KeyObject, parsed once
    const d = key.asymmetricKeyDetails;
    this.rsaBytes = d?.modulusLength ? Math.ceil(d.modulusLength / 8) : 0;
    Object.freeze(this);
  }

  // base: the signature base's bytes; sig: the Signature member's bytes.
  verify(base, sig) {
    try {
      switch (this.alg) {
        case 'hmac-sha256': {
          const mac = createHmac('sha256', this.key).update(base).digest();
          return sig.length === mac.length && timingSafeEqual(sig, mac);
        }
        case 'ed25519':
          return sig.length === 64 && cryptoVerify(null, base, this.key, sig);
        case 'ecdsa-p256-sha256': // raw r||s
          return sig.length === 64 && cryptoVerify('sha256', base, { key: this.key, dsaEncoding: 'ieee-p1363' }, sig);
        case 'rsa-pss-sha512': // MGF1-SHA-512; any salt length, as the core (Node signs with the maximum)
          return sig.length === this.rsaBytes && cryptoVerify('sha512', base, {
            key: this.key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_AUTO,
          }, sig);
        default:
          return sig.length === this.rsaBytes
            && cryptoVerify('sha256', base, { key: this.key, padding: constants.RSA_PKCS1_PADDING }, sig);
      }
    } catch {
      return false; // a signature the key type cannot even parse
    }
  }
}

// name: an RFC 9421 algorithm, or the gateway's algorithm setting that signs
// it (HS256, RS256, PS256, ES256, EdDSA: HTTPSIG_ALG_OF_JWS), as the Python
// package's make_signature_key takes it; the key holds the RFC 9421 name.
// material: hmac-sha256: the secret's exact bytes (a string is UTF-8 encoded;
// at least 32 bytes); others: a PEM public or private key (its public half is
// kept), a KeyObject or a JWK. RSA >= 2048 bits; rsa-v1_5-sha256 refuses an
// RSA-PSS-only key.
export async function makeHttpSigKey(name, material, keyid = '') {
  if (name === 'HS384' || name === 'HS512') {
    throw new ConfigurationError(`${name} has no RFC 9421 algorithm (the HTTP Signature Algorithms registry has only hmac-sha256 for HMAC): use HS256`);
  }
  // Own properties only: 'toString' names no algorithm.
  const alg = Object.hasOwn(HTTPSIG_ALG_OF_JWS, name) ? HTTPSIG_ALG_OF_JWS[name] : name;
  const twin = Object.hasOwn(JWS_TWIN, alg) ? JWS_TWIN[alg] : undefined;
  if (!twin) {
    throw new ConfigurationError(`unsupported HTTP signature algorithm ${JSON.stringify(name)} (one of ${HTTPSIG_ALGORITHMS.join(', ')}, or ${Object.keys(HTTPSIG_ALG_OF_JWS).join(', ')})`);
  }
  if (typeof keyid !== 'string') throw new ConfigurationError('keyid must be a string');
  let k;
  try {
    k = await makeKey(twin, material);
  } catch (e) {
    if (e instanceof ConfigurationError) throw new ConfigurationError(e.message.replace(twin, alg));
    throw e;
  }
  return new HttpSigKey(alg, keyid, k.key);
}

// JWS keys of a JWKS (the gateway's upstream-jwt-jwks endpoint) as RFC 9421
// keys: HS256 -> hmac-sha256, RS256 -> rsa-v1_5-sha256, PS256 ->
// rsa-pss-sha512, ES256 -> ecdsa-p256-sha256, EdDSA -> ed25519; a JWK without
// kid is the key for signatures without keyid; others are left out.
export function httpSigKeysOf(jwsKeys) {
  return jwsKeys.filter((k) => HTTPSIG_ALG_OF_JWS[k.alg]).map((k) => new HttpSigKey(HTTPSIG_ALG_OF_JWS[k.alg], k.kid ?? '', k.key));
}

// RFC 9530 Content-Digest over a body fed in chunks. algorithms: which of
// sha-256/sha-512 to compute (the middleware passes those the received
// Content-Digest names, so it never hashes twice for nothing).
export class DigestHasher {
  constructor(algorithms = ['sha-256', 'sha-512']) {
    this.hashes = algorithms.map((a) => [a, createHash(a.replace('-', ''))]);
    this.size = 0;
  }

  // Those of sha-256/sha-512 a Content-Digest field value mentions.
  static for(contentDigest) {
    return new DigestHasher(contentDigest == null ? [] : ['sha-256', 'sha-512'].filter((a) => contentDigest.includes(a)));
  }

  update(chunk) {
    for (const [, h] of this.hashes) h.update(chunk);
    this.size += chunk.length;
  }

  digests() {
    return Object.fromEntries(this.hashes.map(([a, h]) => [a, h.digest()]));
  }
}

// { 'sha-256': Buffer, 'sha-512': Buffer } of a body held whole.
export function digestsOf(body) {
  const h = new DigestHasher();
  h.update(body);
  return h.digests();
}

// Every Content-Digest line trimmed and joined (RFC 9110 5.3), as a Dictionary.
function checkDigest(headers, digests) {
  const lines = fieldValues(headers, 'content-digest');
  if (lines.length === 0) reject('missing_digest', 'no Content-Digest field');
  const field = lines.join(', ');
  let dict;
  try {
    dict = parseDictionary(field);
  } catch (e) {
    if (e instanceof SfError) reject('malformed', `Content-Digest: ${e.message}`);
    throw e;
  }
  let matched = 0;
  for (const [key, m] of dict) {
    const mine = key === 'sha-256' || key === 'sha-512' ? digests[key] : undefined;
    if (mine === undefined) continue;
    if (m.kind !== 'item' || m.value.type !== 'bytes') reject('malformed', `Content-Digest ${key} is not a byte sequence`);
    const got = m.value.value;
    if (got.length !== mine.length || !timingSafeEqual(got, mine)) reject('digest_mismatch', `Content-Digest ${key} does not match the content`);
    matched += 1;
  }
  if (matched === 0) reject('missing_digest', 'Content-Digest has no sha-256/sha-512 member');
}

function parseField(text, what, options) {
  try {
    return parseDictionary(text, options);
  } catch (e) {
    if (e instanceof SfError) reject('malformed', `${what}: ${e.message}`);
    throw e;
  }
}

const PARAM_TYPES = { created: 'integer', expires: 'integer', keyid: 'string', alg: 'string', nonce: 'string', tag: 'string' };

function requiredIdsOf(components) {
  try {
    return componentsFrom(components).map(serializeItem);
  } catch (e) {
    throw new ConfigurationError(`requiredComponents: ${e.message}`);
  }
}

// Options: keys (HttpSigKey[]), label (null: the only signature present),
// tag (null: not checked), leeway (5 s), maxAge (0: unlimited; seconds since
// created), requireCreated (true), requireExpires (true),
// requiredComponents (GATEWAY_COMPONENTS), checkDigest (true: the body must
// match a sha-256/sha-512 member of Content-Digest), replayStore (a nonce is
// accepted once until expires + leeway), jwksUrl / jwks (a JwksSource).
//
// Messages: { method, targetUri (absolute, as the service received it),
// headers ([name, value] pairs as received, byte strings), and for
// checkDigest body (a Buffer) or digests (DigestHasher.digests()) }.
export class HttpSigVerifier {
  constructor({
    keys = [], label = null, tag = null, leeway = 5, maxAge = 0, requireCreated = true, requireExpires = true,
    requiredComponents = GATEWAY_COMPONENTS, checkDigest = true, replayStore = null, jwksUrl = null, jwks = null,
  } = {}) {
    if (!(leeway >= 0)) throw new ConfigurationError('leeway must not be negative');
    if (!Number.isFinite(maxAge)) throw new ConfigurationError('maxAge must be a number of seconds');
    if (label !== null && !isValidKey(label)) throw new ConfigurationError(`label ${JSON.stringify(label)} is not a structured-field key`);
    this.format = HTTPSIG_FORMAT;
    this.keys = [];
    for (const k of keys) this.register(k);
    Object.assign(this, { label, tag, leeway, maxAge, requireCreated, requireExpires, checkDigest, replayStore });
    this.requiredComponents = [...requiredComponents];
    this.requiredIds = requiredIdsOf(this.requiredComponents);
    this.jwks = jwks ?? (jwksUrl ? new JwksSource(jwksUrl) : null);
    this.remote = new WeakMap(); // a JwksSource's key array -> its RFC 9421 keys
  }

  register(key) {
    if (!(key instanceof HttpSigKey)) throw new ConfigurationError('keys must be HttpSigKey (makeHttpSigKey)');
    if (this.keys.some((k) => k.keyid === key.keyid)) {
      throw new ConfigurationError(key.keyid ? `keyid ${JSON.stringify(key.keyid)} is already registered` : 'a key without keyid is already registered');
    }
    this.keys.push(key);
  }

  async addKey(alg, material, keyid = '') {
    this.register(await makeHttpSigKey(alg, material, keyid));
    return this;
  }

  // A JWKS document (object or JSON text); each JWK needs alg; one without
  // kid is the key for signatures without keyid.
  async addJwks(jwks) {
    for (const k of httpSigKeysOf(await keysFromJwks(jwks))) this.register(k);
    return this;
  }

  // What a container gets from its environment: UPSTREAM_JWT_ALG (the
  // gateway's algorithm, HS256/RS256/PS256/ES256/EdDSA, or an RFC 9421 name;
  // HS256), UPSTREAM_JWT_SECRET, UPSTREAM_JWT_PUBLIC_KEY (PEM text),
  // UPSTREAM_JWT_KEY_ID (the gateway's key_id; unset: signatures without
  // keyid), UPSTREAM_JWT_JWKS_URL, UPSTREAM_JWT_SIGNATURE_LABEL,
  // UPSTREAM_JWT_SIGNATURE_TAG, UPSTREAM_JWT_LEEWAY (5), UPSTREAM_JWT_MAX_AGE
  // (0), UPSTREAM_JWT_REQUIRED_COMPONENTS (comma-separated, or an RFC 9421
  // inner list; default GATEWAY_COMPONENTS), UPSTREAM_JWT_REDIS_URL (nonce
  // replay store shared by replicas). Empty means unset; a malformed value is
  // a ConfigurationError. The same variables as the Python package's
  // SignatureVerifier.from_env. Options given override.
  static async fromEnv(env = process.env, options = {}) {
    checkRenamed(env);
    const alg = env.UPSTREAM_JWT_ALG || 'HS256';
    const opts = {
      label: text(env, 'UPSTREAM_JWT_SIGNATURE_LABEL'),
      tag: text(env, 'UPSTREAM_JWT_SIGNATURE_TAG'),
      leeway: integer(env, 'UPSTREAM_JWT_LEEWAY', 5),
      maxAge: integer(env, 'UPSTREAM_JWT_MAX_AGE', 0),
      jwksUrl: text(env, 'UPSTREAM_JWT_JWKS_URL'),
    };
    const required = components(env, 'UPSTREAM_JWT_REQUIRED_COMPONENTS');
    if (required) opts.requiredComponents = required;
    if (env.UPSTREAM_JWT_REDIS_URL) {
      const { NONCE_PREFIX, RedisReplayStore } = await import('./replay.js');
      opts.replayStore = await RedisReplayStore.fromUrl(env.UPSTREAM_JWT_REDIS_URL, { prefix: NONCE_PREFIX });
    }
    const { format, ...rest } = options;
    const v = new HttpSigVerifier({ ...opts, ...rest });
    const keyid = env.UPSTREAM_JWT_KEY_ID || '';
    if (env.UPSTREAM_JWT_SECRET) await v.addKey(alg, Buffer.from(env.UPSTREAM_JWT_SECRET, 'utf8'), keyid);
    if (env.UPSTREAM_JWT_PUBLIC_KEY) await v.addKey(alg, env.UPSTREAM_JWT_PUBLIC_KEY, keyid);
    if (!v.keys.length && !v.jwks) {
      throw new ConfigurationError('no key: set UPSTREAM_JWT_SECRET, UPSTREAM_JWT_PUBLIC_KEY or UPSTREAM_JWT_JWKS_URL');
    }
    return v;
  }

  async remoteKeys() {
    const jws = await this.jwks.keys();
    let keys = this.remote.get(jws);
    if (!keys) {
      keys = httpSigKeysOf(jws);
      this.remote.set(jws, keys);
    }
    return keys;
  }

  // Configured keys win over a remote key with the same keyid.
  async select(keyid) {
    const local = this.keys.find((k) => k.keyid === keyid);
    if (local || !this.jwks) return local;
    let remote = (await this.remoteKeys()).find((k) => k.keyid === keyid);
    // Look again even when the rate limit refuses a fetch: a concurrent
    // request may have fetched the set that has this keyid.
    if (!remote) {
      await this.jwks.refreshForUnknownKid();
      remote = (await this.remoteKeys()).find((k) => k.keyid === keyid);
    }
    return remote;
  }

  // The verified signature, or a VerificationError naming the first check
  // that failed. overrides: now (epoch seconds; default the clock) and any
  // constructor option but keys/replayStore/jwks, for this call only.
  async verify(msg, overrides = {}) {
    const pending = await this.verifySignature(msg, overrides);
    const digests = pending.checkDigest ? msg.digests ?? (msg.body != null ? digestsOf(msg.body) : null) : null;
    return this.complete(pending, digests);
  }

  // Every check up to the signature, before the body is read (so an
  // unsigned request is refused without reading its body); complete() then
  // checks Content-Digest and the nonce.
  async verifySignature(msg, overrides = {}) {
    const o = Object.keys(overrides).length ? { ...this, ...overrides } : this;
    const requiredIds = overrides.requiredComponents ? requiredIdsOf(overrides.requiredComponents) : this.requiredIds;
    const headers = msg.headers ?? [];

    const inputText = combinedField(headers, 'signature-input');
    const sigText = combinedField(headers, 'signature');
    if (inputText === null || sigText === null) reject('missing_signature', 'no Signature-Input or no Signature field');
    const inputs = parseField(inputText, 'Signature-Input', { refuseRepeatedParameters: true });
    const sigs = parseField(sigText, 'Signature');

    let label = o.label;
    if (label == null) {
      if (inputs.size === 0) reject('missing_signature', 'Signature-Input is empty');
      if (inputs.size > 1) reject('ambiguous', 'several signatures and no label chosen');
      [label] = inputs.keys();
    }
    const input = inputs.get(label);
    const sig = sigs.get(label);
    if (input === undefined || sig === undefined) reject('missing_signature', `no signature labelled "${label}"`);
    if (input.kind !== 'inner') reject('malformed', 'Signature-Input member is not an inner list');
    if (input.items.some((it) => it.value.type !== 'string')) reject('malformed', 'a covered component is not a string');
    if (sig.kind !== 'item' || sig.value.type !== 'bytes') reject('malformed', 'Signature member is not a byte sequence');

    const p = {};
    for (const [key, v] of input.params) {
      const want = PARAM_TYPES[key];
      if (want === undefined) continue;
      if (v.type !== want) reject('malformed', `signature parameter ${key} has the wrong type`);
      p[key] = v.value;
    }
    // keyid="" is a keyid, not the absence of one: it must not select the key
    // registered without a keyid, and no key can be registered under ''.
    if (p.keyid === '') reject('unknown_key', 'keyid is empty (no key has the empty keyid)');
    p.keyid ??= '';

    const key = await this.select(p.keyid);
    if (!key) reject('unknown_key', p.keyid ? `no key with keyid "${p.keyid}"` : 'no key for signatures without keyid');
    if (p.alg !== undefined && p.alg !== key.alg) reject('alg_mismatch', `alg "${p.alg}" but the key is for ${key.alg}`);

    const components = input.items.map(serializeItem);
    for (const r of requiredIds) if (!components.includes(r)) reject('missing_component', `component ${r} is not covered`);
    if (o.tag != null && p.tag !== o.tag) reject('tag_mismatch', `tag is not "${o.tag}"`);

    const now = o.now || Math.floor(Date.now() / 1000);
    const leeway = o.leeway > 0 ? o.leeway : 0;
    const { created, expires } = p;
    if (created === undefined && (o.requireCreated || o.maxAge > 0)) reject('missing_parameter', 'created is required');
    if (expires === undefined && o.requireExpires) reject('missing_parameter', 'expires is required');
    if (created !== undefined && created > now + leeway) reject('created_in_future', 'created is in the future');
    if (created !== undefined && o.maxAge > 0 && now - created > o.maxAge + leeway) reject('too_old', `created is more than ${o.maxAge} s ago`);
    if (expires !== undefined && now > expires + leeway) reject('expired', 'signature expired');

    let paramsText;
    try {
      paramsText = `(${components.join(' ')})${serializeParams(input.params)}`;
    } catch (e) {
      if (e instanceof SfError) reject('malformed', e.message);
      throw e;
    }
    const base = signatureBase(msg, input.items, paramsText, components);
    if (!key.verify(Buffer.from(base, 'latin1'), sig.value.value)) reject('bad_signature', 'signature does not verify');
    const until = expires ?? (created !== undefined && o.maxAge > 0 ? created + o.maxAge : undefined);
    return {
      // Accepted through second until + leeway (expired is now > expires +
      // leeway): the nonce is remembered past it, as the Python package does.
      headers, checkDigest: o.checkDigest, now, replayUntil: until === undefined ? undefined : until + leeway + 1,
      result: result({ label, key, p, components, input, base, headers }),
    };
  }

  // digests: { 'sha-256': Buffer, 'sha-512': Buffer } of the body (either may
  // be absent: a member for it is then not checked), or null.
  async complete({ headers, checkDigest: check, now, replayUntil, result: r }, digests) {
    if (check) {
      if (!digests) throw new ConfigurationError('verify() needs the body (or its digests) when checkDigest is set');
      checkDigest(headers, digests);
    }
    if (this.replayStore) {
      if (r.nonce === null) reject('missing_parameter', 'nonce is required (replay check)');
      if (replayUntil === undefined) reject('missing_parameter', 'expires (or created with a maxAge) is required for the replay check');
      // The nonce alone, without the keyid: it is 128 random bits from the
      // gateway, unique whichever key signed, and the keyid is signed too, so
      // a replay cannot move it to another key. The Python package spends the
      // same key, so replicas in both languages refuse each other's nonces.
      await this.replayStore.checkAndInsert(r.nonce, replayUntil, now);
    }
    return r;
  }
}

const CONSUMER = { id: 'x-consumer-id', username: 'x-consumer-username', credential: 'x-credential-identifier' };

// What the app may trust: the parameters, and the value of each header field
// the signature covers as a plain component (no sf/key/bs) — a header that is
// not covered is not there, even when the request carries it.
function result({ label, key, p, components, input, base, headers }) {
  const fields = {};
  for (const it of input.items) {
    const name = it.value.value;
    if (name[0] !== '@' && it.params.size === 0) {
      fields[name] = fieldValues(headers, name).join(', ');
    }
  }
  return {
    label,
    keyid: key.keyid,
    alg: key.alg,
    created: p.created ?? null,
    expires: p.expires ?? null,
    nonce: p.nonce ?? null,
    tag: p.tag ?? null,
    components,
    base,
    fields,
    consumer: Object.fromEntries(Object.entries(CONSUMER).map(([k, n]) => [k, fields[n] ?? null])),
  };
}
