// verify_paths.hpp — runs one verification twice, through the flat scanner
// (with the parser behind it) and through the parser alone, and describes
// any difference. Shared by test/verify_fast_path_test.cpp and
// fuzz/verify_paths_fuzz.cpp; needs src/ on the include path.
#ifndef UPSTREAM_JWT_TEST_VERIFY_PATHS_HPP
#define UPSTREAM_JWT_TEST_VERIFY_PATHS_HPP

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "upstream_jwt/replay_cache.hpp"
#include "upstream_jwt/verifier.hpp"
#include "verifier_internal.hpp"

namespace ujwt_paths {

namespace uj = upstream_jwt;

// Everything a caller can observe from Verifier::verify_to and
// Verifier::verify_without_replay, flattened to text.
inline std::string observe(const uj::Verifier& v, std::string_view token, uj::VerifyOptions opts,
                           bool with_replay, std::size_t out_cap) {
  std::string seen;
  auto error = [&seen](const uj::Error& e) {
    seen += "error status=" + std::to_string(static_cast<int>(e.status)) +
            " reason=" + std::to_string(static_cast<int>(e.reason)) + " needed=" +
            std::to_string(e.needed) + " message=" + e.message + "\n";
  };
  {
    uj::InMemoryReplayCache cache(4);  // fresh per run: runs must not see each other
    if (with_replay) opts.replay_cache = &cache;
    std::string out(out_cap, '\0');
    std::size_t size = static_cast<std::size_t>(-1);
    auto n = v.verify_to(token, opts, out_cap ? out.data() : nullptr, out_cap, &size);
    seen += "verify_to size=" + std::to_string(size) + "\n";
    if (n) {
      seen += "ok n=" + std::to_string(n.value()) + " claims=";
      seen.append(out.data(), out_cap ? n.value() : 0);
      seen += "\n";
    } else {
      error(n.error());
    }
  }
  uj::InMemoryReplayCache cache(4);
  if (with_replay) opts.replay_cache = &cache;
  auto t = v.verify_without_replay(token, opts);
  if (!t) {
    error(t.error());
    return seen;
  }
  const uj::VerifiedToken& vt = t.value();
  seen += "token alg=" + std::string(uj::algorithm_name(vt.alg)) + " header=" + vt.header +
          " payload=" + vt.payload + " kid=" + (vt.kid ? "[" + *vt.kid + "]" : "-") +
          " jti=" + (vt.jti ? "[" + *vt.jti + "]" : "-") +
          " expires=" + std::to_string(vt.replay_expires_at) + " now=" + std::to_string(vt.now) +
          "\n";
  return seen;
}

// Empty when both paths agree; else both observations.
inline std::string difference(const uj::Verifier& v, std::string_view token,
                              const uj::VerifyOptions& opts, bool with_replay,
                              std::size_t out_cap) {
  uj::detail::set_json_scanner_enabled(true);
  const std::string fast = observe(v, token, opts, with_replay, out_cap);
  uj::detail::set_json_scanner_enabled(false);
  const std::string full = observe(v, token, opts, with_replay, out_cap);
  uj::detail::set_json_scanner_enabled(true);
  if (fast == full) return std::string();
  return "scanner:\n" + fast + "parser only:\n" + full;
}

}  // namespace ujwt_paths

#endif  // UPSTREAM_JWT_TEST_VERIFY_PATHS_HPP
