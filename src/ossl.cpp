#include "ossl.hpp"

#include <openssl/err.h>

namespace upstream_jwt::detail {

namespace {
// Function-local statics: thread-safe initialisation (C++11), fetched lazily
// so merely loading the library does not touch the provider.
template <const char* Name>
const EVP_MD* fetch_md() noexcept {
  static EVP_MD* md = EVP_MD_fetch(nullptr, Name, nullptr);
  return md;
}
constexpr char kSha256[] = "SHA256";
constexpr char kSha384[] = "SHA384";
constexpr char kSha512[] = "SHA512";
}  // namespace

const EVP_MD* md_sha256() noexcept { return fetch_md<kSha256>(); }
const EVP_MD* md_sha384() noexcept { return fetch_md<kSha384>(); }
const EVP_MD* md_sha512() noexcept { return fetch_md<kSha512>(); }

EVP_MAC* mac_hmac() noexcept {
  static EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  return mac;
}

std::string openssl_error(const char* what) {
  std::string msg(what);
  unsigned long code = ERR_peek_last_error();
  if (code != 0) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof buf);
    msg += ": ";
    msg += buf;
  }
  ERR_clear_error();
  return msg;
}

void clear_openssl_errors() noexcept { ERR_clear_error(); }

}  // namespace upstream_jwt::detail
