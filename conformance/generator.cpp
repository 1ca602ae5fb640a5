// upstream_jwt_conformance_gen — writes conformance/vectors.json from the C++
// core, and checks a vectors file against the core. The httpsig-* modes do
// the same for conformance/httpsig_vectors.json (httpsig_cases.cpp).
//
//   upstream_jwt_conformance_gen generate KEYS_DIR OUT.json
//   upstream_jwt_conformance_gen check KEYS_DIR VECTORS.json
//   upstream_jwt_conformance_gen httpsig-generate KEYS_DIR OUT.json
//   upstream_jwt_conformance_gen httpsig-check KEYS_DIR VECTORS.json
//
// Each case below states the verdict its author intends; `generate` refuses
// to write a file where the core disagrees with one, and records the core's
// verdict (the expectation every other verifier must meet). `check` re-runs
// the core over a committed file, so a core change that alters a verdict
// fails ctest until the vectors are regenerated and reviewed.
#include <upstream_jwt/all.hpp>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "gen_util.hpp"
#include "httpsig_model.hpp"
#include "vectors_model.hpp"

namespace uj = upstream_jwt;
using nlohmann::ordered_json;
using namespace conformance;

namespace {

constexpr std::int64_t kT0 = 1767225600;  // 2026-01-01T00:00:00Z: iat of most tokens
constexpr std::int64_t kTtl = 60;

// ---- key sets ---------------------------------------------------------------
struct KeyFile {
  std::string alg;
  std::optional<std::string> kid;
  std::string private_file;  // signing material (HS*: the secret itself)
  std::string public_file;   // what a verifier gets
};

// Kid'ed keys first: the CLI runner pairs --kid values with the first --key
// values in order.
const std::map<std::string, std::vector<KeyFile>>& keyset_files() {
  static const std::map<std::string, std::vector<KeyFile>> sets = {
      {"hs256", {{"HS256", std::nullopt, "hs256.secret", "hs256.secret"}}},
      {"hs384", {{"HS384", std::nullopt, "hs384.secret", "hs384.secret"}}},
      {"hs512", {{"HS512", std::nullopt, "hs512.secret", "hs512.secret"}}},
      {"rs256", {{"RS256", std::nullopt, "rsa.pem", "rsa.pub.pem"}}},
      {"ps256", {{"PS256", std::nullopt, "rsa.pem", "rsa.pub.pem"}}},
      {"es256", {{"ES256", std::nullopt, "ec.pem", "ec.pub.pem"}}},
      {"eddsa", {{"EdDSA", std::nullopt, "ed25519.pem", "ed25519.pub.pem"}}},
      {"hs256-rotation",
       {{"HS256", "new", "hs256.secret", "hs256.secret"},
        {"HS256", "old", "hs256-old.secret", "hs256-old.secret"}}},
      {"hs256-kid-and-fallback",
       {{"HS256", "old", "hs256-old.secret", "hs256-old.secret"},
        {"HS256", std::nullopt, "hs256.secret", "hs256.secret"}}},
      {"hs256-two-kidless",
       {{"HS256", std::nullopt, "hs256-old.secret", "hs256-old.secret"},
        {"HS256", std::nullopt, "hs256.secret", "hs256.secret"}}},
      {"mixed",
       {{"RS256", "rsa-1", "rsa.pem", "rsa.pub.pem"},
        {"HS256", "hs-1", "hs256.secret", "hs256.secret"},
        {"ES256", std::nullopt, "ec.pem", "ec.pub.pem"}}},
      {"rs256-two-keys",
       {{"RS256", "gw-2", "rsa2.pem", "rsa2.pub.pem"},
        {"RS256", "gw-1", "rsa.pem", "rsa.pub.pem"}}},
  };
  return sets;
}

struct Env {
  std::string keys_dir;
  std::map<std::string, KeySet> keysets;

  void load() {
    for (const auto& [name, files] : keyset_files()) {
      KeySet set;
      for (const auto& f : files) {
        KeySpec k;
        k.alg = f.alg;
        k.kid = f.kid;
        k.material = read_file(keys_dir + "/" + f.public_file);
        k.is_pem = f.alg.rfind("HS", 0) != 0;
        set.push_back(k);
      }
      keysets[name] = set;
    }
  }
  // The signing key of key `index` in keyset `set`.
  uj::Key signing_key(const std::string& set, std::size_t index = 0) const {
    const KeyFile& f = keyset_files().at(set).at(index);
    auto alg = uj::parse_algorithm(f.alg);
    return must(uj::Key::for_signing(*alg, read_file(keys_dir + "/" + f.private_file)), "key " + f.private_file);
  }
  uj::Signer signer(const std::string& set, std::size_t index = 0,
                    std::optional<std::string> kid = std::nullopt) const {
    return must(uj::Signer::create(signing_key(set, index), kid), "signer");
  }
};

// ---- building tokens ----------------------------------------------------------
std::string b64_digest(std::string_view data) { return must(uj::sha256_b64(data), "digest"); }

// The standard claims the plugin emits for `req`, as an ordered JSON object a
// case may then edit.
ordered_json std_claims(const Request& req, std::int64_t iat = kT0, std::int64_t ttl = kTtl) {
  ordered_json c;
  c["iss"] = "kong";
  c["aud"] = "orders";
  c["iat"] = iat;
  c["nbf"] = iat;
  c["exp"] = iat + ttl;
  c["jti"] = "c29tZS1yYW5kb20tanRp";
  c["sub"] = "8f0c2a0e-consumer";
  c["consumer"] = {{"id", "8f0c2a0e-consumer"}, {"username", "alice"}};
  c["htm"] = req.method;
  c["htu"] = req.path;
  c["query_sha256"] = b64_digest(req.query.value_or(""));
  c["body_sha256"] = b64_digest(req.body_bytes());
  return c;
}

std::string sign_json(const Env& env, const std::string& set, const ordered_json& claims,
                      std::optional<std::string> kid = std::nullopt, std::size_t index = 0) {
  return must(env.signer(set, index, kid).sign_payload(claims.dump()), "sign");
}

std::string sign_raw(const Env& env, const std::string& set, std::string_view header,
                     std::string_view payload, std::size_t index = 0) {
  return must(uj::sign_compact(env.signing_key(set, index), header, payload), "sign_compact");
}

// A token the plugin would mint (through Signer::sign, not hand-made JSON).
std::string plugin_token(const Env& env, const std::string& set, const Request& req,
                         std::optional<std::string> kid = std::nullopt, std::int64_t iat = kT0,
                         std::int64_t ttl = kTtl, std::size_t index = 0,
                         std::optional<std::string> bind_headers = std::nullopt) {
  uj::Claims c;
  c.iss = "kong";
  c.aud = "orders";
  c.now = iat;
  c.ttl = ttl;
  c.sub = "8f0c2a0e-consumer";
  c.consumer_id = "8f0c2a0e-consumer";
  c.consumer_username = "alice";
  c.htm = req.method;
  c.htu = req.path;
  const std::string q = req.query.value_or("");
  c.query = q;
  const std::string body_digest = b64_digest(req.body_bytes());
  c.body_sha256 = body_digest;
  std::string hdr_digest;
  if (bind_headers) {
    std::vector<uj::Header> hs;
    for (const auto& [n, v] : req.headers) hs.push_back(uj::Header{n, v});
    hdr_digest = must(uj::headers_sha256(*bind_headers, uj::HeaderList(hs)), "headers_sha256");
    c.hdr_names = *bind_headers;
    c.hdr_sha256 = hdr_digest;
  }
  return must(env.signer(set, index, kid).sign(c), "sign");
}

std::string segment(const std::string& token, int i) {
  std::size_t a = 0;
  for (int k = 0; k < i; ++k) a = token.find('.', a) + 1;
  std::size_t b = token.find('.', a);
  return token.substr(a, b == std::string::npos ? std::string::npos : b - a);
}

std::string b64url(std::string_view s) { return uj::base64url_encode(s); }

// ---- the cases ------------------------------------------------------------------
std::vector<Vector> build_cases(const Env& env) {
  std::vector<Vector> out;
  auto add = [&](std::string name, std::string keyset, std::string token, Request req, Options opts,
                 std::int64_t now, std::string intended) {
    Vector v;
    v.name = std::move(name);
    v.keyset = std::move(keyset);
    v.token = std::move(token);
    v.request = std::move(req);
    v.options = std::move(opts);
    v.now = now;
    v.expect_reason = std::move(intended);
    out.push_back(std::move(v));
  };
  const std::int64_t now = kT0 + 10;
  Request get;  // GET /orders/42, no body, query ""
  Request post;
  post.method = "POST";
  post.path = "/orders";
  post.query = "dry_run=1";
  post.body = R"({"item":"book","qty":2})";
  post.headers = {{"Content-Type", "application/json"}};
  const Options o;  // issuer kong, audience orders, leeway 5, max_lifetime 300, every binding

  // every algorithm, through the plugin's own signing path
  for (const char* set : {"hs256", "hs384", "hs512", "rs256", "ps256", "es256", "eddsa"}) {
    add(std::string("valid ") + set + " GET", set, plugin_token(env, set, get), get, o, now, "");
    add(std::string("valid ") + set + " POST with body and query", set, plugin_token(env, set, post),
        post, o, now, "");
    add(std::string("bad_signature ") + set + " payload changed after signing", set,
        [&] {
          std::string t = plugin_token(env, set, get);
          ordered_json c = std_claims(get);
          c["sub"] = "mallory";
          return segment(t, 0) + "." + b64url(c.dump()) + "." + segment(t, 2);
        }(),
        get, o, now, "bad_signature");
  }

  // length and shape
  {
    Options small = o;
    small.max_token_length = 64;
    add("token_too_long over max_token_length", "hs256", plugin_token(env, "hs256", get), get, small, now,
        "token_too_long");
    const std::string t = plugin_token(env, "hs256", get);
    Options exact = o;
    exact.max_token_length = t.size();
    add("token exactly max_token_length", "hs256", t, get, exact, now, "");
    add("malformed two segments", "hs256", segment(t, 0) + "." + segment(t, 1), get, o, now, "malformed");
    add("malformed four segments", "hs256", t + ".x", get, o, now, "malformed");
    add("malformed empty token", "hs256", "", get, o, now, "malformed");
    add("bad_base64 padded signature", "hs256", t + "=", get, o, now, "bad_base64");
    add("bad_base64 standard alphabet", "hs256", segment(t, 0) + "." + segment(t, 1) + "." + "a+b/",
        get, o, now, "bad_base64");
    std::string sig = segment(t, 2);  // 43 chars: the last one carries 2 unused bits
    std::string noncanon = sig;
    const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    noncanon.back() = alphabet[(alphabet.find(sig.back()) | 1)];
    if (noncanon == sig) noncanon.back() = alphabet[alphabet.find(sig.back()) ^ 2];
    add("bad_base64 non-canonical trailing bits", "hs256",
        segment(t, 0) + "." + segment(t, 1) + "." + noncanon, get, o, now, "bad_base64");
    add("bad_base64 length 1 mod 4", "hs256", segment(t, 0) + "." + segment(t, 1) + "." + sig + "AB",
        get, o, now, "bad_base64");
  }

  // header
  {
    const std::string payload = std_claims(get).dump();
    auto hdr = [&](std::string name, std::string header, std::string reason, std::string set = "hs256") {
      add(std::move(name), set, sign_raw(env, set, header, payload), get, o, now, std::move(reason));
    };
    hdr("bad_header not JSON", "{\"alg\":\"HS256\"", "bad_header");
    hdr("bad_header array", "[\"HS256\"]", "bad_header");
    hdr("bad_header duplicate alg", R"({"alg":"HS256","alg":"HS256"})", "bad_header");
    hdr("bad_header no alg", R"({"typ":"JWT"})", "bad_header");
    hdr("bad_header alg not a string", R"({"alg":256})", "bad_header");
    hdr("bad_header typ JWS", R"({"alg":"HS256","typ":"JWS"})", "bad_header");
    hdr("bad_header kid number", R"({"alg":"HS256","kid":1})", "bad_header");
    hdr("valid header without typ", R"({"alg":"HS256"})", "");
    hdr("valid header with a leading UTF-8 BOM", "\xEF\xBB\xBF{\"alg\":\"HS256\"}", "");
    hdr("valid header with whitespace around members", " {\n\"alg\" : \"HS256\" ,\t\"typ\":\"JWT\"}\r\n", "");
    hdr("bad_header trailing comma", R"({"alg":"HS256",})", "bad_header");
    hdr("bad_header single quotes", "{'alg':'HS256'}", "bad_header");
    hdr("crit_unsupported", R"({"alg":"HS256","typ":"JWT","crit":["exp"],"exp":1})", "crit_unsupported");
    hdr("alg_none", R"({"alg":"none","typ":"JWT"})", "alg_none");
    hdr("alg_none mixed case", R"({"alg":"nOnE","typ":"JWT"})", "alg_none");
    hdr("alg_not_allowed RS512", R"({"alg":"RS512","typ":"JWT"})", "alg_not_allowed");
    hdr("alg_not_allowed lowercase hs256", R"({"alg":"hs256","typ":"JWT"})", "alg_not_allowed");
    hdr("alg_not_allowed HS384 against an HS256 key", R"({"alg":"HS384","typ":"JWT"})", "alg_not_allowed");
    // the HS256 token above, but checked against the RS256 key set
    add("key_confusion HS256 token, RS256 keys only", "rs256",
        sign_raw(env, "hs256", R"({"alg":"HS256","typ":"JWT"})", payload), get, o, now, "key_confusion");
    add("key_confusion RS256 token, HS256 keys only", "hs256",
        sign_raw(env, "rs256", R"({"alg":"RS256","typ":"JWT"})", payload), get, o, now, "key_confusion");
    add("key_confusion via kid: HS256 token naming an RS256 key", "mixed",
        sign_raw(env, "hs256", R"({"alg":"HS256","typ":"JWT","kid":"rsa-1"})", payload), get, o, now,
        "key_confusion");
    add("alg_not_allowed via kid: PS256 token naming an RS256 key", "mixed",
        sign_raw(env, "ps256", R"({"alg":"PS256","typ":"JWT","kid":"rsa-1"})", payload), get, o, now,
        "alg_not_allowed");
  }
  // kid selection and fallback
  {
    add("kid selects the new key", "hs256-rotation", plugin_token(env, "hs256-rotation", get, "new", kT0, kTtl, 0),
        get, o, now, "");
    add("kid selects the old key", "hs256-rotation", plugin_token(env, "hs256-rotation", get, "old", kT0, kTtl, 1),
        get, o, now, "");
    add("kid names the other key than the one that signed", "hs256-rotation",
        plugin_token(env, "hs256-rotation", get, "old", kT0, kTtl, 0), get, o, now, "bad_signature");
    add("unknown_kid without kid-less keys", "hs256-rotation",
        plugin_token(env, "hs256-rotation", get, "demo-1", kT0, kTtl, 0), get, o, now, "unknown_kid");
    add("no kid: every key of the alg is tried", "hs256-rotation",
        plugin_token(env, "hs256-rotation", get, std::nullopt, kT0, kTtl, 1), get, o, now, "");
    add("kid fallback: gateway sets key_id, service has one kid-less key", "hs256",
        plugin_token(env, "hs256", get, "demo-1"), get, o, now, "");
    add("kid fallback to kid-less keys when the kid is unknown", "hs256-kid-and-fallback",
        plugin_token(env, "hs256-kid-and-fallback", get, "2024-06", kT0, kTtl, 1), get, o, now, "");
    add("registered kid is not shadowed by kid-less keys", "hs256-kid-and-fallback",
        plugin_token(env, "hs256-kid-and-fallback", get, "old", kT0, kTtl, 1), get, o, now, "bad_signature");
    add("kid fallback tries every kid-less key", "hs256-two-kidless",
        plugin_token(env, "hs256-two-kidless", get, "x", kT0, kTtl, 1), get, o, now, "");
    add("kid-less token against a mixed key set", "mixed",
        plugin_token(env, "mixed", get, std::nullopt, kT0, kTtl, 2), get, o, now, "");
    add("kid selects an RS256 key among several", "rs256-two-keys",
        plugin_token(env, "rs256-two-keys", get, "gw-1", kT0, kTtl, 1), get, o, now, "");
    add("unknown_kid among RS256 keys", "rs256-two-keys",
        plugin_token(env, "rs256-two-keys", get, "gw-3", kT0, kTtl, 1), get, o, now, "unknown_kid");
    add("ES256 token with kid falls back to the kid-less ES256 key", "mixed",
        plugin_token(env, "mixed", get, "ec-new", kT0, kTtl, 2), get, o, now, "");
  }

  // claims JSON
  {
    auto claims_case = [&](std::string name, std::string payload, std::string reason) {
      add(std::move(name), "hs256", sign_raw(env, "hs256", R"({"alg":"HS256","typ":"JWT"})", payload), get, o,
          now, std::move(reason));
    };
    claims_case("bad_claims not JSON", "{\"exp\":", "bad_claims");
    claims_case("bad_claims array", "[1,2]", "bad_claims");
    std::string base = std_claims(get).dump();
    claims_case("bad_claims duplicate member", base.substr(0, base.size() - 1) + R"(,"iss":"kong"})", "bad_claims");
    auto edit = [&](const std::function<void(ordered_json&)>& f) {
      ordered_json c = std_claims(get);
      f(c);
      return c.dump();
    };
    claims_case("bad_claims exp is a string", edit([](ordered_json& c) { c["exp"] = "1767225660"; }), "bad_claims");
    claims_case("bad_claims exp is true", edit([](ordered_json& c) { c["exp"] = true; }), "bad_claims");
    claims_case("bad_claims iss is null", edit([](ordered_json& c) { c["iss"] = nullptr; }), "bad_claims");
    claims_case("bad_claims aud is a number", edit([](ordered_json& c) { c["aud"] = 7; }), "bad_claims");
    claims_case("bad_claims aud array with a number", edit([](ordered_json& c) { c["aud"] = {"orders", 7}; }),
                "bad_claims");
    claims_case("bad_claims htu is an object", edit([](ordered_json& c) { c["htu"] = {{"p", "/"}}; }), "bad_claims");
    claims_case("bad_claims jti is a number", edit([](ordered_json& c) { c["jti"] = 5; }), "bad_claims");
    claims_case("bad_claims lone surrogate", R"({"exp":1767225660,"sub":"\ud800"})", "bad_claims");
    claims_case("bad_claims number overflow", R"({"exp":1e400})", "bad_claims");
    {
      std::string pizza = std_claims(get).dump();
      const std::string sub = "\"sub\":\"8f0c2a0e-consumer\"";
      pizza.replace(pizza.find(sub), sub.size(), R"("sub":"\ud83c\udf55")");
      claims_case("valid escaped surrogate pair", pizza, "");
    }
    claims_case("bad_claims NaN", R"({"exp":NaN})", "bad_claims");
    claims_case("bad_claims leading zero", R"({"exp":01767225660})", "bad_claims");
    claims_case("bad_claims raw control character", std::string("{\"exp\":1767225660,\"sub\":\"a\x01\"}"),
                "bad_claims");
    {
      Options unlimited = o;
      unlimited.max_lifetime = 0;
      ordered_json c = std_claims(get);
      c["exp"] = 9007199254740993ULL;  // 2^53 + 1: compared as a double
      add("valid exp beyond 2^53", "hs256", sign_json(env, "hs256", c), get, unlimited, now, "");
      c["exp"] = 18446744073709551615ULL;
      add("valid exp at 2^64 - 1", "hs256", sign_json(env, "hs256", c), get, unlimited, now, "");
    }
    claims_case("bad_claims invalid UTF-8", std::string("{\"exp\":1767225660,\"sub\":\"\xff\"}"), "bad_claims");
    claims_case("valid fractional exp", edit([](ordered_json& c) { c["exp"] = 1767225660.5; }), "");
    claims_case("valid aud array containing the audience",
                edit([](ordered_json& c) { c["aud"] = {"billing", "orders"}; }), "");
    claims_case("valid unknown extra claims", edit([](ordered_json& c) { c["tenant"] = {{"id", 1}}; }), "");
    claims_case("missing_claim exp", edit([](ordered_json& c) { c.erase("exp"); }), "missing_claim");
    claims_case("missing_claim iss", edit([](ordered_json& c) { c.erase("iss"); }), "missing_claim");
    claims_case("missing_claim aud", edit([](ordered_json& c) { c.erase("aud"); }), "missing_claim");
    claims_case("missing_claim htm", edit([](ordered_json& c) { c.erase("htm"); }), "missing_claim");
    claims_case("missing_claim htu", edit([](ordered_json& c) { c.erase("htu"); }), "missing_claim");
    claims_case("missing_claim query_sha256", edit([](ordered_json& c) { c.erase("query_sha256"); }),
                "missing_claim");
    claims_case("missing_claim body_sha256", edit([](ordered_json& c) { c.erase("body_sha256"); }),
                "missing_claim");
    claims_case("bad_issuer", edit([](ordered_json& c) { c["iss"] = "kong2"; }), "bad_issuer");
    claims_case("bad_issuer case", edit([](ordered_json& c) { c["iss"] = "Kong"; }), "bad_issuer");
    claims_case("bad_audience", edit([](ordered_json& c) { c["aud"] = "billing"; }), "bad_audience");
    claims_case("bad_audience array", edit([](ordered_json& c) { c["aud"] = {"billing"}; }), "bad_audience");
    claims_case("bad_audience empty array", edit([](ordered_json& c) { c["aud"] = ordered_json::array(); }),
                "bad_audience");

    // not checked -> not required
    Options no_iss_aud = o;
    no_iss_aud.issuer.reset();
    no_iss_aud.audience.reset();
    add("iss and aud unchecked: absent is fine", "hs256",
        sign_json(env, "hs256", [&] { ordered_json c = std_claims(get); c.erase("iss"); c.erase("aud"); return c; }()),
        get, no_iss_aud, now, "");
    Options unbound = o;
    unbound.bind.clear();
    add("bindings unchecked: token without htm/htu/digests", "hs256",
        sign_json(env, "hs256", [&] {
          ordered_json c = std_claims(get);
          for (const char* k : {"htm", "htu", "query_sha256", "body_sha256"}) c.erase(k);
          return c;
        }()),
        get, unbound, now, "");
    Options only_path = o;
    only_path.bind = {"path"};
    Request other = get;
    other.method = "DELETE";
    other.body = "x";
    add("only the path bound: method and body differ", "hs256", plugin_token(env, "hs256", get), other, only_path,
        now, "");
  }

  // time: exact boundaries (leeway 5, iat = nbf = kT0, exp = kT0 + 60)
  {
    const std::string t = plugin_token(env, "hs256", get);
    add("expired exactly at exp + leeway", "hs256", t, get, o, kT0 + kTtl + 5, "expired");
    add("valid one second before exp + leeway", "hs256", t, get, o, kT0 + kTtl + 4, "");
    Options no_leeway = o;
    no_leeway.leeway = 0;
    add("expired exactly at exp (leeway 0)", "hs256", t, get, no_leeway, kT0 + kTtl, "expired");
    add("valid at exp - 1 (leeway 0)", "hs256", t, get, no_leeway, kT0 + kTtl - 1, "");
    add("valid exactly at nbf - leeway", "hs256", t, get, o, kT0 - 5, "");
    add("not_yet_valid one second before nbf - leeway", "hs256", t, get, o, kT0 - 6, "not_yet_valid");
    add("valid exactly at nbf (leeway 0)", "hs256", t, get, no_leeway, kT0, "");
    add("not_yet_valid at nbf - 1 (leeway 0)", "hs256", t, get, no_leeway, kT0 - 1, "not_yet_valid");
    add("issued_in_future without nbf", "hs256",
        sign_json(env, "hs256", [&] { ordered_json c = std_claims(get); c.erase("nbf"); return c; }()), get, o,
        kT0 - 6, "issued_in_future");
    add("valid without iat and nbf", "hs256",
        sign_json(env, "hs256", [&] { ordered_json c = std_claims(get); c.erase("nbf"); c.erase("iat"); return c; }()),
        get, o, now, "");
    add("valid fractional exp just before expiry", "hs256",
        sign_json(env, "hs256", [&] { ordered_json c = std_claims(get); c["exp"] = kT0 + 9.5; return c; }()), get,
        no_leeway, kT0 + 9, "");
    add("expired fractional exp", "hs256",
        sign_json(env, "hs256", [&] { ordered_json c = std_claims(get); c["exp"] = kT0 + 9.5; return c; }()), get,
        no_leeway, kT0 + 10, "expired");
    Options max60 = o;
    max60.max_lifetime = 60;
    add("lifetime exactly max_lifetime", "hs256", t, get, max60, now, "");
    Options max59 = o;
    max59.max_lifetime = 59;
    add("lifetime_too_long by one second", "hs256", t, get, max59, now, "lifetime_too_long");
    Options unlimited = o;
    unlimited.max_lifetime = 0;
    add("max_lifetime 0 is unlimited", "hs256", plugin_token(env, "hs256", get, std::nullopt, kT0, 86400), get,
        unlimited, now, "");
    const std::string no_iat = sign_json(env, "hs256", [&] {
      ordered_json c = std_claims(get);
      c.erase("iat");
      c.erase("nbf");
      c["exp"] = kT0 + 400;
      return c;
    }());
    add("lifetime_too_long without iat counts from now", "hs256", no_iat, get, o, kT0 + 99, "lifetime_too_long");
    add("lifetime without iat within max", "hs256", no_iat, get, o, kT0 + 100, "");
  }

  // request binding
  {
    auto bind_case = [&](std::string name, Request signed_req, Request received, std::string reason) {
      add(std::move(name), "hs256", plugin_token(env, "hs256", signed_req), std::move(received), o, now,
          std::move(reason));
    };
    auto with = [](Request base, const std::function<void(Request&)>& f) {
      f(base);
      return base;
    };
    bind_case("method_mismatch", get, with(get, [](Request& x) { x.method = "POST"; }), "method_mismatch");
    bind_case("method_mismatch case", get, with(get, [](Request& x) { x.method = "get"; }), "method_mismatch");
    bind_case("path_mismatch", get, with(get, [](Request& x) { x.path = "/orders/43"; }), "path_mismatch");
    bind_case("path_mismatch trailing slash", get, with(get, [](Request& x) { x.path = "/orders/42/"; }),
              "path_mismatch");
    Request enc = with(get, [](Request& x) { x.path = "/files/a%2Fb"; });
    bind_case("valid percent-encoded path compared raw", enc, enc, "");
    bind_case("path_mismatch percent-encoded slash vs slash", enc,
              with(get, [](Request& x) { x.path = "/files/a/b"; }), "path_mismatch");
    bind_case("path_mismatch %41 vs A", with(get, [](Request& x) { x.path = "/%41"; }),
              with(get, [](Request& x) { x.path = "/A"; }), "path_mismatch");
    bind_case("path_mismatch percent-encoding case", with(get, [](Request& x) { x.path = "/a%2fb"; }),
              with(get, [](Request& x) { x.path = "/a%2Fb"; }), "path_mismatch");
    Request utf8 = with(get, [](Request& x) { x.path = "/caf\xc3\xa9/\xe2\x82\xac/\xf0\x9f\x8d\x95"; });
    bind_case("valid non-ASCII path (raw UTF-8 bytes)", utf8, utf8, "");
    bind_case("path_mismatch non-ASCII vs its percent-encoding", utf8,
              with(get, [](Request& x) { x.path = "/caf%C3%A9/%E2%82%AC/%F0%9F%8D%95"; }), "path_mismatch");
    Request dbl = with(get, [](Request& x) { x.path = "//x"; });
    bind_case("valid // path", dbl, dbl, "");
    bind_case("path_mismatch // vs /", dbl, with(get, [](Request& x) { x.path = "/x"; }), "path_mismatch");
    Request dots = with(get, [](Request& x) { x.path = "/a/../b/./c"; });
    bind_case("valid dot segments kept raw", dots, dots, "");
    bind_case("path_mismatch dot segments vs normalized", dots, with(get, [](Request& x) { x.path = "/b/c"; }),
              "path_mismatch");
    Request semi = with(get, [](Request& x) { x.path = "/a;v=1"; });
    bind_case("valid matrix parameters in path", semi, semi, "");

    Request q = with(get, [](Request& x) { x.query = "a=1&b=2"; });
    bind_case("valid query", q, q, "");
    bind_case("query_mismatch reordered", q, with(get, [](Request& x) { x.query = "b=2&a=1"; }), "query_mismatch");
    bind_case("query_mismatch + vs %20", with(get, [](Request& x) { x.query = "q=a+b"; }),
              with(get, [](Request& x) { x.query = "q=a%20b"; }), "query_mismatch");
    Request qenc = with(get, [](Request& x) { x.query = "q=caf%C3%A9&r=%2F"; });
    bind_case("valid percent-encoded query compared raw", qenc, qenc, "");
    Request qraw = with(get, [](Request& x) { x.query = "q=caf\xc3\xa9"; });
    bind_case("valid non-ASCII raw query", qraw, qraw, "");
    bind_case("valid absent query against a token for no query", get,
              with(get, [](Request& x) { x.query.reset(); }), "");
    bind_case("valid empty query (bare ?) against a token for no query", get,
              with(get, [](Request& x) { x.query = ""; }), "");
    bind_case("query_mismatch absent query vs token for a query", q,
              with(get, [](Request& x) { x.query.reset(); }), "query_mismatch");
    bind_case("query_mismatch lone ? vs ?=", with(get, [](Request& x) { x.query = "="; }),
              with(get, [](Request& x) { x.query = ""; }), "query_mismatch");

    bind_case("body_mismatch", post, with(post, [](Request& x) { x.body = R"({"item":"book","qty":20})"; }),
              "body_mismatch");
    bind_case("body_mismatch trailing newline", post, with(post, [](Request& x) { x.body += "\n"; }),
              "body_mismatch");
    bind_case("body_mismatch empty vs one byte", get, with(get, [](Request& x) { x.body = " "; }), "body_mismatch");
    Request binary = with(post, [](Request& x) { x.body = std::string("\x00\xff\x80\r\n\x00", 6); });
    bind_case("valid binary body", binary, binary, "");
    Request large = with(post, [](Request& x) {
      x.body = "0123456789abcdef";
      x.body_repeat = 65536 + 1;  // 1 MiB + 16 bytes
    });
    bind_case("valid large body (1 MiB + 16 bytes)", large, large, "");
    bind_case("body_mismatch large body one chunk short", large,
              with(large, [](Request& x) { x.body_repeat -= 1; }), "body_mismatch");
  }

  // header binding (hdrs / hdr_sha256)
  {
    Request h = get;
    h.method = "POST";
    h.body = "{}";
    h.headers = {{"Content-Type", "application/json"}, {"X-Tag", "a"}, {"Accept", "*/*"}, {"x-tag", "b"}};
    Options check = o;
    check.check_headers = true;
    const std::string names = "Content-Type,X-Tag,X-HTTP-Method-Override";
    const std::string t = plugin_token(env, "hs256", h, std::nullopt, kT0, kTtl, 0, names);
    auto with = [&h](const std::function<void(Request&)>& f) {
      Request r = h;
      f(r);
      return r;
    };
    add("valid bound headers (a repeat joined, an absent one empty)", "hs256", t, h, check, now, "");
    add("valid bound headers: names case-insensitive, values trimmed", "hs256", t,
        with([](Request& r) {
          r.headers = {{"CONTENT-TYPE", " \tapplication/json \t"}, {"x-TAG", "a"}, {"X-Tag", "b\t"}};
        }),
        check, now, "");
    add("valid bound headers unchecked: a changed value is not looked at", "hs256", t,
        with([](Request& r) { r.headers[0].second = "text/plain"; }), o, now, "");
    add("header_mismatch changed value", "hs256", t, with([](Request& r) { r.headers[0].second = "text/plain"; }),
        check, now, "header_mismatch");
    add("header_mismatch value case", "hs256", t,
        with([](Request& r) { r.headers[0].second = "Application/JSON"; }), check, now, "header_mismatch");
    add("header_mismatch repeats reordered", "hs256", t,
        with([](Request& r) { std::swap(r.headers[1].second, r.headers[3].second); }), check, now,
        "header_mismatch");
    add("header_mismatch a repeat added", "hs256", t, with([](Request& r) { r.headers.push_back({"X-Tag", "c"}); }),
        check, now, "header_mismatch");
    add("header_mismatch a header bound as absent is present", "hs256", t,
        with([](Request& r) { r.headers.push_back({"X-HTTP-Method-Override", "DELETE"}); }), check, now,
        "header_mismatch");
    add("valid a bound header present but empty equals absent", "hs256", t,
        with([](Request& r) { r.headers.push_back({"X-HTTP-Method-Override", ""}); }), check, now, "");
    add("valid an unbound header added", "hs256", t, with([](Request& r) { r.headers.push_back({"X-Other", "1"}); }),
        check, now, "");
    add("header_mismatch CR LF in a bound value", "hs256", t,
        with([](Request& r) { r.headers[0].second = "application/json\r\nx-tag:a"; }), check, now,
        "header_mismatch");
    Options req = check;
    req.required_headers = {"content-type", "X-HTTP-Method-Override"};
    add("valid required headers all bound", "hs256", t, h, req, now, "");
    req.required_headers = {"content-type", "authorization"};
    add("header_mismatch a required header is not bound", "hs256", t, h, req, now, "header_mismatch");
    add("missing_claim header check, token binds no headers", "hs256", plugin_token(env, "hs256", h), h, check,
        now, "missing_claim");
    add("valid no header check, token binds no headers", "hs256", plugin_token(env, "hs256", h), h, o, now, "");
    const std::string digest = must(uj::headers_sha256(std::string_view("content-type"), uj::HeaderList()), "digest");
    auto hdr_case = [&](std::string name, const std::function<void(ordered_json&)>& f, Options opts,
                        std::string reason) {
      ordered_json c = std_claims(h);
      c["hdrs"] = {"content-type"};
      c["hdr_sha256"] = digest;
      f(c);
      add(std::move(name), "hs256", sign_json(env, "hs256", c), with([](Request& r) { r.headers.clear(); }),
          std::move(opts), now, std::move(reason));
    };
    hdr_case("valid hand-made hdrs", [](ordered_json&) {}, check, "");
    hdr_case("missing_claim hdr_sha256", [](ordered_json& c) { c.erase("hdr_sha256"); }, check, "missing_claim");
    hdr_case("bad_claims hdrs not an array", [](ordered_json& c) { c["hdrs"] = "content-type"; }, o, "bad_claims");
    hdr_case("bad_claims hdrs empty", [](ordered_json& c) { c["hdrs"] = ordered_json::array(); }, o, "bad_claims");
    hdr_case("bad_claims hdrs uppercase name", [](ordered_json& c) { c["hdrs"] = {"Content-Type"}; }, o,
             "bad_claims");
    hdr_case("bad_claims hdrs not a token", [](ordered_json& c) { c["hdrs"] = {"content type"}; }, o, "bad_claims");
    hdr_case("bad_claims hdrs twice", [](ordered_json& c) { c["hdrs"] = {"a", "a"}; }, o, "bad_claims");
    hdr_case("bad_claims hdrs number", [](ordered_json& c) { c["hdrs"] = {"a", 1}; }, o, "bad_claims");
    hdr_case("bad_claims hdr_sha256 number", [](ordered_json& c) { c["hdr_sha256"] = 1; }, o, "bad_claims");
    hdr_case("valid hdrs with every tchar", [](ordered_json& c) { c["hdrs"] = {"!#$%&'*+-.^_`|~09az"}; }, o, "");
  }

  // replay (an in-memory store, preloaded, capacity as given)
  {
    const std::string t = plugin_token(env, "hs256", get);
    const auto payload = uj::base64url_decode(segment(t, 1));
    if (!payload) die("cannot decode a token the core just signed");
    const std::string jti = ordered_json::parse(*payload)["jti"];
    const std::int64_t live_until = kT0 + kTtl + 5;  // ceil(exp) + leeway
    Options r = o;
    r.replay = Replay{10, {}};
    add("replay store: first use", "hs256", t, get, r, now, "");
    r.replay = Replay{10, {{jti, live_until}}};
    add("replayed: jti already seen and live", "hs256", t, get, r, now, "replayed");
    r.replay = Replay{10, {{jti, now}}};
    add("replay store: seen jti whose entry expired is accepted", "hs256", t, get, r, now, "");
    r.replay = Replay{2, {{"other-1", live_until}, {"other-2", now}}};
    add("replay store: full, an expired entry makes room", "hs256", t, get, r, now, "");
    r.replay = Replay{2, {{"other-1", live_until}, {"other-2", now + 1}}};
    add("replay_cache_full: full of live entries, nothing is evicted", "hs256", t, get, r, now, "replay_cache_full");
    r.replay = Replay{10, {}};
    add("missing_claim jti with a replay store", "hs256",
        sign_json(env, "hs256", [&] { ordered_json c = std_claims(get); c.erase("jti"); return c; }()), get, r, now,
        "missing_claim");
    add("replay store: checked last (expired wins)", "hs256", t, get,
        [&] { Options x = o; x.replay = Replay{10, {{jti, live_until}}}; return x; }(), kT0 + kTtl + 5, "expired");
  }
  return out;
}

void usage() {
  std::cerr << "usage: upstream_jwt_conformance_gen generate KEYS_DIR OUT.json\n"
               "       upstream_jwt_conformance_gen check KEYS_DIR VECTORS.json\n"
               "       upstream_jwt_conformance_gen httpsig-generate KEYS_DIR OUT.json\n"
               "       upstream_jwt_conformance_gen httpsig-check KEYS_DIR VECTORS.json\n"
               "       upstream_jwt_conformance_gen httpsig-up-to-date KEYS_DIR VECTORS.json\n";
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) usage();
  const std::string mode = argv[1];
  if (mode.rfind("httpsig-", 0) == 0) {
    const int rc = conformance::httpsig::command(mode, argv[2], argv[3]);
    if (rc < 0) usage();
    return rc;
  }
  Env env;
  env.keys_dir = argv[2];
  if (mode == "generate") {
    env.load();
    std::vector<Vector> cases = build_cases(env);
    int bad = 0;
    for (auto& v : cases) {
      const std::string got = run_core(env.keysets.at(v.keyset), v);
      if (got != v.expect_reason) {
        std::cerr << "case \"" << v.name << "\": intended " << (v.expect_reason.empty() ? "valid" : v.expect_reason)
                  << ", the core says " << (got.empty() ? "valid" : got) << "\n";
        ++bad;
      }
    }
    if (bad) die(std::to_string(bad) + " case(s) disagree with the core; nothing written");
    std::ofstream f(argv[3], std::ios::binary);
    f << to_json(env.keysets, cases).dump(1) << "\n";
    if (!f) die(std::string("cannot write ") + argv[3]);
    std::cout << "wrote " << cases.size() << " vectors to " << argv[3] << "\n";
    return 0;
  }
  if (mode == "check") {
    auto [keysets, vectors] = from_json(ordered_json::parse(read_file(argv[3])));
    int bad = 0;
    for (const auto& v : vectors) {
      const std::string got = run_core(keysets.at(v.keyset), v);
      if (got != v.expect_reason) {
        std::cerr << "FAIL \"" << v.name << "\": expected " << (v.expect_reason.empty() ? "valid" : v.expect_reason)
                  << ", the core says " << (got.empty() ? "valid" : got) << "\n";
        ++bad;
      }
    }
    std::cout << vectors.size() - bad << "/" << vectors.size() << " vectors agree with the core\n";
    return bad ? 1 : 0;
  }
  usage();
}
