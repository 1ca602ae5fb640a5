// sig_context.hpp — a key with its OpenSSL contexts fetched and keyed once,
// reused by every sign/verify call (the signer's and the verifier's engine).
#ifndef UPSTREAM_JWT_SRC_SIG_CONTEXT_HPP
#define UPSTREAM_JWT_SRC_SIG_CONTEXT_HPP

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "ossl.hpp"
#include "upstream_jwt/keys.hpp"
#include "upstream_jwt/result.hpp"

namespace upstream_jwt::detail {

class FastHmac;  // fast_sha.hpp

// Largest signature we ever produce: RSA-16384 (check_type bounds it).
inline constexpr std::size_t kMaxSignatureSize = 2048;

// DER ECDSA-Sig-Value <-> JWS raw r||s (RFC 7518 §3.4), P-256 only. Done by
// hand because d2i/i2d_ECDSA_SIG allocate BIGNUMs on every call.
bool ecdsa_der_to_raw(const std::uint8_t* der, std::size_t der_len, std::uint8_t raw[64]) noexcept;
// Returns the DER length written to der (capacity >= 72), 0 on error.
std::size_t ecdsa_raw_to_der(const std::uint8_t raw[64], std::uint8_t der[72]) noexcept;

class SigContext {
 public:
  enum class Mode { sign, verify };
  static Result<std::unique_ptr<SigContext>> create(const Key& key, Mode mode);
  ~SigContext();
  SigContext(const SigContext&) = delete;
  SigContext& operator=(const SigContext&) = delete;

  const Key& key() const noexcept { return key_; }
  // Writes key().signature_size() bytes (the JWS wire form) to sig.
  Result<void> sign(const void* data, std::size_t len, std::uint8_t* sig) const;
  // Constant-time for HMAC. false = signature does not match; an Error only
  // for OpenSSL/allocation failures.
  Result<bool> verify(const void* data, std::size_t len, const std::uint8_t* sig,
                      std::size_t sig_len) const;

 private:
  // Out of line: FastHmac is complete only in sig_context.cpp.
  SigContext(const Key& key, Mode mode);
  Result<void> init();
  Result<std::size_t> hmac(const void* data, std::size_t len, std::uint8_t* out) const;
  EVP_MAC_CTX* take_mac() const;
  void give_mac(EVP_MAC_CTX* ctx) const noexcept;

  Key key_;
  Mode mode_;
  // HMAC: keyed once; per call a context from the pool is re-initialised
  // with a NULL key, which keeps the key schedule (no fetch, no allocation).
  MacCtxPtr mac_template_;
  // HMAC outside FIPS mode: pre-keyed SHA-2 states copied per call, which
  // needs neither the pool's lock nor a heap allocation (fast_sha.hpp).
  std::unique_ptr<FastHmac> fast_hmac_;
  mutable std::mutex pool_mu_;
  mutable std::vector<EVP_MAC_CTX*> pool_;
  // Asymmetric: a DigestSign/DigestVerify context initialised once (key,
  // digest, padding); each call works on a copy of it.
  MdCtxPtr md_template_;
};

}  // namespace upstream_jwt::detail

#endif  // UPSTREAM_JWT_SRC_SIG_CONTEXT_HPP
