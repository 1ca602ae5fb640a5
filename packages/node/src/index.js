// Verify Kong upstream-jwt tokens in Node services.
//
//   import { Verifier } from 'upstream-jwt-verify';
//   import { upstreamJwt } from 'upstream-jwt-verify/express';
//   app.use(upstreamJwt(await Verifier.fromEnv(process.env, { audience: 'orders' })));
//   // RFC 9421 (the plugin's format: http-message-signature):
//   app.use(upstreamJwt(await Verifier.fromEnv({ ...process.env, UPSTREAM_JWT_FORMAT: 'http-message-signature' })));
export { CORE_REASONS, ConfigurationError, VerificationError } from './errors.js';
export {
  DigestHasher, GATEWAY_COMPONENTS, HTTPSIG_ALG_OF_JWS, HTTPSIG_ALGORITHMS, HTTPSIG_FORMAT, HTTPSIG_REASONS, HttpSigKey,
  HttpSigVerifier, digestsOf, httpSigKeysOf, makeHttpSigKey,
} from './httpsig.js';
export { componentsFrom, signatureBase } from './httpsig-base.js';
export { JwksSource } from './jwks.js';
export { ALGORITHMS, KeySet, VerificationKey, keysFromJwks, makeKey } from './keys.js';
export { InMemoryReplayStore, JTI_PREFIX, NONCE_PREFIX, RedisReplayStore } from './replay.js';
export { BodyHasher, canonicalHeaders, headersSha256, pairsOf, sha256b64 } from './request.js';
export { BINDINGS, DEFAULT_MAX_TOKEN_LENGTH, Verifier } from './verifier.js';
