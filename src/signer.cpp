#include "upstream_jwt/signer.hpp"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <pthread.h>

#include <atomic>

#include <array>
#include <charconv>
#include <cstring>
#include <ctime>
#include <limits>
#include <mutex>

#include "fast_sha.hpp"
#include "json_util.hpp"
#include "ossl.hpp"
#include "sig_context.hpp"
#include "upstream_jwt/base64url.hpp"
#include "upstream_jwt/digest.hpp"
#include "upstream_jwt/header_binding.hpp"

namespace upstream_jwt {

using detail::SigContext;

namespace {

constexpr std::int64_t kMaxTtl = 86400;
// 9999-12-31T23:59:59Z. Verifiers (ours, PyJWT, jose) compare NumericDates as
// IEEE doubles, exact only below 2^53: past that, exp = now + 60 can round to
// <= now and a fresh token is refused as expired (found by c_abi_fuzz).
constexpr std::int64_t kMaxNow = 253402300799;
constexpr std::size_t kJtiBytes = 16;

// Names extra claims may not take: everything the signer itself emits.
constexpr std::string_view kRegistered[] = {
    "iss", "aud", "iat", "nbf", "exp", "jti", "sub", "consumer", "credential",
    "htm", "htu", "query_sha256", "body_sha256", "hdrs", "hdr_sha256"};

// Extra claims text parsed once; the rendered ",\"k\":v..." fragment is what
// every later sign() with the same text appends.
struct ExtraClaims {
  std::string text;
  std::string fragment;
  std::optional<Error> error;
};

std::shared_ptr<const ExtraClaims> compile_extra(std::string_view text) {
  auto out = std::make_shared<ExtraClaims>();
  out->text.assign(text);
  nlohmann::ordered_json j;
  switch (detail::parse_strict(text, j)) {
    case detail::ParseOutcome::syntax:
      out->error = make_error(Status::claims, "extra claims are not valid JSON (or not UTF-8)");
      return out;
    case detail::ParseOutcome::duplicate:
      out->error = make_error(Status::claims, "extra claims repeat a member name");
      return out;
    case detail::ParseOutcome::ok:
      break;
  }
  if (!j.is_object()) {
    out->error = make_error(Status::claims, "extra claims must be a JSON object");
    return out;
  }
  for (const auto& [name, value] : j.items()) {
    for (std::string_view reg : kRegistered) {
      if (name == reg) {
        out->error = make_error(Status::claims,
                                "extra claim \"" + name + "\" would override a registered claim");
        return out;
      }
    }
    out->fragment.push_back(',');
    detail::append_json_string(out->fragment, name);
    out->fragment.push_back(':');
    out->fragment += value.dump();
  }
  return out;
}

Result<void> check_utf8(std::string_view what, std::string_view s) {
  if (!detail::utf8_valid(s))
    return make_error(Status::claims, "claim " + std::string(what) + " is not valid UTF-8");
  return {};
}

// Reused per thread so steady-state signing allocates only the token itself.
// Its size is its usable capacity (render() grows it, nothing shrinks it).
std::string& claims_buffer() {
  thread_local std::string buf;
  return buf;
}

// jti randomness, drawn from the DRBG in batches: RAND_bytes takes the DRBG
// lock on every call and costs more than the rest of an HS256 token. The
// bytes are not secret (each jti is published in its token), only
// unpredictable, and a batch serves one thread only. Fork safety: nginx
// forks workers after the library may have been used in the master, and two
// workers must never hand out the same bytes, so a child discards every
// batch inherited from its parent (generation bumped by pthread_atfork).
std::atomic<unsigned> g_fork_generation{0};
void on_fork_child() { g_fork_generation.fetch_add(1, std::memory_order_relaxed); }
const bool g_atfork_registered = pthread_atfork(nullptr, nullptr, on_fork_child) == 0;

Result<void> random_jti(std::uint8_t out[kJtiBytes]) {
  constexpr std::size_t kBatch = 64 * kJtiBytes;
  struct Pool {
    std::uint8_t bytes[kBatch];
    std::size_t used = kBatch;
    unsigned generation = 0;
  };
  thread_local Pool pool;
  const unsigned gen = g_fork_generation.load(std::memory_order_relaxed);
  if (!g_atfork_registered) {  // cannot detect forks: never buffer
    if (RAND_bytes(out, kJtiBytes) != 1)
      return make_error(Status::internal, detail::openssl_error("RAND_bytes failed"));
    return {};
  }
  if (pool.used + kJtiBytes > kBatch || pool.generation != gen) {
    if (RAND_bytes(pool.bytes, sizeof pool.bytes) != 1) {
      pool.used = kBatch;
      return make_error(Status::internal, detail::openssl_error("RAND_bytes failed"));
    }
    pool.used = 0;
    pool.generation = gen;
  }
  std::memcpy(out, pool.bytes + pool.used, kJtiBytes);
  // Spent bytes are wiped so a later memory disclosure cannot show which
  // jti values this thread issued before.
  OPENSSL_cleanse(pool.bytes + pool.used, kJtiBytes);
  pool.used += kJtiBytes;
  return {};
}

// 6-bit value of each base64url character, 0xFF for anything else.
constexpr std::array<std::uint8_t, 256> make_b64_values() {
  constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::array<std::uint8_t, 256> t{};
  for (auto& v : t) v = 0xFF;
  for (std::uint8_t i = 0; i < 64; ++i) t[static_cast<unsigned char>(alphabet[i])] = i;
  return t;
}
constexpr auto kB64Values = make_b64_values();

// The canonical base64url form of 32 bytes: 43 alphabet characters, the last
// carrying 4 data bits and two zero bits (strictness as in
// base64url_decode_to, without decoding: this runs on every token).
bool is_canonical_digest(std::string_view d) {
  if (d.size() != kSha256B64Size) return false;
  std::uint8_t bad = 0;
  for (char ch : d) bad |= kB64Values[static_cast<unsigned char>(ch)] & 0xC0;
  return bad == 0 && (kB64Values[static_cast<unsigned char>(d.back())] & 0x03) == 0;
}

}  // namespace

struct Signer::Impl {
  std::unique_ptr<SigContext> ctx;
  std::string header_b64;
  mutable std::mutex extra_mu;
  mutable std::shared_ptr<const ExtraClaims> extra;

  Result<std::shared_ptr<const ExtraClaims>> extra_for(std::string_view text) const {
    {
      std::lock_guard<std::mutex> lock(extra_mu);
      if (extra && extra->text == text) return extra;
    }
    auto compiled = compile_extra(text);
    std::lock_guard<std::mutex> lock(extra_mu);
    extra = compiled;
    return compiled;
  }

  // Writes the payload JSON at the start of `out` (grown as needed, never
  // shrunk) and returns its length.
  Result<std::size_t> render(const Claims& c, std::string& out) const;
  std::size_t token_size(std::size_t payload_size) const {
    return header_b64.size() + 1 + base64url_encoded_size(payload_size) + 1 +
           base64url_encoded_size(ctx->key().signature_size());
  }
  Result<std::size_t> finish(std::string_view payload, char* out, std::size_t cap) const;
};

Result<std::size_t> Signer::Impl::render(const Claims& c, std::string& out) const {
  if (c.ttl < 1 || c.ttl > kMaxTtl)
    return make_error(Status::invalid_argument, "ttl must be within 1..86400 seconds");
  std::int64_t now = c.now;
  if (now < 0) return make_error(Status::invalid_argument, "now must not be negative");
  if (now == 0) now = static_cast<std::int64_t>(std::time(nullptr));
  if (now > kMaxNow)
    return make_error(Status::invalid_argument, "now is out of range (after year 9999)");

  struct Named { std::string_view name; const std::optional<std::string_view>* v; };
  const std::optional<std::string_view> iss = c.iss;
  const Named strings[] = {{"iss", &iss},
                           {"aud", &c.aud},
                           {"sub", &c.sub},
                           {"consumer.id", &c.consumer_id},
                           {"consumer.username", &c.consumer_username},
                           {"consumer.custom_id", &c.consumer_custom_id},
                           {"credential.id", &c.credential_id},
                           {"htm", &c.htm},
                           {"htu", &c.htu}};
  for (const auto& s : strings)
    if (s.v->has_value())
      if (auto r = check_utf8(s.name, **s.v); !r) return std::move(r).error();
  if (c.body_sha256 && !is_canonical_digest(*c.body_sha256))
    return make_error(Status::invalid_argument,
                      "body_sha256 must be 43 base64url characters (a SHA-256 digest)");
  if (c.hdr_names.has_value() != c.hdr_sha256.has_value())
    return make_error(Status::invalid_argument, "hdr_names and hdr_sha256 go together");
  if (c.hdr_sha256 && !is_canonical_digest(*c.hdr_sha256))
    return make_error(Status::invalid_argument,
                      "hdr_sha256 must be 43 base64url characters (a SHA-256 digest)");
  if (c.hdr_names)
    if (auto r = validate_header_names(*c.hdr_names); !r) return std::move(r).error();

  std::shared_ptr<const ExtraClaims> extra;
  if (c.extra_json) {
    auto e = extra_for(*c.extra_json);
    if (!e) return std::move(e).error();
    extra = std::move(e).value();
    if (extra->error) return *extra->error;
  }

  std::uint8_t jti[kJtiBytes];
  if (auto r = random_jti(jti); !r) return std::move(r).error();

  char query_b64[kSha256B64Size];
#if UPSTREAM_JWT_HAVE_FAST_SHA
  if (c.query && detail::fast_sha_available()) {
    // On the stack, straight to the bytes: no Result plumbing per token.
    std::uint8_t d[kSha256Size];
    detail::fast_sha256(c.query->data(), c.query->size(), d);
    base64url_encode_to(d, kSha256Size, query_b64);
  } else
#endif
  if (c.query) {
    // A per-thread hasher: one-shot EVP_Digest allocates a context per call.
    thread_local std::optional<Sha256> hasher;
    if (!hasher) {
      auto h = Sha256::create();
      if (!h) return std::move(h).error();
      hasher.emplace(std::move(h).value());
    }
    if (auto r = hasher->reset(); !r) return std::move(r).error();
    if (auto r = hasher->update(*c.query); !r) return std::move(r).error();
    auto d = hasher->final_raw();
    if (!d) return std::move(d).error();
    base64url_encode_to(d.value().data(), kSha256Size, query_b64);
  }

  // The payload is written through a raw pointer into a buffer sized for
  // the worst case (every string fully escaped): one capacity check per
  // token instead of one per append. 512 covers every fixed part: member
  // names, punctuation, three 20-digit numbers, jti and both digests.
  std::size_t bound = 512 + (extra ? extra->fragment.size() : 0);
  // hdrs: every name gains at most two quotes and a comma, plus the fixed
  // member names, brackets and the 43-char digest.
  if (c.hdr_names) bound += 3 * c.hdr_names->size() + 96;
  for (const auto& s : strings)
    if (s.v->has_value()) bound += detail::json_string_max_size((*s.v)->size());
  if (out.size() < bound) out.resize(bound);
  char* const begin = out.data();
  char* p = begin;
  auto put = [&p](std::string_view text) {
    std::memcpy(p, text.data(), text.size());
    p += text.size();
  };
  auto put_str = [&p](std::string_view text) { p = detail::write_json_string(p, text); };

  put("{\"iss\":");
  put_str(c.iss);
  if (c.aud) {
    put(",\"aud\":");
    put_str(*c.aud);
  }
  // nbf = iat: the number is formatted once.
  char now_text[24];
  const std::string_view now_str(
      now_text,
      static_cast<std::size_t>(std::to_chars(now_text, now_text + sizeof now_text, now).ptr -
                               now_text));
  put(",\"iat\":");
  put(now_str);
  put(",\"nbf\":");
  put(now_str);
  put(",\"exp\":");
  p = std::to_chars(p, p + 24, now + c.ttl).ptr;
  put(",\"jti\":\"");
  base64url_encode_to(jti, sizeof jti, p);
  p += base64url_encoded_size(kJtiBytes);
  *p++ = '"';
  if (c.sub) {
    put(",\"sub\":");
    put_str(*c.sub);
  }
  if (c.consumer_id || c.consumer_username || c.consumer_custom_id) {
    put(",\"consumer\":{");
    bool first = true;
    auto member = [&](std::string_view name, const std::optional<std::string_view>& v) {
      if (!v) return;
      if (!first) *p++ = ',';
      first = false;
      put(name);
      put_str(*v);
    };
    member("\"id\":", c.consumer_id);
    member("\"username\":", c.consumer_username);
    member("\"custom_id\":", c.consumer_custom_id);
    *p++ = '}';
  }
  if (c.credential_id) {
    put(",\"credential\":{\"id\":");
    put_str(*c.credential_id);
    *p++ = '}';
  }
  if (c.htm) {
    put(",\"htm\":");
    put_str(*c.htm);
  }
  if (c.htu) {
    put(",\"htu\":");
    put_str(*c.htu);
  }
  if (c.query) {
    put(",\"query_sha256\":\"");
    put(std::string_view(query_b64, sizeof query_b64));
    *p++ = '"';
  }
  if (c.body_sha256) {
    put(",\"body_sha256\":\"");
    put(*c.body_sha256);
    *p++ = '"';
  }
  if (c.hdr_names) {
    // Names are tokens (checked above): lowercasing is all they need.
    put(",\"hdrs\":[\"");
    for (char ch : *c.hdr_names) {
      if (ch == ',') {
        put("\",\"");
        continue;
      }
      *p++ = ch >= 'A' && ch <= 'Z' ? static_cast<char>(ch + 32) : ch;
    }
    put("\"],\"hdr_sha256\":\"");
    put(*c.hdr_sha256);
    *p++ = '"';
  }
  if (extra) put(extra->fragment);
  *p++ = '}';
  return static_cast<std::size_t>(p - begin);
}

Result<std::size_t> Signer::Impl::finish(std::string_view payload, char* out,
                                         std::size_t cap) const {
  const std::size_t total = token_size(payload.size());
  if (cap < total) {
    Error e = make_error(Status::buffer_too_small,
                         "token needs " + std::to_string(total) + " bytes");
    e.needed = total;
    return e;
  }
  char* p = out;
  std::memcpy(p, header_b64.data(), header_b64.size());
  p += header_b64.size();
  *p++ = '.';
  base64url_encode_to(payload.data(), payload.size(), p);
  p += base64url_encoded_size(payload.size());
  const std::size_t signing_input = static_cast<std::size_t>(p - out);
  std::uint8_t sig[detail::kMaxSignatureSize];
  if (auto r = ctx->sign(out, signing_input, sig); !r) return std::move(r).error();
  *p++ = '.';
  const std::size_t sig_size = ctx->key().signature_size();
  base64url_encode_to(sig, sig_size, p);
  p += base64url_encoded_size(sig_size);
  return static_cast<std::size_t>(p - out);
}

Signer::Signer(std::unique_ptr<Impl> impl) noexcept : impl_(std::move(impl)) {}
Signer::Signer(Signer&&) noexcept = default;
Signer& Signer::operator=(Signer&&) noexcept = default;
Signer::~Signer() = default;

Result<Signer> Signer::create(Algorithm alg, std::string_view key_material,
                              std::optional<std::string_view> kid) {
  auto key = Key::for_signing(alg, key_material);
  if (!key) return std::move(key).error();
  return create(key.value(), kid);
}

Result<Signer> Signer::create(const Key& key, std::optional<std::string_view> kid) {
  if (kid && !detail::utf8_valid(*kid))
    return make_error(Status::invalid_argument, "kid is not valid UTF-8");
  auto ctx = SigContext::create(key, SigContext::Mode::sign);
  if (!ctx) return std::move(ctx).error();
  auto impl = std::make_unique<Impl>();
  impl->ctx = std::move(ctx).value();
  std::string header = "{\"alg\":\"";
  header += algorithm_name(key.algorithm());
  header += "\",\"typ\":\"JWT\"";
  if (kid) {
    header += ",\"kid\":";
    detail::append_json_string(header, *kid);
  }
  header += '}';
  impl->header_b64 = base64url_encode(header);
  return Signer(std::move(impl));
}

Algorithm Signer::algorithm() const noexcept { return impl_->ctx->key().algorithm(); }
std::string_view Signer::encoded_header() const noexcept { return impl_->header_b64; }

Result<std::size_t> Signer::sign_to(const Claims& claims, char* out, std::size_t cap) const {
  if (!impl_) return make_error(Status::invalid_argument, "signer was moved from");
  if (out == nullptr && cap != 0) return make_error(Status::invalid_argument, "NULL output buffer");
  std::string& buf = claims_buffer();
  auto len = impl_->render(claims, buf);
  if (!len) return std::move(len).error();
  return impl_->finish(std::string_view(buf.data(), len.value()), out, cap);
}

Result<std::string> Signer::sign(const Claims& claims) const {
  if (!impl_) return make_error(Status::invalid_argument, "signer was moved from");
  std::string& buf = claims_buffer();
  auto len = impl_->render(claims, buf);
  if (!len) return std::move(len).error();
  const std::string_view payload(buf.data(), len.value());
  std::string token(impl_->token_size(payload.size()), '\0');
  auto n = impl_->finish(payload, token.data(), token.size());
  if (!n) return std::move(n).error();
  token.resize(n.value());
  return token;
}

Result<std::string> Signer::sign_payload(std::string_view payload_json) const {
  if (!impl_) return make_error(Status::invalid_argument, "signer was moved from");
  std::string token(impl_->token_size(payload_json.size()), '\0');
  auto n = impl_->finish(payload_json, token.data(), token.size());
  if (!n) return std::move(n).error();
  token.resize(n.value());
  return token;
}

Result<std::string> sign_compact(const Key& key, std::string_view header_json,
                                 std::string_view payload_json) {
  auto ctx = SigContext::create(key, SigContext::Mode::sign);
  if (!ctx) return std::move(ctx).error();
  std::string token = base64url_encode(header_json);
  token.push_back('.');
  token += base64url_encode(payload_json);
  std::uint8_t sig[detail::kMaxSignatureSize];
  if (auto r = ctx.value()->sign(token.data(), token.size(), sig); !r) return std::move(r).error();
  token.push_back('.');
  token += base64url_encode(std::string_view(reinterpret_cast<const char*>(sig),
                                             key.signature_size()));
  return token;
}

}  // namespace upstream_jwt
