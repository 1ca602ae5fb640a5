#include "upstream_jwt/verifier.hpp"

#include <openssl/crypto.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <limits>
#include <vector>

#include "json_util.hpp"
#include "sig_context.hpp"
#include "verifier_internal.hpp"
#include "upstream_jwt/base64url.hpp"
#include "upstream_jwt/digest.hpp"
#include "upstream_jwt/jwk.hpp"

namespace upstream_jwt {

using detail::SigContext;
using Json = nlohmann::json;

namespace {

struct KeyEntry {
  Algorithm alg;
  std::optional<std::string> kid;
  std::unique_ptr<SigContext> ctx;
};

std::string num(double v) {
  char buf[40];
  if (std::nearbyint(v) == v && std::fabs(v) < 9.0e15)
    std::snprintf(buf, sizeof buf, "%" PRId64, static_cast<std::int64_t>(v));
  else
    std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

std::string shown(std::string_view s) {
  // Claim values come from the token: show them JSON-escaped and bounded so
  // a message can neither break a log line nor grow without limit.
  constexpr std::size_t kShown = 64;
  if (!detail::utf8_valid(s)) return "(invalid UTF-8)";
  std::string out;
  if (s.size() <= kShown) {
    detail::append_json_string(out, s);
    return out;
  }
  // Cut on a character boundary: half a sequence would make the message
  // itself invalid UTF-8 (and break a JSON or cjson encoder downstream).
  // s[0] is never a continuation byte (s is valid UTF-8), so this stops.
  std::size_t n = kShown;
  while ((static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  detail::append_json_string(out, s.substr(0, n));
  out += "...";
  return out;
}

bool ct_equal(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

// Reads an optional member of a given JSON type; a present member of the
// wrong type is bad_claims.
Result<const Json*> member(const Json& obj, const char* name, bool (Json::*is)() const noexcept,
                           const char* type) {
  auto it = obj.find(name);
  if (it == obj.end()) return static_cast<const Json*>(nullptr);
  if (!((*it).*is)())
    return make_rejection(Reason::bad_claims,
                          std::string("claim ") + name + " must be a " + type);
  return &*it;
}

// A list of claim strings: views of the full parser's strings, or the
// scanner's array elements (read in place, so the fast path copies nothing).
class StrList {
 public:
  StrList() = default;
  StrList(const std::string_view* views, std::size_t n) : views_(views), size_(n) {}
  StrList(const detail::FlatValue* values, std::size_t n) : values_(values), size_(n) {}
  std::size_t size() const noexcept { return size_; }
  std::string_view operator[](std::size_t i) const noexcept {
    return views_ != nullptr ? views_[i] : values_[i].text();
  }

 private:
  const std::string_view* views_ = nullptr;
  const detail::FlatValue* values_ = nullptr;
  std::size_t size_ = 0;
};

// hdrs as a signer writes it: a non-empty array of distinct lowercase HTTP
// tokens. Anything else did not come from a conforming signer. names holds
// the array's leading strings; non_string_follows says a non-string element
// comes right after them (the rest of the array is never looked at).
Result<void> check_bound_names(StrList names, bool non_string_follows) {
  if (names.size() == 0 && !non_string_follows)
    return make_rejection(Reason::bad_claims, "claim hdrs is an empty array");
  for (std::size_t i = 0; i < names.size(); ++i) {
    const std::string_view name = names[i];
    bool lowercase = is_header_token(name);
    for (char c : name) lowercase = lowercase && !(c >= 'A' && c <= 'Z');
    if (!lowercase)
      return make_rejection(Reason::bad_claims,
                            "claim hdrs holds " + shown(name) + ", not a lowercase header name");
    for (std::size_t prev = 0; prev < i; ++prev)
      if (names[prev] == name)
        return make_rejection(Reason::bad_claims, "claim hdrs lists " + shown(name) + " twice");
  }
  if (non_string_follows) return make_rejection(Reason::bad_claims, "claim hdrs must hold strings");
  return {};
}

// What the checks after the signature need from the header.
struct HeaderView {
  std::string_view alg;
  std::optional<std::string_view> kid;
};

// The registered claims, type-checked; views into the decoded payload or
// into the full parser's document.
struct ClaimsView {
  std::optional<double> exp, nbf, iat;
  std::optional<std::string_view> iss, jti, htm, htu, qsh, bsh, hsh;
  std::optional<StrList> hdrs;
  std::optional<StrList> aud;  // a string aud is a list of one
};

// One verification's working memory, on the caller's stack: a token of
// the default maximum length is decoded and scanned without touching the
// heap. The parser's documents and lists are used only when the scanner
// declines.
struct Scratch {
  // Decoded header + claims + signature of a token of up to
  // kDefaultMaxTokenLength characters.
  static constexpr std::size_t kInline = kDefaultMaxTokenLength / 4 * 3 + 8;
  char inline_buf[kInline];
  std::string heap;  // longer tokens (max_token_length raised)
  detail::FlatObject flat;  // the header's, then the claims'
  std::string_view aud_one;
  std::vector<std::string> required;  // opts.required_headers, parsed
  Json header_json;
  Json claims_json;
  std::vector<std::string_view> hdrs_list;
  std::vector<std::string_view> aud_list;
};

// What a verification yields: views into the token and the Scratch.
struct TokenView {
  std::string_view header;
  std::string_view payload;
  Algorithm alg = Algorithm::HS256;
  std::optional<std::string_view> kid;
  std::optional<std::string_view> jti;
  std::int64_t replay_expires_at = 0;
  std::int64_t now = 0;
};

std::atomic<bool> g_scanner_enabled{true};

// The header through the scanner: only the usual shape is read here (alg
// a string, typ absent or "JWT", kid absent or a string, no crit); any
// other header, valid or not, goes to the parser, which owns every
// bad_header and crit_unsupported verdict.
bool scan_header(std::string_view text, detail::FlatObject& flat, HeaderView& out) noexcept {
  if (!detail::scan_flat_object(text, flat)) return false;
  const detail::FlatValue* alg = flat.find("alg");
  if (alg == nullptr || alg->kind != detail::FlatKind::string) return false;
  // Only the string "JWT" has the text JWT: a number's is its digits, a
  // literal's its word, a container's empty.
  const detail::FlatValue* typ = flat.find("typ");
  if (typ != nullptr && typ->text() != "JWT") return false;
  const detail::FlatValue* kid = flat.find("kid");
  if (kid != nullptr && kid->kind != detail::FlatKind::string) return false;
  if (flat.find("crit") != nullptr) return false;
  out.alg = alg->text();
  out.kid = kid != nullptr ? std::optional<std::string_view>(kid->text()) : std::nullopt;
  return true;
}

Result<HeaderView> parse_header(std::string_view text, Json& header) {
  switch (detail::parse_strict(text, header)) {
    case detail::ParseOutcome::syntax:
      return make_rejection(Reason::bad_header, "header is not valid JSON");
    case detail::ParseOutcome::duplicate:
      return make_rejection(Reason::bad_header, "header repeats a member name");
    case detail::ParseOutcome::ok:
      break;
  }
  if (!header.is_object()) return make_rejection(Reason::bad_header, "header is not a JSON object");
  auto alg_it = header.find("alg");
  if (alg_it == header.end() || !alg_it->is_string())
    return make_rejection(Reason::bad_header, "header has no alg string");
  // Compared as a std::string: json != "JWT" builds a temporary json inside a
  // noexcept operator, so an allocation failure there would terminate.
  if (auto typ = header.find("typ"); typ != header.end() && (!typ->is_string() || typ->get_ref<const std::string&>() != "JWT"))
    return make_rejection(Reason::bad_header, "header typ is not \"JWT\"");
  HeaderView out;
  if (auto kid = header.find("kid"); kid != header.end()) {
    if (!kid->is_string()) return make_rejection(Reason::bad_header, "header kid is not a string");
    out.kid = kid->get_ref<const std::string&>();
  }
  if (header.contains("crit"))
    return make_rejection(Reason::crit_unsupported,
                          "header has crit; no critical extension is understood");
  out.alg = alg_it->get_ref<const std::string&>();
  return out;
}

// The claims through the scanner: read here only when every registered
// claim present has its right type (time claims integers, aud a string or
// an array of strings, hdrs an array of strings). Any other payload goes to
// the parser, which owns those bad_claims verdicts. The hdrs contents
// (empty, case, repeats) are checked by check_bound_names on both paths.
bool scan_claims(std::string_view text, Scratch& s, ClaimsView& out) noexcept {
  using detail::FlatKind;
  using detail::FlatValue;
  detail::FlatObject& flat = s.flat;
  if (!detail::scan_flat_object(text, flat)) return false;
  // One pass over the members (the scanner refused duplicates), by the
  // name's 8-byte key; the three longer names are compared whole.
  const FlatValue *exp = nullptr, *nbf = nullptr, *iat = nullptr, *hdrs = nullptr, *aud = nullptr;
  struct Str { const FlatValue* v = nullptr; std::optional<std::string_view>* dst; };
  Str iss{nullptr, &out.iss}, jti{nullptr, &out.jti}, htm{nullptr, &out.htm}, htu{nullptr, &out.htu},
      qsh{nullptr, &out.qsh}, bsh{nullptr, &out.bsh}, hsh{nullptr, &out.hsh};
  constexpr auto key = detail::flat_name_key;
  for (std::size_t i = 0; i < flat.size; ++i) {
    const detail::FlatMember& m = flat.members[i];
    const std::string_view name(m.name, m.name_size);
    const FlatValue* v = &m.value;
    switch (m.key) {
      case key("exp"): if (name == "exp") exp = v; break;
      case key("nbf"): if (name == "nbf") nbf = v; break;
      case key("iat"): if (name == "iat") iat = v; break;
      case key("iss"): if (name == "iss") iss.v = v; break;
      case key("jti"): if (name == "jti") jti.v = v; break;
      case key("htm"): if (name == "htm") htm.v = v; break;
      case key("htu"): if (name == "htu") htu.v = v; break;
      case key("aud"): if (name == "aud") aud = v; break;
      case key("hdrs"): if (name == "hdrs") hdrs = v; break;
      case key("query_sha256"): if (name == "query_sha256") qsh.v = v; break;
      case key("body_sha256"): if (name == "body_sha256") bsh.v = v; break;
      case key("hdr_sha256"): if (name == "hdr_sha256") hsh.v = v; break;
      default: break;
    }
  }
  struct Num { const FlatValue* v; std::optional<double>* dst; };
  for (const Num& n : {Num{exp, &out.exp}, Num{nbf, &out.nbf}, Num{iat, &out.iat}}) {
    if (n.v == nullptr) continue;
    if (n.v->kind != FlatKind::integer) return false;
    *n.dst = detail::flat_integer(n.v->text());
  }
  for (const Str& m : {iss, jti, htm, htu, qsh, bsh, hsh}) {
    if (m.v == nullptr) continue;
    if (m.v->kind != FlatKind::string) return false;
    *m.dst = m.v->text();
  }
  auto strings = [&flat](const FlatValue& array) {
    for (std::size_t i = 0; i < array.count; ++i)
      if (flat.elements[array.first + i].kind != FlatKind::string) return false;
    return true;
  };
  if (hdrs != nullptr) {
    if (hdrs->kind != FlatKind::array || !strings(*hdrs)) return false;
    out.hdrs = StrList(flat.elements + hdrs->first, hdrs->count);
  }
  if (aud != nullptr) {
    if (aud->kind == FlatKind::string) {
      s.aud_one = aud->text();
      out.aud = StrList(&s.aud_one, 1);
    } else if (aud->kind == FlatKind::array && strings(*aud)) {
      out.aud = StrList(flat.elements + aud->first, aud->count);
    } else {
      return false;
    }
  }
  return true;
}

// The claims through the full parser: every bad_claims verdict in the
// order the checks have always run.
Result<void> parse_claims(std::string_view text, Scratch& s, ClaimsView& out) {
  Json& claims = s.claims_json;
  switch (detail::parse_strict(text, claims)) {
    case detail::ParseOutcome::syntax:
      return make_rejection(Reason::bad_claims, "claims are not valid JSON");
    case detail::ParseOutcome::duplicate:
      return make_rejection(Reason::bad_claims, "claims repeat a member name");
    case detail::ParseOutcome::ok:
      break;
  }
  if (!claims.is_object()) return make_rejection(Reason::bad_claims, "claims are not a JSON object");
  auto exp = member(claims, "exp", &Json::is_number, "number");
  auto nbf = member(claims, "nbf", &Json::is_number, "number");
  auto iat = member(claims, "iat", &Json::is_number, "number");
  auto iss = member(claims, "iss", &Json::is_string, "string");
  auto jti = member(claims, "jti", &Json::is_string, "string");
  auto htm = member(claims, "htm", &Json::is_string, "string");
  auto htu = member(claims, "htu", &Json::is_string, "string");
  auto qsh = member(claims, "query_sha256", &Json::is_string, "string");
  auto bsh = member(claims, "body_sha256", &Json::is_string, "string");
  auto hdrs = member(claims, "hdrs", &Json::is_array, "array");
  auto hsh = member(claims, "hdr_sha256", &Json::is_string, "string");
  for (auto* r : {&exp, &nbf, &iat, &iss, &jti, &htm, &htu, &qsh, &bsh, &hdrs, &hsh})
    if (!*r) return r->error();
  if (hdrs.value()) {
    bool non_string = false;
    for (const auto& n : *hdrs.value()) {
      if (!n.is_string()) {
        non_string = true;
        break;
      }
      s.hdrs_list.push_back(n.get_ref<const std::string&>());
    }
    if (auto r = check_bound_names(StrList(s.hdrs_list.data(), s.hdrs_list.size()), non_string); !r)
      return std::move(r).error();
    out.hdrs = StrList(s.hdrs_list.data(), s.hdrs_list.size());
  }
  if (auto it = claims.find("aud"); it != claims.end()) {
    bool ok = it->is_string();
    if (it->is_array()) {
      ok = true;
      for (const auto& a : *it) ok = ok && a.is_string();
    }
    if (!ok) return make_rejection(Reason::bad_claims, "claim aud must be a string or an array of strings");
    if (it->is_string()) {
      s.aud_list.push_back(it->get_ref<const std::string&>());
    } else {
      for (const auto& a : *it) s.aud_list.push_back(a.get_ref<const std::string&>());
    }
    out.aud = StrList(s.aud_list.data(), s.aud_list.size());
  }
  auto number = [](const Json* j) { return j->get<double>(); };
  for (auto* r : {&exp, &nbf, &iat})
    if (r->value() && !std::isfinite(number(r->value())))
      return make_rejection(Reason::bad_claims, "time claims must be finite numbers");
  if (exp.value()) out.exp = number(exp.value());
  if (nbf.value()) out.nbf = number(nbf.value());
  if (iat.value()) out.iat = number(iat.value());
  struct Str { const Json* j; std::optional<std::string_view>* dst; };
  for (const Str& m : {Str{iss.value(), &out.iss}, Str{jti.value(), &out.jti},
                       Str{htm.value(), &out.htm}, Str{htu.value(), &out.htu},
                       Str{qsh.value(), &out.qsh}, Str{bsh.value(), &out.bsh},
                       Str{hsh.value(), &out.hsh}})
    if (m.j != nullptr) *m.dst = m.j->get_ref<const std::string&>();
  return {};
}

// Time, iss, aud and request binding, in that order, on type-checked
// claims (both paths end here).
Result<void> check_claims(const ClaimsView& c, const VerifyOptions& opts,
                          const std::vector<std::string>& required, TokenView& vt) {
  const std::int64_t now = opts.now ? opts.now : static_cast<std::int64_t>(std::time(nullptr));
  vt.now = now;
  const double dnow = static_cast<double>(now);
  const double leeway = static_cast<double>(opts.leeway);
  // Built only for a rejection: the accepted path does not allocate.
  auto lw = [&opts] { return " (leeway " + std::to_string(opts.leeway) + ")"; };
  if (!c.exp) return make_rejection(Reason::missing_claim, "claim exp is missing");
  const double e = *c.exp;
  if (dnow >= e + leeway)
    return make_rejection(Reason::expired, "token expired at " + num(e) + ", now " +
                                               std::to_string(now) + lw());
  if (c.nbf) {
    const double b = *c.nbf;
    if (b > dnow + leeway)
      return make_rejection(Reason::not_yet_valid, "token not valid before " + num(b) + ", now " +
                                                       std::to_string(now) + lw());
  }
  if (c.iat) {
    const double i = *c.iat;
    if (i > dnow + leeway)
      return make_rejection(Reason::issued_in_future, "token issued at " + num(i) +
                                                          ", in the future; now " +
                                                          std::to_string(now) + lw());
  }
  if (opts.max_lifetime > 0) {
    const double from = c.iat ? *c.iat : dnow;
    const double lifetime = e - from;
    if (lifetime > static_cast<double>(opts.max_lifetime))
      return make_rejection(Reason::lifetime_too_long,
                            "token lifetime " + num(lifetime) + " s exceeds the maximum " +
                                std::to_string(opts.max_lifetime) + " s");
  }

  // iss, aud
  if (opts.issuer) {
    if (!c.iss) return make_rejection(Reason::missing_claim, "claim iss is missing");
    if (*c.iss != *opts.issuer)
      return make_rejection(Reason::bad_issuer, "issuer " + shown(*c.iss) + " is not " + shown(*opts.issuer));
  }
  if (opts.audience) {
    if (!c.aud) return make_rejection(Reason::missing_claim, "claim aud is missing");
    bool match = false;
    for (std::size_t i = 0; i < c.aud->size(); ++i) match = match || (*c.aud)[i] == *opts.audience;
    if (!match) return make_rejection(Reason::bad_audience, "audience does not include " + shown(*opts.audience));
  }

  // request binding
  if (opts.method) {
    if (!c.htm) return make_rejection(Reason::missing_claim, "claim htm is missing");
    if (*c.htm != *opts.method)
      return make_rejection(Reason::method_mismatch, "token is for method " + shown(*c.htm) +
                                                         ", request is " + shown(*opts.method));
  }
  if (opts.path) {
    if (!c.htu) return make_rejection(Reason::missing_claim, "claim htu is missing");
    if (*c.htu != *opts.path)
      return make_rejection(Reason::path_mismatch, "token is for path " + shown(*c.htu) +
                                                       ", request is " + shown(*opts.path));
  }
  if (opts.query) {
    if (!c.qsh) return make_rejection(Reason::missing_claim, "claim query_sha256 is missing");
    auto raw = sha256_raw(*opts.query);
    if (!raw) return std::move(raw).error();
    char want[kSha256B64Size];
    base64url_encode_to(raw.value().data(), raw.value().size(), want);
    if (!ct_equal(*c.qsh, std::string_view(want, sizeof want)))
      return make_rejection(Reason::query_mismatch, "query string digest does not match query_sha256");
  }
  if (opts.body_sha256) {
    if (!c.bsh) return make_rejection(Reason::missing_claim, "claim body_sha256 is missing");
    if (!ct_equal(*c.bsh, *opts.body_sha256))
      return make_rejection(Reason::body_mismatch, "body digest does not match body_sha256");
  }
  if (opts.headers) {
    if (!c.hdrs) return make_rejection(Reason::missing_claim, "claim hdrs is missing");
    if (!c.hsh) return make_rejection(Reason::missing_claim, "claim hdr_sha256 is missing");
    std::vector<std::string> bound;
    for (std::size_t i = 0; i < c.hdrs->size(); ++i) bound.emplace_back((*c.hdrs)[i]);
    for (const std::string& name : required) {
      bool listed = false;
      for (const std::string& b : bound) listed = listed || b == name;
      if (!listed)
        return make_rejection(Reason::header_mismatch,
                              "header " + shown(name) + " must be bound, but hdrs does not list it");
    }
    auto want = headers_sha256(bound, *opts.headers);
    if (!want) {
      // The only input error left: a received value with CR, LF or NUL,
      // which no signer can have bound.
      if (want.error().status != Status::invalid_argument) return std::move(want).error();
      return make_rejection(Reason::header_mismatch, want.error().message);
    }
    if (!ct_equal(*c.hsh, want.value()))
      return make_rejection(Reason::header_mismatch, "request headers do not match hdr_sha256");
  }

  vt.jti = c.jti;
  if (opts.replay_cache) {
    if (!vt.jti) return make_rejection(Reason::missing_claim, "claim jti is missing (replay check)");
    // Keep the jti as long as the token could still be accepted.
    constexpr double kMax = 9.0e18;  // below 2^63: the cast cannot overflow
    vt.replay_expires_at = static_cast<std::int64_t>(std::min(std::ceil(e) + leeway, kMax));
  }
  return {};
}

Result<void> record(std::optional<std::string_view> jti, std::int64_t expires_at, std::int64_t now,
                    const VerifyOptions& opts) {
  if (!opts.replay_cache) return {};
  if (!jti) return make_rejection(Reason::missing_claim, "claim jti is missing (replay check)");
  switch (opts.replay_cache->check_and_insert(*jti, expires_at, now)) {
    case ReplayCheck::recorded:
      return {};
    case ReplayCheck::replayed:
      return make_rejection(Reason::replayed, "jti " + shown(*jti) + " was already used");
    case ReplayCheck::full:
      break;
  }
  return make_rejection(Reason::replay_cache_full,
                        "replay cache is full of live entries; token refused (retry later)");
}

// Which registered keys a token may be checked against, without building
// a list: one key (by kid), the kid-less keys of its alg, or all keys of
// its alg, in registration order.
struct Candidates {
  const KeyEntry* only = nullptr;
  bool kidless_only = false;
  Algorithm alg = Algorithm::HS256;
  std::size_t count = 0;
  bool includes(const KeyEntry& e) const noexcept {
    if (only != nullptr) return &e == only;
    return e.alg == alg && (!kidless_only || !e.kid);
  }
};

}  // namespace

struct Verifier::Impl {
  std::vector<KeyEntry> keys;

  Result<void> add(std::vector<std::pair<Key, std::optional<std::string>>> batch);
  Result<Candidates> select(Algorithm alg, std::optional<std::string_view> kid) const;
  Result<void> check(std::string_view token, const VerifyOptions& opts, Scratch& s,
                     TokenView& vt) const;
};

Result<void> Verifier::Impl::add(std::vector<std::pair<Key, std::optional<std::string>>> batch) {
  std::vector<KeyEntry> fresh;
  fresh.reserve(batch.size());
  for (auto& [key, kid] : batch) {
    if (kid) {
      // C++17 lambdas cannot capture a structured binding (clang rejects it;
      // GCC accepts it as an extension): compare through a plain reference.
      const std::string& wanted = *kid;
      auto clash = [&wanted](const KeyEntry& e) { return e.kid && *e.kid == wanted; };
      for (const auto& e : keys)
        if (clash(e)) return make_error(Status::invalid_argument, "kid " + shown(*kid) + " is already registered");
      for (const auto& e : fresh)
        if (clash(e)) return make_error(Status::invalid_argument, "kid " + shown(*kid) + " appears twice");
    }
    auto ctx = SigContext::create(key, SigContext::Mode::verify);
    if (!ctx) return std::move(ctx).error();
    fresh.push_back(KeyEntry{key.algorithm(), std::move(kid), std::move(ctx).value()});
  }
  // Reserved first: the moves below cannot throw, so a batch is registered
  // whole or not at all (an allocation failing half-way left a partial JWKS).
  keys.reserve(keys.size() + fresh.size());
  for (auto& e : fresh) keys.push_back(std::move(e));
  return {};
}

Result<Candidates> Verifier::Impl::select(Algorithm alg,
                                          std::optional<std::string_view> kid) const {
  Candidates out;
  out.alg = alg;
  if (kid) {
    for (const auto& e : keys) {
      if (!e.kid || *e.kid != *kid) continue;
      if (e.alg == alg) {
        out.only = &e;
        out.count = 1;
        return out;
      }
      const std::string name(algorithm_name(alg));
      if (is_hmac(e.alg) != is_hmac(alg))
        return make_rejection(Reason::key_confusion,
                              "key " + shown(*kid) + " is " + std::string(algorithm_name(e.alg)) +
                                  "; a " + name + " token cannot use it (key confusion)");
      return make_rejection(Reason::alg_not_allowed,
                            "key " + shown(*kid) + " is for " +
                                std::string(algorithm_name(e.alg)) + ", not " + name);
    }
    out.kidless_only = true;
    for (const auto& e : keys) out.count += out.includes(e) ? 1 : 0;
    if (out.count == 0) return make_rejection(Reason::unknown_kid, "no key has kid " + shown(*kid));
    return out;
  }
  bool any_same_kind = false;
  for (const auto& e : keys) {
    out.count += out.includes(e) ? 1 : 0;
    if (is_hmac(e.alg) == is_hmac(alg)) any_same_kind = true;
  }
  if (out.count != 0) return out;
  const std::string name(algorithm_name(alg));
  if (!keys.empty() && !any_same_kind)
    return make_rejection(Reason::key_confusion,
                          is_hmac(alg) ? "an " + name + " token against asymmetric keys only (key confusion)"
                                       : "an " + name + " token against shared secrets only (key confusion)");
  return make_rejection(Reason::alg_not_allowed, "no key accepts algorithm " + name);
}

Verifier::Verifier() : impl_(std::make_unique<Impl>()) {}
Verifier::Verifier(Verifier&&) noexcept = default;
Verifier& Verifier::operator=(Verifier&&) noexcept = default;
Verifier::~Verifier() = default;

std::size_t Verifier::key_count() const noexcept { return impl_ ? impl_->keys.size() : 0; }

Result<void> Verifier::add_key(Algorithm alg, std::string_view key_material,
                               std::optional<std::string_view> kid) {
  auto key = Key::for_verifying(alg, key_material);
  if (!key) return std::move(key).error();
  return add_key(key.value(), kid);
}

Result<void> Verifier::add_key(const Key& key, std::optional<std::string_view> kid) {
  if (!impl_) return make_error(Status::invalid_argument, "verifier was moved from");
  if (kid && !detail::utf8_valid(*kid))
    return make_error(Status::invalid_argument, "kid is not valid UTF-8");
  std::vector<std::pair<Key, std::optional<std::string>>> batch;
  batch.emplace_back(key, kid ? std::optional<std::string>(std::string(*kid)) : std::nullopt);
  return impl_->add(std::move(batch));
}

Result<void> Verifier::add_jwk(std::string_view json, std::optional<Algorithm> alg) {
  if (!impl_) return make_error(Status::invalid_argument, "verifier was moved from");
  auto parsed = parse_jwks(json, alg);
  if (!parsed) return std::move(parsed).error();
  std::vector<std::pair<Key, std::optional<std::string>>> batch;
  for (auto& k : parsed.value()) batch.emplace_back(std::move(k.key), std::move(k.kid));
  return impl_->add(std::move(batch));
}

Result<void> Verifier::Impl::check(std::string_view token, const VerifyOptions& opts, Scratch& s,
                                   TokenView& vt) const {
  if (opts.leeway < 0) return make_error(Status::invalid_argument, "leeway must not be negative");
  if (opts.now < 0) return make_error(Status::invalid_argument, "now must not be negative");
  if (opts.headers && opts.headers->data == nullptr && opts.headers->size != 0)
    return make_error(Status::invalid_argument, "headers is NULL with a non-zero count");
  if (opts.required_headers) {
    // Without the received headers, a name in hdrs proves nothing.
    if (!opts.headers)
      return make_error(Status::invalid_argument, "required_headers needs the request's headers");
    auto parsed = parse_header_names(*opts.required_headers);
    if (!parsed) return std::move(parsed).error();
    s.required = std::move(parsed).value();
  }

  // length
  const std::size_t max_len = opts.max_token_length ? opts.max_token_length : kDefaultMaxTokenLength;
  if (token.size() > max_len)
    return make_rejection(Reason::token_too_long, "token is " + std::to_string(token.size()) +
                                                      " bytes; the limit is " + std::to_string(max_len));
  // shape
  const std::size_t d1 = token.find('.');
  const std::size_t d2 = d1 == std::string_view::npos ? d1 : token.find('.', d1 + 1);
  if (d2 == std::string_view::npos || token.find('.', d2 + 1) != std::string_view::npos)
    return make_rejection(Reason::malformed, "token is not three dot-separated segments");
  const std::string_view seg_h = token.substr(0, d1);
  const std::string_view seg_p = token.substr(d1 + 1, d2 - d1 - 1);
  const std::string_view seg_s = token.substr(d2 + 1);

  // base64url, all three segments into one buffer
  const std::size_t room = base64url_decoded_max_size(seg_h.size()) +
                           base64url_decoded_max_size(seg_p.size()) +
                           base64url_decoded_max_size(seg_s.size());
  char* buf = s.inline_buf;
  if (room > sizeof s.inline_buf) {
    s.heap.resize(room);
    buf = s.heap.data();
  }
  std::size_t nh = 0, np = 0, ns = 0;
  if (!base64url_decode_into(seg_h, buf, &nh))
    return make_rejection(Reason::bad_base64, "header segment is not strict base64url");
  if (!base64url_decode_into(seg_p, buf + nh, &np))
    return make_rejection(Reason::bad_base64, "claims segment is not strict base64url");
  const auto* sig = reinterpret_cast<const std::uint8_t*>(buf + nh + np);
  if (!base64url_decode_into(seg_s, buf + nh + np, &ns))
    return make_rejection(Reason::bad_base64, "signature segment is not strict base64url");
  vt.header = std::string_view(buf, nh);
  vt.payload = std::string_view(buf + nh, np);

  // header
  const bool scanner = g_scanner_enabled.load(std::memory_order_relaxed);
  HeaderView hv;
  if (!scanner || !scan_header(vt.header, s.flat, hv)) {
    auto parsed = parse_header(vt.header, s.header_json);
    if (!parsed) return std::move(parsed).error();
    hv = parsed.value();
  }
  vt.kid = hv.kid;

  // alg / kid / key selection
  const std::string_view alg_name = hv.alg;
  bool none = alg_name.size() == 4;
  for (std::size_t i = 0; none && i < 4; ++i) {
    const char c = alg_name[i];
    none = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c) == "none"[i];
  }
  if (none) return make_rejection(Reason::alg_none, "alg none is never accepted");
  auto alg = parse_algorithm(alg_name);
  if (!alg) return make_rejection(Reason::alg_not_allowed, "algorithm " + shown(alg_name) + " is not supported");
  vt.alg = *alg;
  auto candidates = select(*alg, vt.kid);
  if (!candidates) return std::move(candidates).error();

  // signature
  const std::string_view signing_input = token.substr(0, d2);
  bool valid = false;
  for (const KeyEntry& e : keys) {
    if (!candidates.value().includes(e)) continue;
    auto ok = e.ctx->verify(signing_input.data(), signing_input.size(), sig, ns);
    if (!ok) return std::move(ok).error();
    if (ok.value()) { valid = true; break; }
  }
  if (!valid) {
    const std::size_t n = candidates.value().count;
    return make_rejection(Reason::bad_signature,
                          "signature does not verify with " +
                              (n == 1 ? std::string("the ") + std::string(algorithm_name(*alg)) + " key"
                                      : "any of " + std::to_string(n) + " " +
                                            std::string(algorithm_name(*alg)) + " keys"));
  }

  // claims JSON
  ClaimsView claims;
  if (scanner && scan_claims(vt.payload, s, claims)) {
    if (claims.hdrs) {
      if (auto r = check_bound_names(*claims.hdrs, false); !r) return std::move(r).error();
    }
  } else {
    claims = ClaimsView();
    if (auto r = parse_claims(vt.payload, s, claims); !r) return std::move(r).error();
  }
  return check_claims(claims, opts, s.required, vt);
}

Result<VerifiedToken> Verifier::verify_without_replay(std::string_view token,
                                                      const VerifyOptions& opts) const {
  if (!impl_) return make_error(Status::invalid_argument, "verifier was moved from");
  Scratch s;
  TokenView tv;
  if (auto r = impl_->check(token, opts, s, tv); !r) return std::move(r).error();
  VerifiedToken vt;
  vt.header.assign(tv.header);
  vt.payload.assign(tv.payload);
  vt.alg = tv.alg;
  if (tv.kid) vt.kid = std::string(*tv.kid);
  if (tv.jti) vt.jti = std::string(*tv.jti);
  vt.replay_expires_at = tv.replay_expires_at;
  vt.now = tv.now;
  return vt;
}

Result<void> Verifier::record_replay(const VerifiedToken& token, const VerifyOptions& opts) const {
  return record(token.jti ? std::optional<std::string_view>(*token.jti) : std::nullopt,
                token.replay_expires_at, token.now, opts);
}

Result<std::size_t> Verifier::verify_to(std::string_view token, const VerifyOptions& opts, char* out,
                                        std::size_t out_cap, std::size_t* claims_size) const {
  if (!impl_) return make_error(Status::invalid_argument, "verifier was moved from");
  Scratch s;
  TokenView tv;
  if (auto r = impl_->check(token, opts, s, tv); !r) return std::move(r).error();
  const std::size_t n = tv.payload.size();
  if (claims_size != nullptr) *claims_size = n;
  if (out != nullptr && out_cap < n) {
    Error e = make_error(Status::buffer_too_small, "claims need " + std::to_string(n) +
                                                       " bytes, buffer has " + std::to_string(out_cap));
    e.needed = n;
    return e;
  }
  if (auto r = record(tv.jti, tv.replay_expires_at, tv.now, opts); !r) return std::move(r).error();
  if (out != nullptr && n != 0) std::memcpy(out, tv.payload.data(), n);
  return n;
}

Result<VerifiedToken> Verifier::verify(std::string_view token, const VerifyOptions& opts) const {
  auto vt = verify_without_replay(token, opts);
  if (!vt) return vt;
  if (auto r = record_replay(vt.value(), opts); !r) return std::move(r).error();
  return vt;
}

namespace detail {
void set_json_scanner_enabled(bool on) noexcept {
  g_scanner_enabled.store(on, std::memory_order_relaxed);
}
}  // namespace detail

}  // namespace upstream_jwt
