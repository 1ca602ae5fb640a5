// Signs with the C++ core and verifies through the installed shared C ABI.
#include <upstream_jwt.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <upstream_jwt/all.hpp>

int main() {
  const std::string secret(32, 'k');
  auto signer = upstream_jwt::Signer::create(upstream_jwt::Algorithm::HS256, secret);
  if (!signer) return 1;
  upstream_jwt::Claims claims;
  claims.iss = "kong";
  auto token = signer.value().sign(claims);
  if (!token) return 2;
  ujwt_verifier* v = nullptr;
  if (ujwt_verifier_new(&v, nullptr) != UJWT_OK) return 3;
  int rc = ujwt_verifier_add_key(v, "HS256", 5, reinterpret_cast<const uint8_t*>(secret.data()),
                                 secret.size(), nullptr, 0, nullptr);
  ujwt_verify_options opts{};
  if (rc == UJWT_OK)
    rc = ujwt_verify(v, token.value().data(), token.value().size(), &opts, nullptr, 0, nullptr,
                     nullptr);
  ujwt_verifier_free(v);
  std::printf("upstream_jwt %s: %s\n", ujwt_version(), ujwt_status_name(rc));
  return rc == UJWT_OK && std::strcmp(ujwt_version(), UJWT_VERSION_STRING) == 0 ? 0 : 4;
}
