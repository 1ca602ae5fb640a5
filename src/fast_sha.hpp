// fast_sha.hpp — SHA-2 and HMAC on OpenSSL's low-level SHA-2 functions, for
// the per-request hot path.
//
// Why not EVP: in OpenSSL 3.0 every EVP_MD_CTX_copy_ex / HMAC re-init and
// every one-shot EVP_Digest goes through the provider and duplicates the
// provider's hash context on the heap (EVP_MD_CTX_new + dupctx), which costs
// several hundred nanoseconds and 1-3 mallocs per call — more than hashing a
// JWT's few hundred bytes. SHA256_CTX/SHA512_CTX are plain structs: an HMAC
// keyed once keeps its inner and outer states, and each call copies them on
// the stack (no allocation, no lock). The compression functions are the same
// assembly the default provider runs.
//
// These functions are deprecated (not removed) in OpenSSL 3 and bypass the
// provider layer, so they are used only where EVP would run the same code:
// the default library context is not in FIPS mode *and* SHA-256/384/512 are
// fetched from the built-in "default" provider (a configuration that loads
// only the FIPS and base providers, without fips=yes default properties,
// must not get hashes from outside the module), and the library was built
// with the 3.0 deprecated API. Otherwise fast_sha_available() is false and
// callers keep the EVP path.
#ifndef UPSTREAM_JWT_SRC_FAST_SHA_HPP
#define UPSTREAM_JWT_SRC_FAST_SHA_HPP

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/opensslconf.h>
#include <openssl/provider.h>
#include <openssl/sha.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "ossl.hpp"

#if !defined(OPENSSL_NO_DEPRECATED_3_0)
#define UPSTREAM_JWT_HAVE_FAST_SHA 1
#else
#define UPSTREAM_JWT_HAVE_FAST_SHA 0
#endif

#if defined(__GNUC__)
#define UJWT_NO_DEPRECATION_BEGIN \
  _Pragma("GCC diagnostic push") _Pragma("GCC diagnostic ignored \"-Wdeprecated-declarations\"")
#define UJWT_NO_DEPRECATION_END _Pragma("GCC diagnostic pop")
#else
#define UJWT_NO_DEPRECATION_BEGIN
#define UJWT_NO_DEPRECATION_END
#endif

namespace upstream_jwt::detail {

// Decided once per process: providers and FIPS mode are start-up
// configuration.
inline bool fast_sha_available() noexcept {
#if UPSTREAM_JWT_HAVE_FAST_SHA
  static const bool ok = [] {
    if (EVP_default_properties_is_fips_enabled(nullptr) != 0) return false;
    for (const EVP_MD* md : {md_sha256(), md_sha384(), md_sha512()}) {
      const OSSL_PROVIDER* prov = md != nullptr ? EVP_MD_get0_provider(md) : nullptr;
      if (prov == nullptr || std::strcmp(OSSL_PROVIDER_get0_name(prov), "default") != 0)
        return false;
    }
    return true;
  }();
  return ok;
#else
  return false;
#endif
}

#if UPSTREAM_JWT_HAVE_FAST_SHA
UJWT_NO_DEPRECATION_BEGIN

// One-shot SHA-256 on the stack. Callers check fast_sha_available() first.
inline void fast_sha256(const void* data, std::size_t len, std::uint8_t out[32]) noexcept {
  SHA256_CTX c;
  SHA256_Init(&c);
  SHA256_Update(&c, data, len);
  SHA256_Final(out, &c);
  // Not cleansed: it hashed public bytes (a query, a body), and
  // SHA256_Final already wipes the block buffer.
}

// Streaming SHA-256 state for a body of any size (constant memory).
class FastSha256 {
 public:
  FastSha256() noexcept { SHA256_Init(&c_); }
  void update(const void* data, std::size_t len) noexcept { SHA256_Update(&c_, data, len); }
  // Writes 32 bytes and starts over.
  void final(std::uint8_t out[32]) noexcept {
    SHA256_Final(out, &c_);
    SHA256_Init(&c_);
  }
  void reset() noexcept { SHA256_Init(&c_); }

 private:
  SHA256_CTX c_;
};

// HMAC (RFC 2104) with SHA-256/384/512, keyed once: the states after
// absorbing key^ipad and key^opad are kept, and each mac() copies them.
// Thread-safe for concurrent mac() calls (they only read the states).
class FastHmac {
 public:
  // digest_size: 32 (SHA-256), 48 (SHA-384) or 64 (SHA-512).
  FastHmac(std::size_t digest_size, const std::uint8_t* key, std::size_t key_len) noexcept
      : size_(digest_size) {
    const std::size_t block = size_ == 32 ? 64 : 128;
    std::uint8_t k[128] = {0};
    if (key_len > block) {
      // RFC 2104: keys longer than the block are hashed first.
      if (size_ == 32) {
        SHA256_CTX c;
        SHA256_Init(&c);
        SHA256_Update(&c, key, key_len);
        SHA256_Final(k, &c);
        OPENSSL_cleanse(&c, sizeof c);
      } else {
        SHA512_CTX c;
        size_ == 48 ? SHA384_Init(&c) : SHA512_Init(&c);
        SHA512_Update(&c, key, key_len);
        size_ == 48 ? SHA384_Final(k, &c) : SHA512_Final(k, &c);
        OPENSSL_cleanse(&c, sizeof c);
      }
    } else if (key_len != 0) {
      std::memcpy(k, key, key_len);
    }
    std::uint8_t pad[128];
    for (std::size_t i = 0; i < block; ++i) pad[i] = k[i] ^ 0x36;
    absorb(inner_, pad, block);
    for (std::size_t i = 0; i < block; ++i) pad[i] = k[i] ^ 0x5c;
    absorb(outer_, pad, block);
    OPENSSL_cleanse(k, sizeof k);
    OPENSSL_cleanse(pad, sizeof pad);
  }
  ~FastHmac() {
    OPENSSL_cleanse(&inner_, sizeof inner_);
    OPENSSL_cleanse(&outer_, sizeof outer_);
  }
  FastHmac(const FastHmac&) = delete;
  FastHmac& operator=(const FastHmac&) = delete;

  std::size_t size() const noexcept { return size_; }

  // Writes size() bytes to out. The stack copy is not cleansed afterwards:
  // each keyed state it holds is overwritten (inner by outer, outer by the
  // finished MAC, which is public) and *_Final wipes the block buffer; the
  // inner hash alone does not reveal the key.
  void mac(const void* data, std::size_t len, std::uint8_t* out) const noexcept {
    std::uint8_t inner_hash[64];
    if (size_ == 32) {
      SHA256_CTX c = inner_.s256;
      SHA256_Update(&c, data, len);
      SHA256_Final(inner_hash, &c);
      c = outer_.s256;
      SHA256_Update(&c, inner_hash, 32);
      SHA256_Final(out, &c);
    } else {
      SHA512_CTX c = inner_.s512;
      SHA512_Update(&c, data, len);
      size_ == 48 ? SHA384_Final(inner_hash, &c) : SHA512_Final(inner_hash, &c);
      c = outer_.s512;
      SHA512_Update(&c, inner_hash, size_);
      size_ == 48 ? SHA384_Final(out, &c) : SHA512_Final(out, &c);
    }
  }

 private:
  union State {
    SHA256_CTX s256;
    SHA512_CTX s512;
  };
  void absorb(State& st, const std::uint8_t* pad, std::size_t block) noexcept {
    if (size_ == 32) {
      SHA256_Init(&st.s256);
      SHA256_Update(&st.s256, pad, block);
    } else {
      size_ == 48 ? SHA384_Init(&st.s512) : SHA512_Init(&st.s512);
      SHA512_Update(&st.s512, pad, block);
    }
  }

  std::size_t size_;
  State inner_;
  State outer_;
};

UJWT_NO_DEPRECATION_END
#endif  // UPSTREAM_JWT_HAVE_FAST_SHA

}  // namespace upstream_jwt::detail

#endif  // UPSTREAM_JWT_SRC_FAST_SHA_HPP
