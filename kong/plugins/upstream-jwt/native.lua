-- LuaJIT FFI binding of libupstream_jwt (include/upstream_jwt.h). This is the
-- only Lua file that knows the C ABI; everything else goes through the
-- functions below, which return `nil, message` on failure and never throw.
--
-- Per worker: the cdef runs once, the library is loaded once, and the output
-- buffers, error struct and claims struct are reused by every call, so signing
-- allocates nothing on the C side the caller has to free and little on the Lua
-- side. The reuse is safe because a worker runs Lua code on one thread and
-- none of these functions yields.

local ffi = require "ffi"

local C = ffi.C
local ffi_new = ffi.new
local ffi_str = ffi.string
local ffi_gc = ffi.gc
local ffi_cast = ffi.cast
local type = type
local tostring = tostring
local setmetatable = setmetatable

local ABI = [[
typedef struct ujwt_error {
  int status;
  int reason;
  char message[256];
} ujwt_error;

const char *ujwt_version(void);
const char *ujwt_reason_name(int reason);
const char *ujwt_status_name(int status);

typedef struct ujwt_digest ujwt_digest;
int ujwt_digest_new(ujwt_digest **out, ujwt_error *err);
void ujwt_digest_free(ujwt_digest *d);
int ujwt_digest_reset(ujwt_digest *d, ujwt_error *err);
int ujwt_digest_update(ujwt_digest *d, const uint8_t *data, size_t len, ujwt_error *err);
int ujwt_digest_final(ujwt_digest *d, char *out, size_t out_cap, size_t *out_len, ujwt_error *err);
int ujwt_sha256_b64(const uint8_t *data, size_t len, char *out, size_t out_cap,
                    size_t *out_len, ujwt_error *err);

typedef struct ujwt_header {
  const char *name; size_t name_len;
  const char *value; size_t value_len;
} ujwt_header;
int ujwt_headers_sha256(const char *names, size_t names_len, const ujwt_header *headers,
                        size_t header_count, char *out, size_t out_cap, size_t *out_len,
                        ujwt_error *err);

typedef struct ujwt_signer ujwt_signer;
int ujwt_signer_new(const char *alg, size_t alg_len, const uint8_t *key, size_t key_len,
                    const char *kid, size_t kid_len, ujwt_signer **out, ujwt_error *err);
void ujwt_signer_free(ujwt_signer *s);

typedef struct ujwt_claims {
  const char *iss; size_t iss_len;
  const char *aud; size_t aud_len;
  int64_t now;
  int64_t ttl;
  const char *sub; size_t sub_len;
  const char *consumer_id; size_t consumer_id_len;
  const char *consumer_username; size_t consumer_username_len;
  const char *consumer_custom_id; size_t consumer_custom_id_len;
  const char *credential_id; size_t credential_id_len;
  const char *htm; size_t htm_len;
  const char *htu; size_t htu_len;
  const char *query; size_t query_len;
  const char *body_sha256; size_t body_sha256_len;
  const char *extra_json; size_t extra_json_len;
  const char *hdr_names; size_t hdr_names_len;
  const char *hdr_sha256; size_t hdr_sha256_len;
} ujwt_claims;

int ujwt_sign(const ujwt_signer *s, const ujwt_claims *claims, char *out, size_t out_cap,
              size_t *out_len, ujwt_error *err);

typedef struct ujwt_replay_cache ujwt_replay_cache;
int ujwt_replay_cache_new(size_t capacity, ujwt_replay_cache **out, ujwt_error *err);
void ujwt_replay_cache_free(ujwt_replay_cache *c);

typedef struct ujwt_verifier ujwt_verifier;
int ujwt_verifier_new(ujwt_verifier **out, ujwt_error *err);
void ujwt_verifier_free(ujwt_verifier *v);
int ujwt_verifier_add_key(ujwt_verifier *v, const char *alg, size_t alg_len,
                          const uint8_t *key, size_t key_len, const char *kid,
                          size_t kid_len, ujwt_error *err);
int ujwt_verifier_add_jwk(ujwt_verifier *v, const char *json, size_t json_len,
                          const char *alg, size_t alg_len, ujwt_error *err);

typedef struct ujwt_verify_options {
  const char *issuer; size_t issuer_len;
  const char *audience; size_t audience_len;
  int64_t now;
  int64_t leeway;
  int64_t max_lifetime;
  size_t max_token_length;
  const char *method; size_t method_len;
  const char *path; size_t path_len;
  const char *query; size_t query_len;
  const char *body_sha256; size_t body_sha256_len;
  ujwt_replay_cache *replay_cache;
  const ujwt_header *headers; size_t header_count;
  const char *required_headers; size_t required_headers_len;
} ujwt_verify_options;

int ujwt_verify(const ujwt_verifier *v, const char *token, size_t token_len,
                const ujwt_verify_options *opts, char *out, size_t out_cap,
                size_t *out_len, ujwt_error *err);

int ujwt_jwks_from_pem(const uint8_t *pem, size_t pem_len, const char *kid, size_t kid_len,
                       const char *alg, size_t alg_len, char *out, size_t out_cap,
                       size_t *out_len, ujwt_error *err);
]]

-- Busted's insulate() and hot reloads require this file more than once per
-- VM; a second cdef of the same names would raise.
if not pcall(ffi.typeof, "ujwt_verify_options") then
  ffi.cdef(ABI)
end

-- libc, for hashing a spilled request body without creating a Lua string per
-- chunk. Another module may have declared these already: each is tried alone.
for _, decl in ipairs({
  "typedef struct _IO_FILE FILE;",
  "FILE *fopen(const char *path, const char *mode);",
  "size_t fread(void *ptr, size_t size, size_t n, FILE *stream);",
  "int ferror(FILE *stream);",
  "int fclose(FILE *stream);",
}) do
  pcall(ffi.cdef, decl)
end

local UJWT_OK = 0
local UJWT_ERR_BUFFER_TOO_SMALL = 2
local UJWT_ERR_TOKEN_INVALID = 6
local SHA256_B64_LEN = 43
local FILE_CHUNK = 65536

-------------------------------------------------------------------------------
-- Finding the library
-------------------------------------------------------------------------------

local LIB_NAME = "libupstream_jwt"

local function file_exists(path)
  local f = io.open(path, "rb")
  if f then
    f:close()
    return true
  end
  return false
end

-- Order: explicit override, then wherever luarocks put it (package.cpath,
-- e.g. <tree>/lib/lua/5.1/libupstream_jwt.so), then the system linker path.
local function load_library()
  local tried = {}
  local env = os.getenv("UPSTREAM_JWT_LIB")
  if env and env ~= "" then
    local ok, lib = pcall(ffi.load, env)
    if ok then
      return lib, env
    end
    return nil, "UPSTREAM_JWT_LIB=" .. env .. " could not be loaded: " .. tostring(lib)
  end
  for template in package.cpath:gmatch("[^;]+") do
    local candidate = template:gsub("%?", LIB_NAME)
    if file_exists(candidate) then
      local ok, lib = pcall(ffi.load, candidate)
      if ok then
        return lib, candidate
      end
      tried[#tried + 1] = candidate .. " (" .. tostring(lib) .. ")"
    end
  end
  local ok, lib = pcall(ffi.load, "upstream_jwt")
  if ok then
    return lib, "upstream_jwt"
  end
  tried[#tried + 1] = "ffi.load('upstream_jwt'): " .. tostring(lib)
  return nil, "libupstream_jwt.so not found (set UPSTREAM_JWT_LIB, or install the rock so it "
              .. "is on package.cpath); tried: " .. table.concat(tried, "; ")
end

local lib, lib_path = load_library()
if not lib then
  -- Loading the plugin without its signer must fail loudly at startup, not
  -- at the first request.
  error(lib_path, 0)
end

-- A library built before header binding still signs everything else; a
-- config that binds headers then fails closed with this named cause rather
-- than an FFI error.
local has_headers_sha256 = pcall(function()
  return lib.ujwt_headers_sha256
end)

-------------------------------------------------------------------------------
-- Shared per-worker scratch space
-------------------------------------------------------------------------------

local err_buf = ffi_new("ujwt_error[1]")
local len_buf = ffi_new("size_t[1]")
local out_cap = 4096
local out_buf = ffi_new("char[?]", out_cap)
local b64_buf = ffi_new("char[?]", SHA256_B64_LEN + 1)
local claims_buf = ffi_new("ujwt_claims[1]")
local vopts_buf = ffi_new("ujwt_verify_options[1]")
local file_buf = ffi_new("uint8_t[?]", FILE_CHUNK)
local hdr_cap = 16
local hdr_buf = ffi_new("ujwt_header[?]", hdr_cap)
local u8ptr = ffi.typeof("const uint8_t *")

local function error_message()
  local e = err_buf[0]
  local msg = ffi_str(e.message)
  if msg == "" then
    msg = ffi_str(lib.ujwt_status_name(e.status))
  end
  return msg
end

local function grow(needed)
  -- Power-of-two growth keeps the number of reallocations logarithmic.
  local cap = out_cap
  while cap < needed do
    cap = cap * 2
  end
  out_buf = ffi_new("char[?]", cap)
  out_cap = cap
end

-- Hot functions below never end in `return builtin(...)`: that is a tail
-- call, and a trace started at the function's entry cannot return through a
-- builtin to the caller's frame ("leaving loop in root trace"), so LuaJIT
-- aborts, blacklists the function and interprets it on every request.
-- Binding the result to a local first keeps these calls compiled.
local function as_bytes(s)
  local p = ffi_cast(u8ptr, s)
  return p
end

local _M = { _VERSION = "0.1.0", library_path = lib_path }

function _M.version()
  return ffi_str(lib.ujwt_version())
end

function _M.reason_name(reason)
  return ffi_str(lib.ujwt_reason_name(reason))
end

-------------------------------------------------------------------------------
-- Digest
-------------------------------------------------------------------------------

-- The digest a call left in b64_buf, or nil and the library's message.
local function digest_result(rc)
  if rc ~= UJWT_OK then
    return nil, error_message()
  end
  local digest = ffi_str(b64_buf, len_buf[0])
  return digest
end

function _M.sha256_b64(data)
  if type(data) ~= "string" then
    return nil, "data must be a string"
  end
  local rc = lib.ujwt_sha256_b64(as_bytes(data), #data, b64_buf, SHA256_B64_LEN + 1,
                                 len_buf, err_buf)
  local digest, err = digest_result(rc)
  return digest, err
end

--- Fills the shared ujwt_header array from `fields` = { name1, value1,
-- name2, value2, ... } (n pairs). The strings stay referenced by `fields`
-- while C reads them.
-- @return the array | nil, message
local function header_array(fields, n)
  if type(fields) ~= "table" or type(n) ~= "number" or n < 0 then
    return nil, "headers must be a list of name, value pairs"
  end
  if n > hdr_cap then
    local cap = hdr_cap
    while cap < n do
      cap = cap * 2
    end
    hdr_buf = ffi_new("ujwt_header[?]", cap)
    hdr_cap = cap
  end
  for i = 0, n - 1 do
    local name, value = fields[2 * i + 1], fields[2 * i + 2]
    if type(name) ~= "string" or type(value) ~= "string" then
      return nil, "header names and values must be strings"
    end
    local h = hdr_buf[i]
    h.name, h.name_len = name, #name
    h.value, h.value_len = value, #value
  end
  return hdr_buf
end

--- hdr_sha256 of the headers named in `names` (','-joined) over the request
-- headers `fields` = { name1, value1, ... } (n pairs, repeats in the order
-- received).
function _M.headers_sha256(names, fields, n)
  if not has_headers_sha256 then
    return nil, lib_path .. " predates header binding (no ujwt_headers_sha256): rebuild it"
  end
  if type(names) ~= "string" then
    return nil, "names must be a string"
  end
  local arr, err = header_array(fields, n)
  if not arr then
    return nil, err
  end
  local rc = lib.ujwt_headers_sha256(names, #names, arr, n, b64_buf, SHA256_B64_LEN + 1,
                                     len_buf, err_buf)
  local digest, derr = digest_result(rc)
  return digest, derr
end

local Digest = {}
Digest.__index = Digest

function _M.new_digest()
  local p = ffi_new("ujwt_digest *[1]")
  if lib.ujwt_digest_new(p, err_buf) ~= UJWT_OK then
    return nil, error_message()
  end
  return setmetatable({ h = ffi_gc(p[0], lib.ujwt_digest_free) }, Digest)
end

function Digest:update(data)
  if type(data) ~= "string" then
    return nil, "data must be a string"
  end
  if lib.ujwt_digest_update(self.h, as_bytes(data), #data, err_buf) ~= UJWT_OK then
    return nil, error_message()
  end
  return true
end

-- For bytes already in C memory (a read buffer): no Lua string is made.
function Digest:update_ptr(ptr, len)
  if lib.ujwt_digest_update(self.h, ffi_cast(u8ptr, ptr), len, err_buf) ~= UJWT_OK then
    return nil, error_message()
  end
  return true
end

--- Hash a file in FILE_CHUNK pieces through one reused buffer.
-- Stops as soon as more than `limit` bytes were read (when limit is given).
-- @return total bytes | nil, message, code ("too_large" | "io")
function Digest:update_file(path, limit)
  local f = C.fopen(path, "rb")
  if f == nil then
    return nil, "cannot open the request body file", "io"
  end
  local total = 0
  while true do
    local n = tonumber(C.fread(file_buf, 1, FILE_CHUNK, f))
    if n > 0 then
      total = total + n
      if limit and total > limit then
        C.fclose(f)
        return nil, "request body larger than " .. limit .. " bytes", "too_large"
      end
      if lib.ujwt_digest_update(self.h, file_buf, n, err_buf) ~= UJWT_OK then
        C.fclose(f)
        return nil, error_message(), "io"
      end
    end
    if n < FILE_CHUNK then
      local failed = C.ferror(f) ~= 0
      C.fclose(f)
      if failed then
        return nil, "error reading the request body file", "io"
      end
      return total
    end
  end
end

function Digest:final()
  local rc = lib.ujwt_digest_final(self.h, b64_buf, SHA256_B64_LEN + 1, len_buf, err_buf)
  local digest, err = digest_result(rc)
  return digest, err
end

function Digest:reset()
  if lib.ujwt_digest_reset(self.h, err_buf) ~= UJWT_OK then
    return nil, error_message()
  end
  return true
end

-------------------------------------------------------------------------------
-- Signer
-------------------------------------------------------------------------------

local Signer = {}
Signer.__index = Signer

--- @param alg "HS256"|"HS384"|"HS512"|"RS256"|"PS256"|"ES256"|"EdDSA"
--- @param key HS*: the secret's bytes; others: a PEM private key
--- @param kid optional key id for the header
function _M.new_signer(alg, key, kid)
  if type(alg) ~= "string" then
    return nil, "algorithm must be a string"
  end
  if type(key) ~= "string" then
    return nil, "key must be a string"
  end
  if kid ~= nil and type(kid) ~= "string" then
    return nil, "kid must be a string"
  end
  local p = ffi_new("ujwt_signer *[1]")
  local rc = lib.ujwt_signer_new(alg, #alg, as_bytes(key), #key,
                                 kid, kid and #kid or 0, p, err_buf)
  if rc ~= UJWT_OK then
    return nil, error_message()
  end
  return setmetatable({ h = ffi_gc(p[0], lib.ujwt_signer_free), alg = alg, kid = kid }, Signer)
end

-- LuaJIT converts a Lua string assigned to a `const char *` field into a
-- pointer to its bytes; the `claims` table keeps every string alive for the
-- duration of ujwt_sign.
local function set_str(c, field, len_field, v)
  if v == nil then
    c[field] = nil
    c[len_field] = 0
  else
    c[field] = v
    c[len_field] = #v
  end
end

local function not_a_string(name)
  return nil, "claim '" .. name .. "' must be a string"
end

--- @param claims { iss=, aud=, now=, ttl=, sub=, consumer_id=, consumer_username=,
---   consumer_custom_id=, credential_id=, htm=, htu=, query=, body_sha256=, hdr_names=,
---   hdr_sha256=, extra_json= }
--- @return the compact JWS | nil, message
-- Every field is written with a constant name, one statement each: a loop
-- over the names makes the JIT guard on each name in turn and leave the trace
-- per field, which cost about a quarter of a token (bench/lua).
function Signer:sign(claims)
  if type(claims) ~= "table" then
    return nil, "claims must be a table"
  end
  local c = claims_buf[0]
  local v
  v = claims.iss
  if v == nil then c.iss, c.iss_len = nil, 0
  elseif type(v) == "string" then c.iss, c.iss_len = v, #v
  else return not_a_string("iss") end
  v = claims.aud
  if v == nil then c.aud, c.aud_len = nil, 0
  elseif type(v) == "string" then c.aud, c.aud_len = v, #v
  else return not_a_string("aud") end
  v = claims.sub
  if v == nil then c.sub, c.sub_len = nil, 0
  elseif type(v) == "string" then c.sub, c.sub_len = v, #v
  else return not_a_string("sub") end
  v = claims.consumer_id
  if v == nil then c.consumer_id, c.consumer_id_len = nil, 0
  elseif type(v) == "string" then c.consumer_id, c.consumer_id_len = v, #v
  else return not_a_string("consumer_id") end
  v = claims.consumer_username
  if v == nil then c.consumer_username, c.consumer_username_len = nil, 0
  elseif type(v) == "string" then c.consumer_username, c.consumer_username_len = v, #v
  else return not_a_string("consumer_username") end
  v = claims.consumer_custom_id
  if v == nil then c.consumer_custom_id, c.consumer_custom_id_len = nil, 0
  elseif type(v) == "string" then c.consumer_custom_id, c.consumer_custom_id_len = v, #v
  else return not_a_string("consumer_custom_id") end
  v = claims.credential_id
  if v == nil then c.credential_id, c.credential_id_len = nil, 0
  elseif type(v) == "string" then c.credential_id, c.credential_id_len = v, #v
  else return not_a_string("credential_id") end
  v = claims.htm
  if v == nil then c.htm, c.htm_len = nil, 0
  elseif type(v) == "string" then c.htm, c.htm_len = v, #v
  else return not_a_string("htm") end
  v = claims.htu
  if v == nil then c.htu, c.htu_len = nil, 0
  elseif type(v) == "string" then c.htu, c.htu_len = v, #v
  else return not_a_string("htu") end
  v = claims.query
  if v == nil then c.query, c.query_len = nil, 0
  elseif type(v) == "string" then c.query, c.query_len = v, #v
  else return not_a_string("query") end
  v = claims.body_sha256
  if v == nil then c.body_sha256, c.body_sha256_len = nil, 0
  elseif type(v) == "string" then c.body_sha256, c.body_sha256_len = v, #v
  else return not_a_string("body_sha256") end
  v = claims.hdr_names
  if v == nil then c.hdr_names, c.hdr_names_len = nil, 0
  elseif type(v) == "string" then c.hdr_names, c.hdr_names_len = v, #v
  else return not_a_string("hdr_names") end
  v = claims.hdr_sha256
  if v == nil then c.hdr_sha256, c.hdr_sha256_len = nil, 0
  elseif type(v) == "string" then c.hdr_sha256, c.hdr_sha256_len = v, #v
  else return not_a_string("hdr_sha256") end
  v = claims.extra_json
  if v == nil then c.extra_json, c.extra_json_len = nil, 0
  elseif type(v) == "string" then c.extra_json, c.extra_json_len = v, #v
  else return not_a_string("extra_json") end
  if c.iss == nil then
    return nil, "claim 'iss' is required"
  end
  local now, ttl = claims.now or 0, claims.ttl or 60
  if type(now) ~= "number" or type(ttl) ~= "number" then
    return nil, "now and ttl must be numbers"
  end
  c.now = now
  c.ttl = ttl

  -- One retry, written out rather than looped: this runs once per request,
  -- and a loop left on its first pass is a trace the JIT aborts ("leaving
  -- loop in root trace") and then blacklists, so every call was interpreted.
  local rc = lib.ujwt_sign(self.h, claims_buf, out_buf, out_cap, len_buf, err_buf)
  if rc == UJWT_ERR_BUFFER_TOO_SMALL then
    grow(tonumber(len_buf[0]))
    rc = lib.ujwt_sign(self.h, claims_buf, out_buf, out_cap, len_buf, err_buf)
    if rc == UJWT_ERR_BUFFER_TOO_SMALL then
      return nil, "token buffer could not be sized"
    end
  end
  if rc ~= UJWT_OK then
    return nil, error_message()
  end
  local token = ffi_str(out_buf, len_buf[0])
  return token
end

-------------------------------------------------------------------------------
-- Replay cache and verifier (service side, tests, example services)
-------------------------------------------------------------------------------

local ReplayCache = {}
ReplayCache.__index = ReplayCache

function _M.new_replay_cache(capacity)
  if type(capacity) ~= "number" or capacity < 1 then
    return nil, "capacity must be a positive number"
  end
  local p = ffi_new("ujwt_replay_cache *[1]")
  if lib.ujwt_replay_cache_new(capacity, p, err_buf) ~= UJWT_OK then
    return nil, error_message()
  end
  return setmetatable({ h = ffi_gc(p[0], lib.ujwt_replay_cache_free) }, ReplayCache)
end

local Verifier = {}
Verifier.__index = Verifier

function _M.new_verifier()
  local p = ffi_new("ujwt_verifier *[1]")
  if lib.ujwt_verifier_new(p, err_buf) ~= UJWT_OK then
    return nil, error_message()
  end
  return setmetatable({ h = ffi_gc(p[0], lib.ujwt_verifier_free) }, Verifier)
end

function Verifier:add_key(alg, key, kid)
  if type(alg) ~= "string" or type(key) ~= "string" then
    return nil, "algorithm and key must be strings"
  end
  if kid ~= nil and type(kid) ~= "string" then
    return nil, "kid must be a string"
  end
  local rc = lib.ujwt_verifier_add_key(self.h, alg, #alg, as_bytes(key), #key,
                                       kid, kid and #kid or 0, err_buf)
  if rc ~= UJWT_OK then
    return nil, error_message()
  end
  return true
end

function Verifier:add_jwk(json, alg)
  if type(json) ~= "string" then
    return nil, "jwk must be a JSON string"
  end
  if alg ~= nil and type(alg) ~= "string" then
    return nil, "alg must be a string"
  end
  local rc = lib.ujwt_verifier_add_jwk(self.h, json, #json, alg, alg and #alg or 0, err_buf)
  if rc ~= UJWT_OK then
    return nil, error_message()
  end
  return true
end

local VOPT_STRINGS = {
  { "issuer", "issuer_len", "issuer" }, { "audience", "audience_len", "audience" },
  { "method", "method_len", "method" }, { "path", "path_len", "path" },
  { "query", "query_len", "query" }, { "body_sha256", "body_sha256_len", "body_sha256" },
  { "required_headers", "required_headers_len", "required_headers" },
}

--- @param opts { issuer=, audience=, now=, leeway=, max_lifetime=, max_token_length=,
---   method=, path=, query=, body_sha256=, replay_cache=,
---   headers= { name1, value1, ... } (the request's header lines, repeats in order),
---   required_headers= "a,b" } (nil = not checked)
--- @return claims JSON | nil, reason name ("expired", ...), message
function Verifier:verify(token, opts)
  if type(token) ~= "string" then
    return nil, "malformed", "token must be a string"
  end
  opts = opts or {}
  local o = vopts_buf[0]
  for i = 1, #VOPT_STRINGS do
    local names = VOPT_STRINGS[i]
    local v = opts[names[3]]
    if v ~= nil and type(v) ~= "string" then
      return nil, "invalid_argument", "option '" .. names[3] .. "' must be a string"
    end
    set_str(o, names[1], names[2], v)
  end
  o.now = opts.now or 0
  o.leeway = opts.leeway or 0
  o.max_lifetime = opts.max_lifetime or 0
  o.max_token_length = opts.max_token_length or 0
  local rc_cache = opts.replay_cache
  o.replay_cache = rc_cache and rc_cache.h or nil
  local hdrs = opts.headers
  if hdrs == nil then
    o.headers, o.header_count = nil, 0
  else
    local n = type(hdrs) == "table" and #hdrs or -1
    if n % 2 ~= 0 then
      return nil, "invalid_argument", "option 'headers' must be a list of name, value pairs"
    end
    local arr, herr = header_array(hdrs, n / 2)
    if not arr then
      return nil, "invalid_argument", herr
    end
    o.headers, o.header_count = arr, n / 2
  end

  -- Straight-line retry for the same reason as in Signer:sign.
  local rc = lib.ujwt_verify(self.h, token, #token, vopts_buf, out_buf, out_cap,
                             len_buf, err_buf)
  if rc == UJWT_ERR_BUFFER_TOO_SMALL then
    grow(tonumber(len_buf[0]))
    rc = lib.ujwt_verify(self.h, token, #token, vopts_buf, out_buf, out_cap, len_buf, err_buf)
    if rc == UJWT_ERR_BUFFER_TOO_SMALL then
      return nil, "internal", "claims buffer could not be sized"
    end
  end
  if rc == UJWT_OK then
    local claims_json = ffi_str(out_buf, len_buf[0])
    return claims_json
  end
  if rc == UJWT_ERR_TOKEN_INVALID then
    return nil, ffi_str(lib.ujwt_reason_name(err_buf[0].reason)), error_message()
  end
  return nil, ffi_str(lib.ujwt_status_name(rc)), error_message()
end

-------------------------------------------------------------------------------
-- JWKS
-------------------------------------------------------------------------------

function _M.jwks_from_pem(pem, kid, alg)
  if type(pem) ~= "string" then
    return nil, "pem must be a string"
  end
  for _ = 1, 2 do
    local rc = lib.ujwt_jwks_from_pem(as_bytes(pem), #pem, kid, kid and #kid or 0,
                                      alg, alg and #alg or 0, out_buf, out_cap, len_buf, err_buf)
    if rc == UJWT_OK then
      local jwks = ffi_str(out_buf, len_buf[0])
      return jwks
    end
    if rc ~= UJWT_ERR_BUFFER_TOO_SMALL then
      return nil, error_message()
    end
    grow(tonumber(len_buf[0]))
  end
  return nil, "jwks buffer could not be sized"
end

return _M
