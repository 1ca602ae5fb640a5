// jwk.hpp — JSON Web Keys (RFC 7517): import for verifiers, public export.
#ifndef UPSTREAM_JWT_JWK_HPP
#define UPSTREAM_JWT_JWK_HPP

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "upstream_jwt/algorithm.hpp"
#include "upstream_jwt/keys.hpp"
#include "upstream_jwt/result.hpp"

namespace upstream_jwt {

struct JwkKey {
  Key key;                         // public (or oct secret) verification key
  std::optional<std::string> kid;  // the JWK's "kid", when it has one
};

// Parses one JWK object or a JWKS {"keys":[...]} (kty oct, RSA, EC with crv
// P-256, OKP with crv Ed25519). Each key's algorithm is its "alg" member, or
// `alg` when given (both present and different: Status::key). A JWK with
// "use" other than "sig" is refused. Private members ("d", ...) are ignored:
// only public material is imported. All or nothing.
Result<std::vector<JwkKey>> parse_jwks(std::string_view json,
                                       std::optional<Algorithm> alg);

// The public JWK of an asymmetric key, compact JSON:
//   RSA {"kty":"RSA","use":"sig","alg":..,"kid":..,"n":..,"e":..}
//   EC  {"kty":"EC","use":"sig","alg":"ES256","kid":..,"crv":"P-256","x":..,"y":..}
//   OKP {"kty":"OKP","use":"sig","alg":"EdDSA","kid":..,"crv":"Ed25519","x":..}
// "kid" only when given. HMAC keys are refused (Status::key): a shared
// secret is never published.
Result<std::string> public_jwk(const Key& key, std::optional<std::string_view> kid);

// {"keys":[<public_jwk>]} of a PEM key (private or public). alg nullopt =
// the key type's default (RSA -> RS256, EC P-256 -> ES256, Ed25519 -> EdDSA);
// an alg that does not fit the key is Status::key.
Result<std::string> jwks_from_pem(std::string_view pem,
                                  std::optional<std::string_view> kid,
                                  std::optional<Algorithm> alg);

}  // namespace upstream_jwt

#endif  // UPSTREAM_JWT_JWK_HPP
