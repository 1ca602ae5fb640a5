// c_api_util.hpp — the error and argument conventions of
// include/upstream_jwt.h, shared by the C ABI translation units (c_api.cpp,
// c_api_httpsig.cpp).
#ifndef UPSTREAM_JWT_SRC_C_API_UTIL_HPP
#define UPSTREAM_JWT_SRC_C_API_UTIL_HPP

#include <cstring>
#include <exception>
#include <new>
#include <optional>
#include <string>
#include <string_view>

#include "upstream_jwt.h"
#include "upstream_jwt/result.hpp"

namespace upstream_jwt::capi {

inline void copy_message(ujwt_error* err, std::string_view msg) noexcept {
  std::size_t n = msg.size();
  if (n > UJWT_ERROR_MESSAGE_MAX - 1) {
    n = UJWT_ERROR_MESSAGE_MAX - 1;
    // Never cut a UTF-8 sequence in half.
    while (n > 0 && (static_cast<unsigned char>(msg[n]) & 0xC0) == 0x80) --n;
  }
  std::memcpy(err->message, msg.data(), n);
  err->message[n] = '\0';
}

inline int fail(ujwt_error* err, int status, std::string_view msg, int reason = UJWT_REASON_NONE) noexcept {
  if (err != nullptr) {
    err->status = status;
    err->reason = reason;
    copy_message(err, msg);
  }
  return status;
}

inline int fail(ujwt_error* err, const Error& e) noexcept {
  return fail(err, static_cast<int>(e.status), e.message, static_cast<int>(e.reason));
}

inline int ok(ujwt_error* err) noexcept {
  if (err != nullptr) {
    err->status = UJWT_OK;
    err->reason = UJWT_REASON_NONE;
    err->message[0] = '\0';
  }
  return UJWT_OK;
}

// Unwinding into LuaJIT or C is undefined: every entry point runs in here.
template <class F>
int guarded(ujwt_error* err, F&& body) noexcept {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    return fail(err, UJWT_ERR_INTERNAL, "out of memory");
  } catch (const std::exception& e) {
    return fail(err, UJWT_ERR_INTERNAL, std::string("internal error: ") + e.what());
  } catch (...) {
    return fail(err, UJWT_ERR_INTERNAL, "internal error");
  }
}

// (ptr, len) -> optional view; NULL with a non-zero length is a caller bug.
inline bool opt_view(const void* ptr, std::size_t len, std::optional<std::string_view>& out) {
  if (ptr == nullptr) {
    out.reset();
    return len == 0;
  }
  out = std::string_view(static_cast<const char*>(ptr), len);
  return true;
}

inline std::string null_with_length(const char* name) {
  return std::string("invalid argument: ") + name + " is NULL with a non-zero length";
}

// A required algorithm name, parsed by `parse` (name -> optional<Alg>); the
// error quotes at most 32 printable characters of it and lists `known`.
template <class Alg, class Parse>
int parse_alg_arg(const char* alg, std::size_t alg_len, Parse parse, const char* known, Alg& out,
                  ujwt_error* err) {
  if (alg == nullptr) return fail(err, UJWT_ERR_INVALID_ARGUMENT, "invalid argument: alg is NULL");
  auto parsed = parse(std::string_view(alg, alg_len));
  if (!parsed) {
    std::string shown(alg, alg_len < 32 ? alg_len : 32);
    for (char& c : shown)
      if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7E) c = '?';
    return fail(err, UJWT_ERR_ALGORITHM, "unsupported algorithm \"" + shown + "\" (" + known + ")");
  }
  out = *parsed;
  return UJWT_OK;
}

}  // namespace upstream_jwt::capi

#endif  // UPSTREAM_JWT_SRC_C_API_UTIL_HPP
