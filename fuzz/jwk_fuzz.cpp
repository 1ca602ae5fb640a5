// jwk_fuzz — JWK / JWKS import (what a service loads from the gateway's
// published key set, possibly fetched over the network).
//
// Byte 0 picks the `alg` argument (none, or one of the seven), the rest is
// the JSON text. Properties:
//   - parse_jwks and Verifier::add_jwk agree (all or nothing);
//   - every imported key is public (never a private half) and bound to the
//     algorithm asked for;
//   - an imported asymmetric key re-exports through public_jwk() to JSON
//     that parses back to a key of the same algorithm and kid.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "upstream_jwt/all.hpp"

namespace uj = upstream_jwt;

namespace {
constexpr uj::Algorithm kAlgs[] = {uj::Algorithm::HS256, uj::Algorithm::HS384,
                                   uj::Algorithm::HS512, uj::Algorithm::RS256,
                                   uj::Algorithm::PS256, uj::Algorithm::ES256,
                                   uj::Algorithm::EdDSA};
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const unsigned pick = data[0] % 8;
  const std::optional<uj::Algorithm> alg =
      pick == 0 ? std::nullopt : std::optional<uj::Algorithm>(kAlgs[pick - 1]);
  const std::string_view json(reinterpret_cast<const char*>(data + 1), size - 1);

  auto keys = uj::parse_jwks(json, alg);
  uj::Verifier v;
  auto added = v.add_jwk(json, alg);
  if (keys.ok() != added.ok()) std::abort();
  if (!keys.ok()) {
    if (keys.error().status == uj::Status::ok) std::abort();
    if (v.key_count() != 0) std::abort();  // all or nothing
    return 0;
  }
  for (const uj::JwkKey& k : keys.value()) {
    if (alg && k.key.algorithm() != *alg) std::abort();
    if (k.key.is_hmac()) continue;
    if (k.key.has_private()) std::abort();  // "d" must never be imported
    auto exported = uj::public_jwk(k.key, k.kid ? std::optional<std::string_view>(*k.kid)
                                                : std::nullopt);
    if (!exported) std::abort();
    auto back = uj::parse_jwks(exported.value(), std::nullopt);
    if (!back || back.value().size() != 1) std::abort();
    if (back.value()[0].key.algorithm() != k.key.algorithm()) std::abort();
    if (back.value()[0].kid != k.kid) std::abort();
  }
  return 0;
}
