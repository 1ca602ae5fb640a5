// verifier_internal.hpp — switches the verifier exposes to its own tests
// and fuzzers, not to users.
#ifndef UPSTREAM_JWT_SRC_VERIFIER_INTERNAL_HPP
#define UPSTREAM_JWT_SRC_VERIFIER_INTERNAL_HPP

namespace upstream_jwt::detail {

// On (the default): a token's header and claims are read by the
// allocation-free scanner (scan_flat_object), and the full parser runs
// only when the scanner declines. Off: the full parser reads every token.
// Both must give the same verdict, reason, message and claims; the
// equivalence fuzzer (fuzz/verify_paths_fuzz.cpp) and
// test/verify_fast_path_test.cpp run each input both ways. Process-wide.
void set_json_scanner_enabled(bool on) noexcept;

}  // namespace upstream_jwt::detail

#endif  // UPSTREAM_JWT_SRC_VERIFIER_INTERNAL_HPP
