// core_test.cpp — the C++ API (and the core's signature engine) directly:
// strict base64url, SHA-256, RFC 4231 HMAC, RFC 8037 Ed25519 signing,
// ES256 encoding, Signer/Verifier, replay cache and JWK import.
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "json_util.hpp"
#include "sig_context.hpp"
#include "test_util.hpp"
#include "upstream_jwt/all.hpp"

using namespace upstream_jwt;
using ujwt_test::b64url_decode;
using ujwt_test::hex_decode;
using ujwt_test::read_key;

// ---- base64url ---------------------------------------------------------------

TEST(Base64Url, EncodesRfc4648Vectors) {
  EXPECT_EQ(base64url_encode(""), "");
  EXPECT_EQ(base64url_encode("f"), "Zg");
  EXPECT_EQ(base64url_encode("fo"), "Zm8");
  EXPECT_EQ(base64url_encode("foo"), "Zm9v");
  EXPECT_EQ(base64url_encode("foob"), "Zm9vYg");
  EXPECT_EQ(base64url_encode("fooba"), "Zm9vYmE");
  EXPECT_EQ(base64url_encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64url_encode(std::string("\xfb\xff\xfe", 3)), "-__-");
  for (size_t n = 0; n < 10; ++n) {
    EXPECT_EQ(base64url_encode(std::string(n, 'x')).size(), base64url_encoded_size(n));
  }
}

// The encoder has a SIMD kernel for inputs of 16+ bytes and a scalar tail:
// check every length across several kernel steps against OpenSSL's encoder
// (standard alphabet, translated), with each byte value at each position.
TEST(Base64Url, EncoderMatchesOpenSslForEveryLengthAndByte) {
  std::string data(200, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>((i * 167 + 13) & 0xFF);
  auto reference = [](std::string_view in) {
    std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(in.data()),
                                  static_cast<int>(in.size()));
    out.resize(static_cast<size_t>(n));
    while (!out.empty() && out.back() == '=') out.pop_back();
    for (char& c : out) c = c == '+' ? '-' : c == '/' ? '_' : c;
    return out;
  };
  for (size_t n = 0; n <= data.size(); ++n) {
    const std::string_view in(data.data(), n);
    ASSERT_EQ(base64url_encode(in), reference(in)) << "length " << n;
  }
  for (int v = 0; v < 256; ++v) {
    for (size_t pos = 0; pos < 24; ++pos) {
      std::string in(40, 'Q');
      in[pos] = static_cast<char>(v);
      ASSERT_EQ(base64url_encode(in), reference(in)) << "byte " << v << " at " << pos;
    }
  }
}

// JSON string writing has an SSE2 scan (16 bytes per step) and a scalar
// tail: every escapable byte at every position of strings spanning several
// steps must come out as the byte-at-a-time reference says.
TEST(JsonString, EscapesEveryByteAtEveryPosition) {
  auto reference = [](std::string_view in) {
    static const char hex[] = "0123456789abcdef";
    std::string out = "\"";
    for (unsigned char c : in) {
      if (c == '"' || c == '\\') {
        out += '\\';
        out += static_cast<char>(c);
      } else if (c < 0x20) {
        out += "\\u00";
        out += hex[c >> 4];
        out += hex[c & 0xF];
      } else {
        out += static_cast<char>(c);
      }
    }
    return out + "\"";
  };
  const unsigned char specials[] = {0x00, 0x01, 0x0a, 0x1f, '"', '\\', 0x20, 0x7f, 0x80, 0xff, 'a'};
  char buf[6 * 80 + 2];
  for (size_t n = 0; n <= 70; ++n) {
    for (size_t pos = 0; pos < n; ++pos) {
      for (unsigned char sp : specials) {
        std::string in(n, 'x');
        in[pos] = static_cast<char>(sp);
        in[n - 1 - pos] = static_cast<char>(sp);  // a second hit further on
        const char* end = upstream_jwt::detail::write_json_string(buf, in);
        ASSERT_EQ(std::string(buf, static_cast<size_t>(end - buf)), reference(in)) << "n=" << n << " pos=" << pos
                                                        << " byte=" << int(sp);
        std::string appended;
        upstream_jwt::detail::append_json_string(appended, in);
        ASSERT_EQ(appended, reference(in));
      }
    }
  }
}

// utf8_valid skips ASCII 16 and 8 bytes at a time: a bad or good sequence at
// any offset of a longer ASCII string must still be judged byte by byte.
TEST(Utf8, VerdictDoesNotDependOnPosition) {
  const std::string bad[] = {"\x80", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe2\x82",
                             "\xff"};
  const std::string good[] = {"\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\x7f"};
  for (size_t pos = 0; pos <= 40; ++pos) {
    for (size_t tail = 0; tail <= 20; tail += 5) {
      for (const auto& b : bad) {
        const std::string s = std::string(pos, 'a') + b + std::string(tail, 'z');
        EXPECT_FALSE(upstream_jwt::detail::utf8_valid(s)) << "pos=" << pos << " tail=" << tail;
      }
      for (const auto& g : good) {
        const std::string s = std::string(pos, 'a') + g + std::string(tail, 'z');
        EXPECT_TRUE(upstream_jwt::detail::utf8_valid(s)) << "pos=" << pos << " tail=" << tail;
      }
    }
  }
}

TEST(Base64Url, DecodesCanonicalInput) {
  EXPECT_EQ(base64url_decode(""), std::optional<std::string>(""));
  EXPECT_EQ(base64url_decode("Zm9vYmE"), std::optional<std::string>("fooba"));
  EXPECT_EQ(base64url_decode("-__-"), std::optional<std::string>("\xfb\xff\xfe"));
  // Every byte value round-trips.
  std::string all;
  for (int i = 0; i < 256; ++i) all += char(i);
  for (size_t n = 0; n <= all.size(); n += 17) {
    std::string s = all.substr(0, n);
    EXPECT_EQ(base64url_decode(base64url_encode(s)), std::optional<std::string>(s));
  }
}

TEST(Base64Url, RejectsEverythingNonCanonical) {
  const char *bad[] = {
      "Zg==", "Zg=", "Zm8=", "=",          // padding
      "Zm9v+A", "Zm9v/A", "+/+/",          // standard alphabet
      "Zm 9v", "Zm9v\n", " Zm9v", "Zm\t9v",  // whitespace
      "Zh", "Zm9", "Zm9vYh",               // non-canonical trailing bits
      "Zm9vY",                             // length % 4 == 1
      "A", "AAAAA",                        // length % 4 == 1
      "Zm9v!", "Zm9v.", "Zm\x80v",         // foreign characters
  };
  for (const char *b : bad) {
    EXPECT_FALSE(base64url_decode(b).has_value()) << "'" << b << "'";
  }
  EXPECT_FALSE(base64url_decode(std::string_view("Zm\0v", 4)).has_value());
  // Their canonical neighbours are fine.
  EXPECT_TRUE(base64url_decode("Zg").has_value());
  EXPECT_TRUE(base64url_decode("Zm8").has_value());
}

// ---- SHA-256 ----------------------------------------------------------------

TEST(Sha256Cpp, NistVectorsStreamed) {
  EXPECT_EQ(sha256_b64("").value(), "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU");
  auto raw = sha256_raw("abc");
  ASSERT_TRUE(raw.ok());
  EXPECT_EQ(std::string(reinterpret_cast<const char *>(raw.value().data()), 32),
            hex_decode("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
  auto h = Sha256::create();
  ASSERT_TRUE(h.ok());
  const std::string chunk(997, 'a');  // odd, prime-sized pieces
  size_t total = 0;
  while (total + chunk.size() <= 1000000) {
    ASSERT_TRUE(h.value().update(chunk).ok());
    total += chunk.size();
  }
  ASSERT_TRUE(h.value().update(std::string(1000000 - total, 'a')).ok());
  EXPECT_EQ(h.value().final_b64().value(), "zcduXJkU-5KBocfihNc-Z_GAmkiklyAOBG05zMcRLNA");
  // final reset the state.
  EXPECT_EQ(h.value().final_b64().value(), "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU");
}

// ---- RFC 4231 HMAC, through the engine the signer and verifier use ---------

namespace {

struct HmacCase {
  Algorithm alg;
  std::string data;
  const char *mac_hex;
};

std::unique_ptr<detail::SigContext> hmac_context(Algorithm alg, const std::string &key,
                                                 detail::SigContext::Mode mode) {
  auto k = Key::from_secret(alg, key);
  EXPECT_TRUE(k.ok()) << (k.ok() ? "" : k.error().message);
  if (!k.ok()) return nullptr;
  auto ctx = detail::SigContext::create(k.value(), mode);
  EXPECT_TRUE(ctx.ok()) << (ctx.ok() ? "" : ctx.error().message);
  if (!ctx.ok()) return nullptr;
  return std::move(ctx).value();
}

}  // namespace

TEST(Rfc4231, LongKeyCasesSixAndSeven) {
  // Test cases 6 and 7 use a 131-byte key, longer than every block size, so
  // they exercise key hashing and pass our minimum-length policy for all
  // three hashes. (Cases 1-5 have keys of 4-25 bytes, which the policy
  // refuses on purpose; see the next test.)
  const std::string key(131, '\xaa');
  const std::string d6 = "Test Using Larger Than Block-Size Key - Hash Key First";
  const std::string d7 =
      "This is a test using a larger than block-size key and a larger than "
      "block-size data. The key needs to be hashed before being used by the "
      "HMAC algorithm.";
  const HmacCase cases[] = {
      {Algorithm::HS256, d6, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
      {Algorithm::HS384, d6,
       "4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f3cd11f05033ac4c60c2ef6ab4030fe8296248df163f44952"},
      {Algorithm::HS512, d6,
       "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f3526b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598"},
      {Algorithm::HS256, d7, "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
      {Algorithm::HS384, d7,
       "6617178e941f020d351e2f254e8fd32c602420feb0b8fb9adccebb82461e99c5a678cc31e799176d3860e6110c46523e"},
      {Algorithm::HS512, d7,
       "e37b6a775dc87dbaa4dfa9f96e5e3ffddebd71f8867289865df5a32d20cdc944b6022cac3c4982b10d5eeb55c3e4de15134676fb6de0446065c97440fa8c6a58"},
  };
  for (const HmacCase &c : cases) {
    SCOPED_TRACE(std::string(algorithm_name(c.alg)) + " " + c.data.substr(0, 12));
    const std::string want = hex_decode(c.mac_hex);
    auto signer = hmac_context(c.alg, key, detail::SigContext::Mode::sign);
    ASSERT_TRUE(signer);
    ASSERT_EQ(signer->key().signature_size(), want.size());
    // Twice: the pooled, re-initialised context must give the same answer.
    for (int round = 0; round < 2; ++round) {
      std::vector<uint8_t> mac(want.size());
      ASSERT_TRUE(signer->sign(c.data.data(), c.data.size(), mac.data()).ok());
      EXPECT_EQ(std::string(mac.begin(), mac.end()), want);
    }
    auto verifier = hmac_context(c.alg, key, detail::SigContext::Mode::verify);
    ASSERT_TRUE(verifier);
    auto ok = verifier->verify(c.data.data(), c.data.size(),
                               reinterpret_cast<const uint8_t *>(want.data()), want.size());
    ASSERT_TRUE(ok.ok());
    EXPECT_TRUE(ok.value());
    std::string flipped = want;
    flipped.back() = char(flipped.back() ^ 0x80);
    EXPECT_FALSE(verifier->verify(c.data.data(), c.data.size(),
                                  reinterpret_cast<const uint8_t *>(flipped.data()),
                                  flipped.size())
                     .value());
    // RFC 4231 case 5 style truncation is not accepted by a JWS verifier.
    EXPECT_FALSE(verifier->verify(c.data.data(), c.data.size(),
                                  reinterpret_cast<const uint8_t *>(want.data()), 16)
                     .value());
  }
}

TEST(Rfc4231, ShortKeyCasesAreRefusedByPolicy) {
  // Case 1 (20 bytes of 0x0b) and case 2 ("Jefe"): below the hash size.
  EXPECT_EQ(Key::from_secret(Algorithm::HS256, std::string(20, '\x0b')).error().status,
            Status::key);
  EXPECT_EQ(Key::from_secret(Algorithm::HS256, "Jefe").error().status, Status::key);
  EXPECT_EQ(Key::from_secret(Algorithm::HS512, std::string(63, 'x')).error().status,
            Status::key);
  EXPECT_TRUE(Key::from_secret(Algorithm::HS512, std::string(64, 'x')).ok());
}

// ---- RFC 8037 A.4: Ed25519 is deterministic, so we must produce the RFC's JWS

TEST(Rfc8037, SignsTheRfcExampleExactly) {
  auto key = Key::private_from_pem(Algorithm::EdDSA, read_key("rfc8037_ed25519.pem"));
  ASSERT_TRUE(key.ok()) << key.error().message;
  auto jws = sign_compact(key.value(), R"({"alg":"EdDSA"})", "Example of Ed25519 signing");
  ASSERT_TRUE(jws.ok()) << jws.error().message;
  EXPECT_EQ(jws.value(),
            "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc."
            "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg");
  auto jwk = public_jwk(key.value(), std::nullopt);
  ASSERT_TRUE(jwk.ok());
  EXPECT_EQ(nlohmann::json::parse(jwk.value())["x"], "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo");
}

// ---- ES256 wire form --------------------------------------------------------

TEST(Es256Cpp, RawDerConversionMatchesOracle) {
  std::string raw(64, '\0');
  for (int i = 0; i < 64; ++i) raw[i] = char(i * 37 + 1);
  raw[0] = char(0x80);   // r needs a sign byte in DER
  raw[32] = 0;           // s has a leading zero that DER drops
  raw[33] = 0x05;
  std::string want = ujwt_test::ecdsa_raw_to_der(raw);
  uint8_t der[72];
  size_t n = detail::ecdsa_raw_to_der(reinterpret_cast<const uint8_t *>(raw.data()), der);
  ASSERT_GT(n, 0u);
  EXPECT_EQ(std::string(reinterpret_cast<char *>(der), n), want);
  uint8_t back[64];
  ASSERT_TRUE(detail::ecdsa_der_to_raw(der, n, back));
  EXPECT_EQ(std::string(reinterpret_cast<char *>(back), 64), raw);
  // Trailing garbage after the DER sequence is not a signature.
  std::string junk = want + "x";
  EXPECT_FALSE(detail::ecdsa_der_to_raw(reinterpret_cast<const uint8_t *>(junk.data()),
                                        junk.size(), back));
}

TEST(Es256Cpp, SignatureSizeAndRoundTrip) {
  auto s = Signer::create(Algorithm::ES256, read_key("ec256.pem"));
  ASSERT_TRUE(s.ok()) << s.error().message;
  Claims c;
  c.iss = "kong";
  c.now = 1700000000;
  auto token = s.value().sign(c);
  ASSERT_TRUE(token.ok());
  auto parts = ujwt_test::split_token(token.value());
  EXPECT_EQ(b64url_decode(parts[2]).size(), 64u);
  Verifier v;
  ASSERT_TRUE(v.add_key(Algorithm::ES256, read_key("ec256.pub.pem")).ok());
  VerifyOptions o;
  o.now = 1700000000;
  auto r = v.verify(token.value(), o);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r.value().alg, Algorithm::ES256);
}

TEST(Es256Cpp, SameInputGivesFreshSignaturesThatAllVerify) {
  // ECDSA needs a fresh nonce per signature; a repeated one leaks the key.
  auto key = Key::private_from_pem(Algorithm::ES256, read_key("ec256.pem"));
  ASSERT_TRUE(key.ok());
  Verifier v;
  ASSERT_TRUE(v.add_key(Algorithm::ES256, read_key("ec256.pub.pem")).ok());
  VerifyOptions o;
  o.now = 1700000000;
  std::set<std::string> sigs;
  for (int i = 0; i < 8; ++i) {
    auto t = sign_compact(key.value(), R"({"alg":"ES256"})", R"({"exp":1700000060})");
    ASSERT_TRUE(t.ok());
    EXPECT_TRUE(v.verify(t.value(), o).ok());
    sigs.insert(ujwt_test::split_token(t.value())[2]);
  }
  EXPECT_EQ(sigs.size(), 8u);
}

// ---- Signer / Verifier C++ API ---------------------------------------------

TEST(SignerCpp, SignToReportsNeededSize) {
  auto s = Signer::create(Algorithm::HS256, std::string(32, 's'), std::string("k"));
  ASSERT_TRUE(s.ok());
  Claims c;
  c.iss = "kong";
  c.now = 1700000000;
  char tiny[8];
  auto r = s.value().sign_to(c, tiny, sizeof tiny);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().status, Status::buffer_too_small);
  std::vector<char> buf(r.error().needed);
  auto r2 = s.value().sign_to(c, buf.data(), buf.size());
  ASSERT_TRUE(r2.ok()) << r2.error().message;
  EXPECT_EQ(r2.value(), buf.size());
  EXPECT_EQ(b64url_decode(std::string(s.value().encoded_header())),
            R"({"alg":"HS256","typ":"JWT","kid":"k"})");
}

TEST(VerifierCpp, VerifiedTokenCarriesHeaderPayloadKidJti) {
  auto s = Signer::create(Algorithm::HS384, std::string(48, 's'), std::string("k9"));
  ASSERT_TRUE(s.ok());
  Claims c;
  c.iss = "kong";
  c.now = 1700000000;
  c.ttl = 30;
  auto token = s.value().sign(c);
  ASSERT_TRUE(token.ok());
  Verifier v;
  ASSERT_TRUE(v.add_key(Algorithm::HS384, std::string(48, 's'), std::string("k9")).ok());
  EXPECT_EQ(v.key_count(), 1u);
  InMemoryReplayCache cache(4);  // replay_expires_at is computed for it
  VerifyOptions o;
  o.now = 1700000010;
  o.leeway = 2;
  o.replay_cache = &cache;
  auto r = v.verify(token.value(), o);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r.value().header, R"({"alg":"HS384","typ":"JWT","kid":"k9"})");
  EXPECT_EQ(r.value().kid, std::optional<std::string>("k9"));
  ASSERT_TRUE(r.value().jti.has_value());
  EXPECT_EQ(r.value().jti->size(), 22u);
  EXPECT_EQ(r.value().replay_expires_at, 1700000032);
  EXPECT_EQ(r.value().now, 1700000010);
  auto j = nlohmann::json::parse(r.value().payload);
  EXPECT_EQ(j["exp"], 1700000030);
}

TEST(VerifierCpp, SplitVerifyDoesNotBurnJtiUntilRecorded) {
  auto s = Signer::create(Algorithm::HS256, std::string(32, 's'));
  ASSERT_TRUE(s.ok());
  Claims c;
  c.iss = "kong";
  c.now = 1700000000;
  auto token = s.value().sign(c).value();
  Verifier v;
  ASSERT_TRUE(v.add_key(Algorithm::HS256, std::string(32, 's')).ok());
  InMemoryReplayCache cache(4);
  VerifyOptions o;
  o.now = 1700000000;
  o.replay_cache = &cache;
  auto first = v.verify_without_replay(token, o);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(cache.size(), 0u);
  ASSERT_TRUE(v.verify_without_replay(token, o).ok());
  ASSERT_TRUE(v.record_replay(first.value(), o).ok());
  auto again = v.record_replay(first.value(), o);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().reason, Reason::replayed);
  auto full = v.verify(token, o);
  ASSERT_FALSE(full.ok());
  EXPECT_EQ(full.error().reason, Reason::replayed);
}

TEST(VerifierCpp, HeaderListArgumentsThroughTheCppApi) {
  auto s = Signer::create(Algorithm::HS256, std::string(32, 's'));
  ASSERT_TRUE(s.ok());
  auto digest = headers_sha256("x-a", HeaderList());
  ASSERT_TRUE(digest.ok());
  EXPECT_EQ(digest.value(), sha256_b64("x-a:\n").value());
  Claims c;
  c.iss = "kong";
  c.now = 1700000000;
  c.hdr_names = "X-A";
  c.hdr_sha256 = digest.value();
  const std::string token = s.value().sign(c).value();
  Verifier v;
  ASSERT_TRUE(v.add_key(Algorithm::HS256, std::string(32, 's')).ok());
  VerifyOptions o;
  o.now = 1700000000;
  o.headers = HeaderList();  // checked; the request had no headers at all
  EXPECT_TRUE(v.verify(token, o).ok());
  const std::vector<Header> lines = {{"X-A", "1"}};
  o.headers = HeaderList(lines);
  auto r = v.verify(token, o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().reason, Reason::header_mismatch);
  o.headers = HeaderList(nullptr, 2);
  r = v.verify(token, o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().status, Status::invalid_argument);
  EXPECT_EQ(headers_sha256("x-a", HeaderList(nullptr, 1)).error().status, Status::invalid_argument);
  auto names = parse_header_names("Content-Type,X-A");
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(names.value(), (std::vector<std::string>{"content-type", "x-a"}));
  EXPECT_EQ(validate_header_names("a,b,c").value(), 3u);
  EXPECT_TRUE(is_header_token("x-a"));
  EXPECT_FALSE(is_header_token(""));
}

// ---- replay cache ---------------------------------------------------------------

TEST(ReplayCacheCpp, RemembersUntilExpiry) {
  InMemoryReplayCache c(8);
  EXPECT_EQ(c.check_and_insert("a", 100, 50), ReplayCheck::recorded);
  EXPECT_EQ(c.check_and_insert("a", 100, 60), ReplayCheck::replayed);
  EXPECT_EQ(c.check_and_insert("a", 100, 99), ReplayCheck::replayed);
  // Once the token has expired it can no longer be replayed (the verifier
  // rejects it as expired), so the entry may go and the jti is free again.
  EXPECT_EQ(c.check_and_insert("a", 200, 101), ReplayCheck::recorded);
}

TEST(ReplayCacheCpp, FullOfLiveEntriesRefusesAndNeverEvicts) {
  InMemoryReplayCache c(3);
  EXPECT_EQ(c.check_and_insert("late", 500, 0), ReplayCheck::recorded);
  EXPECT_EQ(c.check_and_insert("soon", 100, 0), ReplayCheck::recorded);
  EXPECT_EQ(c.check_and_insert("mid", 300, 0), ReplayCheck::recorded);
  EXPECT_EQ(c.size(), 3u);
  EXPECT_EQ(c.check_and_insert("new", 400, 0), ReplayCheck::full);
  EXPECT_EQ(c.size(), 3u);
  // Every live entry is still there, the soonest-expiring one included.
  EXPECT_EQ(c.check_and_insert("soon", 100, 99), ReplayCheck::replayed);
  EXPECT_EQ(c.check_and_insert("mid", 300, 99), ReplayCheck::replayed);
  EXPECT_EQ(c.check_and_insert("late", 500, 99), ReplayCheck::replayed);
  // The refused jti was never recorded: refused again, not called a replay.
  EXPECT_EQ(c.check_and_insert("new", 400, 99), ReplayCheck::full);
  // Once "soon" has expired (at 100) there is room again.
  EXPECT_EQ(c.check_and_insert("new", 400, 100), ReplayCheck::recorded);
  EXPECT_EQ(c.size(), 3u);
  EXPECT_EQ(c.capacity(), 3u);
}

TEST(ReplayCacheCpp, EntryIsLiveUntilItsExpiryInstant) {
  InMemoryReplayCache c(1);
  EXPECT_EQ(c.check_and_insert("a", 100, 0), ReplayCheck::recorded);
  EXPECT_EQ(c.check_and_insert("a", 100, 99), ReplayCheck::replayed);
  EXPECT_EQ(c.check_and_insert("b", 200, 99), ReplayCheck::full);
  // At now == expires_at the entry is dead: its token is expired too.
  EXPECT_EQ(c.check_and_insert("b", 200, 100), ReplayCheck::recorded);
  EXPECT_EQ(c.check_and_insert("a", 300, 150), ReplayCheck::full);
  EXPECT_EQ(c.check_and_insert("b", 200, 199), ReplayCheck::replayed);
  EXPECT_EQ(c.check_and_insert("b", 260, 200), ReplayCheck::recorded) << "expired jti is free again";
}

TEST(ReplayCacheCpp, CapturedTokenIsNotAcceptedAgainAfterFreshTokensFillTheCache) {
  // issue 11 item 3: with capacity 3 a captured token used to be accepted
  // again after 3 fresh tokens (the soonest-expiring live entry was evicted).
  auto s = Signer::create(Algorithm::HS256, std::string(32, 's'));
  ASSERT_TRUE(s.ok());
  Verifier v;
  ASSERT_TRUE(v.add_key(Algorithm::HS256, std::string(32, 's')).ok());
  InMemoryReplayCache cache(3);
  VerifyOptions o;
  o.now = 1700000000;
  o.replay_cache = &cache;
  Claims c;
  c.iss = "kong";
  c.now = 1700000000;
  const std::string captured = s.value().sign(c).value();
  ASSERT_TRUE(v.verify(captured, o).ok());
  for (int i = 0; i < 3; ++i) {
    auto fresh = v.verify(s.value().sign(c).value(), o);
    if (i < 2) {
      EXPECT_TRUE(fresh.ok()) << i;
    } else {
      ASSERT_FALSE(fresh.ok());
      EXPECT_EQ(fresh.error().reason, Reason::replay_cache_full);
      EXPECT_EQ(reason_name(fresh.error().reason), "replay_cache_full");
    }
  }
  auto replay = v.verify(captured, o);
  ASSERT_FALSE(replay.ok()) << "captured token accepted again";
  EXPECT_EQ(replay.error().reason, Reason::replayed);
  // When the tokens expire (exp = now + 60) the entries go and room returns.
  o.now = 1700000060;
  c.now = 1700000060;
  EXPECT_TRUE(v.verify(s.value().sign(c).value(), o).ok());
}

TEST(ReplayCacheCpp, ExpiredEntriesGoFirst) {
  InMemoryReplayCache c(2);
  EXPECT_EQ(c.check_and_insert("old", 10, 0), ReplayCheck::recorded);
  EXPECT_EQ(c.check_and_insert("keep", 1000, 0), ReplayCheck::recorded);
  EXPECT_EQ(c.check_and_insert("new", 900, 50), ReplayCheck::recorded);  // "old" expired at 10
  EXPECT_EQ(c.check_and_insert("keep", 1000, 60), ReplayCheck::replayed);
  EXPECT_EQ(c.check_and_insert("new", 900, 60), ReplayCheck::replayed);
}

// ---- JWK import -------------------------------------------------------------

TEST(JwkCpp, AlgConflictAndUseAreChecked) {
  const std::string oct = R"({"kty":"oct","alg":"HS256","k":")" +
                          base64url_encode(std::string(32, 'k')) + "\"}";
  EXPECT_TRUE(parse_jwks(oct, std::nullopt).ok());
  EXPECT_TRUE(parse_jwks(oct, Algorithm::HS256).ok());
  EXPECT_EQ(parse_jwks(oct, Algorithm::HS384).error().status, Status::key);
  const std::string enc = R"({"kty":"oct","use":"enc","alg":"HS256","k":")" +
                          base64url_encode(std::string(32, 'k')) + "\"}";
  EXPECT_FALSE(parse_jwks(enc, std::nullopt).ok());
  const std::string no_alg = R"({"kty":"oct","k":")" + base64url_encode(std::string(32, 'k')) + "\"}";
  EXPECT_FALSE(parse_jwks(no_alg, std::nullopt).ok());
  EXPECT_FALSE(parse_jwks("{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-384\",\"alg\":\"ES256\",\"x\":\"AA\",\"y\":\"AA\"}]}",
                          std::nullopt)
                   .ok());
  EXPECT_FALSE(parse_jwks("not json", std::nullopt).ok());
}

TEST(JwkCpp, PublicJwkRoundTripsForEveryAsymmetricAlg) {
  struct Case {
    Algorithm alg;
    const char *priv;
  } cases[] = {{Algorithm::RS256, "rsa2048.pem"},
               {Algorithm::PS256, "rsa2048.pem"},
               {Algorithm::ES256, "ec256.pem"},
               {Algorithm::EdDSA, "ed25519.pem"}};
  for (const Case &c : cases) {
    SCOPED_TRACE(std::string(algorithm_name(c.alg)));
    auto jwks = jwks_from_pem(read_key(c.priv), std::string_view("kid-x"), c.alg);
    ASSERT_TRUE(jwks.ok()) << jwks.error().message;
    auto keys = parse_jwks(jwks.value(), std::nullopt);
    ASSERT_TRUE(keys.ok()) << keys.error().message;
    ASSERT_EQ(keys.value().size(), 1u);
    EXPECT_EQ(keys.value()[0].kid, std::optional<std::string>("kid-x"));
    EXPECT_EQ(keys.value()[0].key.algorithm(), c.alg);
    EXPECT_FALSE(keys.value()[0].key.has_private());
  }
}
