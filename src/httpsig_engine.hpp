// httpsig_engine.hpp — one RFC 9421 algorithm bound to one key.
#ifndef UPSTREAM_JWT_SRC_HTTPSIG_ENGINE_HPP
#define UPSTREAM_JWT_SRC_HTTPSIG_ENGINE_HPP

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "ossl.hpp"
#include "sig_context.hpp"
#include "upstream_jwt/httpsig.hpp"

namespace upstream_jwt::httpsig {

// Four of the five algorithms are the JWS ones under another name and run on
// the JWT signer's SigContext (same key checks, same ECDSA r||s form).
// rsa-pss-sha512 has no JWS twin (PS512 is not offered), so it keeps its own
// DigestSign context: SHA-512, MGF1-SHA-512, 64-byte salt (RFC 9421 3.3.1).
class Engine {
 public:
  enum class Mode { sign, verify };
  static Result<std::shared_ptr<const Engine>> create(Algorithm alg, std::string_view material,
                                                      Mode mode);
  Algorithm algorithm() const noexcept { return alg_; }
  Result<std::string> sign(std::string_view base) const;
  // false = does not verify; an Error only for OpenSSL failures.
  Result<bool> verify(std::string_view base, std::string_view sig) const;

 private:
  explicit Engine(Algorithm alg) : alg_(alg) {}
  Algorithm alg_;
  std::unique_ptr<detail::SigContext> ctx_;  // all but rsa-pss-sha512
  detail::MdCtxPtr pss_template_;            // rsa-pss-sha512
  std::size_t pss_size_ = 0;
};

}  // namespace upstream_jwt::httpsig

#endif  // UPSTREAM_JWT_SRC_HTTPSIG_ENGINE_HPP
