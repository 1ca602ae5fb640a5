// result.hpp — how every fallible call in the C++ API reports failure.
//
// Errors are values, never exceptions: a function that can fail returns
// Result<T>, which holds either a T or an Error. Check ok() (or use the
// explicit bool conversion) before value(); value() on an error throws
// std::bad_variant_access, which is a programming error, not a control path.
//
//   auto signer = upstream_jwt::Signer::create(Algorithm::HS256, secret);
//   if (!signer) { log(signer.error().message); return; }
//   auto token = signer.value().sign(claims);
//
// Status and Reason mirror the UJWT_ERR_* / UJWT_REASON_* numbers of
// include/upstream_jwt.h one to one, so the C ABI is a cast.
#ifndef UPSTREAM_JWT_RESULT_HPP
#define UPSTREAM_JWT_RESULT_HPP

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace upstream_jwt {

enum class Status : int {
  ok = 0,
  invalid_argument = 1,
  buffer_too_small = 2,
  key = 3,
  algorithm = 4,
  claims = 5,
  token_invalid = 6,
  internal = 7,
};

enum class Reason : int {
  none = 0,
  token_too_long = 1,
  malformed = 2,
  bad_base64 = 3,
  bad_header = 4,
  bad_claims = 5,
  alg_none = 6,
  alg_not_allowed = 7,
  key_confusion = 8,
  unknown_kid = 9,
  crit_unsupported = 10,
  bad_signature = 11,
  missing_claim = 12,
  expired = 13,
  not_yet_valid = 14,
  issued_in_future = 15,
  lifetime_too_long = 16,
  bad_issuer = 17,
  bad_audience = 18,
  method_mismatch = 19,
  path_mismatch = 20,
  query_mismatch = 21,
  body_mismatch = 22,
  replayed = 23,
  header_mismatch = 24,
  replay_cache_full = 25,
};

// "ok", "invalid_argument", ...; "unknown" when out of range.
std::string_view status_name(Status s) noexcept;
// "expired", "bad_signature", ...; "unknown" when out of range.
std::string_view reason_name(Reason r) noexcept;

struct Error {
  Status status = Status::internal;
  Reason reason = Reason::none;  // set only when status == token_invalid
  std::string message;           // human readable; never contains key bytes
  std::size_t needed = 0;        // for buffer_too_small: bytes required
};

inline Error make_error(Status s, std::string message) {
  return Error{s, Reason::none, std::move(message), 0};
}
// A verification failure: status token_invalid with its reason.
inline Error make_rejection(Reason r, std::string message) {
  return Error{Status::token_invalid, r, std::move(message), 0};
}

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &std::get<0>(v_); }
  const T* operator->() const { return &std::get<0>(v_); }

  const Error& error() const& { return std::get<1>(v_); }
  Error&& error() && { return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : e_(std::move(error)) {}  // NOLINT

  bool ok() const noexcept { return !e_.has_value(); }
  explicit operator bool() const noexcept { return ok(); }

  const Error& error() const& { return *e_; }
  Error&& error() && { return std::move(*e_); }

 private:
  std::optional<Error> e_;
};

}  // namespace upstream_jwt

#endif  // UPSTREAM_JWT_RESULT_HPP
