// keys.hpp — a key bound to exactly one algorithm, checked when loaded.
//
// A Key is an immutable, cheaply copyable handle (copies share the OpenSSL
// object). Loading enforces the algorithm's key type: HMAC secrets of at
// least 32/48/64 bytes, RSA >= 2048 bits (RS256, PS256), EC P-256 (ES256),
// Ed25519 (EdDSA). Any mismatch is Status::key.
#ifndef UPSTREAM_JWT_KEYS_HPP
#define UPSTREAM_JWT_KEYS_HPP

#include <memory>
#include <string>
#include <string_view>

#include "upstream_jwt/algorithm.hpp"
#include "upstream_jwt/result.hpp"

struct evp_pkey_st;  // OpenSSL's EVP_PKEY

namespace upstream_jwt {

class Key {
 public:
  // HS*: the secret's exact bytes.
  static Result<Key> from_secret(Algorithm alg, std::string_view secret);
  // RS/PS/ES/EdDSA: PEM private key (PKCS#8 or traditional; encrypted PEM
  // is refused rather than prompting for a passphrase).
  static Result<Key> private_from_pem(Algorithm alg, std::string_view pem);
  // RS/PS/ES/EdDSA: PEM SubjectPublicKeyInfo, or a PEM private key of which
  // only the public half is kept.
  static Result<Key> public_from_pem(Algorithm alg, std::string_view pem);
  // What a signer takes: secret bytes for HS*, a private PEM otherwise.
  static Result<Key> for_signing(Algorithm alg, std::string_view material);
  // What a verifier takes: secret bytes for HS*, a public or private PEM
  // otherwise (reduced to the public half).
  static Result<Key> for_verifying(Algorithm alg, std::string_view material);
  // Wraps an OpenSSL key (takes one reference of its own) after the same
  // type checks. `want_private` demands a private key.
  static Result<Key> from_evp(Algorithm alg, evp_pkey_st* pkey,
                              bool want_private);

  Algorithm algorithm() const noexcept { return alg_; }
  bool is_hmac() const noexcept { return upstream_jwt::is_hmac(alg_); }
  bool has_private() const noexcept { return has_private_; }
  // HS* only: the secret bytes.
  std::string_view secret() const noexcept;
  // Asymmetric only: the OpenSSL key (owned by this Key); nullptr for HS*.
  evp_pkey_st* pkey() const noexcept { return pkey_.get(); }
  // Signature size in bytes on the wire (HS: hash size, RSA: modulus
  // bytes, ES256 and EdDSA: 64).
  std::size_t signature_size() const noexcept { return sig_size_; }

 private:
  struct Secret;
  Key(Algorithm alg) noexcept : alg_(alg) {}
  Algorithm alg_;
  bool has_private_ = false;
  std::size_t sig_size_ = 0;
  std::shared_ptr<const Secret> secret_;
  std::shared_ptr<evp_pkey_st> pkey_;
};

}  // namespace upstream_jwt

#endif  // UPSTREAM_JWT_KEYS_HPP
