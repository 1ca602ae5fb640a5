#include "httpsig_engine.hpp"

#include <openssl/rsa.h>

#include "upstream_jwt/keys.hpp"

namespace upstream_jwt::httpsig {

using detail::MdCtxPtr;

namespace {

// The JWS algorithm whose key rules and signature form are this one's.
upstream_jwt::Algorithm jws_twin(Algorithm alg) {
  switch (alg) {
    case Algorithm::hmac_sha256: return upstream_jwt::Algorithm::HS256;
    case Algorithm::ed25519: return upstream_jwt::Algorithm::EdDSA;
    case Algorithm::ecdsa_p256_sha256: return upstream_jwt::Algorithm::ES256;
    case Algorithm::rsa_v1_5_sha256: return upstream_jwt::Algorithm::RS256;
    case Algorithm::rsa_pss_sha512: return upstream_jwt::Algorithm::PS256;  // key rules only
  }
  return upstream_jwt::Algorithm::HS256;
}

std::string algorithm_message(Algorithm alg, const Error& e) {
  // The JWT key loader names JWS algorithms; say which RFC 9421 one it was.
  return std::string(algorithm_name(alg)) + ": " + e.message;
}

}  // namespace

Result<std::shared_ptr<const Engine>> Engine::create(Algorithm alg, std::string_view material,
                                                     Mode mode) {
  const upstream_jwt::Algorithm twin = jws_twin(alg);
  auto key = mode == Mode::sign ? Key::for_signing(twin, material) : Key::for_verifying(twin, material);
  if (!key) return make_error(key.error().status, algorithm_message(alg, key.error()));
  std::shared_ptr<Engine> e(new Engine(alg));
  if (alg != Algorithm::rsa_pss_sha512) {
    auto ctx = detail::SigContext::create(key.value(), mode == Mode::sign
                                                           ? detail::SigContext::Mode::sign
                                                           : detail::SigContext::Mode::verify);
    if (!ctx) return std::move(ctx).error();
    e->ctx_ = std::move(ctx.value());
    return std::shared_ptr<const Engine>(std::move(e));
  }
  EVP_PKEY* pkey = key.value().pkey();
  e->pss_template_.reset(EVP_MD_CTX_new());
  if (!e->pss_template_) return make_error(Status::internal, detail::openssl_error("EVP_MD_CTX_new failed"));
  EVP_PKEY_CTX* pctx = nullptr;  // owned by the MD context
  const EVP_MD* md = detail::md_sha512();
  const int ok = mode == Mode::sign
                     ? EVP_DigestSignInit(e->pss_template_.get(), &pctx, md, nullptr, pkey)
                     : EVP_DigestVerifyInit(e->pss_template_.get(), &pctx, md, nullptr, pkey);
  if (ok != 1) return make_error(Status::key, detail::openssl_error("rsa-pss-sha512: cannot use this key"));
  // Signing uses the RFC's 64-byte salt. Verifying accepts any salt length:
  // PSS security does not rest on it, and common signers (Node's crypto, used
  // by http-message-signatures) default to the maximum length.
  const int salt = mode == Mode::sign ? 64 : RSA_PSS_SALTLEN_AUTO;
  if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
      EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) != 1 || EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, salt) != 1)
    return make_error(Status::key, detail::openssl_error("rsa-pss-sha512: cannot configure PSS"));
  e->pss_size_ = key.value().signature_size();
  return std::shared_ptr<const Engine>(std::move(e));
}

Result<std::string> Engine::sign(std::string_view base) const {
  if (ctx_) {
    std::string sig(ctx_->key().signature_size(), '\0');
    auto r = ctx_->sign(base.data(), base.size(), reinterpret_cast<std::uint8_t*>(sig.data()));
    if (!r) return std::move(r).error();
    return sig;
  }
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_MD_CTX_copy_ex(ctx.get(), pss_template_.get()) != 1)
    return make_error(Status::internal, detail::openssl_error("cannot copy signature context"));
  std::string sig(pss_size_, '\0');
  std::size_t n = sig.size();
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &n,
                     reinterpret_cast<const unsigned char*>(base.data()), base.size()) != 1)
    return make_error(Status::internal, detail::openssl_error("rsa-pss-sha512 signing failed"));
  if (n != pss_size_) return make_error(Status::internal, "signature has an unexpected size");
  return sig;
}

Result<bool> Engine::verify(std::string_view base, std::string_view sig) const {
  const auto* s = reinterpret_cast<const std::uint8_t*>(sig.data());
  if (ctx_) return ctx_->verify(base.data(), base.size(), s, sig.size());
  if (sig.size() != pss_size_) return false;
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_MD_CTX_copy_ex(ctx.get(), pss_template_.get()) != 1)
    return make_error(Status::internal, detail::openssl_error("cannot copy verification context"));
  const int rc = EVP_DigestVerify(ctx.get(), s, sig.size(),
                                  reinterpret_cast<const unsigned char*>(base.data()), base.size());
  detail::clear_openssl_errors();
  return rc == 1;
}

}  // namespace upstream_jwt::httpsig
