// Rejection reasons: the stable names of the C++ core, plus the package's own.

export const CORE_REASONS = Object.freeze([
  'token_too_long', 'malformed', 'bad_base64', 'bad_header', 'bad_claims', 'alg_none',
  'alg_not_allowed', 'key_confusion', 'unknown_kid', 'crit_unsupported', 'bad_signature',
  'missing_claim', 'expired', 'not_yet_valid', 'issued_in_future', 'lifetime_too_long',
  'bad_issuer', 'bad_audience', 'method_mismatch', 'path_mismatch', 'query_mismatch',
  'body_mismatch', 'replayed', 'header_mismatch', 'replay_cache_full',
]);

// What the middleware answers for each reason that is not a plain 401.
const HTTP_STATUS = {
  replay_cache_full: 503, // the service is saturated, the token may be fine
  replay_store_unavailable: 503, // Redis down: fail closed
  jwks_unavailable: 503, // no key set could be fetched yet
  body_too_large: 413,
  bad_request: 400,
};

// A token or request that is refused. `reason` is a stable snake_case name
// (the core's names, plus missing_token, replay_store_unavailable,
// jwks_unavailable, body_too_large, bad_request); `message` never contains key
// material.
export class VerificationError extends Error {
  constructor(reason, message = '') {
    super(message ? `${reason}: ${message}` : reason);
    this.name = 'VerificationError';
    this.reason = reason;
    this.detail = message || reason;
  }

  get status() {
    return HTTP_STATUS[this.reason] ?? 401;
  }
}

// A key or option the verifier cannot use (start-up, not per request).
export class ConfigurationError extends Error {
  constructor(message) {
    super(message);
    this.name = 'ConfigurationError';
  }
}
