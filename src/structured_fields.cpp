// Parsing follows RFC 9651 Section 4.2 step by step, so each rule below can
// be checked against the RFC's algorithm of the same name.
#include "upstream_jwt/structured_fields.hpp"

#include <cstring>

namespace upstream_jwt::sf {

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_lcalpha(char c) { return c >= 'a' && c <= 'z'; }
bool is_alpha(char c) { return is_lcalpha(c) || (c >= 'A' && c <= 'Z'); }
bool is_tchar(char c) {
  return is_alpha(c) || is_digit(c) || (c != '\0' && std::strchr("!#$%&'*+-.^_`|~", c) != nullptr);
}
bool is_key_char(char c) {
  return is_lcalpha(c) || is_digit(c) || c == '_' || c == '-' || c == '.' || c == '*';
}
bool is_b64_char(char c) { return is_alpha(c) || is_digit(c) || c == '+' || c == '/' || c == '='; }

// Well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF).
bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = 0;
    std::uint32_t cp = 0;
    if (c < 0x80) { ++i; continue; }
    if (c >= 0xC2 && c <= 0xDF) { n = 1; cp = c & 0x1F; }
    else if (c >= 0xE0 && c <= 0xEF) { n = 2; cp = c & 0x0F; }
    else if (c >= 0xF0 && c <= 0xF4) { n = 3; cp = c & 0x07; }
    else return false;
    if (s.size() - i <= n) return false;
    for (std::size_t k = 1; k <= n; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += n + 1;
  }
  return true;
}

class Parser {
 public:
  explicit Parser(std::string_view in, bool refuse_repeated = false)
      : in_(in), refuse_repeated_(refuse_repeated) {}

  Error fail(const std::string& what) const {
    return make_error(Status::invalid_argument,
                      "structured field: " + what + " at offset " + std::to_string(pos_));
  }
  bool empty() const { return pos_ >= in_.size(); }
  char peek() const { return empty() ? '\0' : in_[pos_]; }
  void skip_sp() {
    while (!empty() && in_[pos_] == ' ') ++pos_;
  }
  void skip_ows() {
    while (!empty() && (in_[pos_] == ' ' || in_[pos_] == '\t')) ++pos_;
  }

  // RFC 9651 4.2 steps 1-2: the field must be ASCII.
  Result<void> check_ascii() const {
    for (char c : in_)
      if (static_cast<unsigned char>(c) > 0x7F)
        return make_error(Status::invalid_argument, "structured field: non-ASCII byte");
    return {};
  }

  // Top-level wrapper: leading SP, the value, trailing SP, then nothing.
  template <class T, class F>
  Result<T> top(F&& parse_value) {
    if (auto a = check_ascii(); !a) return std::move(a).error();
    skip_sp();
    auto v = parse_value();
    if (!v) return std::move(v).error();
    skip_sp();
    if (!empty()) return fail("unexpected character");
    return v;
  }

  // After a List or Dictionary member: the end, or ',' and another member.
  Result<bool> member_separator() {
    skip_ows();
    if (empty()) return false;
    if (in_[pos_] != ',') return fail("expected ','");
    ++pos_;
    skip_ows();
    if (empty()) return fail("trailing ','");
    return true;
  }

  Result<List> list() {
    List out;
    while (!empty()) {
      auto m = item_or_inner_list();
      if (!m) return std::move(m).error();
      out.push_back(std::move(m.value()));
      auto more = member_separator();
      if (!more) return std::move(more).error();
      if (!more.value()) return out;
    }
    return out;
  }

  Result<Dictionary> dictionary() {
    Dictionary out;
    while (!empty()) {
      auto key = parse_key();
      if (!key) return std::move(key).error();
      Member member;
      if (peek() == '=') {
        ++pos_;
        auto m = item_or_inner_list();
        if (!m) return std::move(m).error();
        member = std::move(m.value());
      } else {
        auto params = parameters();
        if (!params) return std::move(params).error();
        member = Item{BareItem::boolean(true), std::move(params.value())};
      }
      put(out, std::move(key.value()), std::move(member));
      auto more = member_separator();
      if (!more) return std::move(more).error();
      if (!more.value()) return out;
    }
    return out;
  }

  Result<Member> item_or_inner_list() {
    if (peek() == '(') {
      auto il = inner_list();
      if (!il) return std::move(il).error();
      return Member(std::move(il.value()));
    }
    auto it = item();
    if (!it) return std::move(it).error();
    return Member(std::move(it.value()));
  }

  Result<InnerList> inner_list() {
    if (peek() != '(') return fail("expected '('");
    ++pos_;
    InnerList out;
    while (!empty()) {
      skip_sp();
      if (peek() == ')') {
        ++pos_;
        auto params = parameters();
        if (!params) return std::move(params).error();
        out.params = std::move(params.value());
        return out;
      }
      auto it = item();
      if (!it) return std::move(it).error();
      out.items.push_back(std::move(it.value()));
      if (peek() != ' ' && peek() != ')') return fail("expected ' ' or ')' in inner list");
    }
    return fail("unterminated inner list");
  }

  Result<Item> item() {
    auto bare = bare_item();
    if (!bare) return std::move(bare).error();
    auto params = parameters();
    if (!params) return std::move(params).error();
    return Item{std::move(bare.value()), std::move(params.value())};
  }

  Result<Parameters> parameters() {
    Parameters out;
    while (peek() == ';') {
      ++pos_;
      skip_sp();
      auto key = parse_key();
      if (!key) return std::move(key).error();
      BareItem value = BareItem::boolean(true);
      if (peek() == '=') {
        ++pos_;
        auto v = bare_item();
        if (!v) return std::move(v).error();
        value = std::move(v.value());
      }
      if (refuse_repeated_ && find_key(out, key.value()))
        return fail("parameter \"" + key.value() + "\" repeated");
      put(out, std::move(key.value()), std::move(value));
    }
    return out;
  }

  Result<std::string> parse_key() {
    const char c = peek();
    if (!is_lcalpha(c) && c != '*') return fail("expected a key");
    const std::size_t start = pos_;
    while (!empty() && is_key_char(in_[pos_])) ++pos_;
    return std::string(in_.substr(start, pos_ - start));
  }

  Result<BareItem> bare_item() {
    const char c = peek();
    if (c == '-' || is_digit(c)) return number();
    if (c == '"') return string();
    if (c == '*' || is_alpha(c)) return token();
    if (c == ':') return byte_sequence();
    if (c == '?') return boolean();
    if (c == '@') return date();
    if (c == '%') return display_string();
    return fail("expected an item");
  }

  Result<BareItem> number() {
    bool decimal = false;
    bool negative = false;
    if (peek() == '-') { negative = true; ++pos_; }
    if (!is_digit(peek())) return fail("expected a digit");
    std::int64_t int_part = 0;
    std::size_t int_digits = 0;
    std::int64_t frac = 0;
    std::size_t frac_digits = 0;
    while (!empty()) {
      const char ch = in_[pos_];
      if (is_digit(ch)) {
        ++pos_;
        if (decimal) {
          frac = frac * 10 + (ch - '0');
          ++frac_digits;
        } else {
          int_part = int_part * 10 + (ch - '0');
          ++int_digits;
        }
      } else if (!decimal && ch == '.') {
        if (int_digits > 12) return fail("decimal with more than 12 integer digits");
        ++pos_;
        decimal = true;
      } else {
        break;
      }
      if (!decimal && int_digits > 15) return fail("integer with more than 15 digits");
      if (decimal && int_digits + 1 + frac_digits > 16) return fail("decimal too long");
    }
    if (!decimal) return BareItem::integer(negative ? -int_part : int_part);
    if (frac_digits == 0) return fail("decimal ends with '.'");
    if (frac_digits > 3) return fail("decimal with more than 3 fractional digits");
    for (std::size_t k = frac_digits; k < 3; ++k) frac *= 10;
    const std::int64_t milli = int_part * 1000 + frac;
    return BareItem::decimal_milli(negative ? -milli : milli);
  }

  Result<BareItem> string() {
    ++pos_;  // '"'
    std::string out;
    while (!empty()) {
      const char c = in_[pos_++];
      if (c == '\\') {
        if (empty()) return fail("string ends in an escape");
        const char next = in_[pos_++];
        if (next != '"' && next != '\\') return fail("invalid escape in string");
        out.push_back(next);
      } else if (c == '"') {
        return BareItem::string(std::move(out));
      } else if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7E) {
        --pos_;
        return fail("control character in string");
      } else {
        out.push_back(c);
      }
    }
    return fail("unterminated string");
  }

  Result<BareItem> token() {
    const std::size_t start = pos_++;
    while (!empty() && (is_tchar(in_[pos_]) || in_[pos_] == ':' || in_[pos_] == '/')) ++pos_;
    return BareItem::token(std::string(in_.substr(start, pos_ - start)));
  }

  Result<BareItem> byte_sequence() {
    ++pos_;  // ':'
    const std::size_t end = in_.find(':', pos_);
    if (end == std::string_view::npos) return fail("unterminated byte sequence");
    const std::string_view b64 = in_.substr(pos_, end - pos_);
    for (char ch : b64)
      if (!is_b64_char(ch)) return fail("invalid character in byte sequence");
    auto bytes = base64_decode(b64);
    if (!bytes) return fail("byte sequence is not canonical padded base64");
    pos_ = end + 1;
    return BareItem::bytes(std::move(*bytes));
  }

  Result<BareItem> boolean() {
    ++pos_;  // '?'
    const char c = peek();
    if (c == '1' || c == '0') {
      ++pos_;
      return BareItem::boolean(c == '1');
    }
    return fail("expected ?0 or ?1");
  }

  Result<BareItem> date() {
    ++pos_;  // '@'
    auto n = number();
    if (!n) return std::move(n).error();
    if (n.value().type != Type::integer) return fail("date is not an integer");
    return BareItem::date(n.value().number);
  }

  Result<BareItem> display_string() {
    ++pos_;  // '%'
    if (peek() != '"') return fail("expected '\"' after '%'");
    ++pos_;
    std::string out;
    auto hex = [](char h) -> int {
      if (is_digit(h)) return h - '0';
      if (h >= 'a' && h <= 'f') return h - 'a' + 10;
      return -1;  // uppercase hex is invalid here (RFC 9651 4.2.10)
    };
    while (!empty()) {
      const char c = in_[pos_++];
      if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7E) {
        --pos_;
        return fail("control character in display string");
      }
      if (c == '%') {
        if (in_.size() - pos_ < 2) return fail("truncated escape in display string");
        const int hi = hex(in_[pos_]);
        const int lo = hex(in_[pos_ + 1]);
        if (hi < 0 || lo < 0) return fail("invalid escape in display string");
        out.push_back(static_cast<char>(hi * 16 + lo));
        pos_ += 2;
      } else if (c == '"') {
        if (!valid_utf8(out)) return fail("display string is not UTF-8");
        return BareItem::display(std::move(out));
      } else {
        out.push_back(c);
      }
    }
    return fail("unterminated display string");
  }

 private:
  template <class V>
  static bool find_key(const std::vector<std::pair<std::string, V>>& map, const std::string& key) {
    for (const auto& kv : map)
      if (kv.first == key) return true;
    return false;
  }

  template <class V>
  static void put(std::vector<std::pair<std::string, V>>& map, std::string key, V value) {
    for (auto& kv : map) {
      if (kv.first == key) {
        kv.second = std::move(value);
        return;
      }
    }
    map.emplace_back(std::move(key), std::move(value));
  }

  std::string_view in_;
  std::size_t pos_ = 0;
  bool refuse_repeated_ = false;
};

Error bad_value(const std::string& what) {
  return make_error(Status::invalid_argument, "structured field: cannot serialize " + what);
}

void append_integer(std::int64_t v, std::string& out) { out += std::to_string(v); }

}  // namespace

const BareItem* Item::param(std::string_view key) const noexcept {
  for (const auto& kv : params)
    if (kv.first == key) return &kv.second;
  return nullptr;
}

const BareItem* InnerList::param(std::string_view key) const noexcept {
  for (const auto& kv : params)
    if (kv.first == key) return &kv.second;
  return nullptr;
}

const Member* find(const Dictionary& dict, std::string_view key) noexcept {
  for (const auto& kv : dict)
    if (kv.first == key) return &kv.second;
  return nullptr;
}

Result<List> parse_list(std::string_view field) {
  Parser p(field);
  return p.top<List>([&] { return p.list(); });
}

Result<Dictionary> parse_dictionary(std::string_view field) {
  Parser p(field);
  return p.top<Dictionary>([&] { return p.dictionary(); });
}

Result<Dictionary> parse_dictionary(std::string_view field, RepeatedParameter repeated) {
  Parser p(field, repeated == RepeatedParameter::refuse);
  return p.top<Dictionary>([&] { return p.dictionary(); });
}

Result<Item> parse_item(std::string_view field) {
  Parser p(field);
  return p.top<Item>([&] { return p.item(); });
}

Result<InnerList> parse_inner_list(std::string_view text) {
  Parser p(text);
  return p.top<InnerList>([&] { return p.inner_list(); });
}

bool is_valid_key(std::string_view key) noexcept {
  if (key.empty() || (!is_lcalpha(key[0]) && key[0] != '*')) return false;
  for (char c : key)
    if (!is_key_char(c)) return false;
  return true;
}

bool is_valid_token(std::string_view token) noexcept {
  if (token.empty() || (!is_alpha(token[0]) && token[0] != '*')) return false;
  for (char c : token)
    if (!is_tchar(c) && c != ':' && c != '/') return false;
  return true;
}

Result<void> serialize_to(const BareItem& bare, std::string& out) {
  switch (bare.type) {
    case Type::integer:
      if (bare.number > kMaxInteger || bare.number < -kMaxInteger) return bad_value("integer out of range");
      append_integer(bare.number, out);
      return {};
    case Type::date:
      if (bare.number > kMaxInteger || bare.number < -kMaxInteger) return bad_value("date out of range");
      out.push_back('@');
      append_integer(bare.number, out);
      return {};
    case Type::decimal: {
      const std::int64_t v = bare.number;
      if (v > kMaxDecimalMilli || v < -kMaxDecimalMilli) return bad_value("decimal out of range");
      const std::int64_t a = v < 0 ? -v : v;
      if (v < 0) out.push_back('-');
      append_integer(a / 1000, out);
      out.push_back('.');
      std::int64_t frac = a % 1000;
      std::string digits = std::to_string(1000 + frac).substr(1);  // three digits
      while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
      out += digits;
      return {};
    }
    case Type::string:
      out.push_back('"');
      for (char c : bare.text) {
        if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7E)
          return bad_value("string with a non-printable character");
        if (c == '"' || c == '\\') out.push_back('\\');
        out.push_back(c);
      }
      out.push_back('"');
      return {};
    case Type::token:
      if (!is_valid_token(bare.text)) return bad_value("invalid token");
      out += bare.text;
      return {};
    case Type::byte_sequence:
      out.push_back(':');
      out += base64_encode(bare.text);
      out.push_back(':');
      return {};
    case Type::boolean:
      if (bare.number != 0 && bare.number != 1) return bad_value("boolean");
      out += bare.number ? "?1" : "?0";
      return {};
    case Type::display_string: {
      if (!valid_utf8(bare.text)) return bad_value("display string that is not UTF-8");
      static const char* const kHex = "0123456789abcdef";
      out += "%\"";
      for (char c : bare.text) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '%' || c == '"' || u < 0x20 || u > 0x7E) {
          out.push_back('%');
          out.push_back(kHex[u >> 4]);
          out.push_back(kHex[u & 0xF]);
        } else {
          out.push_back(c);
        }
      }
      out.push_back('"');
      return {};
    }
  }
  return bad_value("unknown type");
}

Result<void> serialize_params_to(const Parameters& params, std::string& out) {
  for (const auto& [key, value] : params) {
    if (!is_valid_key(key)) return bad_value("invalid parameter key");
    out.push_back(';');
    out += key;
    if (!value.is_true()) {
      out.push_back('=');
      if (auto r = serialize_to(value, out); !r) return r;
    }
  }
  return {};
}

namespace {

Result<void> item_to(const Item& item, std::string& out) {
  if (auto r = serialize_to(item.value, out); !r) return r;
  return serialize_params_to(item.params, out);
}

Result<void> inner_to(const InnerList& list, std::string& out) {
  out.push_back('(');
  bool first = true;
  for (const Item& it : list.items) {
    if (!first) out.push_back(' ');
    first = false;
    if (auto r = item_to(it, out); !r) return r;
  }
  out.push_back(')');
  return serialize_params_to(list.params, out);
}

Result<void> member_to(const Member& m, std::string& out) {
  if (const auto* il = std::get_if<InnerList>(&m)) return inner_to(*il, out);
  return item_to(std::get<Item>(m), out);
}

Result<std::string> finish(Result<void> r, std::string out) {
  if (!r) return std::move(r).error();
  return out;
}

}  // namespace

Result<std::string> serialize(const Item& item) {
  std::string out;
  auto r = item_to(item, out);
  return finish(std::move(r), std::move(out));
}

Result<std::string> serialize(const InnerList& list) {
  std::string out;
  auto r = inner_to(list, out);
  return finish(std::move(r), std::move(out));
}

Result<std::string> serialize(const Member& member) {
  std::string out;
  auto r = member_to(member, out);
  return finish(std::move(r), std::move(out));
}

Result<std::string> serialize(const List& list) {
  std::string out;
  for (const Member& m : list) {
    if (!out.empty()) out += ", ";
    if (auto r = member_to(m, out); !r) return std::move(r).error();
  }
  return out;
}

Result<std::string> serialize(const Dictionary& dict) {
  std::string out;
  for (const auto& [key, m] : dict) {
    if (!is_valid_key(key)) return bad_value("invalid dictionary key");
    if (!out.empty()) out += ", ";
    out += key;
    const auto* item = std::get_if<Item>(&m);
    if (item != nullptr && item->value.is_true()) {
      if (auto r = serialize_params_to(item->params, out); !r) return std::move(r).error();
    } else {
      out.push_back('=');
      if (auto r = member_to(m, out); !r) return std::move(r).error();
    }
  }
  return out;
}

std::string base64_encode(std::string_view bytes) {
  static const char* const kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t v = (p[i] << 16) | (p[i + 1] << 8) | p[i + 2];
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
    out.push_back(kAlphabet[v & 63]);
  }
  const std::size_t rest = bytes.size() - i;
  if (rest > 0) {
    std::uint32_t v = p[i] << 16;
    if (rest == 2) v |= p[i + 1] << 8;
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(rest == 2 ? kAlphabet[(v >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    int v[4];
    int pad = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = text[i + k];
      if (c == '=') {
        // '=' only at the end of the last quantum, at most two.
        if (!last || k < 2) return std::nullopt;
        v[k] = 0;
        ++pad;
      } else {
        if (pad > 0) return std::nullopt;
        v[k] = value(c);
        if (v[k] < 0) return std::nullopt;
      }
    }
    const std::uint32_t bits = (v[0] << 18) | (v[1] << 12) | (v[2] << 6) | v[3];
    out.push_back(static_cast<char>((bits >> 16) & 0xFF));
    if (pad == 2) {
      if ((bits & 0xFFFF) != 0) return std::nullopt;  // non-zero pad bits
      break;
    }
    out.push_back(static_cast<char>((bits >> 8) & 0xFF));
    if (pad == 1) {
      if ((bits & 0xFF) != 0) return std::nullopt;
      break;
    }
    out.push_back(static_cast<char>(bits & 0xFF));
  }
  return out;
}

}  // namespace upstream_jwt::sf
