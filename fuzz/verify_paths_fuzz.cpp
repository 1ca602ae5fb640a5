// verify_paths_fuzz — the verifier's allocation-free reading of a token
// (the flat scanner, src/json_util.hpp) must be indistinguishable from the
// full parser's. Every input is verified twice, scanner on and scanner off
// (detail::set_json_scanner_enabled), and the run aborts on any difference
// in verdict, status, reason, message, claims bytes, claims size, kid, jti
// or replay expiry (test/verify_paths.hpp observes all of them).
//
// Input layout: byte 0 selects the verify options, byte 1 the mode and the
// output buffer size:
//   mode 0: the rest is a compact token, verified as received;
//   mode 1: the rest is HEADER_JSON \0 PAYLOAD_JSON, signed here (HS256);
//   mode 2: the rest is a payload, signed under {"alg":"HS256","typ":"JWT"};
//   mode 3: the rest is a header, signed over a usual payload of ours.
// Modes 1-3 get past the signature, so the scanner and the parser see
// arbitrary header and claims bytes: escapes, non-ASCII, numbers of every
// form, duplicates at every depth, wrong types, truncation, trailing bytes.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "../test/verify_paths.hpp"
#include "fuzz_keys.hpp"
#include "upstream_jwt/all.hpp"

namespace uj = upstream_jwt;

namespace {

constexpr char kUsualPayload[] =
    "{\"iss\":\"kong\",\"aud\":\"orders\",\"iat\":1700000000,\"nbf\":1700000000,"
    "\"exp\":1700000060,\"jti\":\"AAECAwQFBgcICQoLDA0ODw\",\"sub\":\"c-1\","
    "\"consumer\":{\"id\":\"c-1\",\"username\":\"alice\"},\"htm\":\"GET\",\"htu\":\"/42\","
    "\"query_sha256\":\"47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU\","
    "\"body_sha256\":\"47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU\","
    "\"hdrs\":[\"host\"],\"hdr_sha256\":\"x\"}";

struct Fixture {
  uj::Verifier verifier;
  std::unique_ptr<uj::Key> hs_key;
  std::string empty_sha;
  std::vector<uj::Header> headers{{"host", "example.com"}, {"x-a", "1"}};
};

Fixture& fixture() {
  static Fixture* f = [] {
    auto* fx = new Fixture();
    const std::string secret(ujwt_fuzz::kHsSecret);
    // Kid-less and kid'd HS256 keys: the header's kid takes both selection
    // paths; an ES256 key makes key confusion reachable.
    if (!fx->verifier.add_key(uj::Algorithm::HS256, secret)) std::abort();
    if (!fx->verifier.add_key(uj::Algorithm::HS256, secret, std::string_view("hs-1"))) std::abort();
    if (!fx->verifier.add_key(uj::Algorithm::ES256, ujwt_fuzz::read_key("ec256.pem"),
                              std::string_view("ec-1")))
      std::abort();
    auto hs = uj::Key::for_signing(uj::Algorithm::HS256, secret);
    if (!hs) std::abort();
    fx->hs_key = std::make_unique<uj::Key>(hs.value());
    fx->empty_sha = uj::sha256_b64("").value();
    return fx;
  }();
  return *f;
}

uj::VerifyOptions options_for(std::uint8_t bits, const Fixture& fx) {
  uj::VerifyOptions o = ujwt_fuzz::options_for_bits(bits, fx.empty_sha);
  if (bits & 0x20) {
    o.headers = uj::HeaderList(fx.headers);
    o.required_headers = "host";
  }
  return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  Fixture& fx = fixture();
  const std::uint8_t bits = data[0];
  const std::uint8_t mode = data[1] & 0x03;
  static const std::size_t kCaps[] = {0, 16, 4096, 16384};
  const std::size_t cap = kCaps[(data[1] >> 2) & 0x03];
  const std::string_view rest(reinterpret_cast<const char*>(data + 2), size - 2);
  const uj::VerifyOptions opts = options_for(bits, fx);
  const bool with_replay = (bits & 0x40) != 0;

  std::string token;
  if (mode == 0) {
    token.assign(rest);
  } else {
    std::string_view header = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
    std::string_view payload = kUsualPayload;
    if (mode == 1) {
      const auto nul = rest.find('\0');
      if (nul == std::string_view::npos) return 0;
      header = rest.substr(0, nul);
      payload = rest.substr(nul + 1);
    } else if (mode == 2) {
      payload = rest;
    } else {
      header = rest;
    }
    auto t = uj::sign_compact(*fx.hs_key, header, payload);
    if (!t) return 0;
    token = std::move(t).value();
  }

  const std::string diff = ujwt_paths::difference(fx.verifier, token, opts, with_replay, cap);
  if (!diff.empty()) {
    std::fprintf(stderr, "verify_paths: the scanner and the parser disagree\n%s", diff.c_str());
    std::abort();
  }
  return 0;
}
