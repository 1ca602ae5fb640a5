// c_api.cpp — include/upstream_jwt.h over the C++ core. Every entry point is
// noexcept in effect: exceptions (std::bad_alloc above all) are caught here
// and become UJWT_ERR_INTERNAL, because unwinding into LuaJIT or C is UB.
#include "upstream_jwt.h"

#include <cstring>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "c_api_util.hpp"
#include "upstream_jwt/all.hpp"

namespace uj = upstream_jwt;

struct ujwt_digest {
  uj::Sha256 sha;
};
struct ujwt_signer {
  uj::Signer signer;
};
struct ujwt_verifier {
  uj::Verifier verifier;
};
struct ujwt_replay_cache {
  explicit ujwt_replay_cache(std::size_t capacity) : cache(capacity) {}
  uj::InMemoryReplayCache cache;
};

namespace {

using upstream_jwt::capi::fail;
using upstream_jwt::capi::guarded;
using upstream_jwt::capi::ok;
using upstream_jwt::capi::opt_view;

bool out_args_ok(const char* out, std::size_t out_cap, const std::size_t* out_len) {
  return out_len != nullptr && (out != nullptr || out_cap == 0);
}

int write_out(std::string_view s, char* out, std::size_t out_cap, std::size_t* out_len,
              ujwt_error* err) {
  *out_len = s.size();
  if (out_cap < s.size())
    return fail(err, UJWT_ERR_BUFFER_TOO_SMALL,
                "output needs " + std::to_string(s.size()) + " bytes, buffer has " +
                    std::to_string(out_cap));
  if (!s.empty()) std::memcpy(out, s.data(), s.size());
  return ok(err);
}

std::string arg_error(const char* name) {
  return std::string("invalid argument: ") + name + " is NULL with a non-zero length";
}

// Parses an algorithm name argument; alg must be present.
int parse_alg(const char* alg, std::size_t alg_len, uj::Algorithm& out, ujwt_error* err) {
  return upstream_jwt::capi::parse_alg_arg(alg, alg_len, uj::parse_algorithm,
                                           "HS256, HS384, HS512, RS256, PS256, ES256, EdDSA", out, err);
}

// Parses an algorithm name argument that may be absent (alg NULL with
// alg_len 0 leaves out empty).
int parse_opt_alg(const char* alg, std::size_t alg_len, std::optional<uj::Algorithm>& out,
                  ujwt_error* err) {
  out.reset();
  if (alg == nullptr) {
    if (alg_len != 0) return fail(err, UJWT_ERR_INVALID_ARGUMENT, arg_error("alg"));
    return UJWT_OK;
  }
  uj::Algorithm parsed;
  if (int rc = parse_alg(alg, alg_len, parsed, err); rc != UJWT_OK) return rc;
  out = parsed;
  return UJWT_OK;
}

// The (alg, key, kid) arguments ujwt_signer_new and ujwt_verifier_add_key
// share, checked in this order: alg present and supported, key not NULL, kid
// NULL only with a zero length.
struct KeyArgs {
  uj::Algorithm alg{};
  std::string_view key;
  std::optional<std::string_view> kid;
};

int parse_key_args(const char* alg, std::size_t alg_len, const uint8_t* key, std::size_t key_len,
                   const char* kid, std::size_t kid_len, KeyArgs& out, ujwt_error* err) {
  if (int rc = parse_alg(alg, alg_len, out.alg, err); rc != UJWT_OK) return rc;
  if (key == nullptr) return fail(err, UJWT_ERR_INVALID_ARGUMENT, "invalid argument: key is NULL");
  if (!opt_view(kid, kid_len, out.kid)) return fail(err, UJWT_ERR_INVALID_ARGUMENT, arg_error("kid"));
  out.key = std::string_view(reinterpret_cast<const char*>(key), key_len);
  return UJWT_OK;
}

// The caller's ujwt_header array as C++ views (the layouts differ). NULL
// with a non-zero length, in the array or in one of its strings, is a caller
// bug; NULL with length 0 is an empty string.
int header_views(const ujwt_header* headers, std::size_t count, std::vector<uj::Header>& out,
                 ujwt_error* err) {
  if (headers == nullptr && count != 0) return fail(err, UJWT_ERR_INVALID_ARGUMENT, arg_error("headers"));
  out.clear();
  out.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    const ujwt_header& h = headers[i];
    if ((h.name == nullptr && h.name_len != 0) || (h.value == nullptr && h.value_len != 0))
      return fail(err, UJWT_ERR_INVALID_ARGUMENT,
                  arg_error(("headers[" + std::to_string(i) + "]").c_str()));
    out.push_back(uj::Header{h.name ? std::string_view(h.name, h.name_len) : std::string_view(),
                             h.value ? std::string_view(h.value, h.value_len) : std::string_view()});
  }
  return UJWT_OK;
}

}  // namespace

extern "C" {

const char* ujwt_version(void) { return UJWT_VERSION_STRING; }

const char* ujwt_reason_name(int reason) {
  // The names are string literals, so data() is NUL-terminated.
  return uj::reason_name(static_cast<uj::Reason>(reason)).data();
}

const char* ujwt_status_name(int status) {
  return uj::status_name(static_cast<uj::Status>(status)).data();
}

/* ---- digest ---- */

int ujwt_digest_new(ujwt_digest** out, ujwt_error* err) {
  return guarded(err, [&] {
    if (out == nullptr) return fail(err, UJWT_ERR_INVALID_ARGUMENT, "invalid argument: out is NULL");
    *out = nullptr;
    auto sha = uj::Sha256::create();
    if (!sha) return fail(err, sha.error());
    *out = new ujwt_digest{std::move(sha).value()};
    return ok(err);
  });
}

void ujwt_digest_free(ujwt_digest* d) { delete d; }

int ujwt_digest_reset(ujwt_digest* d, ujwt_error* err) {
  return guarded(err, [&] {
    if (d == nullptr) return fail(err, UJWT_ERR_INVALID_ARGUMENT, "invalid argument: digest is NULL");
    auto r = d->sha.reset();
    return r ? ok(err) : fail(err, r.error());
  });
}

int ujwt_digest_update(ujwt_digest* d, const uint8_t* data, size_t len, ujwt_error* err) {
  return guarded(err, [&] {
    if (d == nullptr) return fail(err, UJWT_ERR_INVALID_ARGUMENT, "invalid argument: digest is NULL");
    if (data == nullptr && len != 0) return fail(err, UJWT_ERR_INVALID_ARGUMENT, arg_error("data"));
    auto r = d->sha.update(data, len);
    return r ? ok(err) : fail(err, r.error());
  });
}

int ujwt_digest_final(ujwt_digest* d, char* out, size_t out_cap, size_t* out_len, ujwt_error* err) {
  return guarded(err, [&] {
    if (d == nullptr) return fail(err, UJWT_ERR_INVALID_ARGUMENT, "invalid argument: digest is NULL");
    if (!out_args_ok(out, out_cap, out_len))
      return fail(err, UJWT_ERR_INVALID_ARGUMENT, "invalid argument: output buffer");
    *out_len = UJWT_SHA256_B64_LEN;
    // Checked before finishing so a retry with a bigger buffer still sees
    // the whole stream.
    if (out_cap < UJWT_SHA256_B64_LEN)
      return fail(err, UJWT_ERR_BUFFER_TOO_SMALL, "digest needs 43 bytes");
    auto r = d->sha.final_b64_to(out);
    return r ? ok(err) : fail(err, r.error());
  });
}

int ujwt_sha256_b64(const uint8_t* data, size_t len, char* out, size_t out_cap, size_t* out_len,
                    ujwt_error* err) {
  return guarded(err, [&] {
    if (data == nullptr && len != 0) return fail(err, UJWT_ERR_INVALID_ARGUMENT, arg_error("data"));
    if (!out_args_ok(out, out_cap, out_len))
      return fail(err, UJWT_ERR_INVALID_ARGUMENT, "invalid argument: output buffer");
    *out_len = UJWT_SHA256_B64_LEN;
    if (out_cap < UJWT_SHA256_B64_LEN)
      return fail(err, UJWT_ERR_BUFFER_TOO_SMALL, "digest needs 43 bytes");
    // Raw digest straight into the caller's buffer: no std::string per body.
    auto d = uj::sha256_raw(std::string_view(reinterpret_cast<const char*>(data), len));
    if (!d) return fail(err, d.error());
    uj::base64url_encode_to(d.value().data(), d.value().size(), out);
    return ok(err);
  });
}

/* ---- header binding ---- */

int ujwt_headers_sha256(const char* names, size_t names_len, const ujwt_header* headers,
                        size_t header_count, char* out, size_t out_cap, size_t* out_len,
                        ujwt_error* err) {
  return guarded(err, [&] {
    if (names == nullptr) return fail(err, UJWT_ERR_INVALID_ARGUMENT, "invalid argument: names is NULL");
    if (!out_args_ok(out, out_cap, out_len))
      return fail(err, UJWT_ERR_INVALID_ARGUMENT, "invalid argument: output buffer");
    *out_len = UJWT_SHA256_B64_LEN;
    if (out_cap < UJWT_SHA256_B64_LEN)
      return fail(err, UJWT_ERR_BUFFER_TOO_SMALL, "digest needs 43 bytes");
    std::vector<uj::Header> views;
    if (int rc = header_views(headers, header_count, views, err); rc != UJWT_OK) return rc;
    auto d = uj::headers_sha256(std::string_view(names, names_len), views);
    if (!d) return fail(err, d.error());
    std::memcpy(out, d.value().data(), UJWT_SHA256_B64_LEN);
    return ok(err);
  });
}

/* ---- signer ---- */

int ujwt_signer_new(const char* alg, size_t alg_len, const uint8_t* key, size_t key_len,
                    const char* kid, size_t kid_len, ujwt_signer** out, ujwt_error* err) {
  return guarded(err, [&] {
    if (out == nullptr) return fail(err, UJWT_ERR_INVALID_ARGUMENT, "invalid argument: out is NULL");
    *out = nullptr;
    KeyArgs args;
    if (int rc = parse_key_args(alg, alg_len, key, key_len, kid, kid_len, args, err); rc != UJWT_OK)
      return rc;
    auto s = uj::Signer::create(args.alg, args.key, args.kid);
    if (!s) return fail(err, s.error());
    *out = new ujwt_signer{std::move(s).value()};
    return ok(err);
  });
}

void ujwt_signer_free(ujwt_signer* s) { delete s; }

int ujwt_sign(const ujwt_signer* s, const ujwt_claims* c, char* out, size_t out_cap,
              size_t* out_len, ujwt_error* err) {
  return guarded(err, [&] {
    if (s == nullptr || c == nullptr)
      return fail(err, UJWT_ERR_INVALID_ARGUMENT, "invalid argument: signer or claims is NULL");
    if (!out_args_ok(out, out_cap, out_len))
      return fail(err, UJWT_ERR_INVALID_ARGUMENT, "invalid argument: output buffer");
    if (c->iss == nullptr) return fail(err, UJWT_ERR_INVALID_ARGUMENT, "invalid argument: iss is required");
    uj::Claims claims;
    claims.iss = std::string_view(c->iss, c->iss_len);
    claims.now = c->now;
    claims.ttl = c->ttl;
    struct Field { const char* name; const char* ptr; size_t len; std::optional<std::string_view>* dst; };
    const Field fields[] = {
        {"aud", c->aud, c->aud_len, &claims.aud},
        {"sub", c->sub, c->sub_len, &claims.sub},
        {"consumer_id", c->consumer_id, c->consumer_id_len, &claims.consumer_id},
        {"consumer_username", c->consumer_username, c->consumer_username_len, &claims.consumer_username},
        {"consumer_custom_id", c->consumer_custom_id, c->consumer_custom_id_len, &claims.consumer_custom_id},
        {"credential_id", c->credential_id, c->credential_id_len, &claims.credential_id},
        {"htm", c->htm, c->htm_len, &claims.htm},
        {"htu", c->htu, c->htu_len, &claims.htu},
        {"query", c->query, c->query_len, &claims.query},
        {"body_sha256", c->body_sha256, c->body_sha256_len, &claims.body_sha256},
        {"extra_json", c->extra_json, c->extra_json_len, &claims.extra_json},
        {"hdr_names", c->hdr_names, c->hdr_names_len, &claims.hdr_names},
        {"hdr_sha256", c->hdr_sha256, c->hdr_sha256_len, &claims.hdr_sha256}};
    for (const Field& f : fields)
      if (!opt_view(f.ptr, f.len, *f.dst)) return fail(err, UJWT_ERR_INVALID_ARGUMENT, arg_error(f.name));
    auto n = s->signer.sign_to(claims, out, out_cap);
    if (!n) {
      if (n.error().status == uj::Status::buffer_too_small) *out_len = n.error().needed;
      return fail(err, n.error());
    }
    *out_len = n.value();
    return ok(err);
  });
}

/* ---- replay cache ---- */

int ujwt_replay_cache_new(size_t capacity, ujwt_replay_cache** out, ujwt_error* err) {
  return guarded(err, [&] {
    if (out == nullptr) return fail(err, UJWT_ERR_INVALID_ARGUMENT, "invalid argument: out is NULL");
    *out = nullptr;
    if (capacity == 0) return fail(err, UJWT_ERR_INVALID_ARGUMENT, "invalid argument: capacity is 0");
    *out = new ujwt_replay_cache(capacity);
    return ok(err);
  });
}

void ujwt_replay_cache_free(ujwt_replay_cache* c) { delete c; }

/* ---- verifier ---- */

int ujwt_verifier_new(ujwt_verifier** out, ujwt_error* err) {
  return guarded(err, [&] {
    if (out == nullptr) return fail(err, UJWT_ERR_INVALID_ARGUMENT, "invalid argument: out is NULL");
    *out = nullptr;
    *out = new ujwt_verifier{};
    return ok(err);
  });
}

void ujwt_verifier_free(ujwt_verifier* v) { delete v; }

int ujwt_verifier_add_key(ujwt_verifier* v, const char* alg, size_t alg_len, const uint8_t* key,
                          size_t key_len, const char* kid, size_t kid_len, ujwt_error* err) {
  return guarded(err, [&] {
    if (v == nullptr) return fail(err, UJWT_ERR_INVALID_ARGUMENT, "invalid argument: verifier is NULL");
    KeyArgs args;
    if (int rc = parse_key_args(alg, alg_len, key, key_len, kid, kid_len, args, err); rc != UJWT_OK)
      return rc;
    auto r = v->verifier.add_key(args.alg, args.key, args.kid);
    return r ? ok(err) : fail(err, r.error());
  });
}

int ujwt_verifier_add_jwk(ujwt_verifier* v, const char* json, size_t json_len, const char* alg,
                          size_t alg_len, ujwt_error* err) {
  return guarded(err, [&] {
    if (v == nullptr) return fail(err, UJWT_ERR_INVALID_ARGUMENT, "invalid argument: verifier is NULL");
    if (json == nullptr) return fail(err, UJWT_ERR_INVALID_ARGUMENT, "invalid argument: json is NULL");
    std::optional<uj::Algorithm> a;
    if (int rc = parse_opt_alg(alg, alg_len, a, err); rc != UJWT_OK) return rc;
    auto r = v->verifier.add_jwk(std::string_view(json, json_len), a);
    return r ? ok(err) : fail(err, r.error());
  });
}

int ujwt_verify(const ujwt_verifier* v, const char* token, size_t token_len,
                const ujwt_verify_options* o, char* out, size_t out_cap, size_t* out_len,
                ujwt_error* err) {
  return guarded(err, [&] {
    if (v == nullptr) return fail(err, UJWT_ERR_INVALID_ARGUMENT, "invalid argument: verifier is NULL");
    if (token == nullptr && token_len != 0) return fail(err, UJWT_ERR_INVALID_ARGUMENT, arg_error("token"));
    if (out == nullptr && out_cap != 0) return fail(err, UJWT_ERR_INVALID_ARGUMENT, arg_error("out"));
    // The claims are not NUL-terminated: output without a length is unusable.
    if (out != nullptr && out_len == nullptr)
      return fail(err, UJWT_ERR_INVALID_ARGUMENT, "invalid argument: out_len is NULL with an output buffer");
    uj::VerifyOptions opts;
    std::vector<uj::Header> headers;
    if (o != nullptr) {
      struct Field { const char* name; const char* ptr; size_t len; std::optional<std::string_view>* dst; };
      const Field fields[] = {{"issuer", o->issuer, o->issuer_len, &opts.issuer},
                              {"audience", o->audience, o->audience_len, &opts.audience},
                              {"method", o->method, o->method_len, &opts.method},
                              {"path", o->path, o->path_len, &opts.path},
                              {"query", o->query, o->query_len, &opts.query},
                              {"body_sha256", o->body_sha256, o->body_sha256_len, &opts.body_sha256},
                              {"required_headers", o->required_headers, o->required_headers_len,
                               &opts.required_headers}};
      for (const Field& f : fields)
        if (!opt_view(f.ptr, f.len, *f.dst)) return fail(err, UJWT_ERR_INVALID_ARGUMENT, arg_error(f.name));
      opts.now = o->now;
      opts.leeway = o->leeway;
      opts.max_lifetime = o->max_lifetime;
      opts.max_token_length = o->max_token_length;
      if (o->replay_cache != nullptr) opts.replay_cache = &o->replay_cache->cache;
      if (o->headers != nullptr) {
        if (int rc = header_views(o->headers, o->header_count, headers, err); rc != UJWT_OK) return rc;
        opts.headers = uj::HeaderList(headers);
      } else if (o->header_count != 0) {
        return fail(err, UJWT_ERR_INVALID_ARGUMENT, arg_error("headers"));
      }
    }
    const std::string_view tok = token ? std::string_view(token, token_len) : std::string_view();
    // verify_to allocates nothing for a usual token. *out_len is the claims'
    // length once every check but replay has passed (so also for a
    // too-small buffer and a replayed jti): claims_size is set just then.
    constexpr size_t kUnset = static_cast<size_t>(-1);
    size_t claims_size = kUnset;
    auto n = v->verifier.verify_to(tok, opts, out, out_cap, &claims_size);
    if (out_len != nullptr && claims_size != kUnset) *out_len = claims_size;
    if (!n) return fail(err, n.error());
    return ok(err);
  });
}

/* ---- JWKS ---- */

int ujwt_jwks_from_pem(const uint8_t* pem, size_t pem_len, const char* kid, size_t kid_len,
                       const char* alg, size_t alg_len, char* out, size_t out_cap, size_t* out_len,
                       ujwt_error* err) {
  return guarded(err, [&] {
    if (pem == nullptr) return fail(err, UJWT_ERR_INVALID_ARGUMENT, "invalid argument: pem is NULL");
    if (!out_args_ok(out, out_cap, out_len))
      return fail(err, UJWT_ERR_INVALID_ARGUMENT, "invalid argument: output buffer");
    std::optional<std::string_view> k;
    if (!opt_view(kid, kid_len, k)) return fail(err, UJWT_ERR_INVALID_ARGUMENT, arg_error("kid"));
    std::optional<uj::Algorithm> a;
    if (int rc = parse_opt_alg(alg, alg_len, a, err); rc != UJWT_OK) return rc;
    auto jwks = uj::jwks_from_pem(std::string_view(reinterpret_cast<const char*>(pem), pem_len), k, a);
    if (!jwks) return fail(err, jwks.error());
    return write_out(jwks.value(), out, out_cap, out_len, err);
  });
}

}  // extern "C"
