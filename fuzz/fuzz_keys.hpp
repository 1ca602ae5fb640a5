// fuzz_keys.hpp — key material shared by the fuzz targets.
//
// Keys are read once from test/keys (the same files the GoogleTest suite
// uses) so a seed token minted by tools/ with those keys verifies inside the
// fuzzer and mutations start from the deep end of the verifier, not from
// "bad signature".
#ifndef UPSTREAM_JWT_FUZZ_KEYS_HPP
#define UPSTREAM_JWT_FUZZ_KEYS_HPP

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

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

}  // namespace ujwt_fuzz

#endif  // UPSTREAM_JWT_FUZZ_KEYS_HPP
