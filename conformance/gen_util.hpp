// gen_util.hpp — what both halves of upstream_jwt_conformance_gen share:
// fail with a message and exit 1, unwrap a core Result, read a key file.
#ifndef UPSTREAM_JWT_CONFORMANCE_GEN_UTIL_HPP
#define UPSTREAM_JWT_CONFORMANCE_GEN_UTIL_HPP

#include <upstream_jwt/result.hpp>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

namespace conformance {

[[noreturn]] inline void die(const std::string& msg) {
  std::cerr << "upstream_jwt_conformance_gen: " << msg << "\n";
  std::exit(1);
}

template <class T>
T must(upstream_jwt::Result<T> r, const std::string& what) {
  if (!r) die(what + ": " + r.error().message);
  return std::move(r).value();
}

inline void must_ok(upstream_jwt::Result<void> r, const std::string& what) {
  if (!r) die(what + ": " + r.error().message);
}

inline std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) die("cannot read " + path);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

}  // namespace conformance

#endif  // UPSTREAM_JWT_CONFORMANCE_GEN_UTIL_HPP
