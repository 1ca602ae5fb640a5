// claims_test.cpp — the exact claims JSON our tokens carry (member order,
// escaping, UTF-8 validation, extra claims), through the C ABI.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <cstdlib>
#include <ctime>
#include <regex>
#include <set>
#include <string>

#include "abi_util.hpp"

using namespace ujwt_test;

namespace {

const std::string kSecret = hs_secret(32);

std::string claims_of(const std::string &token) {
  return b64url_decode(split_token(token).at(1));
}

// Replaces the random jti by a fixed marker after checking its shape:
// 128 random bits are 16 bytes, 22 base64url characters.
std::string without_jti(const std::string &claims, std::string *jti = nullptr) {
  static const std::regex re("\"jti\":\"([A-Za-z0-9_-]*)\"");
  std::smatch m;
  EXPECT_TRUE(std::regex_search(claims, m, re)) << claims;
  if (m.empty()) return claims;
  EXPECT_EQ(m[1].length(), 22) << claims;
  EXPECT_EQ(b64url_decode(m[1].str()).size(), 16u);
  if (jti) *jti = m[1].str();
  return m.prefix().str() + "\"jti\":\"JTI\"" + m.suffix().str();
}

class Claims : public ::testing::Test {
 protected:
  SignerPtr s = make_signer("HS256", kSecret);
};

}  // namespace

TEST_F(Claims, MinimalTokenHasRegisteredClaimsInOrder) {
  ClaimsSpec c;
  EXPECT_EQ(without_jti(claims_of(sign_ok(s.get(), c))),
            R"({"iss":"kong","iat":1700000000,"nbf":1700000000,"exp":1700000060,"jti":"JTI"})");
}

TEST_F(Claims, EveryClaimInDesignOrder) {
  ClaimsSpec c;
  c.aud = "orders";
  c.ttl = 30;
  c.sub = "c-1";
  c.consumer_id = "c-1";
  c.consumer_username = "alice";
  c.consumer_custom_id = "cust-9";
  c.credential_id = "cred-7";
  c.htm = "POST";
  c.htu = "/v1/orders";
  c.query = "a=1";
  c.body_sha256 = sha256_b64("body");
  c.extra_json = R"({"tier":"gold","n":3,"nested":{"z":[1,2],"a":null}})";
  std::string want = std::string(R"({"iss":"kong","aud":"orders","iat":1700000000,)") +
                     R"("nbf":1700000000,"exp":1700000030,"jti":"JTI","sub":"c-1",)" +
                     R"("consumer":{"id":"c-1","username":"alice","custom_id":"cust-9"},)" +
                     R"("credential":{"id":"cred-7"},"htm":"POST","htu":"/v1/orders",)" +
                     R"("query_sha256":")" + sha256_b64("a=1") + R"(",)" +
                     R"("body_sha256":")" + sha256_b64("body") + R"(",)" +
                     R"("tier":"gold","n":3,"nested":{"z":[1,2],"a":null}})";
  EXPECT_EQ(without_jti(claims_of(sign_ok(s.get(), c))), want);
}

TEST_F(Claims, ConsumerHasOnlyPresentMembers) {
  ClaimsSpec c;
  c.consumer_username = "bob";
  std::string claims = without_jti(claims_of(sign_ok(s.get(), c)));
  EXPECT_NE(claims.find(R"("consumer":{"username":"bob"})"), std::string::npos)
      << claims;
  c.consumer_username.reset();
  c.consumer_custom_id = "";
  claims = without_jti(claims_of(sign_ok(s.get(), c)));
  EXPECT_NE(claims.find(R"("consumer":{"custom_id":""})"), std::string::npos)
      << claims;
}

TEST_F(Claims, PresentButEmptyStringsAreEmitted) {
  ClaimsSpec c;
  c.aud = "";
  c.htu = "";
  std::string claims = claims_of(sign_ok(s.get(), c));
  EXPECT_NE(claims.find(R"("aud":"")"), std::string::npos) << claims;
  EXPECT_NE(claims.find(R"("htu":"")"), std::string::npos) << claims;
  EXPECT_EQ(claims.find("htm"), std::string::npos) << claims;
}

TEST_F(Claims, JtiIsFreshEveryTime) {
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    std::string jti;
    without_jti(claims_of(sign_ok(s.get())), &jti);
    EXPECT_TRUE(seen.insert(jti).second) << "repeated jti " << jti;
  }
}

TEST_F(Claims, HostileUsernameIsEscaped) {
  // Quotes, backslash, CR/LF, control characters and non-ASCII: a username
  // is attacker-influenced and must never break out of its JSON string.
  const std::string name = "a\"b\\c\r\nd\te\x01\x1f f/\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80";
  ClaimsSpec c;
  c.consumer_username = name;
  c.sub = "\",\"admin\":true,\"x\":\"";
  std::string claims = claims_of(sign_ok(s.get(), c));
  for (char ch : claims) {
    EXPECT_GE(static_cast<unsigned char>(ch), 0x20) << "raw control char in " << claims;
  }
  // Short escapes (\r) and \u000d are both RFC 8259; the parse below is
  // what must agree.
  EXPECT_NE(claims.find(R"(a\"b\\c)"), std::string::npos) << claims;
  EXPECT_NE(claims.find(R"(\u0001)"), std::string::npos) << claims;
  EXPECT_NE(claims.find(R"(\u001f)"), std::string::npos) << claims;
  nlohmann::json j = nlohmann::json::parse(claims);
  EXPECT_EQ(j["consumer"]["username"].get<std::string>(), name);
  EXPECT_EQ(j["sub"].get<std::string>(), "\",\"admin\":true,\"x\":\"");
  EXPECT_FALSE(j.contains("admin"));
  // And it round-trips through our verifier byte for byte.
  VerifierPtr v = verifier_with("HS256", kSecret);
  Outcome r = verify(v.get(), sign_ok(s.get(), c));
  EXPECT_VALID(r);
  EXPECT_EQ(nlohmann::json::parse(r.out)["consumer"]["username"], name);
}

TEST_F(Claims, InvalidUtf8IsAClaimsError) {
  const char *bad[] = {
      "\xff",              // never valid
      "abc\xc3",           // truncated sequence
      "\xc0\xaf",          // overlong '/'
      "\xed\xa0\x80",      // UTF-16 surrogate
      "\xf4\x90\x80\x80",  // above U+10FFFF
      "\x80",              // lone continuation byte
  };
  for (const char *b : bad) {
    for (int field = 0; field < 5; ++field) {
      ClaimsSpec c;
      std::string value = std::string("x") + b;
      if (field == 0) c.consumer_username = value;
      if (field == 1) c.iss = value;
      if (field == 2) c.sub = value;
      if (field == 3) c.htu = value;
      if (field == 4) c.aud = value;
      Outcome o = sign(s.get(), c);
      EXPECT_EQ(o.rc, UJWT_ERR_CLAIMS) << "field " << field << ": " << describe(o);
    }
  }
}

TEST_F(Claims, ExtraClaimsCannotOverrideRegisteredOnes) {
  for (const char *name :
       {"iss", "aud", "iat", "nbf", "exp", "jti", "sub", "consumer", "credential",
        "htm", "htu", "query_sha256", "body_sha256"}) {
    ClaimsSpec c;
    c.extra_json = std::string("{\"ok\":1,\"") + name + "\":\"evil\"}";
    Outcome o = sign(s.get(), c);
    EXPECT_EQ(o.rc, UJWT_ERR_CLAIMS) << name << ": " << describe(o);
  }
}

TEST_F(Claims, ExtraClaimsMustBeOneValidObject) {
  for (const char *json : {"[]", "1", "\"x\"", "null", "{", "{\"a\":1}x",
                           "{\"a\":1,\"a\":2}", "{\"a\":\"\xff\"}"}) {
    ClaimsSpec c;
    c.extra_json = json;
    Outcome o = sign(s.get(), c);
    EXPECT_EQ(o.rc, UJWT_ERR_CLAIMS) << json << ": " << describe(o);
  }
  ClaimsSpec empty;
  empty.extra_json = "{}";
  EXPECT_EQ(without_jti(claims_of(sign_ok(s.get(), empty))),
            R"({"iss":"kong","iat":1700000000,"nbf":1700000000,"exp":1700000060,"jti":"JTI"})");
  ClaimsSpec spaced;
  spaced.extra_json = " { \"role\" : \"reader\" } ";
  std::string claims = claims_of(sign_ok(s.get(), spaced));
  EXPECT_EQ(nlohmann::json::parse(claims)["role"], "reader");
}

TEST_F(Claims, TtlBounds) {
  for (int64_t ttl : {int64_t(0), int64_t(-1), int64_t(86401)}) {
    ClaimsSpec c;
    c.ttl = ttl;
    EXPECT_EQ(sign(s.get(), c).rc, UJWT_ERR_INVALID_ARGUMENT) << ttl;
  }
  ClaimsSpec c;
  c.ttl = 86400;
  EXPECT_NE(claims_of(sign_ok(s.get(), c)).find("\"exp\":1700086400"),
            std::string::npos);
  c.ttl = 1;
  EXPECT_NE(claims_of(sign_ok(s.get(), c)).find("\"exp\":1700000001"),
            std::string::npos);
}

TEST_F(Claims, IssuerIsRequiredAndBodyDigestMustBeWellFormed) {
  ClaimsSpec c;
  c.iss.reset();
  EXPECT_EQ(sign(s.get(), c).rc, UJWT_ERR_INVALID_ARGUMENT);
  for (const std::string &bad :
       {std::string(42, 'A'), std::string(44, 'A'), std::string(42, 'A') + "+",
        std::string(42, 'A') + "="}) {
    ClaimsSpec b;
    b.body_sha256 = bad;
    Outcome o = sign(s.get(), b);
    EXPECT_NE(o.rc, UJWT_OK) << bad;
  }
}

TEST_F(Claims, ClockIsUsedWhenNowIsZero) {
  ClaimsSpec c;
  c.now = 0;
  nlohmann::json j = nlohmann::json::parse(claims_of(sign_ok(s.get(), c)));
  int64_t wall = static_cast<int64_t>(time(nullptr));
  EXPECT_LE(std::llabs(j["iat"].get<int64_t>() - wall), 5);
  EXPECT_EQ(j["exp"].get<int64_t>() - j["iat"].get<int64_t>(), 60);
}

TEST_F(Claims, HeaderIsFixedPerSigner) {
  SignerPtr with_kid = make_signer("HS256", kSecret, std::string("k\"1"));
  std::string h = b64url_decode(split_token(sign_ok(with_kid.get())).at(0));
  EXPECT_EQ(h, R"({"alg":"HS256","typ":"JWT","kid":"k\"1"})");
  std::string plain = b64url_decode(split_token(sign_ok(s.get())).at(0));
  EXPECT_EQ(plain, R"({"alg":"HS256","typ":"JWT"})");
}
