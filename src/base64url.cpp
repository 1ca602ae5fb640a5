#include "upstream_jwt/base64url.hpp"

#include <array>
#include <cstring>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

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

#if defined(__x86_64__) && defined(__GNUC__)
#define UJWT_B64_SSSE3 1
// 12 input bytes -> 16 characters per step (W. Mula's SIMD base64 method,
// with the base64url alphabet). Every token's payload, a few hundred bytes,
// goes through here: the scalar loop was the largest non-crypto cost of
// signing. Reads 16 bytes per step, so callers keep i + 16 <= n.
__attribute__((target("ssse3"))) std::size_t encode_ssse3(const std::uint8_t* p, std::size_t n,
                                                          char* out) noexcept {
  const __m128i shuffle = _mm_setr_epi8(1, 0, 2, 1, 4, 3, 5, 4, 7, 6, 8, 7, 10, 9, 11, 10);
  // Per 6-bit value class, what to add to reach its character: 0..25 'A',
  // 26..51 'a', 52..61 '0', 62 '-', 63 '_'.
  const __m128i offsets = _mm_setr_epi8('a' - 26, '0' - 52, '0' - 52, '0' - 52, '0' - 52,
                                        '0' - 52, '0' - 52, '0' - 52, '0' - 52, '0' - 52,
                                        '0' - 52, '-' - 62, '_' - 63, 'A', 0, 0);
  std::size_t i = 0;
  for (; i + 16 <= n; i += 12) {
    __m128i in = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    in = _mm_shuffle_epi8(in, shuffle);
    const __m128i t0 = _mm_and_si128(in, _mm_set1_epi32(0x0fc0fc00));
    const __m128i t1 = _mm_mulhi_epu16(t0, _mm_set1_epi32(0x04000040));
    const __m128i t2 = _mm_and_si128(in, _mm_set1_epi32(0x003f03f0));
    const __m128i t3 = _mm_mullo_epi16(t2, _mm_set1_epi32(0x01000010));
    const __m128i idx = _mm_or_si128(t1, t3);  // sixteen 6-bit values
    __m128i cls = _mm_subs_epu8(idx, _mm_set1_epi8(51));
    const __m128i upper = _mm_cmpgt_epi8(_mm_set1_epi8(26), idx);
    cls = _mm_or_si128(cls, _mm_and_si128(upper, _mm_set1_epi8(13)));
    const __m128i chars = _mm_add_epi8(_mm_shuffle_epi8(offsets, cls), idx);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out), chars);
    out += 16;
  }
  return i;
}

// 16 characters -> 12 bytes per step (the same method backwards): each
// character's class (A-Z, a-z, 0-9, '-', '_') by signed range compares (a
// byte >= 0x80 is negative and in no class), its value by adding the
// class's offset, then the 6-bit values packed with two multiply-adds. A
// block with any character outside the alphabet stops the loop and the
// scalar code after it finds and refuses that character. Returns the number
// of characters consumed (a multiple of 16); out gets 12 per 16.
__attribute__((target("ssse3"))) std::size_t decode_ssse3(const unsigned char* in, std::size_t n,
                                                          std::uint8_t* out) noexcept {
  auto in_range = [](__m128i x, char lo, char hi) {
    return _mm_and_si128(_mm_cmpgt_epi8(x, _mm_set1_epi8(static_cast<char>(lo - 1))),
                         _mm_cmplt_epi8(x, _mm_set1_epi8(static_cast<char>(hi + 1))));
  };
  const __m128i pack = _mm_setr_epi8(2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1);
  std::size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i));
    const __m128i upper = in_range(x, 'A', 'Z');
    const __m128i lower = in_range(x, 'a', 'z');
    const __m128i digit = in_range(x, '0', '9');
    const __m128i dash = _mm_cmpeq_epi8(x, _mm_set1_epi8('-'));
    const __m128i under = _mm_cmpeq_epi8(x, _mm_set1_epi8('_'));
    const __m128i valid =
        _mm_or_si128(_mm_or_si128(upper, lower), _mm_or_si128(digit, _mm_or_si128(dash, under)));
    if (_mm_movemask_epi8(valid) != 0xFFFF) break;
    __m128i shift = _mm_and_si128(upper, _mm_set1_epi8(-'A'));
    shift = _mm_or_si128(shift, _mm_and_si128(lower, _mm_set1_epi8(26 - 'a')));
    shift = _mm_or_si128(shift, _mm_and_si128(digit, _mm_set1_epi8(52 - '0')));
    shift = _mm_or_si128(shift, _mm_and_si128(dash, _mm_set1_epi8(62 - '-')));
    shift = _mm_or_si128(shift, _mm_and_si128(under, _mm_set1_epi8(63 - '_')));
    const __m128i values = _mm_add_epi8(x, shift);
    const __m128i pairs = _mm_maddubs_epi16(values, _mm_set1_epi32(0x01400140));  // a<<6 | b
    const __m128i quads = _mm_madd_epi16(pairs, _mm_set1_epi32(0x00011000));      // ab<<12 | cd
    alignas(16) std::uint8_t bytes[16];
    _mm_store_si128(reinterpret_cast<__m128i*>(bytes), _mm_shuffle_epi8(quads, pack));
    std::memcpy(out, bytes, 12);
    out += 12;
  }
  return i;
}

bool have_ssse3() noexcept {
  static const bool yes = __builtin_cpu_supports("ssse3");
  return yes;
}
#endif
}  // namespace

void base64url_encode_to(const void* data, std::size_t n, char* out) noexcept {
  const auto* p = static_cast<const std::uint8_t*>(data);
  std::size_t i = 0;
#ifdef UJWT_B64_SSSE3
  if (n >= 16 && have_ssse3()) {
    i = encode_ssse3(p, n, out);
    out += i / 3 * 4;
  }
#endif
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

bool base64url_decode_into(std::string_view text, void* out_buf, std::size_t* n_out) noexcept {
  const std::size_t n = text.size();
  if (n % 4 == 1) return false;
  const auto* in = reinterpret_cast<const unsigned char*>(text.data());
  auto* out = static_cast<std::uint8_t*>(out_buf);
  std::size_t i = 0;
#ifdef UJWT_B64_SSSE3
  if (n >= 16 && have_ssse3()) {
    i = decode_ssse3(in, n, out);
    out += i / 4 * 3;
  }
#endif
  // 0xFF (not in the alphabet) has bit 7 set and no value 0..63 has: one
  // test per quad instead of one per character.
  for (; i + 4 <= n; i += 4) {
    const std::uint32_t a = kDecode[in[i]], b = kDecode[in[i + 1]], c = kDecode[in[i + 2]],
                        d = kDecode[in[i + 3]];
    if ((a | b | c | d) & 0x80) return false;
    const std::uint32_t v = (a << 18) | (b << 12) | (c << 6) | d;
    out[0] = static_cast<std::uint8_t>(v >> 16);
    out[1] = static_cast<std::uint8_t>(v >> 8);
    out[2] = static_cast<std::uint8_t>(v);
    out += 3;
  }
  const std::size_t rest = n - i;
  std::uint32_t v = 0;
  for (std::size_t k = 0; k < rest; ++k) {
    const std::uint8_t d = kDecode[in[i + k]];
    if (d == 0xFF) return false;
    v = (v << 6) | d;
  }
  if (rest == 2) {
    // 12 bits carry 8: the low 4 must be zero or the text is not canonical.
    if (v & 0x0F) return false;
    *out++ = static_cast<std::uint8_t>(v >> 4);
  } else if (rest == 3) {  // 18 bits carry 16, low 2 must be zero
    if (v & 0x03) return false;
    *out++ = static_cast<std::uint8_t>(v >> 10);
    *out++ = static_cast<std::uint8_t>(v >> 2);
  }
  *n_out = static_cast<std::size_t>(out - static_cast<std::uint8_t*>(out_buf));
  return true;
}

bool base64url_decode_to(std::string_view text, std::string& out) {
  out.resize(base64url_decoded_max_size(text.size()));
  std::size_t n = 0;
  if (!base64url_decode_into(text, out.data(), &n)) return false;
  out.resize(n);
  return true;
}

std::optional<std::string> base64url_decode(std::string_view text) {
  std::string out;
  if (!base64url_decode_to(text, out)) return std::nullopt;
  return out;
}

}  // namespace upstream_jwt
