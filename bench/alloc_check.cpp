// alloc_check — counts heap allocations per request on the signing path.
//
// How: this executable defines malloc/calloc/realloc/aligned allocators that
// count and forward to glibc's __libc_* entry points. The dynamic linker
// binds every malloc in the process to the executable's definition first, so
// the count covers our code and libstdc++ (operator new calls malloc).
// OpenSSL's own allocations are routed through CRYPTO_set_mem_functions to a
// second counter, so each row says who allocated: the library (must be 0) or
// libcrypto internals. Each path is warmed up first (lazy fetches, per-thread
// buffers), then N requests are counted and the per-request average printed.
//
// Exit status 1 when a path that must not allocate does:
//   - any allocation by our code in ujwt_sign (caller-owned output buffer),
//     for every algorithm;
//   - any allocation at all (ours or OpenSSL's) for HS* signing and for the
//     body digests: that is the per-request path of the default config.
// RSA/ECDSA/Ed25519 signing allocates inside libcrypto (BIGNUM temporaries,
// blinding, the EVP_MD_CTX copy the one-shot DigestSign API needs in 3.0);
// those counts are reported, not enforced.
#include <malloc.h>
#include <openssl/crypto.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "bench_common.hpp"
#include "upstream_jwt/digest.hpp"
#include "upstream_jwt/signer.hpp"

extern "C" {
void* __libc_malloc(size_t);
void* __libc_calloc(size_t, size_t);
void* __libc_realloc(void*, size_t);
void* __libc_memalign(size_t, size_t);
void __libc_free(void*);
}

namespace {
std::atomic<bool> g_armed{false};
std::atomic<unsigned long> g_count{0};       // our code, libstdc++, libc
std::atomic<unsigned long> g_ossl_count{0};  // libcrypto via CRYPTO_malloc
inline void note() {
  if (g_armed.load(std::memory_order_relaxed)) g_count.fetch_add(1, std::memory_order_relaxed);
}
inline void note_ossl() {
  if (g_armed.load(std::memory_order_relaxed))
    g_ossl_count.fetch_add(1, std::memory_order_relaxed);
}
void* ossl_malloc(size_t n, const char*, int) {
  note_ossl();
  return __libc_malloc(n);
}
void* ossl_realloc(void* p, size_t n, const char*, int) {
  note_ossl();
  return __libc_realloc(p, n);
}
void ossl_free(void* p, const char*, int) { __libc_free(p); }
}  // namespace

extern "C" {
void* malloc(size_t n) {
  note();
  return __libc_malloc(n);
}
void* calloc(size_t n, size_t m) {
  note();
  return __libc_calloc(n, m);
}
void* realloc(void* p, size_t n) {
  note();
  return __libc_realloc(p, n);
}
void free(void* p) { __libc_free(p); }
void* memalign(size_t a, size_t n) {
  note();
  return __libc_memalign(a, n);
}
void* aligned_alloc(size_t a, size_t n) {
  note();
  return __libc_memalign(a, n);
}
int posix_memalign(void** out, size_t a, size_t n) {
  note();
  void* p = __libc_memalign(a, n);
  if (p == nullptr) return 12;  // ENOMEM
  *out = p;
  return 0;
}
}

namespace {

constexpr int kWarmup = 64;
// Fewer for RSA/ECDSA/Ed25519 (a quarter millisecond per RSA signature):
// enough to see a per-call allocation, cheap enough for ctest.
constexpr int kCountedFast = 1000;
constexpr int kCountedSlow = 100;

struct Counts {
  double ours;
  double openssl;
};

template <class F>
Counts per_call(F&& f, int counted = kCountedFast) {
  for (int i = 0; i < kWarmup; ++i)
    if (!f()) ujbench::die("warm-up call failed");
  g_count = 0;
  g_ossl_count = 0;
  g_armed = true;
  for (int i = 0; i < counted; ++i)
    if (!f()) {
      g_armed = false;
      ujbench::die("counted call failed");
    }
  g_armed = false;
  return {static_cast<double>(g_count.load()) / counted,
          static_cast<double>(g_ossl_count.load()) / counted};
}

struct Row {
  std::string path;
  Counts allocs;
  // Limits per call; < 0 = reported only.
  double ours_limit;
  double openssl_limit;
};

}  // namespace

int main(int argc, char** argv) {
  // Before anything touches libcrypto: it refuses once it has allocated.
  if (CRYPTO_set_mem_functions(ossl_malloc, ossl_realloc, ossl_free) != 1)
    ujbench::die("CRYPTO_set_mem_functions refused (libcrypto already allocated)");
  bool json = argc > 1 && std::strcmp(argv[1], "--json") == 0;
  std::vector<Row> rows;
  const size_t body_sizes[] = {0, 1024, 16 * 1024, 1024 * 1024};

  for (size_t n : body_sizes) {
    const auto body = ujbench::random_body(n);
    char b64[UJWT_SHA256_B64_LEN];
    ujwt_error err;
    rows.push_back({"ujwt_sha256_b64 body " + std::to_string(n) + " B",
                    per_call([&] {
                      size_t len = 0;
                      return ujwt_sha256_b64(body.data(), body.size(), b64, sizeof b64, &len,
                                             &err) == UJWT_OK;
                    }),
                    0, 0});
  }
  {
    // The spilled-body path: one digest handle, fed in 64 KiB chunks.
    const auto body = ujbench::random_body(1024 * 1024);
    ujwt_digest* d = nullptr;
    ujwt_error err;
    if (ujwt_digest_new(&d, &err) != UJWT_OK) ujbench::die("ujwt_digest_new", &err);
    char b64[UJWT_SHA256_B64_LEN];
    rows.push_back({"ujwt_digest_update x16 + final (1 MB)", per_call([&] {
                      for (size_t off = 0; off < body.size(); off += 65536)
                        if (ujwt_digest_update(d, body.data() + off, 65536, &err) != UJWT_OK)
                          return false;
                      size_t len = 0;
                      return ujwt_digest_final(d, b64, sizeof b64, &len, &err) == UJWT_OK;
                    }),
                    0, 0});
    ujwt_digest_free(d);
  }

  for (const char* alg : {"HS256", "HS384", "HS512", "RS256", "PS256", "ES256", "EdDSA"}) {
    const bool hmac = alg[0] == 'H';
    const std::string key = ujbench::key_material(alg);
    ujwt_signer* s = nullptr;
    ujwt_error err;
    if (ujwt_signer_new(alg, std::strlen(alg), reinterpret_cast<const uint8_t*>(key.data()),
                        key.size(), nullptr, 0, &s, &err) != UJWT_OK)
      ujbench::die("ujwt_signer_new", &err);
    ujbench::Request req;
    char body_b64[UJWT_SHA256_B64_LEN];
    std::memset(body_b64, 'A', sizeof body_b64);
    ujwt_claims claims = ujbench::make_claims(req, body_b64);
    char out[4096];
    rows.push_back({std::string("ujwt_sign ") + alg, per_call([&] {
                      size_t len = 0;
                      return ujwt_sign(s, &claims, out, sizeof out, &len, &err) == UJWT_OK;
                    }, hmac ? kCountedFast : kCountedSlow),
                    0, hmac ? 0.0 : -1.0});
    ujwt_signer_free(s);

    // The C++ API returning std::string: the token itself is one allocation.
    auto cs = upstream_jwt::Signer::create(*upstream_jwt::parse_algorithm(alg), key);
    if (!cs) ujbench::die("Signer::create");
    upstream_jwt::Claims cc;
    cc.iss = req.iss;
    cc.aud = std::string_view(req.aud);
    cc.sub = std::string_view(req.consumer_id);
    cc.consumer_id = std::string_view(req.consumer_id);
    cc.consumer_username = std::string_view(req.consumer_username);
    cc.htm = std::string_view(req.method);
    cc.htu = std::string_view(req.path);
    cc.query = std::string_view(req.query);
    cc.body_sha256 = std::string_view(body_b64, sizeof body_b64);
    rows.push_back({std::string("Signer::sign (std::string) ") + alg, per_call([&] {
                      auto t = cs.value().sign(cc);
                      return static_cast<bool>(t);
                    }, hmac ? kCountedFast : kCountedSlow),
                    1, hmac ? 0.0 : -1.0});
  }

  {
    // The service side: HS256 verify with every check on (signature, iss, aud,
    // lifetime, method/path/query/body binding), the claims written into the
    // caller's buffer. No allocation at all, ours or libcrypto's: the header
    // and claims are read by the flat scanner into stack buffers and the
    // HMAC runs on pre-keyed SHA-256 states (issue 14).
    const std::string key = ujbench::key_material("HS256");
    const auto* kb = reinterpret_cast<const uint8_t*>(key.data());
    ujwt_signer* s = nullptr;
    ujwt_verifier* v = nullptr;
    ujwt_error err;
    if (ujwt_signer_new("HS256", 5, kb, key.size(), nullptr, 0, &s, &err) != UJWT_OK)
      ujbench::die("ujwt_signer_new", &err);
    if (ujwt_verifier_new(&v, &err) != UJWT_OK ||
        ujwt_verifier_add_key(v, "HS256", 5, kb, key.size(), nullptr, 0, &err) != UJWT_OK)
      ujbench::die("ujwt_verifier_new / add_key", &err);
    const auto body = ujbench::random_body(1024);
    char body_b64[UJWT_SHA256_B64_LEN];
    size_t n = 0;
    if (ujwt_sha256_b64(body.data(), body.size(), body_b64, sizeof body_b64, &n, &err) != UJWT_OK)
      ujbench::die("ujwt_sha256_b64", &err);
    ujbench::Request req;
    ujwt_claims claims = ujbench::make_claims(req, body_b64);
    char token[4096];
    size_t token_len = 0;
    if (ujwt_sign(s, &claims, token, sizeof token, &token_len, &err) != UJWT_OK)
      ujbench::die("ujwt_sign", &err);
    const ujwt_verify_options o = ujbench::make_verify_options(req, body_b64);
    char claims_out[2048];
    rows.push_back({"ujwt_verify HS256 (claims into the caller's buffer)", per_call([&] {
                      size_t m = 0;
                      return ujwt_verify(v, token, token_len, &o, claims_out, sizeof claims_out,
                                         &m, &err) == UJWT_OK;
                    }),
                    0, 0});
    ujwt_verifier_free(v);
    ujwt_signer_free(s);
  }

  int failures = 0;
  if (json) std::printf("[\n");
  for (size_t i = 0; i < rows.size(); ++i) {
    const Row& r = rows[i];
    const bool ok = (r.ours_limit < 0 || r.allocs.ours <= r.ours_limit) &&
                    (r.openssl_limit < 0 || r.allocs.openssl <= r.openssl_limit);
    if (!ok) ++failures;
    if (json)
      std::printf("  {\"path\": \"%s\", \"ours\": %.3f, \"openssl\": %.3f, \"ours_limit\": %g, "
                  "\"openssl_limit\": %g, \"ok\": %s}%s\n",
                  r.path.c_str(), r.allocs.ours, r.allocs.openssl, r.ours_limit, r.openssl_limit,
                  ok ? "true" : "false", i + 1 < rows.size() ? "," : "");
    else
      std::printf("%-40s ours %6.3f (limit %s)  libcrypto %7.3f (limit %s)  %s\n", r.path.c_str(),
                  r.allocs.ours,
                  r.ours_limit < 0 ? "-" : std::to_string(static_cast<int>(r.ours_limit)).c_str(),
                  r.allocs.openssl,
                  r.openssl_limit < 0 ? "-" : std::to_string(static_cast<int>(r.openssl_limit)).c_str(),
                  ok ? "ok" : "FAIL");
  }
  if (json) std::printf("]\n");
  return failures == 0 ? 0 : 1;
}
