// The RFC 9421 / RFC 9530 part of the C ABI: argument checks, buffer
// contracts, reasons, and the RFC B.2.5 vector through libupstream_jwt.so.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "test_util.hpp"
#include "upstream_jwt.h"

namespace {

const std::string kDigest512 =
    "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:";

struct Msg {
  std::vector<std::pair<std::string, std::string>> headers = {
      {"Host", "example.com"},
      {"Date", "Tue, 20 Apr 2021 02:07:55 GMT"},
      {"Content-Type", "application/json"},
      {"Content-Digest", kDigest512},
      {"Content-Length", "18"}};
  std::string method = "POST", url = "http://example.com/foo?param=Value&Pet=dog";
  std::vector<ujwt_httpsig_field> fields;
  ujwt_httpsig_message m{};
  const ujwt_httpsig_message* view() {
    fields.clear();
    for (auto& h : headers) fields.push_back({h.first.data(), h.first.size(), h.second.data(), h.second.size()});
    m = ujwt_httpsig_message{};
    m.method = method.data();
    m.method_len = method.size();
    m.target_uri = url.data();
    m.target_uri_len = url.size();
    m.fields = fields.data();
    m.field_count = fields.size();
    return &m;
  }
};

const std::string kComponents = "(\"date\" \"@authority\" \"content-type\")";

ujwt_httpsig_sign_params b25_params() {
  ujwt_httpsig_sign_params p{};
  p.label = "sig-b25";
  p.label_len = 7;
  p.components = kComponents.data();
  p.components_len = kComponents.size();
  p.created = 1618884473;
  return p;
}

ujwt_httpsig_signer* hmac_signer() {
  const std::string secret = ujwt_test::read_key("rfc9421/test-shared-secret.bin");
  ujwt_httpsig_signer* s = nullptr;
  ujwt_error err{};
  EXPECT_EQ(ujwt_httpsig_signer_new("hmac-sha256", 11, reinterpret_cast<const uint8_t*>(secret.data()),
                                    secret.size(), "test-shared-secret", 18, &s, &err),
            UJWT_OK)
      << err.message;
  return s;
}

}  // namespace

TEST(HttpsigAbi, RfcB25ThroughTheAbi) {
  ujwt_httpsig_signer* s = hmac_signer();
  Msg msg;
  auto p = b25_params();
  char in[256], sig[128];
  size_t in_len = 0, sig_len = 0;
  ujwt_error err{};
  ASSERT_EQ(ujwt_httpsig_sign(s, msg.view(), &p, in, sizeof in, &in_len, sig, sizeof sig, &sig_len, &err), UJWT_OK)
      << err.message;
  EXPECT_EQ(std::string(sig, sig_len), "sig-b25=:pxcQw6G3AjtMBQjwo8XzkZf/bws5LelbaMk5rGIGtE8=:");
  EXPECT_EQ(std::string(in, in_len),
            "sig-b25=(\"date\" \"@authority\" \"content-type\");created=1618884473;keyid=\"test-shared-secret\"");

  // Too small: both sizes reported, nothing written.
  char tiny[4] = {'x', 'x', 'x', 'x'};
  EXPECT_EQ(ujwt_httpsig_sign(s, msg.view(), &p, tiny, sizeof tiny, &in_len, sig, sizeof sig, &sig_len, &err),
            UJWT_ERR_BUFFER_TOO_SMALL);
  EXPECT_EQ(in_len, 90u);
  EXPECT_EQ(sig_len, 54u);
  EXPECT_EQ(tiny[0], 'x');

  // Verify through the ABI, JSON summary out.
  ujwt_httpsig_verifier* v = nullptr;
  ASSERT_EQ(ujwt_httpsig_verifier_new(&v, &err), UJWT_OK);
  const std::string secret = ujwt_test::read_key("rfc9421/test-shared-secret.bin");
  ASSERT_EQ(ujwt_httpsig_verifier_add_key(v, "hmac-sha256", 11, reinterpret_cast<const uint8_t*>(secret.data()),
                                          secret.size(), "test-shared-secret", 18, &err),
            UJWT_OK);
  EXPECT_EQ(ujwt_httpsig_verifier_add_key(v, "hmac-sha256", 11, reinterpret_cast<const uint8_t*>(secret.data()),
                                          secret.size(), "test-shared-secret", 18, &err),
            UJWT_ERR_INVALID_ARGUMENT);
  msg.headers.emplace_back("Signature-Input", std::string(in, in_len));
  msg.headers.emplace_back("Signature", std::string(sig, sig_len));
  ujwt_httpsig_verify_options o{};
  o.now = 1618884473;
  char out[512];
  size_t out_len = 0;
  ASSERT_EQ(ujwt_httpsig_verify(v, msg.view(), &o, out, sizeof out, &out_len, &err), UJWT_OK) << err.message;
  EXPECT_EQ(std::string(out, out_len),
            "{\"label\":\"sig-b25\",\"keyid\":\"test-shared-secret\",\"alg\":\"hmac-sha256\",\"created\":1618884473,"
            "\"components\":[\"\\\"date\\\"\",\"\\\"@authority\\\"\",\"\\\"content-type\\\"\"]}");
  EXPECT_EQ(ujwt_httpsig_verify(v, msg.view(), &o, nullptr, 0, nullptr, &err), UJWT_OK);  // output skipped
  EXPECT_EQ(ujwt_httpsig_verify(v, msg.view(), &o, out, 10, &out_len, &err), UJWT_ERR_BUFFER_TOO_SMALL);

  const std::string req = "(\"content-digest\")";
  o.required_components = req.data();
  o.required_components_len = req.size();
  EXPECT_EQ(ujwt_httpsig_verify(v, msg.view(), &o, out, sizeof out, &out_len, &err), UJWT_ERR_TOKEN_INVALID);
  EXPECT_EQ(err.reason, UJWT_HTTPSIG_REASON_MISSING_COMPONENT);
  EXPECT_STREQ(ujwt_httpsig_reason_name(err.reason), "missing_component");
  o.required_components = nullptr;
  o.required_components_len = 0;
  o.now = 1618884472;
  EXPECT_EQ(ujwt_httpsig_verify(v, msg.view(), &o, out, sizeof out, &out_len, &err), UJWT_ERR_TOKEN_INVALID);
  EXPECT_EQ(err.reason, UJWT_HTTPSIG_REASON_CREATED_IN_FUTURE);
  o.leeway = -1;
  EXPECT_EQ(ujwt_httpsig_verify(v, msg.view(), &o, out, sizeof out, &out_len, &err), UJWT_ERR_INVALID_ARGUMENT);
  ujwt_httpsig_verifier_free(v);
  ujwt_httpsig_signer_free(s);
}

TEST(HttpsigAbi, ArgumentChecks) {
  ujwt_error err{};
  ujwt_httpsig_signer* s = nullptr;
  EXPECT_EQ(ujwt_httpsig_signer_new(nullptr, 0, nullptr, 0, nullptr, 0, &s, &err), UJWT_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(ujwt_httpsig_signer_new("HS256", 5, reinterpret_cast<const uint8_t*>("x"), 1, nullptr, 0, &s, &err),
            UJWT_ERR_ALGORITHM);
  EXPECT_EQ(ujwt_httpsig_signer_new("hmac-sha256", 11, nullptr, 0, nullptr, 0, &s, &err), UJWT_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(ujwt_httpsig_signer_new("hmac-sha256", 11, reinterpret_cast<const uint8_t*>("short"), 5, nullptr, 0, &s,
                                    &err),
            UJWT_ERR_KEY);
  EXPECT_EQ(ujwt_httpsig_signer_new("hmac-sha256", 11, reinterpret_cast<const uint8_t*>("x"), 1, nullptr, 3, &s, &err),
            UJWT_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(ujwt_httpsig_signer_new("ed25519", 7, reinterpret_cast<const uint8_t*>("x"), 1, nullptr, 0, nullptr, &err),
            UJWT_ERR_INVALID_ARGUMENT);

  ujwt_httpsig_signer* ok_signer = hmac_signer();
  Msg msg;
  char in[256], sig[128];
  size_t in_len = 0, sig_len = 0;
  auto p = b25_params();
  EXPECT_EQ(ujwt_httpsig_sign(ok_signer, nullptr, &p, in, sizeof in, &in_len, sig, sizeof sig, &sig_len, &err),
            UJWT_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(ujwt_httpsig_sign(ok_signer, msg.view(), nullptr, in, sizeof in, &in_len, sig, sizeof sig, &sig_len, &err),
            UJWT_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(ujwt_httpsig_sign(ok_signer, msg.view(), &p, in, sizeof in, nullptr, sig, sizeof sig, &sig_len, &err),
            UJWT_ERR_INVALID_ARGUMENT);
  const ujwt_httpsig_message* m = msg.view();
  ujwt_httpsig_message bad = *m;
  bad.status = 42;
  EXPECT_EQ(ujwt_httpsig_sign(ok_signer, &bad, &p, in, sizeof in, &in_len, sig, sizeof sig, &sig_len, &err),
            UJWT_ERR_INVALID_ARGUMENT);
  bad = *m;
  bad.fields = nullptr;
  EXPECT_EQ(ujwt_httpsig_sign(ok_signer, &bad, &p, in, sizeof in, &in_len, sig, sizeof sig, &sig_len, &err),
            UJWT_ERR_INVALID_ARGUMENT);
  bad = *m;
  bad.request = m;  // a request has no request
  EXPECT_EQ(ujwt_httpsig_sign(ok_signer, &bad, &p, in, sizeof in, &in_len, sig, sizeof sig, &sig_len, &err),
            UJWT_ERR_INVALID_ARGUMENT);
  auto q = p;
  q.components = "(@method)";
  q.components_len = 9;
  EXPECT_EQ(ujwt_httpsig_sign(ok_signer, m, &q, in, sizeof in, &in_len, sig, sizeof sig, &sig_len, &err),
            UJWT_ERR_INVALID_ARGUMENT);
  q = p;
  q.components = "(\"x-absent\")";
  q.components_len = 12;
  EXPECT_EQ(ujwt_httpsig_sign(ok_signer, m, &q, in, sizeof in, &in_len, sig, sizeof sig, &sig_len, &err),
            UJWT_ERR_TOKEN_INVALID);
  EXPECT_EQ(err.reason, UJWT_HTTPSIG_REASON_BAD_COMPONENT);
  ujwt_httpsig_signer_free(ok_signer);
  ujwt_httpsig_signer_free(nullptr);
  ujwt_httpsig_verifier_free(nullptr);
  ujwt_content_digest_free(nullptr);
  EXPECT_STREQ(ujwt_httpsig_reason_name(0), "unknown");
  EXPECT_STREQ(ujwt_httpsig_reason_name(UJWT_HTTPSIG_REASON_BAD_SIGNATURE), "bad_signature");
}

TEST(HttpsigAbi, ContentDigest) {
  ujwt_error err{};
  ujwt_content_digest* d = nullptr;
  EXPECT_EQ(ujwt_content_digest_new(0, &d, &err), UJWT_ERR_INVALID_ARGUMENT);
  ASSERT_EQ(ujwt_content_digest_new(UJWT_CONTENT_DIGEST_SHA256 | UJWT_CONTENT_DIGEST_SHA512, &d, &err), UJWT_OK);
  const std::string body = "{\"hello\": \"world\"}\n";
  ASSERT_EQ(ujwt_content_digest_update(d, reinterpret_cast<const uint8_t*>(body.data()), 5, &err), UJWT_OK);
  ASSERT_EQ(ujwt_content_digest_update(d, reinterpret_cast<const uint8_t*>(body.data()) + 5, body.size() - 5, &err),
            UJWT_OK);
  char out[UJWT_CONTENT_DIGEST_MAX_LEN];
  size_t len = 0;
  // A short buffer leaves the running hash alone.
  EXPECT_EQ(ujwt_content_digest_final(d, out, 10, &len, &err), UJWT_ERR_BUFFER_TOO_SMALL);
  EXPECT_EQ(len, static_cast<size_t>(UJWT_CONTENT_DIGEST_MAX_LEN));
  ASSERT_EQ(ujwt_content_digest_final(d, out, sizeof out, &len, &err), UJWT_OK);
  EXPECT_EQ(std::string(out, len),
            "sha-256=:RK/0qy18MlBSVnWgjwz6lZEWjP/lF5HF9bvEF8FabDg=:, "
            "sha-512=:YMAam51Jz/jOATT6/zvHrLVgOYTGFy1d6GJiOHTohq4yP+pgk4vf2aCsyRZOtw8MjkM7iw7yZ/WkppmM44T3qg==:");
  // After final it starts over: the next field is the empty content's.
  ASSERT_EQ(ujwt_content_digest_final(d, out, sizeof out, &len, &err), UJWT_OK);
  EXPECT_EQ(std::string(out, 54), "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:");

  const std::string field = "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:";
  EXPECT_EQ(ujwt_content_digest_check(d, field.data(), field.size(), &err), UJWT_OK);
  ASSERT_EQ(ujwt_content_digest_update(d, reinterpret_cast<const uint8_t*>("x"), 1, &err), UJWT_OK);
  EXPECT_EQ(ujwt_content_digest_check(d, field.data(), field.size(), &err), UJWT_ERR_TOKEN_INVALID);
  EXPECT_EQ(err.reason, UJWT_HTTPSIG_REASON_DIGEST_MISMATCH);
  EXPECT_EQ(ujwt_content_digest_check(d, nullptr, 0, &err), UJWT_ERR_TOKEN_INVALID);
  EXPECT_EQ(err.reason, UJWT_HTTPSIG_REASON_MISSING_DIGEST);
  EXPECT_EQ(ujwt_content_digest_update(d, nullptr, 1, &err), UJWT_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(ujwt_content_digest_update(nullptr, nullptr, 0, &err), UJWT_ERR_INVALID_ARGUMENT);
  ujwt_content_digest_free(d);
}
