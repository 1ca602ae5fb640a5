// boundary_test.cpp — every comparison of the verifier at its exact edge,
// through the C ABI: flipping any of them (< for <=, == for !=, && for ||)
// must fail a test here (test/mutation/verifier_mutants.py checks that).
// Tokens are MACed by the test's own oracle so each case pins one claim.
#include <gtest/gtest.h>

#include <string>

#include "abi_util.hpp"

using namespace ujwt_test;

namespace {

const std::string kSecret = hs_secret(32);
const std::string kHdr = R"({"alg":"HS256","typ":"JWT"})";

std::string token(const std::string &claims) { return forge_hs(kHdr, claims, kSecret); }

Outcome at(const ujwt_verifier *v, const std::string &t, int64_t now, int64_t leeway = 0,
           int64_t max_lifetime = 0) {
  OptionsSpec o;
  o.now = now;
  o.leeway = leeway;
  o.max_lifetime = max_lifetime;
  return verify(v, t, o);
}

class Edge : public ::testing::Test {
 protected:
  VerifierPtr v = verifier_with("HS256", kSecret);
};

}  // namespace

// ---- exp: valid while now < exp + leeway -----------------------------------------

TEST_F(Edge, ExpiresAtExactlyExp) {
  const std::string t = token(R"({"exp":1700000060})");
  EXPECT_VALID(at(v.get(), t, kNow + 59));
  EXPECT_REJECTED(at(v.get(), t, kNow + 60), UJWT_REASON_EXPIRED);
}

TEST_F(Edge, ExpiresAtExactlyExpPlusLeeway) {
  const std::string t = token(R"({"exp":1700000060})");
  EXPECT_VALID(at(v.get(), t, kNow + 64, 5));
  EXPECT_REJECTED(at(v.get(), t, kNow + 65, 5), UJWT_REASON_EXPIRED);
}

TEST_F(Edge, FractionalExpIsComparedExactly) {
  const std::string t = token(R"({"exp":1700000060.5})");
  EXPECT_VALID(at(v.get(), t, kNow + 60));
  Outcome r = at(v.get(), t, kNow + 61);
  EXPECT_REJECTED(r, UJWT_REASON_EXPIRED);
  EXPECT_EQ(r.message, "token expired at 1700000060.5, now 1700000061 (leeway 0)");
  EXPECT_EQ(at(v.get(), token(R"({"exp":1700000060})"), kNow + 61).message,
            "token expired at 1700000060, now 1700000061 (leeway 0)");
}

// ---- nbf: valid once now >= nbf - leeway --------------------------------------------

TEST_F(Edge, NotBeforeAtExactlyNbfMinusLeeway) {
  const std::string t = token(R"({"nbf":1700000030,"exp":1700000090})");
  EXPECT_VALID(at(v.get(), t, kNow + 30));
  EXPECT_REJECTED(at(v.get(), t, kNow + 29), UJWT_REASON_NOT_YET_VALID);
  EXPECT_VALID(at(v.get(), t, kNow + 20, 10));
  EXPECT_REJECTED(at(v.get(), t, kNow + 19, 10), UJWT_REASON_NOT_YET_VALID);
}

// ---- iat: not after now + leeway -------------------------------------------------------

TEST_F(Edge, IssuedAtTheLeewayEdge) {
  const std::string t = token(R"({"iat":1700000030,"exp":1700000090})");
  EXPECT_VALID(at(v.get(), t, kNow + 30));
  EXPECT_REJECTED(at(v.get(), t, kNow + 29), UJWT_REASON_ISSUED_IN_FUTURE);
  EXPECT_VALID(at(v.get(), t, kNow + 20, 10));
  EXPECT_REJECTED(at(v.get(), t, kNow + 19, 10), UJWT_REASON_ISSUED_IN_FUTURE);
}

// ---- lifetime: exp - iat (or exp - now) <= max -----------------------------------------

TEST_F(Edge, LifetimeExactlyMaxAndOneMore) {
  EXPECT_VALID(at(v.get(), token(R"({"iat":1700000000,"exp":1700003600})"), kNow, 0, 3600));
  EXPECT_REJECTED(at(v.get(), token(R"({"iat":1700000000,"exp":1700003601})"), kNow, 0, 3600),
                  UJWT_REASON_LIFETIME_TOO_LONG);
  // Without iat, from now.
  EXPECT_VALID(at(v.get(), token(R"({"exp":1700003600})"), kNow, 0, 3600));
  EXPECT_REJECTED(at(v.get(), token(R"({"exp":1700003601})"), kNow, 0, 3600),
                  UJWT_REASON_LIFETIME_TOO_LONG);
  // max_lifetime 0 (and below) is unlimited; 1 is a real limit.
  EXPECT_VALID(at(v.get(), token(R"({"iat":1700000000,"exp":1700003601})"), kNow, 0, 0));
  EXPECT_VALID(at(v.get(), token(R"({"iat":1700000000,"exp":1700000001})"), kNow, 0, 1));
  EXPECT_REJECTED(at(v.get(), token(R"({"iat":1700000000,"exp":1700000002})"), kNow, 0, 1),
                  UJWT_REASON_LIFETIME_TOO_LONG);
}

// ---- length: at most max_token_length bytes ---------------------------------------------

TEST_F(Edge, TokenOfExactlyTheMaximumLength) {
  const std::string t = token(R"({"exp":1700000060})");
  OptionsSpec o;
  o.max_token_length = t.size();
  EXPECT_VALID(verify(v.get(), t, o));
  o.max_token_length = t.size() - 1;
  EXPECT_REJECTED(verify(v.get(), t, o), UJWT_REASON_TOKEN_TOO_LONG);
}

// ---- argument edges --------------------------------------------------------------------

TEST_F(Edge, ZeroLeewayAndZeroNowAreValidNegativeAreNot) {
  ClaimsSpec c;
  c.now = 0;  // the clock, on both sides
  const std::string t = sign_ok(make_signer("HS256", kSecret).get(), c);
  OptionsSpec o;
  o.now = 0;
  o.leeway = 0;
  EXPECT_VALID(verify(v.get(), t, o));
  o.leeway = -1;
  EXPECT_EQ(verify(v.get(), t, o).rc, UJWT_ERR_INVALID_ARGUMENT);
  o.leeway = 0;
  o.now = -1;
  EXPECT_EQ(verify(v.get(), t, o).rc, UJWT_ERR_INVALID_ARGUMENT);
}

// ---- alg "none" in any case ----------------------------------------------------------

TEST_F(Edge, AlgNoneInAnyCase) {
  for (const char *alg : {"none", "NONE", "None", "nOnE"}) {
    std::string t = forge_hs(std::string(R"({"alg":")") + alg + "\"}", R"({"exp":1700000060})", kSecret);
    EXPECT_REJECTED(verify(v.get(), t), UJWT_REASON_ALG_NONE);
  }
  // Not "none" once lowercased: a name that merely contains it.
  EXPECT_REJECTED(verify(v.get(), forge_hs(R"({"alg":"nonE1"})", R"({"exp":1700000060})", kSecret)),
                  UJWT_REASON_ALG_NOT_ALLOWED);
}

// ---- key selection --------------------------------------------------------------------

TEST(EdgeKeys, KidNamingAKeyOfAnotherAlgorithm) {
  VerifierPtr v = make_verifier();
  ASSERT_EQ(add_key(v.get(), "HS384", hs_secret(48), std::string("h384")), UJWT_OK);
  ASSERT_EQ(add_key(v.get(), "RS256", read_key("rsa2048.pub.pem"), std::string("rs")), UJWT_OK);
  ASSERT_EQ(add_key(v.get(), "HS256", kSecret), UJWT_OK);  // kid-less, same alg as the tokens
  const std::string c = R"({"exp":1700000060})";
  // The kid pins its key even though a kid-less HS256 key would verify.
  Outcome same_kind = verify(v.get(), forge_hs(R"({"alg":"HS256","kid":"h384"})", c, kSecret));
  EXPECT_REJECTED(same_kind, UJWT_REASON_ALG_NOT_ALLOWED);
  EXPECT_EQ(same_kind.message, R"(key "h384" is for HS384, not HS256)");
  Outcome other_kind = verify(v.get(), forge_hs(R"({"alg":"HS256","kid":"rs"})", c, kSecret));
  EXPECT_REJECTED(other_kind, UJWT_REASON_KEY_CONFUSION);
  SignerPtr rs = make_signer("RS256", read_key("rsa2048.pem"), std::string("h384"));
  EXPECT_REJECTED(verify(v.get(), sign_ok(rs.get())), UJWT_REASON_KEY_CONFUSION);
  // The right alg under that kid verifies.
  EXPECT_VALID(verify(v.get(), forge_hs(R"({"alg":"HS384","kid":"h384"})", c, hs_secret(48), EVP_sha384())));
}

TEST(EdgeKeys, UnknownKidWithKidlessKeysOfSeveralAlgorithms) {
  VerifierPtr v = make_verifier();
  ASSERT_EQ(add_key(v.get(), "HS256", kSecret), UJWT_OK);
  ASSERT_EQ(add_key(v.get(), "HS384", hs_secret(48)), UJWT_OK);
  ASSERT_EQ(add_key(v.get(), "ES256", read_key("ec256.pub.pem")), UJWT_OK);
  ASSERT_EQ(add_key(v.get(), "HS512", hs_secret(64), std::string("x")), UJWT_OK);
  const std::string c = R"({"exp":1700000060})";
  // Only the kid-less key of the token's own alg is tried.
  EXPECT_VALID(verify(v.get(), forge_hs(R"({"alg":"HS256","kid":"zz"})", c, kSecret)));
  EXPECT_VALID(verify(v.get(), forge_hs(R"({"alg":"HS384","kid":"zz"})", c, hs_secret(48), EVP_sha384())));
  Outcome r = verify(v.get(), forge_hs(R"({"alg":"HS512","kid":"zz"})", c, hs_secret(64), EVP_sha512()));
  EXPECT_REJECTED(r, UJWT_REASON_UNKNOWN_KID);
  EXPECT_EQ(r.message, R"(no key has kid "zz")");
  SignerPtr ps = make_signer("PS256", read_key("rsa2048.pem"), std::string("zz"));
  EXPECT_REJECTED(verify(v.get(), sign_ok(ps.get())), UJWT_REASON_UNKNOWN_KID);
  // An HS384-MACed token claiming HS256 meets only the HS256 key.
  EXPECT_REJECTED(verify(v.get(), forge_hs(R"({"alg":"HS256","kid":"zz"})", c, hs_secret(48))),
                  UJWT_REASON_BAD_SIGNATURE);
}

TEST(EdgeKeys, KidlessTokenTriesEveryKeyOfItsAlgAndOnlyThose) {
  VerifierPtr v = make_verifier();
  ASSERT_EQ(add_key(v.get(), "HS256", hs_secret(32, 'a'), std::string("a")), UJWT_OK);
  ASSERT_EQ(add_key(v.get(), "HS256", hs_secret(32, 'b')), UJWT_OK);
  ASSERT_EQ(add_key(v.get(), "HS384", hs_secret(48)), UJWT_OK);
  const std::string c = R"({"exp":1700000060})";
  EXPECT_VALID(verify(v.get(), forge_hs(kHdr, c, hs_secret(32, 'a'))));
  EXPECT_VALID(verify(v.get(), forge_hs(kHdr, c, hs_secret(32, 'b'))));
  Outcome r = verify(v.get(), forge_hs(kHdr, c, hs_secret(32, 'z')));
  EXPECT_REJECTED(r, UJWT_REASON_BAD_SIGNATURE);
  EXPECT_EQ(r.message, "signature does not verify with any of 2 HS256 keys");
  VerifierPtr one = verifier_with("HS256", kSecret);
  EXPECT_EQ(verify(one.get(), forge_hs(kHdr, c, hs_secret(32, 'z'))).message,
            "signature does not verify with the HS256 key");
  // Same kind (HMAC) but no HS512 key: not allowed rather than confusion.
  EXPECT_REJECTED(verify(v.get(), forge_hs(R"({"alg":"HS512"})", c, hs_secret(64))),
                  UJWT_REASON_ALG_NOT_ALLOWED);
  // Only asymmetric keys: an HMAC token is key confusion.
  VerifierPtr rs = verifier_with("RS256", read_key("rsa2048.pub.pem"));
  EXPECT_REJECTED(verify(rs.get(), forge_hs(kHdr, c, kSecret)), UJWT_REASON_KEY_CONFUSION);
  // No keys at all: nothing accepts the alg.
  VerifierPtr none = make_verifier();
  EXPECT_REJECTED(verify(none.get(), forge_hs(kHdr, c, kSecret)), UJWT_REASON_ALG_NOT_ALLOWED);
}

// ---- claim values quoted in messages ---------------------------------------------------

TEST(EdgeMessages, QuotedValuesAreBoundedOnCharacterBoundaries) {
  VerifierPtr v = verifier_with("HS256", kSecret);
  auto issuer_message = [&](const std::string &iss) {
    std::string t = forge_hs(kHdr, R"({"exp":1700000060,"iss":")" + iss + "\"}", kSecret);
    OptionsSpec o;
    o.issuer = "kong";
    Outcome r = verify(v.get(), t, o);
    EXPECT_REJECTED(r, UJWT_REASON_BAD_ISSUER);
    return r.message;
  };
  EXPECT_EQ(issuer_message(std::string(64, 'a')), "issuer \"" + std::string(64, 'a') + "\" is not \"kong\"");
  EXPECT_EQ(issuer_message(std::string(65, 'a')),
            "issuer \"" + std::string(64, 'a') + "\"... is not \"kong\"");
  // A 2-byte character straddling the 64-byte cut is left out whole.
  EXPECT_EQ(issuer_message(std::string(63, 'a') + "\xc3\xa9z"),
            "issuer \"" + std::string(63, 'a') + "\"... is not \"kong\"");
  EXPECT_EQ(issuer_message(std::string(62, 'a') + "\xc3\xa9z"),
            "issuer \"" + std::string(62, 'a') + "\xc3\xa9\"... is not \"kong\"");
}
