// httpsig_model.hpp — the RFC 9421 conformance vector format
// (conformance/README.md, "RFC 9421 vectors") and how the C++ core runs one
// vector: register the key set, rebuild the body, verify at `now` with the
// options, then (check_digest) match Content-Digest against the body.
#ifndef UPSTREAM_JWT_CONFORMANCE_HTTPSIG_MODEL_HPP
#define UPSTREAM_JWT_CONFORMANCE_HTTPSIG_MODEL_HPP

#include <upstream_jwt.h>
#include <upstream_jwt/httpsig.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <tuple>
#include <string>
#include <utility>
#include <vector>

#include "vectors_model.hpp"  // put_material, get_material

namespace conformance::httpsig {

inline constexpr int kFormatVersion = 1;
inline constexpr const char* kFormatName = "upstream-jwt httpsig conformance vectors";

struct Key {
  std::string alg;       // RFC 9421 registry name
  std::string keyid;     // "" = the key for signatures without keyid
  std::string material;  // hmac-sha256: secret bytes; else a PEM public key
  bool is_pem = false;
};
using KeySet = std::vector<Key>;

struct Request {
  std::string method = "POST";
  std::string url;  // absolute target URI as the service sees it
  std::vector<std::pair<std::string, std::string>> headers;  // message order, as received
  std::string body;                                          // repeated body_repeat times
  std::size_t body_repeat = 1;
};

struct Options {
  std::optional<std::string> label = "kong";  // nullopt: the only signature present
  std::int64_t leeway = 5;
  std::int64_t max_age = 0;  // <= 0: unlimited
  bool require_created = true;
  bool require_expires = true;
  std::vector<std::string> required_components;
  std::optional<std::string> tag;
  bool check_digest = true;
};

// A verdict: reason "" = valid, with every field the verifier reports.
struct Outcome {
  std::string reason;
  std::string label, keyid, alg;
  std::optional<std::int64_t> created, expires;
  std::optional<std::string> nonce, tag;
  std::vector<std::string> components;  // serialized identifiers, quoted

  bool valid() const { return reason.empty(); }
  bool operator==(const Outcome& o) const {
    if (reason != o.reason) return false;
    if (!valid()) return true;
    return label == o.label && keyid == o.keyid && alg == o.alg && created == o.created &&
           expires == o.expires && nonce == o.nonce && tag == o.tag && components == o.components;
  }
  bool operator!=(const Outcome& o) const { return !(*this == o); }
};

struct Vector {
  std::string name;
  std::string keyset;
  Request request;
  std::int64_t now = 0;
  Options options;
  Outcome expect;
};

inline std::string describe(const Outcome& o) {
  if (!o.valid()) return o.reason;
  std::string s = "valid label=" + o.label + " keyid=" + o.keyid + " alg=" + o.alg;
  s += " created=" + (o.created ? std::to_string(*o.created) : std::string("-"));
  s += " expires=" + (o.expires ? std::to_string(*o.expires) : std::string("-"));
  s += " nonce=" + o.nonce.value_or("-") + " tag=" + o.tag.value_or("-") + " components=";
  for (const auto& c : o.components) s += c + " ";
  return s;
}

// ---- JSON -------------------------------------------------------------------
using J = nlohmann::ordered_json;

template <class T>
J opt_json(const std::optional<T>& v) {
  return v ? J(*v) : J(nullptr);
}

template <class T>
std::optional<T> opt_from(const J& j, const char* key) {
  if (!j.contains(key) || j.at(key).is_null()) return std::nullopt;
  return j.at(key).get<T>();
}

inline J to_json(const std::map<std::string, KeySet>& keysets, const std::vector<Vector>& vectors) {
  J doc;
  doc["format"] = kFormatName;
  doc["version"] = kFormatVersion;
  doc["generator"] = std::string("upstream_jwt_conformance_gen httpsig, libupstream_jwt ") + UJWT_VERSION_STRING;
  J ks = J::object();
  for (const auto& [name, set] : keysets) {
    J arr = J::array();
    for (const auto& k : set) {
      J e;
      e["alg"] = k.alg;
      e["keyid"] = k.keyid;
      put_material(e, k.is_pem, k.material);
      arr.push_back(e);
    }
    ks[name] = arr;
  }
  doc["keysets"] = ks;
  J vs = J::array();
  for (const auto& v : vectors) {
    J hs = J::array();
    for (const auto& [n, val] : v.request.headers) hs.push_back(J::array({n, val}));
    J r;
    r["method"] = v.request.method;
    r["url"] = v.request.url;
    r["headers"] = hs;
    r["body_b64"] = b64_std(v.request.body);
    r["body_repeat"] = v.request.body_repeat;
    J o;
    o["label"] = opt_json(v.options.label);
    o["leeway"] = v.options.leeway;
    o["max_age"] = v.options.max_age;
    o["require_created"] = v.options.require_created;
    o["require_expires"] = v.options.require_expires;
    o["required_components"] = v.options.required_components;
    o["tag"] = opt_json(v.options.tag);
    o["check_digest"] = v.options.check_digest;
    J e;
    e["valid"] = v.expect.valid();
    if (v.expect.valid()) {
      e["label"] = v.expect.label;
      e["keyid"] = v.expect.keyid;
      e["alg"] = v.expect.alg;
      e["created"] = opt_json(v.expect.created);
      e["expires"] = opt_json(v.expect.expires);
      e["nonce"] = opt_json(v.expect.nonce);
      e["tag"] = opt_json(v.expect.tag);
      e["components"] = v.expect.components;
    } else {
      e["reason"] = v.expect.reason;
    }
    vs.push_back({{"name", v.name}, {"keyset", v.keyset}, {"request", r}, {"now", v.now}, {"options", o},
                  {"expect", e}});
  }
  doc["vectors"] = vs;
  return doc;
}

inline std::pair<std::map<std::string, KeySet>, std::vector<Vector>> from_json(const J& doc) {
  if (doc.at("format").get<std::string>() != kFormatName) throw std::runtime_error("not an httpsig vectors file");
  if (doc.at("version").get<int>() != kFormatVersion) throw std::runtime_error("unsupported vectors version");
  std::map<std::string, KeySet> keysets;
  for (const auto& [name, arr] : doc.at("keysets").items()) {
    KeySet set;
    for (const auto& e : arr) {
      Key k;
      k.alg = e.at("alg").get<std::string>();
      k.keyid = e.at("keyid").get<std::string>();
      std::tie(k.is_pem, k.material) = get_material(e);
      set.push_back(std::move(k));
    }
    keysets[name] = std::move(set);
  }
  std::vector<Vector> vectors;
  for (const auto& j : doc.at("vectors")) {
    Vector v;
    v.name = j.at("name").get<std::string>();
    v.keyset = j.at("keyset").get<std::string>();
    v.now = j.at("now").get<std::int64_t>();
    const auto& r = j.at("request");
    v.request.method = r.at("method").get<std::string>();
    v.request.url = r.at("url").get<std::string>();
    for (const auto& h : r.at("headers")) v.request.headers.emplace_back(h.at(0), h.at(1));
    v.request.body = b64_std_decode(r.at("body_b64").get<std::string>());
    v.request.body_repeat = r.at("body_repeat").get<std::size_t>();
    const auto& o = j.at("options");
    v.options.label = opt_from<std::string>(o, "label");
    v.options.leeway = o.at("leeway").get<std::int64_t>();
    v.options.max_age = o.at("max_age").get<std::int64_t>();
    v.options.require_created = o.at("require_created").get<bool>();
    v.options.require_expires = o.at("require_expires").get<bool>();
    v.options.required_components = o.at("required_components").get<std::vector<std::string>>();
    v.options.tag = opt_from<std::string>(o, "tag");
    v.options.check_digest = o.at("check_digest").get<bool>();
    const auto& e = j.at("expect");
    if (e.at("valid").get<bool>()) {
      v.expect.label = e.at("label").get<std::string>();
      v.expect.keyid = e.at("keyid").get<std::string>();
      v.expect.alg = e.at("alg").get<std::string>();
      v.expect.created = opt_from<std::int64_t>(e, "created");
      v.expect.expires = opt_from<std::int64_t>(e, "expires");
      v.expect.nonce = opt_from<std::string>(e, "nonce");
      v.expect.tag = opt_from<std::string>(e, "tag");
      v.expect.components = e.at("components").get<std::vector<std::string>>();
    } else {
      v.expect.reason = e.at("reason").get<std::string>();
      if (v.expect.reason.empty()) throw std::runtime_error(v.name + ": a rejection needs a reason");
    }
    vectors.push_back(std::move(v));
  }
  return {std::move(keysets), std::move(vectors)};
}

// ---- the core as a runner ---------------------------------------------------
namespace hs = upstream_jwt::httpsig;

inline Outcome rejected(std::string reason) {
  Outcome o;
  o.reason = std::move(reason);
  return o;
}

inline std::string ascii_lower(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

// Every Content-Digest field line, trimmed of SP/HTAB, joined with ", " (the
// field as one value, RFC 9110 5.3); nullopt when there is none.
inline std::optional<std::string> content_digest_field(const Request& r) {
  std::optional<std::string> out;
  for (const auto& [name, value] : r.headers) {
    if (ascii_lower(name) != "content-digest") continue;
    std::size_t b = value.find_first_not_of(" \t");
    std::size_t e = value.find_last_not_of(" \t");
    const std::string v = b == std::string::npos ? std::string() : value.substr(b, e - b + 1);
    out = out ? *out + ", " + v : v;
  }
  return out;
}

// The core's verdict on a vector; reason "error: ..." when the core refused
// the inputs themselves (a key, an option) rather than the message.
inline Outcome run_core(const KeySet& keys, const Vector& v) {
  hs::Verifier verifier;
  for (const auto& k : keys) {
    auto alg = hs::parse_algorithm(k.alg);
    if (!alg) return rejected("error: algorithm " + k.alg);
    auto r = verifier.add_key(*alg, k.material, k.keyid);
    if (!r) return rejected("error: key: " + r.error().message);
  }
  hs::Message msg;
  msg.method = v.request.method;
  msg.target_uri = v.request.url;
  for (const auto& [n, val] : v.request.headers) msg.fields.push_back(hs::Field{n, val});
  hs::VerifyOptions o;
  o.label = v.options.label;
  o.now = v.now;
  o.leeway = v.options.leeway;
  o.max_age = v.options.max_age;
  o.require_created = v.options.require_created;
  o.require_expires = v.options.require_expires;
  o.required_components = v.options.required_components;
  o.tag = v.options.tag;
  auto r = verifier.verify(msg, o);
  if (!r) {
    if (r.error().status != upstream_jwt::Status::token_invalid) return rejected("error: " + r.error().message);
    return rejected(std::string(hs::reason_name(static_cast<int>(r.error().reason))));
  }
  if (v.options.check_digest) {
    auto d = hs::ContentDigest::create(hs::ContentDigest::kSha256 | hs::ContentDigest::kSha512);
    if (!d) return rejected("error: " + d.error().message);
    for (std::size_t i = 0; i < v.request.body_repeat; ++i)
      if (auto u = d.value().update(v.request.body.data(), v.request.body.size()); !u)
        return rejected("error: " + u.error().message);
    auto c = d.value().check(content_digest_field(v.request).value_or(""));
    if (!c) {
      if (c.error().status != upstream_jwt::Status::token_invalid) return rejected("error: " + c.error().message);
      return rejected(std::string(hs::reason_name(static_cast<int>(c.error().reason))));
    }
  }
  Outcome out;
  out.label = r.value().label;
  out.keyid = r.value().keyid;
  out.alg = std::string(hs::algorithm_name(r.value().alg));
  out.created = r.value().created;
  out.expires = r.value().expires;
  out.nonce = r.value().nonce;
  out.tag = r.value().tag;
  out.components = r.value().components;
  return out;
}

// upstream_jwt_conformance_gen's httpsig-generate / httpsig-check
// (httpsig_cases.cpp); -1 for another mode.
int command(const std::string& mode, const std::string& keys_dir, const std::string& path);

}  // namespace conformance::httpsig

#endif  // UPSTREAM_JWT_CONFORMANCE_HTTPSIG_MODEL_HPP
