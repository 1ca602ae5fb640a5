// abi_alloc_test.cpp — the C ABI under allocation failure.
//
// This executable replaces the global operator new and links the ABI
// statically (upstream_jwt_static), so a test can make the Nth allocation
// inside one call throw std::bad_alloc. For every N up to the call's last
// allocation: the call returns UJWT_ERR_INTERNAL (never terminates, never
// lets an exception into C), leaves no half-made handle behind, and the
// objects it touched keep their guarantees afterwards. Under ASan
// (UPSTREAM_JWT_SANITIZE) it also shows those error paths leak nothing.
//
// Calls that destroy a non-empty parsed JSON value are not driven here:
// nlohmann/json 3.11 allocates inside basic_json's (noexcept) destructor,
// so a failure exactly there is std::terminate whatever this library does.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <new>
#include <string>
#include <utility>

#include "abi_util.hpp"
#include "test_util.hpp"
#include "upstream_jwt.h"
#include "upstream_jwt/replay_cache.hpp"
#include "upstream_jwt/verifier.hpp"

namespace {
// Allocations left before the injected failure; negative = never fail.
long long g_allocs_before_failure = -1;
bool g_failed = false;

void* allocate(std::size_t n) {
  if (g_allocs_before_failure == 0) {
    g_allocs_before_failure = -1;  // one failure per armed call
    g_failed = true;
    throw std::bad_alloc();
  }
  if (g_allocs_before_failure > 0) --g_allocs_before_failure;
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}

// Runs f with the k-th allocation failing; returns f's status and whether
// the failure was actually reached (false: the call needs fewer than k+1
// allocations, so every failure point has been covered).
template <class F>
int with_failure_at(long long k, bool& reached, F&& f) {
  g_failed = false;
  g_allocs_before_failure = k;
  const int rc = f();
  g_allocs_before_failure = -1;
  reached = g_failed;
  return rc;
}

constexpr long long kMaxPoints = 400;
}  // namespace

void* operator new(std::size_t n) { return allocate(n); }
void* operator new[](std::size_t n) { return allocate(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

using namespace ujwt_test;

namespace {
const std::string kSecret(32, 'k');

// Every failure point of `call` gives UJWT_ERR_INTERNAL with the error
// struct filled; the first run without a failure gives UJWT_OK. prepare()
// and cleanup() run around each attempt with allocation failures disarmed.
template <class Prepare, class F, class Cleanup>
void expect_clean_failures(const char* what, Prepare&& prepare, F&& call, Cleanup&& cleanup) {
  for (long long k = 0; k < kMaxPoints; ++k) {
    prepare();
    ujwt_error err{};
    bool reached = false;
    const int rc = with_failure_at(k, reached, [&] { return call(&err); });
    cleanup();
    if (!reached) {
      EXPECT_EQ(rc, UJWT_OK) << what << ": " << err.message;
      return;
    }
    ASSERT_EQ(rc, UJWT_ERR_INTERNAL) << what << " allocation " << k << ": " << err.message;
    EXPECT_EQ(err.status, UJWT_ERR_INTERNAL);
    EXPECT_STREQ(err.message, "out of memory");
  }
  ADD_FAILURE() << what << " still allocating after " << kMaxPoints << " allocations";
}
template <class F>
void expect_clean_failures(const char* what, F&& call) {
  expect_clean_failures(what, [] {}, std::forward<F>(call), [] {});
}

// A constructor: on every failure point *out is cleared (whatever the
// caller left in it) and nothing leaks; returns the handle of the first
// run that needed no failure.
template <class Handle, class Make>
Handle* check_new(const char* what, Make&& make) {
  for (long long k = 0; k < kMaxPoints; ++k) {
    ujwt_error err{};
    bool reached = false;
    Handle* handle = reinterpret_cast<Handle*>(std::uintptr_t{0x10});  // a stale value
    const int rc = with_failure_at(k, reached, [&] { return make(&handle, &err); });
    if (!reached) {
      EXPECT_EQ(rc, UJWT_OK) << what << ": " << err.message;
      return rc == UJWT_OK ? handle : nullptr;
    }
    EXPECT_EQ(rc, UJWT_ERR_INTERNAL) << what << " allocation " << k;
    EXPECT_EQ(handle, nullptr) << what << " allocation " << k << ": *out not cleared";
    if (rc == UJWT_OK) return handle;
  }
  ADD_FAILURE() << what << " still allocating after " << kMaxPoints << " allocations";
  return nullptr;
}
}  // namespace

TEST(AbiAllocFailure, ConstructorsLeaveNoHandleBehind) {
  const std::string ec = read_key("ec256.pem");
  ujwt_digest_free(check_new<ujwt_digest>(
      "digest_new", [](ujwt_digest** h, ujwt_error* e) { return ujwt_digest_new(h, e); }));
  ujwt_verifier_free(check_new<ujwt_verifier>(
      "verifier_new", [](ujwt_verifier** h, ujwt_error* e) { return ujwt_verifier_new(h, e); }));
  ujwt_replay_cache_free(check_new<ujwt_replay_cache>(
      "replay_cache_new",
      [](ujwt_replay_cache** h, ujwt_error* e) { return ujwt_replay_cache_new(16, h, e); }));
  ujwt_signer_free(check_new<ujwt_signer>("signer_new HS256", [](ujwt_signer** h, ujwt_error* e) {
    return ujwt_signer_new("HS256", 5, u8(kSecret), kSecret.size(), "kid-1", 5, h, e);
  }));
  ujwt_signer_free(check_new<ujwt_signer>("signer_new ES256", [&](ujwt_signer** h, ujwt_error* e) {
    return ujwt_signer_new("ES256", 5, u8(ec), ec.size(), nullptr, 0, h, e);
  }));
}

TEST(AbiAllocFailure, SignAddKeyAndJwksFailClosed) {
  ujwt_signer* s = nullptr;
  ASSERT_EQ(ujwt_signer_new("HS256", 5, u8(kSecret), kSecret.size(), nullptr, 0, &s, nullptr), UJWT_OK);
  SignerPtr signer(s);
  ClaimsSpec spec;
  spec.aud = "orders";
  spec.sub = "c-1";
  spec.consumer_username = "alice\r\n";
  spec.htm = "POST";
  spec.htu = "/v1/orders";
  spec.query = "a=1";
  const ujwt_claims c = spec.c();
  std::string token(2048, '\0');
  std::size_t token_len = 0;
  expect_clean_failures("sign", [&](ujwt_error* e) {
    return ujwt_sign(signer.get(), &c, token.data(), token.size(), &token_len, e);
  });
  token.resize(token_len);

  ujwt_verifier* v = nullptr;
  ASSERT_EQ(ujwt_verifier_new(&v, nullptr), UJWT_OK);
  VerifierPtr verifier(v);
  ujwt_verifier* fresh = nullptr;
  auto make_fresh = [&] { ASSERT_EQ(ujwt_verifier_new(&fresh, nullptr), UJWT_OK); };
  auto drop_fresh = [&] {
    ujwt_verifier_free(fresh);
    fresh = nullptr;
  };
  expect_clean_failures(
      "add_key", make_fresh,
      [&](ujwt_error* e) {
        return ujwt_verifier_add_key(fresh, "HS256", 5, u8(kSecret), kSecret.size(), "k", 1, e);
      },
      drop_fresh);
  ASSERT_EQ(ujwt_verifier_add_key(verifier.get(), "HS256", 5, u8(kSecret), kSecret.size(), nullptr, 0,
                                  nullptr),
            UJWT_OK);

  const std::string pem = read_key("ec256.pem");
  std::string jwks(1024, '\0');
  std::size_t jwks_len = 0;
  expect_clean_failures("jwks_from_pem", [&](ujwt_error* e) {
    return ujwt_jwks_from_pem(u8(pem), pem.size(), "kid", 3, nullptr, 0, jwks.data(), jwks.size(),
                              &jwks_len, e);
  });
}

// Recording a jti that fails for want of memory (ujwt_verify then answers
// UJWT_ERR_INTERNAL) must leave the replay cache exactly as it was. A
// half-recorded jti (its expiry indexed, its name not) was later evicted as
// "expired" by name, dropping the entry of a properly recorded token with
// the same jti, whose replay was then accepted.
TEST(AbiAllocFailure, FailedReplayRecordingLeavesTheCacheConsistent) {
  constexpr std::int64_t t0 = kNow;
  for (long long k = 0; k < kMaxPoints; ++k) {
    upstream_jwt::InMemoryReplayCache cache(2);
    bool reached = false;
    bool threw = false;
    with_failure_at(k, reached, [&] {
      try {
        EXPECT_EQ(cache.check_and_insert("J", t0 + 10, t0), upstream_jwt::ReplayCheck::recorded);  // expires first
      } catch (const std::bad_alloc&) {
        threw = true;
      }
      return 0;
    });
    if (!reached) return;
    ASSERT_TRUE(threw) << "allocation " << k;
    // The refused token left nothing behind; the same jti with a later
    // expiry, then two others once a stale index entry (t0 + 10) would have
    // expired: the second makes the cache drop expired entries, which must
    // not take the live J with it.
    using upstream_jwt::ReplayCheck;
    ASSERT_EQ(cache.check_and_insert("J", t0 + 1000, t0), ReplayCheck::recorded) << "allocation " << k;
    ASSERT_EQ(cache.check_and_insert("C", t0 + 500, t0 + 20), ReplayCheck::recorded);
    ASSERT_EQ(cache.check_and_insert("D", t0 + 2000, t0 + 20), ReplayCheck::full);
    EXPECT_EQ(cache.check_and_insert("J", t0 + 1000, t0 + 20), ReplayCheck::replayed)
        << "allocation " << k << ": replay of J accepted";
    EXPECT_EQ(cache.size(), 2u);
  }
  ADD_FAILURE() << "check_and_insert still allocating after " << kMaxPoints << " allocations";
}

TEST(AbiAllocFailure, VerifyOutputWithoutLengthPointerIsRefused) {
  // Not an allocation case, but the same contract: the claims JSON is not
  // NUL-terminated, so output without *out_len cannot be used (and a too
  // small buffer could not report its needed size).
  ujwt_verifier* v = nullptr;
  ASSERT_EQ(ujwt_verifier_new(&v, nullptr), UJWT_OK);
  VerifierPtr verifier(v);
  ASSERT_EQ(ujwt_verifier_add_key(v, "HS256", 5, u8(kSecret), kSecret.size(), nullptr, 0, nullptr),
            UJWT_OK);
  const std::string t = forge_hs(R"({"alg":"HS256"})", R"({"exp":99999999999})", kSecret);
  char out[256];
  ujwt_error err{};
  EXPECT_EQ(ujwt_verify(v, t.data(), t.size(), nullptr, out, sizeof out, nullptr, &err),
            UJWT_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(ujwt_verify(v, t.data(), t.size(), nullptr, nullptr, 0, nullptr, &err), UJWT_OK);
}

// Verifier::add_jwk is all or nothing. The last allocations of the call are
// the key list growing as the new keys are appended (after the JSON value
// is gone); one failing there used to leave the keys appended before it.
TEST(AbiAllocFailure, AddJwkIsAllOrNothing) {
  const std::string jwks = R"({"keys":[{"kty":"oct","alg":"HS256","kid":"a","k":")" +
                           b64url_encode(std::string(32, 'a')) +
                           R"("},{"kty":"oct","alg":"HS256","kid":"b","k":")" +
                           b64url_encode(std::string(32, 'b')) + R"("}]})";
  auto fresh = [] {
    upstream_jwt::Verifier v;
    EXPECT_TRUE(v.add_key(upstream_jwt::Algorithm::HS256, kSecret, std::string_view("old")));
    return v;
  };
  // Count the call's allocations once, then fail each of the last few.
  long long total = 0;
  {
    auto v = fresh();
    g_allocs_before_failure = 1LL << 40;
    ASSERT_TRUE(v.add_jwk(jwks));
    total = (1LL << 40) - g_allocs_before_failure;
    g_allocs_before_failure = -1;
    ASSERT_EQ(v.key_count(), 3u);
  }
  for (long long k = total - 1; k >= total - 3 && k >= 0; --k) {
    auto v = fresh();
    bool reached = false;
    bool threw = false;
    with_failure_at(k, reached, [&] {
      try {
        const auto r = v.add_jwk(jwks);
        EXPECT_FALSE(r.ok()) << "allocation " << k;  // only if it returned
      } catch (const std::bad_alloc&) {
        threw = true;  // the C ABI turns this into UJWT_ERR_INTERNAL
      }
      return 0;
    });
    ASSERT_TRUE(reached && threw) << "allocation " << k;
    EXPECT_EQ(v.key_count(), 1u) << "allocation " << k << ": a partial JWKS was registered";
  }
}

TEST(AbiAllocFailure, HeaderBindingFailsClosed) {
  const ujwt_header lines[] = {{"Content-Type", 12, "application/json", 16},
                               {"X-A", 3, " 1 ", 3}, {"x-a", 3, "2", 1}};
  char digest[UJWT_SHA256_B64_LEN];
  std::size_t digest_len = 0;
  expect_clean_failures("headers_sha256", [&](ujwt_error* e) {
    return ujwt_headers_sha256("content-type,x-a,x-absent", 25, lines, 3, digest, sizeof digest,
                               &digest_len, e);
  });
  ujwt_signer* s = nullptr;
  ASSERT_EQ(ujwt_signer_new("HS256", 5, u8(kSecret), kSecret.size(), nullptr, 0, &s, nullptr), UJWT_OK);
  SignerPtr signer(s);
  ClaimsSpec spec;
  spec.hdr_names = "content-type,x-a,x-absent";
  spec.hdr_sha256 = std::string(digest, digest_len);
  const ujwt_claims c = spec.c();
  std::string token(2048, '\0');
  std::size_t token_len = 0;
  expect_clean_failures("sign with hdrs", [&](ujwt_error* e) {
    return ujwt_sign(signer.get(), &c, token.data(), token.size(), &token_len, e);
  });
  // ujwt_verify is not run under injected failures: nlohmann::json frees a
  // non-empty array or object (hdrs, consumer) with a heap-allocated stack
  // inside its noexcept destructor, so a failure there terminates.
}
