// abi_test.cpp — the C ABI's contract itself: argument validation, output
// buffer protocol, error reporting, names, version, streaming digest, strict
// base64url as seen by a verifier, and the published test vectors.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <cstring>
#include <ostream>
#include <string>
#include <vector>

#include "abi_util.hpp"

using namespace ujwt_test;

namespace {
const std::string kSecret = hs_secret(32);
}

// ---- version and names ------------------------------------------------------

TEST(Abi, Version) {
  EXPECT_STREQ(ujwt_version(), "0.1.0");
  EXPECT_STREQ(ujwt_version(), UJWT_VERSION_STRING);
}

TEST(Abi, ReasonNames) {
  const char *want[UJWT_REASON_COUNT_] = {
      "none",           "token_too_long",    "malformed",        "bad_base64",
      "bad_header",     "bad_claims",        "alg_none",         "alg_not_allowed",
      "key_confusion",  "unknown_kid",       "crit_unsupported", "bad_signature",
      "missing_claim",  "expired",           "not_yet_valid",    "issued_in_future",
      "lifetime_too_long", "bad_issuer",     "bad_audience",     "method_mismatch",
      "path_mismatch",  "query_mismatch",    "body_mismatch",    "replayed",
      "header_mismatch", "replay_cache_full"};
  for (int r = 0; r < UJWT_REASON_COUNT_; ++r) {
    EXPECT_STREQ(ujwt_reason_name(r), want[r]) << r;
  }
  EXPECT_STREQ(ujwt_reason_name(UJWT_REASON_COUNT_), "unknown");
  EXPECT_STREQ(ujwt_reason_name(-1), "unknown");
  EXPECT_STREQ(ujwt_reason_name(1 << 30), "unknown");
}

TEST(Abi, StatusNames) {
  const char *want[] = {"ok",     "invalid_argument", "buffer_too_small",
                        "key",    "algorithm",        "claims",
                        "token_invalid", "internal"};
  for (int s = 0; s <= UJWT_ERR_INTERNAL; ++s) {
    EXPECT_STREQ(ujwt_status_name(s), want[s]) << s;
  }
  EXPECT_STREQ(ujwt_status_name(UJWT_ERR_INTERNAL + 1), "unknown");
  EXPECT_STREQ(ujwt_status_name(-1), "unknown");
}

// ---- argument validation ---------------------------------------------------

TEST(Abi, DigestArguments) {
  ujwt_error err{};
  EXPECT_EQ(ujwt_digest_new(nullptr, &err), UJWT_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(err.status, UJWT_ERR_INVALID_ARGUMENT);
  EXPECT_GT(std::strlen(err.message), 0u);
  const uint8_t data[3] = {1, 2, 3};
  char out[64];
  size_t len = 0;
  EXPECT_EQ(ujwt_digest_update(nullptr, data, 3, &err), UJWT_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(ujwt_digest_reset(nullptr, &err), UJWT_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(ujwt_digest_final(nullptr, out, sizeof out, &len, &err),
            UJWT_ERR_INVALID_ARGUMENT);
  ujwt_digest *d = nullptr;
  ASSERT_EQ(ujwt_digest_new(&d, &err), UJWT_OK);
  DigestPtr owner(d);
  EXPECT_EQ(ujwt_digest_update(d, nullptr, 3, &err), UJWT_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(ujwt_digest_final(d, nullptr, 43, &len, &err), UJWT_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(ujwt_digest_final(d, out, sizeof out, nullptr, &err),
            UJWT_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(ujwt_sha256_b64(nullptr, 3, out, sizeof out, &len, &err),
            UJWT_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(ujwt_sha256_b64(data, 3, nullptr, 43, &len, &err),
            UJWT_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(ujwt_sha256_b64(data, 3, out, sizeof out, nullptr, &err),
            UJWT_ERR_INVALID_ARGUMENT);
  // The failed calls changed nothing: the digest still hashes from scratch.
  ASSERT_EQ(ujwt_digest_update(d, reinterpret_cast<const uint8_t *>("abc"), 3, &err), UJWT_OK);
  ASSERT_EQ(ujwt_digest_final(d, out, sizeof out, &len, &err), UJWT_OK);
  EXPECT_EQ(std::string(out, len), "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0");
}

TEST(Abi, SignerArguments) {
  ujwt_error err{};
  ujwt_signer *s = nullptr;
  const std::string alg = "HS256";
  EXPECT_EQ(ujwt_signer_new(nullptr, 5, u8(kSecret), kSecret.size(), nullptr, 0, &s, &err),
            UJWT_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(ujwt_signer_new(alg.data(), alg.size(), nullptr, 32, nullptr, 0, &s, &err),
            UJWT_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(ujwt_signer_new(alg.data(), alg.size(), u8(kSecret), kSecret.size(),
                            nullptr, 0, nullptr, &err),
            UJWT_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(s, nullptr);

  SignerPtr signer = make_signer("HS256", kSecret);
  ClaimsSpec spec;
  ujwt_claims c = spec.c();
  char out[1024];
  size_t len = 0;
  EXPECT_EQ(ujwt_sign(nullptr, &c, out, sizeof out, &len, &err), UJWT_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(ujwt_sign(signer.get(), nullptr, out, sizeof out, &len, &err),
            UJWT_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(ujwt_sign(signer.get(), &c, nullptr, sizeof out, &len, &err),
            UJWT_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(ujwt_sign(signer.get(), &c, out, sizeof out, nullptr, &err),
            UJWT_ERR_INVALID_ARGUMENT);
  // A NULL pointer with a non-zero length in any optional field.
  ujwt_claims bad = c;
  bad.aud = nullptr;
  bad.aud_len = 3;
  EXPECT_EQ(ujwt_sign(signer.get(), &bad, out, sizeof out, &len, &err),
            UJWT_ERR_INVALID_ARGUMENT);
  bad = c;
  bad.extra_json = nullptr;
  bad.extra_json_len = 2;
  EXPECT_EQ(ujwt_sign(signer.get(), &bad, out, sizeof out, &len, &err),
            UJWT_ERR_INVALID_ARGUMENT);
}

TEST(Abi, VerifierArguments) {
  ujwt_error err{};
  EXPECT_EQ(ujwt_verifier_new(nullptr, &err), UJWT_ERR_INVALID_ARGUMENT);
  const std::string alg = "HS256";
  EXPECT_EQ(ujwt_verifier_add_key(nullptr, alg.data(), alg.size(), u8(kSecret),
                                  kSecret.size(), nullptr, 0, &err),
            UJWT_ERR_INVALID_ARGUMENT);
  VerifierPtr v = make_verifier();
  EXPECT_EQ(ujwt_verifier_add_key(v.get(), nullptr, 5, u8(kSecret), kSecret.size(),
                                  nullptr, 0, &err),
            UJWT_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(ujwt_verifier_add_key(v.get(), alg.data(), alg.size(), nullptr, 32,
                                  nullptr, 0, &err),
            UJWT_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(ujwt_verifier_add_jwk(nullptr, "{}", 2, nullptr, 0, &err),
            UJWT_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(ujwt_verifier_add_jwk(v.get(), nullptr, 2, nullptr, 0, &err),
            UJWT_ERR_INVALID_ARGUMENT);
  ASSERT_EQ(add_key(v.get(), "HS256", kSecret), UJWT_OK);

  SignerPtr s = make_signer("HS256", kSecret);
  std::string token = sign_ok(s.get());
  OptionsSpec spec;
  ujwt_verify_options o = spec.o();
  char out[1024];
  size_t len = 0;
  EXPECT_EQ(ujwt_verify(nullptr, token.data(), token.size(), &o, out, sizeof out, &len, &err),
            UJWT_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(ujwt_verify(v.get(), nullptr, token.size(), &o, out, sizeof out, &len, &err),
            UJWT_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(ujwt_verify(v.get(), token.data(), token.size(), &o, nullptr, 10, &len, &err),
            UJWT_ERR_INVALID_ARGUMENT);
  ujwt_verify_options bad = o;
  bad.leeway = -1;
  EXPECT_EQ(ujwt_verify(v.get(), token.data(), token.size(), &bad, out, sizeof out, &len, &err),
            UJWT_ERR_INVALID_ARGUMENT);
  bad = o;
  bad.issuer = nullptr;
  bad.issuer_len = 4;
  EXPECT_EQ(ujwt_verify(v.get(), token.data(), token.size(), &bad, out, sizeof out, &len, &err),
            UJWT_ERR_INVALID_ARGUMENT);
  // Out skipped entirely: still a full verification.
  EXPECT_EQ(ujwt_verify(v.get(), token.data(), token.size(), &o, nullptr, 0, &len, &err),
            UJWT_OK);
  EXPECT_EQ(ujwt_verify(v.get(), token.data(), token.size(), &o, nullptr, 0, nullptr, &err),
            UJWT_OK);
}

TEST(Abi, ReplayCacheAndJwksArguments) {
  ujwt_error err{};
  ujwt_replay_cache *c = nullptr;
  EXPECT_EQ(ujwt_replay_cache_new(16, nullptr, &err), UJWT_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(ujwt_replay_cache_new(0, &c, &err), UJWT_ERR_INVALID_ARGUMENT);
  char out[2048];
  size_t len = 0;
  EXPECT_EQ(ujwt_jwks_from_pem(nullptr, 10, nullptr, 0, nullptr, 0, out, sizeof out, &len, &err),
            UJWT_ERR_INVALID_ARGUMENT);
  const std::string pem = read_key("ec256.pem");
  EXPECT_EQ(ujwt_jwks_from_pem(u8(pem), pem.size(), nullptr, 0, nullptr, 0, nullptr,
                               sizeof out, &len, &err),
            UJWT_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(ujwt_jwks_from_pem(u8(pem), pem.size(), nullptr, 0, nullptr, 0, out,
                               sizeof out, nullptr, &err),
            UJWT_ERR_INVALID_ARGUMENT);
}

TEST(Abi, FreeAcceptsNull) {
  ujwt_signer_free(nullptr);
  ujwt_verifier_free(nullptr);
  ujwt_replay_cache_free(nullptr);
  ujwt_digest_free(nullptr);
  SUCCEED();
}

TEST(Abi, ErrorPointerMayBeNull) {
  EXPECT_EQ(ujwt_digest_new(nullptr, nullptr), UJWT_ERR_INVALID_ARGUMENT);
  ujwt_signer *s = nullptr;
  const std::string alg = "HS256", shortkey = "short";
  EXPECT_EQ(ujwt_signer_new(alg.data(), alg.size(), u8(shortkey), shortkey.size(),
                            nullptr, 0, &s, nullptr),
            UJWT_ERR_KEY);
  VerifierPtr v = verifier_with("HS256", kSecret);
  OptionsSpec spec;
  ujwt_verify_options o = spec.o();
  const std::string junk = "a.b";
  size_t len = 0;
  EXPECT_EQ(ujwt_verify(v.get(), junk.data(), junk.size(), &o, nullptr, 0, &len, nullptr),
            UJWT_ERR_TOKEN_INVALID);
}

TEST(Abi, ErrorStructIsFilledOnRejection) {
  VerifierPtr v = verifier_with("HS256", kSecret);
  OptionsSpec spec;
  ujwt_verify_options o = spec.o();
  const std::string junk = "a.b";
  ujwt_error err;
  std::memset(&err, 0x7f, sizeof err);  // garbage in, must be overwritten
  size_t len = 0;
  EXPECT_EQ(ujwt_verify(v.get(), junk.data(), junk.size(), &o, nullptr, 0, &len, &err),
            UJWT_ERR_TOKEN_INVALID);
  EXPECT_EQ(err.status, UJWT_ERR_TOKEN_INVALID);
  EXPECT_EQ(err.reason, UJWT_REASON_MALFORMED);
  EXPECT_LT(std::strlen(err.message), size_t(UJWT_ERROR_MESSAGE_MAX));
  EXPECT_GT(std::strlen(err.message), 0u);
  // A non-token failure carries reason none.
  std::memset(&err, 0x7f, sizeof err);
  EXPECT_EQ(ujwt_verifier_new(nullptr, &err), UJWT_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(err.reason, UJWT_REASON_NONE);
  EXPECT_EQ(err.status, UJWT_ERR_INVALID_ARGUMENT);
}

// ---- output buffer protocol ------------------------------------------------

TEST(Abi, SignBufferTooSmallReportsNeededSizeAndRetrySucceeds) {
  SignerPtr s = make_signer("HS256", kSecret, std::string("kid-1"));
  ClaimsSpec spec;
  ujwt_claims c = spec.c();
  char tiny[16];
  size_t needed = 0;
  ujwt_error err{};
  ASSERT_EQ(ujwt_sign(s.get(), &c, tiny, sizeof tiny, &needed, &err),
            UJWT_ERR_BUFFER_TOO_SMALL);
  EXPECT_EQ(err.status, UJWT_ERR_BUFFER_TOO_SMALL);
  ASSERT_GT(needed, sizeof tiny);
  std::vector<char> buf(needed);
  size_t len = 0;
  ASSERT_EQ(ujwt_sign(s.get(), &c, buf.data(), buf.size(), &len, &err), UJWT_OK);
  EXPECT_EQ(len, needed);
  // Exactly one byte short is still too small.
  std::vector<char> short_buf(needed - 1);
  EXPECT_EQ(ujwt_sign(s.get(), &c, short_buf.data(), short_buf.size(), &len, &err),
            UJWT_ERR_BUFFER_TOO_SMALL);
  EXPECT_EQ(len, needed);
  VerifierPtr v = verifier_with("HS256", kSecret);
  EXPECT_VALID(verify(v.get(), std::string(buf.data(), needed)));
}

TEST(Abi, VerifyBufferTooSmallRecordsNoJti) {
  SignerPtr s = make_signer("HS256", kSecret);
  VerifierPtr v = verifier_with("HS256", kSecret);
  ujwt_replay_cache *cache = nullptr;
  ASSERT_EQ(ujwt_replay_cache_new(8, &cache, nullptr), UJWT_OK);
  CachePtr owner(cache);
  std::string token = sign_ok(s.get());
  OptionsSpec spec;
  spec.replay_cache = cache;
  ujwt_verify_options o = spec.o();
  char tiny[8];
  size_t needed = 0;
  ujwt_error err{};
  ASSERT_EQ(ujwt_verify(v.get(), token.data(), token.size(), &o, tiny, sizeof tiny,
                        &needed, &err),
            UJWT_ERR_BUFFER_TOO_SMALL);
  std::string claims = b64url_decode(split_token(token)[1]);
  EXPECT_EQ(needed, claims.size());
  std::vector<char> buf(needed);
  size_t len = 0;
  ASSERT_EQ(ujwt_verify(v.get(), token.data(), token.size(), &o, buf.data(),
                        buf.size(), &len, &err),
            UJWT_OK)
      << err.message;
  EXPECT_EQ(std::string(buf.data(), len), claims);
  EXPECT_EQ(ujwt_verify(v.get(), token.data(), token.size(), &o, buf.data(),
                        buf.size(), &len, &err),
            UJWT_ERR_TOKEN_INVALID);
  EXPECT_EQ(err.reason, UJWT_REASON_REPLAYED);
}

TEST(Abi, JwksBufferTooSmall) {
  const std::string pem = read_key("rsa2048.pem");
  char tiny[32];
  size_t needed = 0;
  ujwt_error err{};
  ASSERT_EQ(ujwt_jwks_from_pem(u8(pem), pem.size(), nullptr, 0, nullptr, 0, tiny,
                               sizeof tiny, &needed, &err),
            UJWT_ERR_BUFFER_TOO_SMALL);
  std::vector<char> buf(needed);
  size_t len = 0;
  ASSERT_EQ(ujwt_jwks_from_pem(u8(pem), pem.size(), nullptr, 0, nullptr, 0,
                               buf.data(), buf.size(), &len, &err),
            UJWT_OK);
  EXPECT_EQ(len, needed);
  EXPECT_TRUE(nlohmann::json::accept(std::string(buf.data(), len)));
}

TEST(Abi, DigestFinalBufferTooSmall) {
  char out[UJWT_SHA256_B64_LEN];
  size_t len = 0;
  ujwt_error err{};
  EXPECT_EQ(ujwt_sha256_b64(u8("abc"), 3, out, UJWT_SHA256_B64_LEN - 1, &len, &err),
            UJWT_ERR_BUFFER_TOO_SMALL);
  EXPECT_EQ(len, size_t(UJWT_SHA256_B64_LEN));
  ASSERT_EQ(ujwt_sha256_b64(u8("abc"), 3, out, UJWT_SHA256_B64_LEN, &len, &err), UJWT_OK);
  EXPECT_EQ(std::string(out, len), "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0");
}

// ---- SHA-256: NIST FIPS 180-2 examples, streamed --------------------------

namespace {
std::string stream_digest(const std::string &data, size_t chunk) {
  ujwt_digest *d = nullptr;
  ujwt_error err{};
  EXPECT_EQ(ujwt_digest_new(&d, &err), UJWT_OK);
  DigestPtr owner(d);
  for (size_t off = 0; off < data.size(); off += chunk) {
    size_t n = std::min(chunk, data.size() - off);
    EXPECT_EQ(ujwt_digest_update(d, u8(data) + off, n, &err), UJWT_OK);
  }
  char out[UJWT_SHA256_B64_LEN];
  size_t len = 0;
  EXPECT_EQ(ujwt_digest_final(d, out, sizeof out, &len, &err), UJWT_OK);
  return std::string(out, len);
}
}  // namespace

TEST(Sha256, NistVectors) {
  // e3b0c442..., ba7816bf..., 248d6a61..., cdc76e5c... as base64url.
  EXPECT_EQ(abi_sha256_b64(""), "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU");
  EXPECT_EQ(abi_sha256_b64("abc"), "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0");
  EXPECT_EQ(abi_sha256_b64("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "JI1qYdIGOLjlwCaTDD5gOaM85Flk_yFn9uzt1BnbBsE");
  const std::string million(1000000, 'a');
  EXPECT_EQ(abi_sha256_b64(million), "zcduXJkU-5KBocfihNc-Z_GAmkiklyAOBG05zMcRLNA");
  for (size_t chunk : {size_t(1), size_t(7), size_t(63), size_t(64), size_t(65),
                       size_t(4093), size_t(65536), size_t(999999)}) {
    if (chunk == 1) {
      EXPECT_EQ(stream_digest(std::string(1000, 'a'), 1), sha256_b64(std::string(1000, 'a')));
      continue;
    }
    EXPECT_EQ(stream_digest(million, chunk), "zcduXJkU-5KBocfihNc-Z_GAmkiklyAOBG05zMcRLNA")
        << "chunk " << chunk;
  }
}

TEST(Sha256, FinalAndResetStartOver) {
  ujwt_digest *d = nullptr;
  ujwt_error err{};
  ASSERT_EQ(ujwt_digest_new(&d, &err), UJWT_OK);
  DigestPtr owner(d);
  char out[UJWT_SHA256_B64_LEN];
  size_t len = 0;
  ASSERT_EQ(ujwt_digest_final(d, out, sizeof out, &len, &err), UJWT_OK);
  EXPECT_EQ(std::string(out, len), "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU");
  ASSERT_EQ(ujwt_digest_update(d, u8("garbage"), 7, &err), UJWT_OK);
  ASSERT_EQ(ujwt_digest_reset(d, &err), UJWT_OK);
  ASSERT_EQ(ujwt_digest_update(d, u8("ab"), 2, &err), UJWT_OK);
  ASSERT_EQ(ujwt_digest_update(d, u8("c"), 1, &err), UJWT_OK);
  ASSERT_EQ(ujwt_digest_final(d, out, sizeof out, &len, &err), UJWT_OK);
  EXPECT_EQ(std::string(out, len), "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0");
  // final resets implicitly.
  ASSERT_EQ(ujwt_digest_update(d, u8("abc"), 3, &err), UJWT_OK);
  ASSERT_EQ(ujwt_digest_final(d, out, sizeof out, &len, &err), UJWT_OK);
  EXPECT_EQ(std::string(out, len), "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0");
}

// ---- strict base64url, as the verifier applies it --------------------------

namespace {

enum class Segment { header, payload, signature };

struct B64Case {
  const char *name;
  Segment seg;
  // Rewrites one segment of a valid token.
  std::string (*mutate)(const std::string &);
};

// Keeps ctest's discovered test names readable (no byte dumps).
void PrintTo(const B64Case &c, std::ostream *os) { *os << c.name; }

std::string add_pad(const std::string &s) { return s + "="; }
std::string add_double_pad(const std::string &s) { return s + "=="; }
std::string plus_char(const std::string &s) { return "+" + s.substr(1); }
std::string slash_char(const std::string &s) { return s.substr(0, 5) + "/" + s.substr(6); }
std::string inner_space(const std::string &s) { return s.substr(0, 4) + " " + s.substr(4); }
std::string inner_newline(const std::string &s) { return s.substr(0, 4) + "\n" + s.substr(4); }
std::string trailing_newline(const std::string &s) { return s + "\n"; }
std::string leading_space(const std::string &s) { return " " + s; }
std::string nul_byte(const std::string &s) { return s.substr(0, 3) + std::string(1, '\0') + s.substr(3); }
std::string high_byte(const std::string &s) { return s.substr(0, 3) + "\xc3\xa9" + s.substr(5); }
// Flips the lowest bit of the last character: for a length of 2 or 3 mod 4
// those bits are unused padding and must be zero (canonical encoding).
std::string noncanonical(const std::string &s) {
  static const std::string A =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string t = s;
  size_t v = A.find(t.back());
  t.back() = A[v ^ 1];
  return t;
}
// Appends characters until length % 4 == 1, which no byte count encodes to.
std::string len_mod4_is_1(const std::string &s) {
  std::string t = s;
  while (t.size() % 4 != 1) t += 'A';
  return t;
}

}  // namespace

class StrictBase64 : public ::testing::TestWithParam<B64Case> {};

TEST_P(StrictBase64, RejectedAsBadBase64) {
  const std::string secret = kSecret;
  // A payload whose encoding has length 2 or 3 mod 4, so trailing bits exist.
  std::string token;
  for (int pad = 0; pad < 4; ++pad) {
    std::string claims = R"({"exp":1700000060,"p":")" + std::string(pad, 'x') + "\"}";
    // 26 header bytes: 35 characters, so the header has trailing bits too.
    std::string t = forge_hs(R"({"alg":"HS256","kid":"k1"})", claims, secret);
    if (split_token(t)[1].size() % 4 >= 2) {
      token = t;
      break;
    }
  }
  std::vector<std::string> p = split_token(token);
  ASSERT_EQ(p.size(), 3u);
  ASSERT_EQ(p[0].size() % 4, 3u);
  ASSERT_EQ(p[2].size() % 4, 3u);  // 32-byte MAC: 43 characters
  VerifierPtr v = verifier_with("HS256", secret);
  ASSERT_EQ(verify(v.get(), token).rc, UJWT_OK);
  const B64Case &c = GetParam();
  size_t idx = static_cast<size_t>(c.seg);
  p[idx] = c.mutate(p[idx]);
  Outcome r = verify(v.get(), p[0] + "." + p[1] + "." + p[2]);
  EXPECT_REJECTED(r, UJWT_REASON_BAD_BASE64);
}

#define B64CASES(seg)                                                          \
  B64Case{"pad_" #seg, Segment::seg, add_pad},                                 \
      B64Case{"double_pad_" #seg, Segment::seg, add_double_pad},               \
      B64Case{"plus_" #seg, Segment::seg, plus_char},                          \
      B64Case{"slash_" #seg, Segment::seg, slash_char},                        \
      B64Case{"space_" #seg, Segment::seg, inner_space},                       \
      B64Case{"newline_" #seg, Segment::seg, inner_newline},                   \
      B64Case{"trailing_newline_" #seg, Segment::seg, trailing_newline},       \
      B64Case{"leading_space_" #seg, Segment::seg, leading_space},             \
      B64Case{"nul_" #seg, Segment::seg, nul_byte},                            \
      B64Case{"non_ascii_" #seg, Segment::seg, high_byte},                     \
      B64Case{"noncanonical_" #seg, Segment::seg, noncanonical},               \
      B64Case{"len_mod4_1_" #seg, Segment::seg, len_mod4_is_1}

INSTANTIATE_TEST_SUITE_P(AllSegments, StrictBase64,
                         ::testing::Values(B64CASES(header), B64CASES(payload),
                                           B64CASES(signature)),
                         [](const auto &info) { return std::string(info.param.name); });

// ---- RFC 7515 Appendix A.1 (HS256) -------------------------------------------

namespace {
const char *kA1Header = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9";
const char *kA1Payload =
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ";
const char *kA1Signature = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const char *kA1K =
    "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow";

std::string a1_token() {
  return std::string(kA1Header) + "." + kA1Payload + "." + kA1Signature;
}

OptionsSpec a1_options() {
  OptionsSpec o;
  o.now = 1300819300;  // before its exp 1300819380
  o.max_lifetime = 0;  // the example has no iat
  return o;
}
}  // namespace

TEST(Rfc7515, A1SegmentsDecodeToTheRfcBytes) {
  // The header and claims contain raw CR LF between members.
  EXPECT_EQ(b64url_decode(kA1Header), "{\"typ\":\"JWT\",\r\n \"alg\":\"HS256\"}");
  EXPECT_EQ(b64url_decode(kA1Payload),
            "{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}");
  // Our oracle reproduces the RFC signature, so the fixture is right.
  EXPECT_EQ(split_token(forge_hs(b64url_decode(kA1Header), b64url_decode(kA1Payload),
                                 b64url_decode(kA1K)))[2],
            kA1Signature);
}

TEST(Rfc7515, A1VerifiesWithRawKey) {
  VerifierPtr v = verifier_with("HS256", b64url_decode(kA1K));
  Outcome r = verify(v.get(), a1_token(), a1_options());
  EXPECT_VALID(r);
  EXPECT_EQ(r.out, b64url_decode(kA1Payload));
  OptionsSpec iss = a1_options();
  iss.issuer = "joe";
  EXPECT_VALID(verify(v.get(), a1_token(), iss));
  OptionsSpec late = a1_options();
  late.now = 1300819381;
  EXPECT_REJECTED(verify(v.get(), a1_token(), late), UJWT_REASON_EXPIRED);
  std::string t = a1_token();
  t[t.size() - 10] = t[t.size() - 10] == 'A' ? 'B' : 'A';
  EXPECT_REJECTED(verify(v.get(), t, a1_options()), UJWT_REASON_BAD_SIGNATURE);
}

TEST(Rfc7515, A1VerifiesWithTheJwk) {
  VerifierPtr v = make_verifier();
  std::string jwk = std::string(R"({"kty":"oct","k":")") + kA1K + "\"}";
  ujwt_error err{};
  ASSERT_EQ(ujwt_verifier_add_jwk(v.get(), jwk.data(), jwk.size(), "HS256", 5, &err), UJWT_OK)
      << err.message;
  Outcome r = verify(v.get(), a1_token(), a1_options());
  EXPECT_VALID(r);
  EXPECT_EQ(r.out, b64url_decode(kA1Payload));
  // The same key as a JWKS with its own alg member.
  VerifierPtr v2 = make_verifier();
  std::string jwks = std::string(R"({"keys":[{"kty":"oct","alg":"HS256","k":")") + kA1K + "\"}]}";
  ASSERT_EQ(ujwt_verifier_add_jwk(v2.get(), jwks.data(), jwks.size(), nullptr, 0, &err), UJWT_OK)
      << err.message;
  EXPECT_VALID(verify(v2.get(), a1_token(), a1_options()));
}

// ---- RFC 8037 Appendix A (Ed25519) -----------------------------------------

namespace {
const char *kEdX = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
const char *kEdToken =
    "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc."
    "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";
}  // namespace

TEST(Rfc8037, PublicJwkOfTheRfcKey) {
  const std::string pem = read_key("rfc8037_ed25519.pem");
  char out[1024];
  size_t len = 0;
  ujwt_error err{};
  ASSERT_EQ(ujwt_jwks_from_pem(u8(pem), pem.size(), nullptr, 0, nullptr, 0, out,
                               sizeof out, &len, &err),
            UJWT_OK)
      << err.message;
  nlohmann::json j = nlohmann::json::parse(std::string(out, len));
  ASSERT_EQ(j["keys"].size(), 1u);
  EXPECT_EQ(j["keys"][0]["kty"], "OKP");
  EXPECT_EQ(j["keys"][0]["crv"], "Ed25519");
  EXPECT_EQ(j["keys"][0]["x"], kEdX);
  EXPECT_EQ(j["keys"][0]["alg"], "EdDSA");
  EXPECT_EQ(j["keys"][0]["use"], "sig");
  EXPECT_FALSE(j["keys"][0].contains("d"));
}

TEST(Rfc8037, A4SignatureVerifies) {
  // The RFC's payload is plain text, not a claims object: a correct
  // signature therefore gets as far as the claims check (which runs after
  // the signature) and no further; a wrong one stops at bad_signature.
  VerifierPtr v = verifier_with("EdDSA", read_key("rfc8037_ed25519.pub.pem"));
  EXPECT_REJECTED(verify(v.get(), kEdToken), UJWT_REASON_BAD_CLAIMS);
  std::string t = kEdToken;
  t[t.size() - 5] = t[t.size() - 5] == 'A' ? 'B' : 'A';
  EXPECT_REJECTED(verify(v.get(), t), UJWT_REASON_BAD_SIGNATURE);

  VerifierPtr vj = make_verifier();
  std::string jwk = std::string(R"({"kty":"OKP","crv":"Ed25519","x":")") + kEdX + "\"}";
  ujwt_error err{};
  ASSERT_EQ(ujwt_verifier_add_jwk(vj.get(), jwk.data(), jwk.size(), "EdDSA", 5, &err), UJWT_OK)
      << err.message;
  EXPECT_REJECTED(verify(vj.get(), kEdToken), UJWT_REASON_BAD_CLAIMS);
  EXPECT_REJECTED(verify(vj.get(), t), UJWT_REASON_BAD_SIGNATURE);
}

// ---- JWKS / JWK through the ABI -------------------------------------------

TEST(Jwks, ShapeForEveryKeyType) {
  struct Case {
    const char *file, *kty, *alg;
  } cases[] = {{"rsa2048.pem", "RSA", "RS256"},
               {"rsa2048.pub.pem", "RSA", "RS256"},
               {"ec256.pem", "EC", "ES256"},
               {"ed25519.pem", "OKP", "EdDSA"}};
  for (const Case &c : cases) {
    const std::string pem = read_key(c.file);
    char out[2048];
    size_t len = 0;
    ujwt_error err{};
    ASSERT_EQ(ujwt_jwks_from_pem(u8(pem), pem.size(), "k1", 2, nullptr, 0, out,
                                 sizeof out, &len, &err),
              UJWT_OK)
        << c.file << ": " << err.message;
    nlohmann::json j = nlohmann::json::parse(std::string(out, len));
    ASSERT_TRUE(j["keys"].is_array()) << c.file;
    const auto &k = j["keys"][0];
    EXPECT_EQ(k["kty"], c.kty) << c.file;
    EXPECT_EQ(k["alg"], c.alg) << c.file;
    EXPECT_EQ(k["kid"], "k1") << c.file;
    EXPECT_EQ(k["use"], "sig") << c.file;
    for (const char *priv : {"d", "p", "q", "dp", "dq", "qi"}) {
      EXPECT_FALSE(k.contains(priv)) << c.file << " leaks " << priv;
    }
  }
}

TEST(Jwks, PublishedJwksVerifiesTokens) {
  struct Case {
    const char *alg, *file;
  } cases[] = {{"RS256", "rsa2048.pem"}, {"PS256", "rsa2048.pem"},
               {"ES256", "ec256.pem"},   {"EdDSA", "ed25519.pem"}};
  for (const Case &c : cases) {
    const std::string pem = read_key(c.file);
    std::string alg = c.alg;
    char out[2048];
    size_t len = 0;
    ujwt_error err{};
    ASSERT_EQ(ujwt_jwks_from_pem(u8(pem), pem.size(), "rot-1", 5, alg.data(), alg.size(),
                                 out, sizeof out, &len, &err),
              UJWT_OK)
        << c.alg << ": " << err.message;
    VerifierPtr v = make_verifier();
    ASSERT_EQ(ujwt_verifier_add_jwk(v.get(), out, len, nullptr, 0, &err), UJWT_OK)
        << c.alg << ": " << err.message;
    SignerPtr s = make_signer(c.alg, pem, std::string("rot-1"));
    EXPECT_VALID(verify(v.get(), sign_ok(s.get())));
    SignerPtr other = make_signer(c.alg, pem, std::string("rot-2"));
    EXPECT_REJECTED(verify(v.get(), sign_ok(other.get())), UJWT_REASON_UNKNOWN_KID);
  }
}

TEST(Jwks, HmacSecretsAreNeverPublished) {
  const std::string secret = hs_secret(64);
  char out[2048];
  size_t len = 0;
  ujwt_error err{};
  EXPECT_NE(ujwt_jwks_from_pem(u8(secret), secret.size(), nullptr, 0, nullptr, 0, out,
                               sizeof out, &len, &err),
            UJWT_OK);
  EXPECT_EQ(ujwt_jwks_from_pem(u8(read_key("ec256.pem")), read_key("ec256.pem").size(),
                               nullptr, 0, "RS256", 5, out, sizeof out, &len, &err),
            UJWT_ERR_KEY);
}
