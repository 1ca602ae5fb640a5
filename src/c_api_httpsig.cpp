// c_api_httpsig.cpp — the RFC 9421 / RFC 9530 part of include/upstream_jwt.h
// over httpsig.hpp. Same conventions as c_api.cpp (c_api_util.hpp).
#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

#include "c_api_util.hpp"
#include "upstream_jwt.h"
#include "upstream_jwt/httpsig.hpp"

namespace hs = upstream_jwt::httpsig;
namespace sf = upstream_jwt::sf;
using upstream_jwt::capi::fail;
using upstream_jwt::capi::guarded;
using upstream_jwt::capi::null_with_length;
using upstream_jwt::capi::ok;
using upstream_jwt::capi::opt_view;

struct ujwt_httpsig_signer {
  hs::Signer signer;
};
struct ujwt_httpsig_verifier {
  hs::Verifier verifier;
};
struct ujwt_content_digest {
  hs::ContentDigest digest;
  std::size_t field_len;  // what final writes, known before finishing
};

namespace {

int parse_alg(const char* alg, std::size_t alg_len, hs::Algorithm& out, ujwt_error* err) {
  return upstream_jwt::capi::parse_alg_arg(
      alg, alg_len, hs::parse_algorithm,
      "hmac-sha256, ed25519, ecdsa-p256-sha256, rsa-pss-sha512, rsa-v1_5-sha256", out, err);
}

bool view(const char* p, std::size_t n, std::string_view& out) {
  if (p == nullptr) {
    out = {};
    return n == 0;
  }
  out = std::string_view(p, n);
  return true;
}

int to_message(const ujwt_httpsig_message* in, hs::Message& out, bool is_related_request,
               ujwt_error* err) {
  if (in == nullptr) return fail(err, UJWT_ERR_INVALID_ARGUMENT, "invalid argument: msg is NULL");
  if (!view(in->method, in->method_len, out.method))
    return fail(err, UJWT_ERR_INVALID_ARGUMENT, null_with_length("method"));
  if (!view(in->target_uri, in->target_uri_len, out.target_uri))
    return fail(err, UJWT_ERR_INVALID_ARGUMENT, null_with_length("target_uri"));
  if (in->status != 0 && (in->status < 100 || in->status > 999))
    return fail(err, UJWT_ERR_INVALID_ARGUMENT, "invalid argument: status is not 0 or 100..999");
  out.status = in->status;
  if (in->fields == nullptr && in->field_count != 0)
    return fail(err, UJWT_ERR_INVALID_ARGUMENT, null_with_length("fields"));
  out.fields.reserve(in->field_count);
  for (std::size_t i = 0; i < in->field_count; ++i) {
    const ujwt_httpsig_field& f = in->fields[i];
    hs::Field field;
    if (f.name == nullptr || !view(f.value, f.value_len, field.value))
      return fail(err, UJWT_ERR_INVALID_ARGUMENT, "invalid argument: field " + std::to_string(i) +
                                                      " has a NULL name or value");
    field.name = std::string_view(f.name, f.name_len);
    out.fields.push_back(field);
  }
  if (in->request != nullptr && (in->status == 0 || is_related_request))
    return fail(err, UJWT_ERR_INVALID_ARGUMENT, "invalid argument: only a response has a request");
  return UJWT_OK;
}

// The message and, for a response, its request (m.request points at req).
int to_messages(const ujwt_httpsig_message* in, hs::Message& m, hs::Message& req, ujwt_error* err) {
  if (int rc = to_message(in, m, false, err); rc != UJWT_OK) return rc;
  if (in->request != nullptr) {
    if (int rc = to_message(in->request, req, true, err); rc != UJWT_OK) return rc;
    m.request = &req;
  }
  return UJWT_OK;
}

// `("@method" "x";sf)` -> {"@method", "x;sf"}, the form the C++ API takes.
int to_identifiers(const char* text, std::size_t len, const char* what, std::vector<std::string>& out,
                   ujwt_error* err) {
  auto items = hs::parse_components(std::string_view(text, len));
  if (!items)
    return fail(err, UJWT_ERR_INVALID_ARGUMENT, std::string(what) + ": " + items.error().message);
  for (const sf::Item& it : items.value()) {
    std::string id = it.value.text;
    if (auto r = sf::serialize_params_to(it.params, id); !r) return fail(err, r.error());
    out.push_back(std::move(id));
  }
  return UJWT_OK;
}

int opt_string(const char* p, std::size_t n, const char* what, std::optional<std::string>& out,
               ujwt_error* err) {
  std::optional<std::string_view> v;
  if (!opt_view(p, n, v)) return fail(err, UJWT_ERR_INVALID_ARGUMENT, null_with_length(what));
  if (v) out = std::string(*v);
  return UJWT_OK;
}

int key_args(const char* alg, std::size_t alg_len, const uint8_t* key, const char* keyid,
             std::size_t keyid_len, hs::Algorithm& a, std::optional<std::string>& kid, ujwt_error* err) {
  if (int rc = parse_alg(alg, alg_len, a, err); rc != UJWT_OK) return rc;
  if (key == nullptr) return fail(err, UJWT_ERR_INVALID_ARGUMENT, "invalid argument: key is NULL");
  return opt_string(keyid, keyid_len, "keyid", kid, err);
}

std::string verified_json(const hs::Verified& v) {
  nlohmann::ordered_json j;
  j["label"] = v.label;
  j["keyid"] = v.keyid;
  j["alg"] = std::string(hs::algorithm_name(v.alg));
  if (v.created) j["created"] = *v.created;
  if (v.expires) j["expires"] = *v.expires;
  if (v.nonce) j["nonce"] = *v.nonce;
  if (v.tag) j["tag"] = *v.tag;
  j["components"] = v.components;
  return j.dump();
}

}  // namespace

extern "C" {

const char* ujwt_httpsig_reason_name(int reason) { return hs::reason_name(reason).data(); }

int ujwt_httpsig_signer_new(const char* alg, size_t alg_len, const uint8_t* key, size_t key_len,
                            const char* keyid, size_t keyid_len, ujwt_httpsig_signer** out,
                            ujwt_error* err) {
  return guarded(err, [&] {
    if (out == nullptr) return fail(err, UJWT_ERR_INVALID_ARGUMENT, "invalid argument: out is NULL");
    *out = nullptr;
    hs::Algorithm a{};
    std::optional<std::string> kid;
    if (int rc = key_args(alg, alg_len, key, keyid, keyid_len, a, kid, err); rc != UJWT_OK) return rc;
    auto s = hs::Signer::create(a, std::string_view(reinterpret_cast<const char*>(key), key_len),
                                kid.value_or(""));
    if (!s) return fail(err, s.error());
    *out = new ujwt_httpsig_signer{std::move(s).value()};
    return ok(err);
  });
}

void ujwt_httpsig_signer_free(ujwt_httpsig_signer* s) { delete s; }

int ujwt_httpsig_sign(const ujwt_httpsig_signer* s, const ujwt_httpsig_message* msg,
                      const ujwt_httpsig_sign_params* params, char* input_out, size_t input_cap,
                      size_t* input_len, char* sig_out, size_t sig_cap, size_t* sig_len,
                      ujwt_error* err) {
  return guarded(err, [&] {
    if (s == nullptr || params == nullptr)
      return fail(err, UJWT_ERR_INVALID_ARGUMENT, "invalid argument: signer or params is NULL");
    if (input_len == nullptr || sig_len == nullptr || (input_out == nullptr && input_cap != 0) ||
        (sig_out == nullptr && sig_cap != 0))
      return fail(err, UJWT_ERR_INVALID_ARGUMENT, "invalid argument: output buffers");
    hs::Message m, req;
    if (int rc = to_messages(msg, m, req, err); rc != UJWT_OK) return rc;
    hs::SignParams p;
    std::optional<std::string> label;
    if (int rc = opt_string(params->label, params->label_len, "label", label, err); rc != UJWT_OK) return rc;
    if (label) p.label = *label;
    if (params->components == nullptr)
      return fail(err, UJWT_ERR_INVALID_ARGUMENT, "invalid argument: components is NULL");
    if (int rc = to_identifiers(params->components, params->components_len, "components", p.components, err);
        rc != UJWT_OK)
      return rc;
    if (params->created != 0) p.created = params->created;
    if (params->expires != 0) p.expires = params->expires;
    if (int rc = opt_string(params->nonce, params->nonce_len, "nonce", p.nonce, err); rc != UJWT_OK) return rc;
    if (int rc = opt_string(params->tag, params->tag_len, "tag", p.tag, err); rc != UJWT_OK) return rc;
    p.random_nonce = params->random_nonce != 0;
    p.include_alg = params->include_alg != 0;
    auto r = s->signer.sign(m, p);
    if (!r) return fail(err, r.error());
    *input_len = r->signature_input.size();
    *sig_len = r->signature.size();
    if (input_cap < *input_len || sig_cap < *sig_len)
      return fail(err, UJWT_ERR_BUFFER_TOO_SMALL,
                  "outputs need " + std::to_string(*input_len) + " and " + std::to_string(*sig_len) + " bytes");
    std::memcpy(input_out, r->signature_input.data(), *input_len);
    std::memcpy(sig_out, r->signature.data(), *sig_len);
    return ok(err);
  });
}

int ujwt_httpsig_verifier_new(ujwt_httpsig_verifier** out, ujwt_error* err) {
  return guarded(err, [&] {
    if (out == nullptr) return fail(err, UJWT_ERR_INVALID_ARGUMENT, "invalid argument: out is NULL");
    *out = new ujwt_httpsig_verifier{};
    return ok(err);
  });
}

void ujwt_httpsig_verifier_free(ujwt_httpsig_verifier* v) { delete v; }

int ujwt_httpsig_verifier_add_key(ujwt_httpsig_verifier* v, const char* alg, size_t alg_len,
                                  const uint8_t* key, size_t key_len, const char* keyid,
                                  size_t keyid_len, ujwt_error* err) {
  return guarded(err, [&] {
    if (v == nullptr) return fail(err, UJWT_ERR_INVALID_ARGUMENT, "invalid argument: verifier is NULL");
    hs::Algorithm a{};
    std::optional<std::string> kid;
    if (int rc = key_args(alg, alg_len, key, keyid, keyid_len, a, kid, err); rc != UJWT_OK) return rc;
    auto r = v->verifier.add_key(a, std::string_view(reinterpret_cast<const char*>(key), key_len),
                                 kid.value_or(""));
    return r ? ok(err) : fail(err, r.error());
  });
}

int ujwt_httpsig_verify(const ujwt_httpsig_verifier* v, const ujwt_httpsig_message* msg,
                        const ujwt_httpsig_verify_options* opts, char* out, size_t out_cap,
                        size_t* out_len, ujwt_error* err) {
  return guarded(err, [&] {
    if (v == nullptr || opts == nullptr)
      return fail(err, UJWT_ERR_INVALID_ARGUMENT, "invalid argument: verifier or opts is NULL");
    if ((out == nullptr && out_cap != 0) || (out_cap != 0 && out_len == nullptr))
      return fail(err, UJWT_ERR_INVALID_ARGUMENT, "invalid argument: output buffer");
    if (opts->leeway < 0) return fail(err, UJWT_ERR_INVALID_ARGUMENT, "invalid argument: leeway < 0");
    hs::Message m, req;
    if (int rc = to_messages(msg, m, req, err); rc != UJWT_OK) return rc;
    hs::VerifyOptions o;
    if (int rc = opt_string(opts->label, opts->label_len, "label", o.label, err); rc != UJWT_OK) return rc;
    if (int rc = opt_string(opts->tag, opts->tag_len, "tag", o.tag, err); rc != UJWT_OK) return rc;
    o.now = opts->now;
    o.leeway = opts->leeway;
    o.max_age = opts->max_age;
    o.require_created = opts->allow_missing_created == 0;
    o.require_expires = opts->require_expires != 0;
    if (opts->required_components != nullptr) {
      if (int rc = to_identifiers(opts->required_components, opts->required_components_len,
                                  "required_components", o.required_components, err);
          rc != UJWT_OK)
        return rc;
    } else if (opts->required_components_len != 0) {
      return fail(err, UJWT_ERR_INVALID_ARGUMENT, null_with_length("required_components"));
    }
    auto r = v->verifier.verify(m, o);
    if (!r) return fail(err, r.error());
    if (out_len == nullptr) return ok(err);
    const std::string json = verified_json(r.value());
    *out_len = json.size();
    if (out_cap < json.size())
      return fail(err, UJWT_ERR_BUFFER_TOO_SMALL, "output needs " + std::to_string(json.size()) + " bytes");
    std::memcpy(out, json.data(), json.size());
    return ok(err);
  });
}

int ujwt_content_digest_new(unsigned algorithms, ujwt_content_digest** out, ujwt_error* err) {
  return guarded(err, [&] {
    if (out == nullptr) return fail(err, UJWT_ERR_INVALID_ARGUMENT, "invalid argument: out is NULL");
    *out = nullptr;
    auto d = hs::ContentDigest::create(algorithms);
    if (!d) return fail(err, d.error());
    // "sha-256=:" 44 ":" is 54 bytes, "sha-512=:" 88 ":" is 98, joined by ", ".
    std::size_t len = 0;
    if (algorithms & UJWT_CONTENT_DIGEST_SHA256) len += 54;
    if (algorithms & UJWT_CONTENT_DIGEST_SHA512) len += (len ? 2 : 0) + 98;
    *out = new ujwt_content_digest{std::move(d).value(), len};
    return ok(err);
  });
}

void ujwt_content_digest_free(ujwt_content_digest* d) { delete d; }

int ujwt_content_digest_update(ujwt_content_digest* d, const uint8_t* data, size_t len, ujwt_error* err) {
  return guarded(err, [&] {
    if (d == nullptr) return fail(err, UJWT_ERR_INVALID_ARGUMENT, "invalid argument: digest is NULL");
    if (data == nullptr && len != 0) return fail(err, UJWT_ERR_INVALID_ARGUMENT, null_with_length("data"));
    auto r = d->digest.update(data, len);
    return r ? ok(err) : fail(err, r.error());
  });
}

int ujwt_content_digest_final(ujwt_content_digest* d, char* out, size_t out_cap, size_t* out_len,
                              ujwt_error* err) {
  return guarded(err, [&] {
    if (d == nullptr) return fail(err, UJWT_ERR_INVALID_ARGUMENT, "invalid argument: digest is NULL");
    if (out_len == nullptr || (out == nullptr && out_cap != 0))
      return fail(err, UJWT_ERR_INVALID_ARGUMENT, "invalid argument: output buffer");
    *out_len = d->field_len;
    // Checked before finishing, so a too small buffer leaves the hash running.
    if (out_cap < d->field_len)
      return fail(err, UJWT_ERR_BUFFER_TOO_SMALL, "output needs " + std::to_string(d->field_len) + " bytes");
    auto f = d->digest.final_field();
    if (!f) return fail(err, f.error());
    if (f->size() != d->field_len) return fail(err, UJWT_ERR_INTERNAL, "unexpected digest field size");
    std::memcpy(out, f->data(), f->size());
    return ok(err);
  });
}

int ujwt_content_digest_check(ujwt_content_digest* d, const char* field, size_t field_len, ujwt_error* err) {
  return guarded(err, [&] {
    if (d == nullptr) return fail(err, UJWT_ERR_INVALID_ARGUMENT, "invalid argument: digest is NULL");
    if (field == nullptr && field_len != 0) return fail(err, UJWT_ERR_INVALID_ARGUMENT, null_with_length("field"));
    auto r = d->digest.check(field == nullptr ? std::string_view() : std::string_view(field, field_len));
    return r ? ok(err) : fail(err, r.error());
  });
}

}  // extern "C"
