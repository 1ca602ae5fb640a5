// vectors_model.hpp — the conformance vector format (conformance/README.md)
// and how the C++ core runs one vector.
#ifndef UPSTREAM_JWT_CONFORMANCE_VECTORS_MODEL_HPP
#define UPSTREAM_JWT_CONFORMANCE_VECTORS_MODEL_HPP

#include <upstream_jwt.h>
#include <upstream_jwt/all.hpp>

#include <openssl/evp.h>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <tuple>
#include <string>
#include <utility>
#include <vector>

namespace conformance {

inline constexpr int kFormatVersion = 1;

struct KeySpec {
  std::string alg;
  std::optional<std::string> kid;
  std::string material;  // HS*: secret bytes; else a PEM public key
  bool is_pem = false;
};
using KeySet = std::vector<KeySpec>;

struct Request {
  std::string method = "GET";
  std::string path = "/orders/42";        // raw, as received
  std::optional<std::string> query = "";  // raw; nullopt = no '?' at all
  std::string body;                       // repeated body_repeat times
  std::size_t body_repeat = 1;
  std::vector<std::pair<std::string, std::string>> headers;

  std::string body_bytes() const {
    std::string out;
    out.reserve(body.size() * body_repeat);
    for (std::size_t i = 0; i < body_repeat; ++i) out += body;
    return out;
  }
};

struct Replay {
  std::size_t capacity = 10;
  std::vector<std::pair<std::string, std::int64_t>> seen;  // (jti, expires_at)
};

struct Options {
  std::optional<std::string> issuer = "kong";
  std::optional<std::string> audience = "orders";
  std::int64_t leeway = 5;
  std::int64_t max_lifetime = 300;
  std::size_t max_token_length = 0;  // 0 = the default, 8192
  std::vector<std::string> bind = {"method", "path", "query", "body"};
  bool check_headers = false;
  std::vector<std::string> required_headers;
  std::optional<Replay> replay;

  bool binds(const char* what) const {
    for (const auto& b : bind)
      if (b == what) return true;
    return false;
  }
};

struct Vector {
  std::string name;
  std::string keyset;
  std::string token;
  Request request;
  std::int64_t now = 0;
  Options options;
  std::string expect_reason;  // "" = valid
};

inline std::string b64_std(std::string_view s) {
  std::string out(4 * ((s.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(s.data()), static_cast<int>(s.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

inline std::string b64_std_decode(const std::string& s) {
  std::string out(3 * (s.size() / 4) + 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(s.data()), static_cast<int>(s.size()));
  if (n < 0) throw std::runtime_error("bad base64 in vectors file");
  std::size_t len = static_cast<std::size_t>(n);
  // EVP_DecodeBlock counts the padding as zero bytes.
  for (std::size_t i = s.size(); i > 0 && s[i - 1] == '='; --i) --len;
  out.resize(len);
  return out;
}

// A key's material in a vectors file: "pem" (public key) or "secret_b64".
inline void put_material(nlohmann::ordered_json& e, bool is_pem, const std::string& material) {
  if (is_pem) e["pem"] = material;
  else e["secret_b64"] = b64_std(material);
}

inline std::pair<bool, std::string> get_material(const nlohmann::ordered_json& e) {
  const bool is_pem = e.contains("pem");
  return {is_pem, is_pem ? e.at("pem").get<std::string>() : b64_std_decode(e.at("secret_b64").get<std::string>())};
}

inline nlohmann::ordered_json to_json(const std::map<std::string, KeySet>& keysets,
                                      const std::vector<Vector>& vectors) {
  using J = nlohmann::ordered_json;
  J doc;
  doc["format"] = "upstream-jwt conformance vectors";
  doc["version"] = kFormatVersion;
  doc["generator"] = std::string("upstream_jwt_conformance_gen, libupstream_jwt ") + UJWT_VERSION_STRING;
  J ks = J::object();
  for (const auto& [name, set] : keysets) {
    J arr = J::array();
    for (const auto& k : set) {
      J e;
      e["alg"] = k.alg;
      e["kid"] = k.kid ? J(*k.kid) : J(nullptr);
      put_material(e, k.is_pem, k.material);
      arr.push_back(e);
    }
    ks[name] = arr;
  }
  doc["keysets"] = ks;
  J vs = J::array();
  for (const auto& v : vectors) {
    J r;
    r["method"] = v.request.method;
    r["path"] = v.request.path;
    r["query"] = v.request.query ? J(*v.request.query) : J(nullptr);
    r["body_b64"] = b64_std(v.request.body);
    if (v.request.body_repeat != 1) r["body_repeat"] = v.request.body_repeat;
    J hs = J::array();
    for (const auto& [n, val] : v.request.headers) hs.push_back(J::array({n, val}));
    r["headers"] = hs;
    J o;
    o["issuer"] = v.options.issuer ? J(*v.options.issuer) : J(nullptr);
    o["audience"] = v.options.audience ? J(*v.options.audience) : J(nullptr);
    o["leeway"] = v.options.leeway;
    o["max_lifetime"] = v.options.max_lifetime;
    o["max_token_length"] = v.options.max_token_length;
    o["bind"] = v.options.bind;
    o["check_headers"] = v.options.check_headers;
    o["required_headers"] = v.options.required_headers;
    if (v.options.replay) {
      J seen = J::array();
      for (const auto& [jti, until] : v.options.replay->seen) seen.push_back({{"jti", jti}, {"expires_at", until}});
      o["replay"] = {{"capacity", v.options.replay->capacity}, {"seen", seen}};
    } else {
      o["replay"] = nullptr;
    }
    J e;
    e["valid"] = v.expect_reason.empty();
    if (!v.expect_reason.empty()) e["reason"] = v.expect_reason;
    vs.push_back({{"name", v.name}, {"keyset", v.keyset}, {"token", v.token}, {"request", r},
                  {"now", v.now}, {"options", o}, {"expect", e}});
  }
  doc["vectors"] = vs;
  return doc;
}

inline std::pair<std::map<std::string, KeySet>, std::vector<Vector>> from_json(const nlohmann::ordered_json& doc) {
  if (doc.at("version").get<int>() != kFormatVersion) throw std::runtime_error("unsupported vectors version");
  std::map<std::string, KeySet> keysets;
  for (const auto& [name, arr] : doc.at("keysets").items()) {
    KeySet set;
    for (const auto& e : arr) {
      KeySpec k;
      k.alg = e.at("alg").get<std::string>();
      if (!e.at("kid").is_null()) k.kid = e.at("kid").get<std::string>();
      std::tie(k.is_pem, k.material) = get_material(e);
      set.push_back(k);
    }
    keysets[name] = set;
  }
  std::vector<Vector> vectors;
  for (const auto& j : doc.at("vectors")) {
    Vector v;
    v.name = j.at("name").get<std::string>();
    v.keyset = j.at("keyset").get<std::string>();
    v.token = j.at("token").get<std::string>();
    v.now = j.at("now").get<std::int64_t>();
    const auto& r = j.at("request");
    v.request.method = r.at("method").get<std::string>();
    v.request.path = r.at("path").get<std::string>();
    if (r.at("query").is_null()) v.request.query.reset();
    else v.request.query = r.at("query").get<std::string>();
    v.request.body = b64_std_decode(r.at("body_b64").get<std::string>());
    v.request.body_repeat = r.value("body_repeat", std::size_t{1});
    for (const auto& h : r.at("headers")) v.request.headers.emplace_back(h.at(0), h.at(1));
    const auto& o = j.at("options");
    if (o.at("issuer").is_null()) v.options.issuer.reset();
    else v.options.issuer = o.at("issuer").get<std::string>();
    if (o.at("audience").is_null()) v.options.audience.reset();
    else v.options.audience = o.at("audience").get<std::string>();
    v.options.leeway = o.at("leeway").get<std::int64_t>();
    v.options.max_lifetime = o.at("max_lifetime").get<std::int64_t>();
    v.options.max_token_length = o.at("max_token_length").get<std::size_t>();
    v.options.bind = o.at("bind").get<std::vector<std::string>>();
    v.options.check_headers = o.at("check_headers").get<bool>();
    v.options.required_headers = o.at("required_headers").get<std::vector<std::string>>();
    if (!o.at("replay").is_null()) {
      Replay rp;
      rp.capacity = o.at("replay").at("capacity").get<std::size_t>();
      for (const auto& s : o.at("replay").at("seen"))
        rp.seen.emplace_back(s.at("jti").get<std::string>(), s.at("expires_at").get<std::int64_t>());
      v.options.replay = rp;
    }
    const auto& e = j.at("expect");
    v.expect_reason = e.at("valid").get<bool>() ? "" : e.at("reason").get<std::string>();
    vectors.push_back(std::move(v));
  }
  return {keysets, vectors};
}

// The core's verdict: "" when valid, else the reason name ("error: ..." when
// the core refused the inputs themselves).
inline std::string run_core(const KeySet& keys, const Vector& v) {
  namespace uj = upstream_jwt;
  uj::Verifier verifier;
  for (const auto& k : keys) {
    auto alg = uj::parse_algorithm(k.alg);
    if (!alg) return "error: algorithm " + k.alg;
    auto r = verifier.add_key(*alg, k.material, k.kid ? std::optional<std::string_view>(*k.kid) : std::nullopt);
    if (!r) return "error: key: " + r.error().message;
  }
  const Vector& x = v;
  uj::VerifyOptions o;
  if (x.options.issuer) o.issuer = *x.options.issuer;
  if (x.options.audience) o.audience = *x.options.audience;
  o.now = x.now;
  o.leeway = x.options.leeway;
  o.max_lifetime = x.options.max_lifetime;
  o.max_token_length = x.options.max_token_length;
  const std::string query = x.request.query.value_or("");
  std::string body_digest;
  if (x.options.binds("method")) o.method = x.request.method;
  if (x.options.binds("path")) o.path = x.request.path;
  if (x.options.binds("query")) o.query = query;
  if (x.options.binds("body")) {
    auto h = uj::Sha256::create();
    if (!h) return "error: " + h.error().message;
    for (std::size_t i = 0; i < x.request.body_repeat; ++i)
      if (!h.value().update(x.request.body)) return "error: digest";
    auto d = h.value().final_b64();
    if (!d) return "error: " + d.error().message;
    body_digest = d.value();
    o.body_sha256 = body_digest;
  }
  std::vector<uj::Header> headers;
  for (const auto& [n, val] : x.request.headers) headers.push_back(uj::Header{n, val});
  std::string required;
  if (x.options.check_headers) {
    o.headers = uj::HeaderList(headers);
    for (const auto& r : x.options.required_headers) required += (required.empty() ? "" : ",") + r;
    if (!x.options.required_headers.empty()) o.required_headers = required;
  }
  std::optional<uj::InMemoryReplayCache> cache;
  if (x.options.replay) {
    cache.emplace(x.options.replay->capacity);
    for (const auto& [jti, until] : x.options.replay->seen) cache->check_and_insert(jti, until, x.now);
    o.replay_cache = &*cache;
  }
  auto r = verifier.verify(x.token, o);
  if (r) return "";
  if (r.error().status != uj::Status::token_invalid) return "error: " + r.error().message;
  return std::string(uj::reason_name(r.error().reason));
}

}  // namespace conformance

#endif  // UPSTREAM_JWT_CONFORMANCE_VECTORS_MODEL_HPP
