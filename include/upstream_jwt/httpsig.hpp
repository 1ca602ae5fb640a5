// httpsig.hpp — RFC 9421 HTTP Message Signatures and RFC 9530 Content-Digest.
//
// A Message is a read-only view of an HTTP request or response (method,
// absolute target URI or status, header fields in order). The Signer builds
// the signature base over the covered components and returns the
// Signature-Input and Signature dictionary members; the Verifier parses
// those two fields strictly, rebuilds the base from the message, picks the
// key by `keyid`, and checks the signature and the time parameters.
//
//   auto signer = httpsig::Signer::create(httpsig::Algorithm::ed25519, pem, "gw-1");
//   httpsig::SignParams p;
//   p.label = "sig1";
//   p.components = {"@method", "@target-uri", "content-digest"};
//   auto s = signer.value().sign(msg, p);   // s->signature_input, s->signature
//
// Rejections are Status::token_invalid with a httpsig::Reason (carried in
// Error::reason as its int value; httpsig::reason_name() names it).
#ifndef UPSTREAM_JWT_HTTPSIG_HPP
#define UPSTREAM_JWT_HTTPSIG_HPP

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "upstream_jwt/result.hpp"
#include "upstream_jwt/structured_fields.hpp"

namespace upstream_jwt::httpsig {

// The HTTP Signature Algorithms registry entries this library speaks.
enum class Algorithm { hmac_sha256, ed25519, ecdsa_p256_sha256, rsa_pss_sha512, rsa_v1_5_sha256 };

// Exact registry names ("hmac-sha256", "ed25519", "ecdsa-p256-sha256",
// "rsa-pss-sha512", "rsa-v1_5-sha256"); nullopt otherwise.
std::optional<Algorithm> parse_algorithm(std::string_view name) noexcept;
std::string_view algorithm_name(Algorithm alg) noexcept;

// Why a signature or a digest was rejected. The numbers are the C ABI's
// UJWT_HTTPSIG_REASON_* values; they start at 100 so they never collide with
// the JWT verifier's reasons in the same ujwt_error.reason slot.
enum class Reason : int {
  missing_signature = 101,   // no Signature-Input/Signature, or no member for the label
  malformed = 102,           // a signature field or member is not what RFC 9421 says
  ambiguous = 103,           // several signatures and no label chosen
  bad_component = 104,       // a covered component cannot be derived from the message
  missing_component = 105,   // a component the verifier requires is not covered
  unknown_key = 106,         // no key for the keyid (an empty keyid names no key)
  alg_mismatch = 107,        // the alg parameter names another algorithm than the key's
  missing_parameter = 108,   // created (or expires, when required) is absent
  expired = 109,             // now > expires + leeway
  created_in_future = 110,   // created > now + leeway
  too_old = 111,             // now - created > max_age + leeway
  tag_mismatch = 112,        // tag differs from the one required
  bad_signature = 113,       // the signature does not verify
  digest_mismatch = 114,     // Content-Digest does not match the content
  missing_digest = 115,      // Content-Digest absent or with no sha-256/sha-512 member
};
// "bad_signature", ...; "unknown" when out of range.
std::string_view reason_name(int reason) noexcept;
inline Error rejection(Reason r, std::string message) {
  return Error{Status::token_invalid, static_cast<upstream_jwt::Reason>(static_cast<int>(r)),
               std::move(message), 0};
}

struct Field {
  std::string_view name;   // any case; matched case-insensitively
  std::string_view value;  // one field line's value
};

// A view: every string must outlive the calls that read it.
struct Message {
  // Requests: the method and the absolute target URI
  // (scheme://authority/path?query) as the recipient sees them.
  std::string_view method;
  std::string_view target_uri;
  // Responses: the status code (100..999); 0 marks a request.
  int status = 0;
  std::vector<Field> fields;  // header fields in message order
  // Responses only: the request, for components with the `req` parameter.
  const Message* request = nullptr;

  bool is_request() const noexcept { return status == 0; }
};

// Covered components as RFC 9421 serializes them, one identifier per entry:
// `@method`, `content-type`, `@query-param;name="id"`, `example-dict;key="a"`,
// `header;bs`, `header;sf`. Written without the quotes around the name;
// parse_components() also takes the quoted inner-list form.
Result<std::vector<sf::Item>> parse_components(std::string_view inner_list_text);
Result<std::vector<sf::Item>> components_from(const std::vector<std::string>& identifiers);

struct SignParams {
  std::string label = "sig1";
  std::vector<std::string> components;
  // Epoch seconds. created: nullopt = the clock; a negative value omits it.
  std::optional<std::int64_t> created;
  std::optional<std::int64_t> expires;  // absolute; nullopt = no expires
  std::optional<std::string> nonce;     // nullopt = none (see random_nonce)
  bool random_nonce = false;            // 128 random bits, base64url, as nonce
  std::optional<std::string> tag;
  bool include_alg = false;             // add alg="<algorithm>"
};

struct Signed {
  std::string signature_input;  // `label=("..." ...);created=...`: a Signature-Input member
  std::string signature;        // `label=:base64:`: a Signature member
  std::string base;             // the signature base that was signed
};

// The signature base (RFC 9421 Section 2.5) for the covered components and
// the serialized @signature-params value. Rejections: bad_component.
Result<std::string> signature_base(const Message& msg, const std::vector<sf::Item>& covered,
                                   std::string_view signature_params);

class Engine;  // a key with its algorithm, ready to sign or verify

class Signer {
 public:
  // material: hmac-sha256: the secret's bytes (at least 32); the others: a PEM
  // private key of the matching type (RSA >= 2048 bits; rsa-v1_5-sha256 does
  // not take an RSA-PSS-restricted key). keyid may be empty (no keyid param).
  static Result<Signer> create(Algorithm alg, std::string_view material, std::string keyid);
  Result<Signed> sign(const Message& msg, const SignParams& params) const;
  Algorithm algorithm() const noexcept;
  const std::string& keyid() const noexcept { return keyid_; }

 private:
  Signer(std::shared_ptr<const Engine> e, std::string keyid)
      : engine_(std::move(e)), keyid_(std::move(keyid)) {}
  std::shared_ptr<const Engine> engine_;
  std::string keyid_;
};

struct VerifyOptions {
  std::optional<std::string> label;  // nullopt: the only signature present
  std::int64_t now = 0;              // epoch seconds; 0 = clock
  std::int64_t leeway = 0;           // seconds, applied to created/expires
  std::int64_t max_age = 0;          // seconds since created; <= 0 = unlimited
  bool require_created = true;
  bool require_expires = false;
  std::vector<std::string> required_components;  // as in SignParams
  std::optional<std::string> tag;                // must equal when set
};

struct Verified {
  std::string label;
  std::string keyid;
  Algorithm alg = Algorithm::hmac_sha256;
  std::optional<std::int64_t> created, expires;
  std::optional<std::string> nonce, tag;
  std::vector<std::string> components;  // serialized identifiers, quoted
  std::string base;
};

class Verifier {
 public:
  Verifier();
  // material: hmac-sha256: secret bytes; others: a PEM public key or a PEM
  // private key (only its public half is kept). keyid: the value a
  // signature's keyid parameter selects this key by; empty = the key for
  // signatures without a keyid parameter (a `keyid=""` selects no key). A
  // repeated keyid is Status::invalid_argument.
  Result<void> add_key(Algorithm alg, std::string_view material, std::string keyid);
  // Checks, in order: fields present and parse, label choice, member shapes,
  // key selection and alg, required components and tag, created/expires,
  // signature base, signature.
  Result<Verified> verify(const Message& msg, const VerifyOptions& opts) const;

 private:
  struct KeyEntry {
    std::string keyid;
    std::shared_ptr<const Engine> engine;
  };
  std::vector<KeyEntry> keys_;
};

// RFC 9530 Content-Digest over content streamed in any number of pieces.
class ContentDigest {
 public:
  static constexpr unsigned kSha256 = 1, kSha512 = 2;
  static Result<ContentDigest> create(unsigned algorithms);
  ContentDigest(ContentDigest&&) noexcept;
  ContentDigest& operator=(ContentDigest&&) noexcept;
  ~ContentDigest();

  Result<void> update(const void* data, std::size_t len);
  // The field value, e.g. `sha-256=:...:, sha-512=:...:`; starts over.
  Result<std::string> final_field();
  // Compares a received Content-Digest field value with the content hashed
  // so far, then starts over. Members other than sha-256/sha-512 are
  // ignored, and so is a member for an algorithm this instance does not
  // compute (RFC 9530 lets a recipient ignore any digest); every computed
  // one present must match, and at least one must be present.
  Result<void> check(std::string_view field_value);

 private:
  struct Impl;
  explicit ContentDigest(std::unique_ptr<Impl> impl) noexcept;
  std::unique_ptr<Impl> impl_;
};

}  // namespace upstream_jwt::httpsig

#endif  // UPSTREAM_JWT_HTTPSIG_HPP
