// The RFC 9421 half of upstream_jwt_conformance_gen:
//
//   upstream_jwt_conformance_gen httpsig-generate KEYS_DIR OUT.json
//   upstream_jwt_conformance_gen httpsig-check KEYS_DIR VECTORS.json
//
// Every signature below is made by the core's Signer, the one the gateway
// signs with. Each case states the verdict its author intends and, for a
// valid one, the fields the verifier must report (taken from what was
// signed, not from the verifier); `httpsig-generate` refuses to write a file
// where the core disagrees, `httpsig-check` re-runs the core over a
// committed file so a core change that alters a verdict fails ctest.
#include <upstream_jwt/httpsig.hpp>

#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "gen_util.hpp"
#include "httpsig_model.hpp"

namespace conformance::httpsig {

namespace sf = upstream_jwt::sf;

namespace {

constexpr std::int64_t kT0 = 1767225600;  // 2026-01-01T00:00:00Z: created of most signatures
constexpr std::int64_t kTtl = 60;         // the plugin's default ttl
constexpr const char* kNonce = "yJ1l4m1ZJ0S5p5wq3b2Y3g";  // 128 bits, base64url, as the gateway's
constexpr const char* kUrl = "http://orders.internal:8080/v1/orders?id=7";
constexpr const char* kOrder = R"({"item":"book","qty":2})";
constexpr const char* kConsumerId = "5a1c3e00-0000-4000-8000-00000000a11c";
constexpr const char* kCredentialId = "6b3a2a4e-0000-4000-8000-0000000000c1";

// ---- keys -------------------------------------------------------------------
struct KeyFile {
  std::string alg;
  std::string private_file;  // signing material (hmac: the secret itself)
  std::string public_file;   // what a verifier is given
};

const std::map<std::string, KeyFile>& key_files() {
  static const std::map<std::string, KeyFile> keys = {
      {"hmac", {"hmac-sha256", "hs256.secret", "hs256.secret"}},
      {"hmac-old", {"hmac-sha256", "hs256-old.secret", "hs256-old.secret"}},
      {"ed25519", {"ed25519", "ed25519.pem", "ed25519.pub.pem"}},
      {"ed25519-old", {"ed25519", "ed25519-old.pem", "ed25519-old.pub.pem"}},
      {"ecdsa", {"ecdsa-p256-sha256", "ec.pem", "ec.pub.pem"}},
      {"rsa-pss", {"rsa-pss-sha512", "rsa.pem", "rsa.pub.pem"}},
      {"rsa-v15", {"rsa-v1_5-sha256", "rsa.pem", "rsa.pub.pem"}},
      {"rsa-v15-old", {"rsa-v1_5-sha256", "rsa2.pem", "rsa2.pub.pem"}},
  };
  return keys;
}

// Key set name -> (key, keyid) pairs.
const std::map<std::string, std::vector<std::pair<std::string, std::string>>>& keyset_defs() {
  static const std::map<std::string, std::vector<std::pair<std::string, std::string>>> sets = {
      {"hmac-sha256", {{"hmac", "gw-hmac"}}},
      {"ed25519", {{"ed25519", "gw-ed25519"}}},
      {"ecdsa-p256-sha256", {{"ecdsa", "gw-ecdsa"}}},
      {"rsa-pss-sha512", {{"rsa-pss", "gw-pss"}}},
      {"rsa-v1_5-sha256", {{"rsa-v15", "gw-rsa"}}},
      // A rotation in progress: new and old key of two algorithms, plus a
      // shared secret, each under its own keyid.
      {"rotation",
       {{"ed25519", "gw-2026"},
        {"ed25519-old", "gw-2025"},
        {"rsa-v15", "gw-rsa-2026"},
        {"rsa-v15-old", "gw-rsa-2025"},
        {"hmac", "gw-hmac"}}},
      {"keyless", {{"ed25519", ""}}},
      {"keyless-and-keyid", {{"ed25519", ""}, {"hmac", "gw-hmac"}}},
  };
  return sets;
}

// The key a case signs with, and the keyid it writes ("" = none).
struct SigningKey {
  std::string key = "ed25519";
  std::string keyid = "gw-ed25519";
};

// One signature to add: the gateway's parameters unless a case says otherwise.
struct Sig {
  SigningKey with;
  std::string label = "kong";
  std::vector<std::string> components;
  std::optional<std::int64_t> created = kT0;  // nullopt: no created
  std::optional<std::int64_t> expires = kT0 + kTtl;
  std::optional<std::string> nonce = kNonce;
  std::optional<std::string> tag = "orders";
  bool include_alg = true;
};

Sig signed_by(std::string key, std::string keyid) {
  Sig s;
  s.with = {std::move(key), std::move(keyid)};
  return s;
}

class Generator {
 public:
  explicit Generator(std::string keys_dir) : dir_(std::move(keys_dir)) {
    for (const auto& [name, members] : keyset_defs()) {
      KeySet set;
      for (const auto& [key, keyid] : members) {
        const KeyFile& f = key_files().at(key);
        Key k;
        k.alg = f.alg;
        k.keyid = keyid;
        k.material = read_file(dir_ + "/" + f.public_file);
        k.is_pem = f.alg != "hmac-sha256";
        set.push_back(std::move(k));
      }
      keysets_[name] = std::move(set);
    }
  }

  const std::map<std::string, KeySet>& keysets() const { return keysets_; }
  std::vector<Vector>& vectors() { return vectors_; }

  // Signs `r` as it stands and appends the Signature-Input and Signature
  // field lines; returns the verdict a verifier must reach on it.
  Outcome sign(Request& r, const Sig& s) const {
    const KeyFile& f = key_files().at(s.with.key);
    auto alg = hs::parse_algorithm(f.alg);
    const auto signer = must(hs::Signer::create(*alg, read_file(dir_ + "/" + f.private_file), s.with.keyid), "signer");
    hs::Message m;
    m.method = r.method;
    m.target_uri = r.url;
    for (const auto& [n, v] : r.headers) m.fields.push_back(hs::Field{n, v});
    hs::SignParams p;
    p.label = s.label;
    p.components = s.components;
    p.created = s.created ? *s.created : -1;
    p.expires = s.expires;
    p.nonce = s.nonce;
    p.tag = s.tag;
    p.include_alg = s.include_alg;
    const hs::Signed out = must(signer.sign(m, p), "sign");
    r.headers.emplace_back("Signature-Input", out.signature_input);
    r.headers.emplace_back("Signature", out.signature);
    Outcome want;
    want.label = s.label;
    want.keyid = s.with.keyid;
    want.alg = f.alg;
    want.created = s.created;
    want.expires = s.expires;
    want.nonce = s.nonce;
    want.tag = s.tag;
    for (const auto& it : must(hs::components_from(s.components), "components"))
      want.components.push_back(must(sf::serialize(it), "serialize"));
    return want;
  }

  void add(std::string name, std::string keyset, Request r, std::int64_t now, Options o, Outcome intended) {
    for (const auto& v : vectors_)
      if (v.name == name) die("two cases named \"" + name + "\"");
    if (!keysets_.count(keyset)) die(name + ": no key set " + keyset);
    Vector v;
    v.name = std::move(name);
    v.keyset = std::move(keyset);
    v.request = std::move(r);
    v.now = now;
    v.options = std::move(o);
    v.expect = std::move(intended);
    vectors_.push_back(std::move(v));
  }

 private:
  std::string dir_;
  std::map<std::string, KeySet> keysets_;
  std::vector<Vector> vectors_;
};

// ---- requests ---------------------------------------------------------------
std::string content_digest(const std::string& body, unsigned algs = hs::ContentDigest::kSha256,
                           std::size_t repeat = 1) {
  auto d = must(hs::ContentDigest::create(algs), "digest");
  for (std::size_t i = 0; i < repeat; ++i) must_ok(d.update(body.data(), body.size()), "digest");
  return must(d.final_field(), "digest");
}

const std::vector<std::string> kGatewayRequired = {"@method", "@target-uri", "@authority", "content-digest"};
const std::vector<std::string> kConsumerComponents = {"x-consumer-id", "x-consumer-username",
                                                      "x-credential-identifier"};

// The request as the service receives it from the gateway (before the
// signature fields), and the components the plugin covers for it.
struct Shaped {
  Request request;
  std::vector<std::string> components;
};

Shaped gateway_request(bool consumer, const std::string& body = kOrder) {
  Shaped s;
  s.request.method = "POST";
  s.request.url = kUrl;
  s.request.body = body;
  s.request.headers = {{"Host", "orders.internal:8080"},
                       {"User-Agent", "curl/8.5.0"},
                       {"Content-Type", "application/json"},
                       {"Content-Length", std::to_string(body.size())},
                       {"X-Forwarded-For", "203.0.113.7"},
                       {"Content-Digest", content_digest(body)}};
  s.components = {"@method", "@target-uri", "@authority", "content-digest", "content-type"};
  if (consumer) {
    s.request.headers.insert(s.request.headers.end(), {{"X-Consumer-ID", kConsumerId},
                                                       {"X-Consumer-Username", "alice"},
                                                       {"X-Credential-Identifier", kCredentialId}});
    s.components.insert(s.components.end(), kConsumerComponents.begin(), kConsumerComponents.end());
  }
  return s;
}

Options gateway_options() {
  Options o;
  o.required_components = kGatewayRequired;
  o.tag = "orders";
  return o;
}

std::string lower(std::string s) { return ascii_lower(std::move(s)); }

// The first field line called `name` (any case).
std::string& field(Request& r, const std::string& name) {
  for (auto& [n, v] : r.headers)
    if (lower(n) == lower(name)) return v;
  die("no field " + name);
}

void drop(Request& r, const std::string& name) {
  std::vector<std::pair<std::string, std::string>> kept;
  for (auto& h : r.headers)
    if (lower(h.first) != lower(name)) kept.push_back(std::move(h));
  r.headers = std::move(kept);
}

Request with(Request r, const std::function<void(Request&)>& f) {
  f(r);
  return r;
}

template <class T>
T with_opts(T o, const std::function<void(T&)>& f) {
  f(o);
  return o;
}

// A signed gateway request and the verdict on it, for cases that change one thing.
struct Signed {
  Request request;
  Outcome valid;
};

Signed signed_gateway(const Generator& g, bool consumer, const Sig& base = Sig{},
                      const std::string& body = kOrder) {
  Shaped s = gateway_request(consumer, body);
  Sig sig = base;
  if (sig.components.empty()) sig.components = s.components;
  Signed out{s.request, {}};
  out.valid = g.sign(out.request, sig);
  return out;
}

// ---- the cases --------------------------------------------------------------
void algorithms(Generator& g) {
  struct A {
    const char* keyset;
    const char* key;
    const char* keyid;
  };
  for (const A& a : {A{"hmac-sha256", "hmac", "gw-hmac"}, A{"ed25519", "ed25519", "gw-ed25519"},
                     A{"ecdsa-p256-sha256", "ecdsa", "gw-ecdsa"}, A{"rsa-pss-sha512", "rsa-pss", "gw-pss"},
                     A{"rsa-v1_5-sha256", "rsa-v15", "gw-rsa"}}) {
    Sig sig;
    sig.with = {a.key, a.keyid};
    const std::string alg = a.keyset;
    const Signed c = signed_gateway(g, true, sig);
    g.add(alg + ": gateway request with consumer headers", a.keyset, c.request, kT0, gateway_options(), c.valid);
    const Signed n = signed_gateway(g, false, sig);
    g.add(alg + ": gateway request without consumer", a.keyset, n.request, kT0, gateway_options(), n.valid);
    g.add(alg + ": consumer username changed after signing", a.keyset,
          with(c.request, [](Request& r) { field(r, "X-Consumer-Username") = "mallory"; }), kT0, gateway_options(),
          rejected("bad_signature"));
    g.add(alg + ": body changed after signing", a.keyset,
          with(c.request, [](Request& r) { r.body = R"({"item":"book","qty":20})"; }), kT0, gateway_options(),
          rejected("digest_mismatch"));
  }
}

void reasons(Generator& g) {
  const Signed gw = signed_gateway(g, true);
  const Options o = gateway_options();

  // missing_signature
  g.add("missing_signature: no Signature-Input", "ed25519", with(gw.request, [](Request& r) {
          drop(r, "Signature-Input");
        }), kT0, o, rejected("missing_signature"));
  g.add("missing_signature: no Signature", "ed25519", with(gw.request, [](Request& r) { drop(r, "Signature"); }),
        kT0, o, rejected("missing_signature"));
  g.add("missing_signature: no signature with the chosen label", "ed25519", gw.request, kT0,
        with_opts<Options>(o, [](Options& x) { x.label = "sig1"; }), rejected("missing_signature"));
  g.add("missing_signature: unsigned request", "ed25519", gateway_request(true).request, kT0, o,
        rejected("missing_signature"));

  // time (created kT0, expires kT0 + 60, leeway 5)
  g.add("valid: created exactly now + leeway", "ed25519", gw.request, kT0 - 5, o, gw.valid);
  g.add("created_in_future: created one second past now + leeway", "ed25519", gw.request, kT0 - 6, o,
        rejected("created_in_future"));
  g.add("valid: exactly expires + leeway", "ed25519", gw.request, kT0 + kTtl + 5, o, gw.valid);
  g.add("expired: one second past expires + leeway", "ed25519", gw.request, kT0 + kTtl + 6, o,
        rejected("expired"));

  // tag
  g.add("tag_mismatch: another tag required", "ed25519", gw.request, kT0,
        with_opts<Options>(o, [](Options& x) { x.tag = "billing"; }), rejected("tag_mismatch"));

  // unknown_key, alg_mismatch
  const Signed other = signed_gateway(g, true, signed_by("ed25519", "gw-2024"));
  g.add("unknown_key: keyid not in the key set", "ed25519", other.request, kT0, o, rejected("unknown_key"));
  g.add("alg_mismatch: keyid names a key of another algorithm", "rotation",
        signed_gateway(g, true, signed_by("ed25519", "gw-hmac")).request, kT0, o, rejected("alg_mismatch"));

  // missing_component
  const Signed anon = signed_gateway(g, false);
  g.add("missing_component: consumer required, no consumer covered", "ed25519", anon.request, kT0,
        with_opts<Options>(o, [](Options& x) { x.required_components.push_back("x-consumer-id"); }),
        rejected("missing_component"));

  // bad_component: a covered field absent from the message
  g.add("bad_component: covered content-type absent", "ed25519",
        with(gw.request, [](Request& r) { drop(r, "Content-Type"); }), kT0, o, rejected("bad_component"));

  // missing_parameter
  Sig no_expires;
  no_expires.expires.reset();
  g.add("missing_parameter: no expires, expires required", "ed25519",
        signed_gateway(g, true, no_expires).request, kT0, o, rejected("missing_parameter"));

  // malformed
  g.add("malformed: Signature-Input unterminated string", "ed25519",
        with(gw.request, [](Request& r) { field(r, "Signature-Input") = R"(kong=("@method)"; }), kT0, o,
        rejected("malformed"));

  // digests
  g.add("missing_digest: no Content-Digest, not covered", "ed25519",
        [&] {
          Shaped s = gateway_request(true);
          drop(s.request, "Content-Digest");
          Sig sig;
          sig.components = {"@method", "@target-uri", "@authority", "content-type"};
          g.sign(s.request, sig);
          return s.request;
        }(),
        kT0, with_opts<Options>(o, [](Options& x) { x.required_components = {"@method"}; }),
        rejected("missing_digest"));

  // bad_signature
  g.add("bad_signature: method changed", "ed25519", with(gw.request, [](Request& r) { r.method = "PUT"; }), kT0,
        o, rejected("bad_signature"));
}

void build_cases(Generator& g) {
  algorithms(g);
  reasons(g);
}

int generate(const std::string& keys_dir, const std::string& out_path) {
  Generator g(keys_dir);
  build_cases(g);
  int bad = 0;
  for (const auto& v : g.vectors()) {
    const Outcome got = run_core(g.keysets().at(v.keyset), v);
    if (got != v.expect) {
      std::cerr << "case \"" << v.name << "\": intended " << describe(v.expect) << "\n  the core says "
                << describe(got) << "\n";
      ++bad;
    }
  }
  if (bad) die(std::to_string(bad) + " case(s) disagree with the core; nothing written");
  std::ofstream f(out_path, std::ios::binary);
  f << to_json(g.keysets(), g.vectors()).dump(1) << "\n";
  if (!f) die("cannot write " + out_path);
  std::cout << "wrote " << g.vectors().size() << " RFC 9421 vectors to " << out_path << "\n";
  return 0;
}

int check(const std::string& path) {
  auto [keysets, vectors] = from_json(J::parse(read_file(path)));
  int bad = 0;
  for (const auto& v : vectors) {
    auto ks = keysets.find(v.keyset);
    if (ks == keysets.end()) die(v.name + ": no key set " + v.keyset);
    const Outcome got = run_core(ks->second, v);
    if (got != v.expect) {
      std::cerr << "FAIL \"" << v.name << "\": expected " << describe(v.expect) << "\n  the core says "
                << describe(got) << "\n";
      ++bad;
    }
  }
  std::cout << vectors.size() - bad << "/" << vectors.size() << " RFC 9421 vectors agree with the core\n";
  return bad ? 1 : 0;
}

}  // namespace

int command(const std::string& mode, const std::string& keys_dir, const std::string& path) {
  try {
    if (mode == "httpsig-generate") return generate(keys_dir, path);
    if (mode == "httpsig-check") return check(path);
  } catch (const std::exception& e) {
    die(e.what());
  }
  return -1;
}

}  // namespace conformance::httpsig
