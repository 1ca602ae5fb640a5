// digest.hpp — streaming SHA-256 rendered as base64url (body_sha256 and
// query_sha256 use exactly this form: 43 characters, no padding).
#ifndef UPSTREAM_JWT_DIGEST_HPP
#define UPSTREAM_JWT_DIGEST_HPP

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "upstream_jwt/result.hpp"

namespace upstream_jwt {

inline constexpr std::size_t kSha256Size = 32;
inline constexpr std::size_t kSha256B64Size = 43;

// One running SHA-256. Not thread-safe (one instance per thread/stream);
// hashing a body of any size needs constant memory.
class Sha256 {
 public:
  static Result<Sha256> create();

  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;
  ~Sha256();

  Result<void> update(const void* data, std::size_t len);
  Result<void> update(std::string_view bytes) {
    return update(bytes.data(), bytes.size());
  }
  // Starts over.
  Result<void> reset();
  // Finishes, writes the raw 32-byte digest, and resets for the next stream.
  Result<std::array<std::uint8_t, kSha256Size>> final_raw();
  // Finishes, returns the 43-char base64url digest, and resets.
  Result<std::string> final_b64();
  // Same, into a caller buffer of at least kSha256B64Size chars (no NUL).
  Result<void> final_b64_to(char* out);

 private:
  struct Impl;
  explicit Sha256(std::unique_ptr<Impl> impl) noexcept;
  std::unique_ptr<Impl> impl_;
};

// One shot: base64url(SHA-256(bytes)).
Result<std::string> sha256_b64(std::string_view bytes);
Result<std::array<std::uint8_t, kSha256Size>> sha256_raw(std::string_view bytes);

}  // namespace upstream_jwt

#endif  // UPSTREAM_JWT_DIGEST_HPP
