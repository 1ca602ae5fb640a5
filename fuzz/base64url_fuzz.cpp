// base64url_fuzz — strict decoding and the round-trip properties:
//   decode(encode(x)) == x for every x, and
//   decode(t) succeeds only for canonical text: encode(decode(t)) == t.
// The second property is what makes a token's bytes unique: a verifier
// that accepted two spellings of one signature would let a tampered token
// through a jti/replay cache keyed on the text.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "upstream_jwt/base64url.hpp"

namespace uj = upstream_jwt;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);

  // Property 1: encode then decode is the identity, through both APIs.
  const std::string enc = uj::base64url_encode(in);
  if (enc.size() != uj::base64url_encoded_size(size)) std::abort();
  for (char c : enc) {
    const bool alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                       (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!alpha) std::abort();
  }
  auto dec = uj::base64url_decode(enc);
  if (!dec || *dec != in) std::abort();

  // encode_to must write exactly encoded_size bytes: a heap buffer of that
  // exact size lets ASan catch a one-byte overrun.
  std::string exact(uj::base64url_encoded_size(size), '\0');
  if (!exact.empty()) {
    char* buf = static_cast<char*>(std::malloc(exact.size()));
    uj::base64url_encode_to(data, size, buf);
    exact.assign(buf, exact.size());
    std::free(buf);
  }
  if (exact != enc) std::abort();

  // Property 2: strict decoding of arbitrary text accepts canonical text only.
  std::string out;
  const bool ok = uj::base64url_decode_to(in, out);
  auto opt = uj::base64url_decode(in);
  if (ok != opt.has_value()) std::abort();
  if (ok) {
    if (*opt != out) std::abort();
    if (uj::base64url_encode(out) != in) std::abort();
    if (in.find('=') != std::string_view::npos) std::abort();
    if (size % 4 == 1) std::abort();
  }
  return 0;
}
