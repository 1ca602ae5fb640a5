// header_binding_test.cpp — hdrs / hdr_sha256 through the C ABI: the
// canonical form (checked against a hand-written canonical string hashed by
// the test's own SHA-256), the signer's claims, and every verifier outcome.
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "abi_util.hpp"

using namespace ujwt_test;

namespace {

using Lines = std::vector<std::pair<std::string, std::string>>;

struct Digest {
  int rc = -1;
  std::string out;
  std::string message;
};

Digest headers_sha256(const std::string &names, const Lines &lines) {
  std::vector<ujwt_header> h;
  for (const auto &[n, v] : lines) h.push_back({n.data(), n.size(), v.data(), v.size()});
  char out[UJWT_SHA256_B64_LEN];
  size_t out_len = 0;
  ujwt_error err{};
  Digest d;
  d.rc = ujwt_headers_sha256(names.data(), names.size(), h.data(), h.size(), out, sizeof out,
                             &out_len, &err);
  if (d.rc == UJWT_OK) d.out.assign(out, out_len);
  d.message = err.message;
  return d;
}

// What a service computes by hand from the canonical text.
std::string expected(const std::string &canonical) { return sha256_b64(canonical); }

const std::string kSecret = hs_secret(32);

}  // namespace

// ---- canonical form -----------------------------------------------------------

TEST(HeaderDigest, SingleHeaderIsLowercasedNameColonValueNewline) {
  Digest d = headers_sha256("Content-Type", {{"Content-Type", "application/json"}});
  ASSERT_EQ(d.rc, UJWT_OK) << d.message;
  EXPECT_EQ(d.out, expected("content-type:application/json\n"));
  EXPECT_EQ(d.out.size(), static_cast<size_t>(UJWT_SHA256_B64_LEN));
}

TEST(HeaderDigest, NamesMatchCaseInsensitivelyBothWays) {
  const std::string want = expected("x-http-method-override:DELETE\n");
  EXPECT_EQ(headers_sha256("x-http-method-override", {{"X-HTTP-Method-Override", "DELETE"}}).out, want);
  EXPECT_EQ(headers_sha256("X-Http-Method-Override", {{"x-http-method-override", "DELETE"}}).out, want);
  EXPECT_EQ(headers_sha256("X-HTTP-METHOD-OVERRIDE", {{"x-Http-method-OVERRIDE", "DELETE"}}).out, want);
  // Values keep their case.
  EXPECT_NE(headers_sha256("x-http-method-override", {{"X-HTTP-Method-Override", "delete"}}).out, want);
}

TEST(HeaderDigest, RepeatedHeadersJoinInReceivedOrder) {
  Lines lines = {{"Accept", "text/html"}, {"X-Other", "1"}, {"accept", "application/json"},
                 {"ACCEPT", "*/*"}};
  Digest d = headers_sha256("accept", lines);
  ASSERT_EQ(d.rc, UJWT_OK);
  EXPECT_EQ(d.out, expected("accept:text/html, application/json, */*\n"));
  std::swap(lines[0], lines[2]);
  EXPECT_EQ(headers_sha256("accept", lines).out,
            expected("accept:application/json, text/html, */*\n"));
}

TEST(HeaderDigest, OwsTrimmedIncludingTabsButInnerSpaceKept) {
  Digest d = headers_sha256("x-a,x-b", {{"x-a", " \t a  b \t "}, {"x-b", "\t\t"}});
  ASSERT_EQ(d.rc, UJWT_OK);
  EXPECT_EQ(d.out, expected("x-a:a  b\nx-b:\n"));
  // Each line is trimmed before joining.
  EXPECT_EQ(headers_sha256("x-a", {{"x-a", " 1 "}, {"x-a", "\t2\t"}}).out, expected("x-a:1, 2\n"));
  // Only SP and HTAB are OWS: other bytes survive.
  EXPECT_EQ(headers_sha256("x-a", {{"x-a", "\v1\f"}}).out, expected("x-a:\v1\f\n"));
}

TEST(HeaderDigest, AbsentHeaderIsAnEmptyValueAndDiffersFromItsAbsenceFromTheList) {
  Digest d = headers_sha256("content-type,x-missing", {{"Content-Type", "text/plain"}});
  ASSERT_EQ(d.rc, UJWT_OK);
  EXPECT_EQ(d.out, expected("content-type:text/plain\nx-missing:\n"));
  EXPECT_EQ(headers_sha256("x-missing", {}).out, expected("x-missing:\n"));
  // An empty value and an absent header are the same; both differ from
  // "not bound".
  EXPECT_EQ(headers_sha256("x-missing", {{"X-Missing", ""}}).out, expected("x-missing:\n"));
  EXPECT_NE(headers_sha256("content-type", {{"Content-Type", "text/plain"}}).out, d.out);
}

TEST(HeaderDigest, ConfiguredOrderNotReceivedOrder) {
  Lines lines = {{"B", "2"}, {"A", "1"}};
  EXPECT_EQ(headers_sha256("a,b", lines).out, expected("a:1\nb:2\n"));
  EXPECT_EQ(headers_sha256("b,a", lines).out, expected("b:2\na:1\n"));
}

TEST(HeaderDigest, EmptyListAndNonTokenNamesAreRefused) {
  for (const std::string &names : std::vector<std::string>{"", ",", "a,", ",a", "a,,b", "a b", " a", "a ", "a:b", "a;b", "a\"b", "a\tb", "ä",
        "(a)", "a/b", "a@b", "a=b", "a\nb", std::string("a\0b", 3)}) {
    Digest d = headers_sha256(names, {{"a", "1"}});
    EXPECT_EQ(d.rc, UJWT_ERR_INVALID_ARGUMENT) << "names " << testing::PrintToString(names);
  }
  // Every tchar is accepted.
  EXPECT_EQ(headers_sha256("!#$%&'*+-.^_`|~09AZaz", {}).rc, UJWT_OK);
}

TEST(HeaderDigest, RepeatedNameInTheListIsRefusedInAnyCase) {
  EXPECT_EQ(headers_sha256("a,b,A", {}).rc, UJWT_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(headers_sha256("a,b,b", {}).rc, UJWT_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(headers_sha256("ab,a,b", {}).rc, UJWT_OK) << "prefixes are different names";
}

TEST(HeaderDigest, ValuesWithLineBreaksOrNulAreRefused) {
  // "a:x\nb:y\nb:\n" could otherwise come from a="x\nb:y",b="" or a="x",b="y\nb:".
  for (const std::string &v : std::vector<std::string>{"x\nb:y", "x\r", std::string("x\0y", 3)}) {
    EXPECT_EQ(headers_sha256("a,b", {{"a", v}}).rc, UJWT_ERR_INVALID_ARGUMENT);
  }
  // Not bound: not looked at.
  EXPECT_EQ(headers_sha256("b", {{"a", "x\ny"}}).rc, UJWT_OK);
}

TEST(HeaderDigest, ArgumentErrors) {
  char out[UJWT_SHA256_B64_LEN];
  size_t out_len = 0;
  ujwt_error err{};
  ujwt_header h{"a", 1, "1", 1};
  EXPECT_EQ(ujwt_headers_sha256(nullptr, 0, &h, 1, out, sizeof out, &out_len, &err),
            UJWT_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(ujwt_headers_sha256("a", 1, nullptr, 1, out, sizeof out, &out_len, &err),
            UJWT_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(ujwt_headers_sha256("a", 1, nullptr, 0, out, sizeof out, &out_len, &err), UJWT_OK);
  ujwt_header bad_name{nullptr, 3, "1", 1};
  EXPECT_EQ(ujwt_headers_sha256("a", 1, &bad_name, 1, out, sizeof out, &out_len, &err),
            UJWT_ERR_INVALID_ARGUMENT);
  ujwt_header bad_value{"a", 1, nullptr, 2};
  EXPECT_EQ(ujwt_headers_sha256("a", 1, &bad_value, 1, out, sizeof out, &out_len, &err),
            UJWT_ERR_INVALID_ARGUMENT);
  ujwt_header null_empty{nullptr, 0, nullptr, 0};
  EXPECT_EQ(ujwt_headers_sha256("a", 1, &null_empty, 1, out, sizeof out, &out_len, &err), UJWT_OK);
  EXPECT_EQ(std::string(out, out_len), expected("a:\n"));
  EXPECT_EQ(ujwt_headers_sha256("a", 1, &h, 1, out, UJWT_SHA256_B64_LEN - 1, &out_len, &err),
            UJWT_ERR_BUFFER_TOO_SMALL);
  EXPECT_EQ(out_len, static_cast<size_t>(UJWT_SHA256_B64_LEN));
  EXPECT_EQ(ujwt_headers_sha256("a", 1, &h, 1, out, sizeof out, nullptr, &err),
            UJWT_ERR_INVALID_ARGUMENT);
}

// ---- signer ---------------------------------------------------------------------

namespace {

class HeaderBinding : public ::testing::Test {
 protected:
  SignerPtr s = make_signer("HS256", kSecret);
  VerifierPtr v = verifier_with("HS256", kSecret);
  Lines request = {{"Content-Type", "application/json"}, {"X-HTTP-Method-Override", "POST"}};

  ClaimsSpec bound(const std::string &names, const Lines &lines) {
    ClaimsSpec c;
    c.body_sha256 = sha256_b64("");
    c.hdr_names = names;
    Digest d = headers_sha256(names, lines);
    EXPECT_EQ(d.rc, UJWT_OK) << d.message;
    c.hdr_sha256 = d.out;
    c.extra_json = R"({"tenant":"t1"})";
    return c;
  }
  OptionsSpec checking(const Lines &lines) {
    OptionsSpec o;
    o.headers = lines;
    return o;
  }
};

}  // namespace

TEST_F(HeaderBinding, ClaimsFollowBodySha256AndPrecedeExtraClaims) {
  std::string token = sign_ok(s.get(), bound("Content-Type,X-HTTP-Method-Override", request));
  std::string payload = b64url_decode(split_token(token)[1]);
  const std::string digest = expected("content-type:application/json\nx-http-method-override:POST\n");
  const std::string tail = R"(,"body_sha256":")" + sha256_b64("") +
                           R"(","hdrs":["content-type","x-http-method-override"],"hdr_sha256":")" +
                           digest + R"(","tenant":"t1"})";
  ASSERT_GE(payload.size(), tail.size());
  EXPECT_EQ(payload.substr(payload.size() - tail.size()), tail) << payload;
  EXPECT_VALID(verify(v.get(), token, checking(request)));
}

TEST_F(HeaderBinding, SignerRefusesBadCombinations) {
  ClaimsSpec c = bound("content-type", request);
  c.hdr_sha256.reset();
  EXPECT_EQ(sign(s.get(), c).rc, UJWT_ERR_INVALID_ARGUMENT) << "names without digest";
  c = bound("content-type", request);
  c.hdr_names.reset();
  EXPECT_EQ(sign(s.get(), c).rc, UJWT_ERR_INVALID_ARGUMENT) << "digest without names";
  for (const char *names : {"", "a,,b", "a b", "a,A"}) {
    c = bound("content-type", request);
    c.hdr_names = names;
    EXPECT_EQ(sign(s.get(), c).rc, UJWT_ERR_INVALID_ARGUMENT) << names;
  }
  for (std::string digest : {std::string(42, 'A'), std::string(44, 'A'), std::string(42, 'A') + "=",
                             std::string(42, 'A') + "B"}) {  // last char must carry 0 low bits
    c = bound("content-type", request);
    c.hdr_sha256 = digest;
    EXPECT_EQ(sign(s.get(), c).rc, UJWT_ERR_INVALID_ARGUMENT) << digest;
  }
  c = bound("content-type", request);
  c.extra_json = R"({"hdrs":["x"]})";
  EXPECT_EQ(sign(s.get(), c).rc, UJWT_ERR_CLAIMS) << "extra claims cannot override hdrs";
  c.extra_json = R"({"hdr_sha256":"x"})";
  EXPECT_EQ(sign(s.get(), c).rc, UJWT_ERR_CLAIMS) << "extra claims cannot override hdr_sha256";
}

TEST_F(HeaderBinding, MixedCaseNamesAreEmittedLowercase) {
  std::string token = sign_ok(s.get(), bound("X-A,x-B", {{"x-a", "1"}}));
  std::string payload = b64url_decode(split_token(token)[1]);
  EXPECT_NE(payload.find(R"("hdrs":["x-a","x-b"])"), std::string::npos) << payload;
}

// ---- verifier -------------------------------------------------------------------

TEST_F(HeaderBinding, ChangedAddedOrRemovedHeaderIsHeaderMismatch) {
  std::string token = sign_ok(s.get(), bound("content-type,x-http-method-override", request));
  EXPECT_VALID(verify(v.get(), token, checking(request)));
  // Other headers do not matter, nor the case of names.
  EXPECT_VALID(verify(v.get(), token,
                      checking({{"x-http-method-override", "POST"}, {"Accept", "*/*"},
                                {"CONTENT-TYPE", " application/json\t"}})));
  EXPECT_REJECTED(verify(v.get(), token,
                         checking({{"Content-Type", "application/json"},
                                   {"X-HTTP-Method-Override", "DELETE"}})),
                  UJWT_REASON_HEADER_MISMATCH);
  EXPECT_REJECTED(verify(v.get(), token, checking({{"Content-Type", "application/json"}})),
                  UJWT_REASON_HEADER_MISMATCH);
  Lines added = request;
  added.push_back({"x-http-method-override", "DELETE"});
  EXPECT_REJECTED(verify(v.get(), token, checking(added)), UJWT_REASON_HEADER_MISMATCH);
  EXPECT_REJECTED(verify(v.get(), token, checking({})), UJWT_REASON_HEADER_MISMATCH);
}

TEST_F(HeaderBinding, NotCheckedUnlessHeadersAreGiven) {
  std::string token = sign_ok(s.get(), bound("content-type", request));
  EXPECT_VALID(verify(v.get(), token));
  OptionsSpec o;  // headers nullopt
  EXPECT_VALID(verify(v.get(), token, o));
}

TEST_F(HeaderBinding, TokenWithoutBindingIsMissingClaimWhenHeadersAreChecked) {
  ClaimsSpec plain;
  EXPECT_REJECTED(verify(v.get(), sign_ok(s.get(), plain), checking(request)),
                  UJWT_REASON_MISSING_CLAIM);
  const std::string hdr = R"({"alg":"HS256","typ":"JWT"})";
  const std::string base = R"({"iss":"kong","iat":1700000000,"exp":1700000060)";
  const std::string digest = expected("content-type:application/json\n");
  Outcome no_digest = verify(v.get(), forge_hs(hdr, base + R"(,"hdrs":["content-type"]})", kSecret),
                             checking(request));
  EXPECT_REJECTED(no_digest, UJWT_REASON_MISSING_CLAIM);
  EXPECT_NE(no_digest.message.find("hdr_sha256"), std::string::npos) << no_digest.message;
  Outcome no_names =
      verify(v.get(), forge_hs(hdr, base + R"(,"hdr_sha256":")" + digest + "\"}", kSecret),
             checking(request));
  EXPECT_REJECTED(no_names, UJWT_REASON_MISSING_CLAIM);
  EXPECT_NE(no_names.message.find("hdrs"), std::string::npos) << no_names.message;
  EXPECT_VALID(verify(
      v.get(),
      forge_hs(hdr, base + R"(,"hdrs":["content-type"],"hdr_sha256":")" + digest + "\"}", kSecret),
      checking(request)));
}

TEST_F(HeaderBinding, MalformedHdrsClaimIsBadClaims) {
  const std::string hdr = R"({"alg":"HS256","typ":"JWT"})";
  const std::string base = R"({"iss":"kong","iat":1700000000,"exp":1700000060,"hdr_sha256":")" +
                           expected("a:\n") + "\"";
  for (const std::string &hdrs : std::vector<std::string>{R"("a")", R"([])", R"([1])", R"(["A"])", R"(["a","a"])", R"(["a b"])", R"([""])",
        R"(["a,b"])", R"({"a":1})", R"(null)"}) {
    std::string token = forge_hs(hdr, base + R"(,"hdrs":)" + hdrs + "}", kSecret);
    SCOPED_TRACE(hdrs);
    EXPECT_REJECTED(verify(v.get(), token, checking({})), UJWT_REASON_BAD_CLAIMS);
    EXPECT_REJECTED(verify(v.get(), token), UJWT_REASON_BAD_CLAIMS);  // unchecked too
  }
  std::string token = forge_hs(
      hdr, R"({"iss":"kong","iat":1700000000,"exp":1700000060,"hdrs":["a"],"hdr_sha256":1})", kSecret);
  EXPECT_REJECTED(verify(v.get(), token, checking({})), UJWT_REASON_BAD_CLAIMS);
}

TEST_F(HeaderBinding, RequiredHeadersMustBeListedInHdrs) {
  std::string token = sign_ok(s.get(), bound("content-type", request));
  OptionsSpec o = checking(request);
  o.required_headers = "Content-Type";
  EXPECT_VALID(verify(v.get(), token, o));
  o.required_headers = "content-type,x-http-method-override";
  Outcome r = verify(v.get(), token, o);
  EXPECT_REJECTED(r, UJWT_REASON_HEADER_MISMATCH);
  EXPECT_NE(r.message.find("x-http-method-override"), std::string::npos) << r.message;
  // A required name checked before the digest: still header_mismatch.
  o.headers = Lines{};
  EXPECT_REJECTED(verify(v.get(), token, o), UJWT_REASON_HEADER_MISMATCH);
  // Without a binding at all the claim is missing, required or not.
  ClaimsSpec plain;
  EXPECT_REJECTED(verify(v.get(), sign_ok(s.get(), plain), o), UJWT_REASON_MISSING_CLAIM);
}

TEST_F(HeaderBinding, RequiredHeadersArgumentErrors) {
  std::string token = sign_ok(s.get(), bound("content-type", request));
  OptionsSpec o;
  o.required_headers = "content-type";
  EXPECT_EQ(verify(v.get(), token, o).rc, UJWT_ERR_INVALID_ARGUMENT) << "needs headers";
  o = checking(request);
  for (const char *bad : {"", "a,,b", "a b"}) {
    o.required_headers = bad;
    EXPECT_EQ(verify(v.get(), token, o).rc, UJWT_ERR_INVALID_ARGUMENT) << bad;
  }
  ujwt_verify_options raw = checking(request).o();
  raw.headers = nullptr;
  raw.header_count = 2;
  ujwt_error err{};
  size_t out_len = 0;
  EXPECT_EQ(ujwt_verify(v.get(), token.data(), token.size(), &raw, nullptr, 0, &out_len, &err),
            UJWT_ERR_INVALID_ARGUMENT);
  raw.required_headers = nullptr;
  raw.required_headers_len = 3;
  EXPECT_EQ(ujwt_verify(v.get(), token.data(), token.size(), &raw, nullptr, 0, &out_len, &err),
            UJWT_ERR_INVALID_ARGUMENT);
}

TEST_F(HeaderBinding, ReceivedValueWithLineBreakIsHeaderMismatch) {
  std::string token = sign_ok(s.get(), bound("content-type", request));
  EXPECT_REJECTED(verify(v.get(), token, checking({{"Content-Type", "application/json\n"}})),
                  UJWT_REASON_HEADER_MISMATCH);
}

TEST_F(HeaderBinding, DigestIsCheckedAfterBodyAndBeforeReplay) {
  CachePtr cache;
  {
    ujwt_replay_cache *c = nullptr;
    ASSERT_EQ(ujwt_replay_cache_new(4, &c, nullptr), UJWT_OK);
    cache.reset(c);
  }
  std::string token = sign_ok(s.get(), bound("content-type", request));
  OptionsSpec o = checking({{"Content-Type", "text/plain"}});
  o.body_sha256 = sha256_b64("x");
  o.replay_cache = cache.get();
  EXPECT_REJECTED(verify(v.get(), token, o), UJWT_REASON_BODY_MISMATCH);
  o.body_sha256 = sha256_b64("");
  EXPECT_REJECTED(verify(v.get(), token, o), UJWT_REASON_HEADER_MISMATCH);
  o.headers = request;
  EXPECT_VALID(verify(v.get(), token, o));  // the refused attempts did not burn the jti
  EXPECT_REJECTED(verify(v.get(), token, o), UJWT_REASON_REPLAYED);
}
