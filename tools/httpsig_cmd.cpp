// `upstream-jwt httpsig sign|verify|digest` — RFC 9421 message signatures and
// RFC 9530 Content-Digest from the command line, on the C ABI only (as the
// rest of the CLI). Exit codes as the rest of the CLI: 0 ok, 1 signature or
// digest not valid (verify), 2 usage or configuration error, 3 internal.
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <exception>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "upstream_jwt.h"

int httpsig_main(int argc, char **argv);

namespace {

const char *const kUsage =
    "usage: upstream-jwt httpsig sign --alg ALG --key FILE [--keyid ID] [--label L]\n"
    "         --components LIST [--method M --url URI | --status N] [--header 'Name: value']...\n"
    "         [--headers FILE] [--body FILE [--digest sha-256|sha-512|both]] [--created EPOCH]\n"
    "         [--expires EPOCH | --ttl S] [--nonce N | --random-nonce] [--tag T] [--include-alg]\n"
    "       upstream-jwt httpsig verify (--alg ALG --key FILE [--keyid ID])... [--method M --url URI |\n"
    "         --status N] [--header 'Name: value']... [--headers FILE] [--body FILE] [--label L]\n"
    "         [--now EPOCH] [--leeway S] [--max-age S] [--require LIST] [--tag T]\n"
    "         [--require-expires] [--allow-missing-created]\n"
    "       upstream-jwt httpsig digest [--digest sha-256|sha-512|both] [FILE|-]";

const char *const kHelp =
    "\n"
    "  sign    prints the header lines to add: Content-Digest (with --body), Signature-Input,\n"
    "          Signature. LIST is an RFC 9421 inner list of covered components, e.g.\n"
    "          '(\"@method\" \"@target-uri\" \"content-digest\")'. With --body the computed\n"
    "          Content-Digest is part of the message, so it can be covered.\n"
    "  verify  reads Signature-Input/Signature from the given headers; exit 0 and a JSON\n"
    "          summary on stdout, or exit 1 and 'invalid signature: <reason>: <message>'.\n"
    "          With --body the Content-Digest header must match the body too.\n"
    "          Several --alg/--key/--keyid triples make a key set (rotation).\n"
    "  digest  prints the Content-Digest value of FILE (default stdin).\n"
    "ALG: hmac-sha256 (key file = the secret's exact bytes, >= 32), ed25519,\n"
    "ecdsa-p256-sha256, rsa-pss-sha512, rsa-v1_5-sha256 (PEM keys).\n"
    "--headers FILE: one 'Name: value' per line, as in an HTTP/1.1 header block.\n"
    "Exit codes: 0 ok, 1 invalid signature or digest, 2 usage or configuration error, 3 internal.\n";

constexpr int kExitOk = 0, kExitInvalid = 1, kExitUsage = 2, kExitFailure = 3;
constexpr std::size_t kMaxFile = 1u << 20;

struct Usage {
  std::string message;
};
struct Failure {
  std::string message;
};
struct Help {};

struct Opts {
  std::map<std::string, std::vector<std::string>> values;
  std::vector<std::string> positional;
  bool has(const std::string &k) const { return values.count(k) != 0; }
  std::optional<std::string> one(const std::string &k) const {
    auto it = values.find(k);
    if (it == values.end()) return std::nullopt;
    if (it->second.size() > 1) throw Usage{"option " + k + " given more than once"};
    return it->second.front();
  }
  const std::vector<std::string> &all(const std::string &k) const {
    static const std::vector<std::string> none;
    auto it = values.find(k);
    return it == values.end() ? none : it->second;
  }
};

// names: options taking a value; flags: options without.
Opts parse(int argc, char **argv, int first, const std::vector<std::string> &names,
           const std::vector<std::string> &flags) {
  Opts o;
  auto known = [](const std::vector<std::string> &v, const std::string &s) {
    for (const auto &x : v)
      if (x == s) return true;
    return false;
  };
  for (int i = first; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--help" || a == "-h") throw Help{};
    if (a.size() < 3 || a.compare(0, 2, "--") != 0) {
      o.positional.push_back(a);
      continue;
    }
    std::string name = a;
    std::optional<std::string> value;
    const std::size_t eq = a.find('=');
    if (eq != std::string::npos) {
      name = a.substr(0, eq);
      value = a.substr(eq + 1);
    }
    if (known(flags, name)) {
      if (value) throw Usage{"option " + name + " takes no value"};
      o.values[name].push_back("");
      continue;
    }
    if (!known(names, name)) throw Usage{"unknown option '" + name + "'"};
    if (!value) {
      if (i + 1 >= argc) throw Usage{"option " + name + " needs a value"};
      value = argv[++i];
    }
    o.values[name].push_back(*value);
  }
  return o;
}

int64_t to_int(const std::string &name, const std::string &text, int64_t min) {
  errno = 0;
  char *end = nullptr;
  const long long v = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || errno != 0 || *end != 0) throw Usage{"option " + name + " needs an integer"};
  if (v < min) throw Usage{"option " + name + " must be >= " + std::to_string(min)};
  return v;
}

std::string read_all(const std::string &path, const char *what) {
  FILE *f = path == "-" ? stdin : std::fopen(path.c_str(), "rb");
  if (f == nullptr) throw Usage{std::string("cannot read ") + what + " '" + path + "': " + std::strerror(errno)};
  std::string out;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) {
    out.append(buf, n);
    if (out.size() > kMaxFile) {
      if (f != stdin) std::fclose(f);
      throw Usage{std::string(what) + " '" + path + "' is larger than 1 MiB"};
    }
  }
  const bool bad = std::ferror(f) != 0;
  if (f != stdin) std::fclose(f);
  if (bad) throw Usage{std::string("cannot read ") + what + " '" + path + "'"};
  return out;
}

[[noreturn]] void library_error(const char *what, int rc, const ujwt_error &err) {
  std::string msg = std::string(what) + ": " + ujwt_status_name(rc) + ": " + err.message;
  for (char &c : msg)
    if (static_cast<unsigned char>(c) < 0x20) c = '?';
  if (rc == UJWT_ERR_INTERNAL || rc == UJWT_ERR_BUFFER_TOO_SMALL) throw Failure{msg};
  throw Usage{msg};
}

int invalid(const ujwt_error &err) {
  std::string msg = err.message;
  for (char &c : msg)
    if (static_cast<unsigned char>(c) < 0x20) c = '?';
  std::fprintf(stderr, "invalid signature: %s: %s\n", ujwt_httpsig_reason_name(err.reason), msg.c_str());
  return kExitInvalid;
}

unsigned digest_algs(const Opts &o) {
  const std::string d = o.one("--digest").value_or("sha-256");
  if (d == "sha-256") return UJWT_CONTENT_DIGEST_SHA256;
  if (d == "sha-512") return UJWT_CONTENT_DIGEST_SHA512;
  if (d == "both") return UJWT_CONTENT_DIGEST_SHA256 | UJWT_CONTENT_DIGEST_SHA512;
  throw Usage{"--digest must be sha-256, sha-512 or both"};
}

struct DigestPtr {
  ujwt_content_digest *d = nullptr;
  ~DigestPtr() { ujwt_content_digest_free(d); }
};

// Streams FILE into a content digest.
void hash_file(ujwt_content_digest *d, const std::string &path) {
  FILE *f = path == "-" ? stdin : std::fopen(path.c_str(), "rb");
  if (f == nullptr) throw Usage{"cannot read body '" + path + "': " + std::strerror(errno)};
  std::vector<uint8_t> buf(64 * 1024);
  std::size_t n;
  ujwt_error err{};
  while ((n = std::fread(buf.data(), 1, buf.size(), f)) > 0) {
    const int rc = ujwt_content_digest_update(d, buf.data(), n, &err);
    if (rc != UJWT_OK) {
      if (f != stdin) std::fclose(f);
      library_error("digest", rc, err);
    }
  }
  const bool bad = std::ferror(f) != 0;
  if (f != stdin) std::fclose(f);
  if (bad) throw Usage{"cannot read body '" + path + "'"};
}

DigestPtr new_digest(unsigned algs) {
  DigestPtr p;
  ujwt_error err{};
  const int rc = ujwt_content_digest_new(algs, &p.d, &err);
  if (rc != UJWT_OK) library_error("digest", rc, err);
  return p;
}

std::string digest_field(const std::string &path, unsigned algs) {
  DigestPtr p = new_digest(algs);
  hash_file(p.d, path);
  char out[UJWT_CONTENT_DIGEST_MAX_LEN];
  std::size_t len = 0;
  ujwt_error err{};
  const int rc = ujwt_content_digest_final(p.d, out, sizeof out, &len, &err);
  if (rc != UJWT_OK) library_error("digest", rc, err);
  return std::string(out, len);
}

// The message the options describe; owns the strings the C view points at.
struct MessageArgs {
  std::vector<std::pair<std::string, std::string>> headers;
  std::string method, url;
  int status = 0;
  std::vector<ujwt_httpsig_field> fields;
  ujwt_httpsig_message msg{};

  void add_header_line(const std::string &line) {
    const std::size_t colon = line.find(':');
    if (colon == std::string::npos || colon == 0) throw Usage{"header '" + line + "' is not 'Name: value'"};
    std::string value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.erase(0, 1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t' || value.back() == '\r'))
      value.pop_back();
    headers.emplace_back(line.substr(0, colon), value);
  }

  void load(const Opts &o) {
    method = o.one("--method").value_or("");
    url = o.one("--url").value_or("");
    if (auto s = o.one("--status")) status = static_cast<int>(to_int("--status", *s, 100));
    if (status != 0 && (!method.empty() || !url.empty()))
      throw Usage{"--status (a response) excludes --method/--url (a request)"};
    if (status == 0 && (method.empty() || url.empty())) throw Usage{"a request needs --method and --url"};
    if (auto file = o.one("--headers")) {
      const std::string text = read_all(*file, "headers file");
      std::size_t start = 0;
      while (start < text.size()) {
        std::size_t end = text.find('\n', start);
        if (end == std::string::npos) end = text.size();
        std::string line = text.substr(start, end - start);
        start = end + 1;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.empty()) break;
        add_header_line(line);
      }
    }
    for (const auto &h : o.all("--header")) add_header_line(h);
  }

  const ujwt_httpsig_message *view() {
    fields.clear();
    for (const auto &h : headers)
      fields.push_back({h.first.data(), h.first.size(), h.second.data(), h.second.size()});
    msg.method = method.empty() ? nullptr : method.data();
    msg.method_len = method.size();
    msg.target_uri = url.empty() ? nullptr : url.data();
    msg.target_uri_len = url.size();
    msg.status = status;
    msg.fields = fields.data();
    msg.field_count = fields.size();
    return &msg;
  }
};

struct OptStr {
  std::optional<std::string> v;
  const char *ptr() const { return v ? v->data() : nullptr; }
  std::size_t len() const { return v ? v->size() : 0; }
};

int cmd_sign(int argc, char **argv) {
  Opts o = parse(argc, argv, 3,
                 {"--alg", "--key", "--keyid", "--label", "--components", "--method", "--url", "--status",
                  "--header", "--headers", "--body", "--digest", "--created", "--expires", "--ttl", "--nonce",
                  "--tag"},
                 {"--random-nonce", "--include-alg"});
  if (!o.positional.empty()) throw Usage{"unexpected argument '" + o.positional.front() + "'"};
  const auto alg = o.one("--alg");
  const auto key_file = o.one("--key");
  const auto components = o.one("--components");
  if (!alg || !key_file || !components) throw Usage{"--alg, --key and --components are required"};
  if (o.has("--expires") && o.has("--ttl")) throw Usage{"--expires and --ttl exclude each other"};
  if (o.has("--nonce") && o.has("--random-nonce")) throw Usage{"--nonce and --random-nonce exclude each other"};
  if (o.has("--digest") && !o.has("--body")) throw Usage{"--digest needs --body"};
  MessageArgs m;
  m.load(o);
  std::optional<std::string> content_digest;
  if (auto body = o.one("--body")) {
    content_digest = digest_field(*body, digest_algs(o));
    m.headers.emplace_back("Content-Digest", *content_digest);
  }
  const std::string key = read_all(*key_file, "key file");
  OptStr keyid{o.one("--keyid")}, label{o.one("--label")}, nonce{o.one("--nonce")}, tag{o.one("--tag")};
  ujwt_error err{};
  ujwt_httpsig_signer *raw = nullptr;
  int rc = ujwt_httpsig_signer_new(alg->data(), alg->size(), reinterpret_cast<const uint8_t *>(key.data()),
                                   key.size(), keyid.ptr(), keyid.len(), &raw, &err);
  if (rc != UJWT_OK) library_error("sign", rc, err);
  std::unique_ptr<ujwt_httpsig_signer, void (*)(ujwt_httpsig_signer *)> signer(raw, ujwt_httpsig_signer_free);
  ujwt_httpsig_sign_params p{};
  p.label = label.ptr();
  p.label_len = label.len();
  p.components = components->data();
  p.components_len = components->size();
  p.created = o.has("--created") ? to_int("--created", *o.one("--created"), 0) : 0;
  if (o.has("--created") && p.created == 0) throw Usage{"--created must be > 0"};
  if (o.has("--expires")) p.expires = to_int("--expires", *o.one("--expires"), 1);
  if (o.has("--ttl")) {
    const int64_t base = p.created != 0 ? p.created : static_cast<int64_t>(std::time(nullptr));
    p.created = base;  // expires and created from one clock reading
    p.expires = base + to_int("--ttl", *o.one("--ttl"), 1);
  }
  p.nonce = nonce.ptr();
  p.nonce_len = nonce.len();
  p.random_nonce = o.has("--random-nonce") ? 1 : 0;
  p.tag = tag.ptr();
  p.tag_len = tag.len();
  p.include_alg = o.has("--include-alg") ? 1 : 0;
  std::vector<char> input(4096), sig(4096);
  std::size_t input_len = 0, sig_len = 0;
  rc = ujwt_httpsig_sign(signer.get(), m.view(), &p, input.data(), input.size(), &input_len, sig.data(), sig.size(),
                         &sig_len, &err);
  if (rc == UJWT_ERR_BUFFER_TOO_SMALL) {
    input.resize(input_len);
    sig.resize(sig_len);
    rc = ujwt_httpsig_sign(signer.get(), m.view(), &p, input.data(), input.size(), &input_len, sig.data(),
                           sig.size(), &sig_len, &err);
  }
  if (rc == UJWT_ERR_TOKEN_INVALID) library_error("sign", UJWT_ERR_INVALID_ARGUMENT, err);
  if (rc != UJWT_OK) library_error("sign", rc, err);
  if (content_digest) std::printf("Content-Digest: %s\n", content_digest->c_str());
  std::printf("Signature-Input: %.*s\nSignature: %.*s\n", static_cast<int>(input_len), input.data(),
              static_cast<int>(sig_len), sig.data());
  if (std::fflush(stdout) != 0) throw Failure{"cannot write stdout"};
  return kExitOk;
}

int cmd_verify(int argc, char **argv) {
  Opts o = parse(argc, argv, 3,
                 {"--alg", "--key", "--keyid", "--method", "--url", "--status", "--header", "--headers", "--body",
                  "--label", "--now", "--leeway", "--max-age", "--require", "--tag"},
                 {"--require-expires", "--allow-missing-created"});
  if (!o.positional.empty()) throw Usage{"unexpected argument '" + o.positional.front() + "'"};
  const auto &algs = o.all("--alg");
  const auto &keys = o.all("--key");
  const auto &keyids = o.all("--keyid");
  if (keys.empty()) throw Usage{"at least one --key is required"};
  if (algs.size() != keys.size() && algs.size() != 1) throw Usage{"give one --alg, or one per --key"};
  if (!keyids.empty() && keyids.size() != keys.size()) throw Usage{"give one --keyid per --key, or none"};
  MessageArgs m;
  m.load(o);
  ujwt_error err{};
  ujwt_httpsig_verifier *raw = nullptr;
  int rc = ujwt_httpsig_verifier_new(&raw, &err);
  if (rc != UJWT_OK) library_error("verify", rc, err);
  std::unique_ptr<ujwt_httpsig_verifier, void (*)(ujwt_httpsig_verifier *)> verifier(raw,
                                                                                     ujwt_httpsig_verifier_free);
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const std::string &alg = algs.size() == 1 ? algs[0] : algs[i];
    const std::string key = read_all(keys[i], "key file");
    const char *kid = keyids.empty() ? nullptr : keyids[i].data();
    rc = ujwt_httpsig_verifier_add_key(verifier.get(), alg.data(), alg.size(),
                                       reinterpret_cast<const uint8_t *>(key.data()), key.size(), kid,
                                       keyids.empty() ? 0 : keyids[i].size(), &err);
    if (rc != UJWT_OK) library_error("verify", rc, err);
  }
  OptStr label{o.one("--label")}, tag{o.one("--tag")}, require{o.one("--require")};
  ujwt_httpsig_verify_options vo{};
  vo.label = label.ptr();
  vo.label_len = label.len();
  vo.tag = tag.ptr();
  vo.tag_len = tag.len();
  vo.required_components = require.ptr();
  vo.required_components_len = require.len();
  if (auto v = o.one("--now")) vo.now = to_int("--now", *v, 1);
  if (auto v = o.one("--leeway")) vo.leeway = to_int("--leeway", *v, 0);
  if (auto v = o.one("--max-age")) vo.max_age = to_int("--max-age", *v, 1);
  vo.require_expires = o.has("--require-expires") ? 1 : 0;
  vo.allow_missing_created = o.has("--allow-missing-created") ? 1 : 0;
  std::vector<char> out(4096);
  std::size_t out_len = 0;
  rc = ujwt_httpsig_verify(verifier.get(), m.view(), &vo, out.data(), out.size(), &out_len, &err);
  if (rc == UJWT_ERR_BUFFER_TOO_SMALL) {
    out.resize(out_len);
    rc = ujwt_httpsig_verify(verifier.get(), m.view(), &vo, out.data(), out.size(), &out_len, &err);
  }
  if (rc == UJWT_ERR_TOKEN_INVALID) return invalid(err);
  if (rc != UJWT_OK) library_error("verify", rc, err);
  if (auto body = o.one("--body")) {
    // The signature covers the Content-Digest header; this ties it to the body.
    std::optional<std::string> header;
    for (const auto &h : m.headers) {
      std::string lower = h.first;
      for (char &c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (lower == "content-digest") header = header ? *header + ", " + h.second : h.second;
    }
    DigestPtr d = new_digest(UJWT_CONTENT_DIGEST_SHA256 | UJWT_CONTENT_DIGEST_SHA512);
    hash_file(d.d, *body);
    rc = ujwt_content_digest_check(d.d, header ? header->data() : nullptr, header ? header->size() : 0, &err);
    if (rc == UJWT_ERR_TOKEN_INVALID) return invalid(err);
    if (rc != UJWT_OK) library_error("verify", rc, err);
  }
  std::printf("%.*s\n", static_cast<int>(out_len), out.data());
  if (std::fflush(stdout) != 0) throw Failure{"cannot write stdout"};
  return kExitOk;
}

int cmd_digest(int argc, char **argv) {
  Opts o = parse(argc, argv, 3, {"--digest"}, {});
  if (o.positional.size() > 1) throw Usage{"at most one FILE"};
  const std::string path = o.positional.empty() ? "-" : o.positional.front();
  std::printf("%s\n", digest_field(path, digest_algs(o)).c_str());
  if (std::fflush(stdout) != 0) throw Failure{"cannot write stdout"};
  return kExitOk;
}

}  // namespace

int httpsig_main(int argc, char **argv) {
  const std::string sub = argc > 2 ? argv[2] : "";
  int (*run)(int, char **) = nullptr;
  if (sub == "sign") run = cmd_sign;
  else if (sub == "verify") run = cmd_verify;
  else if (sub == "digest") run = cmd_digest;
  else if (sub == "--help" || sub == "-h") {
    std::printf("%s\n%s", kUsage, kHelp);
    return kExitOk;
  } else {
    std::fprintf(stderr, "upstream-jwt httpsig: %s\n%s\n",
                 sub.empty() ? "missing subcommand" : ("unknown subcommand '" + sub + "'").c_str(), kUsage);
    return kExitUsage;
  }
  try {
    return run(argc, argv);
  } catch (const Help &) {
    std::printf("%s\n%s", kUsage, kHelp);
    return kExitOk;
  } catch (const Usage &e) {
    std::fprintf(stderr, "upstream-jwt httpsig %s: %s\n%s\n", sub.c_str(), e.message.c_str(), kUsage);
    return kExitUsage;
  } catch (const Failure &e) {
    std::fprintf(stderr, "upstream-jwt httpsig %s: %s\n", sub.c_str(), e.message.c_str());
    return kExitFailure;
  } catch (const std::exception &e) {
    std::fprintf(stderr, "upstream-jwt httpsig %s: %s\n", sub.c_str(), e.what());
    return kExitFailure;
  }
}
