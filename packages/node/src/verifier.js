// The Verifier: the C++ core's checks, in the core's order, with the same reasons.
//
// length, shape, base64url, header, alg/kid/key selection, signature, claims
// JSON, time (exp/nbf/iat with leeway, max lifetime), iss, aud, request binding
// (htm, htu, query_sha256, body_sha256), header binding (hdrs, hdr_sha256),
// replay. The first failure rejects with a VerificationError naming it.
import { timingSafeEqual } from 'node:crypto';

import { ConfigurationError, VerificationError } from './errors.js';
import { integer, text } from './env.js';
import { HTTPSIG_FORMAT, HttpSigVerifier } from './httpsig.js';
import { JwksSource } from './jwks.js';
import { ALGORITHMS, KeySet, keysFromJwks, makeKey } from './keys.js';
import { BadHeaderValue, headersSha256, isHeaderToken, sha256b64 } from './request.js';
import { b64urlDecode, isNumber, JsonDuplicate, JsonSyntax, parseJson } from './strict.js';

export const DEFAULT_MAX_TOKEN_LENGTH = 8192;
export const BINDINGS = Object.freeze(['method', 'path', 'query', 'body']);

const reject = (reason, message) => { throw new VerificationError(reason, message); };
const bytes = (v) => (Buffer.isBuffer(v) ? v : Buffer.from(v, 'latin1'));

function ctEqual(a, b) {
  return a.length === b.length && timingSafeEqual(a, b);
}

function jsonObject(raw, reason, what) {
  let v;
  try {
    v = parseJson(raw);
  } catch (e) {
    if (e instanceof JsonDuplicate) reject(reason, `${what} repeat a member name`);
    if (e instanceof JsonSyntax) reject(reason, `${what} is not valid JSON`);
    throw e;
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) reject(reason, `${what} is not a JSON object`);
  return v;
}

const has = (o, k) => Object.prototype.hasOwnProperty.call(o, k);

function member(claims, name, kind) {
  if (!has(claims, name)) return undefined;
  const v = claims[name];
  if (!(kind === 'number' ? isNumber(v) : typeof v === 'string')) reject('bad_claims', `claim ${name} must be a ${kind}`);
  return v;
}

// hdrs as a signer writes it: a non-empty array of distinct lowercase header
// names. Anything else did not come from a conforming signer.
function checkBoundNames(hdrs) {
  if (hdrs.length === 0) reject('bad_claims', 'claim hdrs is an empty array');
  hdrs.forEach((name, i) => {
    if (typeof name !== 'string') reject('bad_claims', 'claim hdrs must hold strings');
    if (!isHeaderToken(name) || name !== name.toLowerCase()) reject('bad_claims', 'claim hdrs holds a name that is not a lowercase header name');
    if (hdrs.indexOf(name) !== i) reject('bad_claims', 'claim hdrs lists a name twice');
  });
}

// Checked headers by their segment: every token one gateway key signs carries
// the same header, so its strict decode and checks run once. Only headers that
// passed every check are kept; the key selection still runs per token.
const HEADERS = new Map();
const HEADERS_MAX = 64;

function checkHeader(segment, raw) {
  const header = jsonObject(raw, 'bad_header', 'header');
  const { alg } = header;
  if (typeof alg !== 'string') reject('bad_header', 'header has no alg string');
  if (has(header, 'typ') && header.typ !== 'JWT') reject('bad_header', 'header typ is not "JWT"');
  const kid = has(header, 'kid') ? header.kid : null;
  if (has(header, 'kid') && typeof kid !== 'string') reject('bad_header', 'header kid is not a string');
  if (has(header, 'crit')) reject('crit_unsupported', 'header has crit; no critical extension is understood');
  if (alg.toLowerCase() === 'none') reject('alg_none', 'alg none is never accepted');
  if (!ALGORITHMS.includes(alg)) reject('alg_not_allowed', 'algorithm is not supported');
  if (HEADERS.size >= HEADERS_MAX) HEADERS.clear();
  const checked = Object.freeze({ alg, kid });
  HEADERS.set(segment, checked);
  return checked;
}

// The bytes a binding compares with its claim (as UTF-8 bytes).
function received(what, request) {
  if (!request) throw new ConfigurationError('verify() needs the request when bindings are checked');
  switch (what) {
    case 'method': return bytes(request.method);
    case 'path': return bytes(request.path);
    case 'query': return Buffer.from(sha256b64(request.query == null ? '' : bytes(request.query)), 'ascii');
    default:
      if (request.bodySha256 == null) throw new ConfigurationError('request.bodySha256 is required when the body is bound');
      return Buffer.from(request.bodySha256, 'ascii');
  }
}

// Options: issuer ('kong'; null = not checked), audience (null = not checked),
// leeway (5 s), maxLifetime (3600 s; <= 0 unlimited), maxTokenLength (8192),
// bind (which of method/path/query/body are checked; all by default),
// checkHeaders (true: the token must bind headers and they must match; false:
// not checked; null, the default: checked when the token carries hdrs or
// requiredHeaders is set), requiredHeaders (names the token must bind),
// replayStore, jwksUrl / jwks (a JwksSource), keys (VerificationKey[]).
//
// Requests: { method, path (raw, as received, latin1 string or Buffer, never
// decoded), query (raw, null when there was no '?'), bodySha256 (BodyHasher),
// headers ([name, value] pairs as received) }.
export class Verifier {
  constructor({
    keys = [], issuer = 'kong', audience = null, leeway = 5, maxLifetime = 3600,
    maxTokenLength = DEFAULT_MAX_TOKEN_LENGTH, bind = BINDINGS, checkHeaders = null,
    requiredHeaders = [], replayStore = null, jwksUrl = null, jwks = null,
  } = {}) {
    if (leeway < 0) throw new ConfigurationError('leeway must not be negative');
    for (const b of bind) if (!BINDINGS.includes(b)) throw new ConfigurationError(`unknown binding ${b}`);
    this.keys = new KeySet(keys);
    Object.assign(this, { issuer, audience, leeway, maxLifetime, checkHeaders, replayStore });
    this.maxTokenLength = maxTokenLength || DEFAULT_MAX_TOKEN_LENGTH;
    this.bind = new Set(bind);
    for (const h of requiredHeaders) {
      if (!isHeaderToken(h)) throw new ConfigurationError(`required header ${JSON.stringify(h)} is not a header name`);
    }
    this.requiredHeaders = requiredHeaders.map((h) => h.toLowerCase());
    this.jwks = jwks ?? (jwksUrl ? new JwksSource(jwksUrl) : null);
    this.format = 'jwt';
  }

  async addKey(alg, material, kid = null) {
    this.keys.extend([await makeKey(alg, material, kid)]);
    return this;
  }

  async addJwks(jwks, alg = null) {
    this.keys.extend(await keysFromJwks(jwks, { alg }));
    return this;
  }

  // What a container gets from its environment: UPSTREAM_JWT_SECRET (HS*
  // secret, kid-less: accepts any kid the gateway sets), UPSTREAM_JWT_ALG
  // (HS256), UPSTREAM_JWT_PUBLIC_KEY (PEM text), UPSTREAM_JWT_JWKS_URL,
  // UPSTREAM_JWT_ISSUER (kong), UPSTREAM_JWT_AUDIENCE, UPSTREAM_JWT_LEEWAY (5),
  // UPSTREAM_JWT_MAX_LIFETIME (3600), UPSTREAM_JWT_REDIS_URL (replay store
  // shared by replicas). Empty means unset; a malformed number is a
  // ConfigurationError. Options given override.
  //
  // UPSTREAM_JWT_FORMAT (or options.format) http-message-signature gives an
  // HttpSigVerifier instead (HttpSigVerifier.fromEnv documents its variables).
  static async fromEnv(env = process.env, options = {}) {
    const format = options.format ?? (env.UPSTREAM_JWT_FORMAT || 'jwt');
    if (format === HTTPSIG_FORMAT) return HttpSigVerifier.fromEnv(env, options);
    if (format !== 'jwt') throw new ConfigurationError(`unknown format ${JSON.stringify(format)} (jwt or ${HTTPSIG_FORMAT})`);
    const { format: _, ...jwtOptions } = options;
    const alg = env.UPSTREAM_JWT_ALG || 'HS256';
    const opts = {
      issuer: env.UPSTREAM_JWT_ISSUER || 'kong',
      audience: text(env, 'UPSTREAM_JWT_AUDIENCE'),
      leeway: integer(env, 'UPSTREAM_JWT_LEEWAY', 5),
      maxLifetime: integer(env, 'UPSTREAM_JWT_MAX_LIFETIME', 3600),
      jwksUrl: text(env, 'UPSTREAM_JWT_JWKS_URL'),
    };
    if (env.UPSTREAM_JWT_REDIS_URL) {
      const { RedisReplayStore } = await import('./replay.js');
      opts.replayStore = await RedisReplayStore.fromUrl(env.UPSTREAM_JWT_REDIS_URL);
    }
    const v = new Verifier({ ...opts, ...jwtOptions });
    if (env.UPSTREAM_JWT_SECRET) await v.addKey(alg, Buffer.from(env.UPSTREAM_JWT_SECRET, 'utf8'));
    if (env.UPSTREAM_JWT_PUBLIC_KEY) await v.addKey(alg, env.UPSTREAM_JWT_PUBLIC_KEY);
    if (!v.keys.size && !v.jwks) {
      throw new ConfigurationError('no key: set UPSTREAM_JWT_SECRET, UPSTREAM_JWT_PUBLIC_KEY or UPSTREAM_JWT_JWKS_URL');
    }
    return v;
  }

  async withRemote() {
    // Configured keys win over a remote key with the same kid.
    const remote = (await this.jwks.keys()).filter((k) => k.kid === null || !this.keys.hasKid(k.kid));
    return new KeySet([...this.keys.keys, ...remote]);
  }

  async select(alg, kid) {
    if (!this.jwks) return this.keys.select(alg, kid);
    try {
      return (await this.withRemote()).select(alg, kid);
    } catch (e) {
      if (!(e instanceof VerificationError) || e.reason !== 'unknown_kid') throw e;
      // Look again even when the rate limit refuses a fetch: a concurrent
      // request may have fetched, or be fetching, the set that has this kid.
      await this.jwks.refreshForUnknownKid();
      return (await this.withRemote()).select(alg, kid);
    }
  }

  // The token's claims, or a VerificationError. now: epoch seconds (default: the clock).
  async verify(token, request = null, { now = Math.floor(Date.now() / 1000) } = {}) {
    const raw = typeof token === 'string' ? token : Buffer.from(token).toString('latin1');
    const rawLength = Buffer.byteLength(raw, 'latin1');
    if (rawLength > this.maxTokenLength) reject('token_too_long', `token is ${rawLength} bytes; the limit is ${this.maxTokenLength}`);
    const parts = raw.split('.');
    if (parts.length !== 3) reject('malformed', 'token is not three dot-separated segments');
    const checked = HEADERS.get(parts[0]);
    const decoded = parts.map((p, i) => (i === 0 && checked !== undefined ? null
      : b64urlDecode(p) ?? reject('bad_base64', `${['header', 'claims', 'signature'][i]} segment is not strict base64url`)));

    const { alg, kid } = checked ?? checkHeader(parts[0], decoded[0]);

    const candidates = await this.select(alg, kid);
    let valid = false;
    for (const k of candidates) if (await k.verify(raw)) { valid = true; break; }
    if (!valid) reject('bad_signature', `signature does not verify with any of ${candidates.length} ${alg} keys`);

    const claims = jsonObject(decoded[1], 'bad_claims', 'claims');
    const [exp, nbf, iat] = ['exp', 'nbf', 'iat'].map((n) => member(claims, n, 'number'));
    const [iss, jti, htm, htu, qsh, bsh] = ['iss', 'jti', 'htm', 'htu', 'query_sha256', 'body_sha256'].map((n) => member(claims, n, 'string'));
    const hdrs = claims.hdrs;
    if (has(claims, 'hdrs') && !Array.isArray(hdrs)) reject('bad_claims', 'claim hdrs must be a array');
    const hsh = member(claims, 'hdr_sha256', 'string');
    if (hdrs !== undefined) checkBoundNames(hdrs);
    const { aud } = claims;
    if (has(claims, 'aud') && !(typeof aud === 'string' || (Array.isArray(aud) && aud.every((a) => typeof a === 'string')))) {
      reject('bad_claims', 'claim aud must be a string or an array of strings');
    }

    const leeway = this.leeway;
    if (exp === undefined) reject('missing_claim', 'claim exp is missing');
    if (now >= exp + leeway) reject('expired', `token expired at ${exp}, now ${now} (leeway ${leeway})`);
    if (nbf !== undefined && nbf > now + leeway) reject('not_yet_valid', `token not valid before ${nbf}, now ${now}`);
    if (iat !== undefined && iat > now + leeway) reject('issued_in_future', `token issued at ${iat}, in the future; now ${now}`);
    if (this.maxLifetime > 0 && exp - (iat ?? now) > this.maxLifetime) {
      reject('lifetime_too_long', `token lifetime exceeds the maximum ${this.maxLifetime} s`);
    }

    if (this.issuer !== null) {
      if (iss === undefined) reject('missing_claim', 'claim iss is missing');
      if (iss !== this.issuer) reject('bad_issuer', 'issuer does not match');
    }
    if (this.audience !== null) {
      if (aud === undefined) reject('missing_claim', 'claim aud is missing');
      if (!(typeof aud === 'string' ? aud === this.audience : aud.includes(this.audience))) {
        reject('bad_audience', `audience does not include ${JSON.stringify(this.audience)}`);
      }
    }

    // htm/htu: bytes against bytes, the raw path as received, never decoded.
    for (const [what, name, value, reason] of [['method', 'htm', htm, 'method_mismatch'], ['path', 'htu', htu, 'path_mismatch'],
      ['query', 'query_sha256', qsh, 'query_mismatch'], ['body', 'body_sha256', bsh, 'body_mismatch']]) {
      if (!this.bind.has(what)) continue;
      if (value === undefined) reject('missing_claim', `claim ${name} is missing`);
      if (!ctEqual(Buffer.from(value, 'utf8'), received(what, request))) reject(reason, `claim ${name} does not match the request`);
    }

    const check = this.checkHeaders ?? (has(claims, 'hdrs') || has(claims, 'hdr_sha256') || this.requiredHeaders.length > 0);
    if (check) {
      if (!request) throw new ConfigurationError('verify() needs the request to check bound headers');
      if (hdrs === undefined || hsh === undefined) reject('missing_claim', 'claim hdrs/hdr_sha256 is missing');
      for (const name of this.requiredHeaders) {
        if (!hdrs.includes(name)) reject('header_mismatch', `header ${JSON.stringify(name)} must be bound, but hdrs does not list it`);
      }
      let want;
      try {
        want = headersSha256(hdrs, request.headers ?? []);
      } catch (e) {
        if (e instanceof BadHeaderValue) reject('header_mismatch', e.message);
        throw e;
      }
      if (!ctEqual(Buffer.from(hsh, 'utf8'), Buffer.from(want, 'ascii'))) reject('header_mismatch', 'bound headers do not match hdr_sha256');
    }

    if (this.replayStore) {
      if (jti === undefined) reject('missing_claim', 'claim jti is missing (replay check)');
      // Remember the jti as long as the token could still be accepted.
      await this.replayStore.checkAndInsert(jti, Math.min(Math.ceil(exp) + leeway, 9e18), now);
    }
    return claims;
  }
}
