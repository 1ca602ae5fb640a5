// The signature base of RFC 9421 Section 2.5: one line per covered
// component, derived components (Section 2.2) and HTTP fields (Section 2.1)
// with the sf, key, bs and req parameters, then the @signature-params line.
#include <cctype>
#include <string>

#include "upstream_jwt/httpsig.hpp"

namespace upstream_jwt::httpsig {

namespace {

Error component_error(const std::string& id, const std::string& why) {
  return rejection(Reason::bad_component, "component " + id + ": " + why);
}

bool ieq(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// scheme://authority/path?query, split as RFC 3986 does for http(s) URIs.
struct TargetUri {
  std::string_view scheme, authority, path, query;
  bool has_query = false;
};

Result<TargetUri> parse_target(std::string_view uri) {
  auto bad = [&](const char* why) {
    return make_error(Status::invalid_argument, std::string("target URI: ") + why);
  };
  TargetUri t;
  const std::size_t colon = uri.find(':');
  if (colon == std::string_view::npos || colon == 0) return bad("no scheme");
  t.scheme = uri.substr(0, colon);
  for (char c : t.scheme)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-' && c != '.')
      return bad("invalid scheme");
  if (uri.substr(colon + 1, 2) != "//") return bad("not an absolute URI with an authority");
  std::string_view rest = uri.substr(colon + 3);
  if (rest.find('#') != std::string_view::npos) return bad("a target URI has no fragment");
  const std::size_t auth_end = rest.find_first_of("/?");
  t.authority = rest.substr(0, auth_end);
  if (t.authority.empty()) return bad("empty authority");
  if (t.authority.find('@') != std::string_view::npos) return bad("userinfo is not allowed");
  rest = auth_end == std::string_view::npos ? std::string_view() : rest.substr(auth_end);
  const std::size_t q = rest.find('?');
  t.path = rest.substr(0, q);
  if (q != std::string_view::npos) {
    t.has_query = true;
    t.query = rest.substr(q + 1);
  }
  for (char c : uri)
    if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7F)
      return bad("space, control or non-ASCII character");
  return t;
}

// RFC 9110 4.2.3: lowercase host, no default port, no empty port.
std::string normalized_authority(const TargetUri& t) {
  const std::string scheme = lower(t.scheme);
  std::string_view a = t.authority;
  std::string_view host = a, port;
  const std::size_t bracket = a.rfind(']');
  const std::size_t colon = a.rfind(':');
  if (colon != std::string_view::npos && (bracket == std::string_view::npos || colon > bracket)) {
    host = a.substr(0, colon);
    port = a.substr(colon + 1);
  }
  std::string out = lower(host);
  const bool default_port = port.empty() || (scheme == "http" && port == "80") ||
                            (scheme == "https" && port == "443");
  if (!default_port) {
    out.push_back(':');
    out += port;
  }
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// WHATWG URL "application/x-www-form-urlencoded parsing" of one name or
// value: '+' is a space, valid %XX escapes decode, anything else stays.
std::string form_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

// WHATWG "percent-encode after encoding" with the
// application/x-www-form-urlencoded percent-encode set, space as %20 (the
// form RFC 9421 2.2.8 shows: "with+plus+whitespace" -> "with%20plus%20whitespace").
std::string form_encode(std::string_view s) {
  static const char* const kHex = "0123456789ABCDEF";
  std::string out;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '*' || c == '-' || c == '.' || c == '_') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 0xF]);
    }
  }
  return out;
}

// Field values named `name` (lowercase), each trimmed and unfolded.
std::vector<std::string> field_values(const Message& msg, std::string_view name) {
  std::vector<std::string> out;
  for (const Field& f : msg.fields) {
    if (!ieq(f.name, name)) continue;
    std::string_view v = f.value;
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
    // obs-fold (CRLF or LF followed by SP/HTAB) becomes one space.
    std::string clean;
    for (std::size_t i = 0; i < v.size(); ++i) {
      const char c = v[i];
      if (c == '\r' || c == '\n') {
        std::size_t j = i;
        if (c == '\r' && j + 1 < v.size() && v[j + 1] == '\n') ++j;
        std::size_t k = j + 1;
        while (k < v.size() && (v[k] == ' ' || v[k] == '\t')) ++k;
        if (k == j + 1) {  // a bare line break is not obs-fold: keep it, it fails below
          clean.push_back(c);
          continue;
        }
        clean.push_back(' ');
        i = k - 1;
      } else {
        clean.push_back(c);
      }
    }
    out.push_back(std::move(clean));
  }
  return out;
}

std::string join(const std::vector<std::string>& values) {
  std::string out;
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i) out += ", ";
    out += values[i];
  }
  return out;
}

enum class SfType { none, list, dictionary, item };

// Fields whose structured type this library knows, for `;sf`.
SfType known_sf_type(std::string_view name) {
  static const char* const kDict[] = {"signature",  "signature-input", "content-digest",
                                      "repr-digest", "want-content-digest", "want-repr-digest",
                                      "priority",   "accept-signature", "cache-control-dict",
                                      "example-dict"};
  static const char* const kList[] = {"cache-status", "proxy-status", "accept-ch",
                                      "client-cert-chain", "example-list"};
  static const char* const kItem[] = {"client-cert", "example-item"};
  for (const char* n : kDict)
    if (name == n) return SfType::dictionary;
  for (const char* n : kList)
    if (name == n) return SfType::list;
  for (const char* n : kItem)
    if (name == n) return SfType::item;
  return SfType::none;
}

bool printable_ascii(std::string_view v) {
  for (char c : v) {
    const auto u = static_cast<unsigned char>(c);
    if (u != '\t' && (u < 0x20 || u > 0x7E)) return false;
  }
  return true;
}

// A flag parameter must be a true Boolean (`;sf`, not `;sf=?0` or `;sf=1`).
Result<bool> flag(const sf::Item& id, std::string_view key, const std::string& shown) {
  const sf::BareItem* p = id.param(key);
  if (p == nullptr) return false;
  if (!p->is_true()) return component_error(shown, "parameter " + std::string(key) + " must be ?1");
  return true;
}

Result<std::string> string_param(const sf::Item& id, std::string_view key, const std::string& shown) {
  const sf::BareItem* p = id.param(key);
  if (p == nullptr) return component_error(shown, "parameter " + std::string(key) + " is required");
  if (p->type != sf::Type::string)
    return component_error(shown, "parameter " + std::string(key) + " must be a string");
  return p->text;
}

Result<std::string> field_value(const Message& msg, const sf::Item& id, const std::string& name,
                                const std::string& shown) {
  auto sf_flag = flag(id, "sf", shown);
  if (!sf_flag) return std::move(sf_flag).error();
  auto bs = flag(id, "bs", shown);
  if (!bs) return std::move(bs).error();
  const bool has_key = id.param("key") != nullptr;
  if (bs.value() && (sf_flag.value() || has_key))
    return component_error(shown, "bs cannot be combined with sf or key");
  const std::vector<std::string> values = field_values(msg, name);
  if (values.empty()) return component_error(shown, "field is not in the message");
  if (bs.value()) {
    sf::List list;
    for (const std::string& v : values) list.emplace_back(sf::Item{sf::BareItem::bytes(v), {}});
    return sf::serialize(list);
  }
  for (const std::string& v : values)
    if (!printable_ascii(v))
      return component_error(shown, "field value has a control or non-ASCII character (use ;bs)");
  const std::string combined = join(values);
  if (has_key) {
    auto key = string_param(id, "key", shown);
    if (!key) return std::move(key).error();
    auto dict = sf::parse_dictionary(combined);
    if (!dict) return component_error(shown, "field is not a Dictionary: " + dict.error().message);
    const sf::Member* m = sf::find(dict.value(), key.value());
    if (m == nullptr) return component_error(shown, "dictionary has no member \"" + key.value() + "\"");
    return sf::serialize(*m);
  }
  if (sf_flag.value()) {
    switch (known_sf_type(name)) {
      case SfType::dictionary: {
        auto d = sf::parse_dictionary(combined);
        if (!d) return component_error(shown, d.error().message);
        return sf::serialize(d.value());
      }
      case SfType::list: {
        auto l = sf::parse_list(combined);
        if (!l) return component_error(shown, l.error().message);
        return sf::serialize(l.value());
      }
      case SfType::item: {
        auto i = sf::parse_item(combined);
        if (!i) return component_error(shown, i.error().message);
        return sf::serialize(i.value());
      }
      case SfType::none:
        return component_error(shown, "the structured type of this field is not known");
    }
  }
  return combined;
}

Result<std::string> derived_value(const Message& msg, const sf::Item& id, const std::string& name,
                                  const std::string& shown) {
  if (name == "@status") {
    if (msg.is_request()) return component_error(shown, "@status is for responses");
    if (msg.status < 100 || msg.status > 999) return component_error(shown, "status is not 3 digits");
    return std::to_string(msg.status);
  }
  if (!msg.is_request()) return component_error(shown, "derived from a request (add ;req)");
  if (name == "@method") {
    if (msg.method.empty()) return component_error(shown, "no method");
    return std::string(msg.method);
  }
  auto t = parse_target(msg.target_uri);
  if (!t) return component_error(shown, t.error().message);
  const TargetUri& u = t.value();
  if (name == "@target-uri") return std::string(msg.target_uri);
  if (name == "@authority") return normalized_authority(u);
  if (name == "@scheme") return lower(u.scheme);
  if (name == "@path") return u.path.empty() ? std::string("/") : std::string(u.path);
  if (name == "@query") return "?" + std::string(u.query);
  if (name == "@request-target") {
    std::string out = u.path.empty() ? std::string("/") : std::string(u.path);
    if (u.has_query) out += "?" + std::string(u.query);
    return out;
  }
  if (name == "@query-param") {
    auto wanted = string_param(id, "name", shown);
    if (!wanted) return std::move(wanted).error();
    std::optional<std::string> found;
    const std::string_view q = u.query;
    for (std::size_t start = 0; start <= q.size();) {
      std::size_t amp = q.find('&', start);
      if (amp == std::string_view::npos) amp = q.size();
      const std::string_view pair = q.substr(start, amp - start);
      start = amp + 1;
      if (pair.empty()) continue;
      const std::size_t eq = pair.find('=');
      const std::string_view n = pair.substr(0, eq);
      const std::string_view v = eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
      if (form_encode(form_decode(n)) != wanted.value()) continue;
      if (found) return component_error(shown, "query parameter occurs more than once");
      found = form_encode(form_decode(v));
    }
    if (!found) return component_error(shown, "query parameter not present");
    return *found;
  }
  return component_error(shown, "unknown derived component");
}

}  // namespace

Result<std::vector<sf::Item>> parse_components(std::string_view inner_list_text) {
  auto il = sf::parse_inner_list(inner_list_text);
  if (!il) return std::move(il).error();
  if (!il.value().params.empty())
    return make_error(Status::invalid_argument, "covered components: no parameters after ')'");
  for (const sf::Item& it : il.value().items)
    if (it.value.type != sf::Type::string)
      return make_error(Status::invalid_argument, "covered components must be strings");
  return std::move(il.value().items);
}

Result<std::vector<sf::Item>> components_from(const std::vector<std::string>& identifiers) {
  std::string text = "(";
  for (const std::string& id : identifiers) {
    if (text.size() > 1) text.push_back(' ');
    const std::size_t semi = id.find(';');
    const std::string name = id.substr(0, semi);
    if (name.empty() || name.find_first_of("\"\\ ") != std::string::npos)
      return make_error(Status::invalid_argument, "invalid component name \"" + name + "\"");
    text += "\"" + name + "\"";
    if (semi != std::string::npos) text += id.substr(semi);
  }
  text.push_back(')');
  return parse_components(text);
}

Result<std::string> signature_base(const Message& msg, const std::vector<sf::Item>& covered,
                                   std::string_view signature_params) {
  std::string base;
  std::vector<std::string> seen;
  for (const sf::Item& id : covered) {
    auto shown_r = sf::serialize(id);
    if (!shown_r) return rejection(Reason::malformed, shown_r.error().message);
    const std::string& shown = shown_r.value();
    if (id.value.type != sf::Type::string) return component_error(shown, "not a string");
    for (const std::string& s : seen)
      if (s == shown) return component_error(shown, "covered more than once");
    seen.push_back(shown);
    const std::string& name = id.value.text;
    if (name.empty()) return component_error(shown, "empty name");
    if (name == "@signature-params") return component_error(shown, "cannot be covered");
    if (lower(name) != name) return component_error(shown, "component names are lowercase");
    const bool derived = name[0] == '@';
    for (const auto& [key, value] : id.params) {
      (void)value;
      const bool known = key == "req" || (derived ? key == "name" && name == "@query-param"
                                                  : key == "sf" || key == "key" || key == "bs");
      if (key == "tr") return component_error(shown, "trailers (tr) are not supported");
      if (!known) return component_error(shown, "parameter " + key + " does not apply");
    }
    auto req = flag(id, "req", shown);
    if (!req) return std::move(req).error();
    const Message* target = &msg;
    if (req.value()) {
      if (msg.is_request()) return component_error(shown, "req is for responses");
      if (msg.request == nullptr) return component_error(shown, "no request given for req");
      target = msg.request;
    }
    auto value = derived ? derived_value(*target, id, name, shown)
                         : field_value(*target, id, name, shown);
    if (!value) return std::move(value).error();
    base += shown;
    base += ": ";
    base += value.value();
    base.push_back('\n');
  }
  base += "\"@signature-params\": ";
  base += signature_params;
  for (char c : base)
    if (static_cast<unsigned char>(c) > 0x7F)
      return rejection(Reason::bad_component, "signature base is not ASCII");
  return base;
}

}  // namespace upstream_jwt::httpsig
