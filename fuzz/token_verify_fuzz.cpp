// token_verify_fuzz — the verifier against hostile tokens.
//
// Input layout: byte 0 selects the verify options (issuer, audience, request
// binding, replay cache, leeway, max lifetime), byte 1 the mode:
//   mode 0/1: the rest is a compact token, verified as received;
//   mode 2:   the rest is HEADER_JSON \0 PAYLOAD_JSON, signed here with the
//             HS256 secret, then verified;
//   mode 3:   the same, signed with the ES256 private key (kid "ec-1").
// Modes 2/3 get past the signature check, so the header, claims, time,
// iss/aud and binding checks are fuzzed with arbitrary JSON (duplicate
// members, deep nesting, huge numbers, wrong types), not only the parser.
//
// Properties checked beyond "no crash, no sanitizer report":
//   - an accepted token has exactly three segments, a header alg that is
//     not "none", and the returned payload is the decoded second segment;
//   - in the signing modes an accepted token returns the exact payload bytes;
//   - verification is deterministic (same input, same status and reason).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "fuzz_keys.hpp"
#include "upstream_jwt/all.hpp"

namespace uj = upstream_jwt;

namespace {

struct Fixture {
  uj::Verifier verifier;
  std::unique_ptr<uj::Key> hs_key;
  std::unique_ptr<uj::Key> ec_key;
  std::string empty_sha;
};

Fixture& fixture() {
  static Fixture* f = [] {
    auto* fx = new Fixture();
    const std::string secret(ujwt_fuzz::kHsSecret);
    const std::string ec_priv = ujwt_fuzz::read_key("ec256.pem");
    if (!fx->verifier.add_key(uj::Algorithm::HS256, secret)) std::abort();
    if (!fx->verifier.add_key(uj::Algorithm::ES256, ec_priv, std::string_view("ec-1")))
      std::abort();
    if (!fx->verifier.add_key(uj::Algorithm::EdDSA, ujwt_fuzz::read_key("ed25519.pub.pem")))
      std::abort();
    if (!fx->verifier.add_key(uj::Algorithm::RS256, ujwt_fuzz::read_key("rsa2048.pub.pem"),
                              std::string_view("rsa-1")))
      std::abort();
    auto hs = uj::Key::for_signing(uj::Algorithm::HS256, secret);
    auto ec = uj::Key::for_signing(uj::Algorithm::ES256, ec_priv);
    if (!hs || !ec) std::abort();
    fx->hs_key = std::make_unique<uj::Key>(hs.value());
    fx->ec_key = std::make_unique<uj::Key>(ec.value());
    fx->empty_sha = uj::sha256_b64("").value();
    return fx;
  }();
  return *f;
}

uj::VerifyOptions options_for(std::uint8_t bits, const Fixture& fx) {
  uj::VerifyOptions o = ujwt_fuzz::options_for_bits(bits, fx.empty_sha);
  if (bits & 0x20) o.max_token_length = 512;
  return o;
}

int count_dots(std::string_view s) {
  int n = 0;
  for (char c : s) n += c == '.';
  return n;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  Fixture& fx = fixture();
  const std::uint8_t bits = data[0];
  const std::uint8_t mode = data[1] & 0x03;
  const std::string_view rest(reinterpret_cast<const char*>(data + 2), size - 2);
  uj::VerifyOptions opts = options_for(bits, fx);
  // A fresh cache per input keeps runs independent of input order; the
  // second verify below must then report "replayed" for an accepted token.
  uj::InMemoryReplayCache cache(4);
  const bool with_replay = (bits & 0x40) != 0;
  if (with_replay) opts.replay_cache = &cache;

  std::string token;
  std::string_view signed_payload;
  if (mode <= 1) {
    token.assign(rest);
  } else {
    const auto nul = rest.find('\0');
    if (nul == std::string_view::npos) return 0;
    const std::string_view header = rest.substr(0, nul);
    signed_payload = rest.substr(nul + 1);
    auto t = uj::sign_compact(mode == 2 ? *fx.hs_key : *fx.ec_key, header, signed_payload);
    if (!t) return 0;
    token = std::move(t).value();
  }

  auto first = fx.verifier.verify_without_replay(token, opts);
  auto again = fx.verifier.verify_without_replay(token, opts);
  if (first.ok() != again.ok()) std::abort();
  if (!first.ok()) {
    if (first.error().status != uj::Status::token_invalid) std::abort();
    if (first.error().reason != again.error().reason) std::abort();
    if (first.error().reason == uj::Reason::none) std::abort();
    return 0;
  }

  const uj::VerifiedToken& v = first.value();
  if (count_dots(token) != 2) std::abort();
  const auto d1 = token.find('.');
  const auto d2 = token.find('.', d1 + 1);
  auto payload = uj::base64url_decode(std::string_view(token).substr(d1 + 1, d2 - d1 - 1));
  if (!payload || *payload != v.payload) std::abort();
  if (mode >= 2 && v.payload != signed_payload) std::abort();
  // The algorithm a token was accepted under is the one its header names
  // (so never "none"), and in the signing modes it is the algorithm of the
  // key that signed: an HMAC made here can never pass as ES256 or the
  // reverse (key confusion).
  const auto header = nlohmann::json::parse(v.header, nullptr, false);
  if (!header.is_object()) std::abort();
  const auto alg = header.find("alg");
  if (alg == header.end() || !alg->is_string() ||
      alg->get<std::string>() != uj::algorithm_name(v.alg))
    std::abort();
  if (mode == 2 && v.alg != uj::Algorithm::HS256) std::abort();
  if (mode == 3 && v.alg != uj::Algorithm::ES256) std::abort();

  if (with_replay) {
    if (!v.jti) std::abort();  // replay checking requires a jti
    if (!fx.verifier.record_replay(v, opts)) std::abort();
    auto replay = fx.verifier.verify(token, opts);
    if (replay.ok() || replay.error().reason != uj::Reason::replayed) std::abort();
  }
  return 0;
}
