#include "upstream_jwt/digest.hpp"

#include "fast_sha.hpp"
#include "ossl.hpp"
#include "upstream_jwt/base64url.hpp"

namespace upstream_jwt {

using detail::MdCtxPtr;

// Outside FIPS mode the running state is a plain SHA256_CTX (fast_sha.hpp):
// no provider dispatch per update and no allocation on reset/final.
struct Sha256::Impl {
  MdCtxPtr ctx;  // FIPS mode (or no deprecated SHA-2 API): the EVP path
#if UPSTREAM_JWT_HAVE_FAST_SHA
  detail::FastSha256 fast;
#endif
};

Sha256::Sha256(std::unique_ptr<Impl> impl) noexcept : impl_(std::move(impl)) {}
Sha256::Sha256(Sha256&&) noexcept = default;
Sha256& Sha256::operator=(Sha256&&) noexcept = default;
Sha256::~Sha256() = default;

Result<Sha256> Sha256::create() {
  const EVP_MD* md = detail::md_sha256();
  if (md == nullptr) return make_error(Status::internal, detail::openssl_error("SHA-256 unavailable"));
  auto impl = std::make_unique<Impl>();
  if (detail::fast_sha_available()) return Sha256(std::move(impl));
  impl->ctx.reset(EVP_MD_CTX_new());
  if (!impl->ctx || EVP_DigestInit_ex2(impl->ctx.get(), md, nullptr) != 1)
    return make_error(Status::internal, detail::openssl_error("SHA-256 init failed"));
  return Sha256(std::move(impl));
}

Result<void> Sha256::update(const void* data, std::size_t len) {
  if (!impl_) return make_error(Status::invalid_argument, "digest was moved from");
  if (len == 0) return {};
#if UPSTREAM_JWT_HAVE_FAST_SHA
  if (!impl_->ctx) {
    impl_->fast.update(data, len);
    return {};
  }
#endif
  if (EVP_DigestUpdate(impl_->ctx.get(), data, len) != 1)
    return make_error(Status::internal, detail::openssl_error("SHA-256 update failed"));
  return {};
}

Result<void> Sha256::reset() {
  if (!impl_) return make_error(Status::invalid_argument, "digest was moved from");
#if UPSTREAM_JWT_HAVE_FAST_SHA
  if (!impl_->ctx) {
    impl_->fast.reset();
    return {};
  }
#endif
  // Re-init with the same EVP_MD: no fetch, no allocation.
  if (EVP_DigestInit_ex2(impl_->ctx.get(), nullptr, nullptr) != 1)
    return make_error(Status::internal, detail::openssl_error("SHA-256 reset failed"));
  return {};
}

Result<std::array<std::uint8_t, kSha256Size>> Sha256::final_raw() {
  if (!impl_) return make_error(Status::invalid_argument, "digest was moved from");
  std::array<std::uint8_t, kSha256Size> out{};
#if UPSTREAM_JWT_HAVE_FAST_SHA
  if (!impl_->ctx) {
    impl_->fast.final(out.data());  // also starts over
    return out;
  }
#endif
  unsigned int n = 0;
  if (EVP_DigestFinal_ex(impl_->ctx.get(), out.data(), &n) != 1 || n != kSha256Size)
    return make_error(Status::internal, detail::openssl_error("SHA-256 final failed"));
  if (auto r = reset(); !r) return std::move(r).error();
  return out;
}

Result<void> Sha256::final_b64_to(char* out) {
  auto raw = final_raw();
  if (!raw) return std::move(raw).error();
  base64url_encode_to(raw.value().data(), kSha256Size, out);
  return {};
}

Result<std::string> Sha256::final_b64() {
  std::string out(kSha256B64Size, '\0');
  if (auto r = final_b64_to(out.data()); !r) return std::move(r).error();
  return out;
}

Result<std::array<std::uint8_t, kSha256Size>> sha256_raw(std::string_view bytes) {
#if UPSTREAM_JWT_HAVE_FAST_SHA
  if (detail::fast_sha_available()) {
    std::array<std::uint8_t, kSha256Size> out;
    detail::fast_sha256(bytes.data(), bytes.size(), out.data());
    return out;
  }
#endif
  const EVP_MD* md = detail::md_sha256();
  if (md == nullptr) return make_error(Status::internal, detail::openssl_error("SHA-256 unavailable"));
  std::array<std::uint8_t, kSha256Size> out{};
  // EVP_Digest with a pre-fetched EVP_MD: one call, no per-call fetch.
  if (EVP_Digest(bytes.data(), bytes.size(), out.data(), nullptr, md, nullptr) != 1)
    return make_error(Status::internal, detail::openssl_error("SHA-256 failed"));
  return out;
}

Result<std::string> sha256_b64(std::string_view bytes) {
  auto raw = sha256_raw(bytes);
  if (!raw) return std::move(raw).error();
  std::string out(kSha256B64Size, '\0');
  base64url_encode_to(raw.value().data(), kSha256Size, out.data());
  return out;
}

}  // namespace upstream_jwt
