/*
 * upstream_jwt.h — the C ABI of libupstream_jwt.
 *
 * One header, opaque handles, explicit (pointer, length) inputs, caller-owned
 * output buffers. Every function is noexcept: no C++ exception ever crosses
 * this boundary. Functions return a status (UJWT_OK on success); on failure
 * the optional `ujwt_error *err` receives the status, the verification reason
 * (for UJWT_ERR_TOKEN_INVALID) and a NUL-terminated message. Messages never
 * contain key material.
 *
 * Strings are (const char *ptr, size_t len) pairs and need not be
 * NUL-terminated. Where a field is optional, ptr == NULL means "absent";
 * (non-NULL, 0) means "present and empty".
 *
 * Output buffers: (char *out, size_t out_cap, size_t *out_len). When the
 * buffer is too small the call returns UJWT_ERR_BUFFER_TOO_SMALL and stores
 * the needed size in *out_len; nothing else observable changes (a signer
 * draws a fresh jti on the retry, a verifier records no jti).
 *
 * Thread safety: a signer, verifier or replay cache may be shared between
 * threads for signing/verifying; a digest handle belongs to one thread.
 */
#ifndef UPSTREAM_JWT_H
#define UPSTREAM_JWT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define UJWT_API __attribute__((visibility("default")))
#else
#define UJWT_API
#endif

#define UJWT_VERSION_STRING "0.1.0"

/* ---- status codes ---------------------------------------------------- */
enum {
  UJWT_OK = 0,
  UJWT_ERR_INVALID_ARGUMENT = 1, /* NULL handle, bad enum, negative ttl... */
  UJWT_ERR_BUFFER_TOO_SMALL = 2, /* *out_len holds the size needed */
  UJWT_ERR_KEY = 3,              /* key unusable: unparsable PEM/JWK, short
                                    HMAC secret, key type != algorithm */
  UJWT_ERR_ALGORITHM = 4,        /* unknown or unsupported algorithm name */
  UJWT_ERR_CLAIMS = 5,           /* invalid UTF-8, extra claims not a JSON
                                    object, extra claim overrides a
                                    registered one */
  UJWT_ERR_TOKEN_INVALID = 6,    /* verification failed: see err->reason */
  UJWT_ERR_INTERNAL = 7          /* OpenSSL or allocation failure */
};

/* ---- verification reasons (err->reason when UJWT_ERR_TOKEN_INVALID) --- */
enum {
  UJWT_REASON_NONE = 0,
  UJWT_REASON_TOKEN_TOO_LONG = 1,      /* "token_too_long" */
  UJWT_REASON_MALFORMED = 2,           /* "malformed": not 3 segments */
  UJWT_REASON_BAD_BASE64 = 3,          /* "bad_base64": padding, foreign
                                          character, non-canonical bits */
  UJWT_REASON_BAD_HEADER = 4,          /* "bad_header": not a JSON object,
                                          duplicate member, bad typ */
  UJWT_REASON_BAD_CLAIMS = 5,          /* "bad_claims": not a JSON object,
                                          duplicate member, wrong types */
  UJWT_REASON_ALG_NONE = 6,            /* "alg_none" */
  UJWT_REASON_ALG_NOT_ALLOWED = 7,     /* "alg_not_allowed": no key accepts
                                          this alg */
  UJWT_REASON_KEY_CONFUSION = 8,       /* "key_confusion": HS* token against
                                          an asymmetric key or the reverse */
  UJWT_REASON_UNKNOWN_KID = 9,         /* "unknown_kid" */
  UJWT_REASON_CRIT_UNSUPPORTED = 10,   /* "crit_unsupported" */
  UJWT_REASON_BAD_SIGNATURE = 11,      /* "bad_signature" */
  UJWT_REASON_MISSING_CLAIM = 12,      /* "missing_claim": exp (always), iss/
                                          aud/jti/binding claims when checked */
  UJWT_REASON_EXPIRED = 13,            /* "expired" */
  UJWT_REASON_NOT_YET_VALID = 14,      /* "not_yet_valid": nbf in future */
  UJWT_REASON_ISSUED_IN_FUTURE = 15,   /* "issued_in_future": iat in future */
  UJWT_REASON_LIFETIME_TOO_LONG = 16,  /* "lifetime_too_long": exp - iat (or
                                          exp - now without iat) > max */
  UJWT_REASON_BAD_ISSUER = 17,         /* "bad_issuer" */
  UJWT_REASON_BAD_AUDIENCE = 18,       /* "bad_audience" */
  UJWT_REASON_METHOD_MISMATCH = 19,    /* "method_mismatch" (htm) */
  UJWT_REASON_PATH_MISMATCH = 20,      /* "path_mismatch" (htu) */
  UJWT_REASON_QUERY_MISMATCH = 21,     /* "query_mismatch" (query_sha256) */
  UJWT_REASON_BODY_MISMATCH = 22,      /* "body_mismatch" (body_sha256) */
  UJWT_REASON_REPLAYED = 23,           /* "replayed": jti seen before */
  UJWT_REASON_HEADER_MISMATCH = 24,    /* "header_mismatch": hdr_sha256 does
                                          not match the received headers, or
                                          a required header is not in hdrs */
  UJWT_REASON_REPLAY_CACHE_FULL = 25,  /* "replay_cache_full": the in-memory
                                          replay cache is full of live
                                          entries; answer 503 */
  UJWT_REASON_COUNT_ = 26
};

#define UJWT_ERROR_MESSAGE_MAX 256

typedef struct ujwt_error {
  int status;                            /* UJWT_OK or UJWT_ERR_* */
  int reason;                            /* UJWT_REASON_* */
  char message[UJWT_ERROR_MESSAGE_MAX];  /* NUL-terminated, never a secret */
} ujwt_error;

/* "0.1.0" */
UJWT_API const char *ujwt_version(void);
/* Stable snake_case name of a reason ("expired"); "unknown" if out of range. */
UJWT_API const char *ujwt_reason_name(int reason);
/* Short name of a status ("ok", "key", ...); "unknown" if out of range. */
UJWT_API const char *ujwt_status_name(int status);

/* ---- streaming SHA-256 -> base64url ------------------------------------- */
#define UJWT_SHA256_B64_LEN 43 /* base64url, no padding, of 32 bytes */

typedef struct ujwt_digest ujwt_digest;

UJWT_API int ujwt_digest_new(ujwt_digest **out, ujwt_error *err);
UJWT_API void ujwt_digest_free(ujwt_digest *d); /* NULL is fine */
/* Start over (also done implicitly after ujwt_digest_final). */
UJWT_API int ujwt_digest_reset(ujwt_digest *d, ujwt_error *err);
UJWT_API int ujwt_digest_update(ujwt_digest *d, const uint8_t *data,
                                size_t len, ujwt_error *err);
/* Writes exactly UJWT_SHA256_B64_LEN chars (no NUL) and resets the digest. */
UJWT_API int ujwt_digest_final(ujwt_digest *d, char *out, size_t out_cap,
                               size_t *out_len, ujwt_error *err);
/* One shot: base64url(SHA-256(data)). */
UJWT_API int ujwt_sha256_b64(const uint8_t *data, size_t len, char *out,
                             size_t out_cap, size_t *out_len, ujwt_error *err);

/* ---- header binding ---------------------------------------------------- */
/*
 * One request header field line as received. A header sent several times is
 * passed several times, in the order received.
 */
typedef struct ujwt_header {
  const char *name; size_t name_len;
  const char *value; size_t value_len;
} ujwt_header;

/*
 * hdr_sha256 for the bound header names `names` (','-joined RFC 9110 tokens,
 * any case, e.g. "Content-Type,X-HTTP-Method-Override"; no spaces, no empty
 * or repeated name) over `headers` (repeats allowed; names matched
 * case-insensitively). Writes exactly UJWT_SHA256_B64_LEN chars (no NUL):
 * base64url(SHA-256(canonical)), canonical being, for each name in order,
 *   lowercased-name ":" value "\n"
 * where value is every field line of that name, in the order received, with
 * leading/trailing spaces and tabs trimmed, joined with ", " (absent header:
 * empty value). See docs/token-format.md. A bad name list, or a bound header
 * whose value holds CR, LF or NUL, is UJWT_ERR_INVALID_ARGUMENT.
 */
UJWT_API int ujwt_headers_sha256(const char *names, size_t names_len,
                                 const ujwt_header *headers,
                                 size_t header_count, char *out,
                                 size_t out_cap, size_t *out_len,
                                 ujwt_error *err);

/* ---- signer ----------------------------------------------------------- */
typedef struct ujwt_signer ujwt_signer;

/*
 * alg: "HS256" | "HS384" | "HS512" | "RS256" | "PS256" | "ES256" | "EdDSA".
 * key: for HS* the secret's raw bytes (at least 32/48/64 bytes); otherwise a
 *      PEM private key (PKCS#8 or traditional) of the matching type
 *      (RSA >= 2048 bits, EC P-256, Ed25519).
 * kid: optional (NULL = no "kid" in the header).
 */
UJWT_API int ujwt_signer_new(const char *alg, size_t alg_len,
                             const uint8_t *key, size_t key_len,
                             const char *kid, size_t kid_len,
                             ujwt_signer **out, ujwt_error *err);
UJWT_API void ujwt_signer_free(ujwt_signer *s); /* NULL is fine */

/*
 * What one token says. Optional strings: ptr NULL = claim absent.
 * Claims are emitted in this order (docs/token-format.md):
 *   iss, aud, iat, nbf, exp, jti, sub, consumer{id,username,custom_id},
 *   credential{id}, htm, htu, query_sha256, body_sha256, hdrs, hdr_sha256,
 *   then extra claims.
 * iat = nbf = now, exp = now + ttl, jti = base64url(128 random bits).
 */
typedef struct ujwt_claims {
  const char *iss; size_t iss_len;            /* required */
  const char *aud; size_t aud_len;            /* optional */
  int64_t now;                                /* epoch seconds; 0 = clock */
  int64_t ttl;                                /* seconds, 1..86400 */
  const char *sub; size_t sub_len;            /* optional */
  /* "consumer" object, emitted when any member is present */
  const char *consumer_id; size_t consumer_id_len;
  const char *consumer_username; size_t consumer_username_len;
  const char *consumer_custom_id; size_t consumer_custom_id_len;
  /* "credential": {"id": ...}, emitted when present */
  const char *credential_id; size_t credential_id_len;
  /* request binding: htm/htu emitted when non-NULL */
  const char *htm; size_t htm_len;
  const char *htu; size_t htu_len;
  /* query_sha256: emitted when query != NULL, as base64url(SHA-256(query)).
     Pass ("", 0) for "no query string". */
  const char *query; size_t query_len;
  /* body_sha256: emitted when body_sha256 != NULL; the caller computes it
     with ujwt_digest (so bodies of any size stream) or ujwt_sha256_b64.
     Must be exactly UJWT_SHA256_B64_LEN base64url chars. */
  const char *body_sha256; size_t body_sha256_len;
  /* Static extra claims: a JSON object's text, or NULL. Members are
     appended after the registered claims; a member whose name is one of
     the registered claims above is refused with UJWT_ERR_CLAIMS. */
  const char *extra_json; size_t extra_json_len;
  /* Header binding (appended after extra_json so the layout of everything
     above is unchanged). hdr_names: the bound names, ','-joined (as for
     ujwt_headers_sha256), emitted lowercased as the "hdrs" array; NULL = no
     header binding. hdr_sha256: ujwt_headers_sha256 over the same names,
     exactly UJWT_SHA256_B64_LEN base64url chars. Both or neither. */
  const char *hdr_names; size_t hdr_names_len;
  const char *hdr_sha256; size_t hdr_sha256_len;
} ujwt_claims;

/* Writes the compact JWS (no NUL). */
UJWT_API int ujwt_sign(const ujwt_signer *s, const ujwt_claims *claims,
                       char *out, size_t out_cap, size_t *out_len,
                       ujwt_error *err);

/* ---- replay cache ----------------------------------------------------- */
typedef struct ujwt_replay_cache ujwt_replay_cache;

/* In-memory, bounded to `capacity` jti values, per process. An entry lives
   until its token's exp (+ leeway) and is never dropped before: when the
   cache is full, expired entries are dropped first, and if it is still full
   of live entries the new token is refused with
   UJWT_REASON_REPLAY_CACHE_FULL (nothing live is evicted). Size it for
   capacity >= peak request rate x (max token lifetime + leeway). */
UJWT_API int ujwt_replay_cache_new(size_t capacity, ujwt_replay_cache **out,
                                   ujwt_error *err);
UJWT_API void ujwt_replay_cache_free(ujwt_replay_cache *c); /* NULL is fine */

/* ---- verifier --------------------------------------------------------- */
typedef struct ujwt_verifier ujwt_verifier;

UJWT_API int ujwt_verifier_new(ujwt_verifier **out, ujwt_error *err);
UJWT_API void ujwt_verifier_free(ujwt_verifier *v); /* NULL is fine */

/*
 * Add one key, usable with exactly `alg`. key: HS* secret bytes; otherwise
 * a PEM public key (SubjectPublicKeyInfo) or a PEM private key (its public
 * half is used). kid optional: a token whose header has a kid is checked
 * against the key registered with that kid; when no key has it, against
 * the keys registered without a kid for its alg (so a single kid-less key
 * verifies a gateway that sets key_id), and when there are none either the
 * reason is UJWT_REASON_UNKNOWN_KID. A token without kid is tried against
 * every key registered for its alg. Several keys at once make rotation
 * possible. Adding a second key with the same kid is
 * UJWT_ERR_INVALID_ARGUMENT.
 */
UJWT_API int ujwt_verifier_add_key(ujwt_verifier *v, const char *alg,
                                   size_t alg_len, const uint8_t *key,
                                   size_t key_len, const char *kid,
                                   size_t kid_len, ujwt_error *err);
/*
 * Add a JWK (RFC 7517: kty oct/RSA/EC/OKP) or a JWKS {"keys":[...]}. Each
 * key needs "alg" (or the `alg` argument, NULL = take it from the JWK);
 * "kid" is taken from the JWK.
 */
UJWT_API int ujwt_verifier_add_jwk(ujwt_verifier *v, const char *json,
                                   size_t json_len, const char *alg,
                                   size_t alg_len, ujwt_error *err);

typedef struct ujwt_verify_options {
  const char *issuer; size_t issuer_len;     /* NULL = not checked */
  const char *audience; size_t audience_len; /* NULL = not checked; a string
                                                aud must equal it, an array
                                                must contain it */
  int64_t now;            /* epoch seconds; 0 = clock */
  int64_t leeway;         /* seconds, >= 0, applied to exp/nbf/iat */
  int64_t max_lifetime;   /* seconds; <= 0 = unlimited */
  size_t max_token_length;/* bytes; 0 = default 8192 */
  /* request binding; NULL = not checked. A checked claim that is missing
     from the token is UJWT_REASON_MISSING_CLAIM. */
  const char *method; size_t method_len;       /* vs htm (exact) */
  const char *path; size_t path_len;           /* vs htu (exact) */
  const char *query; size_t query_len;         /* raw query, hashed, vs
                                                  query_sha256 */
  const char *body_sha256; size_t body_sha256_len; /* vs body_sha256 */
  ujwt_replay_cache *replay_cache;             /* NULL = no replay check;
                                                  else jti is required */
  /* Header binding (appended). headers: the request's header field lines
     as received (repeats allowed); NULL = not checked. When set, the token
     must carry hdrs and hdr_sha256 (else UJWT_REASON_MISSING_CLAIM) and
     the digest of these headers over the token's hdrs must equal
     hdr_sha256 (else UJWT_REASON_HEADER_MISMATCH). */
  const ujwt_header *headers; size_t header_count;
  /* ','-joined names that must all be in the token's hdrs (any case), else
     UJWT_REASON_HEADER_MISMATCH; NULL = none. Needs headers. */
  const char *required_headers; size_t required_headers_len;
} ujwt_verify_options;

/*
 * Verify a compact JWS. On success writes the claims JSON (the token's
 * payload as sent) to out (may be NULL with out_cap 0 to skip; out_len may
 * be NULL only then) and returns
 * UJWT_OK. Otherwise UJWT_ERR_TOKEN_INVALID with err->reason and a message
 * naming it. Checks run in this order: length, shape, base64url, header,
 * alg/kid/key selection, signature, claims JSON, time, iss, aud, binding
 * (htm, htu, query_sha256, body_sha256, headers), output size, replay (last,
 * so a too-small buffer records nothing).
 */
UJWT_API int ujwt_verify(const ujwt_verifier *v, const char *token,
                         size_t token_len, const ujwt_verify_options *opts,
                         char *out, size_t out_cap, size_t *out_len,
                         ujwt_error *err);

/* ---- JWKS ------------------------------------------------------------- */
/* Public JWKS {"keys":[{...,"use":"sig","alg":...,"kid":...}]} of a PEM
   key (private or public): RSA -> RS256 (or PS256 via alg), EC P-256 ->
   ES256, Ed25519 -> EdDSA. alg optional (NULL = the key type's default). */
UJWT_API int ujwt_jwks_from_pem(const uint8_t *pem, size_t pem_len,
                                const char *kid, size_t kid_len,
                                const char *alg, size_t alg_len, char *out,
                                size_t out_cap, size_t *out_len,
                                ujwt_error *err);

/* ---- RFC 9421 HTTP Message Signatures, RFC 9530 Content-Digest ------- */
/*
 * Signatures over an HTTP message: the signer returns the Signature-Input and
 * Signature dictionary members (`label=(...);created=...` and
 * `label=:base64:`), the verifier reads those fields from the message,
 * rebuilds the signature base and checks it. Algorithms (RFC 9421 registry
 * names): "hmac-sha256" (secret >= 32 bytes), "ed25519", "ecdsa-p256-sha256"
 * (raw r||s), "rsa-pss-sha512" (64-byte salt when signing; any salt length
 * verifies), "rsa-v1_5-sha256"; RSA keys >= 2048 bits. A rejected signature
 * is UJWT_ERR_TOKEN_INVALID with err->reason one of these:
 */
enum {
  UJWT_HTTPSIG_REASON_MISSING_SIGNATURE = 101, /* no Signature-Input/Signature,
                                                  or none with the label */
  UJWT_HTTPSIG_REASON_MALFORMED = 102,         /* a field or member is not
                                                  what RFC 9421 defines, or
                                                  Signature-Input repeats a
                                                  parameter */
  UJWT_HTTPSIG_REASON_AMBIGUOUS = 103,         /* several signatures, no label */
  UJWT_HTTPSIG_REASON_BAD_COMPONENT = 104,     /* a covered component cannot be
                                                  derived (field absent, ...) */
  UJWT_HTTPSIG_REASON_MISSING_COMPONENT = 105, /* a required component is not
                                                  covered */
  UJWT_HTTPSIG_REASON_UNKNOWN_KEY = 106,       /* no key for the keyid (keyid="" names none) */
  UJWT_HTTPSIG_REASON_ALG_MISMATCH = 107,      /* alg param != the key's */
  UJWT_HTTPSIG_REASON_MISSING_PARAMETER = 108, /* created (or expires when
                                                  required) absent */
  UJWT_HTTPSIG_REASON_EXPIRED = 109,           /* now > expires + leeway */
  UJWT_HTTPSIG_REASON_CREATED_IN_FUTURE = 110, /* created > now + leeway */
  UJWT_HTTPSIG_REASON_TOO_OLD = 111,           /* now - created > max_age +
                                                  leeway */
  UJWT_HTTPSIG_REASON_TAG_MISMATCH = 112,      /* tag != the required tag */
  UJWT_HTTPSIG_REASON_BAD_SIGNATURE = 113,     /* signature does not verify */
  UJWT_HTTPSIG_REASON_DIGEST_MISMATCH = 114,   /* Content-Digest != content */
  UJWT_HTTPSIG_REASON_MISSING_DIGEST = 115     /* no sha-256/sha-512 member */
};
/* "bad_signature", ...; "unknown" if out of range. */
UJWT_API const char *ujwt_httpsig_reason_name(int reason);

typedef struct ujwt_httpsig_field {
  const char *name; size_t name_len;   /* any case */
  const char *value; size_t value_len; /* one field line's value */
} ujwt_httpsig_field;

/* A view of one HTTP message; nothing is copied or kept after the call. */
typedef struct ujwt_httpsig_message {
  const char *method; size_t method_len;         /* requests */
  const char *target_uri; size_t target_uri_len; /* requests: absolute URI,
                                                    scheme://authority/path?query */
  int status;                                    /* responses: 100..999;
                                                    0 = a request */
  const ujwt_httpsig_field *fields; size_t field_count; /* in message order */
  const struct ujwt_httpsig_message *request;    /* responses: the request,
                                                    for ;req components */
} ujwt_httpsig_message;

typedef struct ujwt_httpsig_signer ujwt_httpsig_signer;

/* key: hmac-sha256: the secret's bytes; others: a PEM private key of the
   matching type. keyid optional (NULL = no keyid parameter). */
UJWT_API int ujwt_httpsig_signer_new(const char *alg, size_t alg_len,
                                     const uint8_t *key, size_t key_len,
                                     const char *keyid, size_t keyid_len,
                                     ujwt_httpsig_signer **out,
                                     ujwt_error *err);
UJWT_API void ujwt_httpsig_signer_free(ujwt_httpsig_signer *s); /* NULL ok */

typedef struct ujwt_httpsig_sign_params {
  const char *label; size_t label_len;  /* NULL = "sig1"; an sf key */
  /* Covered components as an RFC 9421 inner list, e.g.
     ("@method" "@target-uri" "content-digest" "@query-param";name="id") */
  const char *components; size_t components_len;
  int64_t created;                      /* epoch s; 0 = clock; < 0 = omit */
  int64_t expires;                      /* epoch s; 0 = no expires */
  const char *nonce; size_t nonce_len;  /* NULL = no nonce */
  int random_nonce;                     /* != 0: 128 random bits, base64url */
  const char *tag; size_t tag_len;      /* NULL = no tag */
  int include_alg;                      /* != 0: alg="<algorithm>" */
} ujwt_httpsig_sign_params;

/* Writes the Signature-Input member to input_out and the Signature member to
   sig_out (no NUL). When either buffer is too small: UJWT_ERR_BUFFER_TOO_SMALL
   with both needed sizes stored (a retry signs anew: new nonce, new created
   when taken from the clock). */
UJWT_API int ujwt_httpsig_sign(const ujwt_httpsig_signer *s,
                               const ujwt_httpsig_message *msg,
                               const ujwt_httpsig_sign_params *params,
                               char *input_out, size_t input_cap,
                               size_t *input_len, char *sig_out,
                               size_t sig_cap, size_t *sig_len,
                               ujwt_error *err);

typedef struct ujwt_httpsig_verifier ujwt_httpsig_verifier;

UJWT_API int ujwt_httpsig_verifier_new(ujwt_httpsig_verifier **out,
                                       ujwt_error *err);
UJWT_API void ujwt_httpsig_verifier_free(ujwt_httpsig_verifier *v);
/* key: hmac-sha256 secret bytes; others: a PEM public (or private) key.
   keyid: the keyid parameter that selects this key; NULL or empty = the key
   for signatures without a keyid parameter (a signature's keyid="" selects
   no key: UJWT_HTTPSIG_REASON_UNKNOWN_KEY). A repeated keyid:
   UJWT_ERR_INVALID_ARGUMENT. */
UJWT_API int ujwt_httpsig_verifier_add_key(ujwt_httpsig_verifier *v,
                                           const char *alg, size_t alg_len,
                                           const uint8_t *key, size_t key_len,
                                           const char *keyid, size_t keyid_len,
                                           ujwt_error *err);

/* All-zero options are the strict defaults: created required, no age limit. */
typedef struct ujwt_httpsig_verify_options {
  const char *label; size_t label_len; /* NULL = the only signature present */
  int64_t now;                         /* epoch s; 0 = clock */
  int64_t leeway;                      /* s, >= 0, for created and expires */
  int64_t max_age;                     /* s since created; <= 0 = unlimited */
  int allow_missing_created;           /* != 0: created may be absent */
  int require_expires;                 /* != 0: expires must be present */
  /* Components that must be covered, as an inner list; NULL = none. */
  const char *required_components; size_t required_components_len;
  const char *tag; size_t tag_len;     /* NULL = any tag */
} ujwt_httpsig_verify_options;

/* On success writes a JSON object describing the verified signature
   ({"label","keyid","alg","created","expires","nonce","tag","components"})
   to out (out may be NULL with out_cap 0 to skip). Checks in this order:
   fields present and parse, label, member shapes, key and alg, required
   components, tag, created/expires, signature base, signature. */
UJWT_API int ujwt_httpsig_verify(const ujwt_httpsig_verifier *v,
                                 const ujwt_httpsig_message *msg,
                                 const ujwt_httpsig_verify_options *opts,
                                 char *out, size_t out_cap, size_t *out_len,
                                 ujwt_error *err);

/* Content-Digest (RFC 9530), streamed. */
#define UJWT_CONTENT_DIGEST_SHA256 1u
#define UJWT_CONTENT_DIGEST_SHA512 2u
#define UJWT_CONTENT_DIGEST_MAX_LEN 154 /* both: "sha-256=:..:, sha-512=:..:" */

typedef struct ujwt_content_digest ujwt_content_digest;

/* algorithms: UJWT_CONTENT_DIGEST_SHA256 and/or _SHA512. */
UJWT_API int ujwt_content_digest_new(unsigned algorithms,
                                     ujwt_content_digest **out,
                                     ujwt_error *err);
UJWT_API void ujwt_content_digest_free(ujwt_content_digest *d);
UJWT_API int ujwt_content_digest_update(ujwt_content_digest *d,
                                        const uint8_t *data, size_t len,
                                        ujwt_error *err);
/* Writes the field value (e.g. "sha-256=:...:") and starts over; a too small
   buffer changes nothing. */
UJWT_API int ujwt_content_digest_final(ujwt_content_digest *d, char *out,
                                       size_t out_cap, size_t *out_len,
                                       ujwt_error *err);
/* Compares a received Content-Digest value with the content hashed so far
   and starts over. Members for other algorithms are ignored; each checked
   one present must match (UJWT_HTTPSIG_REASON_DIGEST_MISMATCH) and at least
   one must be present (UJWT_HTTPSIG_REASON_MISSING_DIGEST). */
UJWT_API int ujwt_content_digest_check(ujwt_content_digest *d,
                                       const char *field, size_t field_len,
                                       ujwt_error *err);

#ifdef __cplusplus
}
#endif
#endif /* UPSTREAM_JWT_H */
