// RFC 9421 Appendix B and Section 2 examples, RFC 9530 examples, through the
// C++ API. The keys are the RFC's own test keys (test/keys/rfc9421/).
#include <gtest/gtest.h>

#include <string>

#include "test_util.hpp"
#include "upstream_jwt/httpsig.hpp"

namespace hs = upstream_jwt::httpsig;
using hs::Algorithm;

namespace {

std::string read_key(const std::string& name) { return ujwt_test::read_key("rfc9421/" + name); }

const char* const kDigest512 =
    "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:";

// RFC 9421 Appendix B.2 `test-request`, plus the signature fields given.
hs::Message test_request(std::vector<hs::Field> extra = {}) {
  hs::Message m;
  m.method = "POST";
  m.target_uri = "http://example.com/foo?param=Value&Pet=dog";
  m.fields = {{"Host", "example.com"},
              {"Date", "Tue, 20 Apr 2021 02:07:55 GMT"},
              {"Content-Type", "application/json"},
              {"Content-Digest", kDigest512},
              {"Content-Length", "18"}};
  for (auto& f : extra) m.fields.push_back(f);
  return m;
}

hs::Verifier verifier_for(Algorithm alg, const std::string& file, const std::string& keyid) {
  hs::Verifier v;
  auto r = v.add_key(alg, read_key(file), keyid);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return v;
}

hs::VerifyOptions at_created() {
  hs::VerifyOptions o;
  o.now = 1618884473;
  return o;
}

int reason_of(const upstream_jwt::Error& e) { return static_cast<int>(e.reason); }

}  // namespace

TEST(HttpsigRfc, B21MinimalRsaPssVerifies) {
  auto v = verifier_for(Algorithm::rsa_pss_sha512, "test-key-rsa-pss.pub.pem", "test-key-rsa-pss");
  const std::string input =
      "sig-b21=();created=1618884473;keyid=\"test-key-rsa-pss\";nonce=\"b3k2pp5k7z-50gnwp.yemd\"";
  const std::string sig =
      "sig-b21=:d2pmTvmbncD3xQm8E9ZV2828BjQWGgiwAaw5bAkgibUopemLJcWDy/lkbbHAve4cRAtx31Iq786U7it++wgGxb"
      "tRxf8Udx7zFZsckzXaJMkA7ChG52eSkFxykJeNqsrWH5S+oxNFlD4dzVuwe8DhTSja8xxbR/Z2cOGdCbzR72rgFWhzx2Vj"
      "BqJzsPLMIQKhO4DGezXehhWwE56YCE+O6c0mKZsfxVrogUvA4HELjVKWmAvtl6UnCh8jYzuVG5WSb/QEVPnP5TmcAnLH1g+"
      "s++v6d4s8m0gCw1fV5/SITLq9mhho8K3+7EPYTU8IU1bLhdxO5Nyt8C8ssinQ98Xw9Q==:";
  auto r = v.verify(test_request({{"Signature-Input", input}, {"Signature", sig}}), at_created());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->base,
            "\"@signature-params\": ();created=1618884473;keyid=\"test-key-rsa-pss\""
            ";nonce=\"b3k2pp5k7z-50gnwp.yemd\"");
  EXPECT_EQ(r->nonce, "b3k2pp5k7z-50gnwp.yemd");
}

TEST(HttpsigRfc, B22SelectiveRsaPssVerifies) {
  auto v = verifier_for(Algorithm::rsa_pss_sha512, "test-key-rsa-pss.pub.pem", "test-key-rsa-pss");
  const std::string input =
      "sig-b22=(\"@authority\" \"content-digest\" \"@query-param\";name=\"Pet\");created=1618884473"
      ";keyid=\"test-key-rsa-pss\";tag=\"header-example\"";
  const std::string sig =
      "sig-b22=:LjbtqUbfmvjj5C5kr1Ugj4PmLYvx9wVjZvD9GsTT4F7GrcQEdJzgI9qHxICagShLRiLMlAJjtq6N4CDfKtjvuJ"
      "yE5qH7KT8UCMkSowOB4+ECxCmT8rtAmj/0PIXxi0A0nxKyB09RNrCQibbUjsLS/2YyFYXEu4TRJQzRw1rLEuEfY17SARYh"
      "pTlaqwZVtR8NV7+4UKkjqpcAoFqWFQh62s7Cl+H2fjBSpqfZUJcsIk4N6wiKYd4je2U/lankenQ99PZfB4jY3I5rSV2DSB"
      "VkSFsURIjYErOs0tFTQosMTAoxk//0RoKUqiYY8Bh0aaUEb0rQl3/XaVe4bXTugEjHSw==:";
  auto opts = at_created();
  opts.tag = "header-example";
  auto r = v.verify(test_request({{"Signature-Input", input}, {"Signature", sig}}), opts);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->base, std::string("\"@authority\": example.com\n\"content-digest\": ") + kDigest512 +
                         "\n\"@query-param\";name=\"Pet\": dog\n"
                         "\"@signature-params\": (\"@authority\" \"content-digest\" \"@query-param\""
                         ";name=\"Pet\");created=1618884473;keyid=\"test-key-rsa-pss\";tag=\"header-example\"");
}

TEST(HttpsigRfc, B23FullCoverageRsaPssVerifies) {
  auto v = verifier_for(Algorithm::rsa_pss_sha512, "test-key-rsa-pss.pem", "test-key-rsa-pss");
  const std::string input =
      "sig-b23=(\"date\" \"@method\" \"@path\" \"@query\" \"@authority\" \"content-type\" "
      "\"content-digest\" \"content-length\");created=1618884473;keyid=\"test-key-rsa-pss\"";
  const std::string sig =
      "sig-b23=:bbN8oArOxYoyylQQUU6QYwrTuaxLwjAC9fbY2F6SVWvh0yBiMIRGOnMYwZ/5MR6fb0Kh1rIRASVxFkeGt683+q"
      "RpRRU5p2voTp768ZrCUb38K0fUxN0O0iC59DzYx8DFll5GmydPxSmme9v6ULbMFkl+V5B1TP/yPViV7KsLNmvKiLJH1pFk"
      "h/aYA2HXXZzNBXmIkoQoLd7YfW91kE9o/CCoC1xMy7JA1ipwvKvfrs65ldmlu9bpG6A9BmzhuzF8Eim5f8ui9eH8LZH896"
      "+QIF61ka39VBrohr9iyMUJpvRX2Zbhl5ZJzSRxpJyoEZAFL2FUo5fTIztsDZKEgM4cUA==:";
  auto r = v.verify(test_request({{"Signature-Input", input}, {"Signature", sig}}), at_created());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->base, std::string("\"date\": Tue, 20 Apr 2021 02:07:55 GMT\n\"@method\": POST\n"
                                 "\"@path\": /foo\n\"@query\": ?param=Value&Pet=dog\n"
                                 "\"@authority\": example.com\n\"content-type\": application/json\n"
                                 "\"content-digest\": ") +
                         kDigest512 +
                         "\n\"content-length\": 18\n\"@signature-params\": (\"date\" \"@method\" "
                         "\"@path\" \"@query\" \"@authority\" \"content-type\" \"content-digest\" "
                         "\"content-length\");created=1618884473;keyid=\"test-key-rsa-pss\"");
}

TEST(HttpsigRfc, B24ResponseEcdsaVerifies) {
  auto v = verifier_for(Algorithm::ecdsa_p256_sha256, "test-key-ecc-p256.pub.pem", "test-key-ecc-p256");
  hs::Message res;
  res.status = 200;
  res.fields = {
      {"Date", "Tue, 20 Apr 2021 02:07:56 GMT"},
      {"Content-Type", "application/json"},
      {"Content-Digest",
       "sha-512=:mEWXIS7MaLRuGgxOBdODa3xqM1XdEvxoYhvlCFJ41QJgJc4GTsPp29l5oGX69wWdXymyU0rjJuahq4l5aGgfLQ==:"},
      {"Content-Length", "23"},
      {"Signature-Input",
       "sig-b24=(\"@status\" \"content-type\" \"content-digest\" \"content-length\")"
       ";created=1618884473;keyid=\"test-key-ecc-p256\""},
      {"Signature",
       "sig-b24=:wNmSUAhwb5LxtOtOpNa6W5xj067m5hFrj0XQ4fvpaCLx0NKocgPquLgyahnzDnDAUy5eCdlYUEkLIj+32oiasw==:"}};
  auto r = v.verify(res, at_created());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->alg, Algorithm::ecdsa_p256_sha256);
}

TEST(HttpsigRfc, B25HmacReproducedExactly) {
  auto s = hs::Signer::create(Algorithm::hmac_sha256, read_key("test-shared-secret.bin"), "test-shared-secret");
  ASSERT_TRUE(s.ok()) << s.error().message;
  hs::SignParams p;
  p.label = "sig-b25";
  p.components = {"date", "@authority", "content-type"};
  p.created = 1618884473;
  auto r = s->sign(test_request(), p);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->signature_input,
            "sig-b25=(\"date\" \"@authority\" \"content-type\");created=1618884473;keyid=\"test-shared-secret\"");
  EXPECT_EQ(r->signature, "sig-b25=:pxcQw6G3AjtMBQjwo8XzkZf/bws5LelbaMk5rGIGtE8=:");
  EXPECT_EQ(r->base,
            "\"date\": Tue, 20 Apr 2021 02:07:55 GMT\n\"@authority\": example.com\n"
            "\"content-type\": application/json\n\"@signature-params\": (\"date\" \"@authority\" "
            "\"content-type\");created=1618884473;keyid=\"test-shared-secret\"");
}

TEST(HttpsigRfc, B26Ed25519ReproducedExactly) {
  auto s = hs::Signer::create(Algorithm::ed25519, read_key("test-key-ed25519.pem"), "test-key-ed25519");
  ASSERT_TRUE(s.ok()) << s.error().message;
  hs::SignParams p;
  p.label = "sig-b26";
  p.components = {"date", "@method", "@path", "@authority", "content-type", "content-length"};
  p.created = 1618884473;
  auto r = s->sign(test_request(), p);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->signature_input,
            "sig-b26=(\"date\" \"@method\" \"@path\" \"@authority\" \"content-type\" "
            "\"content-length\");created=1618884473;keyid=\"test-key-ed25519\"");
  EXPECT_EQ(r->signature,
            "sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==:");
}

// Every algorithm: what we sign, we verify, with the RFC keys.
TEST(HttpsigRfc, EveryAlgorithmRoundTrips) {
  struct Case {
    Algorithm alg;
    const char* priv;
    const char* pub;
  } cases[] = {{Algorithm::hmac_sha256, "test-shared-secret.bin", "test-shared-secret.bin"},
               {Algorithm::ed25519, "test-key-ed25519.pem", "test-key-ed25519.pub.pem"},
               {Algorithm::ecdsa_p256_sha256, "test-key-ecc-p256.pem", "test-key-ecc-p256.pub.pem"},
               {Algorithm::rsa_pss_sha512, "test-key-rsa-pss.pem", "test-key-rsa-pss.pub.pem"},
               {Algorithm::rsa_v1_5_sha256, "test-key-rsa.pem", "test-key-rsa.pub.pem"}};
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(hs::algorithm_name(c.alg)));
    auto s = hs::Signer::create(c.alg, read_key(c.priv), "k1");
    ASSERT_TRUE(s.ok()) << s.error().message;
    hs::SignParams p;
    p.components = {"@method", "@target-uri", "@authority", "content-digest", "@query-param;name=\"Pet\""};
    p.created = 1618884473;
    p.expires = 1618884533;
    p.random_nonce = true;
    p.tag = "upstream";
    p.include_alg = true;
    auto r = s->sign(test_request(), p);
    ASSERT_TRUE(r.ok()) << r.error().message;
    auto v = verifier_for(c.alg, c.pub, "k1");
    hs::VerifyOptions o = at_created();
    o.require_expires = true;
    o.required_components = {"@method", "content-digest"};
    o.tag = "upstream";
    auto ok = v.verify(test_request({{"Signature-Input", r->signature_input}, {"Signature", r->signature}}), o);
    ASSERT_TRUE(ok.ok()) << ok.error().message;
    EXPECT_EQ(ok->base, r->base);
    // One flipped bit in the content digest breaks it.
    hs::Message m = test_request({{"Signature-Input", r->signature_input}, {"Signature", r->signature}});
    std::string tampered = kDigest512;
    tampered[12] = tampered[12] == 'A' ? 'B' : 'A';
    m.fields[3].value = tampered;
    auto bad = v.verify(m, o);
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(reason_of(bad.error()), static_cast<int>(hs::Reason::bad_signature));
  }
}

TEST(HttpsigRfc, PssSignaturesUseThe64ByteSaltAndDiffer) {
  auto s = hs::Signer::create(Algorithm::rsa_pss_sha512, read_key("test-key-rsa-pss.pem"), "k");
  ASSERT_TRUE(s.ok());
  hs::SignParams p;
  p.components = {"@method"};
  p.created = 1;
  auto a = s->sign(test_request(), p);
  auto b = s->sign(test_request(), p);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->signature, b->signature);  // randomized salt
}

// RFC 9421 Section 2.2 derived-component examples.
TEST(HttpsigRfc, DerivedComponents) {
  hs::Message m;
  m.method = "GET";
  m.target_uri =
      "https://WWW.Example.com:443/parameters?var=this%20is%20a%20big%0Amultiline%20value&"
      "bar=with+plus+whitespace&fa%C3%A7ade%22%3A%20=something&qux=&dup=1&dup=2";
  auto base = [&](std::vector<std::string> ids) -> std::string {
    auto c = hs::components_from(ids);
    EXPECT_TRUE(c.ok());
    auto b = hs::signature_base(m, c.value(), "()");
    return b.ok() ? b.value() : "ERROR: " + b.error().message;
  };
  EXPECT_EQ(base({"@authority"}), "\"@authority\": www.example.com\n\"@signature-params\": ()");
  EXPECT_EQ(base({"@scheme"}), "\"@scheme\": https\n\"@signature-params\": ()");
  EXPECT_EQ(base({"@path"}), "\"@path\": /parameters\n\"@signature-params\": ()");
  EXPECT_EQ(base({"@query-param;name=\"var\""}),
            "\"@query-param\";name=\"var\": this%20is%20a%20big%0Amultiline%20value\n\"@signature-params\": ()");
  EXPECT_EQ(base({"@query-param;name=\"bar\""}),
            "\"@query-param\";name=\"bar\": with%20plus%20whitespace\n\"@signature-params\": ()");
  EXPECT_EQ(base({"@query-param;name=\"fa%C3%A7ade%22%3A%20\""}),
            "\"@query-param\";name=\"fa%C3%A7ade%22%3A%20\": something\n\"@signature-params\": ()");
  EXPECT_EQ(base({"@query-param;name=\"qux\""}), "\"@query-param\";name=\"qux\": \n\"@signature-params\": ()");
  EXPECT_NE(base({"@query-param;name=\"dup\""}).find("more than once"), std::string::npos);
  EXPECT_NE(base({"@query-param;name=\"nope\""}).find("not present"), std::string::npos);

  m.target_uri = "http://www.example.com:8080";
  EXPECT_EQ(base({"@authority", "@path", "@query", "@request-target"}),
            "\"@authority\": www.example.com:8080\n\"@path\": /\n\"@query\": ?\n"
            "\"@request-target\": /\n\"@signature-params\": ()");
  m.target_uri = "http://www.example.com/path?queryString";
  EXPECT_EQ(base({"@query", "@target-uri"}),
            "\"@query\": ?queryString\n\"@target-uri\": http://www.example.com/path?queryString\n"
            "\"@signature-params\": ()");
  EXPECT_NE(base({"@status"}).find("for responses"), std::string::npos);
  EXPECT_NE(base({"@unknown"}).find("unknown derived"), std::string::npos);
  EXPECT_NE(base({"@method;req"}).find("req is for responses"), std::string::npos);
  EXPECT_NE(base({"@signature-params"}).find("cannot be covered"), std::string::npos);
  EXPECT_NE(base({"@method", "@method"}).find("more than once"), std::string::npos);
  EXPECT_NE(base({"@path;name=\"x\""}).find("does not apply"), std::string::npos);
  m.target_uri = "http://user@www.example.com/";
  EXPECT_NE(base({"@path"}).find("userinfo"), std::string::npos);
  m.target_uri = "/relative";
  EXPECT_NE(base({"@path"}).find("target URI"), std::string::npos);
}

// RFC 9421 Section 2.1 field examples (sf, key, bs, combination, folding).
TEST(HttpsigRfc, HttpFields) {
  hs::Message m;
  m.method = "GET";
  m.target_uri = "https://www.example.com/";
  m.fields = {{"Host", "www.example.com"},
              {"X-OWS-Header", "   Leading and trailing whitespace.   "},
              {"X-Obs-Fold-Header", "Obsolete\r\n    line folding."},
              {"Cache-Control", "max-age=60"},
              {"Cache-Control", "   must-revalidate"},
              {"Example-Dict", " a=1,    b=2;x=1;y=2,   c=(a   b   c), d"},
              {"Example-Header", "value, with, lots"},
              {"Example-Header", "of, commas"},
              {"X-Empty-Header", ""},
              {"X-Ctl", "a\x01z"}};
  auto line = [&](const std::string& id) -> std::string {
    auto c = hs::components_from({id});
    EXPECT_TRUE(c.ok()) << id;
    auto b = hs::signature_base(m, c.value(), "()");
    if (!b.ok()) return "ERROR: " + b.error().message;
    return b.value().substr(0, b.value().find('\n'));
  };
  EXPECT_EQ(line("x-ows-header"), "\"x-ows-header\": Leading and trailing whitespace.");
  EXPECT_EQ(line("x-obs-fold-header"), "\"x-obs-fold-header\": Obsolete line folding.");
  EXPECT_EQ(line("cache-control"), "\"cache-control\": max-age=60, must-revalidate");
  EXPECT_EQ(line("example-dict"), "\"example-dict\": a=1,    b=2;x=1;y=2,   c=(a   b   c), d");
  EXPECT_EQ(line("example-dict;sf"), "\"example-dict\";sf: a=1, b=2;x=1;y=2, c=(a b c), d");
  EXPECT_EQ(line("example-dict;key=\"a\""), "\"example-dict\";key=\"a\": 1");
  EXPECT_EQ(line("example-dict;key=\"d\""), "\"example-dict\";key=\"d\": ?1");
  EXPECT_EQ(line("example-dict;key=\"b\""), "\"example-dict\";key=\"b\": 2;x=1;y=2");
  EXPECT_EQ(line("example-dict;key=\"c\""), "\"example-dict\";key=\"c\": (a b c)");
  EXPECT_EQ(line("example-header;bs"), "\"example-header\";bs: :dmFsdWUsIHdpdGgsIGxvdHM=:, :b2YsIGNvbW1hcw==:");
  EXPECT_EQ(line("x-empty-header"), "\"x-empty-header\": ");
  EXPECT_NE(line("example-dict;key=\"zz\"").find("no member"), std::string::npos);
  EXPECT_NE(line("x-ows-header;key=\"a\"").find("not a Dictionary"), std::string::npos);
  EXPECT_NE(line("x-ows-header;sf").find("not known"), std::string::npos);
  EXPECT_NE(line("example-header;bs;sf").find("cannot be combined"), std::string::npos);
  EXPECT_NE(line("example-header;sf=?0").find("must be ?1"), std::string::npos);
  EXPECT_NE(line("example-header;tr").find("trailers"), std::string::npos);
  EXPECT_NE(line("x-missing").find("not in the message"), std::string::npos);
  EXPECT_NE(line("x-ctl").find("control"), std::string::npos);
  EXPECT_EQ(line("x-ctl;bs"), "\"x-ctl\";bs: :YQF6:");
  auto upper = hs::parse_components("(\"Content-Type\")");
  ASSERT_TRUE(upper.ok());
  auto b = hs::signature_base(m, upper.value(), "()");
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.error().message.find("lowercase"), std::string::npos);
}

TEST(HttpsigRfc, RequestComponentsOfAResponse) {
  hs::Message req = test_request();
  hs::Message res;
  res.status = 503;
  res.fields = {{"Content-Type", "text/plain"}};
  res.request = &req;
  auto c = hs::components_from({"@status", "content-type", "@method;req", "content-digest;req"});
  ASSERT_TRUE(c.ok());
  auto b = hs::signature_base(res, c.value(), "()");
  ASSERT_TRUE(b.ok()) << b.error().message;
  EXPECT_EQ(b.value(), std::string("\"@status\": 503\n\"content-type\": text/plain\n\"@method\";req: POST\n"
                                   "\"content-digest\";req: ") +
                           kDigest512 + "\n\"@signature-params\": ()");
  res.request = nullptr;
  EXPECT_FALSE(hs::signature_base(res, c.value(), "()").ok());
}

// RFC 9530 Section 2 and Appendix B.
TEST(HttpsigRfc, ContentDigestExamples) {
  auto field = [](std::string_view body, unsigned algs) {
    auto d = hs::ContentDigest::create(algs);
    EXPECT_TRUE(d.ok());
    // Streamed in 3-byte pieces: the result must not depend on the split.
    for (std::size_t i = 0; i < body.size(); i += 3) EXPECT_TRUE(d->update(body.data() + i, std::min<std::size_t>(3, body.size() - i)).ok());
    auto f = d->final_field();
    return f.ok() ? f.value() : f.error().message;
  };
  EXPECT_EQ(field("{\"hello\": \"world\"}\n", hs::ContentDigest::kSha256),
            "sha-256=:RK/0qy18MlBSVnWgjwz6lZEWjP/lF5HF9bvEF8FabDg=:");
  EXPECT_EQ(field("", hs::ContentDigest::kSha256), "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:");
  EXPECT_EQ(field("\"world\"}\n", hs::ContentDigest::kSha256),
            "sha-256=:jjcgBDWNAtbYUXI37CVG3gRuGOAjaaDRGpIUFsdyepQ=:");
  EXPECT_EQ(field("{\"hello\": \"world\"}\n", hs::ContentDigest::kSha512),
            "sha-512=:YMAam51Jz/jOATT6/zvHrLVgOYTGFy1d6GJiOHTohq4yP+pgk4vf2aCsyRZOtw8MjkM7iw7yZ/WkppmM44T3qg==:");
  EXPECT_EQ(field("{\"hello\": \"world\"}\n", hs::ContentDigest::kSha256 | hs::ContentDigest::kSha512),
            "sha-256=:RK/0qy18MlBSVnWgjwz6lZEWjP/lF5HF9bvEF8FabDg=:, "
            "sha-512=:YMAam51Jz/jOATT6/zvHrLVgOYTGFy1d6GJiOHTohq4yP+pgk4vf2aCsyRZOtw8MjkM7iw7yZ/WkppmM44T3qg==:");
  // RFC 9421's test-request body.
  EXPECT_EQ(field("{\"hello\": \"world\"}", hs::ContentDigest::kSha512), kDigest512);
}

TEST(HttpsigRfc, ContentDigestCheck) {
  auto check = [](std::string_view body, std::string_view header) -> int {
    auto d = hs::ContentDigest::create(hs::ContentDigest::kSha256 | hs::ContentDigest::kSha512);
    EXPECT_TRUE(d.ok());
    EXPECT_TRUE(d->update(body.data(), body.size()).ok());
    auto r = d->check(header);
    return r.ok() ? 0 : reason_of(r.error());
  };
  const std::string body = "{\"hello\": \"world\"}";
  EXPECT_EQ(check(body, kDigest512), 0);
  EXPECT_EQ(check(body, std::string("md5=:AAAA:, ") + kDigest512), 0);  // unknown members ignored
  EXPECT_EQ(check(body + " ", kDigest512), static_cast<int>(hs::Reason::digest_mismatch));
  EXPECT_EQ(check(body, "sha-256=:RK/0qy18MlBSVnWgjwz6lZEWjP/lF5HF9bvEF8FabDg=:, " + std::string(kDigest512)),
            static_cast<int>(hs::Reason::digest_mismatch));  // every checked member must match
  EXPECT_EQ(check(body, "md5=:AAAA:"), static_cast<int>(hs::Reason::missing_digest));
  EXPECT_EQ(check(body, ""), static_cast<int>(hs::Reason::missing_digest));
  EXPECT_EQ(check(body, "sha-512=\"x\""), static_cast<int>(hs::Reason::malformed));
  EXPECT_EQ(check(body, "sha-512=:WZDP"), static_cast<int>(hs::Reason::malformed));
  EXPECT_FALSE(hs::ContentDigest::create(0).ok());
  EXPECT_FALSE(hs::ContentDigest::create(4).ok());
}
