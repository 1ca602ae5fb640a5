// json_util.hpp — the two JSON jobs nlohmann does not do the way a JWT
// library must: byte-exact, allocation-free string emission for the signing
// hot path, and rejecting duplicate object members when parsing untrusted
// text (nlohmann silently keeps the last one, which lets a token say two
// different things to two different parsers).
#ifndef UPSTREAM_JWT_SRC_JSON_UTIL_HPP
#define UPSTREAM_JWT_SRC_JSON_UTIL_HPP

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace upstream_jwt::detail {

// Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, <= U+10FFFF.
bool utf8_valid(std::string_view s) noexcept;

// Appends s as a JSON string literal, quotes included. s must be valid
// UTF-8. Escapes '"', '\\' and every control character (< 0x20) as \u00XX,
// so CR/LF can never end a header line if a claim is ever logged raw.
void append_json_string(std::string& out, std::string_view s);

// The same literal written at out, which must have room for
// json_string_max_size(s.size()) bytes; returns the end of what was written.
char* write_json_string(char* out, std::string_view s) noexcept;
// Worst case: every byte a control character (\u00XX), plus the quotes.
constexpr std::size_t json_string_max_size(std::size_t n) noexcept { return 6 * n + 2; }

enum class ParseOutcome { ok, syntax, duplicate };

// Parses text as JSON (RFC 8259, invalid UTF-8 refused), failing on the
// first duplicate member name at any depth.
template <class Json>
ParseOutcome parse_strict(std::string_view text, Json& out);

extern template ParseOutcome parse_strict<nlohmann::json>(std::string_view, nlohmann::json&);
extern template ParseOutcome parse_strict<nlohmann::ordered_json>(std::string_view,
                                                                  nlohmann::ordered_json&);

// ---- the verifier's fast path ---------------------------------------------
//
// A token's header and claims are small, flat JSON objects written by one
// signer. scan_flat_object reads such an object in one pass without
// allocating, and DECLINES (returns false) for anything outside a subset
// on which its reading provably equals parse_strict's: the caller then runs
// parse_strict, which decides. Declined, never rejected: the scanner has no
// error messages of its own, so every verdict on unusual input is the full
// parser's. The subset:
//   - the text is one object, with JSON whitespace around and between
//     tokens, nothing after it, at most kMaxMembers members, no two with the
//     same name (names compared as bytes, exact because escapes decline);
//   - strings hold printable ASCII only: no backslash (so no escapes and no
//     lone surrogates), no control character, no byte >= 0x80;
//   - numbers are integers with at most 15 digits (exact as a double), no
//     leading zero, no "-0", no fraction, no exponent;
//   - true, false, null;
//   - objects and arrays nested up to 8 deep (each object with at most
//     kMaxMembers distinct names). Only the top level is recorded: its
//     members, and the elements of its arrays (at most kMaxElements in
//     all); a nested object or array is recorded as its kind alone.
enum class FlatKind : std::uint8_t { string, integer, literal, array, object };

// Plain members and no initialisers: a verifier keeps a FlatObject on its
// stack per call, and zeroing its ~3 KB every time would cost more than
// scanning a token.
struct FlatValue {
  const char* data;  // string: the contents between the quotes (no escapes,
                     // so as decoded); integer: its text; literal: the word
  std::uint32_t size;
  FlatKind kind;
  // A top-level member's array: its elements are
  // FlatObject::elements[first .. first + count); count is 0 for a nested
  // array (not recorded).
  std::uint16_t first;
  std::uint16_t count;
  std::string_view text() const noexcept { return std::string_view(data, size); }
};

struct FlatMember {
  const char* name;
  std::uint32_t name_size;
  // The name's first 8 bytes (zero-padded): names are compared on it first,
  // and a name of at most 8 bytes (every registered claim but three) is
  // equal exactly when key and size are.
  std::uint64_t key;
  FlatValue value;
};

struct FlatObject {
  static constexpr std::size_t kMaxMembers = 32;
  static constexpr std::size_t kMaxElements = 64;
  FlatMember members[kMaxMembers];
  std::size_t size;
  FlatValue elements[kMaxElements];
  std::size_t element_count;

  // The member called name, or nullptr.
  const FlatValue* find(std::string_view name) const noexcept;
};

// True: text is in the subset above and out describes it. False: declined
// (out is unspecified); parse_strict decides.
bool scan_flat_object(std::string_view text, FlatObject& out) noexcept;

// A member name's FlatMember::key: its first 8 bytes, zero-padded,
// little-endian. constexpr so callers can switch on known names.
constexpr std::uint64_t flat_name_key(std::string_view name) noexcept {
  std::uint64_t k = 0;
  for (std::size_t i = 0; i < name.size() && i < 8; ++i)
    k |= std::uint64_t{static_cast<unsigned char>(name[i])} << (8 * i);
  return k;
}

// The value of a FlatKind::integer's text (exact: at most 15 digits).
double flat_integer(std::string_view text) noexcept;

}  // namespace upstream_jwt::detail

#endif  // UPSTREAM_JWT_SRC_JSON_UTIL_HPP
