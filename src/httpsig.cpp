// RFC 9421 signing (Section 3.1) and verification (Section 3.2).
#include "upstream_jwt/httpsig.hpp"

#include <openssl/rand.h>

#include <cctype>
#include <ctime>

#include "httpsig_engine.hpp"
#include "upstream_jwt/base64url.hpp"

namespace upstream_jwt::httpsig {

namespace {

struct AlgName {
  Algorithm alg;
  std::string_view name;
};
constexpr AlgName kAlgs[] = {
    {Algorithm::hmac_sha256, "hmac-sha256"},
    {Algorithm::ed25519, "ed25519"},
    {Algorithm::ecdsa_p256_sha256, "ecdsa-p256-sha256"},
    {Algorithm::rsa_pss_sha512, "rsa-pss-sha512"},
    {Algorithm::rsa_v1_5_sha256, "rsa-v1_5-sha256"},
};

constexpr std::string_view kReasonNames[] = {
    "missing_signature", "malformed",        "ambiguous",         "bad_component",
    "missing_component", "unknown_key",      "alg_mismatch",      "missing_parameter",
    "expired",           "created_in_future", "too_old",          "tag_mismatch",
    "bad_signature",     "digest_mismatch",  "missing_digest"};

std::int64_t clock_now() { return static_cast<std::int64_t>(std::time(nullptr)); }

Result<std::string> random_nonce() {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof bytes) != 1)
    return make_error(Status::internal, "RAND_bytes failed");
  return base64url_encode(std::string_view(reinterpret_cast<const char*>(bytes), sizeof bytes));
}

// All values of the fields called `name`, joined as RFC 9110 5.3 combines them.
std::optional<std::string> combined_field(const Message& msg, std::string_view name) {
  std::optional<std::string> out;
  for (const Field& f : msg.fields) {
    if (f.name.size() != name.size()) continue;
    bool same = true;
    for (std::size_t i = 0; i < name.size() && same; ++i)
      same = std::tolower(static_cast<unsigned char>(f.name[i])) == name[i];
    if (!same) continue;
    if (out) *out += ", ";
    else out.emplace();
    *out += f.value;
  }
  return out;
}

Result<std::vector<std::string>> serialized_ids(const std::vector<sf::Item>& items) {
  std::vector<std::string> out;
  for (const sf::Item& it : items) {
    auto s = sf::serialize(it);
    if (!s) return std::move(s).error();
    out.push_back(std::move(s.value()));
  }
  return out;
}

}  // namespace

std::optional<Algorithm> parse_algorithm(std::string_view name) noexcept {
  for (const AlgName& a : kAlgs)
    if (a.name == name) return a.alg;
  return std::nullopt;
}

std::string_view algorithm_name(Algorithm alg) noexcept {
  for (const AlgName& a : kAlgs)
    if (a.alg == alg) return a.name;
  return "unknown";
}

std::string_view reason_name(int reason) noexcept {
  const int first = static_cast<int>(Reason::missing_signature);
  const int n = static_cast<int>(sizeof kReasonNames / sizeof kReasonNames[0]);
  if (reason < first || reason >= first + n) return "unknown";
  return kReasonNames[reason - first];
}

Result<Signer> Signer::create(Algorithm alg, std::string_view material, std::string keyid) {
  auto e = Engine::create(alg, material, Engine::Mode::sign);
  if (!e) return std::move(e).error();
  return Signer(std::move(e.value()), std::move(keyid));
}

Algorithm Signer::algorithm() const noexcept { return engine_->algorithm(); }

Result<Signed> Signer::sign(const Message& msg, const SignParams& p) const {
  if (!sf::is_valid_key(p.label))
    return make_error(Status::invalid_argument,
                      "label \"" + p.label + "\" is not a structured-field key (a-z0-9_-.*)");
  auto covered = components_from(p.components);
  if (!covered) return std::move(covered).error();
  sf::InnerList params;
  params.items = std::move(covered.value());
  const std::int64_t created = p.created ? *p.created : clock_now();
  if (created >= 0) params.params.emplace_back("created", sf::BareItem::integer(created));
  if (p.expires) params.params.emplace_back("expires", sf::BareItem::integer(*p.expires));
  if (!keyid_.empty()) params.params.emplace_back("keyid", sf::BareItem::string(keyid_));
  if (p.include_alg)
    params.params.emplace_back("alg", sf::BareItem::string(std::string(algorithm_name(algorithm()))));
  if (p.nonce && p.random_nonce)
    return make_error(Status::invalid_argument, "nonce and random_nonce are exclusive");
  if (p.nonce) params.params.emplace_back("nonce", sf::BareItem::string(*p.nonce));
  if (p.random_nonce) {
    auto n = random_nonce();
    if (!n) return std::move(n).error();
    params.params.emplace_back("nonce", sf::BareItem::string(std::move(n.value())));
  }
  if (p.tag) params.params.emplace_back("tag", sf::BareItem::string(*p.tag));
  // Serializing refuses values a header cannot carry (a tag with a newline,
  // an integer of 16 digits) before anything is signed.
  auto params_text = sf::serialize(params);
  if (!params_text) return std::move(params_text).error();
  auto base = signature_base(msg, params.items, params_text.value());
  if (!base) return std::move(base).error();
  auto sig = engine_->sign(base.value());
  if (!sig) return std::move(sig).error();
  Signed out;
  out.signature_input = p.label + "=" + params_text.value();
  out.signature = p.label + "=:" + sf::base64_encode(sig.value()) + ":";
  out.base = std::move(base.value());
  return out;
}

Verifier::Verifier() = default;

Result<void> Verifier::add_key(Algorithm alg, std::string_view material, std::string keyid) {
  for (const KeyEntry& k : keys_)
    if (k.keyid == keyid)
      return make_error(Status::invalid_argument,
                        keyid.empty() ? std::string("a key without keyid is already registered")
                                      : "keyid \"" + keyid + "\" is already registered");
  auto e = Engine::create(alg, material, Engine::Mode::verify);
  if (!e) return std::move(e).error();
  keys_.push_back(KeyEntry{std::move(keyid), std::move(e.value())});
  return {};
}

Result<Verified> Verifier::verify(const Message& msg, const VerifyOptions& opts) const {
  const auto input_text = combined_field(msg, "signature-input");
  const auto sig_text = combined_field(msg, "signature");
  if (!input_text || !sig_text)
    return rejection(Reason::missing_signature, "no Signature-Input or no Signature field");
  auto inputs = sf::parse_dictionary(*input_text, sf::RepeatedParameter::refuse);
  if (!inputs) return rejection(Reason::malformed, "Signature-Input: " + inputs.error().message);
  auto sigs = sf::parse_dictionary(*sig_text);
  if (!sigs) return rejection(Reason::malformed, "Signature: " + sigs.error().message);

  Verified out;
  if (opts.label) {
    out.label = *opts.label;
  } else if (inputs.value().size() == 1) {
    out.label = inputs.value().front().first;
  } else if (inputs.value().empty()) {
    return rejection(Reason::missing_signature, "Signature-Input is empty");
  } else {
    return rejection(Reason::ambiguous, "several signatures and no label chosen");
  }
  const sf::Member* in_m = sf::find(inputs.value(), out.label);
  const sf::Member* sig_m = sf::find(sigs.value(), out.label);
  if (in_m == nullptr || sig_m == nullptr)
    return rejection(Reason::missing_signature, "no signature labelled \"" + out.label + "\"");
  const auto* input = std::get_if<sf::InnerList>(in_m);
  if (input == nullptr) return rejection(Reason::malformed, "Signature-Input member is not an inner list");
  for (const sf::Item& it : input->items)
    if (it.value.type != sf::Type::string)
      return rejection(Reason::malformed, "a covered component is not a string");
  const auto* sig_item = std::get_if<sf::Item>(sig_m);
  if (sig_item == nullptr || sig_item->value.type != sf::Type::byte_sequence)
    return rejection(Reason::malformed, "Signature member is not a byte sequence");

  std::optional<std::string> alg_param;
  bool has_keyid = false;
  for (const auto& [key, v] : input->params) {
    const bool is_int = key == "created" || key == "expires";
    const bool is_str = key == "keyid" || key == "alg" || key == "nonce" || key == "tag";
    if ((is_int && v.type != sf::Type::integer) || (is_str && v.type != sf::Type::string))
      return rejection(Reason::malformed, "signature parameter " + key + " has the wrong type");
    if (key == "created") out.created = v.number;
    else if (key == "expires") out.expires = v.number;
    else if (key == "keyid") {
      out.keyid = v.text;
      has_keyid = true;
    }
    else if (key == "alg") alg_param = v.text;
    else if (key == "nonce") out.nonce = v.text;
    else if (key == "tag") out.tag = v.text;
  }

  // `keyid=""` is a keyid, not the absence of one: it must not select the
  // key registered without a keyid, and no key can be registered under "".
  if (has_keyid && out.keyid.empty())
    return rejection(Reason::unknown_key, "keyid is empty (no key has the empty keyid)");
  const KeyEntry* key = nullptr;
  for (const KeyEntry& k : keys_)
    if (k.keyid == out.keyid) key = &k;
  if (key == nullptr)
    return rejection(Reason::unknown_key, out.keyid.empty() ? std::string("no key for signatures without keyid")
                                                            : "no key with keyid \"" + out.keyid + "\"");
  out.alg = key->engine->algorithm();
  if (alg_param && *alg_param != algorithm_name(out.alg))
    return rejection(Reason::alg_mismatch, "alg \"" + *alg_param + "\" but the key is for " +
                                               std::string(algorithm_name(out.alg)));

  auto ids = serialized_ids(input->items);
  if (!ids) return rejection(Reason::malformed, ids.error().message);
  out.components = std::move(ids.value());
  if (!opts.required_components.empty()) {
    auto req = components_from(opts.required_components);
    if (!req) return std::move(req).error();
    auto req_ids = serialized_ids(req.value());
    if (!req_ids) return std::move(req_ids).error();
    for (const std::string& r : req_ids.value()) {
      bool covered = false;
      for (const std::string& c : out.components) covered = covered || c == r;
      if (!covered) return rejection(Reason::missing_component, "component " + r + " is not covered");
    }
  }
  if (opts.tag && out.tag != opts.tag)
    return rejection(Reason::tag_mismatch, "tag is not \"" + *opts.tag + "\"");

  const std::int64_t now = opts.now != 0 ? opts.now : clock_now();
  const std::int64_t leeway = opts.leeway > 0 ? opts.leeway : 0;
  if (!out.created && (opts.require_created || opts.max_age > 0))
    return rejection(Reason::missing_parameter, "created is required");
  if (!out.expires && opts.require_expires) return rejection(Reason::missing_parameter, "expires is required");
  if (out.created && *out.created > now + leeway)
    return rejection(Reason::created_in_future, "created is in the future");
  if (out.created && opts.max_age > 0 && now - *out.created > opts.max_age + leeway)
    return rejection(Reason::too_old, "created is more than " + std::to_string(opts.max_age) + " s ago");
  if (out.expires && now > *out.expires + leeway) return rejection(Reason::expired, "signature expired");

  auto params_text = sf::serialize(*input);
  if (!params_text) return rejection(Reason::malformed, params_text.error().message);
  auto base = signature_base(msg, input->items, params_text.value());
  if (!base) return std::move(base).error();
  auto ok = key->engine->verify(base.value(), sig_item->value.text);
  if (!ok) return std::move(ok).error();
  if (!ok.value()) return rejection(Reason::bad_signature, "signature does not verify");
  out.base = std::move(base.value());
  return out;
}

}  // namespace upstream_jwt::httpsig
