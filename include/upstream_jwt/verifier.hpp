// verifier.hpp — the service side: checks an upstream JWT completely.
//
// Checks run in this order, and the first failure is returned as
// Status::token_invalid with its Reason and a message naming it:
// length, shape, base64url, header, alg/kid/key selection, signature,
// claims JSON, time (exp/nbf/iat with leeway, max lifetime), iss, aud,
// request binding (htm, htu, query_sha256, body_sha256, hdrs/hdr_sha256),
// replay. docs/token-format.md describes the token and every reason.
//
// Key selection: a token whose header has a kid is checked against the key
// registered with that kid only; if no key has that kid, keys registered
// *without* a kid for the token's alg are tried (they accept any kid), and
// with none of those either the reason is unknown_kid. A token without kid
// is tried against every key registered for its alg. An HS* token while only
// asymmetric keys are registered (or an asymmetric token while only HMAC
// secrets are) is key_confusion; otherwise an alg no key accepts is
// alg_not_allowed.
//
// add_key/add_jwk are not thread-safe; verify() is (the Verifier is
// immutable during verification).
#ifndef UPSTREAM_JWT_VERIFIER_HPP
#define UPSTREAM_JWT_VERIFIER_HPP

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "upstream_jwt/algorithm.hpp"
#include "upstream_jwt/header_binding.hpp"
#include "upstream_jwt/keys.hpp"
#include "upstream_jwt/replay_cache.hpp"
#include "upstream_jwt/result.hpp"

namespace upstream_jwt {

inline constexpr std::size_t kDefaultMaxTokenLength = 8192;

struct VerifyOptions {
  std::optional<std::string_view> issuer;    // nullopt = not checked
  std::optional<std::string_view> audience;  // string aud must equal it,
                                             // array aud must contain it
  std::int64_t now = 0;           // epoch seconds; 0 = clock
  std::int64_t leeway = 0;        // >= 0, applied to exp/nbf/iat
  std::int64_t max_lifetime = 0;  // <= 0 = unlimited
  std::size_t max_token_length = 0;  // 0 = kDefaultMaxTokenLength
  // Request binding; nullopt = not checked; checked but absent from the
  // token = missing_claim.
  std::optional<std::string_view> method;       // == htm
  std::optional<std::string_view> path;         // == htu
  std::optional<std::string_view> query;        // SHA-256 == query_sha256
  std::optional<std::string_view> body_sha256;  // == body_sha256
  ReplayCache* replay_cache = nullptr;  // set: jti required and checked
  // Header binding: the request's header lines as received (repeats
  // allowed). Set: hdrs and hdr_sha256 are required (missing_claim) and the
  // digest of these headers over the token's hdrs must match
  // (header_mismatch). nullopt = not checked.
  std::optional<HeaderList> headers;
  // ','-joined names (any case) that must all be listed in the token's
  // hdrs, else header_mismatch. Needs `headers` (else invalid_argument).
  std::optional<std::string_view> required_headers;
};

struct VerifiedToken {
  std::string header;   // decoded header JSON
  std::string payload;  // decoded claims JSON, the bytes as sent
  Algorithm alg = Algorithm::HS256;
  std::optional<std::string> kid;
  std::optional<std::string> jti;
  std::int64_t replay_expires_at = 0;  // exp + leeway (replay entry lifetime)
  std::int64_t now = 0;                // the clock value the checks used
};

class Verifier {
 public:
  Verifier();
  Verifier(Verifier&&) noexcept;
  Verifier& operator=(Verifier&&) noexcept;
  ~Verifier();

  // key_material: HS* secret bytes; else PEM public or private key.
  // A kid already registered is Status::invalid_argument.
  Result<void> add_key(Algorithm alg, std::string_view key_material,
                       std::optional<std::string_view> kid = std::nullopt);
  Result<void> add_key(const Key& key,
                       std::optional<std::string_view> kid = std::nullopt);
  // One JWK or a JWKS; see parse_jwks. All or nothing.
  Result<void> add_jwk(std::string_view json,
                       std::optional<Algorithm> alg = std::nullopt);
  std::size_t key_count() const noexcept;

  // Every check including replay.
  Result<VerifiedToken> verify(std::string_view token,
                               const VerifyOptions& opts) const;

  // Every check except recording the jti (still required when
  // opts.replay_cache is set). With record_replay() afterwards this is
  // verify() split in two, so a caller can refuse the result (say its output
  // buffer is too small) without burning the jti.
  Result<VerifiedToken> verify_without_replay(std::string_view token,
                                              const VerifyOptions& opts) const;
  // The replay step alone: no-op without opts.replay_cache; `replayed`
  // rejection when the jti is live.
  Result<void> record_replay(const VerifiedToken& token,
                             const VerifyOptions& opts) const;

  // verify() with the claims JSON (the payload bytes as sent) written to a
  // caller's buffer instead of a VerifiedToken: a token of up to
  // kDefaultMaxTokenLength characters whose header and claims are plain
  // (the usual case; see scan_flat_object in src/json_util.hpp) is checked
  // without any heap allocation. out may be NULL (out_cap ignored) to skip
  // the copy. Once every check but replay has passed, *claims_size (if not
  // NULL) is the payload's length; then a buffer smaller than that is
  // Status::buffer_too_small (Error::needed = the length) and records no
  // jti; then the replay step; then the copy. Returns the payload length.
  Result<std::size_t> verify_to(std::string_view token, const VerifyOptions& opts,
                                char* out, std::size_t out_cap,
                                std::size_t* claims_size = nullptr) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace upstream_jwt

#endif  // UPSTREAM_JWT_VERIFIER_HPP
