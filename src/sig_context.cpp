#include "sig_context.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/params.h>
#include <openssl/rsa.h>

#include <cstring>

#include "fast_sha.hpp"

namespace upstream_jwt::detail {

#if !UPSTREAM_JWT_HAVE_FAST_SHA
// Never constructed without the deprecated SHA-2 API; complete only so
// SigContext's unique_ptr member can be destroyed.
class FastHmac {};
#endif

namespace {

// Reads one DER INTEGER holding a non-negative value of at most 32 bytes
// into a 32-byte big-endian slot.
bool read_der_uint(const std::uint8_t*& p, const std::uint8_t* end, std::uint8_t out[32]) {
  if (end - p < 2 || p[0] != 0x02) return false;
  std::size_t len = p[1];
  p += 2;
  if (len == 0 || len >= 0x80 || static_cast<std::size_t>(end - p) < len) return false;
  const std::uint8_t* v = p;
  p += len;
  if (v[0] & 0x80) return false;  // negative
  while (len > 1 && v[0] == 0) { ++v; --len; }
  if (len > 32) return false;
  std::memset(out, 0, 32 - len);
  std::memcpy(out + 32 - len, v, len);
  return true;
}

std::size_t write_der_uint(const std::uint8_t in[32], std::uint8_t* out) {
  std::size_t skip = 0;
  while (skip < 31 && in[skip] == 0) ++skip;
  const std::size_t len = 32 - skip;
  const bool pad = (in[skip] & 0x80) != 0;
  out[0] = 0x02;
  out[1] = static_cast<std::uint8_t>(len + (pad ? 1 : 0));
  std::size_t o = 2;
  if (pad) out[o++] = 0;
  std::memcpy(out + o, in + skip, len);
  return o + len;
}

const EVP_MD* md_for(Algorithm alg) {
  switch (alg) {
    case Algorithm::HS384: return md_sha384();
    case Algorithm::HS512: return md_sha512();
    case Algorithm::EdDSA: return nullptr;  // Ed25519 hashes internally
    default: return md_sha256();
  }
}

const char* md_name(Algorithm alg) {
  switch (alg) {
    case Algorithm::HS384: return "SHA384";
    case Algorithm::HS512: return "SHA512";
    default: return "SHA256";
  }
}

}  // namespace

bool ecdsa_der_to_raw(const std::uint8_t* der, std::size_t der_len, std::uint8_t raw[64]) noexcept {
  if (der_len < 2 || der[0] != 0x30) return false;
  const std::size_t body = der[1];
  if (body >= 0x80 || body + 2 != der_len) return false;
  const std::uint8_t* p = der + 2;
  const std::uint8_t* end = der + der_len;
  if (!read_der_uint(p, end, raw) || !read_der_uint(p, end, raw + 32)) return false;
  return p == end;
}

std::size_t ecdsa_raw_to_der(const std::uint8_t raw[64], std::uint8_t der[72]) noexcept {
  std::size_t o = 2;
  o += write_der_uint(raw, der + o);
  o += write_der_uint(raw + 32, der + o);
  der[0] = 0x30;
  der[1] = static_cast<std::uint8_t>(o - 2);
  return o;
}

SigContext::SigContext(const Key& key, Mode mode) : key_(key), mode_(mode) {}

SigContext::~SigContext() {
  for (EVP_MAC_CTX* c : pool_) EVP_MAC_CTX_free(c);
}

Result<std::unique_ptr<SigContext>> SigContext::create(const Key& key, Mode mode) {
  if (mode == Mode::sign && !key.has_private())
    return make_error(Status::key, "signing needs a private key");
  std::unique_ptr<SigContext> ctx(new SigContext(key, mode));
  if (auto r = ctx->init(); !r) return std::move(r).error();
  return ctx;
}

Result<void> SigContext::init() {
  const Algorithm alg = key_.algorithm();
  if (key_.is_hmac()) {
#if UPSTREAM_JWT_HAVE_FAST_SHA
    if (fast_sha_available()) {
      const std::string_view secret = key_.secret();
      fast_hmac_ = std::make_unique<FastHmac>(
          key_.signature_size(), reinterpret_cast<const std::uint8_t*>(secret.data()),
          secret.size());
      return {};
    }
#endif
    EVP_MAC* mac = mac_hmac();
    if (mac == nullptr) return make_error(Status::internal, openssl_error("HMAC unavailable"));
    mac_template_.reset(EVP_MAC_CTX_new(mac));
    if (!mac_template_) return make_error(Status::internal, openssl_error("EVP_MAC_CTX_new failed"));
    char digest[16];
    std::strncpy(digest, md_name(alg), sizeof digest - 1);
    digest[sizeof digest - 1] = '\0';
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_end()};
    const std::string_view secret = key_.secret();
    if (EVP_MAC_init(mac_template_.get(), reinterpret_cast<const unsigned char*>(secret.data()),
                     secret.size(), params) != 1)
      return make_error(Status::internal, openssl_error("HMAC init failed"));
    return {};
  }

  md_template_.reset(EVP_MD_CTX_new());
  if (!md_template_) return make_error(Status::internal, openssl_error("EVP_MD_CTX_new failed"));
  EVP_PKEY_CTX* pctx = nullptr;  // owned by md_template_
  const EVP_MD* md = md_for(alg);
  const int ok = mode_ == Mode::sign
                     ? EVP_DigestSignInit(md_template_.get(), &pctx, md, nullptr, key_.pkey())
                     : EVP_DigestVerifyInit(md_template_.get(), &pctx, md, nullptr, key_.pkey());
  if (ok != 1) return make_error(Status::key, openssl_error("cannot initialise signature context"));
  if (alg == Algorithm::PS256) {
    // RFC 7518 §3.5: MGF1 with SHA-256 and a salt as long as the hash. A
    // verifier accepts any salt length (AUTO) because PSS security does not
    // rest on it and some JOSE libraries sign with the maximum length.
    const int salt = mode_ == Mode::sign ? RSA_PSS_SALTLEN_DIGEST : RSA_PSS_SALTLEN_AUTO;
    if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
        EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md_sha256()) != 1 ||
        EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, salt) != 1)
      return make_error(Status::key, openssl_error("cannot configure RSA-PSS"));
  } else if (alg == Algorithm::RS256) {
    if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1)
      return make_error(Status::key, openssl_error("cannot configure RSA PKCS#1 v1.5"));
  }
  return {};
}

EVP_MAC_CTX* SigContext::take_mac() const {
  {
    std::lock_guard<std::mutex> lock(pool_mu_);
    if (!pool_.empty()) {
      EVP_MAC_CTX* c = pool_.back();
      pool_.pop_back();
      return c;
    }
  }
  // One context per concurrently signing thread, created on first need.
  return EVP_MAC_CTX_dup(mac_template_.get());
}

void SigContext::give_mac(EVP_MAC_CTX* ctx) const noexcept {
  try {
    std::lock_guard<std::mutex> lock(pool_mu_);
    pool_.push_back(ctx);
    return;
  } catch (...) {
  }
  EVP_MAC_CTX_free(ctx);
}

Result<std::size_t> SigContext::hmac(const void* data, std::size_t len, std::uint8_t* out) const {
#if UPSTREAM_JWT_HAVE_FAST_SHA
  if (fast_hmac_) {
    fast_hmac_->mac(data, len, out);
    return fast_hmac_->size();
  }
#endif
  EVP_MAC_CTX* c = take_mac();
  if (c == nullptr) return make_error(Status::internal, openssl_error("EVP_MAC_CTX_dup failed"));
  std::size_t n = 0;
  // NULL key: re-init keeps the key already set, so no per-call fetch.
  const bool ok = EVP_MAC_init(c, nullptr, 0, nullptr) == 1 &&
                  EVP_MAC_update(c, static_cast<const unsigned char*>(data), len) == 1 &&
                  EVP_MAC_final(c, out, &n, key_.signature_size()) == 1;
  if (!ok) {
    EVP_MAC_CTX_free(c);
    return make_error(Status::internal, openssl_error("HMAC failed"));
  }
  give_mac(c);
  return n;
}

Result<void> SigContext::sign(const void* data, std::size_t len, std::uint8_t* sig) const {
  if (mode_ != Mode::sign) return make_error(Status::internal, "context is for verification");
  if (key_.is_hmac()) {
    auto n = hmac(data, len, sig);
    if (!n) return std::move(n).error();
    if (n.value() != key_.signature_size())
      return make_error(Status::internal, "HMAC output has an unexpected size");
    return {};
  }
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_MD_CTX_copy_ex(ctx.get(), md_template_.get()) != 1)
    return make_error(Status::internal, openssl_error("cannot copy signature context"));
  const bool ec = key_.algorithm() == Algorithm::ES256;
  std::uint8_t der[80];
  std::uint8_t* target = ec ? der : sig;
  std::size_t n = ec ? sizeof der : key_.signature_size();
  if (EVP_DigestSign(ctx.get(), target, &n, static_cast<const unsigned char*>(data), len) != 1)
    return make_error(Status::internal, openssl_error("signing failed"));
  if (ec) {
    if (!ecdsa_der_to_raw(der, n, sig))
      return make_error(Status::internal, "ECDSA signature has an unexpected encoding");
  } else if (n != key_.signature_size()) {
    return make_error(Status::internal, "signature has an unexpected size");
  }
  return {};
}

Result<bool> SigContext::verify(const void* data, std::size_t len, const std::uint8_t* sig,
                                std::size_t sig_len) const {
  if (key_.is_hmac()) {
    std::uint8_t mac[EVP_MAX_MD_SIZE];
    auto n = hmac(data, len, mac);
    if (!n) return std::move(n).error();
    // Length is public (it is fixed by the algorithm); the bytes are
    // compared in constant time.
    const bool ok = sig_len == n.value() && CRYPTO_memcmp(mac, sig, sig_len) == 0;
    OPENSSL_cleanse(mac, sizeof mac);
    return ok;
  }
  if (sig_len != key_.signature_size()) return false;
  std::uint8_t der[72];
  const std::uint8_t* s = sig;
  std::size_t slen = sig_len;
  if (key_.algorithm() == Algorithm::ES256) {
    slen = ecdsa_raw_to_der(sig, der);
    s = der;
  }
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_MD_CTX_copy_ex(ctx.get(), md_template_.get()) != 1)
    return make_error(Status::internal, openssl_error("cannot copy verification context"));
  const int rc = EVP_DigestVerify(ctx.get(), s, slen, static_cast<const unsigned char*>(data), len);
  clear_openssl_errors();  // a bad signature leaves an error on the queue
  return rc == 1;
}

}  // namespace upstream_jwt::detail
