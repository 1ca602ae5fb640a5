// fuzz_keys.hpp — key material shared by the fuzz targets.
//
// Keys are read once from test/keys (the same files the GoogleTest suite
// uses) so a seed token minted by tools/ with those keys verifies inside the
// fuzzer and mutations start from the deep end of the verifier, not from
// "bad signature".
#ifndef UPSTREAM_JWT_FUZZ_KEYS_HPP
#define UPSTREAM_JWT_FUZZ_KEYS_HPP

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "upstream_jwt/verifier.hpp"

#ifndef UJWT_FUZZ_KEYS_DIR
#error "UJWT_FUZZ_KEYS_DIR must point at test/keys"
#endif

namespace ujwt_fuzz {

// The HS256 secret the seed generator (fuzz/make_seeds.py) signs with.
inline constexpr char kHsSecret[] = "fuzz-hs256-secret-0123456789abcdef";  // 34 bytes
// Every seed token is minted for this instant; the fuzzers verify "now".
inline constexpr long long kNow = 1700000000;

inline std::string read_key(const char* name) {
  std::string path = std::string(UJWT_FUZZ_KEYS_DIR) + "/" + name;
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    // A fuzzer without its keys would silently explore nothing useful.
    std::fprintf(stderr, "fuzz: cannot read %s\n", path.c_str());
    std::abort();
  }
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// The checks an input's first byte turns on: bit 0 issuer, 1 audience,
// 2 the request binding of a bodiless GET /42, 3 leeway, 4 max lifetime.
// Bit 5 is each target's own.
inline upstream_jwt::VerifyOptions options_for_bits(std::uint8_t bits, const std::string& empty_body_sha) {
  upstream_jwt::VerifyOptions o;
  o.now = kNow;
  if (bits & 0x01) o.issuer = "kong";
  if (bits & 0x02) o.audience = "orders";
  if (bits & 0x04) {
    o.method = "GET";
    o.path = "/42";
    o.query = "";
    o.body_sha256 = empty_body_sha;
  }
  if (bits & 0x08) o.leeway = 5;
  if (bits & 0x10) o.max_lifetime = 3600;
  return o;
}

}  // namespace ujwt_fuzz

#endif  // UPSTREAM_JWT_FUZZ_KEYS_HPP
