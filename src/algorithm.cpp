#include "upstream_jwt/algorithm.hpp"

namespace upstream_jwt {

std::optional<Algorithm> parse_algorithm(std::string_view name) noexcept {
  if (name == "HS256") return Algorithm::HS256;
  if (name == "HS384") return Algorithm::HS384;
  if (name == "HS512") return Algorithm::HS512;
  if (name == "RS256") return Algorithm::RS256;
  if (name == "PS256") return Algorithm::PS256;
  if (name == "ES256") return Algorithm::ES256;
  if (name == "EdDSA") return Algorithm::EdDSA;
  return std::nullopt;
}

std::string_view algorithm_name(Algorithm alg) noexcept {
  switch (alg) {
    case Algorithm::HS256: return "HS256";
    case Algorithm::HS384: return "HS384";
    case Algorithm::HS512: return "HS512";
    case Algorithm::RS256: return "RS256";
    case Algorithm::PS256: return "PS256";
    case Algorithm::ES256: return "ES256";
    case Algorithm::EdDSA: return "EdDSA";
  }
  return "unknown";
}

KeyFamily key_family(Algorithm alg) noexcept {
  switch (alg) {
    case Algorithm::HS256:
    case Algorithm::HS384:
    case Algorithm::HS512: return KeyFamily::hmac;
    case Algorithm::RS256: return KeyFamily::rsa;
    case Algorithm::PS256: return KeyFamily::rsa_pss;
    case Algorithm::ES256: return KeyFamily::ec;
    case Algorithm::EdDSA: return KeyFamily::ed;
  }
  return KeyFamily::hmac;
}

std::size_t hmac_min_secret_size(Algorithm alg) noexcept {
  switch (alg) {
    case Algorithm::HS256: return 32;
    case Algorithm::HS384: return 48;
    case Algorithm::HS512: return 64;
    default: return 0;
  }
}

}  // namespace upstream_jwt
