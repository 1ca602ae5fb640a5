// verify_fast_path_test.cpp — the verifier's allocation-free reading of a
// token (scan_flat_object, src/json_util.hpp) against the full parser.
//
// Two properties: the scanner accepts exactly its documented subset (a
// real token of ours is in it; everything unusual is declined, so the
// parser decides), and on every token here the verifier observed with the
// scanner on equals the verifier with the parser alone: verdict, status,
// reason, message, claims bytes, claims size, kid, jti, replay expiry.
// fuzz/verify_paths_fuzz.cpp checks the second property on mutated input.
#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "json_util.hpp"
#include "test_util.hpp"
#include "upstream_jwt/all.hpp"
#include "verify_paths.hpp"

namespace uj = upstream_jwt;
using uj::detail::FlatKind;
using uj::detail::FlatObject;
using uj::detail::scan_flat_object;

namespace {

constexpr std::int64_t kNow = 1700000000;
constexpr char kSecret[] = "verify-fast-path-secret-0123456789";

bool scans(std::string_view text) {
  FlatObject flat;
  return scan_flat_object(text, flat);
}

TEST(ScanFlatObject, ReadsTheMembersOfAUsualPayload) {
  FlatObject f;
  const std::string text =
      " {\"iss\":\"kong\",\"aud\":[\"a\",\"b\"],\"exp\":1700000060,\"nbf\":-5,\"n\":0,"
      "\"consumer\":{\"id\":\"c\",\"x\":[1,{\"y\":null}]},\"t\":true,\"f\":false,\"z\":null,\"e\":[]}\r\n\t";
  ASSERT_TRUE(scan_flat_object(text, f));
  ASSERT_EQ(f.size, 10u);
  const auto* iss = f.find("iss");
  ASSERT_NE(iss, nullptr);
  EXPECT_EQ(iss->kind, FlatKind::string);
  EXPECT_EQ(iss->text(), "kong");
  const auto* aud = f.find("aud");
  ASSERT_NE(aud, nullptr);
  ASSERT_EQ(aud->kind, FlatKind::array);
  ASSERT_EQ(aud->count, 2u);
  EXPECT_EQ(f.elements[aud->first].text(), "a");
  EXPECT_EQ(f.elements[aud->first + 1].text(), "b");
  EXPECT_EQ(f.find("exp")->kind, FlatKind::integer);
  EXPECT_EQ(uj::detail::flat_integer(f.find("exp")->text()), 1700000060.0);
  EXPECT_EQ(uj::detail::flat_integer(f.find("nbf")->text()), -5.0);
  EXPECT_EQ(uj::detail::flat_integer(f.find("n")->text()), 0.0);
  EXPECT_EQ(f.find("consumer")->kind, FlatKind::object);
  EXPECT_EQ(f.find("t")->kind, FlatKind::literal);
  EXPECT_EQ(f.find("t")->text(), "true");
  EXPECT_EQ(f.find("f")->text(), "false");
  EXPECT_EQ(f.find("z")->text(), "null");
  EXPECT_EQ(f.find("e")->count, 0u);
  EXPECT_EQ(f.find("missing"), nullptr);
  EXPECT_TRUE(scans("{}"));
  // Names sharing their first 8 bytes (the key compared first) are
  // distinct when any later byte differs.
  EXPECT_TRUE(scans("{\"abcdefgh1\":1,\"abcdefgh2\":1,\"abcdefgh\":1,\"o\":{\"abcdefgh1\":1,\"abcdefgh2\":1}}"));
  EXPECT_TRUE(scans("{\"n\":999999999999999}"));   // 15 digits
  EXPECT_TRUE(scans("{\"n\":-999999999999999}"));
}

TEST(ScanFlatObject, DeclinesEverythingOutsideItsSubset) {
  const char* const declined[] = {
      "", " ", "[]", "\"s\"", "1", "null", "{", "{\"a\":1", "{\"a\":1,}", "{,}", "{\"a\"}",
      "{\"a\":}", "{\"a\" 1}", "{\"a\":1}x", "{\"a\":1}{}", "{a:1}", "{'a':1}",
      "{\"a\":\"\\n\"}", "{\"a\\u0062\":1}", "{\"a\":\"\\ud800\"}",  // escapes
      "{\"a\":\"\xc3\xa9\"}", "{\"\xc3\xa9\":1}", "{\"a\":\"\xff\"}", "\xef\xbb\xbf{}",  // non-ASCII, BOM
      "{\"a\":\"x\ty\"}", "{\"a\":\"\x01\"}",                              // control characters
      // a character that stops a string, right before what would follow a string's end
      "{\"a\":\"x\x01}", "{\"a\":\"x\t,\"b\":1}", "{\"a\":\"x\\,\"b\":1}", "{\"a\":\"x\xc3}",
      "{\"a\":1.5}", "{\"a\":1e3}", "{\"a\":1E3}", "{\"a\":-0}", "{\"a\":01}", "{\"a\":-}",
      "{\"a\":+1}", "{\"a\":1000000000000000}", "{\"a\":-1000000000000000}",  // 16 digits
      "{\"a\":tru}", "{\"a\":True}", "{\"a\":nul}", "{\"a\":NaN}", "{\"a\":Infinity}",
      "{\"a\":1,\"a\":2}", "{\"a\":{\"b\":1,\"b\":1}}", "{\"a\":[{\"b\":1,\"b\":2}]}",  // duplicates
      "{\"query_sha256\":1,\"query_sha256\":1}", "{\"o\":{\"abcdefghij\":1,\"abcdefghij\":1}}",
      "{\"abcdefgh\":1,\"abcdefgh\":1}",
      "{\"a\":[1,]}", "{\"a\":[,1]}", "{\"a\":[1 2]}", "{\"a\":{\"b\":1,}}",
      "{\"a\":[[[[[[[[[1]]]]]]]]]}",  // deeper than 8
      "{/*c*/\"a\":1}", "{\"a\":1}\v",
  };
  for (const char* text : declined) EXPECT_FALSE(scans(text)) << text;
  EXPECT_FALSE(scans(std::string_view("{\"a\":\"\0\"}", 8)));
  EXPECT_FALSE(scans(std::string_view("{\"a\":1}\0", 8)));
  // The top-level object is depth 0: eight nested arrays are read through,
  // nine are declined (above), and objects count the same way.
  EXPECT_TRUE(scans("{\"a\":[[[[[[[[1]]]]]]]]}"));
  EXPECT_TRUE(scans("{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":{\"f\":{\"g\":{\"h\":{}}}}}}}}}"));
  EXPECT_FALSE(scans("{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":{\"f\":{\"g\":{\"h\":{\"i\":{}}}}}}}}}}"));
}

TEST(ScanFlatObject, DeclinesPastItsCapacities) {
  std::string members = "{";
  for (int i = 0; i < 32; ++i) members += (i ? ",\"m" : "\"m") + std::to_string(i) + "\":1";
  EXPECT_TRUE(scans(members + "}"));
  EXPECT_FALSE(scans(members + ",\"m32\":1}"));
  std::string elements = "{\"a\":[";
  for (int i = 0; i < 64; ++i) elements += i ? ",1" : "1";
  EXPECT_TRUE(scans(elements + "]}"));
  EXPECT_FALSE(scans(elements + ",1]}"));
  std::string nested = "{\"o\":{";
  for (int i = 0; i < 32; ++i) nested += (i ? ",\"m" : "\"m") + std::to_string(i) + "\":1";
  EXPECT_TRUE(scans(nested + "}}"));
  EXPECT_FALSE(scans(nested + ",\"m32\":1}}"));
}

// The decoder's 16-character SIMD blocks against the independent encoder
// of test_util.hpp: every length across several blocks, and a character
// outside the alphabet at every position of the SIMD and scalar parts.
TEST(Base64urlDecodeInto, RoundTripsAndRefusesEveryBadPosition) {
  std::string bytes;
  std::uint32_t seed = 12345;
  for (std::size_t len = 0; len <= 100; ++len) {
    const std::string text = ujwt_test::b64url_encode(bytes);
    std::string out(uj::base64url_decoded_max_size(text.size()), '\0');
    std::size_t n = 0;
    ASSERT_TRUE(uj::base64url_decode_into(text, out.data(), &n)) << text;
    ASSERT_EQ(std::string(out.data(), n), bytes) << text;
    for (std::size_t pos = 0; pos < text.size(); ++pos)
      for (char bad : {'=', '+', '/', ' ', '.', '\x80', '\xff', '\0', '@', '[', '`', '{'}) {
        std::string broken = text;
        broken[pos] = bad;
        EXPECT_FALSE(uj::base64url_decode_into(broken, out.data(), &n)) << broken;
      }
    seed = seed * 1103515245u + 12345u;
    bytes.push_back(static_cast<char>(seed >> 16));
  }
}

struct Fixture {
  uj::Verifier verifier;
  uj::Key key = uj::Key::for_signing(uj::Algorithm::HS256, kSecret).value();
  Fixture() {
    EXPECT_TRUE(verifier.add_key(uj::Algorithm::HS256, kSecret).ok());
    EXPECT_TRUE(verifier.add_key(uj::Algorithm::HS256, kSecret, std::string_view("k1")).ok());
  }
  std::string token(std::string_view header, std::string_view payload) const {
    return uj::sign_compact(key, header, payload).value();
  }
};

std::vector<uj::VerifyOptions> option_sets(const std::vector<uj::Header>& headers) {
  std::vector<uj::VerifyOptions> sets;
  uj::VerifyOptions o;
  o.now = kNow;
  sets.push_back(o);
  o.issuer = "kong";
  o.audience = "orders";
  o.leeway = 5;
  o.max_lifetime = 300;
  sets.push_back(o);
  o.method = "GET";
  o.path = "/42";
  o.query = "a=1";
  o.body_sha256 = uj::sha256_b64("").value();  // view into a temporary: replaced below
  sets.push_back(o);
  o.headers = uj::HeaderList(headers);
  o.required_headers = "host";
  sets.push_back(o);
  return sets;
}

TEST(VerifyFastPath, EqualsTheParserOnUsualAndUnusualTokens) {
  Fixture fx;
  static const std::string body_sha = uj::sha256_b64("").value();
  static const std::string query_sha = uj::sha256_b64("a=1").value();
  const std::vector<uj::Header> headers = {{"host", "example.com"}, {"x-a", "1"}};
  const std::string hdr_sha = uj::headers_sha256(std::string_view("host,x-a"), headers).value();
  auto sets = option_sets(headers);
  for (auto& o : sets)
    if (o.body_sha256) o.body_sha256 = body_sha;

  // A real token of ours first: the scanner must read it (else the fast path
  // would never run and this test would compare the parser with itself).
  uj::Claims c;
  c.iss = "kong";
  c.aud = "orders";
  c.now = kNow;
  c.sub = "5f0c1e2a";
  c.consumer_id = "5f0c1e2a";
  c.consumer_username = "alice";
  c.htm = "GET";
  c.htu = "/42";
  c.query = "a=1";
  c.body_sha256 = body_sha;
  c.hdr_names = "Host,X-A";
  c.hdr_sha256 = hdr_sha;
  c.extra_json = "{\"tenant\":\"t-1\",\"roles\":[\"r\",\"w\"],\"meta\":{\"n\":1}}";
  auto signer = uj::Signer::create(fx.key, std::string_view("k1"));
  ASSERT_TRUE(signer.ok());
  const std::string real = signer.value().sign(c).value();
  const auto d1 = real.find('.'), d2 = real.rfind('.');
  const std::string real_header = uj::base64url_decode(std::string_view(real).substr(0, d1)).value();
  const std::string real_payload =
      uj::base64url_decode(std::string_view(real).substr(d1 + 1, d2 - d1 - 1)).value();
  ASSERT_TRUE(scans(real_header)) << real_header;
  ASSERT_TRUE(scans(real_payload)) << real_payload;
  ASSERT_TRUE(fx.verifier.verify_without_replay(real, sets.back()).ok());

  const std::string t = "\"iat\":1700000000,\"exp\":1700000060";
  const std::string payloads[] = {
      real_payload,
      "{" + t + ",\"iss\":\"kong\",\"aud\":\"orders\",\"jti\":\"j\"}",
      "{" + t + ",\"iss\":\"kong\",\"aud\":[\"x\",\"orders\"],\"jti\":\"j\"}",
      "{" + t + ",\"iss\":\"kong\",\"aud\":[],\"jti\":\"j\"}",
      "{" + t + ",\"iss\":\"kong\",\"aud\":[\"x\",1]}",
      "{" + t + ",\"iss\":\"kong\",\"aud\":[\"x\",[\"orders\"]]}",
      "{" + t + ",\"iss\":\"kong\",\"aud\":{\"orders\":1}}",
      "{" + t + ",\"iss\":\"kon\\u0067\",\"aud\":\"orders\"}",   // escape: parser decides
      "{" + t + ",\"iss\":\"k\xc3\xb6ng\",\"aud\":\"orders\"}",  // non-ASCII: parser decides
      "{" + t + ",\"iss\":\"kong\",\"iss\":\"kong\"}",
      "{" + t + ",\"o\":{\"a\":1,\"a\":1}}",
      "{\"exp\":1700000060.0,\"iss\":\"kong\",\"aud\":\"orders\"}",
      "{\"exp\":1.7e9,\"iss\":\"kong\"}",
      "{\"exp\":1e400}",
      "{\"exp\":\"1700000060\"}",
      "{\"exp\":null}",
      "{\"exp\":-1}",
      "{\"exp\":1700000000}",
      "{\"exp\":1699999995}",
      "{\"exp\":1699999996}",
      "{\"exp\":1700000060,\"nbf\":1700000005}",
      "{\"exp\":1700000060,\"nbf\":1700000006}",
      "{\"exp\":1700000060,\"iat\":1700000006}",
      "{\"exp\":1700000300,\"iat\":1700000000}",
      "{\"exp\":1700000301,\"iat\":1700000000}",
      "{\"exp\":1700000301}",
      "{\"exp\":999999999999999}",
      "{\"exp\":1700000060,\"iss\":1}",
      "{\"exp\":1700000060,\"jti\":[\"j\"]}",
      "{\"exp\":1700000060,\"htm\":\"GET\",\"htu\":\"/42\",\"query_sha256\":\"" + query_sha +
          "\",\"body_sha256\":\"" + body_sha + "\"}",
      "{\"exp\":1700000060,\"htm\":\"POST\"}",
      "{\"exp\":1700000060,\"htm\":\"GET\",\"htu\":\"/43\"}",
      "{\"exp\":1700000060,\"htm\":\"GET\",\"htu\":\"/42\",\"query_sha256\":\"x\"}",
      "{\"exp\":1700000060,\"hdrs\":[],\"hdr_sha256\":\"" + hdr_sha + "\"}",
      "{\"exp\":1700000060,\"hdrs\":[\"host\",\"x-a\"],\"hdr_sha256\":\"" + hdr_sha + "\"}",
      "{\"exp\":1700000060,\"hdrs\":[\"host\",\"host\"]}",
      "{\"exp\":1700000060,\"hdrs\":[\"Host\"]}",
      "{\"exp\":1700000060,\"hdrs\":[\"host\",1,\"Bad\"]}",
      "{\"exp\":1700000060,\"hdrs\":[\"Bad\",1]}",
      "{\"exp\":1700000060,\"hdrs\":[1]}",
      "{\"exp\":1700000060,\"hdrs\":[\"a b\"]}",
      "{\"exp\":1700000060,\"hdrs\":\"host\"}",
      "{\"exp\":1700000060,\"hdrs\":[\"x-a\"],\"hdr_sha256\":\"" + hdr_sha + "\"}",
      "{\"exp\":1700000060,\"hdr_sha256\":5}",
      "[]",
      "\"exp\"",
      "",
      "{\"exp\":1700000060}  ",
      "{\"exp\":1700000060} x",
      "{\"exp\":1700000060,\"deep\":[[[[[[[[[1]]]]]]]]]}",
  };
  const std::string headers_json[] = {
      real_header,
      "{\"alg\":\"HS256\",\"typ\":\"JWT\"}",
      "{\"alg\":\"HS256\"}",
      "{\"typ\":\"JWT\",\"alg\":\"HS256\",\"kid\":\"k1\"}",
      "{\"alg\":\"HS256\",\"kid\":\"nope\"}",
      "{\"alg\":\"HS256\",\"kid\":1}",
      "{\"alg\":\"HS256\",\"typ\":\"jwt\"}",
      "{\"alg\":\"HS256\",\"typ\":1}",
      "{\"alg\":\"HS256\",\"crit\":[\"b64\"]}",
      "{\"alg\":\"HS256\",\"alg\":\"HS256\"}",
      "{\"alg\":\"HS\\u0032\\u0035\\u0036\"}",
      "{\"alg\":\"none\"}",
      "{\"alg\":\"NoNe\"}",
      "{\"alg\":\"HS384\"}",
      "{\"alg\":\"RS256\"}",
      "{\"alg\":1}",
      "{}",
      "[]",
  };
  // Every header with every payload under every option set; the output
  // and replay variants (which act after the claims are read) on the first
  // two headers only, to keep the suite quick under make mutation.
  int compared = 0;
  for (std::size_t hi = 0; hi < std::size(headers_json); ++hi)
    for (const std::string& p : payloads) {
      const std::string& h = headers_json[hi];
      const std::string tok = fx.token(h, p);
      for (const auto& o : sets)
        for (bool replay : {false, true})
          for (std::size_t cap : {std::size_t{0}, std::size_t{8}, std::size_t{4096}}) {
            if (hi >= 2 && (replay || cap != 4096)) continue;
            const std::string diff = ujwt_paths::difference(fx.verifier, tok, o, replay, cap);
            ASSERT_EQ(diff, "") << "header " << h << "\npayload " << p;
            ++compared;
          }
    }
  EXPECT_GT(compared, 4000);
}

TEST(VerifyFastPath, EqualsTheParserOnBrokenTokens) {
  Fixture fx;
  const std::string good = fx.token("{\"alg\":\"HS256\"}", "{\"exp\":1700000060}");
  const std::string tokens[] = {
      good, good + "x", good.substr(0, good.size() - 1), "a.b", "a.b.c.d", "...", "",
      "e30.e30.", good.substr(0, good.find('.')) + ".=." + good.substr(good.rfind('.') + 1),
  };
  uj::VerifyOptions o;
  o.now = kNow;
  for (const std::string& tok : tokens) {
    EXPECT_EQ(ujwt_paths::difference(fx.verifier, tok, o, false, 64), "") << tok;
    uj::VerifyOptions short_limit = o;
    short_limit.max_token_length = 10;
    EXPECT_EQ(ujwt_paths::difference(fx.verifier, tok, short_limit, false, 64), "") << tok;
  }
  // Longer than the inline buffer: the heap buffer, same verdicts.
  const std::string big = "{\"exp\":1700000060,\"pad\":\"" + std::string(9000, 'p') + "\"}";
  const std::string long_tok = fx.token("{\"alg\":\"HS256\"}", big);
  o.max_token_length = 20000;
  EXPECT_EQ(ujwt_paths::difference(fx.verifier, long_tok, o, false, 20000), "");
  EXPECT_TRUE(fx.verifier.verify_without_replay(long_tok, o).ok());
}

TEST(VerifyTo, FollowsTheOutputAndReplayOrder) {
  Fixture fx;
  const std::string payload = "{\"exp\":1700000060,\"jti\":\"j-1\"}";
  const std::string tok = fx.token("{\"alg\":\"HS256\"}", payload);
  uj::InMemoryReplayCache cache(4);
  uj::VerifyOptions o;
  o.now = kNow;
  o.replay_cache = &cache;
  char out[64];
  std::size_t size = 0;
  // Too small: refused with the length needed, nothing recorded.
  auto small = fx.verifier.verify_to(tok, o, out, payload.size() - 1, &size);
  ASSERT_FALSE(small.ok());
  EXPECT_EQ(small.error().status, uj::Status::buffer_too_small);
  EXPECT_EQ(small.error().needed, payload.size());
  EXPECT_EQ(size, payload.size());
  EXPECT_EQ(cache.size(), 0u);
  // Exactly large enough: accepted, copied, recorded.
  size = 0;
  auto n = fx.verifier.verify_to(tok, o, out, payload.size(), &size);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n.value(), payload.size());
  EXPECT_EQ(std::string(out, n.value()), payload);
  EXPECT_EQ(cache.size(), 1u);
  // Replayed: refused, the size still reported.
  size = 0;
  auto again = fx.verifier.verify_to(tok, o, nullptr, 0, &size);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().reason, uj::Reason::replayed);
  EXPECT_EQ(size, payload.size());
  // A failed check leaves the size untouched.
  size = 7;
  o.replay_cache = nullptr;
  o.now = 1700000060;
  auto expired = fx.verifier.verify_to(tok, o, out, sizeof out, &size);
  ASSERT_FALSE(expired.ok());
  EXPECT_EQ(expired.error().reason, uj::Reason::expired);
  EXPECT_EQ(size, 7u);
  uj::Verifier moved_from = std::move(fx.verifier);
  auto gone = fx.verifier.verify_to(tok, o, out, sizeof out);  // NOLINT(bugprone-use-after-move)
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error().status, uj::Status::invalid_argument);
}

}  // namespace
