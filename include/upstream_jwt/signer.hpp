// signer.hpp — mints the upstream JWT.
//
// A Signer is built once per (algorithm, key, kid): the header is rendered
// and base64url'ed once and the OpenSSL contexts are fetched and keyed once;
// each sign() reuses them. A Signer is immutable after create() and may be
// shared by threads.
#ifndef UPSTREAM_JWT_SIGNER_HPP
#define UPSTREAM_JWT_SIGNER_HPP

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "upstream_jwt/algorithm.hpp"
#include "upstream_jwt/keys.hpp"
#include "upstream_jwt/result.hpp"

namespace upstream_jwt {

// What one token says (docs/token-format.md). Emitted in this order:
//   iss, aud, iat, nbf, exp, jti, sub, consumer{id,username,custom_id},
//   credential{id}, htm, htu, query_sha256, body_sha256, hdrs, hdr_sha256,
//   extra claims.
// nullopt = claim absent. Every string must be valid UTF-8 (else
// Status::claims) and is JSON-escaped (RFC 8259).
struct Claims {
  std::string_view iss;                       // required
  std::optional<std::string_view> aud;
  std::int64_t now = 0;                       // epoch seconds; 0 = clock
  std::int64_t ttl = 60;                      // 1..86400
  std::optional<std::string_view> sub;
  std::optional<std::string_view> consumer_id;
  std::optional<std::string_view> consumer_username;
  std::optional<std::string_view> consumer_custom_id;
  std::optional<std::string_view> credential_id;
  std::optional<std::string_view> htm;
  std::optional<std::string_view> htu;
  // Raw query string; query_sha256 = base64url(SHA-256(query)). "" = none.
  std::optional<std::string_view> query;
  // Precomputed base64url SHA-256 of the body (43 chars; see Sha256).
  std::optional<std::string_view> body_sha256;
  // Header binding, both or neither: the bound names ','-joined (RFC 9110
  // tokens, any case; emitted lowercased as the "hdrs" array) and their
  // digest from headers_sha256 (43 chars; header_binding.hpp).
  std::optional<std::string_view> hdr_names;
  std::optional<std::string_view> hdr_sha256;
  // Text of a JSON object whose members are appended; a member named like
  // a registered claim, a duplicate member or a non-object is Status::claims.
  std::optional<std::string_view> extra_json;
};

class Signer {
 public:
  // key_material: HS* secret bytes, else a PEM private key.
  static Result<Signer> create(Algorithm alg, std::string_view key_material,
                               std::optional<std::string_view> kid = std::nullopt);
  static Result<Signer> create(const Key& key,
                               std::optional<std::string_view> kid = std::nullopt);

  Signer(Signer&&) noexcept;
  Signer& operator=(Signer&&) noexcept;
  ~Signer();

  Algorithm algorithm() const noexcept;
  // base64url of {"alg":..,"typ":"JWT"[,"kid":..]}.
  std::string_view encoded_header() const noexcept;

  // The compact JWS for these claims (fresh jti each call).
  Result<std::string> sign(const Claims& claims) const;

  // Same, written into out[0..cap) (no NUL); returns the length. When cap is
  // too small: Status::buffer_too_small with Error::needed set, nothing
  // written that matters (the next call draws a new jti anyway).
  Result<std::size_t> sign_to(const Claims& claims, char* out,
                              std::size_t cap) const;

  // Signs an arbitrary payload (its exact bytes) under this signer's header.
  // For tests and tools that need tokens with hand-made claims.
  Result<std::string> sign_payload(std::string_view payload_json) const;

 private:
  struct Impl;
  explicit Signer(std::unique_ptr<Impl> impl) noexcept;
  std::unique_ptr<Impl> impl_;
};

// Signs exact header and payload texts with `key` (which must hold a
// private key, or be an HMAC secret). Nothing is validated: this exists so
// tests can craft hostile tokens (bad typ, crit, duplicate members...).
Result<std::string> sign_compact(const Key& key, std::string_view header_json,
                                 std::string_view payload_json);

}  // namespace upstream_jwt

#endif  // UPSTREAM_JWT_SIGNER_HPP
