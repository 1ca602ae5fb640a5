// c_abi_fuzz — include/upstream_jwt.h driven by fuzz-chosen arguments.
//
// The C ABI is what LuaJIT calls with raw pointers and lengths, so this
// target feeds it NULLs, (NULL, non-zero) pairs, empty strings, arbitrary
// bytes (invalid UTF-8, quotes, CR/LF) and output buffers of every size.
// Every (ptr, len) input and every output buffer is a heap block of exactly
// that size, so a one-byte over-read or over-write is an ASan report.
//
// Properties:
//   - (NULL, n > 0) for an optional string is UJWT_ERR_INVALID_ARGUMENT;
//   - a too-small buffer gives UJWT_ERR_BUFFER_TOO_SMALL with the needed
//     size in *out_len, and a retry with exactly that size succeeds;
//   - err (when given) always mirrors the return status, its message is
//     NUL-terminated within UJWT_ERROR_MESSAGE_MAX;
//   - sign then verify round-trips: a token the signer produced verifies
//     with the same key under the same binding (method/path/query/body),
//     issuer, audience and clock, and the claims it returns parse as JSON
//     with the values that went in;
//   - streaming digest over fuzz-chosen chunks == one-shot digest.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fuzz_keys.hpp"
#include "upstream_jwt.h"

namespace {

// An exact-size heap copy of a string (NULL when absent).
struct Buf {
  std::unique_ptr<char[]> p;
  std::size_t n = 0;
  bool present = false;
  const char* ptr() const { return present ? p.get() : nullptr; }
  const std::uint8_t* bytes() const { return reinterpret_cast<const std::uint8_t*>(ptr()); }
};

Buf make_buf(const std::optional<std::string>& s) {
  Buf b;
  if (!s) return b;
  b.present = true;
  b.n = s->size();
  // new char[0] is a valid unique pointer: ("", 0) stays distinct from NULL.
  b.p.reset(new char[b.n ? b.n : 1]);
  if (b.n) std::memcpy(b.p.get(), s->data(), b.n);
  return b;
}

std::optional<std::string> opt_string(FuzzedDataProvider& fdp, std::size_t max_len) {
  if (!fdp.ConsumeBool()) return std::nullopt;
  return fdp.ConsumeRandomLengthString(max_len);
}

struct Keys {
  std::string ec, ed, rsa, short_secret;
};

const Keys& keys() {
  static const Keys* k = [] {
    auto* x = new Keys();
    x->ec = ujwt_fuzz::read_key("ec256.pem");
    x->ed = ujwt_fuzz::read_key("ed25519.pem");
    x->rsa = ujwt_fuzz::read_key("rsa2048.pem");
    x->short_secret = std::string(ujwt_fuzz::kHsSecret).substr(0, 31);
    return x;
  }();
  return *k;
}

void check_err(int rc, const ujwt_error* err) {
  if (err == nullptr) return;
  if (err->status != rc) std::abort();
  if (std::memchr(err->message, '\0', UJWT_ERROR_MESSAGE_MAX) == nullptr) std::abort();
  if (rc == UJWT_ERR_TOKEN_INVALID && err->reason == UJWT_REASON_NONE) std::abort();
  if (rc != UJWT_ERR_TOKEN_INVALID && err->reason != UJWT_REASON_NONE) std::abort();
  if (std::strcmp(ujwt_status_name(rc), "unknown") == 0) std::abort();
}

// An output buffer of exactly `cap` bytes (NULL for cap 0 half the time).
struct Out {
  std::unique_ptr<char[]> p;
  std::size_t cap;
  Out(std::size_t c, bool null_when_empty) : cap(c) {
    if (c != 0 || !null_when_empty) p.reset(new char[c ? c : 1]);
  }
  char* ptr() { return p.get(); }
};

void fuzz_digest(FuzzedDataProvider& fdp) {
  ujwt_error e;
  ujwt_digest* d = nullptr;
  if (ujwt_digest_new(&d, &e) != UJWT_OK) std::abort();
  std::string all;
  const int chunks = fdp.ConsumeIntegralInRange(0, 6);
  for (int i = 0; i < chunks; ++i) {
    Buf b = make_buf(fdp.ConsumeRandomLengthString(256));
    if (ujwt_digest_update(d, b.bytes(), b.n, &e) != UJWT_OK) std::abort();
    all.append(b.ptr(), b.n);
  }
  // NULL data with a non-zero length is refused, and changes nothing.
  if (ujwt_digest_update(d, nullptr, 1, &e) != UJWT_ERR_INVALID_ARGUMENT) std::abort();
  const std::size_t cap = fdp.ConsumeIntegralInRange<std::size_t>(0, 50);
  Out out(cap, fdp.ConsumeBool());
  std::size_t len = 12345;
  int rc = ujwt_digest_final(d, out.ptr(), cap, &len, &e);
  check_err(rc, &e);
  char oneshot[UJWT_SHA256_B64_LEN];
  std::size_t olen = 0;
  Buf all_b = make_buf(all);
  if (ujwt_sha256_b64(all_b.bytes(), all_b.n, oneshot, sizeof oneshot, &olen, nullptr) != UJWT_OK ||
      olen != UJWT_SHA256_B64_LEN)
    std::abort();
  if (cap >= UJWT_SHA256_B64_LEN && out.ptr() != nullptr) {
    if (rc != UJWT_OK || len != UJWT_SHA256_B64_LEN) std::abort();
    if (std::memcmp(out.ptr(), oneshot, UJWT_SHA256_B64_LEN) != 0) std::abort();
  } else if (rc == UJWT_OK) {
    std::abort();
  }
  ujwt_digest_free(d);
}

struct Signed {
  std::string token;
};

void fuzz_sign_verify(FuzzedDataProvider& fdp) {
  static const char* const kAlgNames[] = {"HS256", "HS384", "HS512", "RS256",
                                          "PS256", "ES256", "EdDSA", "none",
                                          "hs256", "HS256\0", ""};
  const Keys& k = keys();
  // --- signer_new
  const unsigned ai = fdp.ConsumeIntegralInRange<unsigned>(0, 11);
  std::string alg = ai < 11 ? std::string(kAlgNames[ai]) : fdp.ConsumeRandomLengthString(16);
  if (ai == 9) alg.push_back('\0');
  std::string key;
  switch (fdp.ConsumeIntegralInRange(0, 5)) {
    case 0: key = ujwt_fuzz::kHsSecret; key += key; key += key; break;  // 136 B: any HS*
    case 1: key = k.short_secret; break;
    case 2: key = k.ec; break;
    case 3: key = k.ed; break;
    case 4: key = k.rsa; break;
    default: key = fdp.ConsumeRandomLengthString(128); break;
  }
  // Fit the key to the algorithm most of the time so signing is reached.
  if (fdp.ConsumeBool()) {
    if (alg == "ES256") key = k.ec;
    else if (alg == "EdDSA") key = k.ed;
    else if (alg == "RS256" || alg == "PS256") key = k.rsa;
  }
  const std::optional<std::string> kid = opt_string(fdp, 24);
  Buf alg_b = make_buf(alg), key_b = make_buf(key), kid_b = make_buf(kid);
  const bool kid_null_lie = !kid && fdp.ConsumeBool();
  ujwt_error e;
  ujwt_error* errp = fdp.ConsumeBool() ? &e : nullptr;
  ujwt_signer* s = nullptr;
  int rc = ujwt_signer_new(alg_b.ptr(), alg_b.n, key_b.bytes(), key_b.n, kid_b.ptr(),
                           kid_null_lie ? 3 : kid_b.n, &s, errp);
  check_err(rc, errp);
  if (kid_null_lie && rc == UJWT_OK) std::abort();
  if (rc != UJWT_OK) {
    if (s != nullptr) std::abort();
    return;
  }

  // --- claims
  const std::optional<std::string> aud = opt_string(fdp, 32), sub = opt_string(fdp, 32),
      cid = opt_string(fdp, 32), cuser = opt_string(fdp, 32), ccustom = opt_string(fdp, 32),
      cred = opt_string(fdp, 32), htm = opt_string(fdp, 10), htu = opt_string(fdp, 64),
      query = opt_string(fdp, 64), extra = opt_string(fdp, 96);
  std::optional<std::string> body_sha;
  if (fdp.ConsumeBool()) {
    Buf body = make_buf(fdp.ConsumeRandomLengthString(64));
    char b64[UJWT_SHA256_B64_LEN];
    std::size_t n = 0;
    if (ujwt_sha256_b64(body.bytes(), body.n, b64, sizeof b64, &n, nullptr) != UJWT_OK) std::abort();
    body_sha.emplace(b64, n);
    if (fdp.ConsumeBool()) *body_sha = fdp.ConsumeRandomLengthString(50);  // malformed digest
  }
  const std::string iss = fdp.ConsumeRandomLengthString(16);
  Buf iss_b = make_buf(iss), aud_b = make_buf(aud), sub_b = make_buf(sub), cid_b = make_buf(cid),
      cuser_b = make_buf(cuser), ccustom_b = make_buf(ccustom), cred_b = make_buf(cred),
      htm_b = make_buf(htm), htu_b = make_buf(htu), query_b = make_buf(query),
      body_b = make_buf(body_sha), extra_b = make_buf(extra);
  ujwt_claims c{};
  c.iss = iss_b.ptr(); c.iss_len = iss_b.n;
  c.aud = aud_b.ptr(); c.aud_len = aud_b.n;
  const int clock = fdp.ConsumeIntegralInRange(0, 3);
  c.now = clock == 0 ? 0 : clock == 1 ? ujwt_fuzz::kNow : fdp.ConsumeIntegral<int64_t>();
  c.ttl = fdp.ConsumeBool() ? 60 : fdp.ConsumeIntegral<int64_t>();
  c.sub = sub_b.ptr(); c.sub_len = sub_b.n;
  c.consumer_id = cid_b.ptr(); c.consumer_id_len = cid_b.n;
  c.consumer_username = cuser_b.ptr(); c.consumer_username_len = cuser_b.n;
  c.consumer_custom_id = ccustom_b.ptr(); c.consumer_custom_id_len = ccustom_b.n;
  c.credential_id = cred_b.ptr(); c.credential_id_len = cred_b.n;
  c.htm = htm_b.ptr(); c.htm_len = htm_b.n;
  c.htu = htu_b.ptr(); c.htu_len = htu_b.n;
  c.query = query_b.ptr(); c.query_len = query_b.n;
  c.body_sha256 = body_b.ptr(); c.body_sha256_len = body_b.n;
  c.extra_json = extra_b.ptr(); c.extra_json_len = extra_b.n;
  const bool null_lie = fdp.ConsumeBool() && !sub;
  if (null_lie) c.sub_len = 5;

  const std::size_t cap = fdp.ConsumeIntegralInRange<std::size_t>(0, 2048);
  Out out(cap, fdp.ConsumeBool());
  std::size_t len = 0;
  rc = ujwt_sign(s, &c, out.ptr(), out.cap, &len, errp);
  check_err(rc, errp);
  if (null_lie && rc != UJWT_ERR_INVALID_ARGUMENT) std::abort();
  std::string token;
  if (rc == UJWT_ERR_BUFFER_TOO_SMALL) {
    if (len <= cap) std::abort();
    Out again(len, false);
    std::size_t len2 = 0;
    rc = ujwt_sign(s, &c, again.ptr(), again.cap, &len2, errp);
    check_err(rc, errp);
    if (rc != UJWT_OK || len2 != len) std::abort();  // same claims: same size
    token.assign(again.ptr(), len2);
  } else if (rc == UJWT_OK) {
    if (len > cap) std::abort();
    token.assign(out.ptr(), len);
  }
  if (rc != UJWT_OK) {
    ujwt_signer_free(s);
    return;
  }

  // --- verify what was signed, with everything bound
  ujwt_verifier* v = nullptr;
  if (ujwt_verifier_new(&v, nullptr) != UJWT_OK) std::abort();
  if (ujwt_verifier_add_key(v, alg_b.ptr(), alg_b.n, key_b.bytes(), key_b.n, kid_b.ptr(), kid_b.n,
                            nullptr) != UJWT_OK)
    std::abort();
  ujwt_replay_cache* cache = nullptr;
  if (ujwt_replay_cache_new(8, &cache, nullptr) != UJWT_OK) std::abort();
  ujwt_verify_options o{};
  o.issuer = iss_b.ptr(); o.issuer_len = iss_b.n;
  o.audience = aud_b.ptr(); o.audience_len = aud_b.n;
  o.now = c.now;
  o.method = htm_b.ptr(); o.method_len = htm_b.n;
  o.path = htu_b.ptr(); o.path_len = htu_b.n;
  o.query = query_b.ptr(); o.query_len = query_b.n;
  o.body_sha256 = body_b.ptr(); o.body_sha256_len = body_b.n;
  o.replay_cache = cache;
  o.max_token_length = 1 << 16;
  Buf tok_b = make_buf(token);
  const std::size_t vcap = fdp.ConsumeIntegralInRange<std::size_t>(0, 1024);
  Out vout(vcap, fdp.ConsumeBool());
  std::size_t vlen = 0;
  rc = ujwt_verify(v, tok_b.ptr(), tok_b.n, &o, vout.ptr(), vout.cap, &vlen, &e);
  check_err(rc, &e);
  std::string claims_json;
  if (rc == UJWT_ERR_BUFFER_TOO_SMALL) {
    if (vout.ptr() == nullptr || vlen <= vcap) std::abort();
    // The refused attempt must not have burnt the jti.
    Out again(vlen, false);
    rc = ujwt_verify(v, tok_b.ptr(), tok_b.n, &o, again.ptr(), again.cap, &vlen, &e);
    check_err(rc, &e);
    if (rc != UJWT_OK) std::abort();
    claims_json.assign(again.ptr(), vlen);
  } else if (rc == UJWT_OK) {
    if (vout.ptr() != nullptr) claims_json.assign(vout.ptr(), vlen);
  } else {
    // A token we just signed, checked against what it says: say why.
    std::fprintf(stderr, "c_abi_fuzz: own token refused: %s (%s: %s)\ntoken: %s\n",
                 ujwt_status_name(rc), ujwt_reason_name(e.reason), e.message, token.c_str());
    std::abort();
  }
  // The jti is now recorded: the same token again is a replay.
  rc = ujwt_verify(v, tok_b.ptr(), tok_b.n, &o, nullptr, 0, &vlen, &e);
  if (rc != UJWT_ERR_TOKEN_INVALID || e.reason != UJWT_REASON_REPLAYED) std::abort();

  if (!claims_json.empty()) {
    auto j = nlohmann::json::parse(claims_json, nullptr, false);
    if (!j.is_object()) std::abort();
    if (j.value("iss", std::string("\x01")) != iss) {
      // iss must be carried verbatim when it is valid UTF-8 (else sign fails).
      std::abort();
    }
    if (htm && j.value("htm", std::string("\x01")) != *htm) std::abort();
    if (htu && j.value("htu", std::string("\x01")) != *htu) std::abort();
    if (!j.contains("exp") || !j.contains("jti")) std::abort();
  }
  ujwt_replay_cache_free(cache);
  ujwt_verifier_free(v);
  ujwt_signer_free(s);
}

void fuzz_jwks_out(FuzzedDataProvider& fdp) {
  const Keys& k = keys();
  const std::string& pem = fdp.ConsumeBool() ? k.ec : fdp.ConsumeBool() ? k.ed : k.rsa;
  Buf pem_b = make_buf(pem);
  const std::optional<std::string> kid = opt_string(fdp, 16);
  Buf kid_b = make_buf(kid);
  const std::size_t cap = fdp.ConsumeIntegralInRange<std::size_t>(0, 1024);
  Out out(cap, fdp.ConsumeBool());
  std::size_t len = 0;
  ujwt_error e;
  int rc = ujwt_jwks_from_pem(pem_b.bytes(), pem_b.n, kid_b.ptr(), kid_b.n, nullptr, 0,
                              out.ptr(), out.cap, &len, &e);
  check_err(rc, &e);
  if (out.ptr() == nullptr && cap != 0) std::abort();
  if (rc == UJWT_ERR_BUFFER_TOO_SMALL) {
    if (len <= cap) std::abort();
    Out again(len, false);
    std::size_t len2 = 0;
    if (ujwt_jwks_from_pem(pem_b.bytes(), pem_b.n, kid_b.ptr(), kid_b.n, nullptr, 0, again.ptr(),
                           again.cap, &len2, &e) != UJWT_OK || len2 != len)
      std::abort();
  } else if (rc == UJWT_OK) {
    if (len > cap) std::abort();
  } else if (!(kid && rc == UJWT_ERR_CLAIMS)) {
    // The only legitimate failure for a good key is a kid that is not
    // valid UTF-8 (it must go into JSON).
    if (rc != UJWT_ERR_INVALID_ARGUMENT && rc != UJWT_ERR_KEY) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider fdp(data, size);
  // Names of every status/reason, in and out of range, are C strings.
  const int any = fdp.ConsumeIntegral<int>();
  if (std::strlen(ujwt_reason_name(any)) == 0 || std::strlen(ujwt_status_name(any)) == 0)
    std::abort();
  switch (fdp.ConsumeIntegralInRange(0, 2)) {
    case 0: fuzz_digest(fdp); break;
    case 1: fuzz_sign_verify(fdp); break;
    default: fuzz_jwks_out(fdp); break;
  }
  return 0;
}
