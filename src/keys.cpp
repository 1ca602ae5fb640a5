#include "upstream_jwt/keys.hpp"

#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstring>

#include "ossl.hpp"
#include "pem.hpp"

namespace upstream_jwt {

namespace detail {
namespace {
// PEM_read_bio_* would prompt on the controlling terminal for an encrypted
// key when given no callback; a gateway worker must fail instead.
int refuse_passphrase(char*, int, int, void*) { return -1; }

BioPtr mem_bio(std::string_view pem) {
  if (pem.size() > static_cast<std::size_t>(INT32_MAX)) return BioPtr();
  return BioPtr(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

}  // namespace

PkeyPtr read_private_pem(std::string_view pem) {
  BioPtr bio = mem_bio(pem);
  if (!bio) return PkeyPtr();
  return PkeyPtr(PEM_read_bio_PrivateKey(bio.get(), nullptr, refuse_passphrase, nullptr));
}

namespace {
PkeyPtr read_spki(std::string_view pem) {
  BioPtr bio = mem_bio(pem);
  if (!bio) return PkeyPtr();
  return PkeyPtr(PEM_read_bio_PUBKEY(bio.get(), nullptr, refuse_passphrase, nullptr));
}

// Keeps only the public half, so a verifier given a private PEM does not hold
// the private key for its whole life.
PkeyPtr public_half(EVP_PKEY* pkey) {
  unsigned char* der = nullptr;
  int len = i2d_PUBKEY(pkey, &der);
  if (len <= 0) return PkeyPtr();
  const unsigned char* p = der;
  PkeyPtr pub(d2i_PUBKEY(nullptr, &p, len));
  OPENSSL_free(der);
  return pub;
}

}  // namespace

PkeyPtr read_public_pem(std::string_view pem) {
  PkeyPtr pkey = read_spki(pem);
  if (pkey) return pkey;
  clear_openssl_errors();
  PkeyPtr priv = read_private_pem(pem);
  if (!priv) return PkeyPtr();
  return public_half(priv.get());
}

}  // namespace detail

using detail::BioPtr;
using detail::PkeyPtr;

// Secret bytes wiped on release so a rotated secret does not linger in freed
// heap memory.
struct Key::Secret {
  std::string bytes;
  explicit Secret(std::string_view s) : bytes(s) {}
  ~Secret() {
    if (!bytes.empty()) OPENSSL_cleanse(bytes.data(), bytes.size());
  }
};

std::string_view Key::secret() const noexcept {
  return secret_ ? std::string_view(secret_->bytes) : std::string_view();
}

namespace {

constexpr int kMinRsaBits = 2048;
constexpr int kMaxRsaBits = 16384;  // bounds the signature buffer

std::string_view kind_of(EVP_PKEY* pkey) {
  if (EVP_PKEY_is_a(pkey, "RSA")) return "RSA";
  if (EVP_PKEY_is_a(pkey, "RSA-PSS")) return "RSA-PSS";
  if (EVP_PKEY_is_a(pkey, "EC")) return "EC";
  if (EVP_PKEY_is_a(pkey, "ED25519")) return "Ed25519";
  if (EVP_PKEY_is_a(pkey, "ED448")) return "Ed448";
  return "unsupported";
}

// Checks the key type against the algorithm; returns the signature size.
Result<std::size_t> check_type(Algorithm alg, EVP_PKEY* pkey) {
  const std::string_view kind = kind_of(pkey);
  auto mismatch = [&] {
    return make_error(Status::key, std::string("key type ") + std::string(kind) +
                                       " does not match algorithm " +
                                       std::string(algorithm_name(alg)));
  };
  switch (key_family(alg)) {
    case KeyFamily::rsa:
    case KeyFamily::rsa_pss: {
      // An RSA-PSS-restricted key cannot make PKCS#1 v1.5 signatures.
      bool ok = kind == "RSA" || (kind == "RSA-PSS" && alg == Algorithm::PS256);
      if (!ok) return mismatch();
      int bits = EVP_PKEY_get_bits(pkey);
      if (bits < kMinRsaBits)
        return make_error(Status::key, "RSA key has " + std::to_string(bits) +
                                           " bits; at least 2048 are required");
      if (bits > kMaxRsaBits)
        return make_error(Status::key, "RSA key has " + std::to_string(bits) +
                                           " bits; at most 16384 are supported");
      return static_cast<std::size_t>(EVP_PKEY_get_size(pkey));
    }
    case KeyFamily::ec: {
      if (kind != "EC") return mismatch();
      char group[64] = {0};
      std::size_t glen = 0;
      if (EVP_PKEY_get_group_name(pkey, group, sizeof group, &glen) != 1)
        return make_error(Status::key, detail::openssl_error("EC key without a named curve"));
      std::string_view g(group, glen);
      if (g != "prime256v1" && g != "P-256" && g != "secp256r1")
        return make_error(Status::key, "EC key on curve " + std::string(g) +
                                           "; ES256 requires P-256");
      return std::size_t{64};
    }
    case KeyFamily::ed:
      if (kind != "Ed25519") return mismatch();
      return std::size_t{64};
    case KeyFamily::hmac:
      return make_error(Status::key, "algorithm " + std::string(algorithm_name(alg)) +
                                         " takes a shared secret, not a PEM key");
  }
  return mismatch();
}

}  // namespace

Result<Key> Key::from_secret(Algorithm alg, std::string_view secret) {
  if (!upstream_jwt::is_hmac(alg))
    return make_error(Status::key, "algorithm " + std::string(algorithm_name(alg)) +
                                       " needs a PEM key, not a shared secret");
  const std::size_t min = hmac_min_secret_size(alg);
  if (secret.size() < min)
    return make_error(Status::key, std::string(algorithm_name(alg)) + " secret is " +
                                       std::to_string(secret.size()) + " bytes; at least " +
                                       std::to_string(min) + " are required");
  Key k(alg);
  k.secret_ = std::make_shared<const Secret>(secret);
  k.has_private_ = true;
  k.sig_size_ = min;  // HMAC output size == minimum secret size
  return k;
}

Result<Key> Key::from_evp(Algorithm alg, evp_pkey_st* pkey, bool want_private) {
  if (pkey == nullptr) return make_error(Status::key, "no key");
  auto size = check_type(alg, pkey);
  if (!size) return std::move(size).error();
  if (EVP_PKEY_up_ref(pkey) != 1)
    return make_error(Status::internal, detail::openssl_error("EVP_PKEY_up_ref failed"));
  Key k(alg);
  k.pkey_ = std::shared_ptr<evp_pkey_st>(pkey, detail::PkeyFree());
  k.has_private_ = want_private;
  k.sig_size_ = size.value();
  return k;
}

Result<Key> Key::private_from_pem(Algorithm alg, std::string_view pem) {
  if (upstream_jwt::is_hmac(alg)) return from_secret(alg, pem);
  PkeyPtr pkey = detail::read_private_pem(pem);
  if (!pkey) {
    detail::clear_openssl_errors();
    return make_error(Status::key, "not a PEM private key (or an encrypted one)");
  }
  return from_evp(alg, pkey.get(), true);
}

Result<Key> Key::public_from_pem(Algorithm alg, std::string_view pem) {
  if (upstream_jwt::is_hmac(alg)) return from_secret(alg, pem);
  PkeyPtr pkey = detail::read_public_pem(pem);
  if (!pkey) {
    detail::clear_openssl_errors();
    return make_error(Status::key, "not a PEM public or private key");
  }
  return from_evp(alg, pkey.get(), false);
}

Result<Key> Key::for_signing(Algorithm alg, std::string_view material) {
  return upstream_jwt::is_hmac(alg) ? from_secret(alg, material)
                                    : private_from_pem(alg, material);
}

Result<Key> Key::for_verifying(Algorithm alg, std::string_view material) {
  return upstream_jwt::is_hmac(alg) ? from_secret(alg, material)
                                    : public_from_pem(alg, material);
}

}  // namespace upstream_jwt
