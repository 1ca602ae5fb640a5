// httpsig_fuzz — the strict structured-field parser and the RFC 9421
// verifier on attacker-controlled bytes. Properties:
//   * a parsed field re-serializes, and that canonical text parses back to
//     the same canonical text (serialization is a fixed point), so a value
//     the signer serializes is read back unchanged by any verifier;
//   * the byte-sequence decoder accepts only canonical base64;
//   * the verifier never crashes, leaks or accepts: the key is random per
//     process, so no fuzzed Signature can be valid.
// The first input byte picks what the rest is: 0-2 a List / Dictionary /
// Item, 3 an Inner List, 4+ a Signature-Input, Signature, target URI and
// covered-header triple separated by '\n'.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "upstream_jwt/httpsig.hpp"
#include "upstream_jwt/structured_fields.hpp"

namespace hs = upstream_jwt::httpsig;
namespace sf = upstream_jwt::sf;

namespace {

template <class Parse>
void fixed_point(std::string_view in, Parse parse) {
  auto v = parse(in);
  if (!v) return;
  auto s1 = sf::serialize(v.value());
  if (!s1) return;  // e.g. a parsed decimal whose value cannot be re-serialized: none exist, but no abort on that
  auto v2 = parse(s1.value());
  if (!v2) std::abort();
  auto s2 = sf::serialize(v2.value());
  if (!s2 || s2.value() != s1.value()) std::abort();
}

const hs::Verifier& verifier() {
  static const hs::Verifier v = [] {
    hs::Verifier out;
    std::string secret(32, '\0');
    for (auto& c : secret) c = static_cast<char>(std::rand());
    if (!out.add_key(hs::Algorithm::hmac_sha256, secret, "k")) std::abort();
    return out;
  }();
  return v;
}

std::string_view next_line(std::string_view& rest) {
  const std::size_t nl = rest.find('\n');
  std::string_view line = rest.substr(0, nl);
  rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
  return line;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 5) {
    case 0: fixed_point(in, [](std::string_view s) { return sf::parse_list(s); }); break;
    case 1: fixed_point(in, [](std::string_view s) { return sf::parse_dictionary(s); }); break;
    case 2: fixed_point(in, [](std::string_view s) { return sf::parse_item(s); }); break;
    case 3: {
      fixed_point(in, [](std::string_view s) { return sf::parse_inner_list(s); });
      if (auto b = sf::base64_decode(in); b && sf::base64_encode(*b) != in) std::abort();
      break;
    }
    default: {
      std::string_view rest = in;
      hs::Message m;
      const std::string_view input = next_line(rest);
      const std::string_view sig = next_line(rest);
      m.method = "POST";
      m.target_uri = next_line(rest);
      m.fields = {{"Signature-Input", input}, {"Signature", sig}, {"Example-Dict", next_line(rest)},
                  {"Content-Type", rest}};
      hs::VerifyOptions o;
      o.now = 1700000000;
      o.require_created = (data[0] & 8) != 0;
      if (verifier().verify(m, o)) std::abort();
      auto d = hs::ContentDigest::create(hs::ContentDigest::kSha256 | hs::ContentDigest::kSha512);
      if (!d || !d->update(input.data(), input.size())) std::abort();
      (void)d->check(sig);
      break;
    }
  }
  return 0;
}
