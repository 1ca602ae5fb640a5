// abi_util.hpp — thin RAII and std::string wrappers over the C ABI for the
// tests. They add no behaviour: every status is passed through unchanged.
#ifndef UPSTREAM_JWT_TEST_ABI_UTIL_HPP
#define UPSTREAM_JWT_TEST_ABI_UTIL_HPP

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "test_util.hpp"
#include "upstream_jwt.h"

namespace ujwt_test {

struct SignerDel {
  void operator()(ujwt_signer *s) const { ujwt_signer_free(s); }
};
struct VerifierDel {
  void operator()(ujwt_verifier *v) const { ujwt_verifier_free(v); }
};
struct CacheDel {
  void operator()(ujwt_replay_cache *c) const { ujwt_replay_cache_free(c); }
};
struct DigestDel {
  void operator()(ujwt_digest *d) const { ujwt_digest_free(d); }
};
using SignerPtr = std::unique_ptr<ujwt_signer, SignerDel>;
using VerifierPtr = std::unique_ptr<ujwt_verifier, VerifierDel>;
using CachePtr = std::unique_ptr<ujwt_replay_cache, CacheDel>;
using DigestPtr = std::unique_ptr<ujwt_digest, DigestDel>;

constexpr int64_t kNow = 1700000000;

inline const char *ptr_or_null(const std::optional<std::string> &s) {
  return s ? s->data() : nullptr;
}
inline size_t len_or_zero(const std::optional<std::string> &s) {
  return s ? s->size() : 0;
}
inline const uint8_t *u8(const std::string &s) {
  return reinterpret_cast<const uint8_t *>(s.data());
}

// Owns the strings a ujwt_claims points at.
struct ClaimsSpec {
  std::optional<std::string> iss = std::string("kong");
  std::optional<std::string> aud;
  int64_t now = kNow;
  int64_t ttl = 60;
  std::optional<std::string> sub, consumer_id, consumer_username,
      consumer_custom_id, credential_id, htm, htu, query, body_sha256,
      extra_json, hdr_names, hdr_sha256;

  ujwt_claims c() const {
    ujwt_claims c{};
    c.iss = ptr_or_null(iss);
    c.iss_len = len_or_zero(iss);
    c.aud = ptr_or_null(aud);
    c.aud_len = len_or_zero(aud);
    c.now = now;
    c.ttl = ttl;
    c.sub = ptr_or_null(sub);
    c.sub_len = len_or_zero(sub);
    c.consumer_id = ptr_or_null(consumer_id);
    c.consumer_id_len = len_or_zero(consumer_id);
    c.consumer_username = ptr_or_null(consumer_username);
    c.consumer_username_len = len_or_zero(consumer_username);
    c.consumer_custom_id = ptr_or_null(consumer_custom_id);
    c.consumer_custom_id_len = len_or_zero(consumer_custom_id);
    c.credential_id = ptr_or_null(credential_id);
    c.credential_id_len = len_or_zero(credential_id);
    c.htm = ptr_or_null(htm);
    c.htm_len = len_or_zero(htm);
    c.htu = ptr_or_null(htu);
    c.htu_len = len_or_zero(htu);
    c.query = ptr_or_null(query);
    c.query_len = len_or_zero(query);
    c.body_sha256 = ptr_or_null(body_sha256);
    c.body_sha256_len = len_or_zero(body_sha256);
    c.extra_json = ptr_or_null(extra_json);
    c.extra_json_len = len_or_zero(extra_json);
    c.hdr_names = ptr_or_null(hdr_names);
    c.hdr_names_len = len_or_zero(hdr_names);
    c.hdr_sha256 = ptr_or_null(hdr_sha256);
    c.hdr_sha256_len = len_or_zero(hdr_sha256);
    return c;
  }
};

struct OptionsSpec {
  std::optional<std::string> issuer, audience;
  int64_t now = kNow;
  int64_t leeway = 0;
  int64_t max_lifetime = 3600;
  size_t max_token_length = 0;
  std::optional<std::string> method, path, query, body_sha256;
  ujwt_replay_cache *replay_cache = nullptr;
  // (name, value) lines as received; nullopt = headers not checked.
  std::optional<std::vector<std::pair<std::string, std::string>>> headers;
  std::optional<std::string> required_headers;
  mutable std::vector<ujwt_header> header_lines;  // what o() points at

  ujwt_verify_options o() const {
    ujwt_verify_options o{};
    header_lines.clear();
    if (headers) {
      for (const auto &[n, v] : *headers)
        header_lines.push_back({n.data(), n.size(), v.data(), v.size()});
      // Non-NULL even for an empty list: "checked, nothing received".
      static const ujwt_header none{};
      o.headers = header_lines.empty() ? &none : header_lines.data();
      o.header_count = header_lines.size();
    }
    o.required_headers = ptr_or_null(required_headers);
    o.required_headers_len = len_or_zero(required_headers);
    o.issuer = ptr_or_null(issuer);
    o.issuer_len = len_or_zero(issuer);
    o.audience = ptr_or_null(audience);
    o.audience_len = len_or_zero(audience);
    o.now = now;
    o.leeway = leeway;
    o.max_lifetime = max_lifetime;
    o.max_token_length = max_token_length;
    o.method = ptr_or_null(method);
    o.method_len = len_or_zero(method);
    o.path = ptr_or_null(path);
    o.path_len = len_or_zero(path);
    o.query = ptr_or_null(query);
    o.query_len = len_or_zero(query);
    o.body_sha256 = ptr_or_null(body_sha256);
    o.body_sha256_len = len_or_zero(body_sha256);
    o.replay_cache = replay_cache;
    return o;
  }
};

// A status plus, for tokens, what came back.
struct Outcome {
  int rc = -1;
  int reason = -1;
  std::string out;      // token, claims JSON or JWKS
  std::string message;  // err.message
};

inline std::string describe(const Outcome &o) {
  return std::string("rc=") + ujwt_status_name(o.rc) +
         " reason=" + ujwt_reason_name(o.reason) + " msg=" + o.message;
}

inline SignerPtr make_signer(const std::string &alg, const std::string &key,
                             std::optional<std::string> kid = std::nullopt) {
  ujwt_signer *s = nullptr;
  ujwt_error err{};
  int rc = ujwt_signer_new(alg.data(), alg.size(), u8(key), key.size(),
                           ptr_or_null(kid), len_or_zero(kid), &s, &err);
  EXPECT_EQ(rc, UJWT_OK) << alg << ": " << err.message;
  return SignerPtr(s);
}

inline Outcome signer_new_status(const std::string &alg,
                                 const std::string &key) {
  ujwt_signer *s = nullptr;
  ujwt_error err{};
  Outcome o;
  o.rc = ujwt_signer_new(alg.data(), alg.size(), u8(key), key.size(), nullptr,
                         0, &s, &err);
  o.message = err.message;
  ujwt_signer_free(s);
  return o;
}

inline Outcome sign(const ujwt_signer *s, const ClaimsSpec &spec) {
  ujwt_claims c = spec.c();
  std::vector<char> buf(8192);
  size_t len = 0;
  ujwt_error err{};
  Outcome o;
  o.rc = ujwt_sign(s, &c, buf.data(), buf.size(), &len, &err);
  if (o.rc == UJWT_OK) o.out.assign(buf.data(), len);
  o.reason = err.reason;
  o.message = err.message;
  return o;
}

inline std::string sign_ok(const ujwt_signer *s,
                           const ClaimsSpec &spec = ClaimsSpec()) {
  Outcome o = sign(s, spec);
  EXPECT_EQ(o.rc, UJWT_OK) << describe(o);
  return o.out;
}

inline VerifierPtr make_verifier() {
  ujwt_verifier *v = nullptr;
  ujwt_error err{};
  EXPECT_EQ(ujwt_verifier_new(&v, &err), UJWT_OK) << err.message;
  return VerifierPtr(v);
}

inline int add_key(ujwt_verifier *v, const std::string &alg,
                   const std::string &key,
                   std::optional<std::string> kid = std::nullopt,
                   std::string *message = nullptr) {
  ujwt_error err{};
  int rc = ujwt_verifier_add_key(v, alg.data(), alg.size(), u8(key),
                                 key.size(), ptr_or_null(kid),
                                 len_or_zero(kid), &err);
  if (message) *message = err.message;
  return rc;
}

inline VerifierPtr verifier_with(const std::string &alg, const std::string &key,
                                 std::optional<std::string> kid = std::nullopt) {
  VerifierPtr v = make_verifier();
  std::string msg;
  EXPECT_EQ(add_key(v.get(), alg, key, kid, &msg), UJWT_OK) << alg << ": " << msg;
  return v;
}

inline Outcome verify(const ujwt_verifier *v, const std::string &token,
                      const OptionsSpec &spec = OptionsSpec()) {
  ujwt_verify_options o = spec.o();
  std::vector<char> buf(token.size() + 64);
  size_t len = 0;
  ujwt_error err{};
  Outcome out;
  out.rc = ujwt_verify(v, token.data(), token.size(), &o, buf.data(),
                       buf.size(), &len, &err);
  if (out.rc == UJWT_OK) out.out.assign(buf.data(), len);
  out.reason = err.reason;
  out.message = err.message;
  return out;
}

// Asserts a specific rejection reason, with a readable failure message.
#define EXPECT_REJECTED(outcome, want_reason)                                \
  do {                                                                       \
    const ::ujwt_test::Outcome &o_ = (outcome);                              \
    EXPECT_EQ(o_.rc, UJWT_ERR_TOKEN_INVALID) << ::ujwt_test::describe(o_);   \
    EXPECT_STREQ(ujwt_reason_name(o_.reason), ujwt_reason_name(want_reason)) \
        << ::ujwt_test::describe(o_);                                        \
  } while (0)

#define EXPECT_VALID(outcome)                                            \
  do {                                                                   \
    const ::ujwt_test::Outcome &o_ = (outcome);                          \
    EXPECT_EQ(o_.rc, UJWT_OK) << ::ujwt_test::describe(o_);              \
  } while (0)

inline std::string abi_sha256_b64(const std::string &data) {
  char out[UJWT_SHA256_B64_LEN];
  size_t len = 0;
  ujwt_error err{};
  int rc = ujwt_sha256_b64(u8(data), data.size(), out, sizeof out, &len, &err);
  EXPECT_EQ(rc, UJWT_OK) << err.message;
  return std::string(out, len);
}

// Secrets of exactly the minimum size for each HS algorithm.
inline std::string hs_secret(size_t n, char seed = 'k') {
  std::string s;
  for (size_t i = 0; i < n; ++i) s += char(seed + (i % 7));
  return s;
}

}  // namespace ujwt_test

#endif  // UPSTREAM_JWT_TEST_ABI_UTIL_HPP
