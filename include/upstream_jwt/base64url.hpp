// base64url.hpp — RFC 4648 §5 alphabet, no padding, strict decoding.
#ifndef UPSTREAM_JWT_BASE64URL_HPP
#define UPSTREAM_JWT_BASE64URL_HPP

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace upstream_jwt {

// Number of characters base64url_encode produces for n input bytes.
constexpr std::size_t base64url_encoded_size(std::size_t n) noexcept {
  return (n / 3) * 4 + (n % 3 == 0 ? 0 : n % 3 + 1);
}

// Writes exactly base64url_encoded_size(n) chars to out (no NUL).
void base64url_encode_to(const void* data, std::size_t n, char* out) noexcept;
std::string base64url_encode(std::string_view bytes);

// Strict decoding, as a verifier must: rejects '=', any character outside
// [A-Za-z0-9_-], a length of 1 mod 4, and non-canonical trailing bits
// ("QR" is refused because "QQ" is the only encoding of that byte).
// Returns false (and leaves `out` unspecified) on any of those.
bool base64url_decode_to(std::string_view text, std::string& out);
std::optional<std::string> base64url_decode(std::string_view text);

// Room base64url_decode_into needs for n characters (an upper bound).
constexpr std::size_t base64url_decoded_max_size(std::size_t n) noexcept {
  return n / 4 * 3 + 2;
}
// The same strict decoding into a caller buffer of at least
// base64url_decoded_max_size(text.size()) bytes, without allocating. On
// success sets *n to the decoded length; on false `out` is unspecified.
bool base64url_decode_into(std::string_view text, void* out, std::size_t* n) noexcept;

}  // namespace upstream_jwt

#endif  // UPSTREAM_JWT_BASE64URL_HPP
