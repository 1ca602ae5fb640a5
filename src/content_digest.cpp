// RFC 9530 Content-Digest: sha-256 and sha-512 of the content, streamed.
#include <openssl/crypto.h>

#include "ossl.hpp"
#include "upstream_jwt/httpsig.hpp"

namespace upstream_jwt::httpsig {

using detail::MdCtxPtr;

struct ContentDigest::Impl {
  MdCtxPtr sha256, sha512;
};

ContentDigest::ContentDigest(std::unique_ptr<Impl> impl) noexcept : impl_(std::move(impl)) {}
ContentDigest::ContentDigest(ContentDigest&&) noexcept = default;
ContentDigest& ContentDigest::operator=(ContentDigest&&) noexcept = default;
ContentDigest::~ContentDigest() = default;

namespace {

Result<void> init(MdCtxPtr& ctx, const EVP_MD* md, const char* name) {
  if (md == nullptr) return make_error(Status::internal, detail::openssl_error(name));
  if (!ctx) ctx.reset(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestInit_ex2(ctx.get(), md, nullptr) != 1)
    return make_error(Status::internal, detail::openssl_error(name));
  return {};
}

// Finishes one running hash and starts it over.
Result<std::string> finish(MdCtxPtr& ctx) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (EVP_DigestFinal_ex(ctx.get(), md, &n) != 1 || EVP_DigestInit_ex2(ctx.get(), nullptr, nullptr) != 1)
    return make_error(Status::internal, detail::openssl_error("digest failed"));
  return std::string(reinterpret_cast<const char*>(md), n);
}

}  // namespace

Result<ContentDigest> ContentDigest::create(unsigned algorithms) {
  if (algorithms == 0 || (algorithms & ~(kSha256 | kSha512)) != 0)
    return make_error(Status::invalid_argument, "content digest: choose sha-256, sha-512 or both");
  auto impl = std::make_unique<Impl>();
  if (algorithms & kSha256)
    if (auto r = init(impl->sha256, detail::md_sha256(), "SHA-256 unavailable"); !r) return std::move(r).error();
  if (algorithms & kSha512)
    if (auto r = init(impl->sha512, detail::md_sha512(), "SHA-512 unavailable"); !r) return std::move(r).error();
  return ContentDigest(std::move(impl));
}

Result<void> ContentDigest::update(const void* data, std::size_t len) {
  if (!impl_) return make_error(Status::invalid_argument, "content digest was moved from");
  if (len == 0) return {};
  for (MdCtxPtr* c : {&impl_->sha256, &impl_->sha512})
    if (*c && EVP_DigestUpdate(c->get(), data, len) != 1)
      return make_error(Status::internal, detail::openssl_error("digest update failed"));
  return {};
}

Result<std::string> ContentDigest::final_field() {
  if (!impl_) return make_error(Status::invalid_argument, "content digest was moved from");
  sf::Dictionary dict;
  if (impl_->sha256) {
    auto d = finish(impl_->sha256);
    if (!d) return std::move(d).error();
    dict.emplace_back("sha-256", sf::Item{sf::BareItem::bytes(std::move(d.value())), {}});
  }
  if (impl_->sha512) {
    auto d = finish(impl_->sha512);
    if (!d) return std::move(d).error();
    dict.emplace_back("sha-512", sf::Item{sf::BareItem::bytes(std::move(d.value())), {}});
  }
  return sf::serialize(dict);
}

Result<void> ContentDigest::check(std::string_view field_value) {
  if (!impl_) return make_error(Status::invalid_argument, "content digest was moved from");
  // Finish first, so the instance starts over whatever the field holds.
  std::optional<std::string> d256, d512;
  if (impl_->sha256) {
    auto d = finish(impl_->sha256);
    if (!d) return std::move(d).error();
    d256 = std::move(d.value());
  }
  if (impl_->sha512) {
    auto d = finish(impl_->sha512);
    if (!d) return std::move(d).error();
    d512 = std::move(d.value());
  }
  auto dict = sf::parse_dictionary(field_value);
  if (!dict) return rejection(Reason::malformed, "Content-Digest: " + dict.error().message);
  int matched = 0;
  for (const auto& [key, member] : dict.value()) {
    const std::optional<std::string>* mine = key == "sha-256" ? &d256 : key == "sha-512" ? &d512 : nullptr;
    if (mine == nullptr || !*mine) continue;
    const auto* item = std::get_if<sf::Item>(&member);
    if (item == nullptr || item->value.type != sf::Type::byte_sequence)
      return rejection(Reason::malformed, "Content-Digest " + key + " is not a byte sequence");
    const std::string& got = item->value.text;
    if (got.size() != (*mine)->size() || CRYPTO_memcmp(got.data(), (*mine)->data(), got.size()) != 0)
      return rejection(Reason::digest_mismatch, "Content-Digest " + key + " does not match the content");
    ++matched;
  }
  if (matched == 0) return rejection(Reason::missing_digest, "Content-Digest has no sha-256/sha-512 member we check");
  return {};
}

}  // namespace upstream_jwt::httpsig
