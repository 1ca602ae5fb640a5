// Verify Kong upstream-jwt tokens in Node services.
//
//   import { Verifier } from 'upstream-jwt-verify';
//   import { upstreamJwt } from 'upstream-jwt-verify/express';
//   app.use(upstreamJwt(await Verifier.fromEnv(process.env, { audience: 'orders' })));
export { CORE_REASONS, ConfigurationError, VerificationError } from './errors.js';
export { JwksSource } from './jwks.js';
export { ALGORITHMS, KeySet, VerificationKey, keysFromJwks, makeKey } from './keys.js';
export { InMemoryReplayStore, RedisReplayStore } from './replay.js';
export { BodyHasher, canonicalHeaders, headersSha256, pairsOf, sha256b64 } from './request.js';
export { BINDINGS, DEFAULT_MAX_TOKEN_LENGTH, Verifier } from './verifier.js';
