// upstream-jwt — command-line front end of libupstream_jwt.
//
// Deliberately built on the C ABI (include/upstream_jwt.h) only, never on the
// C++ core: if a service team can do everything this tool does, the ABI is
// sufficient for every other binding too.
//
// Exit codes: 0 success, 1 token not valid (verify), 2 usage or configuration
// error (unknown command/flag, missing value, unreadable file, unusable key,
// bad claims), 3 internal failure (OpenSSL, I/O on stdout).

#include "upstream_jwt.h"

#include <sys/stat.h>

#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <initializer_list>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace {

constexpr int kExitOk = 0;
constexpr int kExitInvalid = 1;
constexpr int kExitUsage = 2;
constexpr int kExitFailure = 3;

// Key files are a few KiB; the cap only stops `--key /dev/zero` from eating
// memory. Tokens and JWKS documents get a larger, still finite, cap.
constexpr size_t kMaxKeyFile = 1u << 20;
constexpr size_t kMaxTokenInput = 64u << 20;
constexpr size_t kChunk = 64u * 1024u;

const char *const kUsageSign =
    "usage: upstream-jwt sign --alg ALG --key FILE [--kid ID] [--ttl S] "
    "[--iss S] [--aud S] [--sub S] [--now EPOCH] [--claims JSON] "
    "[--consumer-id S] [--consumer-username S] [--consumer-custom-id S] "
    "[--credential-id S] [--body FILE | --body-sha256 B64] [--method M] "
    "[--path P] [--query Q] [--bind-headers NAMES [--header 'Name: value']...]";
const char *const kUsageVerify =
    "usage: upstream-jwt verify (--alg ALG --key FILE [--kid ID] | --jwks FILE)"
    "... [--iss S] [--aud S] [--leeway S] [--max-lifetime S] "
    "[--max-token-length N] [--now EPOCH] [--body FILE | --body-sha256 B64] "
    "[--method M] [--path P] [--query Q] [--header 'Name: value']... "
    "[--require-headers NAMES] TOKEN|-";
const char *const kUsageDigest = "usage: upstream-jwt digest [FILE|-]";
const char *const kUsageJwks =
    "usage: upstream-jwt jwks --key FILE [--kid ID] [--alg ALG]";
const char *const kUsageTop =
    "usage: upstream-jwt {sign|verify|digest|jwks} [OPTIONS]  "
    "(upstream-jwt COMMAND --help for details)";

const char *const kHelp =
    "upstream-jwt — sign and verify the upstream JWTs of kong-plugin-upstream-jwt\n"
    "\n"
    "  upstream-jwt sign --alg ALG --key FILE [options]\n"
    "      Print a token. ALG: HS256 HS384 HS512 RS256 PS256 ES256 EdDSA.\n"
    "      --key FILE     HS*: the secret's exact bytes (a trailing newline is\n"
    "                     part of the secret); others: a PEM private key\n"
    "      --kid ID       header kid            --ttl S      lifetime (default 60)\n"
    "      --iss S        issuer (default kong) --aud S      audience\n"
    "      --sub S        subject               --now EPOCH  issue time (default: clock)\n"
    "      --claims JSON  extra claims object (cannot override registered claims)\n"
    "      --consumer-id/--consumer-username/--consumer-custom-id S, --credential-id S\n"
    "      --body FILE    body_sha256 of FILE (- = stdin), streamed\n"
    "      --body-sha256 B64  body_sha256 given directly\n"
    "      --method M, --path P, --query Q   htm, htu, query_sha256 (--query \"\" is valid)\n"
    "      --bind-headers NAMES  bind these request headers (comma-separated\n"
    "                     names, no spaces): hdrs + hdr_sha256\n"
    "      --header 'Name: value'  a request header line (repeatable, in the\n"
    "                     order received; a bound header not given is empty)\n"
    "\n"
    "  upstream-jwt verify --alg ALG --key FILE [options] TOKEN|-\n"
    "      Exit 0 and print the claims JSON, or exit 1 with one line\n"
    "      'invalid token: <reason>: <message>' on stderr.\n"
    "      --key FILE     HS*: secret bytes; others: PEM public or private key.\n"
    "                     Repeatable for rotation: the n-th --kid names the n-th\n"
    "                     --key; one --alg applies to every key, or give one per key.\n"
    "      --jwks FILE    a JWK or JWKS document (repeatable); --alg, if given\n"
    "                     once, is passed for keys without \"alg\"\n"
    "      --iss S, --aud S        required issuer / audience\n"
    "      --leeway S              clock skew allowed (default 0)\n"
    "      --max-lifetime S        exp - iat limit (default 3600, 0 = unlimited)\n"
    "      --max-token-length N    bytes (default 8192)\n"
    "      --now EPOCH             verification time (default: clock)\n"
    "      --body FILE | --body-sha256 B64, --method M, --path P, --query Q\n"
    "                              request binding checks (each optional)\n"
    "      --header 'Name: value'  the request's header lines (repeatable); given\n"
    "                              (or --require-headers), hdr_sha256 is checked\n"
    "      --require-headers NAMES  comma-separated names the token must bind\n"
    "\n"
    "  upstream-jwt digest [FILE|-]\n"
    "      base64url(SHA-256) of FILE or stdin, as used in body_sha256.\n"
    "\n"
    "  upstream-jwt jwks --key FILE [--kid ID] [--alg ALG]\n"
    "      The public JWKS of an RSA, EC P-256 or Ed25519 PEM key.\n"
    "\n"
    "A FILE of - is stdin (at most one input per call).\n"
    "Exit codes: 0 ok, 1 invalid token, 2 usage or configuration error, 3 internal error.\n";

struct UsageError {
  std::string message;
};

// Thrown for failures that are neither the caller's fault nor a bad token.
struct Failure {
  std::string message;
};

// Zeroes the buffer on destruction through a volatile pointer so the store
// is not elided: key bytes should not linger in freed heap memory.
struct SecretBytes {
  std::vector<uint8_t> bytes;
  SecretBytes() = default;
  SecretBytes(const SecretBytes &) = delete;
  SecretBytes &operator=(const SecretBytes &) = delete;
  SecretBytes(SecretBytes &&other) noexcept : bytes(std::move(other.bytes)) {}
  ~SecretBytes() {
    volatile uint8_t *p = bytes.data();
    for (size_t i = 0; i < bytes.size(); ++i) p[i] = 0;
  }
};

// Reads a whole file. Regular files are sized up front so the vector never
// reallocates (a reallocation would leave an unwiped copy of key bytes).
SecretBytes read_file(const std::string &path, size_t limit,
                      const char *what) {
  FILE *f = path == "-" ? stdin : std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    throw UsageError{std::string("cannot read ") + what + " '" + path +
                     "': " + std::strerror(errno)};
  }
  SecretBytes out;
  struct stat st {};
  if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) && st.st_size >= 0 &&
      static_cast<size_t>(st.st_size) <= limit) {
    out.bytes.reserve(static_cast<size_t>(st.st_size) + 1);
  }
  uint8_t buf[4096];
  bool too_big = false;
  for (;;) {
    size_t n = std::fread(buf, 1, sizeof buf, f);
    if (n > 0) {
      if (out.bytes.size() + n > limit) {
        too_big = true;
        break;
      }
      out.bytes.insert(out.bytes.end(), buf, buf + n);
    }
    if (n < sizeof buf) break;
  }
  bool failed = std::ferror(f) != 0;
  int saved = errno;
  std::memset(buf, 0, sizeof buf);
  if (f != stdin) std::fclose(f);
  if (failed) {
    throw UsageError{std::string("cannot read ") + what + " '" + path +
                     "': " + std::strerror(saved)};
  }
  if (too_big) {
    throw UsageError{std::string(what) + " '" + path + "' is larger than " +
                     std::to_string(limit) + " bytes"};
  }
  return out;
}

const char *status_name(int rc) { return ujwt_status_name(rc); }

// Library messages may quote token content (a kid, a claim); whatever it
// holds, the report must stay one line for scripts that read stderr.
std::string one_line(const char *msg) {
  std::string out(msg);
  for (char &c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  return out;
}

// Maps a non-OK library status to the CLI's exit code policy.
[[noreturn]] void library_error(const std::string &what, int rc,
                                const ujwt_error &err) {
  std::string msg = what + ": " + status_name(rc) + ": " + one_line(err.message);
  switch (rc) {
    case UJWT_ERR_INVALID_ARGUMENT:
    case UJWT_ERR_KEY:
    case UJWT_ERR_ALGORITHM:
    case UJWT_ERR_CLAIMS:
      throw UsageError{msg};
    default:
      throw Failure{msg};
  }
}

// Streams a file (or stdin for "-") through the library's SHA-256 in fixed
// chunks: memory use does not depend on the body size.
std::string digest_file(const std::string &path) {
  FILE *f = path == "-" ? stdin : std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    throw UsageError{"cannot read body '" + path + "': " +
                     std::strerror(errno)};
  }
  ujwt_error err{};
  ujwt_digest *d = nullptr;
  int rc = ujwt_digest_new(&d, &err);
  if (rc != UJWT_OK) {
    if (f != stdin) std::fclose(f);
    library_error("digest", rc, err);
  }
  std::vector<uint8_t> buf(kChunk);
  bool read_failed = false;
  for (;;) {
    size_t n = std::fread(buf.data(), 1, buf.size(), f);
    if (n > 0) {
      rc = ujwt_digest_update(d, buf.data(), n, &err);
      if (rc != UJWT_OK) break;
    }
    if (n < buf.size()) {
      read_failed = std::ferror(f) != 0;
      break;
    }
  }
  int saved = errno;
  if (f != stdin) std::fclose(f);
  char out[UJWT_SHA256_B64_LEN];
  size_t out_len = 0;
  if (rc == UJWT_OK && !read_failed) {
    rc = ujwt_digest_final(d, out, sizeof out, &out_len, &err);
  }
  ujwt_digest_free(d);
  if (read_failed) {
    throw UsageError{"cannot read body '" + path + "': " +
                     std::strerror(saved)};
  }
  if (rc != UJWT_OK) library_error("digest", rc, err);
  return std::string(out, out_len);
}

// ---- argument parsing ------------------------------------------------------

struct OptionSpec {
  bool takes_value;
  bool repeatable;
};

struct Args {
  std::map<std::string, std::vector<std::string>> values;
  std::set<std::string> flags;
  std::vector<std::string> positional;

  bool has(const std::string &name) const { return values.count(name) != 0; }
  std::optional<std::string> get(const std::string &name) const {
    auto it = values.find(name);
    if (it == values.end()) return std::nullopt;
    return it->second.front();
  }
  const std::vector<std::string> &all(const std::string &name) const {
    static const std::vector<std::string> none;
    auto it = values.find(name);
    return it == values.end() ? none : it->second;
  }
};

struct HelpRequested {};

Args parse_args(int argc, char **argv, int first,
                const std::map<std::string, OptionSpec> &spec) {
  Args args;
  bool options_done = false;
  for (int i = first; i < argc; ++i) {
    std::string a = argv[i];
    if (options_done || a == "-" || a.empty() || a[0] != '-') {
      args.positional.push_back(a);
      continue;
    }
    if (a == "--") {
      options_done = true;
      continue;
    }
    if (a == "--help" || a == "-h") throw HelpRequested{};
    if (a.size() < 3 || a.compare(0, 2, "--") != 0) {
      throw UsageError{"unknown option '" + a + "'"};
    }
    std::string name = a;
    std::optional<std::string> inline_value;
    size_t eq = a.find('=');
    if (eq != std::string::npos) {
      name = a.substr(0, eq);
      inline_value = a.substr(eq + 1);
    }
    auto it = spec.find(name);
    if (it == spec.end()) throw UsageError{"unknown option '" + name + "'"};
    if (!it->second.takes_value) {
      if (inline_value) throw UsageError{"option " + name + " takes no value"};
      args.flags.insert(name);
      continue;
    }
    std::string value;
    if (inline_value) {
      value = *inline_value;
    } else {
      // A following "--flag" means the value was forgotten; a value that
      // really starts with "--" can be written as --opt=--value.
      if (i + 1 >= argc ||
          (std::strncmp(argv[i + 1], "--", 2) == 0 && argv[i + 1][2] != 0)) {
        throw UsageError{"option " + name + " needs a value"};
      }
      value = argv[++i];
    }
    auto &slot = args.values[name];
    if (!slot.empty() && !it->second.repeatable) {
      throw UsageError{"option " + name + " given more than once"};
    }
    slot.push_back(std::move(value));
  }
  return args;
}

int64_t parse_int(const std::string &name, const std::string &text,
                  int64_t min) {
  if (text.empty()) throw UsageError{"option " + name + " needs an integer"};
  const char *s = text.c_str();
  if (!(s[0] == '-' || (s[0] >= '0' && s[0] <= '9'))) {
    throw UsageError{"option " + name + " needs an integer, got '" + text +
                     "'"};
  }
  errno = 0;
  char *end = nullptr;
  long long v = std::strtoll(s, &end, 10);
  if (errno != 0 || end == s || *end != 0) {
    throw UsageError{"option " + name + " needs an integer, got '" + text +
                     "'"};
  }
  if (v < min) {
    throw UsageError{"option " + name + " must be >= " + std::to_string(min)};
  }
  return static_cast<int64_t>(v);
}

// (ptr, len) view of an optional string: NULL means "absent".
struct OptStr {
  std::optional<std::string> value;
  const char *ptr() const { return value ? value->data() : nullptr; }
  size_t len() const { return value ? value->size() : 0; }
};

bool write_line(const char *data, size_t len) {
  if (std::fwrite(data, 1, len, stdout) != len) return false;
  if (std::fputc('\n', stdout) == EOF) return false;
  return std::fflush(stdout) == 0;
}

// "-" means stdin for files; stdin can only be read once.
void check_single_stdin(const Args &args, std::initializer_list<const char *> opts,
                        bool token_from_stdin) {
  int users = token_from_stdin ? 1 : 0;
  for (const char *opt : opts) {
    for (const auto &v : args.all(opt)) users += v == "-" ? 1 : 0;
  }
  if (users > 1) throw UsageError{"only one input can be read from stdin ('-')"};
}

// "Name: value" -> (name, value). The value keeps its spaces: trimming is
// the library's job, so the CLI hashes exactly what a gateway would.
std::vector<std::pair<std::string, std::string>> parse_header_lines(const Args &args) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto &line : args.all("--header")) {
    size_t colon = line.find(':');
    if (colon == std::string::npos || colon == 0) {
      throw UsageError{"--header needs 'Name: value', got '" + line + "'"};
    }
    std::string name = line.substr(0, colon);
    if (name.find_first_of(" \t") != std::string::npos) {
      throw UsageError{"--header name '" + name + "' contains whitespace"};
    }
    out.emplace_back(std::move(name), line.substr(colon + 1));
  }
  return out;
}

std::vector<ujwt_header> header_views(
    const std::vector<std::pair<std::string, std::string>> &lines) {
  std::vector<ujwt_header> out;
  for (const auto &[name, value] : lines) {
    out.push_back({name.data(), name.size(), value.data(), value.size()});
  }
  return out;
}

std::string read_body_digest(const Args &args) {
  if (args.has("--body") && args.has("--body-sha256")) {
    throw UsageError{"--body and --body-sha256 exclude each other"};
  }
  if (args.has("--body")) return digest_file(*args.get("--body"));
  return *args.get("--body-sha256");
}

// ---- commands --------------------------------------------------------------

int cmd_sign(int argc, char **argv) {
  static const std::map<std::string, OptionSpec> spec = {
      {"--alg", {true, false}},          {"--key", {true, false}},
      {"--kid", {true, false}},          {"--ttl", {true, false}},
      {"--iss", {true, false}},          {"--aud", {true, false}},
      {"--sub", {true, false}},          {"--now", {true, false}},
      {"--claims", {true, false}},       {"--body", {true, false}},
      {"--body-sha256", {true, false}},  {"--method", {true, false}},
      {"--path", {true, false}},         {"--query", {true, false}},
      {"--consumer-id", {true, false}},  {"--consumer-username", {true, false}},
      {"--consumer-custom-id", {true, false}},
      {"--credential-id", {true, false}},
      {"--bind-headers", {true, false}}, {"--header", {true, true}},
  };
  Args args = parse_args(argc, argv, 2, spec);
  if (!args.positional.empty()) {
    throw UsageError{"unexpected argument '" + args.positional.front() + "'"};
  }
  if (!args.has("--alg")) throw UsageError{"--alg is required"};
  if (args.has("--header") && !args.has("--bind-headers")) {
    throw UsageError{"--header needs --bind-headers"};
  }
  if (!args.has("--key")) throw UsageError{"--key is required"};
  check_single_stdin(args, {"--key", "--body"}, false);
  std::string alg = *args.get("--alg");
  SecretBytes key = read_file(*args.get("--key"), kMaxKeyFile, "key file");

  OptStr kid{args.get("--kid")};
  OptStr iss{args.get("--iss").value_or("kong")};
  OptStr aud{args.get("--aud")};
  OptStr sub{args.get("--sub")};
  OptStr cid{args.get("--consumer-id")};
  OptStr cuser{args.get("--consumer-username")};
  OptStr ccustom{args.get("--consumer-custom-id")};
  OptStr cred{args.get("--credential-id")};
  OptStr htm{args.get("--method")};
  OptStr htu{args.get("--path")};
  OptStr query{args.get("--query")};
  OptStr extra{args.get("--claims")};
  OptStr body;
  if (args.has("--body") || args.has("--body-sha256")) {
    body.value = read_body_digest(args);
  }
  int64_t ttl = args.has("--ttl") ? parse_int("--ttl", *args.get("--ttl"),
                                              INT64_MIN)
                                  : 60;
  OptStr hdr_names{args.get("--bind-headers")};
  OptStr hdr_sha256;
  if (hdr_names.value) {
    const auto lines = parse_header_lines(args);
    const auto views = header_views(lines);
    char digest[UJWT_SHA256_B64_LEN];
    size_t digest_len = 0;
    ujwt_error herr{};
    int hrc = ujwt_headers_sha256(hdr_names.ptr(), hdr_names.len(), views.data(),
                                  views.size(), digest, sizeof digest,
                                  &digest_len, &herr);
    if (hrc != UJWT_OK) library_error("--bind-headers", hrc, herr);
    hdr_sha256.value = std::string(digest, digest_len);
  }
  int64_t now = args.has("--now") ? parse_int("--now", *args.get("--now"), 1)
                                  : 0;

  ujwt_error err{};
  ujwt_signer *signer = nullptr;
  int rc = ujwt_signer_new(alg.data(), alg.size(), key.bytes.data(),
                           key.bytes.size(), kid.ptr(), kid.len(), &signer,
                           &err);
  if (rc != UJWT_OK) library_error("signer", rc, err);

  ujwt_claims c{};
  c.iss = iss.ptr();
  c.iss_len = iss.len();
  c.aud = aud.ptr();
  c.aud_len = aud.len();
  c.now = now;
  c.ttl = ttl;
  c.sub = sub.ptr();
  c.sub_len = sub.len();
  c.consumer_id = cid.ptr();
  c.consumer_id_len = cid.len();
  c.consumer_username = cuser.ptr();
  c.consumer_username_len = cuser.len();
  c.consumer_custom_id = ccustom.ptr();
  c.consumer_custom_id_len = ccustom.len();
  c.credential_id = cred.ptr();
  c.credential_id_len = cred.len();
  c.htm = htm.ptr();
  c.htm_len = htm.len();
  c.htu = htu.ptr();
  c.htu_len = htu.len();
  c.query = query.ptr();
  c.query_len = query.len();
  c.body_sha256 = body.ptr();
  c.body_sha256_len = body.len();
  c.extra_json = extra.ptr();
  c.extra_json_len = extra.len();
  c.hdr_names = hdr_names.ptr();
  c.hdr_names_len = hdr_names.len();
  c.hdr_sha256 = hdr_sha256.ptr();
  c.hdr_sha256_len = hdr_sha256.len();

  std::vector<char> out(4096);
  size_t out_len = 0;
  rc = ujwt_sign(signer, &c, out.data(), out.size(), &out_len, &err);
  if (rc == UJWT_ERR_BUFFER_TOO_SMALL) {
    out.resize(out_len);
    rc = ujwt_sign(signer, &c, out.data(), out.size(), &out_len, &err);
  }
  ujwt_signer_free(signer);
  if (rc != UJWT_OK) library_error("sign", rc, err);
  if (!write_line(out.data(), out_len)) throw Failure{"cannot write stdout"};
  return kExitOk;
}

int cmd_verify(int argc, char **argv) {
  static const std::map<std::string, OptionSpec> spec = {
      {"--alg", {true, true}},           {"--key", {true, true}},
      {"--kid", {true, true}},           {"--jwks", {true, true}},
      {"--iss", {true, false}},          {"--aud", {true, false}},
      {"--leeway", {true, false}},       {"--max-lifetime", {true, false}},
      {"--max-token-length", {true, false}},
      {"--now", {true, false}},          {"--body", {true, false}},
      {"--body-sha256", {true, false}},  {"--method", {true, false}},
      {"--path", {true, false}},         {"--query", {true, false}},
      {"--header", {true, true}},        {"--require-headers", {true, false}},
  };
  Args args = parse_args(argc, argv, 2, spec);
  if (args.positional.size() != 1) {
    throw UsageError{args.positional.empty() ? "TOKEN is required"
                                             : "exactly one TOKEN expected"};
  }
  const auto &algs = args.all("--alg");
  const auto &keys = args.all("--key");
  const auto &kids = args.all("--kid");
  const auto &jwks = args.all("--jwks");
  if (keys.empty() && jwks.empty()) {
    throw UsageError{"--key or --jwks is required"};
  }
  if (!keys.empty() && algs.empty()) throw UsageError{"--key needs --alg"};
  if (algs.size() > 1 && algs.size() != keys.size()) {
    throw UsageError{"give one --alg for all keys or one per --key"};
  }
  if (kids.size() > keys.size()) {
    throw UsageError{"more --kid than --key (a JWK carries its own kid)"};
  }
  check_single_stdin(args, {"--key", "--jwks", "--body"},
                     args.positional.front() == "-");

  ujwt_verify_options opts{};
  OptStr iss{args.get("--iss")};
  OptStr aud{args.get("--aud")};
  OptStr method{args.get("--method")};
  OptStr path{args.get("--path")};
  OptStr query{args.get("--query")};
  OptStr body;
  if (args.has("--body") || args.has("--body-sha256")) {
    body.value = read_body_digest(args);
  }
  opts.issuer = iss.ptr();
  opts.issuer_len = iss.len();
  opts.audience = aud.ptr();
  opts.audience_len = aud.len();
  opts.now = args.has("--now") ? parse_int("--now", *args.get("--now"), 1) : 0;
  opts.leeway =
      args.has("--leeway") ? parse_int("--leeway", *args.get("--leeway"), 0)
                           : 0;
  opts.max_lifetime =
      args.has("--max-lifetime")
          ? parse_int("--max-lifetime", *args.get("--max-lifetime"), 0)
          : 3600;
  opts.max_token_length =
      args.has("--max-token-length")
          ? static_cast<size_t>(parse_int(
                "--max-token-length", *args.get("--max-token-length"), 1))
          : 0;
  opts.method = method.ptr();
  opts.method_len = method.len();
  opts.path = path.ptr();
  opts.path_len = path.len();
  opts.query = query.ptr();
  opts.query_len = query.len();
  opts.body_sha256 = body.ptr();
  opts.body_sha256_len = body.len();
  // Headers are checked when any is given, or when some must be bound (then
  // no --header means "the request had none of them").
  const auto header_lines = parse_header_lines(args);
  const auto headers = header_views(header_lines);
  static const ujwt_header kNoHeaders{};
  OptStr required{args.get("--require-headers")};
  if (args.has("--header") || required.value) {
    opts.headers = headers.empty() ? &kNoHeaders : headers.data();
    opts.header_count = headers.size();
  }
  opts.required_headers = required.ptr();
  opts.required_headers_len = required.len();

  std::string token;
  if (args.positional.front() == "-") {
    SecretBytes raw = read_file("-", kMaxTokenInput, "token");
    token.assign(raw.bytes.begin(), raw.bytes.end());
    // `echo TOKEN |` and files end with a newline; a compact JWS never
    // contains whitespace, so trailing whitespace is framing, not token.
    while (!token.empty() && (token.back() == '\n' || token.back() == '\r' ||
                              token.back() == ' ' || token.back() == '\t')) {
      token.pop_back();
    }
  } else {
    token = args.positional.front();
  }

  ujwt_error err{};
  ujwt_verifier *verifier = nullptr;
  int rc = ujwt_verifier_new(&verifier, &err);
  if (rc != UJWT_OK) library_error("verifier", rc, err);
  // Owned by a unique_ptr-like guard so every throw below frees it.
  struct VerifierGuard {
    ujwt_verifier *v;
    ~VerifierGuard() { ujwt_verifier_free(v); }
  } guard{verifier};

  for (size_t i = 0; i < keys.size(); ++i) {
    const std::string &alg = algs.size() == 1 ? algs[0] : algs[i];
    SecretBytes key = read_file(keys[i], kMaxKeyFile, "key file");
    OptStr kid;
    if (i < kids.size()) kid.value = kids[i];
    rc = ujwt_verifier_add_key(verifier, alg.data(), alg.size(),
                               key.bytes.data(), key.bytes.size(), kid.ptr(),
                               kid.len(), &err);
    if (rc != UJWT_OK) library_error("key '" + keys[i] + "'", rc, err);
  }
  for (const auto &path_jwks : jwks) {
    SecretBytes doc = read_file(path_jwks, kMaxKeyFile, "JWKS file");
    OptStr alg;
    if (algs.size() == 1) alg.value = algs[0];
    rc = ujwt_verifier_add_jwk(
        verifier, reinterpret_cast<const char *>(doc.bytes.data()),
        doc.bytes.size(), alg.ptr(), alg.len(), &err);
    if (rc != UJWT_OK) library_error("JWKS '" + path_jwks + "'", rc, err);
  }

  // The payload is shorter than the token, so this buffer normally fits;
  // the retry covers any library that pretty-prints.
  std::vector<char> out(token.size() + 1);
  size_t out_len = 0;
  rc = ujwt_verify(verifier, token.data(), token.size(), &opts, out.data(),
                   out.size(), &out_len, &err);
  if (rc == UJWT_ERR_BUFFER_TOO_SMALL) {
    out.resize(out_len);
    rc = ujwt_verify(verifier, token.data(), token.size(), &opts, out.data(),
                     out.size(), &out_len, &err);
  }
  if (rc == UJWT_ERR_TOKEN_INVALID) {
    std::fprintf(stderr, "invalid token: %s: %s\n",
                 ujwt_reason_name(err.reason), one_line(err.message).c_str());
    return kExitInvalid;
  }
  if (rc != UJWT_OK) library_error("verify", rc, err);
  if (!write_line(out.data(), out_len)) throw Failure{"cannot write stdout"};
  return kExitOk;
}

int cmd_digest(int argc, char **argv) {
  Args args = parse_args(argc, argv, 2, {});
  if (args.positional.size() > 1) throw UsageError{"at most one FILE"};
  std::string path = args.positional.empty() ? "-" : args.positional.front();
  std::string d = digest_file(path);
  if (!write_line(d.data(), d.size())) throw Failure{"cannot write stdout"};
  return kExitOk;
}

int cmd_jwks(int argc, char **argv) {
  static const std::map<std::string, OptionSpec> spec = {
      {"--key", {true, false}},
      {"--kid", {true, false}},
      {"--alg", {true, false}},
  };
  Args args = parse_args(argc, argv, 2, spec);
  if (!args.positional.empty()) {
    throw UsageError{"unexpected argument '" + args.positional.front() + "'"};
  }
  if (!args.has("--key")) throw UsageError{"--key is required"};
  SecretBytes key = read_file(*args.get("--key"), kMaxKeyFile, "key file");
  OptStr kid{args.get("--kid")};
  OptStr alg{args.get("--alg")};
  ujwt_error err{};
  std::vector<char> out(4096);
  size_t out_len = 0;
  int rc = ujwt_jwks_from_pem(key.bytes.data(), key.bytes.size(), kid.ptr(),
                              kid.len(), alg.ptr(), alg.len(), out.data(),
                              out.size(), &out_len, &err);
  if (rc == UJWT_ERR_BUFFER_TOO_SMALL) {
    out.resize(out_len);
    rc = ujwt_jwks_from_pem(key.bytes.data(), key.bytes.size(), kid.ptr(),
                            kid.len(), alg.ptr(), alg.len(), out.data(),
                            out.size(), &out_len, &err);
  }
  if (rc != UJWT_OK) library_error("jwks", rc, err);
  if (!write_line(out.data(), out_len)) throw Failure{"cannot write stdout"};
  return kExitOk;
}

}  // namespace

int main(int argc, char **argv) {
  if (argc < 2) {
    std::fprintf(stderr, "upstream-jwt: missing command\n%s\n", kUsageTop);
    return kExitUsage;
  }
  std::string cmd = argv[1];
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    std::fputs(kHelp, stdout);
    return kExitOk;
  }
  if (cmd == "--version") {
    std::printf("upstream-jwt %s\n", ujwt_version());
    return kExitOk;
  }
  const char *usage = kUsageTop;
  int (*run)(int, char **) = nullptr;
  if (cmd == "sign") {
    usage = kUsageSign;
    run = cmd_sign;
  } else if (cmd == "verify") {
    usage = kUsageVerify;
    run = cmd_verify;
  } else if (cmd == "digest") {
    usage = kUsageDigest;
    run = cmd_digest;
  } else if (cmd == "jwks") {
    usage = kUsageJwks;
    run = cmd_jwks;
  } else {
    std::fprintf(stderr, "upstream-jwt: unknown command '%s'\n%s\n",
                 cmd.c_str(), kUsageTop);
    return kExitUsage;
  }
  try {
    return run(argc, argv);
  } catch (const HelpRequested &) {
    std::printf("%s\n\n%s", usage, kHelp);
    return kExitOk;
  } catch (const UsageError &e) {
    std::fprintf(stderr, "upstream-jwt %s: %s\n%s\n", cmd.c_str(),
                 e.message.c_str(), usage);
    return kExitUsage;
  } catch (const Failure &e) {
    std::fprintf(stderr, "upstream-jwt %s: %s\n", cmd.c_str(),
                 e.message.c_str());
    return kExitFailure;
  } catch (const std::exception &e) {
    std::fprintf(stderr, "upstream-jwt %s: %s\n", cmd.c_str(), e.what());
    return kExitFailure;
  }
}
