#include "upstream_jwt/verifier.hpp"

#include <openssl/crypto.h>

#include <nlohmann/json.hpp>

#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <limits>
#include <vector>

#include "json_util.hpp"
#include "sig_context.hpp"
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
  std::string out;
  if (!detail::utf8_valid(s)) return "(invalid UTF-8)";
  std::size_t n = s.size() > 64 ? 64 : s.size();
  // Cut on a character boundary: half a sequence would make the message
  // itself invalid UTF-8 (and break a JSON or cjson encoder downstream).
  while (n < s.size() && n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  detail::append_json_string(out, s.substr(0, n));
  if (s.size() > n) out += "...";
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

// hdrs as a signer writes it: a non-empty array of distinct lowercase HTTP
// tokens. Anything else did not come from a conforming signer.
Result<void> check_bound_names(const Json& hdrs) {
  if (hdrs.empty()) return make_rejection(Reason::bad_claims, "claim hdrs is an empty array");
  for (auto it = hdrs.begin(); it != hdrs.end(); ++it) {
    if (!it->is_string()) return make_rejection(Reason::bad_claims, "claim hdrs must hold strings");
    const std::string& name = it->get_ref<const std::string&>();
    bool lowercase = is_header_token(name);
    for (char c : name) lowercase = lowercase && !(c >= 'A' && c <= 'Z');
    if (!lowercase)
      return make_rejection(Reason::bad_claims,
                            "claim hdrs holds " + shown(name) + ", not a lowercase header name");
    for (auto prev = hdrs.begin(); prev != it; ++prev)
      if (prev->get_ref<const std::string&>() == name)
        return make_rejection(Reason::bad_claims, "claim hdrs lists " + shown(name) + " twice");
  }
  return {};
}

}  // namespace

struct Verifier::Impl {
  std::vector<KeyEntry> keys;

  Result<void> add(std::vector<std::pair<Key, std::optional<std::string>>> batch);
  Result<std::vector<const KeyEntry*>> select(Algorithm alg,
                                              const std::optional<std::string>& kid) const;
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

Result<std::vector<const KeyEntry*>> Verifier::Impl::select(
    Algorithm alg, const std::optional<std::string>& kid) const {
  std::vector<const KeyEntry*> out;
  const std::string name(algorithm_name(alg));
  if (kid) {
    for (const auto& e : keys) {
      if (!e.kid || *e.kid != *kid) continue;
      if (e.alg == alg) return std::vector<const KeyEntry*>{&e};
      if (is_hmac(e.alg) != is_hmac(alg))
        return make_rejection(Reason::key_confusion,
                              "key " + shown(*kid) + " is " + std::string(algorithm_name(e.alg)) +
                                  "; a " + name + " token cannot use it (key confusion)");
      return make_rejection(Reason::alg_not_allowed,
                            "key " + shown(*kid) + " is for " +
                                std::string(algorithm_name(e.alg)) + ", not " + name);
    }
    for (const auto& e : keys)
      if (!e.kid && e.alg == alg) out.push_back(&e);
    if (out.empty()) return make_rejection(Reason::unknown_kid, "no key has kid " + shown(*kid));
    return out;
  }
  bool any_same_kind = false;
  for (const auto& e : keys) {
    if (e.alg == alg) out.push_back(&e);
    if (is_hmac(e.alg) == is_hmac(alg)) any_same_kind = true;
  }
  if (!out.empty()) return out;
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

Result<VerifiedToken> Verifier::verify_without_replay(std::string_view token,
                                                      const VerifyOptions& opts) const {
  if (!impl_) return make_error(Status::invalid_argument, "verifier was moved from");
  if (opts.leeway < 0) return make_error(Status::invalid_argument, "leeway must not be negative");
  if (opts.now < 0) return make_error(Status::invalid_argument, "now must not be negative");
  if (opts.headers && opts.headers->data == nullptr && opts.headers->size != 0)
    return make_error(Status::invalid_argument, "headers is NULL with a non-zero count");
  std::vector<std::string> required;
  if (opts.required_headers) {
    // Without the received headers, a name in hdrs proves nothing.
    if (!opts.headers)
      return make_error(Status::invalid_argument, "required_headers needs the request's headers");
    auto parsed = parse_header_names(*opts.required_headers);
    if (!parsed) return std::move(parsed).error();
    required = std::move(parsed).value();
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

  // base64url
  VerifiedToken vt;
  std::string sig;
  if (!base64url_decode_to(seg_h, vt.header))
    return make_rejection(Reason::bad_base64, "header segment is not strict base64url");
  if (!base64url_decode_to(seg_p, vt.payload))
    return make_rejection(Reason::bad_base64, "claims segment is not strict base64url");
  if (!base64url_decode_to(seg_s, sig))
    return make_rejection(Reason::bad_base64, "signature segment is not strict base64url");

  // header
  Json header;
  switch (detail::parse_strict(vt.header, header)) {
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
  if (auto kid = header.find("kid"); kid != header.end()) {
    if (!kid->is_string()) return make_rejection(Reason::bad_header, "header kid is not a string");
    vt.kid = kid->get<std::string>();
  }
  if (header.contains("crit"))
    return make_rejection(Reason::crit_unsupported,
                          "header has crit; no critical extension is understood");

  // alg / kid / key selection
  const std::string& alg_name = alg_it->get_ref<const std::string&>();
  std::string lower;
  for (char c : alg_name) lower.push_back(static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c));
  if (lower == "none") return make_rejection(Reason::alg_none, "alg none is never accepted");
  auto alg = parse_algorithm(alg_name);
  if (!alg) return make_rejection(Reason::alg_not_allowed, "algorithm " + shown(alg_name) + " is not supported");
  vt.alg = *alg;
  auto candidates = impl_->select(*alg, vt.kid);
  if (!candidates) return std::move(candidates).error();

  // signature
  const std::string_view signing_input = token.substr(0, d2);
  const auto* sig_bytes = reinterpret_cast<const std::uint8_t*>(sig.data());
  bool valid = false;
  for (const KeyEntry* e : candidates.value()) {
    auto ok = e->ctx->verify(signing_input.data(), signing_input.size(), sig_bytes, sig.size());
    if (!ok) return std::move(ok).error();
    if (ok.value()) { valid = true; break; }
  }
  if (!valid) {
    const std::size_t n = candidates.value().size();
    return make_rejection(Reason::bad_signature,
                          "signature does not verify with " +
                              (n == 1 ? std::string("the ") + std::string(algorithm_name(*alg)) + " key"
                                      : "any of " + std::to_string(n) + " " +
                                            std::string(algorithm_name(*alg)) + " keys"));
  }

  // claims JSON
  Json claims;
  switch (detail::parse_strict(vt.payload, claims)) {
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
    if (auto r = check_bound_names(*hdrs.value()); !r) return std::move(r).error();
  }
  const Json* aud = nullptr;
  if (auto it = claims.find("aud"); it != claims.end()) {
    bool ok = it->is_string();
    if (it->is_array()) {
      ok = true;
      for (const auto& a : *it) ok = ok && a.is_string();
    }
    if (!ok) return make_rejection(Reason::bad_claims, "claim aud must be a string or an array of strings");
    aud = &*it;
  }
  auto number = [](const Json* j) { return j->get<double>(); };
  for (auto* r : {&exp, &nbf, &iat})
    if (r->value() && !std::isfinite(number(r->value())))
      return make_rejection(Reason::bad_claims, "time claims must be finite numbers");

  // time
  const std::int64_t now = opts.now ? opts.now : static_cast<std::int64_t>(std::time(nullptr));
  vt.now = now;
  const double dnow = static_cast<double>(now);
  const double leeway = static_cast<double>(opts.leeway);
  const std::string lw = " (leeway " + std::to_string(opts.leeway) + ")";
  if (!exp.value()) return make_rejection(Reason::missing_claim, "claim exp is missing");
  const double e = number(exp.value());
  if (dnow >= e + leeway)
    return make_rejection(Reason::expired, "token expired at " + num(e) + ", now " +
                                               std::to_string(now) + lw);
  if (nbf.value()) {
    const double b = number(nbf.value());
    if (b > dnow + leeway)
      return make_rejection(Reason::not_yet_valid, "token not valid before " + num(b) + ", now " +
                                                       std::to_string(now) + lw);
  }
  if (iat.value()) {
    const double i = number(iat.value());
    if (i > dnow + leeway)
      return make_rejection(Reason::issued_in_future, "token issued at " + num(i) +
                                                          ", in the future; now " +
                                                          std::to_string(now) + lw);
  }
  if (opts.max_lifetime > 0) {
    const double from = iat.value() ? number(iat.value()) : dnow;
    const double lifetime = e - from;
    if (lifetime > static_cast<double>(opts.max_lifetime))
      return make_rejection(Reason::lifetime_too_long,
                            "token lifetime " + num(lifetime) + " s exceeds the maximum " +
                                std::to_string(opts.max_lifetime) + " s");
  }

  // iss, aud
  if (opts.issuer) {
    if (!iss.value()) return make_rejection(Reason::missing_claim, "claim iss is missing");
    const std::string& got = iss.value()->get_ref<const std::string&>();
    if (got != *opts.issuer)
      return make_rejection(Reason::bad_issuer, "issuer " + shown(got) + " is not " + shown(*opts.issuer));
  }
  if (opts.audience) {
    if (!aud) return make_rejection(Reason::missing_claim, "claim aud is missing");
    bool match = false;
    if (aud->is_string()) {
      match = aud->get_ref<const std::string&>() == *opts.audience;
    } else {
      for (const auto& a : *aud) match = match || a.get_ref<const std::string&>() == *opts.audience;
    }
    if (!match) return make_rejection(Reason::bad_audience, "audience does not include " + shown(*opts.audience));
  }

  // request binding
  if (opts.method) {
    if (!htm.value()) return make_rejection(Reason::missing_claim, "claim htm is missing");
    const std::string& got = htm.value()->get_ref<const std::string&>();
    if (got != *opts.method)
      return make_rejection(Reason::method_mismatch, "token is for method " + shown(got) +
                                                         ", request is " + shown(*opts.method));
  }
  if (opts.path) {
    if (!htu.value()) return make_rejection(Reason::missing_claim, "claim htu is missing");
    const std::string& got = htu.value()->get_ref<const std::string&>();
    if (got != *opts.path)
      return make_rejection(Reason::path_mismatch, "token is for path " + shown(got) +
                                                       ", request is " + shown(*opts.path));
  }
  if (opts.query) {
    if (!qsh.value()) return make_rejection(Reason::missing_claim, "claim query_sha256 is missing");
    auto want = sha256_b64(*opts.query);
    if (!want) return std::move(want).error();
    if (!ct_equal(qsh.value()->get_ref<const std::string&>(), want.value()))
      return make_rejection(Reason::query_mismatch, "query string digest does not match query_sha256");
  }
  if (opts.body_sha256) {
    if (!bsh.value()) return make_rejection(Reason::missing_claim, "claim body_sha256 is missing");
    if (!ct_equal(bsh.value()->get_ref<const std::string&>(), *opts.body_sha256))
      return make_rejection(Reason::body_mismatch, "body digest does not match body_sha256");
  }
  if (opts.headers) {
    if (!hdrs.value()) return make_rejection(Reason::missing_claim, "claim hdrs is missing");
    if (!hsh.value()) return make_rejection(Reason::missing_claim, "claim hdr_sha256 is missing");
    std::vector<std::string> bound;
    for (const auto& n : *hdrs.value()) bound.push_back(n.get<std::string>());
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
    if (!ct_equal(hsh.value()->get_ref<const std::string&>(), want.value()))
      return make_rejection(Reason::header_mismatch, "request headers do not match hdr_sha256");
  }

  if (jti.value()) vt.jti = jti.value()->get<std::string>();
  if (opts.replay_cache) {
    if (!vt.jti) return make_rejection(Reason::missing_claim, "claim jti is missing (replay check)");
    // Keep the jti as long as the token could still be accepted.
    const double until = std::ceil(e) + leeway;
    constexpr double kMax = 9.0e18;
    vt.replay_expires_at = until >= kMax ? static_cast<std::int64_t>(kMax)
                                         : static_cast<std::int64_t>(until);
  }
  return vt;
}

Result<void> Verifier::record_replay(const VerifiedToken& token, const VerifyOptions& opts) const {
  if (!opts.replay_cache) return {};
  if (!token.jti) return make_rejection(Reason::missing_claim, "claim jti is missing (replay check)");
  switch (opts.replay_cache->check_and_insert(*token.jti, token.replay_expires_at, token.now)) {
    case ReplayCheck::recorded:
      return {};
    case ReplayCheck::replayed:
      return make_rejection(Reason::replayed, "jti " + shown(*token.jti) + " was already used");
    case ReplayCheck::full:
      break;
  }
  return make_rejection(Reason::replay_cache_full,
                        "replay cache is full of live entries; token refused (retry later)");
}

Result<VerifiedToken> Verifier::verify(std::string_view token, const VerifyOptions& opts) const {
  auto vt = verify_without_replay(token, opts);
  if (!vt) return vt;
  if (auto r = record_replay(vt.value(), opts); !r) return std::move(r).error();
  return vt;
}

}  // namespace upstream_jwt
