#include "upstream_jwt/result.hpp"

#include <array>

namespace upstream_jwt {

namespace {
// Index = enum value; these strings are the C ABI's ujwt_status_name and
// ujwt_reason_name answers, part of the contract.
constexpr std::array<std::string_view, 8> kStatusNames = {
    "ok", "invalid_argument", "buffer_too_small", "key",
    "algorithm", "claims", "token_invalid", "internal"};
constexpr std::array<std::string_view, 26> kReasonNames = {
    "none",           "token_too_long",   "malformed",        "bad_base64",
    "bad_header",     "bad_claims",       "alg_none",         "alg_not_allowed",
    "key_confusion",  "unknown_kid",      "crit_unsupported", "bad_signature",
    "missing_claim",  "expired",          "not_yet_valid",    "issued_in_future",
    "lifetime_too_long", "bad_issuer",    "bad_audience",     "method_mismatch",
    "path_mismatch",  "query_mismatch",   "body_mismatch",    "replayed",
    "header_mismatch", "replay_cache_full"};
}  // namespace

std::string_view status_name(Status s) noexcept {
  auto i = static_cast<unsigned>(s);
  return i < kStatusNames.size() ? kStatusNames[i] : "unknown";
}

std::string_view reason_name(Reason r) noexcept {
  auto i = static_cast<unsigned>(r);
  return i < kReasonNames.size() ? kReasonNames[i] : "unknown";
}

}  // namespace upstream_jwt
