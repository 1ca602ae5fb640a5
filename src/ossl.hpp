// ossl.hpp — RAII owners for the OpenSSL objects the core uses, and the
// process-wide pre-fetched algorithm objects (fetching per call costs more
// than hashing a small input).
#ifndef UPSTREAM_JWT_SRC_OSSL_HPP
#define UPSTREAM_JWT_SRC_OSSL_HPP

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>

#include <memory>
#include <string>

namespace upstream_jwt::detail {

struct PkeyFree { void operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); } };
struct PkeyCtxFree { void operator()(EVP_PKEY_CTX* p) const noexcept { EVP_PKEY_CTX_free(p); } };
struct MdCtxFree { void operator()(EVP_MD_CTX* p) const noexcept { EVP_MD_CTX_free(p); } };
struct MacCtxFree { void operator()(EVP_MAC_CTX* p) const noexcept { EVP_MAC_CTX_free(p); } };
struct BioFree { void operator()(BIO* p) const noexcept { BIO_free(p); } };
struct BnFree { void operator()(BIGNUM* p) const noexcept { BN_free(p); } };

using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;
using MacCtxPtr = std::unique_ptr<EVP_MAC_CTX, MacCtxFree>;
using BioPtr = std::unique_ptr<BIO, BioFree>;
using BnPtr = std::unique_ptr<BIGNUM, BnFree>;

// Fetched once per process, never freed (they live as long as the library).
// nullptr only if the default provider lacks them.
const EVP_MD* md_sha256() noexcept;
const EVP_MD* md_sha384() noexcept;
const EVP_MD* md_sha512() noexcept;
EVP_MAC* mac_hmac() noexcept;

// The last OpenSSL error queue entry as text (library:reason), and clears the
// queue so stale errors never leak into a later message. Never key bytes.
std::string openssl_error(const char* what);
void clear_openssl_errors() noexcept;

}  // namespace upstream_jwt::detail

#endif  // UPSTREAM_JWT_SRC_OSSL_HPP
