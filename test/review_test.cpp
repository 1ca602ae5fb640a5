// review_test.cpp — regression and property tests from the security review
// of the C++ core: the hand-written fast paths (SIMD base64url, low-level
// SHA-2/HMAC, SIMD JSON escaping) against independent oracles on many
// random lengths and alignments, messages that stay valid one-line UTF-8,
// and jti bytes that a forked child never shares with its parent.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "fast_sha.hpp"
#include "json_util.hpp"
#include "sig_context.hpp"
#include "test_util.hpp"
#include "upstream_jwt/all.hpp"

using namespace upstream_jwt;

namespace {

std::string random_bytes(std::mt19937_64& rng, std::size_t n) {
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng() & 0xFF);
  return s;
}

// Lengths that matter to block-based code (SIMD steps of 12/16 bytes, SHA
// blocks of 64/128 bytes with their 8/16-byte length trailer), every length
// up to a few blocks, then random ones.
std::vector<std::size_t> interesting_lengths(std::mt19937_64& rng, std::size_t dense,
                                             std::size_t random_count, std::size_t max) {
  std::vector<std::size_t> out;
  for (std::size_t n = 0; n <= dense; ++n) out.push_back(n);
  for (std::size_t i = 0; i < random_count; ++i) out.push_back(rng() % (max + 1));
  return out;
}

std::string jti_of(const std::string& token) {
  const auto parts = ujwt_test::split_token(token);
  return nlohmann::json::parse(ujwt_test::b64url_decode(parts.at(1))).at("jti").get<std::string>();
}

}  // namespace

// ---- base64url: SIMD kernel + scalar tail ---------------------------------

// Every length 0..520 and random lengths up to 70 000, from every source
// alignment 0..15, into a buffer with guard bytes on both sides: the output
// equals an independent scalar encoder, nothing outside [0, size) is
// written, and the strict decoder gives the input back.
TEST(ReviewBase64, EncoderMatchesScalarForRandomLengthsAndAlignments) {
  std::mt19937_64 rng(0x5eed0001);
  for (std::size_t n : interesting_lengths(rng, 520, 300, 70000)) {
    // The input ends exactly where its allocation ends, so a kernel that
    // reads past the end is caught by ASan (make test under the sanitizer).
    const std::size_t align = rng() % 16;
    const std::string bytes = random_bytes(rng, n);
    std::unique_ptr<char[]> backing(new char[align + n]);
    std::memcpy(backing.get() + align, bytes.data(), n);
    const std::string_view in(backing.get() + align, n);
    const std::size_t m = base64url_encoded_size(n);
    std::string out(m + 64, '\x7f');
    base64url_encode_to(in.data(), n, out.data() + 32);
    ASSERT_EQ(out.substr(32, m), ujwt_test::b64url_encode(in)) << "length " << n << " align " << align;
    ASSERT_EQ(out.substr(0, 32), std::string(32, '\x7f')) << "wrote before the buffer, length " << n;
    ASSERT_EQ(out.substr(32 + m), std::string(32, '\x7f')) << "wrote past the end, length " << n;
    auto back = base64url_decode(out.substr(32, m));
    ASSERT_TRUE(back.has_value()) << "length " << n;
    ASSERT_EQ(*back, in) << "length " << n;
  }
}

// ---- SHA-256 / HMAC: low-level fast path and the path the core really uses --

TEST(ReviewFastSha, Sha256StreamedInRandomChunksMatchesEvp) {
  std::mt19937_64 rng(0x5eed0002);
  auto h = Sha256::create();
  ASSERT_TRUE(h);
  for (std::size_t n : interesting_lengths(rng, 300, 60, 200000)) {
    const std::string data = random_bytes(rng, n);
    const std::string want = ujwt_test::sha256_b64(data);
    std::size_t pos = 0;
    while (pos < n) {
      const std::size_t chunk = std::min<std::size_t>(n - pos, 1 + rng() % 200);
      ASSERT_TRUE(h.value().update(std::string_view(data).substr(pos, chunk)));
      pos += chunk;
    }
    auto got = h.value().final_b64();
    ASSERT_TRUE(got);
    ASSERT_EQ(got.value(), want) << "length " << n;
    auto one = sha256_b64(data);
    ASSERT_TRUE(one);
    ASSERT_EQ(one.value(), want) << "one-shot, length " << n;
  }
}

// The HMAC the signer and verifier actually run (SigContext: the pre-keyed
// low-level states outside FIPS mode, EVP_MAC otherwise) against OpenSSL's
// one-shot HMAC, for secrets shorter than, equal to and longer than the
// hash block (longer ones are hashed first, RFC 2104) and messages of every
// length around the block boundaries.
TEST(ReviewFastSha, SignatureEngineHmacMatchesOpenSslHmac) {
  std::mt19937_64 rng(0x5eed0003);
  struct Case { Algorithm alg; const EVP_MD* md; std::size_t block; };
  const Case cases[] = {{Algorithm::HS256, EVP_sha256(), 64},
                        {Algorithm::HS384, EVP_sha384(), 128},
                        {Algorithm::HS512, EVP_sha512(), 128}};
  for (const Case& c : cases) {
    const std::size_t min = hmac_min_secret_size(c.alg);
    const std::size_t key_lengths[] = {min, c.block - 1, c.block, c.block + 1, 2 * c.block + 7, 300};
    for (std::size_t key_len : key_lengths) {
      const std::string secret = random_bytes(rng, key_len);
      auto key = Key::from_secret(c.alg, secret);
      ASSERT_TRUE(key);
      auto ctx = detail::SigContext::create(key.value(), detail::SigContext::Mode::sign);
      ASSERT_TRUE(ctx);
      auto vctx = detail::SigContext::create(key.value(), detail::SigContext::Mode::verify);
      ASSERT_TRUE(vctx);
      for (std::size_t n : interesting_lengths(rng, 2 * c.block + 20, 20, 5000)) {
        const std::string data = random_bytes(rng, n);
        const std::string want = ujwt_test::hmac(c.md, secret, data);
        std::uint8_t sig[detail::kMaxSignatureSize];
        ASSERT_TRUE(ctx.value()->sign(data.data(), n, sig));
        ASSERT_EQ(std::string(reinterpret_cast<const char*>(sig), key.value().signature_size()), want)
            << algorithm_name(c.alg) << " key " << key_len << " data " << n;
        auto ok = vctx.value()->verify(data.data(), n, reinterpret_cast<const std::uint8_t*>(want.data()),
                                       want.size());
        ASSERT_TRUE(ok);
        ASSERT_TRUE(ok.value());
      }
    }
  }
}

#if UPSTREAM_JWT_HAVE_FAST_SHA
// FastHmac directly, including key lengths the Key policy refuses (0..31):
// the class itself must be a correct HMAC for any key.
TEST(ReviewFastSha, FastHmacMatchesOpenSslForAnyKeyLength) {
  std::mt19937_64 rng(0x5eed0004);
  struct Case { std::size_t size; const EVP_MD* md; };
  const Case cases[] = {{32, EVP_sha256()}, {48, EVP_sha384()}, {64, EVP_sha512()}};
  for (const Case& c : cases) {
    for (std::size_t key_len = 0; key_len <= 260; key_len += (key_len < 140 ? 1 : 13)) {
      const std::string secret = random_bytes(rng, key_len);
      detail::FastHmac mac(c.size, reinterpret_cast<const std::uint8_t*>(secret.data()), key_len);
      const std::size_t n = rng() % 400;
      const std::string data = random_bytes(rng, n);
      std::uint8_t out[64];
      mac.mac(data.data(), n, out);
      ASSERT_EQ(std::string(reinterpret_cast<const char*>(out), c.size),
                ujwt_test::hmac(c.md, secret, data))
          << "size " << c.size << " key " << key_len << " data " << n;
    }
  }
}
#endif

// ---- JSON string writer (signing hot path) ---------------------------------

// Random strings mixing ASCII, every character JSON must escape and
// multi-byte UTF-8, at every length 0..300 and random ones to 5000: the
// raw-pointer writer equals append_json_string, stays inside
// json_string_max_size, and a real JSON parser reads back the exact input.
TEST(ReviewJson, WriteJsonStringMatchesAppendAndRoundTrips) {
  std::mt19937_64 rng(0x5eed0005);
  const std::string pieces[] = {"a", "Z", "0", "/", " ", "~", "\x7f", "\"", "\\", "\n", "\r",
                                std::string(1, '\0'), "\x1f", "\x01", "\xc3\xa9",
                                "\xe2\x80\xa8", "\xf0\x9f\x98\x80"};
  for (std::size_t n : interesting_lengths(rng, 300, 200, 5000)) {
    std::string s;
    // Mostly plain runs (the SIMD scan's fast case) with escapes sprinkled.
    while (s.size() < n) {
      const auto r = rng() % 100;
      s += r < 80 ? pieces[rng() % 6] : pieces[rng() % (sizeof pieces / sizeof pieces[0])];
    }
    ASSERT_TRUE(detail::utf8_valid(s));
    std::string appended;
    detail::append_json_string(appended, s);
    const std::size_t cap = detail::json_string_max_size(s.size());
    std::string buf(cap + 32, '\x55');
    char* end = detail::write_json_string(buf.data(), s);
    const std::size_t len = static_cast<std::size_t>(end - buf.data());
    ASSERT_LE(len, cap) << "length " << s.size();
    ASSERT_EQ(buf.substr(cap), std::string(32, '\x55')) << "wrote past the bound, length " << s.size();
    ASSERT_EQ(buf.substr(0, len), appended) << "length " << s.size();
    ASSERT_EQ(nlohmann::json::parse(appended).get<std::string>(), s) << "length " << s.size();
    ASSERT_EQ(appended.find_first_of(std::string("\r\n\0", 3)), std::string::npos);
  }
}

// utf8_valid skips ASCII 8 bytes at a time: random strings of ASCII runs
// with random bytes dropped in at every offset (so invalid sequences start,
// end and straddle the 8-byte steps) are judged exactly as nlohmann's
// RFC 3629 lexer judges them.
TEST(ReviewJson, Utf8ValidMatchesAStrictDecoder) {
  std::mt19937_64 rng(0x5eed0006);
  auto oracle = [](const std::string& s) {
    return !nlohmann::json::parse("\"" + s + "\"", nullptr, false).is_discarded();
  };
  const std::string tails[] = {"\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xc0\xaf",
                               "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe0\x80\xaf", "\xf0\x80\x80\xaf",
                               "\xc3", "\xe2\x82", "\x80", "\xff", "\xf5\x80\x80\x80"};
  for (int round = 0; round < 20000; ++round) {
    std::string s(rng() % 40, 'a');
    for (auto& c : s) c = static_cast<char>('0' + rng() % 40);  // ASCII, no '"' or '\\'
    const int inserts = static_cast<int>(rng() % 3);
    for (int k = 0; k < inserts; ++k) {
      const std::size_t at = s.empty() ? 0 : rng() % (s.size() + 1);
      std::string piece = rng() % 2 ? tails[rng() % (sizeof tails / sizeof tails[0])]
                                    : std::string(1, static_cast<char>(0x80 | (rng() & 0x7F)));
      s.insert(at, piece);
    }
    ASSERT_EQ(detail::utf8_valid(s), oracle(s)) << ::testing::PrintToString(s);
  }
}

// ---- messages ---------------------------------------------------------------

// A rejection quotes the token's kid bounded to 64 bytes. Cutting inside a
// multi-byte character made the message invalid UTF-8.
TEST(ReviewMessages, TruncatedQuotedValuesStayValidUtf8) {
  const std::string secret(32, 'k');
  Verifier v;
  ASSERT_TRUE(v.add_key(Algorithm::HS256, secret, std::string_view("only")));
  auto key = Key::from_secret(Algorithm::HS256, secret);
  ASSERT_TRUE(key);
  for (std::size_t pad = 60; pad <= 66; ++pad) {
    const std::string kid = std::string(pad, 'x') + "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80zz";
    auto token = sign_compact(key.value(), "{\"alg\":\"HS256\",\"kid\":\"" + kid + "\"}",
                              "{\"exp\":99999999999}");
    ASSERT_TRUE(token);
    auto r = v.verify(token.value(), {});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().reason, Reason::unknown_kid);
    EXPECT_TRUE(detail::utf8_valid(r.error().message)) << "pad " << pad << ": " << r.error().message;
    EXPECT_NE(r.error().message.find("..."), std::string::npos);
  }
}

// JWKS may come from a remote endpoint: a member value quoted in an error
// must not carry CR/LF (log line injection) or NUL (C string truncation).
TEST(ReviewMessages, JwkErrorsEscapeTheValuesTheyQuote) {
  const char* docs[] = {
      R"({"kty":"oct","alg":"HS256\r\nX-Injected: 1","k":"AAAA"})",
      R"({"kty":"oct\r\nX-Injected: 1","alg":"HS256"})",
      R"({"kty":"RSA\u0000hidden","alg":"RS256"})",
  };
  for (const char* doc : docs) {
    auto r = parse_jwks(doc, std::nullopt);
    ASSERT_FALSE(r) << doc;
    const std::string& msg = r.error().message;
    EXPECT_EQ(msg.find_first_of(std::string("\r\n\0", 3)), std::string::npos) << msg;
    // The value is still shown, escaped.
    EXPECT_TRUE(msg.find("X-Injected") != std::string::npos ||
                msg.find("hidden") != std::string::npos)
        << msg;
  }
}

// ---- jti randomness ---------------------------------------------------------

// jti bytes come from a per-thread batch. A child forked after the parent
// has drawn from its batch must not hand out the parent's next bytes.
TEST(ReviewJti, ForkedChildNeverReusesTheParentsBatch) {
  auto signer = Signer::create(Algorithm::HS256, std::string(32, 's'));
  ASSERT_TRUE(signer);
  Claims c;
  c.iss = "kong";
  ASSERT_TRUE(signer.value().sign(c));  // the batch is filled and partly used
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t pid = fork();
  ASSERT_NE(pid, -1);
  if (pid == 0) {
    close(fds[0]);
    auto t = signer.value().sign(c);
    const std::string jti = t ? jti_of(t.value()) : std::string();
    const ssize_t w = write(fds[1], jti.data(), jti.size());
    _exit(w == static_cast<ssize_t>(jti.size()) && !jti.empty() ? 0 : 1);
  }
  close(fds[1]);
  auto t = signer.value().sign(c);
  ASSERT_TRUE(t);
  const std::string parent_jti = jti_of(t.value());
  char buf[64];
  const ssize_t r = read(fds[0], buf, sizeof buf);
  close(fds[0]);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  ASSERT_GT(r, 0);
  EXPECT_NE(std::string(buf, static_cast<std::size_t>(r)), parent_jti);
}

// ---- provider policy --------------------------------------------------------

// The low-level SHA-2 fast path bypasses OpenSSL's providers, so it may only
// stand in for the built-in default provider. Run by the ctest entry
// core.review.no_default_provider with OPENSSL_CONF pointing at a
// configuration that loads only the base provider (what code outside the
// module sees when only the FIPS and base providers are loaded): then nothing
// may hash or MAC at all. Before the provider check, HMAC signers and
// sha256_b64 kept working on libcrypto's own SHA-2 code.
TEST(ReviewProviders, NoHashingOutsideTheConfiguredProviders) {
  if (std::getenv("UJWT_TEST_NO_DEFAULT_PROVIDER") == nullptr)
    GTEST_SKIP() << "runs under test/openssl-no-default-provider.cnf only";
  EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  EVP_MD_free(md);
  ASSERT_EQ(md, nullptr) << "OPENSSL_CONF did not take effect";
  EXPECT_FALSE(detail::fast_sha_available());
  EXPECT_FALSE(Signer::create(Algorithm::HS256, std::string(32, 'k')));
  EXPECT_FALSE(sha256_b64("abc"));
  EXPECT_FALSE(Sha256::create());
  Verifier v;
  EXPECT_FALSE(v.add_key(Algorithm::HS512, std::string(64, 'k')));
}
