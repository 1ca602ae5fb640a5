// algorithm.hpp — the JWS algorithms this library speaks, and nothing else.
#ifndef UPSTREAM_JWT_ALGORITHM_HPP
#define UPSTREAM_JWT_ALGORITHM_HPP

#include <cstddef>
#include <optional>
#include <string_view>

namespace upstream_jwt {

enum class Algorithm { HS256, HS384, HS512, RS256, PS256, ES256, EdDSA };

// Which kind of key an algorithm needs.
enum class KeyFamily { hmac, rsa, rsa_pss, ec, ed };

// Exact, case-sensitive JWS names ("HS256", ..., "EdDSA"); nullopt otherwise.
std::optional<Algorithm> parse_algorithm(std::string_view name) noexcept;
std::string_view algorithm_name(Algorithm alg) noexcept;
KeyFamily key_family(Algorithm alg) noexcept;
inline bool is_hmac(Algorithm alg) noexcept {
  return key_family(alg) == KeyFamily::hmac;
}
// HS256/384/512: the hash output size, which is also the minimum secret
// length we accept (RFC 7518 §3.2). 0 for the asymmetric algorithms.
std::size_t hmac_min_secret_size(Algorithm alg) noexcept;

}  // namespace upstream_jwt

#endif  // UPSTREAM_JWT_ALGORITHM_HPP
