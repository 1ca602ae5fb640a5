// pem_key_fuzz — PEM key loading, the path a misconfigured or hostile
// `private_key` / verifier key file takes.
//
// Byte 0 picks the algorithm, the rest is the "PEM" text, tried as signing
// material, verifying material and through jwks_from_pem. Properties:
//   - loading never succeeds for a key of the wrong family or size
//     (signature_size matches the algorithm: HS hash size, RSA >= 256 bytes,
//     ES256/EdDSA 64);
//   - a key loaded for signing actually signs, and its own public half
//     (through jwks_from_pem -> JWK import) verifies that signature;
//   - error messages never echo the input (they may be logged).
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

void check_size(const uj::Key& k) {
  switch (k.algorithm()) {
    case uj::Algorithm::HS256: if (k.signature_size() != 32) std::abort(); break;
    case uj::Algorithm::HS384: if (k.signature_size() != 48) std::abort(); break;
    case uj::Algorithm::HS512: if (k.signature_size() != 64) std::abort(); break;
    case uj::Algorithm::RS256:
    case uj::Algorithm::PS256: if (k.signature_size() < 256) std::abort(); break;
    case uj::Algorithm::ES256:
    case uj::Algorithm::EdDSA: if (k.signature_size() != 64) std::abort(); break;
  }
}

// A message may name what was wrong, never repeat what it was given: for
// inputs long enough that an accidental match is impossible, the input's
// first 24 bytes must not appear in it.
void check_message(const uj::Error& e, std::string_view input) {
  if (input.size() < 24) return;
  if (e.message.find(input.substr(0, 24)) != std::string::npos) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const uj::Algorithm alg = kAlgs[data[0] % 7];
  const std::string_view pem(reinterpret_cast<const char*>(data + 1), size - 1);

  auto sk = uj::Key::for_signing(alg, pem);
  auto vk = uj::Key::for_verifying(alg, pem);
  if (!sk) check_message(sk.error(), pem);
  if (!vk) check_message(vk.error(), pem);
  if (vk) {
    if (vk.value().algorithm() != alg) std::abort();
    check_size(vk.value());
  }
  if (sk) {
    if (sk.value().algorithm() != alg) std::abort();
    if (!sk.value().is_hmac() && !sk.value().has_private()) std::abort();
    if (!vk) std::abort();  // anything that signs can also verify
    check_size(sk.value());
    auto token = uj::sign_compact(sk.value(), R"({"alg":"x"})", R"({"exp":1})");
    if (!token) std::abort();
    if (!sk.value().is_hmac()) {
      auto jwks = uj::jwks_from_pem(pem, std::string_view("k"), alg);
      if (!jwks) std::abort();
      uj::Verifier v;
      if (!v.add_jwk(jwks.value())) std::abort();
    }
  }
  if (!uj::is_hmac(alg)) {
    auto jwks = uj::jwks_from_pem(pem, std::nullopt, std::nullopt);
    if (!jwks) check_message(jwks.error(), pem);
  }
  return 0;
}
