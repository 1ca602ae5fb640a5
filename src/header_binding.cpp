#include "upstream_jwt/header_binding.hpp"

#include <array>

#include "upstream_jwt/base64url.hpp"
#include "upstream_jwt/digest.hpp"

namespace upstream_jwt {

namespace {

// RFC 9110 5.6.2: tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-"
// / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
constexpr std::array<bool, 256> make_tchar() {
  std::array<bool, 256> t{};
  for (int c = '0'; c <= '9'; ++c) t[c] = true;
  for (int c = 'a'; c <= 'z'; ++c) t[c] = true;
  for (int c = 'A'; c <= 'Z'; ++c) t[c] = true;
  for (char c : std::string_view("!#$%&'*+-.^_`|~")) t[static_cast<unsigned char>(c)] = true;
  return t;
}
constexpr auto kTchar = make_tchar();

char lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }

bool equal_ignoring_case(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

bool is_ows(char c) noexcept { return c == ' ' || c == '\t'; }

std::string_view trim_ows(std::string_view v) noexcept {
  while (!v.empty() && is_ows(v.front())) v.remove_prefix(1);
  while (!v.empty() && is_ows(v.back())) v.remove_suffix(1);
  return v;
}

// Names in messages: bounded, and with anything unprintable shown as '?'.
std::string shown_name(std::string_view name) {
  std::string out = "\"";
  for (char c : name.substr(0, 64))
    out += static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7F ? '?' : c;
  out += name.size() > 64 ? "\"..." : "\"";
  return out;
}

bool breaks_lines(std::string_view v) noexcept {
  return v.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
}

}  // namespace

bool is_header_token(std::string_view s) noexcept {
  if (s.empty()) return false;
  for (char c : s)
    if (!kTchar[static_cast<unsigned char>(c)]) return false;
  return true;
}

Result<std::size_t> validate_header_names(std::string_view list) {
  if (list.empty()) return make_error(Status::invalid_argument, "header name list is empty");
  std::size_t count = 0;
  std::size_t start = 0;
  for (;;) {
    const std::size_t comma = list.find(',', start);
    const std::string_view name =
        list.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    if (!is_header_token(name))
      return make_error(Status::invalid_argument,
                        name.empty() ? std::string("header name list has an empty name")
                                     : "header name " + shown_name(name) + " is not an HTTP token");
    // Every earlier name: the lists are a handful of names long.
    for (std::size_t at = 0; at < start;) {
      const std::size_t end = list.find(',', at);
      if (equal_ignoring_case(list.substr(at, end - at), name))
        return make_error(Status::invalid_argument, "header name " + shown_name(name) + " is listed twice");
      at = end + 1;
    }
    ++count;
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return count;
}

Result<std::vector<std::string>> parse_header_names(std::string_view list) {
  auto count = validate_header_names(list);
  if (!count) return std::move(count).error();
  std::vector<std::string> names;
  names.reserve(count.value());
  std::size_t start = 0;
  for (;;) {
    const std::size_t comma = list.find(',', start);
    std::string name(list.substr(start, comma == std::string_view::npos ? std::string_view::npos
                                                                          : comma - start));
    for (char& c : name) c = lower(c);
    names.push_back(std::move(name));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return names;
}

Result<std::string> headers_sha256(const std::vector<std::string>& names, HeaderList headers) {
  if (headers.data == nullptr && headers.size != 0)
    return make_error(Status::invalid_argument, "header list is NULL with a non-zero count");
  // Reused per thread: the canonical text is short and rebuilt per request.
  thread_local std::string canonical;
  canonical.clear();
  for (const std::string& name : names) {
    canonical += name;
    canonical += ':';
    bool first = true;
    for (std::size_t i = 0; i < headers.size; ++i) {
      const Header& h = headers.data[i];
      if (!equal_ignoring_case(h.name, name)) continue;
      if (breaks_lines(h.value))
        return make_error(Status::invalid_argument,
                          "header " + name + " has CR, LF or NUL in its value");
      if (!first) canonical += ", ";
      first = false;
      canonical += trim_ows(h.value);
    }
    canonical += '\n';
  }
  auto digest = sha256_raw(canonical);
  if (!digest) return std::move(digest).error();
  std::string out(kSha256B64Size, '\0');
  base64url_encode_to(digest.value().data(), kSha256Size, out.data());
  return out;
}

Result<std::string> headers_sha256(std::string_view comma_joined_names, HeaderList headers) {
  auto names = parse_header_names(comma_joined_names);
  if (!names) return std::move(names).error();
  return headers_sha256(names.value(), headers);
}

}  // namespace upstream_jwt
