// sign_bench — what one request costs the C++ core, beside the OpenSSL floor.
//
//   sign/<alg>/<body bytes>    SHA-256 of the body + build + sign the token,
//                              through the C ABI exactly as native.lua calls it
//   verify/<alg>/<body bytes>  the service side: SHA-256 of the body + verify
//                              the token with issuer, audience and the
//                              method/path/query/body binding checked
//   floor/HS256/<body bytes>   the least any HS256 signer must do: one HMAC
//                              over a signing input as long as ours, with a
//                              keyed context reused across calls, plus one
//                              SHA-256 over the same body (reused context)
//
// Run with --benchmark_repetitions=N --benchmark_report_aggregates_only=true
// and read the medians (bench/run does).
#include <benchmark/benchmark.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "bench_common.hpp"

namespace {

using ujbench::die;

const size_t kBodySizes[] = {0, 1024, 16 * 1024, 1024 * 1024};
const char* const kAlgs[] = {"HS256", "RS256", "ES256", "EdDSA"};

std::map<std::string, std::string>& keys() {
  static std::map<std::string, std::string> k;
  return k;
}

const std::vector<unsigned char>& body_of(size_t n) {
  static std::map<size_t, std::vector<unsigned char>> bodies;
  auto it = bodies.find(n);
  if (it == bodies.end()) it = bodies.emplace(n, ujbench::random_body(n)).first;
  return it->second;
}

// What every benchmark sets up for one (algorithm, body size): the key, a
// signer over it (and a verifier holding the same key when asked), the body
// and the request's claims with their body-digest slot. Frees both handles.
struct Setup {
  enum class With { signer, signer_and_verifier };

  Setup(const std::string& alg, size_t body_len, With with = With::signer)
      : key(keys()[alg]), body(body_of(body_len)), claims(ujbench::make_claims(req, body_b64)) {
    const auto* kb = reinterpret_cast<const uint8_t*>(key.data());
    if (ujwt_signer_new(alg.data(), alg.size(), kb, key.size(), nullptr, 0, &signer, &err) !=
        UJWT_OK)
      die("ujwt_signer_new", &err);
    if (with == With::signer_and_verifier &&
        (ujwt_verifier_new(&verifier, &err) != UJWT_OK ||
         ujwt_verifier_add_key(verifier, alg.data(), alg.size(), kb, key.size(), nullptr, 0,
                               &err) != UJWT_OK))
      die("verifier setup", &err);
  }
  ~Setup() {
    ujwt_verifier_free(verifier);
    ujwt_signer_free(signer);
  }
  Setup(const Setup&) = delete;
  Setup& operator=(const Setup&) = delete;

  // One request's signing work (body digest + token) into out; 0 on failure.
  size_t sign(char* out, size_t cap) {
    return ujbench::sign_request(signer, claims, body_b64, body.data(), body.size(), out, cap,
                                 &err);
  }
  // sign(), where a failure ends the run (set-up, not the timed loop).
  size_t sign_or_die(char* out, size_t cap) {
    const size_t n = sign(out, cap);
    if (n == 0) die("sign", &err);
    return n;
  }

  ujwt_error err;
  const std::string& key;
  ujwt_signer* signer = nullptr;
  ujwt_verifier* verifier = nullptr;
  const std::vector<unsigned char>& body;
  ujbench::Request req;
  char body_b64[UJWT_SHA256_B64_LEN];
  ujwt_claims claims;
};

void set_bytes_processed(benchmark::State& state, size_t body_len) {
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(body_len));
}

void BM_sign(benchmark::State& state, std::string alg, size_t body_len) {
  Setup s(alg, body_len);
  char out[4096];
  for (auto _ : state) {
    if (s.sign(out, sizeof out) == 0) {
      state.SkipWithError(s.err.message);
      break;
    }
    benchmark::DoNotOptimize(out);
    benchmark::ClobberMemory();
  }
  set_bytes_processed(state, body_len);
}

void BM_verify(benchmark::State& state, std::string alg, size_t body_len) {
  Setup s(alg, body_len, Setup::With::signer_and_verifier);
  char token[4096];
  const size_t token_len = s.sign_or_die(token, sizeof token);
  const ujbench::Request& req = s.req;
  const auto& body = s.body;
  ujwt_error& err = s.err;

  char seen_b64[UJWT_SHA256_B64_LEN];
  const ujwt_verify_options o = ujbench::make_verify_options(req, seen_b64);
  char claims_out[2048];
  for (auto _ : state) {
    size_t n = 0;
    if (ujwt_sha256_b64(body.data(), body.size(), seen_b64, sizeof seen_b64, &n, &err) != UJWT_OK ||
        ujwt_verify(s.verifier, token, token_len, &o, claims_out, sizeof claims_out, &n, &err) !=
            UJWT_OK) {
      state.SkipWithError(err.message);
      break;
    }
    benchmark::DoNotOptimize(claims_out);
    benchmark::ClobberMemory();
  }
  set_bytes_processed(state, body_len);
}

// The physical floor for one HS256 request. The signing input length is
// taken from a real token of ours so both sides MAC the same number of bytes.
void BM_floor(benchmark::State& state, size_t body_len) {
  const std::string& key = keys()["HS256"];
  const auto& body = body_of(body_len);
  std::string signing_input;
  {
    // The signer is freed before the timed loop, as it is not part of it.
    Setup s("HS256", body_len);
    char token[4096];
    const size_t token_len = s.sign_or_die(token, sizeof token);
    signing_input.assign(token, std::string(token, token_len).rfind('.'));
  }

  EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  EVP_MAC_CTX* mctx = mac ? EVP_MAC_CTX_new(mac) : nullptr;
  char digest_name[] = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name, 0),
      OSSL_PARAM_construct_end()};
  if (mctx == nullptr ||
      EVP_MAC_init(mctx, reinterpret_cast<const unsigned char*>(key.data()), key.size(), params) != 1)
    die("HMAC setup");
  EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  EVP_MD_CTX* dctx = EVP_MD_CTX_new();
  if (md == nullptr || dctx == nullptr || EVP_DigestInit_ex2(dctx, md, nullptr) != 1)
    die("SHA-256 setup");

  unsigned char h[32], m[32];
  for (auto _ : state) {
    unsigned int hn = 0;
    size_t mn = 0;
    const bool ok = EVP_DigestInit_ex2(dctx, nullptr, nullptr) == 1 &&
                    EVP_DigestUpdate(dctx, body.data(), body.size()) == 1 &&
                    EVP_DigestFinal_ex(dctx, h, &hn) == 1 &&
                    EVP_MAC_init(mctx, nullptr, 0, nullptr) == 1 &&
                    EVP_MAC_update(mctx, reinterpret_cast<const unsigned char*>(signing_input.data()),
                                   signing_input.size()) == 1 &&
                    EVP_MAC_final(mctx, m, &mn, sizeof m) == 1;
    if (!ok) {
      state.SkipWithError("OpenSSL failed");
      break;
    }
    benchmark::DoNotOptimize(h);
    benchmark::DoNotOptimize(m);
    benchmark::ClobberMemory();
  }
  set_bytes_processed(state, body_len);
  state.counters["signing_input"] = static_cast<double>(signing_input.size());
  EVP_MD_CTX_free(dctx);
  EVP_MD_free(md);
  EVP_MAC_CTX_free(mctx);
  EVP_MAC_free(mac);
}

}  // namespace

int main(int argc, char** argv) {
  for (const char* alg : kAlgs) keys()[alg] = ujbench::key_material(alg);
  for (size_t n : kBodySizes) {
    benchmark::RegisterBenchmark(("floor/HS256/" + std::to_string(n)).c_str(), BM_floor, n);
    for (const char* alg : kAlgs)
      benchmark::RegisterBenchmark(("sign/" + std::string(alg) + "/" + std::to_string(n)).c_str(),
                                   BM_sign, std::string(alg), n);
    for (const char* alg : kAlgs)
      benchmark::RegisterBenchmark(("verify/" + std::string(alg) + "/" + std::to_string(n)).c_str(),
                                   BM_verify, std::string(alg), n);
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
