// json_util.hpp — the two JSON jobs nlohmann does not do the way a JWT
// library must: byte-exact, allocation-free string emission for the signing
// hot path, and rejecting duplicate object members when parsing untrusted
// text (nlohmann silently keeps the last one, which lets a token say two
// different things to two different parsers).
#ifndef UPSTREAM_JWT_SRC_JSON_UTIL_HPP
#define UPSTREAM_JWT_SRC_JSON_UTIL_HPP

#include <nlohmann/json.hpp>

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

}  // namespace upstream_jwt::detail

#endif  // UPSTREAM_JWT_SRC_JSON_UTIL_HPP
