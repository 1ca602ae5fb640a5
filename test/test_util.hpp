// test_util.hpp — helpers shared by the GoogleTest suites.
//
// The encoding and HMAC helpers here are written independently of the core
// (plain code plus one-shot OpenSSL HMAC) so the tests have an oracle that
// does not share the core's bugs.
#ifndef UPSTREAM_JWT_TEST_UTIL_HPP
#define UPSTREAM_JWT_TEST_UTIL_HPP

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstdint>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#ifndef UJWT_TEST_KEYS_DIR
#error "UJWT_TEST_KEYS_DIR must point at test/keys"
#endif

namespace ujwt_test {

inline std::string read_key(const std::string &name) {
  std::ifstream f(std::string(UJWT_TEST_KEYS_DIR) + "/" + name,
                  std::ios::binary);
  if (!f) throw std::runtime_error("missing test key " + name);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

inline std::string b64url_encode(std::string_view in) {
  static const char *A =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) |
                 uint8_t(in[i + 2]);
    out += A[v >> 18];
    out += A[(v >> 12) & 63];
    out += A[(v >> 6) & 63];
    out += A[v & 63];
  }
  if (in.size() - i == 1) {
    uint32_t v = uint8_t(in[i]) << 16;
    out += A[v >> 18];
    out += A[(v >> 12) & 63];
  } else if (in.size() - i == 2) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    out += A[v >> 18];
    out += A[(v >> 12) & 63];
    out += A[(v >> 6) & 63];
  }
  return out;
}

// Lenient decoder for test fixtures (the strictness under test is the
// core's, not this one's).
inline std::string b64url_decode(std::string_view in) {
  auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    throw std::runtime_error("bad base64url in fixture");
  };
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    acc = (acc << 6) | uint32_t(val(c));
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += char((acc >> bits) & 0xff);
    }
  }
  return out;
}

inline std::vector<std::string> split_token(const std::string &token) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    size_t dot = token.find('.', start);
    if (dot == std::string::npos) {
      parts.push_back(token.substr(start));
      return parts;
    }
    parts.push_back(token.substr(start, dot - start));
    start = dot + 1;
  }
}

inline std::string hmac(const EVP_MD *md, std::string_view key,
                        std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (HMAC(md, key.data(), int(key.size()),
           reinterpret_cast<const unsigned char *>(data.data()), data.size(),
           out, &len) == nullptr) {
    throw std::runtime_error("HMAC failed");
  }
  return std::string(reinterpret_cast<char *>(out), len);
}

// A compact JWS with exactly these header and payload bytes, MACed with
// HMAC-SHA-256 (or the given digest) by the oracle, not by the core.
inline std::string forge_hs(std::string_view header_json,
                            std::string_view payload_json,
                            std::string_view secret,
                            const EVP_MD *md = EVP_sha256()) {
  std::string input =
      b64url_encode(header_json) + "." + b64url_encode(payload_json);
  return input + "." + b64url_encode(hmac(md, secret, input));
}

inline std::string sha256_b64(std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out, &len, EVP_sha256(), nullptr);
  return b64url_encode(std::string(reinterpret_cast<char *>(out), len));
}

// DER INTEGER of a big-endian unsigned value (minimal, sign-padded).
inline std::string der_integer(std::string v) {
  size_t z = 0;
  while (z + 1 < v.size() && v[z] == 0) ++z;
  v.erase(0, z);
  if (uint8_t(v[0]) & 0x80) v.insert(v.begin(), '\0');
  return std::string("\x02", 1) + char(v.size()) + v;
}

// The DER (X9.62) form of a raw r||s ECDSA signature — what JWS forbids.
inline std::string ecdsa_raw_to_der(const std::string &raw) {
  size_t half = raw.size() / 2;
  std::string body =
      der_integer(raw.substr(0, half)) + der_integer(raw.substr(half));
  return std::string("\x30", 1) + char(body.size()) + body;
}

inline std::string hex_decode(std::string_view hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out += char(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16));
  }
  return out;
}

}  // namespace ujwt_test

#endif  // UPSTREAM_JWT_TEST_UTIL_HPP
