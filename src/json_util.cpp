#include "json_util.hpp"

#include <array>
#include <cstdint>
#include <cstring>
#include <unordered_set>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include <vector>

namespace upstream_jwt::detail {

bool utf8_valid(std::string_view s) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const std::size_t n = s.size();
  std::size_t i = 0;
  while (i < n) {
    // Claims are almost always ASCII: skip 16 (SSE2), then 8 bytes at a
    // time while no byte has its high bit set.
#if defined(__SSE2__)
    while (n - i >= 16) {
      const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
      if (_mm_movemask_epi8(x) != 0) break;
      i += 16;
    }
#endif
    while (n - i >= 8) {
      std::uint64_t w;
      std::memcpy(&w, p + i, 8);
      if (w & 0x8080808080808080ULL) break;
      i += 8;
    }
    if (i >= n) break;
    const unsigned char c = p[i];
    if (c < 0x80) { ++i; continue; }
    std::size_t len;
    unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the 2nd byte
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;        // overlong
      else if (c == 0xED) hi = 0x9F;   // UTF-16 surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;        // overlong
      else if (c == 0xF4) hi = 0x8F;   // > U+10FFFF
    } else {
      return false;
    }
    if (n - i < len) return false;
    if (p[i + 1] < lo || p[i + 1] > hi) return false;
    for (std::size_t k = 2; k < len; ++k)
      if ((p[i + k] & 0xC0) != 0x80) return false;
    i += len;
  }
  return true;
}

namespace {
// 1 for the bytes RFC 8259 requires escaped: controls, '"' and '\\'.
constexpr std::array<std::uint8_t, 256> make_escape_table() {
  std::array<std::uint8_t, 256> t{};
  for (int c = 0; c < 0x20; ++c) t[c] = 1;
  t['"'] = 1;
  t['\\'] = 1;
  return t;
}
constexpr auto kNeedsEscape = make_escape_table();
}  // namespace

void append_json_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  const auto* b = reinterpret_cast<const unsigned char*>(s.data());
  std::size_t first = 0;
  while (first < s.size() && !kNeedsEscape[b[first]]) ++first;
  out.push_back('"');
  if (first == s.size()) {  // the usual case: one copy
    out.append(s.data(), s.size());
    out.push_back('"');
    return;
  }
  std::size_t run = 0;  // start of the pending run that needs no escaping
  for (std::size_t i = first; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (!kNeedsEscape[c]) continue;
    out.append(s.data() + run, i - run);
    run = i + 1;
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else {
      const char esc[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
      out.append(esc, sizeof esc);
    }
  }
  out.append(s.data() + run, s.size() - run);
  out.push_back('"');
}

namespace {
// Index of the first byte of b[0..n) that JSON requires escaped, n if none.
// SSE2 (x86-64 baseline) checks 16 bytes per step: claim strings are
// uuids, names and paths, and scanning them was the largest cost of
// writing a token's payload.
std::size_t first_to_escape(const unsigned char* b, std::size_t n) noexcept {
  std::size_t i = 0;
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i backslash = _mm_set1_epi8('\\');
  const __m128i max_control = _mm_set1_epi8(0x1F);
  for (; n - i >= 16; i += 16) {
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + i));
    const __m128i control = _mm_cmpeq_epi8(_mm_min_epu8(x, max_control), x);  // x <= 0x1F
    const __m128i hit = _mm_or_si128(
        control, _mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, backslash)));
    const int mask = _mm_movemask_epi8(hit);
    if (mask != 0) return i + static_cast<std::size_t>(__builtin_ctz(static_cast<unsigned>(mask)));
  }
#endif
  while (i < n && !kNeedsEscape[b[i]]) ++i;
  return i;
}
}  // namespace

char* write_json_string(char* out, std::string_view s) noexcept {
  static constexpr char kHex[] = "0123456789abcdef";
  const auto* b = reinterpret_cast<const unsigned char*>(s.data());
  const std::size_t n = s.size();
  *out++ = '"';
  std::size_t run = 0;  // start of the pending run that needs no escaping
  while (run < n) {
    const std::size_t i = run + first_to_escape(b + run, n - run);
    std::memcpy(out, b + run, i - run);
    out += i - run;
    if (i == n) break;
    const unsigned char c = b[i];
    run = i + 1;
    *out++ = '\\';
    if (c == '"' || c == '\\') {
      *out++ = static_cast<char>(c);
    } else {
      const char esc[5] = {'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
      std::memcpy(out, esc, sizeof esc);
      out += sizeof esc;
    }
  }
  *out++ = '"';
  return out;
}

namespace {

// 1 for the bytes a fast-path string may not hold: controls, '"' (its
// end), '\\' (escapes decline) and everything >= 0x80 (UTF-8 is left to
// the full parser's validation).
constexpr std::array<std::uint8_t, 256> make_flat_stop_table() {
  std::array<std::uint8_t, 256> t{};
  for (int c = 0; c < 0x20; ++c) t[c] = 1;
  for (int c = 0x80; c < 0x100; ++c) t[c] = 1;
  t['"'] = 1;
  t['\\'] = 1;
  return t;
}
constexpr auto kFlatStop = make_flat_stop_table();

std::uint64_t name_key(const char* p, std::size_t n) noexcept {
  return flat_name_key(std::string_view(p, n));
}

// One of 64 bits per name, picked from its key and size: a name whose bit
// no earlier name set cannot repeat one, so the pairwise comparison runs
// only on a collision (a token's ~16 names rarely collide).
std::uint64_t name_bit(std::uint64_t key, std::uint32_t size) noexcept {
  return std::uint64_t{1} << ((key * 0x9E3779B97F4A7C15ULL + size) >> 58);
}

bool same_name(std::uint64_t key_a, const char* a, std::uint32_t size_a, std::uint64_t key_b,
               const char* b, std::uint32_t size_b) noexcept {
  return key_a == key_b && size_a == size_b && (size_a <= 8 || std::memcmp(a, b, size_a) == 0);
}

// Deeper nesting declines (tokens nest one level: consumer, credential).
constexpr int kMaxFlatDepth = 8;

// The scanner's cursor. Every method returns false to decline.
class FlatScanner {
 public:
  explicit FlatScanner(std::string_view text) noexcept
      : p_(text.data()), end_(text.data() + text.size()) {}

  void skip_ws() noexcept {
    while (p_ != end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) ++p_;
  }
  bool at_end() const noexcept { return p_ == end_; }
  bool take(char c) noexcept {
    if (p_ == end_ || *p_ != c) return false;
    ++p_;
    return true;
  }

  // At the opening quote.
  bool string(const char*& data, std::uint32_t& size) noexcept {
    if (!take('"')) return false;
    const char* start = p_;
#if defined(__SSE2__)
    // 16 bytes per step: a token's strings (digests, ids, paths) are most
    // of its bytes. Stops at '"', '\\', a control or a byte >= 0x80.
    const __m128i quote = _mm_set1_epi8('"');
    const __m128i backslash = _mm_set1_epi8('\\');
    const __m128i max_control = _mm_set1_epi8(0x1F);
    while (end_ - p_ >= 16) {
      const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p_));
      const __m128i control = _mm_cmpeq_epi8(_mm_min_epu8(x, max_control), x);
      const __m128i hit = _mm_or_si128(
          control, _mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, backslash)));
      const int mask = _mm_movemask_epi8(hit) | _mm_movemask_epi8(x);  // x's sign bit: >= 0x80
      if (mask != 0) {
        p_ += __builtin_ctz(static_cast<unsigned>(mask));
        break;
      }
      p_ += 16;
    }
#endif
    while (p_ != end_ && !kFlatStop[static_cast<unsigned char>(*p_)]) ++p_;
    if (p_ == end_ || *p_ != '"') return false;
    data = start;
    size = static_cast<std::uint32_t>(p_ - start);  // texts are token-sized
    ++p_;
    return true;
  }

  // Any value: a scalar, or an object or array read through (validated,
  // duplicate names refused, not recorded; kind object/array, no elements).
  bool any(FlatValue& v, int depth) noexcept {
    if (p_ != end_ && (*p_ == '{' || *p_ == '[')) {
      v.kind = *p_ == '{' ? FlatKind::object : FlatKind::array;
      v.data = nullptr;
      v.size = 0;
      v.first = 0;
      v.count = 0;
      return container(depth);
    }
    return scalar(v);
  }

  // A scalar: string, small integer or literal.
  bool scalar(FlatValue& v) noexcept {
    if (p_ == end_) return false;
    const char c = *p_;
    if (c == '"') {
      v.kind = FlatKind::string;
      return string(v.data, v.size);
    }
    if (c == '-' || (c >= '0' && c <= '9')) return integer(v);
    for (std::string_view word : {std::string_view("true"), std::string_view("false"),
                                  std::string_view("null")}) {
      if (static_cast<std::size_t>(end_ - p_) >= word.size() &&
          std::memcmp(p_, word.data(), word.size()) == 0) {
        v.kind = FlatKind::literal;
        v.data = p_;
        v.size = static_cast<std::uint32_t>(word.size());
        p_ += word.size();
        return true;
      }
    }
    return false;
  }

 private:
  // At '{' or '['; depth is that container's (the top-level object is 0).
  bool container(int depth) noexcept {
    if (depth > kMaxFlatDepth) return false;
    FlatValue ignored;
    if (take('[')) {
      skip_ws();
      if (take(']')) return true;
      for (;;) {
        if (!any(ignored, depth + 1)) return false;
        skip_ws();
        if (take(']')) return true;
        if (!take(',')) return false;
        skip_ws();
      }
    }
    if (!take('{')) return false;
    struct Name { const char* data; std::uint32_t size; std::uint64_t key; };
    Name names[FlatObject::kMaxMembers];
    std::size_t n = 0;
    std::uint64_t bits = 0;
    skip_ws();
    if (take('}')) return true;
    for (;;) {
      if (n == FlatObject::kMaxMembers) return false;
      Name& name = names[n];
      if (!string(name.data, name.size)) return false;
      name.key = name_key(name.data, name.size);
      const std::uint64_t bit = name_bit(name.key, name.size);
      if ((bits & bit) != 0) {
        for (std::size_t i = 0; i < n; ++i)
          if (same_name(names[i].key, names[i].data, names[i].size, name.key, name.data, name.size))
            return false;  // duplicate: the parser's verdict
      }
      bits |= bit;
      ++n;
      skip_ws();
      if (!take(':')) return false;
      skip_ws();
      if (!any(ignored, depth + 1)) return false;
      skip_ws();
      if (take('}')) return true;
      if (!take(',')) return false;
      skip_ws();
    }
  }

  bool integer(FlatValue& v) noexcept {
    const char* start = p_;
    const bool negative = take('-');
    const char* digits = p_;
    while (p_ != end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    const std::size_t n = static_cast<std::size_t>(p_ - digits);
    if (n == 0 || n > 15) return false;
    if (*digits == '0' && (n > 1 || negative)) return false;  // leading zero, -0
    // A fraction or exponent is declined by the caller: '.', 'e' or 'E' is
    // never what may follow a value (',', ']', '}' or whitespace).
    v.kind = FlatKind::integer;
    v.data = start;
    v.size = static_cast<std::uint32_t>(p_ - start);
    return true;
  }

  const char* p_;
  const char* end_;
};

}  // namespace

const FlatValue* FlatObject::find(std::string_view name) const noexcept {
  const std::uint64_t key = name_key(name.data(), name.size());
  for (std::size_t i = 0; i < size; ++i)
    if (same_name(members[i].key, members[i].name, members[i].name_size, key, name.data(),
                  static_cast<std::uint32_t>(name.size())))
      return &members[i].value;
  return nullptr;
}

bool scan_flat_object(std::string_view text, FlatObject& out) noexcept {
  out.size = 0;
  out.element_count = 0;
  if (text.size() > UINT32_MAX) return false;  // sizes are kept in 32 bits
  FlatScanner s(text);
  std::uint64_t bits = 0;  // name_bit of every member so far
  s.skip_ws();
  if (!s.take('{')) return false;
  s.skip_ws();
  if (!s.take('}')) {
    for (;;) {
      if (out.size == FlatObject::kMaxMembers) return false;
      FlatMember& m = out.members[out.size];
      if (!s.string(m.name, m.name_size)) return false;
      m.key = name_key(m.name, m.name_size);
      const std::uint64_t bit = name_bit(m.key, m.name_size);
      if ((bits & bit) != 0) {
        for (std::size_t i = 0; i < out.size; ++i) {
          const FlatMember& o = out.members[i];
          if (same_name(o.key, o.name, o.name_size, m.key, m.name, m.name_size))
            return false;  // duplicate: the parser's verdict
        }
      }
      bits |= bit;
      s.skip_ws();
      if (!s.take(':')) return false;
      s.skip_ws();
      if (s.take('[')) {
        m.value.kind = FlatKind::array;
        m.value.data = nullptr;
        m.value.size = 0;
        m.value.first = static_cast<std::uint16_t>(out.element_count);
        m.value.count = 0;
        s.skip_ws();
        if (!s.take(']')) {
          for (;;) {
            if (out.element_count == FlatObject::kMaxElements) return false;
            if (!s.any(out.elements[out.element_count], 2)) return false;
            ++out.element_count;
            ++m.value.count;
            s.skip_ws();
            if (s.take(']')) break;
            if (!s.take(',')) return false;
            s.skip_ws();
          }
        }
      } else if (!s.any(m.value, 1)) {
        return false;
      }
      ++out.size;
      s.skip_ws();
      if (s.take('}')) break;
      if (!s.take(',')) return false;
      s.skip_ws();
    }
  }
  s.skip_ws();
  return s.at_end();
}

double flat_integer(std::string_view text) noexcept {
  std::size_t i = 0;
  const bool negative = !text.empty() && text[0] == '-';
  if (negative) i = 1;
  std::int64_t v = 0;
  for (; i < text.size(); ++i) v = v * 10 + (text[i] - '0');
  return static_cast<double>(negative ? -v : v);
}

template <class Json>
ParseOutcome parse_strict(std::string_view text, Json& out) {
  std::vector<std::unordered_set<std::string>> seen;
  bool duplicate = false;
  typename Json::parser_callback_t cb =
      [&](int /*depth*/, typename Json::parse_event_t ev, Json& parsed) -> bool {
    using E = typename Json::parse_event_t;
    switch (ev) {
      case E::object_start:
        seen.emplace_back();
        break;
      case E::object_end:
        if (!seen.empty()) seen.pop_back();
        break;
      case E::key:
        if (!seen.empty() && parsed.is_string() &&
            !seen.back().insert(parsed.template get_ref<const std::string&>()).second)
          duplicate = true;
        break;
      default:
        break;
    }
    return true;
  };
  out = Json::parse(text.begin(), text.end(), cb, /*allow_exceptions=*/false,
                    /*ignore_comments=*/false);
  if (out.is_discarded()) return ParseOutcome::syntax;
  if (duplicate) return ParseOutcome::duplicate;
  return ParseOutcome::ok;
}

template ParseOutcome parse_strict<nlohmann::json>(std::string_view, nlohmann::json&);
template ParseOutcome parse_strict<nlohmann::ordered_json>(std::string_view,
                                                           nlohmann::ordered_json&);

}  // namespace upstream_jwt::detail
