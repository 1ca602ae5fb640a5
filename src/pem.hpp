// pem.hpp — PEM loading shared by keys.cpp and jwk.cpp.
#ifndef UPSTREAM_JWT_SRC_PEM_HPP
#define UPSTREAM_JWT_SRC_PEM_HPP

#include <string_view>

#include "ossl.hpp"

namespace upstream_jwt::detail {

// A PEM private key (PKCS#8 or traditional); encrypted keys are refused.
PkeyPtr read_private_pem(std::string_view pem);
// A PEM SubjectPublicKeyInfo, or the public half of a PEM private key.
PkeyPtr read_public_pem(std::string_view pem);

}  // namespace upstream_jwt::detail

#endif  // UPSTREAM_JWT_SRC_PEM_HPP
