#include "upstream_jwt/base64url.hpp"

#include <array>

namespace upstream_jwt {

namespace {
constexpr char kAlphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// 0..63 for alphabet members, 0xFF for everything else (including '=').
constexpr std::array<std::uint8_t, 256> make_table() {
  std::array<std::uint8_t, 256> t{};
  for (auto& v : t) v = 0xFF;
  for (std::uint8_t i = 0; i < 64; ++i)
    t[static_cast<unsigned char>(kAlphabet[i])] = i;
  return t;
}
constexpr auto kDecode = make_table();
}  // namespace

void base64url_encode_to(const void* data, std::size_t n, char* out) noexcept {
  const auto* p = static_cast<const std::uint8_t*>(data);
  std::size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    std::uint32_t v = (std::uint32_t{p[i]} << 16) | (std::uint32_t{p[i + 1]} << 8) | p[i + 2];
    *out++ = kAlphabet[(v >> 18) & 63];
    *out++ = kAlphabet[(v >> 12) & 63];
    *out++ = kAlphabet[(v >> 6) & 63];
    *out++ = kAlphabet[v & 63];
  }
  std::size_t rest = n - i;
  if (rest == 1) {
    std::uint32_t v = std::uint32_t{p[i]} << 16;
    *out++ = kAlphabet[(v >> 18) & 63];
    *out++ = kAlphabet[(v >> 12) & 63];
  } else if (rest == 2) {
    std::uint32_t v = (std::uint32_t{p[i]} << 16) | (std::uint32_t{p[i + 1]} << 8);
    *out++ = kAlphabet[(v >> 18) & 63];
    *out++ = kAlphabet[(v >> 12) & 63];
    *out++ = kAlphabet[(v >> 6) & 63];
  }
}

std::string base64url_encode(std::string_view bytes) {
  std::string out(base64url_encoded_size(bytes.size()), '\0');
  base64url_encode_to(bytes.data(), bytes.size(), out.data());
  return out;
}

bool base64url_decode_to(std::string_view text, std::string& out) {
  const std::size_t n = text.size();
  if (n % 4 == 1) return false;
  out.clear();
  out.reserve(n / 4 * 3 + 2);
  std::size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    std::uint32_t v = 0;
    for (std::size_t k = 0; k < 4; ++k) {
      std::uint8_t d = kDecode[static_cast<unsigned char>(text[i + k])];
      if (d == 0xFF) return false;
      v = (v << 6) | d;
    }
    out.push_back(static_cast<char>(v >> 16));
    out.push_back(static_cast<char>((v >> 8) & 0xFF));
    out.push_back(static_cast<char>(v & 0xFF));
  }
  const std::size_t rest = n - i;
  if (rest == 0) return true;
  std::uint32_t v = 0;
  for (std::size_t k = 0; k < rest; ++k) {
    std::uint8_t d = kDecode[static_cast<unsigned char>(text[i + k])];
    if (d == 0xFF) return false;
    v = (v << 6) | d;
  }
  if (rest == 2) {
    // 12 bits carry 8: the low 4 must be zero or the text is not canonical.
    if (v & 0x0F) return false;
    out.push_back(static_cast<char>(v >> 4));
  } else {  // rest == 3: 18 bits carry 16, low 2 must be zero
    if (v & 0x03) return false;
    out.push_back(static_cast<char>(v >> 10));
    out.push_back(static_cast<char>((v >> 2) & 0xFF));
  }
  return true;
}

std::optional<std::string> base64url_decode(std::string_view text) {
  std::string out;
  if (!base64url_decode_to(text, out)) return std::nullopt;
  return out;
}

}  // namespace upstream_jwt
