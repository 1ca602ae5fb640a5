// Every rejection reason of httpsig::Verifier, and the signer's refusals.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <deque>
#include <string>

#include "test_util.hpp"
#include "upstream_jwt/httpsig.hpp"

namespace hs = upstream_jwt::httpsig;
namespace sf = upstream_jwt::sf;
using hs::Algorithm;
using hs::Reason;

namespace {


const std::string kSecret(32, 's');
constexpr std::int64_t kNow = 1700000000;

struct Fixture {
  std::string input, signature;
  hs::Message msg() const {
    hs::Message m;
    m.method = "POST";
    m.target_uri = "https://api.example/orders?id=7";
    m.fields = {{"Content-Type", "application/json"}, {"Signature-Input", input}, {"Signature", signature}};
    return m;
  }
};

Fixture signed_with(hs::SignParams p, const std::string& keyid = "gw") {
  auto s = hs::Signer::create(Algorithm::hmac_sha256, kSecret, keyid);
  EXPECT_TRUE(s.ok());
  hs::Message m;
  m.method = "POST";
  m.target_uri = "https://api.example/orders?id=7";
  m.fields = {{"Content-Type", "application/json"}};
  auto r = s->sign(m, p);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return {r->signature_input, r->signature};
}

hs::SignParams params() {
  hs::SignParams p;
  p.components = {"@method", "@target-uri", "content-type"};
  p.created = kNow;
  p.expires = kNow + 60;
  return p;
}

hs::Verifier verifier() {
  hs::Verifier v;
  EXPECT_TRUE(v.add_key(Algorithm::hmac_sha256, kSecret, "gw").ok());
  return v;
}

hs::VerifyOptions opts(std::int64_t now = kNow) {
  hs::VerifyOptions o;
  o.now = now;
  return o;
}

// 0 when valid, else the reason number.
int verify(const hs::Verifier& v, const hs::Message& m, const hs::VerifyOptions& o) {
  auto r = v.verify(m, o);
  return r.ok() ? 0 : static_cast<int>(r.error().reason);
}
int R(Reason r) { return static_cast<int>(r); }

}  // namespace

TEST(HttpsigVerify, AcceptsAndReportsParameters) {
  auto p = params();
  p.nonce = "n-1";
  p.tag = "t";
  p.include_alg = true;
  auto f = signed_with(p);
  EXPECT_EQ(f.input,
            "sig1=(\"@method\" \"@target-uri\" \"content-type\");created=1700000000;expires=1700000060"
            ";keyid=\"gw\";alg=\"hmac-sha256\";nonce=\"n-1\";tag=\"t\"");
  auto r = verifier().verify(f.msg(), opts());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->label, "sig1");
  EXPECT_EQ(r->keyid, "gw");
  EXPECT_EQ(r->created, kNow);
  EXPECT_EQ(r->expires, kNow + 60);
  EXPECT_EQ(r->nonce, "n-1");
  EXPECT_EQ(r->tag, "t");
  EXPECT_EQ(r->components.size(), 3u);
}

TEST(HttpsigVerify, TimeBoundaries) {
  auto f = signed_with(params());
  auto v = verifier();
  EXPECT_EQ(verify(v, f.msg(), opts(kNow + 60)), 0);
  EXPECT_EQ(verify(v, f.msg(), opts(kNow + 61)), R(Reason::expired));
  auto lee = opts(kNow + 65);
  lee.leeway = 5;
  EXPECT_EQ(verify(v, f.msg(), lee), 0);
  EXPECT_EQ(verify(v, f.msg(), opts(kNow - 1)), R(Reason::created_in_future));
  auto early = opts(kNow - 5);
  early.leeway = 5;
  EXPECT_EQ(verify(v, f.msg(), early), 0);
  auto age = opts(kNow + 30);
  age.max_age = 30;
  EXPECT_EQ(verify(v, f.msg(), age), 0);
  age.now = kNow + 31;
  EXPECT_EQ(verify(v, f.msg(), age), R(Reason::too_old));
}

TEST(HttpsigVerify, MissingParameters) {
  auto p = params();
  p.created = -1;  // omitted
  p.expires.reset();
  auto f = signed_with(p);
  auto v = verifier();
  EXPECT_EQ(verify(v, f.msg(), opts()), R(Reason::missing_parameter));
  auto o = opts();
  o.require_created = false;
  EXPECT_EQ(verify(v, f.msg(), o), 0);
  o.max_age = 10;  // an age limit needs created
  EXPECT_EQ(verify(v, f.msg(), o), R(Reason::missing_parameter));
  auto g = signed_with([] { auto q = params(); q.expires.reset(); return q; }());
  auto e = opts();
  e.require_expires = true;
  EXPECT_EQ(verify(v, g.msg(), e), R(Reason::missing_parameter));
}

TEST(HttpsigVerify, SignatureFieldsAndLabels) {
  auto f = signed_with(params());
  auto v = verifier();
  hs::Message m = f.msg();
  m.fields.pop_back();
  EXPECT_EQ(verify(v, m, opts()), R(Reason::missing_signature));
  auto other = opts();
  other.label = "sig2";
  EXPECT_EQ(verify(v, f.msg(), other), R(Reason::missing_signature));
  // Two signatures: a label is needed; with it, the right one is checked.
  auto p2 = params();
  p2.label = "proxy";
  auto g = signed_with(p2);
  Fixture both{f.input + ", " + g.input, f.signature + ", " + g.signature};
  EXPECT_EQ(verify(v, both.msg(), opts()), R(Reason::ambiguous));
  auto lab = opts();
  lab.label = "proxy";
  EXPECT_EQ(verify(v, both.msg(), lab), 0);
  // The two fields may also arrive as separate field lines.
  hs::Message split = both.msg();
  split.fields = {{"Content-Type", "application/json"}, {"Signature-Input", f.input},
                  {"signature-input", g.input}, {"Signature", f.signature}, {"SIGNATURE", g.signature}};
  EXPECT_EQ(verify(v, split, lab), 0);
}

TEST(HttpsigVerify, MalformedFields) {
  auto f = signed_with(params());
  auto v = verifier();
  // A Message is a view: the fixtures it points into must outlive the call.
  std::deque<Fixture> keep;
  auto with = [&](std::string input, std::string sig) {
    return keep.emplace_back(Fixture{std::move(input), std::move(sig)}).msg();
  };
  EXPECT_EQ(verify(v, with("sig1=(\"@method\"", f.signature), opts()), R(Reason::malformed));
  EXPECT_EQ(verify(v, with(f.input, "sig1=:abc"), opts()), R(Reason::malformed));
  EXPECT_EQ(verify(v, with("sig1=\"x\"", f.signature), opts()), R(Reason::malformed));
  EXPECT_EQ(verify(v, with(f.input, "sig1=\"AAAA\""), opts()), R(Reason::malformed));
  EXPECT_EQ(verify(v, with("sig1=(@method);created=1", f.signature), opts()), R(Reason::malformed));
  EXPECT_EQ(verify(v, with("sig1=(method);created=1", f.signature), opts()), R(Reason::malformed));
  EXPECT_EQ(verify(v, with("sig1=();created=\"1\";keyid=\"gw\"", f.signature), opts()), R(Reason::malformed));
  EXPECT_EQ(verify(v, with("sig1=();created=1;keyid=gw", f.signature), opts()), R(Reason::malformed));
  EXPECT_EQ(verify(v, with("sig1=();created=1;keyid=\"gw\";tag=1", f.signature), opts()), R(Reason::malformed));
}

// A Signature-Input member written by hand (parameters the Signer never
// writes), signed with kSecret over the base that carries it as written.
Fixture hmac_signed_as_written(const std::string& member) {
  Fixture f{"sig1=" + member, ""};
  hs::Message m = f.msg();
  m.fields.resize(1);  // Content-Type only
  auto il = sf::parse_inner_list(member);
  EXPECT_TRUE(il.ok());
  auto base = hs::signature_base(m, il->items, member);
  EXPECT_TRUE(base.ok());
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EXPECT_NE(HMAC(EVP_sha256(), kSecret.data(), static_cast<int>(kSecret.size()),
                 reinterpret_cast<const unsigned char*>(base->data()), base->size(), mac, &len),
            nullptr);
  f.signature = "sig1=:" + sf::base64_encode(std::string(reinterpret_cast<char*>(mac), len)) + ":";
  return f;
}

TEST(HttpsigVerify, EmptyKeyidIsAKeyidNotItsAbsence) {
  hs::Verifier anon;
  ASSERT_TRUE(anon.add_key(Algorithm::hmac_sha256, kSecret, "").ok());
  const std::string covered = R"(("@method" "@target-uri" "content-type");created=1700000000)";
  // The signature is sound: without keyid the key-less key verifies it.
  EXPECT_EQ(verify(anon, hmac_signed_as_written(covered).msg(), opts()), 0);
  // keyid="" names no key, so it does not select the key registered without one.
  const Fixture empty = hmac_signed_as_written(covered + R"(;keyid="")");
  auto r = anon.verify(empty.msg(), opts());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(static_cast<int>(r.error().reason), R(Reason::unknown_key));
  EXPECT_NE(r.error().message.find("keyid is empty"), std::string::npos) << r.error().message;
  // Nor a keyed key, and it is decided before the times.
  EXPECT_EQ(verify(verifier(), empty.msg(), opts()), R(Reason::unknown_key));
  EXPECT_EQ(verify(anon, empty.msg(), opts(kNow + 100000)), R(Reason::unknown_key));
}

TEST(HttpsigVerify, RepeatedSignatureInputParameterIsMalformed) {
  auto v = verifier();
  const Fixture f = signed_with(params());
  ASSERT_EQ(verify(v, f.msg(), opts()), 0);
  // Each re-serializes, last value in the first position, to what was signed.
  const std::string created = "created=" + std::to_string(kNow);
  std::string first_old = f.input;
  first_old.replace(first_old.find(created), created.size(),
                    "created=" + std::to_string(kNow - 86400) + ";" + created);
  std::string component = f.input;
  component.replace(component.find("\"@method\""), 9, "\"@method\";x;x");
  for (const std::string& input : {f.input + ";" + created, first_old, component,
                                   f.input + R"(, other=("@method");a=1;a=1)"}) {
    Fixture g{input, f.signature};
    EXPECT_EQ(verify(v, g.msg(), opts()), R(Reason::malformed)) << input;
  }
  // A repeated label still follows RFC 9651: the last member wins.
  Fixture twice{R"(sig1=("@method");created=1, )" + f.input, f.signature};
  EXPECT_EQ(verify(v, twice.msg(), opts()), 0);
}

TEST(HttpsigVerify, KeysAndAlgorithms) {
  auto f = signed_with(params(), "other");
  auto v = verifier();
  EXPECT_EQ(verify(v, f.msg(), opts()), R(Reason::unknown_key));
  auto nokid = signed_with(params(), "");
  EXPECT_EQ(verify(v, nokid.msg(), opts()), R(Reason::unknown_key));
  hs::Verifier anon;
  ASSERT_TRUE(anon.add_key(Algorithm::hmac_sha256, kSecret, "").ok());
  EXPECT_EQ(verify(anon, nokid.msg(), opts()), 0);
  EXPECT_FALSE(anon.add_key(Algorithm::hmac_sha256, kSecret, "").ok());  // repeated keyid

  auto a = params();
  a.include_alg = true;
  auto g = signed_with(a);
  hs::Verifier ed;
  ASSERT_TRUE(ed.add_key(Algorithm::ed25519, ujwt_test::read_key("ed25519.pub.pem"), "gw").ok());
  EXPECT_EQ(verify(ed, g.msg(), opts()), R(Reason::alg_mismatch));
  // Without an alg parameter the key's algorithm decides: the HMAC does not
  // verify as Ed25519.
  EXPECT_EQ(verify(ed, signed_with(params()).msg(), opts()), R(Reason::bad_signature));
  Fixture forged{g.input, "sig1=:" + std::string(43, 'A') + "=:"};
  EXPECT_EQ(verify(verifier(), forged.msg(), opts()), R(Reason::bad_signature));
  Fixture wrong_alg{"sig1=(\"@method\");created=1700000000;keyid=\"gw\";alg=\"hs256\"", g.signature};
  EXPECT_EQ(verify(verifier(), wrong_alg.msg(), opts()), R(Reason::alg_mismatch));
}

TEST(HttpsigVerify, PolicyRequirements) {
  auto f = signed_with(params());
  auto v = verifier();
  auto o = opts();
  o.required_components = {"@method", "content-type"};
  EXPECT_EQ(verify(v, f.msg(), o), 0);
  o.required_components = {"content-digest"};
  EXPECT_EQ(verify(v, f.msg(), o), R(Reason::missing_component));
  o.required_components.clear();
  o.tag = "needed";
  EXPECT_EQ(verify(v, f.msg(), o), R(Reason::tag_mismatch));
}

TEST(HttpsigVerify, ChangedMessageFailsAsBadSignatureOrBadComponent) {
  auto f = signed_with(params());
  auto v = verifier();
  hs::Message m = f.msg();
  m.method = "PUT";
  EXPECT_EQ(verify(v, m, opts()), R(Reason::bad_signature));
  m = f.msg();
  m.target_uri = "https://api.example/orders?id=8";
  EXPECT_EQ(verify(v, m, opts()), R(Reason::bad_signature));
  m = f.msg();
  m.fields.erase(m.fields.begin());  // content-type gone
  EXPECT_EQ(verify(v, m, opts()), R(Reason::bad_component));
}

TEST(HttpsigVerify, SignerRefusals) {
  auto s = hs::Signer::create(Algorithm::hmac_sha256, kSecret, "gw");
  ASSERT_TRUE(s.ok());
  hs::Message m;
  m.method = "GET";
  m.target_uri = "https://a.example/";
  auto p = params();
  p.label = "Sig";
  EXPECT_FALSE(s->sign(m, p).ok());
  p = params();
  p.tag = "line\nbreak";
  EXPECT_FALSE(s->sign(m, p).ok());
  p = params();
  p.components = {"content-type"};
  auto r = s->sign(m, p);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(static_cast<int>(r.error().reason), R(Reason::bad_component));
  p = params();
  p.components = {"\"quoted\""};
  EXPECT_FALSE(s->sign(m, p).ok());
  p = params();
  p.nonce = "x";
  p.random_nonce = true;
  EXPECT_FALSE(s->sign(m, p).ok());
  p = params();
  p.components = {"@method"};
  p.random_nonce = true;
  auto a = s->sign(m, p), b = s->sign(m, p);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->signature_input, b->signature_input);  // nonce per signature

  EXPECT_EQ(hs::Signer::create(Algorithm::hmac_sha256, std::string(31, 's'), "").error().status,
            upstream_jwt::Status::key);
  EXPECT_EQ(hs::Signer::create(Algorithm::ed25519, ujwt_test::read_key("ec256.pem"), "").error().status,
            upstream_jwt::Status::key);
  EXPECT_EQ(hs::Signer::create(Algorithm::rsa_v1_5_sha256, ujwt_test::read_key("rsa1024.pem"), "").error().status,
            upstream_jwt::Status::key);
  EXPECT_EQ(hs::Signer::create(Algorithm::ecdsa_p256_sha256, ujwt_test::read_key("ec384.pem"), "").error().status,
            upstream_jwt::Status::key);
  EXPECT_EQ(hs::Signer::create(Algorithm::rsa_v1_5_sha256, ujwt_test::read_key("rfc9421/test-key-rsa-pss.pem"), "").error().status,
            upstream_jwt::Status::key);
  EXPECT_EQ(hs::Signer::create(Algorithm::rsa_pss_sha512, ujwt_test::read_key("ed25519.pub.pem"), "").error().status,
            upstream_jwt::Status::key);
}

TEST(HttpsigVerify, NamesAndReasons) {
  for (auto a : {Algorithm::hmac_sha256, Algorithm::ed25519, Algorithm::ecdsa_p256_sha256,
                 Algorithm::rsa_pss_sha512, Algorithm::rsa_v1_5_sha256})
    EXPECT_EQ(hs::parse_algorithm(hs::algorithm_name(a)), a);
  EXPECT_FALSE(hs::parse_algorithm("HMAC-SHA256").has_value());
  EXPECT_FALSE(hs::parse_algorithm("rsa-v1_5-sha1").has_value());
  EXPECT_EQ(hs::reason_name(101), "missing_signature");
  EXPECT_EQ(hs::reason_name(115), "missing_digest");
  EXPECT_EQ(hs::reason_name(100), "unknown");
  EXPECT_EQ(hs::reason_name(116), "unknown");
}
