// header_binding.hpp — the hdrs / hdr_sha256 claims: which request headers a
// token binds and the digest of their canonical form.
//
// canonical = for each bound name, in order:
//   lowercased-name ":" value "\n"
// value = every field line of that name (names compared case-insensitively),
// in the order received, with leading/trailing SP and HTAB removed, joined
// with ", "; an absent header gives an empty value. hdr_sha256 =
// base64url(SHA-256(canonical)). docs/token-format.md has the full rules.
//
// Names are RFC 9110 tokens, so they never contain ',' and a name list can
// travel ','-joined through the C ABI. Values holding CR, LF or NUL are
// refused: RFC 9110 forbids them, and a line break inside a value could move
// text from one canonical line to the next without changing the digest.
#ifndef UPSTREAM_JWT_HEADER_BINDING_HPP
#define UPSTREAM_JWT_HEADER_BINDING_HPP

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "upstream_jwt/result.hpp"

namespace upstream_jwt {

// One header field line as received.
struct Header {
  std::string_view name;
  std::string_view value;
};

// A non-owning view of the request's header lines (repeats allowed).
struct HeaderList {
  const Header* data = nullptr;
  std::size_t size = 0;
  HeaderList() = default;
  HeaderList(const Header* d, std::size_t n) : data(d), size(n) {}
  HeaderList(const std::vector<Header>& v) : data(v.data()), size(v.size()) {}  // NOLINT
};

// True when s is a non-empty RFC 9110 token (tchar only).
bool is_header_token(std::string_view s) noexcept;

// Checks a ','-joined name list as parse_header_names does, without
// allocating when it is valid (the signer runs this per token); returns the
// number of names.
Result<std::size_t> validate_header_names(std::string_view comma_joined);

// Splits a ','-joined name list and lowercases it. Refused with
// Status::invalid_argument: an empty list, an empty name, a name that is not
// a token, a name given twice (in any case).
Result<std::vector<std::string>> parse_header_names(std::string_view comma_joined);

// hdr_sha256 (43 base64url chars) of `headers` for the lowercased token
// names `names`. A bound header with CR, LF or NUL in its value is
// Status::invalid_argument.
Result<std::string> headers_sha256(const std::vector<std::string>& names, HeaderList headers);
// Same, from a ','-joined list as parse_header_names takes it.
Result<std::string> headers_sha256(std::string_view comma_joined_names, HeaderList headers);

}  // namespace upstream_jwt

#endif  // UPSTREAM_JWT_HEADER_BINDING_HPP
