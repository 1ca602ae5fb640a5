// bench_common.hpp — what the benchmark and the allocation check share: keys
// generated at start-up (no files to find), the request the plugin signs,
// and the per-request work ("digest the body, then sign") exactly as
// handler.lua drives it through the C ABI.
#ifndef UPSTREAM_JWT_BENCH_COMMON_HPP
#define UPSTREAM_JWT_BENCH_COMMON_HPP

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "upstream_jwt.h"

namespace ujbench {

[[noreturn]] inline void die(const char* what, const ujwt_error* err = nullptr) {
  std::fprintf(stderr, "bench: %s%s%s\n", what, err ? ": " : "", err ? err->message : "");
  std::exit(1);
}

// The key material each algorithm's signer takes: 32 secret bytes for HS256
// (a production-sized secret), a fresh PEM private key for the others.
inline std::string key_material(const std::string& alg) {
  if (alg.rfind("HS", 0) == 0) {
    std::string secret(64, '\0');
    if (RAND_bytes(reinterpret_cast<unsigned char*>(secret.data()), 64) != 1) die("RAND_bytes");
    secret.resize(alg == "HS256" ? 32 : alg == "HS384" ? 48 : 64);
    return secret;
  }
  EVP_PKEY* pkey = nullptr;
  if (alg == "RS256" || alg == "PS256")
    pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048));
  else if (alg == "ES256")
    pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  else if (alg == "EdDSA")
    pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  if (pkey == nullptr) die("key generation failed");
  BIO* bio = BIO_new(BIO_s_mem());
  if (bio == nullptr || PEM_write_bio_PrivateKey(bio, pkey, nullptr, nullptr, 0, nullptr, nullptr) != 1)
    die("PEM export failed");
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(n));
  BIO_free(bio);
  EVP_PKEY_free(pkey);
  return pem;
}

inline std::vector<unsigned char> random_body(size_t n) {
  std::vector<unsigned char> body(n);
  if (n != 0 && RAND_bytes(body.data(), static_cast<int>(n)) != 1) die("RAND_bytes");
  return body;
}

// What handler.lua puts in a token for an authenticated consumer with the
// defaults (include_consumer, bind_request, include_body_digest).
struct Request {
  const char* iss = "kong";
  const char* aud = "orders-service";
  const char* consumer_id = "8c2b3a5e-6f11-4d7a-9a0b-2f3c4d5e6f70";
  const char* consumer_username = "alice";
  const char* method = "POST";
  const char* path = "/orders/v1/items";
  const char* query = "page=2&limit=50";
};

inline ujwt_claims make_claims(const Request& r, const char* body_b64) {
  ujwt_claims c;
  std::memset(&c, 0, sizeof c);
  c.iss = r.iss; c.iss_len = std::strlen(r.iss);
  c.aud = r.aud; c.aud_len = std::strlen(r.aud);
  c.now = 0;  // the clock, as in production
  c.ttl = 60;
  c.sub = r.consumer_id; c.sub_len = std::strlen(r.consumer_id);
  c.consumer_id = r.consumer_id; c.consumer_id_len = std::strlen(r.consumer_id);
  c.consumer_username = r.consumer_username; c.consumer_username_len = std::strlen(r.consumer_username);
  c.htm = r.method; c.htm_len = std::strlen(r.method);
  c.htu = r.path; c.htu_len = std::strlen(r.path);
  c.query = r.query; c.query_len = std::strlen(r.query);
  c.body_sha256 = body_b64; c.body_sha256_len = UJWT_SHA256_B64_LEN;
  return c;
}

// What a service checks a token of Request against: every check on (iss, aud,
// lifetime with 5 s leeway and at most 300 s, method, path, query, body).
inline ujwt_verify_options make_verify_options(const Request& r, const char* body_b64) {
  ujwt_verify_options o;
  std::memset(&o, 0, sizeof o);
  o.issuer = r.iss; o.issuer_len = std::strlen(r.iss);
  o.audience = r.aud; o.audience_len = std::strlen(r.aud);
  o.leeway = 5;
  o.max_lifetime = 300;
  o.method = r.method; o.method_len = std::strlen(r.method);
  o.path = r.path; o.path_len = std::strlen(r.path);
  o.query = r.query; o.query_len = std::strlen(r.query);
  o.body_sha256 = body_b64; o.body_sha256_len = UJWT_SHA256_B64_LEN;
  return o;
}

// One request's signing work: SHA-256 of the body into the claims' digest
// slot, then the token into out. Returns the token length, 0 on failure.
inline size_t sign_request(const ujwt_signer* s, ujwt_claims& claims, char* body_b64,
                           const unsigned char* body, size_t body_len, char* out, size_t cap,
                           ujwt_error* err) {
  size_t n = 0;
  if (ujwt_sha256_b64(body, body_len, body_b64, UJWT_SHA256_B64_LEN, &n, err) != UJWT_OK) return 0;
  if (ujwt_sign(s, &claims, out, cap, &n, err) != UJWT_OK) return 0;
  return n;
}

}  // namespace ujbench

#endif  // UPSTREAM_JWT_BENCH_COMMON_HPP
