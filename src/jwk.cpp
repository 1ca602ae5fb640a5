#include "upstream_jwt/jwk.hpp"

#include <openssl/core_names.h>
#include <openssl/param_build.h>

#include <nlohmann/json.hpp>

#include <cstring>

#include "json_util.hpp"
#include "ossl.hpp"
#include "pem.hpp"
#include "upstream_jwt/base64url.hpp"

namespace upstream_jwt {

using detail::BnPtr;
using detail::PkeyPtr;
using Json = nlohmann::json;

namespace {

struct ParamBldFree { void operator()(OSSL_PARAM_BLD* p) const noexcept { OSSL_PARAM_BLD_free(p); } };
struct ParamFree { void operator()(OSSL_PARAM* p) const noexcept { OSSL_PARAM_free(p); } };

Error jwk_error(std::string msg) { return make_error(Status::key, "JWK: " + std::move(msg)); }

// A member value quoted for a message: JWKS documents may come from a remote
// endpoint, so the text is JSON-escaped (no CR/LF or NUL reaches a log line)
// and bounded, cut on a UTF-8 boundary (nlohmann validated the UTF-8).
std::string shown_value(std::string_view s) {
  std::size_t n = s.size() > 64 ? 64 : s.size();
  while (n < s.size() && n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  std::string out;
  detail::append_json_string(out, s.substr(0, n));
  if (n < s.size()) out += "...";
  return out;
}

Result<std::string> b64_member(const Json& jwk, const char* name) {
  auto it = jwk.find(name);
  if (it == jwk.end() || !it->is_string())
    return jwk_error(std::string("member \"") + name + "\" missing or not a string");
  auto bytes = base64url_decode(it->get_ref<const std::string&>());
  if (!bytes) return jwk_error(std::string("member \"") + name + "\" is not strict base64url");
  return std::move(*bytes);
}

PkeyPtr from_data(const char* type, OSSL_PARAM* params) {
  detail::PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* pkey = nullptr;
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
    return PkeyPtr();
  return PkeyPtr(pkey);
}

Result<PkeyPtr> rsa_from_jwk(const Json& jwk) {
  auto n = b64_member(jwk, "n");
  if (!n) return std::move(n).error();
  auto e = b64_member(jwk, "e");
  if (!e) return std::move(e).error();
  const auto& nb = n.value();
  const auto& eb = e.value();
  BnPtr bn_n(BN_bin2bn(reinterpret_cast<const unsigned char*>(nb.data()),
                       static_cast<int>(nb.size()), nullptr));
  BnPtr bn_e(BN_bin2bn(reinterpret_cast<const unsigned char*>(eb.data()),
                       static_cast<int>(eb.size()), nullptr));
  if (!bn_n || !bn_e) return make_error(Status::internal, detail::openssl_error("BN_bin2bn"));
  std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree> bld(OSSL_PARAM_BLD_new());
  if (!bld || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get()) != 1)
    return make_error(Status::internal, detail::openssl_error("OSSL_PARAM_BLD"));
  std::unique_ptr<OSSL_PARAM, ParamFree> params(OSSL_PARAM_BLD_to_param(bld.get()));
  PkeyPtr pkey = params ? from_data("RSA", params.get()) : PkeyPtr();
  if (!pkey) return jwk_error(detail::openssl_error("invalid RSA public key"));
  return pkey;
}

Result<PkeyPtr> ec_from_jwk(const Json& jwk) {
  auto crv = jwk.find("crv");
  if (crv == jwk.end() || !crv->is_string() || crv->get_ref<const std::string&>() != "P-256")
    return jwk_error("EC key must have crv \"P-256\"");
  auto x = b64_member(jwk, "x");
  if (!x) return std::move(x).error();
  auto y = b64_member(jwk, "y");
  if (!y) return std::move(y).error();
  if (x.value().size() != 32 || y.value().size() != 32)
    return jwk_error("P-256 coordinates must be 32 bytes each");
  unsigned char point[65];
  point[0] = 0x04;  // uncompressed SEC1 point
  std::memcpy(point + 1, x.value().data(), 32);
  std::memcpy(point + 33, y.value().data(), 32);
  char group[] = "P-256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point),
      OSSL_PARAM_construct_end()};
  PkeyPtr pkey = from_data("EC", params);
  if (!pkey) return jwk_error(detail::openssl_error("invalid EC public key"));
  // fromdata does not promise an on-curve check; an off-curve point must
  // never reach ECDSA verification.
  detail::PkeyCtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey.get(), nullptr));
  if (!check || EVP_PKEY_public_check(check.get()) != 1)
    return jwk_error(detail::openssl_error("EC point is not on P-256"));
  return pkey;
}

Result<PkeyPtr> okp_from_jwk(const Json& jwk) {
  auto crv = jwk.find("crv");
  if (crv == jwk.end() || !crv->is_string() || crv->get_ref<const std::string&>() != "Ed25519")
    return jwk_error("OKP key must have crv \"Ed25519\"");
  auto x = b64_member(jwk, "x");
  if (!x) return std::move(x).error();
  if (x.value().size() != 32) return jwk_error("Ed25519 public key must be 32 bytes");
  PkeyPtr pkey(EVP_PKEY_new_raw_public_key_ex(
      nullptr, "ED25519", nullptr, reinterpret_cast<const unsigned char*>(x.value().data()), 32));
  if (!pkey) return jwk_error(detail::openssl_error("invalid Ed25519 key"));
  return pkey;
}

Result<JwkKey> one_jwk(const Json& jwk, std::optional<Algorithm> alg_arg) {
  if (!jwk.is_object()) return jwk_error("a key must be a JSON object");
  auto kty_it = jwk.find("kty");
  if (kty_it == jwk.end() || !kty_it->is_string()) return jwk_error("missing \"kty\"");
  const std::string& kty = kty_it->get_ref<const std::string&>();

  std::optional<Algorithm> alg = alg_arg;
  if (auto a = jwk.find("alg"); a != jwk.end()) {
    if (!a->is_string()) return jwk_error("\"alg\" is not a string");
    auto parsed = parse_algorithm(a->get_ref<const std::string&>());
    if (!parsed)
      return make_error(Status::algorithm,
                        "JWK: unsupported alg " + shown_value(a->get_ref<const std::string&>()));
    if (alg_arg && *alg_arg != *parsed)
      return jwk_error("\"alg\" " + a->get_ref<const std::string&>() +
                       " differs from the requested " + std::string(algorithm_name(*alg_arg)));
    alg = parsed;
  }
  if (!alg) return jwk_error("key has no \"alg\" and none was given");
  if (auto u = jwk.find("use"); u != jwk.end() && (!u->is_string() || u->get_ref<const std::string&>() != "sig"))
    return jwk_error("\"use\" is not \"sig\"");

  std::optional<std::string> kid;
  if (auto k = jwk.find("kid"); k != jwk.end()) {
    if (!k->is_string()) return jwk_error("\"kid\" is not a string");
    kid = k->get<std::string>();
  }

  if (kty == "oct") {
    auto k = b64_member(jwk, "k");
    if (!k) return std::move(k).error();
    auto key = Key::from_secret(*alg, k.value());
    OPENSSL_cleanse(k.value().data(), k.value().size());
    if (!key) return std::move(key).error();
    return JwkKey{std::move(key).value(), std::move(kid)};
  }
  Result<PkeyPtr> pkey = kty == "RSA"   ? rsa_from_jwk(jwk)
                         : kty == "EC"  ? ec_from_jwk(jwk)
                         : kty == "OKP" ? okp_from_jwk(jwk)
                                        : Result<PkeyPtr>(jwk_error("unsupported kty " + shown_value(kty)));
  if (!pkey) return std::move(pkey).error();
  auto key = Key::from_evp(*alg, pkey.value().get(), false);
  if (!key) return std::move(key).error();
  return JwkKey{std::move(key).value(), std::move(kid)};
}

std::string bn_b64(const BIGNUM* bn) {
  std::string bytes(static_cast<std::size_t>(BN_num_bytes(bn)), '\0');
  BN_bn2bin(bn, reinterpret_cast<unsigned char*>(bytes.data()));  // minimal: no leading zeros
  return base64url_encode(bytes);
}

Result<std::string> bn_param_b64(EVP_PKEY* pkey, const char* name, int pad_to) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(pkey, name, &raw) != 1)
    return make_error(Status::key, detail::openssl_error("cannot read public key"));
  BnPtr bn(raw);
  if (pad_to == 0) return bn_b64(bn.get());
  std::string bytes(static_cast<std::size_t>(pad_to), '\0');
  if (BN_bn2binpad(bn.get(), reinterpret_cast<unsigned char*>(bytes.data()), pad_to) != pad_to)
    return make_error(Status::key, "EC coordinate too large");
  return base64url_encode(bytes);
}

}  // namespace

Result<std::vector<JwkKey>> parse_jwks(std::string_view json, std::optional<Algorithm> alg) {
  Json j;
  switch (detail::parse_strict(json, j)) {
    case detail::ParseOutcome::syntax: return jwk_error("not valid JSON");
    case detail::ParseOutcome::duplicate: return jwk_error("duplicate member name");
    case detail::ParseOutcome::ok: break;
  }
  if (!j.is_object()) return jwk_error("not a JSON object");
  std::vector<JwkKey> out;
  if (auto keys = j.find("keys"); keys != j.end() && j.find("kty") == j.end()) {
    if (!keys->is_array()) return jwk_error("\"keys\" is not an array");
    if (keys->empty()) return jwk_error("JWKS has no keys");
    for (const auto& k : *keys) {
      auto one = one_jwk(k, alg);
      if (!one) return std::move(one).error();
      out.push_back(std::move(one).value());
    }
    return out;
  }
  auto one = one_jwk(j, alg);
  if (!one) return std::move(one).error();
  out.push_back(std::move(one).value());
  return out;
}

Result<std::string> public_jwk(const Key& key, std::optional<std::string_view> kid) {
  if (key.is_hmac()) return make_error(Status::key, "a shared secret has no public JWK");
  if (kid && !detail::utf8_valid(*kid))
    return make_error(Status::invalid_argument, "kid is not valid UTF-8");
  EVP_PKEY* pkey = key.pkey();
  std::string out = "{\"kty\":";
  const Algorithm alg = key.algorithm();
  const auto kf = key_family(alg);
  out += kf == KeyFamily::ec ? "\"EC\"" : kf == KeyFamily::ed ? "\"OKP\"" : "\"RSA\"";
  out += ",\"use\":\"sig\",\"alg\":\"";
  out += algorithm_name(alg);
  out += '"';
  if (kid) {
    out += ",\"kid\":";
    detail::append_json_string(out, *kid);
  }
  if (kf == KeyFamily::rsa || kf == KeyFamily::rsa_pss) {
    auto n = bn_param_b64(pkey, OSSL_PKEY_PARAM_RSA_N, 0);
    if (!n) return std::move(n).error();
    auto e = bn_param_b64(pkey, OSSL_PKEY_PARAM_RSA_E, 0);
    if (!e) return std::move(e).error();
    out += ",\"n\":\"" + n.value() + "\",\"e\":\"" + e.value() + '"';
  } else if (kf == KeyFamily::ec) {
    auto x = bn_param_b64(pkey, OSSL_PKEY_PARAM_EC_PUB_X, 32);
    if (!x) return std::move(x).error();
    auto y = bn_param_b64(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, 32);
    if (!y) return std::move(y).error();
    out += ",\"crv\":\"P-256\",\"x\":\"" + x.value() + "\",\"y\":\"" + y.value() + '"';
  } else {
    unsigned char raw[32];
    std::size_t len = sizeof raw;
    if (EVP_PKEY_get_raw_public_key(pkey, raw, &len) != 1 || len != 32)
      return make_error(Status::key, detail::openssl_error("cannot read Ed25519 public key"));
    out += ",\"crv\":\"Ed25519\",\"x\":\"" + base64url_encode(std::string_view(
                                                  reinterpret_cast<const char*>(raw), len)) + '"';
  }
  out += '}';
  return out;
}

Result<std::string> jwks_from_pem(std::string_view pem, std::optional<std::string_view> kid,
                                  std::optional<Algorithm> alg) {
  if (alg && is_hmac(*alg)) return make_error(Status::key, "a shared secret has no public JWK");
  PkeyPtr pkey = detail::read_public_pem(pem);
  if (!pkey) {
    detail::clear_openssl_errors();
    return make_error(Status::key, "not a PEM public or private key");
  }
  std::optional<Algorithm> use = alg;
  if (!use) {
    if (EVP_PKEY_is_a(pkey.get(), "RSA")) use = Algorithm::RS256;
    else if (EVP_PKEY_is_a(pkey.get(), "RSA-PSS")) use = Algorithm::PS256;
    else if (EVP_PKEY_is_a(pkey.get(), "EC")) use = Algorithm::ES256;
    else if (EVP_PKEY_is_a(pkey.get(), "ED25519")) use = Algorithm::EdDSA;
    else return make_error(Status::key, "key type has no JWS algorithm here (RSA, EC P-256, Ed25519)");
  }
  auto key = Key::from_evp(*use, pkey.get(), false);
  if (!key) return std::move(key).error();
  auto jwk = public_jwk(key.value(), kid);
  if (!jwk) return std::move(jwk).error();
  return "{\"keys\":[" + jwk.value() + "]}";
}

}  // namespace upstream_jwt
