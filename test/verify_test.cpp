// verify_test.cpp — the verifier through the C ABI: round trips for every
// algorithm, one test per rejection reason, tampering, request binding,
// replay, kid rotation and key confusion.
#include <gtest/gtest.h>

#include <atomic>
#include <ostream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "abi_util.hpp"

using namespace ujwt_test;

namespace {

const std::string kSecret = hs_secret(32);

// A token with exact header/claims bytes, MACed by the test's own oracle
// (not the core), so each case isolates one check.
std::string forged(const std::string &header, const std::string &claims) {
  return forge_hs(header, claims, kSecret);
}

const std::string kHdr = R"({"alg":"HS256","typ":"JWT"})";

std::string claims_at(int64_t iat, int64_t nbf, int64_t exp) {
  return R"({"iss":"kong","iat":)" + std::to_string(iat) + R"(,"nbf":)" +
         std::to_string(nbf) + R"(,"exp":)" + std::to_string(exp) + "}";
}

class HsVerify : public ::testing::Test {
 protected:
  VerifierPtr v = verifier_with("HS256", kSecret);
  SignerPtr s = make_signer("HS256", kSecret);
};

}  // namespace

// ---- round trips -----------------------------------------------------------

struct AlgCase {
  const char *alg;
  const char *sign_key;    // file under test/keys, or "" for an HS secret
  const char *verify_key;  // public PEM file, or ""
  size_t secret_len;
};

// Keeps ctest's discovered test names readable (no byte dumps).
void PrintTo(const AlgCase &c, std::ostream *os) { *os << c.alg; }

class RoundTrip : public ::testing::TestWithParam<AlgCase> {
 protected:
  std::string sign_key() const {
    const AlgCase &p = GetParam();
    return *p.sign_key ? read_key(p.sign_key) : hs_secret(p.secret_len);
  }
  std::string verify_key() const {
    const AlgCase &p = GetParam();
    return *p.verify_key ? read_key(p.verify_key) : hs_secret(p.secret_len);
  }
};

TEST_P(RoundTrip, SignedTokenVerifiesWithPublicKeyAndClaimsComeBack) {
  const AlgCase &p = GetParam();
  SignerPtr s = make_signer(p.alg, sign_key(), std::string("key-1"));
  ClaimsSpec c;
  c.aud = "orders";
  c.sub = "consumer-1";
  c.htm = "POST";
  c.htu = "/v1/orders";
  c.query = "a=1&b=2";
  c.body_sha256 = sha256_b64("{\"x\":1}");
  std::string token = sign_ok(s.get(), c);
  std::vector<std::string> parts = split_token(token);
  ASSERT_EQ(parts.size(), 3u);
  std::string header = b64url_decode(parts[0]);
  EXPECT_EQ(header, std::string(R"({"alg":")") + p.alg +
                        R"(","typ":"JWT","kid":"key-1"})");

  VerifierPtr v = verifier_with(p.alg, verify_key(), std::string("key-1"));
  OptionsSpec o;
  o.issuer = "kong";
  o.audience = "orders";
  o.method = "POST";
  o.path = "/v1/orders";
  o.query = "a=1&b=2";
  o.body_sha256 = sha256_b64("{\"x\":1}");
  Outcome r = verify(v.get(), token, o);
  EXPECT_VALID(r);
  EXPECT_EQ(r.out, b64url_decode(parts[1]));
}

TEST_P(RoundTrip, PrivatePemAlsoVerifies) {
  const AlgCase &p = GetParam();
  SignerPtr s = make_signer(p.alg, sign_key());
  VerifierPtr v = verifier_with(p.alg, sign_key());
  EXPECT_VALID(verify(v.get(), sign_ok(s.get())));
}

TEST_P(RoundTrip, TamperingWithAnySingleCharacterIsRejected) {
  const AlgCase &p = GetParam();
  SignerPtr s = make_signer(p.alg, sign_key());
  VerifierPtr v = verifier_with(p.alg, verify_key());
  ClaimsSpec c;
  c.sub = "c";
  std::string token = sign_ok(s.get(), c);
  ASSERT_EQ(verify(v.get(), token).rc, UJWT_OK);
  size_t checked = 0;
  for (size_t i = 0; i < token.size(); ++i) {
    if (token[i] == '.') continue;
    std::string t = token;
    t[i] = t[i] == 'A' ? 'B' : 'A';
    Outcome r = verify(v.get(), t);
    ASSERT_EQ(r.rc, UJWT_ERR_TOKEN_INVALID)
        << "position " << i << " of " << token.size();
    ++checked;
  }
  EXPECT_GT(checked, 100u);
}

TEST_P(RoundTrip, WrongKeyOfTheSameTypeIsBadSignature) {
  const AlgCase &p = GetParam();
  std::string other;
  std::string alg = p.alg;
  if (alg[0] == 'H') {
    other = hs_secret(p.secret_len, 'q');
  } else if (alg == "ES256") {
    other = read_key("ec256_b.pub.pem");
  } else if (alg == "EdDSA") {
    other = read_key("rfc8037_ed25519.pub.pem");
  } else {
    other = read_key("rsa2048_b.pub.pem");
  }
  SignerPtr s = make_signer(p.alg, sign_key());
  VerifierPtr v = verifier_with(p.alg, other);
  EXPECT_REJECTED(verify(v.get(), sign_ok(s.get())), UJWT_REASON_BAD_SIGNATURE);
}

INSTANTIATE_TEST_SUITE_P(
    AllAlgorithms, RoundTrip,
    ::testing::Values(AlgCase{"HS256", "", "", 32}, AlgCase{"HS384", "", "", 48},
                      AlgCase{"HS512", "", "", 64},
                      AlgCase{"RS256", "rsa2048.pem", "rsa2048.pub.pem", 0},
                      AlgCase{"PS256", "rsa2048.pem", "rsa2048.pub.pem", 0},
                      AlgCase{"ES256", "ec256.pem", "ec256.pub.pem", 0},
                      AlgCase{"EdDSA", "ed25519.pem", "ed25519.pub.pem", 0}),
    [](const auto &info) { return std::string(info.param.alg); });

TEST(Keys, TraditionalPemFormatsSign) {
  SignerPtr rs = make_signer("RS256", read_key("rsa2048_b.pkcs1.pem"));
  VerifierPtr rv = verifier_with("RS256", read_key("rsa2048_b.pub.pem"));
  EXPECT_VALID(verify(rv.get(), sign_ok(rs.get())));
  SignerPtr es = make_signer("ES256", read_key("ec256_b.sec1.pem"));
  VerifierPtr ev = verifier_with("ES256", read_key("ec256_b.pub.pem"));
  EXPECT_VALID(verify(ev.get(), sign_ok(es.get())));
}

TEST(Keys, UnusableKeysAreRefusedWithKeyStatus) {
  EXPECT_EQ(signer_new_status("HS256", hs_secret(31)).rc, UJWT_ERR_KEY);
  EXPECT_EQ(signer_new_status("HS384", hs_secret(47)).rc, UJWT_ERR_KEY);
  EXPECT_EQ(signer_new_status("HS512", hs_secret(63)).rc, UJWT_ERR_KEY);
  EXPECT_EQ(signer_new_status("RS256", read_key("rsa1024.pem")).rc,
            UJWT_ERR_KEY);
  EXPECT_EQ(signer_new_status("ES256", read_key("ec384.pem")).rc, UJWT_ERR_KEY);
  EXPECT_EQ(signer_new_status("ES256", read_key("rsa2048.pem")).rc,
            UJWT_ERR_KEY);
  EXPECT_EQ(signer_new_status("RS256", read_key("ec256.pem")).rc, UJWT_ERR_KEY);
  EXPECT_EQ(signer_new_status("EdDSA", read_key("ec256.pem")).rc, UJWT_ERR_KEY);
  EXPECT_EQ(signer_new_status("RS256", "-----BEGIN PRIVATE KEY-----\nAAAA\n"
                                       "-----END PRIVATE KEY-----\n")
                .rc,
            UJWT_ERR_KEY);
  // A public key cannot sign.
  EXPECT_EQ(signer_new_status("RS256", read_key("rsa2048.pub.pem")).rc,
            UJWT_ERR_KEY);
}

TEST(Keys, UnknownAlgorithmsAreRefused) {
  for (const char *alg : {"HS257", "hs256", "none", "RS512", "ES384", "", "Ed25519"}) {
    EXPECT_EQ(signer_new_status(alg, hs_secret(64)).rc, UJWT_ERR_ALGORITHM)
        << "'" << alg << "'";
  }
}

TEST(Keys, ShortSecretErrorDoesNotEchoTheSecret) {
  const std::string secret = "do-not-log-this-secret";
  Outcome o = signer_new_status("HS256", secret);
  EXPECT_EQ(o.rc, UJWT_ERR_KEY);
  EXPECT_EQ(o.message.find(secret), std::string::npos) << o.message;
  EXPECT_FALSE(o.message.empty());
}

// ---- ES256 specifics -------------------------------------------------------

TEST(Es256, SignatureIsRaw64BytesAndDerIsRejected) {
  SignerPtr s = make_signer("ES256", read_key("ec256.pem"));
  VerifierPtr v = verifier_with("ES256", read_key("ec256.pub.pem"));
  for (int i = 0; i < 8; ++i) {
    std::string token = sign_ok(s.get());
    std::vector<std::string> parts = split_token(token);
    std::string raw = b64url_decode(parts[2]);
    ASSERT_EQ(raw.size(), 64u);
    EXPECT_VALID(verify(v.get(), token));
    std::string der_token = parts[0] + "." + parts[1] + "." +
                            b64url_encode(ecdsa_raw_to_der(raw));
    EXPECT_REJECTED(verify(v.get(), der_token), UJWT_REASON_BAD_SIGNATURE);
  }
}

// ---- one test per rejection reason ----------------------------------------

TEST_F(HsVerify, TokenTooLong) {
  std::string token = sign_ok(s.get());
  OptionsSpec o;
  o.max_token_length = token.size() - 1;
  EXPECT_REJECTED(verify(v.get(), token, o), UJWT_REASON_TOKEN_TOO_LONG);
  o.max_token_length = token.size();
  EXPECT_VALID(verify(v.get(), token, o));
  // Default limit 8192: checked before anything is parsed.
  EXPECT_REJECTED(verify(v.get(), std::string(8193, 'A')),
                  UJWT_REASON_TOKEN_TOO_LONG);
  std::string big = forged(kHdr, R"({"iss":"kong","exp":1700000060,"pad":")" +
                                     std::string(6200, 'x') + "\"}");
  ASSERT_GT(big.size(), 8192u);
  EXPECT_REJECTED(verify(v.get(), big), UJWT_REASON_TOKEN_TOO_LONG);
}

TEST_F(HsVerify, Malformed) {
  std::string token = sign_ok(s.get());
  std::vector<std::string> p = split_token(token);
  EXPECT_REJECTED(verify(v.get(), p[0] + "." + p[1]), UJWT_REASON_MALFORMED);
  EXPECT_REJECTED(verify(v.get(), token + ".x"), UJWT_REASON_MALFORMED);
  EXPECT_REJECTED(verify(v.get(), p[0]), UJWT_REASON_MALFORMED);
  EXPECT_REJECTED(verify(v.get(), token + "."), UJWT_REASON_MALFORMED);
}

TEST_F(HsVerify, BadBase64) {
  std::string token = sign_ok(s.get());
  std::vector<std::string> p = split_token(token);
  ASSERT_EQ(p[2].size(), 43u);
  auto with_sig = [&](const std::string &sig) {
    return p[0] + "." + p[1] + "." + sig;
  };
  EXPECT_REJECTED(verify(v.get(), with_sig(p[2] + "=")), UJWT_REASON_BAD_BASE64);
  EXPECT_REJECTED(verify(v.get(), p[0] + "=." + p[1] + "." + p[2]),
                  UJWT_REASON_BAD_BASE64);
}

TEST_F(HsVerify, BadHeader) {
  const std::string c = claims_at(kNow, kNow, kNow + 60);
  EXPECT_REJECTED(verify(v.get(), forged("[1]", c)), UJWT_REASON_BAD_HEADER);
  EXPECT_REJECTED(verify(v.get(), forged("{", c)), UJWT_REASON_BAD_HEADER);
  EXPECT_REJECTED(verify(v.get(), forged("", c)), UJWT_REASON_BAD_HEADER);
  EXPECT_REJECTED(
      verify(v.get(), forged(R"({"alg":"HS256","alg":"HS256","typ":"JWT"})", c)),
      UJWT_REASON_BAD_HEADER);
  EXPECT_REJECTED(verify(v.get(), forged(R"({"alg":"HS256","typ":"foo"})", c)),
                  UJWT_REASON_BAD_HEADER);
  EXPECT_REJECTED(verify(v.get(), forged(R"({"typ":"JWT"})", c)),
                  UJWT_REASON_BAD_HEADER);
  EXPECT_REJECTED(verify(v.get(), forged(R"({"alg":256,"typ":"JWT"})", c)),
                  UJWT_REASON_BAD_HEADER);
  // Control: the same forging with a sane header is accepted.
  EXPECT_VALID(verify(v.get(), forged(kHdr, c)));
  EXPECT_VALID(verify(v.get(), forged(R"({"alg":"HS256"})", c)));
}

TEST_F(HsVerify, BadClaims) {
  EXPECT_REJECTED(verify(v.get(), forged(kHdr, "[1]")), UJWT_REASON_BAD_CLAIMS);
  EXPECT_REJECTED(verify(v.get(), forged(kHdr, "{")), UJWT_REASON_BAD_CLAIMS);
  EXPECT_REJECTED(verify(v.get(), forged(kHdr, "not json")),
                  UJWT_REASON_BAD_CLAIMS);
  EXPECT_REJECTED(verify(v.get(), forged(kHdr, R"({"exp":"1700000060"})")),
                  UJWT_REASON_BAD_CLAIMS);
  EXPECT_REJECTED(
      verify(v.get(), forged(kHdr, R"({"iss":"kong","exp":1700000060,"iat":"x"})")),
      UJWT_REASON_BAD_CLAIMS);
}

TEST_F(HsVerify, DuplicateClaimsAreRejected) {
  // A duplicate lets two parsers disagree about which value counts.
  EXPECT_REJECTED(
      verify(v.get(), forged(kHdr, R"({"exp":1700000060,"exp":1900000000})")),
      UJWT_REASON_BAD_CLAIMS);
  EXPECT_REJECTED(
      verify(v.get(),
             forged(kHdr, R"({"iss":"evil","exp":1700000060,"iss":"kong"})")),
      UJWT_REASON_BAD_CLAIMS);
  EXPECT_REJECTED(
      verify(v.get(), forged(kHdr, R"({"exp":1700000060,"consumer":{"id":"a","id":"b"}})")),
      UJWT_REASON_BAD_CLAIMS);
}

TEST_F(HsVerify, AlgNone) {
  const std::string c = claims_at(kNow, kNow, kNow + 60);
  std::string unsigned_token =
      b64url_encode(R"({"alg":"none","typ":"JWT"})") + "." + b64url_encode(c) + ".";
  EXPECT_REJECTED(verify(v.get(), unsigned_token), UJWT_REASON_ALG_NONE);
  EXPECT_REJECTED(verify(v.get(), forged(R"({"alg":"none"})", c)),
                  UJWT_REASON_ALG_NONE);
}

TEST_F(HsVerify, AlgNotAllowed) {
  const std::string c = claims_at(kNow, kNow, kNow + 60);
  // Same secret, another HMAC: the key is registered for HS256 only.
  std::string hs384 = forge_hs(R"({"alg":"HS384","typ":"JWT"})", c,
                               kSecret, EVP_sha384());
  EXPECT_REJECTED(verify(v.get(), hs384), UJWT_REASON_ALG_NOT_ALLOWED);

  VerifierPtr rs = verifier_with("RS256", read_key("rsa2048.pub.pem"));
  SignerPtr ps = make_signer("PS256", read_key("rsa2048.pem"));
  EXPECT_REJECTED(verify(rs.get(), sign_ok(ps.get())),
                  UJWT_REASON_ALG_NOT_ALLOWED);
}

TEST(Rejection, KeyConfusionHmacWithPublicKeyPemAsSecret) {
  // The classic attack: the attacker knows the RSA public key and uses its
  // PEM text as an HMAC secret, hoping the verifier feeds the same bytes to
  // HMAC because the token says HS256.
  const std::string pub = read_key("rsa2048.pub.pem");
  SignerPtr attacker = make_signer("HS256", pub);
  std::string token = sign_ok(attacker.get());
  VerifierPtr v = verifier_with("RS256", pub);
  EXPECT_REJECTED(verify(v.get(), token), UJWT_REASON_KEY_CONFUSION);

  VerifierPtr ev = verifier_with("ES256", read_key("ec256.pub.pem"));
  SignerPtr attacker2 = make_signer("HS256", read_key("ec256.pub.pem"));
  EXPECT_REJECTED(verify(ev.get(), sign_ok(attacker2.get())),
                  UJWT_REASON_KEY_CONFUSION);
}

TEST(Rejection, KeyConfusionAsymmetricTokenAgainstHmacSecret) {
  VerifierPtr v = verifier_with("HS256", kSecret);
  SignerPtr rs = make_signer("RS256", read_key("rsa2048.pem"));
  EXPECT_REJECTED(verify(v.get(), sign_ok(rs.get())), UJWT_REASON_KEY_CONFUSION);
}

TEST(Rejection, UnknownKid) {
  VerifierPtr v = verifier_with("HS256", kSecret, std::string("k1"));
  SignerPtr s2 = make_signer("HS256", kSecret, std::string("k2"));
  EXPECT_REJECTED(verify(v.get(), sign_ok(s2.get())), UJWT_REASON_UNKNOWN_KID);
  SignerPtr s1 = make_signer("HS256", kSecret, std::string("k1"));
  EXPECT_VALID(verify(v.get(), sign_ok(s1.get())));
}

TEST_F(HsVerify, CritUnsupported) {
  const std::string c = claims_at(kNow, kNow, kNow + 60);
  EXPECT_REJECTED(
      verify(v.get(),
             forged(R"({"alg":"HS256","typ":"JWT","crit":["urn:x"],"urn:x":1})", c)),
      UJWT_REASON_CRIT_UNSUPPORTED);
  EXPECT_REJECTED(
      verify(v.get(), forged(R"({"alg":"HS256","crit":["b64"],"b64":false})", c)),
      UJWT_REASON_CRIT_UNSUPPORTED);
}

TEST_F(HsVerify, BadSignature) {
  std::string token = sign_ok(s.get());
  std::vector<std::string> p = split_token(token);
  std::string sig = b64url_decode(p[2]);
  sig[0] = char(sig[0] ^ 1);
  EXPECT_REJECTED(verify(v.get(), p[0] + "." + p[1] + "." + b64url_encode(sig)),
                  UJWT_REASON_BAD_SIGNATURE);
  // Truncated and empty signatures.
  EXPECT_REJECTED(verify(v.get(), p[0] + "." + p[1] + "." +
                                      b64url_encode(sig.substr(0, 31))),
                  UJWT_REASON_BAD_SIGNATURE);
  EXPECT_REJECTED(verify(v.get(), p[0] + "." + p[1] + "."),
                  UJWT_REASON_BAD_SIGNATURE);
  // Signature of another token with the same header.
  std::string other = sign_ok(s.get());
  EXPECT_REJECTED(verify(v.get(), p[0] + "." + p[1] + "." + split_token(other)[2]),
                  UJWT_REASON_BAD_SIGNATURE);
}

TEST_F(HsVerify, MissingClaim) {
  EXPECT_REJECTED(verify(v.get(), forged(kHdr, R"({"iss":"kong","iat":1700000000})")),
                  UJWT_REASON_MISSING_CLAIM);
  std::string no_iss = forged(kHdr, R"({"exp":1700000060})");
  EXPECT_VALID(verify(v.get(), no_iss));
  OptionsSpec o;
  o.issuer = "kong";
  EXPECT_REJECTED(verify(v.get(), no_iss, o), UJWT_REASON_MISSING_CLAIM);
  OptionsSpec a;
  a.audience = "svc";
  EXPECT_REJECTED(verify(v.get(), no_iss, a), UJWT_REASON_MISSING_CLAIM);
  for (int which = 0; which < 4; ++which) {
    SCOPED_TRACE("binding " + std::to_string(which));
    OptionsSpec b;
    if (which == 0) b.method = "GET";
    if (which == 1) b.path = "/";
    if (which == 2) b.query = "";
    if (which == 3) b.body_sha256 = sha256_b64("");
    EXPECT_REJECTED(verify(v.get(), no_iss, b), UJWT_REASON_MISSING_CLAIM);
  }
  ujwt_replay_cache *cache = nullptr;
  ASSERT_EQ(ujwt_replay_cache_new(16, &cache, nullptr), UJWT_OK);
  CachePtr owner(cache);
  OptionsSpec r;
  r.replay_cache = cache;
  EXPECT_REJECTED(verify(v.get(), no_iss, r), UJWT_REASON_MISSING_CLAIM);
}

TEST_F(HsVerify, Expired) {
  ClaimsSpec c;
  c.ttl = 60;
  std::string token = sign_ok(s.get(), c);
  OptionsSpec o;
  o.now = kNow + 59;
  EXPECT_VALID(verify(v.get(), token, o));
  o.now = kNow + 61;
  EXPECT_REJECTED(verify(v.get(), token, o), UJWT_REASON_EXPIRED);
  o.now = kNow + 3600;
  EXPECT_REJECTED(verify(v.get(), token, o), UJWT_REASON_EXPIRED);
  o.now = kNow + 61;
  o.leeway = 5;
  EXPECT_VALID(verify(v.get(), token, o));
  o.now = kNow + 66;
  EXPECT_REJECTED(verify(v.get(), token, o), UJWT_REASON_EXPIRED);
}

TEST_F(HsVerify, NotYetValid) {
  std::string token = forged(kHdr, R"({"iss":"kong","iat":1700000000,"nbf":1700000030,"exp":1700000060})");
  OptionsSpec o;
  EXPECT_REJECTED(verify(v.get(), token, o), UJWT_REASON_NOT_YET_VALID);
  o.leeway = 30;
  EXPECT_VALID(verify(v.get(), token, o));
  o.now = kNow + 31;
  o.leeway = 0;
  EXPECT_VALID(verify(v.get(), token, o));
}

TEST_F(HsVerify, IssuedInFuture) {
  std::string token = forged(kHdr, R"({"iss":"kong","iat":1700000030,"exp":1700000060})");
  OptionsSpec o;
  EXPECT_REJECTED(verify(v.get(), token, o), UJWT_REASON_ISSUED_IN_FUTURE);
  o.leeway = 30;
  EXPECT_VALID(verify(v.get(), token, o));
  // Our own tokens carry nbf == iat, and nbf is checked first: a token
  // minted by a gateway whose clock runs ahead is not_yet_valid.
  ClaimsSpec c;
  c.now = kNow + 120;
  o.leeway = 0;
  EXPECT_REJECTED(verify(v.get(), sign_ok(s.get(), c), o),
                  UJWT_REASON_NOT_YET_VALID);
  o.leeway = 120;
  EXPECT_VALID(verify(v.get(), sign_ok(s.get(), c), o));
}

TEST_F(HsVerify, LifetimeTooLong) {
  ClaimsSpec c;
  c.ttl = 7200;
  std::string token = sign_ok(s.get(), c);
  OptionsSpec o;
  o.max_lifetime = 3600;
  EXPECT_REJECTED(verify(v.get(), token, o), UJWT_REASON_LIFETIME_TOO_LONG);
  o.max_lifetime = 7200;
  EXPECT_VALID(verify(v.get(), token, o));
  o.max_lifetime = 0;
  EXPECT_VALID(verify(v.get(), token, o));
  // Without iat the remaining lifetime (exp - now) counts.
  std::string no_iat = forged(kHdr, R"({"iss":"kong","exp":1700086400})");
  o.max_lifetime = 3600;
  EXPECT_REJECTED(verify(v.get(), no_iat, o), UJWT_REASON_LIFETIME_TOO_LONG);
}

TEST_F(HsVerify, BadIssuer) {
  ClaimsSpec c;
  c.iss = "kong-east";
  std::string token = sign_ok(s.get(), c);
  OptionsSpec o;
  o.issuer = "kong";
  EXPECT_REJECTED(verify(v.get(), token, o), UJWT_REASON_BAD_ISSUER);
  o.issuer = "kong-east";
  EXPECT_VALID(verify(v.get(), token, o));
  o.issuer = "";
  EXPECT_REJECTED(verify(v.get(), token, o), UJWT_REASON_BAD_ISSUER);
}

TEST_F(HsVerify, BadAudience) {
  ClaimsSpec c;
  c.aud = "orders";
  std::string token = sign_ok(s.get(), c);
  OptionsSpec o;
  o.audience = "billing";
  EXPECT_REJECTED(verify(v.get(), token, o), UJWT_REASON_BAD_AUDIENCE);
  o.audience = "order";
  EXPECT_REJECTED(verify(v.get(), token, o), UJWT_REASON_BAD_AUDIENCE);
  o.audience = "orders";
  EXPECT_VALID(verify(v.get(), token, o));
  // An array audience must contain the expected value.
  std::string arr = forged(kHdr, R"({"aud":["a","orders"],"exp":1700000060})");
  EXPECT_VALID(verify(v.get(), arr, o));
  std::string arr2 = forged(kHdr, R"({"aud":["a","b"],"exp":1700000060})");
  EXPECT_REJECTED(verify(v.get(), arr2, o), UJWT_REASON_BAD_AUDIENCE);
}

// ---- request binding -------------------------------------------------------

class Binding : public HsVerify {
 protected:
  void SetUp() override {
    ClaimsSpec c;
    c.htm = "POST";
    c.htu = "/v1/orders";
    c.query = "id=7&x=%20";
    c.body_sha256 = abi_sha256_b64("{\"amount\":100}");
    token = sign_ok(s.get(), c);
    good.method = "POST";
    good.path = "/v1/orders";
    good.query = "id=7&x=%20";
    good.body_sha256 = sha256_b64("{\"amount\":100}");
  }
  std::string token;
  OptionsSpec good;
};

TEST_F(Binding, ExactRequestVerifies) { EXPECT_VALID(verify(v.get(), token, good)); }

TEST_F(Binding, MethodMismatch) {
  OptionsSpec o = good;
  o.method = "GET";
  EXPECT_REJECTED(verify(v.get(), token, o), UJWT_REASON_METHOD_MISMATCH);
  o.method = "post";  // methods are case-sensitive (RFC 9110)
  EXPECT_REJECTED(verify(v.get(), token, o), UJWT_REASON_METHOD_MISMATCH);
}

TEST_F(Binding, PathMismatch) {
  OptionsSpec o = good;
  o.path = "/v1/orders/";
  EXPECT_REJECTED(verify(v.get(), token, o), UJWT_REASON_PATH_MISMATCH);
  o.path = "/v1/Orders";
  EXPECT_REJECTED(verify(v.get(), token, o), UJWT_REASON_PATH_MISMATCH);
}

TEST_F(Binding, QueryMismatch) {
  OptionsSpec o = good;
  o.query = "id=8&x=%20";
  EXPECT_REJECTED(verify(v.get(), token, o), UJWT_REASON_QUERY_MISMATCH);
  o.query = "x=%20&id=7";  // reordering is a different query
  EXPECT_REJECTED(verify(v.get(), token, o), UJWT_REASON_QUERY_MISMATCH);
  o.query = "";
  EXPECT_REJECTED(verify(v.get(), token, o), UJWT_REASON_QUERY_MISMATCH);
}

TEST_F(Binding, BodyMismatch) {
  OptionsSpec o = good;
  o.body_sha256 = sha256_b64("{\"amount\":1000}");
  EXPECT_REJECTED(verify(v.get(), token, o), UJWT_REASON_BODY_MISMATCH);
  o.body_sha256 = sha256_b64("");
  EXPECT_REJECTED(verify(v.get(), token, o), UJWT_REASON_BODY_MISMATCH);
}

TEST_F(HsVerify, EmptyQueryIsBoundAsTheHashOfNothing) {
  ClaimsSpec c;
  c.query = "";
  std::string token = sign_ok(s.get(), c);
  std::string claims = b64url_decode(split_token(token)[1]);
  EXPECT_NE(claims.find("\"query_sha256\":\"47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU\""),
            std::string::npos)
      << claims;
  OptionsSpec o;
  o.query = "";
  EXPECT_VALID(verify(v.get(), token, o));
  o.query = "a";
  EXPECT_REJECTED(verify(v.get(), token, o), UJWT_REASON_QUERY_MISMATCH);
}

// ---- replay ----------------------------------------------------------------

TEST_F(HsVerify, Replayed) {
  ujwt_replay_cache *cache = nullptr;
  ASSERT_EQ(ujwt_replay_cache_new(128, &cache, nullptr), UJWT_OK);
  CachePtr owner(cache);
  OptionsSpec o;
  o.replay_cache = cache;
  std::string a = sign_ok(s.get()), b = sign_ok(s.get());
  EXPECT_VALID(verify(v.get(), a, o));
  EXPECT_REJECTED(verify(v.get(), a, o), UJWT_REASON_REPLAYED);
  EXPECT_VALID(verify(v.get(), b, o));
  EXPECT_REJECTED(verify(v.get(), b, o), UJWT_REASON_REPLAYED);
  // Without the cache the same token is still (statelessly) valid.
  EXPECT_VALID(verify(v.get(), a));
}

TEST_F(HsVerify, ReplayCacheIsCheckedLastSoInvalidTokensBurnNothing) {
  ujwt_replay_cache *cache = nullptr;
  ASSERT_EQ(ujwt_replay_cache_new(128, &cache, nullptr), UJWT_OK);
  CachePtr owner(cache);
  ClaimsSpec c;
  c.aud = "orders";
  std::string token = sign_ok(s.get(), c);
  OptionsSpec wrong;
  wrong.replay_cache = cache;
  wrong.audience = "billing";
  EXPECT_REJECTED(verify(v.get(), token, wrong), UJWT_REASON_BAD_AUDIENCE);
  OptionsSpec right = wrong;
  right.audience = "orders";
  EXPECT_VALID(verify(v.get(), token, right));
  EXPECT_REJECTED(verify(v.get(), token, right), UJWT_REASON_REPLAYED);
}

TEST_F(HsVerify, FullCacheRefusesUntilAnEntryExpiresAndNeverForgetsALiveJti) {
  ujwt_replay_cache *cache = nullptr;
  ASSERT_EQ(ujwt_replay_cache_new(1, &cache, nullptr), UJWT_OK);
  CachePtr owner(cache);
  OptionsSpec o;
  o.replay_cache = cache;
  std::string a = sign_ok(s.get());  // exp kNow + 60
  EXPECT_VALID(verify(v.get(), a, o));
  ClaimsSpec later;
  later.now = kNow + 10;
  std::string b = sign_ok(s.get(), later);
  o.now = kNow + 20;
  // Full of a live entry: b is refused and a stays remembered.
  EXPECT_REJECTED(verify(v.get(), b, o), UJWT_REASON_REPLAY_CACHE_FULL);
  EXPECT_REJECTED(verify(v.get(), a, o), UJWT_REASON_REPLAYED);
  // a's entry lives to exactly its exp (+ leeway 0): one second before, b
  // is still refused; at exp, a is expired and its entry makes room.
  o.now = kNow + 59;
  EXPECT_REJECTED(verify(v.get(), b, o), UJWT_REASON_REPLAY_CACHE_FULL);
  o.now = kNow + 60;
  EXPECT_VALID(verify(v.get(), b, o));
  EXPECT_REJECTED(verify(v.get(), b, o), UJWT_REASON_REPLAYED);
}

TEST_F(HsVerify, ReplayEntryLivesUntilExpPlusLeeway) {
  ujwt_replay_cache *cache = nullptr;
  ASSERT_EQ(ujwt_replay_cache_new(1, &cache, nullptr), UJWT_OK);
  CachePtr owner(cache);
  OptionsSpec o;
  o.replay_cache = cache;
  o.leeway = 5;
  std::string a = sign_ok(s.get());  // exp kNow + 60: accepted until now < exp + 5
  EXPECT_VALID(verify(v.get(), a, o));
  ClaimsSpec later;
  later.now = kNow + 30;
  std::string b = sign_ok(s.get(), later);
  o.now = kNow + 64;  // a is still acceptable (64 < 65): its jti must be kept
  EXPECT_REJECTED(verify(v.get(), a, o), UJWT_REASON_REPLAYED);
  EXPECT_REJECTED(verify(v.get(), b, o), UJWT_REASON_REPLAY_CACHE_FULL);
  o.now = kNow + 65;
  EXPECT_REJECTED(verify(v.get(), a, o), UJWT_REASON_EXPIRED);
  EXPECT_VALID(verify(v.get(), b, o));
}

// ---- kid rotation ----------------------------------------------------------

TEST(Rotation, TwoKeysSelectedByKid) {
  VerifierPtr v = make_verifier();
  ASSERT_EQ(add_key(v.get(), "ES256", read_key("ec256.pub.pem"), std::string("2024-01")), UJWT_OK);
  ASSERT_EQ(add_key(v.get(), "ES256", read_key("ec256_b.pub.pem"), std::string("2024-02")), UJWT_OK);
  SignerPtr old_s = make_signer("ES256", read_key("ec256.pem"), std::string("2024-01"));
  SignerPtr new_s = make_signer("ES256", read_key("ec256_b.pem"), std::string("2024-02"));
  EXPECT_VALID(verify(v.get(), sign_ok(old_s.get())));
  EXPECT_VALID(verify(v.get(), sign_ok(new_s.get())));
  // The right key under the wrong kid: the kid pins the key.
  SignerPtr mislabeled = make_signer("ES256", read_key("ec256.pem"), std::string("2024-02"));
  EXPECT_REJECTED(verify(v.get(), sign_ok(mislabeled.get())), UJWT_REASON_BAD_SIGNATURE);
  SignerPtr unknown = make_signer("ES256", read_key("ec256.pem"), std::string("2023-12"));
  EXPECT_REJECTED(verify(v.get(), sign_ok(unknown.get())), UJWT_REASON_UNKNOWN_KID);
  // No kid: every ES256 key is tried.
  SignerPtr plain = make_signer("ES256", read_key("ec256_b.pem"));
  EXPECT_VALID(verify(v.get(), sign_ok(plain.get())));
}

TEST(Rotation, MixedAlgorithmsAndDuplicateKid) {
  VerifierPtr v = make_verifier();
  ASSERT_EQ(add_key(v.get(), "HS256", kSecret, std::string("hs")), UJWT_OK);
  ASSERT_EQ(add_key(v.get(), "EdDSA", read_key("ed25519.pub.pem"), std::string("ed")), UJWT_OK);
  EXPECT_EQ(add_key(v.get(), "RS256", read_key("rsa2048.pub.pem"), std::string("ed")),
            UJWT_ERR_INVALID_ARGUMENT);
  SignerPtr hs = make_signer("HS256", kSecret, std::string("hs"));
  SignerPtr ed = make_signer("EdDSA", read_key("ed25519.pem"), std::string("ed"));
  EXPECT_VALID(verify(v.get(), sign_ok(hs.get())));
  EXPECT_VALID(verify(v.get(), sign_ok(ed.get())));
  // An HS256 token claiming the EdDSA key's kid must not reach HMAC with it.
  SignerPtr evil = make_signer("HS256", read_key("ed25519.pub.pem"), std::string("ed"));
  Outcome r = verify(v.get(), sign_ok(evil.get()));
  EXPECT_EQ(r.rc, UJWT_ERR_TOKEN_INVALID) << describe(r);
}

TEST(Rotation, VerifierKeyErrors) {
  VerifierPtr v = make_verifier();
  EXPECT_EQ(add_key(v.get(), "HS256", hs_secret(16)), UJWT_ERR_KEY);
  EXPECT_EQ(add_key(v.get(), "ES256", read_key("rsa2048.pub.pem")), UJWT_ERR_KEY);
  EXPECT_EQ(add_key(v.get(), "RS256", "not a pem"), UJWT_ERR_KEY);
  EXPECT_EQ(add_key(v.get(), "XX256", kSecret), UJWT_ERR_ALGORITHM);
}

// ---- byte-level tampering of the decoded segments --------------------------

TEST_F(HsVerify, FlippingAnyDecodedByteOfHeaderOrClaimsIsRejected) {
  ClaimsSpec c;
  c.aud = "orders";
  c.htm = "GET";
  std::string token = sign_ok(s.get(), c);
  std::vector<std::string> p = split_token(token);
  for (int seg = 0; seg < 3; ++seg) {
    std::string bytes = b64url_decode(p[seg]);
    for (size_t i = 0; i < bytes.size(); ++i) {
      for (uint8_t bit : {uint8_t(0x01), uint8_t(0x20), uint8_t(0x80)}) {
        std::string t = bytes;
        t[i] = char(uint8_t(t[i]) ^ bit);
        std::vector<std::string> q = p;
        q[seg] = b64url_encode(t);
        Outcome r = verify(v.get(), q[0] + "." + q[1] + "." + q[2]);
        ASSERT_EQ(r.rc, UJWT_ERR_TOKEN_INVALID)
            << "segment " << seg << " byte " << i << " bit " << int(bit);
      }
    }
  }
}

TEST_F(HsVerify, DefaultMaximumLengthIsInclusive) {
  // Pad the claims so the whole token is exactly 8192 characters.
  std::string token;
  for (size_t n = 6000; n < 6300; ++n) {
    token = forged(kHdr, R"({"exp":1700000060,"p":")" + std::string(n, 'x') + "\"}");
    if (token.size() == 8192) break;
  }
  ASSERT_EQ(token.size(), 8192u);
  EXPECT_VALID(verify(v.get(), token));
  OptionsSpec bigger;
  bigger.max_token_length = 20000;
  std::string longer = forged(kHdr, R"({"exp":1700000060,"p":")" + std::string(9000, 'x') + "\"}");
  EXPECT_VALID(verify(v.get(), longer, bigger));
}

TEST_F(HsVerify, ZeroNowMeansTheClockOnBothSides) {
  ClaimsSpec c;
  c.now = 0;
  OptionsSpec o;
  o.now = 0;
  EXPECT_VALID(verify(v.get(), sign_ok(s.get(), c), o));
  // A token from the fixed 2023 test time is long expired by the clock.
  EXPECT_REJECTED(verify(v.get(), sign_ok(s.get()), o), UJWT_REASON_EXPIRED);
}

TEST_F(HsVerify, NullOptionsMeanDefaults) {
  ClaimsSpec c;
  c.now = 0;
  std::string token = sign_ok(s.get(), c);
  size_t len = 0;
  ujwt_error err{};
  EXPECT_EQ(ujwt_verify(v.get(), token.data(), token.size(), nullptr, nullptr, 0, &len, &err),
            UJWT_OK)
      << err.message;
}

// ---- sharing handles between threads (the header promises it) ------------

class Threads : public ::testing::TestWithParam<AlgCase> {};

TEST_P(Threads, SharedSignerVerifierAndCacheAcceptEachTokenOnce) {
  const AlgCase &p = GetParam();
  const std::string sk = *p.sign_key ? read_key(p.sign_key) : hs_secret(p.secret_len);
  const std::string vk = *p.verify_key ? read_key(p.verify_key) : hs_secret(p.secret_len);
  SignerPtr s = make_signer(p.alg, sk);
  VerifierPtr v = verifier_with(p.alg, vk);
  ujwt_replay_cache *cache = nullptr;
  ASSERT_EQ(ujwt_replay_cache_new(4096, &cache, nullptr), UJWT_OK);
  CachePtr owner(cache);
  constexpr int kThreads = 4, kTokens = 64;
  std::vector<std::string> tokens(kTokens);
  std::vector<std::thread> pool;
  // Sign concurrently.
  for (int t = 0; t < kThreads; ++t) {
    pool.emplace_back([&, t] {
      for (int i = t; i < kTokens; i += kThreads) tokens[i] = sign(s.get(), ClaimsSpec()).out;
    });
  }
  for (auto &th : pool) th.join();
  pool.clear();
  std::set<std::string> distinct(tokens.begin(), tokens.end());
  EXPECT_EQ(distinct.size(), size_t(kTokens));
  // Every thread verifies every token; the cache must let exactly one
  // verification of each token through.
  std::vector<std::atomic<int>> accepted(kTokens);
  std::atomic<int> other_failures{0};
  for (int t = 0; t < kThreads; ++t) {
    pool.emplace_back([&] {
      OptionsSpec o;
      o.replay_cache = cache;
      for (int i = 0; i < kTokens; ++i) {
        Outcome r = verify(v.get(), tokens[i], o);
        if (r.rc == UJWT_OK) {
          accepted[i]++;
        } else if (r.reason != UJWT_REASON_REPLAYED) {
          other_failures++;
        }
      }
    });
  }
  for (auto &th : pool) th.join();
  EXPECT_EQ(other_failures.load(), 0);
  for (int i = 0; i < kTokens; ++i) EXPECT_EQ(accepted[i].load(), 1) << "token " << i;
}

INSTANTIATE_TEST_SUITE_P(
    PooledAndCopiedContexts, Threads,
    ::testing::Values(AlgCase{"HS256", "", "", 32},
                      AlgCase{"ES256", "ec256.pem", "ec256.pub.pem", 0},
                      AlgCase{"EdDSA", "ed25519.pem", "ed25519.pub.pem", 0},
                      AlgCase{"PS256", "rsa2048.pem", "rsa2048.pub.pem", 0}),
    [](const auto &info) { return std::string(info.param.alg); });

// ---- coverage guard: every reason of the enum has a token that produces it

TEST(Reasons, EveryReasonInTheEnumIsProducedBySomeToken) {
  // If a reason is added to upstream_jwt.h, this fails until a case for it
  // (and a dedicated test above) exists.
  VerifierPtr v = make_verifier();
  ASSERT_EQ(add_key(v.get(), "HS256", kSecret, std::string("hs")), UJWT_OK);
  ASSERT_EQ(add_key(v.get(), "RS256", read_key("rsa2048.pub.pem"), std::string("rs")), UJWT_OK);
  VerifierPtr rs_only = verifier_with("RS256", read_key("rsa2048.pub.pem"));
  SignerPtr s = make_signer("HS256", kSecret, std::string("hs"));
  ujwt_replay_cache *cache = nullptr;
  ASSERT_EQ(ujwt_replay_cache_new(8, &cache, nullptr), UJWT_OK);
  CachePtr owner(cache);

  ClaimsSpec bound;
  bound.aud = "orders";
  bound.htm = "GET";
  bound.htu = "/a";
  bound.query = "q=1";
  bound.body_sha256 = sha256_b64("b");
  bound.hdr_names = "content-type";
  bound.hdr_sha256 = sha256_b64("content-type:text/plain\n");
  const std::string good = sign_ok(s.get(), bound);
  const std::string hs_kid = R"({"alg":"HS256","kid":"hs"})";
  const std::string c = claims_at(kNow, kNow, kNow + 60);
  ClaimsSpec long_lived;
  long_lived.ttl = 7200;
  ClaimsSpec other_iss;
  other_iss.iss = "elsewhere";

  struct Case {
    int reason;
    const ujwt_verifier *v;
    std::string token;
    OptionsSpec opts;
  };
  auto with = [](auto f) {
    OptionsSpec o;
    f(o);
    return o;
  };
  std::vector<Case> cases = {
      {UJWT_REASON_TOKEN_TOO_LONG, v.get(), good, with([](OptionsSpec &o) { o.max_token_length = 10; })},
      {UJWT_REASON_MALFORMED, v.get(), "a.b", {}},
      {UJWT_REASON_BAD_BASE64, v.get(), good + "=", {}},
      {UJWT_REASON_BAD_HEADER, v.get(), forged("[]", c), {}},
      {UJWT_REASON_BAD_CLAIMS, v.get(), forged(hs_kid, "[]"), {}},
      {UJWT_REASON_ALG_NONE, v.get(), forged(R"({"alg":"none"})", c), {}},
      {UJWT_REASON_ALG_NOT_ALLOWED, v.get(), forged(R"({"alg":"HS512"})", c), {}},
      {UJWT_REASON_KEY_CONFUSION, rs_only.get(), forged(kHdr, c), {}},
      {UJWT_REASON_UNKNOWN_KID, v.get(), forged(R"({"alg":"HS256","kid":"zz"})", c), {}},
      {UJWT_REASON_CRIT_UNSUPPORTED, v.get(), forged(R"({"alg":"HS256","kid":"hs","crit":["x"],"x":1})", c), {}},
      {UJWT_REASON_BAD_SIGNATURE, v.get(), forge_hs(hs_kid, c, hs_secret(32, 'z')), {}},
      {UJWT_REASON_MISSING_CLAIM, v.get(), forged(hs_kid, "{}"), {}},
      {UJWT_REASON_EXPIRED, v.get(), good, with([](OptionsSpec &o) { o.now = kNow + 600; })},
      {UJWT_REASON_NOT_YET_VALID, v.get(), good, with([](OptionsSpec &o) { o.now = kNow - 600; })},
      {UJWT_REASON_ISSUED_IN_FUTURE, v.get(),
       forged(hs_kid, R"({"iat":1700000600,"exp":1700000660})"), {}},
      {UJWT_REASON_LIFETIME_TOO_LONG, v.get(), sign_ok(s.get(), long_lived), {}},
      {UJWT_REASON_BAD_ISSUER, v.get(), sign_ok(s.get(), other_iss),
       with([](OptionsSpec &o) { o.issuer = "kong"; })},
      {UJWT_REASON_BAD_AUDIENCE, v.get(), good, with([](OptionsSpec &o) { o.audience = "x"; })},
      {UJWT_REASON_METHOD_MISMATCH, v.get(), good, with([](OptionsSpec &o) { o.method = "PUT"; })},
      {UJWT_REASON_PATH_MISMATCH, v.get(), good, with([](OptionsSpec &o) { o.path = "/b"; })},
      {UJWT_REASON_QUERY_MISMATCH, v.get(), good, with([](OptionsSpec &o) { o.query = "q=2"; })},
      {UJWT_REASON_BODY_MISMATCH, v.get(), good,
       with([](OptionsSpec &o) { o.body_sha256 = sha256_b64("c"); })},
      {UJWT_REASON_HEADER_MISMATCH, v.get(), good,
       with([](OptionsSpec &o) { o.headers = {{{"Content-Type", "text/html"}}}; })},
  };
  std::set<int> seen;
  for (const Case &k : cases) {
    Outcome r = verify(k.v, k.token, k.opts);
    EXPECT_REJECTED(r, k.reason);
    seen.insert(r.reason);
  }
  OptionsSpec replay;
  replay.replay_cache = cache;
  EXPECT_VALID(verify(v.get(), good, replay));
  Outcome again = verify(v.get(), good, replay);
  EXPECT_REJECTED(again, UJWT_REASON_REPLAYED);
  seen.insert(again.reason);
  ujwt_replay_cache *tiny = nullptr;
  ASSERT_EQ(ujwt_replay_cache_new(1, &tiny, nullptr), UJWT_OK);
  CachePtr tiny_owner(tiny);
  replay.replay_cache = tiny;
  EXPECT_VALID(verify(v.get(), sign_ok(s.get()), replay));
  Outcome full = verify(v.get(), sign_ok(s.get()), replay);
  EXPECT_REJECTED(full, UJWT_REASON_REPLAY_CACHE_FULL);
  seen.insert(full.reason);
  for (int reason = 1; reason < UJWT_REASON_COUNT_; ++reason) {
    EXPECT_TRUE(seen.count(reason)) << "no case produces " << ujwt_reason_name(reason);
  }
}

// ---- error messages never carry key material -------------------------------

TEST(Keys, ErrorMessagesNeverQuoteKeyMaterial) {
  const std::string marker = "U0VDUkVUU0VDUkVUU0VDUkVU";  // base64 of "SECRETSECRETSECRET"
  const std::string bad_pem =
      "-----BEGIN PRIVATE KEY-----\n" + marker + "\n-----END PRIVATE KEY-----\n";
  const std::string short_secret = "SECRET-" + marker.substr(0, 10);
  std::vector<std::string> messages;
  messages.push_back(signer_new_status("RS256", bad_pem).message);
  messages.push_back(signer_new_status("HS256", short_secret).message);
  VerifierPtr v = make_verifier();
  std::string msg;
  EXPECT_NE(add_key(v.get(), "ES256", bad_pem, std::nullopt, &msg), UJWT_OK);
  messages.push_back(msg);
  EXPECT_NE(add_key(v.get(), "HS512", short_secret, std::nullopt, &msg), UJWT_OK);
  messages.push_back(msg);
  std::string jwk = R"({"kty":"oct","alg":"HS256","k":")" + marker + "\"}";
  ujwt_error err{};
  EXPECT_NE(ujwt_verifier_add_jwk(v.get(), jwk.data(), jwk.size(), nullptr, 0, &err), UJWT_OK);
  messages.push_back(err.message);
  char out[256];
  size_t len = 0;
  EXPECT_NE(ujwt_jwks_from_pem(u8(bad_pem), bad_pem.size(), nullptr, 0, nullptr, 0, out,
                               sizeof out, &len, &err),
            UJWT_OK);
  messages.push_back(err.message);
  for (const std::string &m : messages) {
    EXPECT_FALSE(m.empty());
    EXPECT_EQ(m.find(marker.substr(0, 8)), std::string::npos) << m;
    EXPECT_EQ(m.find("SECRET"), std::string::npos) << m;
  }
}

TEST(Rotation, KeyWithoutKidAcceptsTokensWithAnyKid) {
  // A service that pins one key (no kid) must accept the gateway's tokens
  // even when the gateway labels them with a key_id; a key that *has* a kid
  // still only matches that kid. (The core documents this in verifier.hpp;
  // the CLI's single `--key` relies on it.)
  VerifierPtr plain = verifier_with("HS256", kSecret);
  SignerPtr labeled = make_signer("HS256", kSecret, std::string("gw-2024"));
  EXPECT_VALID(verify(plain.get(), sign_ok(labeled.get())));

  VerifierPtr mixed = make_verifier();
  ASSERT_EQ(add_key(mixed.get(), "ES256", read_key("ec256.pub.pem"), std::string("a")), UJWT_OK);
  ASSERT_EQ(add_key(mixed.get(), "ES256", read_key("ec256_b.pub.pem")), UJWT_OK);
  SignerPtr b_as_z = make_signer("ES256", read_key("ec256_b.pem"), std::string("z"));
  EXPECT_VALID(verify(mixed.get(), sign_ok(b_as_z.get())));
  SignerPtr a_as_z = make_signer("ES256", read_key("ec256.pem"), std::string("z"));
  EXPECT_REJECTED(verify(mixed.get(), sign_ok(a_as_z.get())), UJWT_REASON_BAD_SIGNATURE);
  // The kid "a" pins key a even though the kid-less key b is also ES256.
  SignerPtr b_as_a = make_signer("ES256", read_key("ec256_b.pem"), std::string("a"));
  EXPECT_REJECTED(verify(mixed.get(), sign_ok(b_as_a.get())), UJWT_REASON_BAD_SIGNATURE);
}
