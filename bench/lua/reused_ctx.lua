-- Baseline (b): the best a Lua-only plugin can do with libcrypto through FFI.
--   * HMAC keyed once (EVP_MAC_CTX); per token EVP_MAC_init(ctx, NULL) keeps
--     the key schedule, as lua-resty-openssl's mac:reset() allows;
--   * SHA-256 through one reused EVP_MD_CTX (EVP_DigestInit_ex2 with the
--     already-set digest: no fetch, no allocation);
--   * output buffers preallocated once; the header's base64url computed once;
--   * JSON assembled by hand from pre-encoded constant fragments; request
--     strings that need no escaping (the usual case) are quoted in Lua,
--     others go through cjson.encode;
--   * base64url in a JIT-compiled FFI loop (no Lua patterns);
--   * jti from a 4 KiB batch of RAND_bytes, 16 bytes per token.
local ffi = require "ffi"
local cjson = require "cjson"
local crypto = require "crypto_ffi"
local C = crypto.lib

local concat = table.concat
local ffi_new, ffi_str = ffi.new, ffi.string
local find = string.find


-- base64url in a JIT-compiled loop over FFI buffers: Lua patterns (gsub to
-- translate ngx.encode_base64's alphabet) cost ~10 ns per character.
local ALPHABET = ffi_new("uint8_t[64]",
  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
local u8p = ffi.typeof("const uint8_t *")
local b64_cap = 1024
local b64_buf = ffi_new("uint8_t[?]", b64_cap)
local band, rshift, lshift, bor = bit.band, bit.rshift, bit.lshift, bit.bor
local function b64url(s)
  local n = #s
  local need = math.floor((n + 2) / 3) * 4
  if need > b64_cap then
    b64_cap = need * 2
    b64_buf = ffi_new("uint8_t[?]", b64_cap)
  end
  local p, out, A = ffi.cast(u8p, s), b64_buf, ALPHABET
  local o = 0
  local i = 0
  while i + 3 <= n do
    local v = bor(lshift(p[i], 16), lshift(p[i + 1], 8), p[i + 2])
    out[o] = A[rshift(v, 18)]
    out[o + 1] = A[band(rshift(v, 12), 63)]
    out[o + 2] = A[band(rshift(v, 6), 63)]
    out[o + 3] = A[band(v, 63)]
    i, o = i + 3, o + 4
  end
  local rest = n - i
  if rest == 1 then
    local v = lshift(p[i], 16)
    out[o] = A[rshift(v, 18)]
    out[o + 1] = A[band(rshift(v, 12), 63)]
    o = o + 2
  elseif rest == 2 then
    local v = bor(lshift(p[i], 16), lshift(p[i + 1], 8))
    out[o] = A[rshift(v, 18)]
    out[o + 1] = A[band(rshift(v, 12), 63)]
    out[o + 2] = A[band(rshift(v, 6), 63)]
    o = o + 3
  end
  return ffi_str(out, o)
end

-- One digest context and output buffer per worker (a worker runs one
-- request's Lua at a time and none of this yields).
local md = C.EVP_MD_fetch(nil, "SHA256", nil)
local md_ctx = C.EVP_MD_CTX_new()
assert(C.EVP_DigestInit_ex2(md_ctx, md, nil) == 1, "digest init")
local md_out = ffi_new("unsigned char[32]")
local md_len = ffi_new("unsigned int[1]")

local function sha256_b64(data)
  assert(C.EVP_DigestInit_ex2(md_ctx, nil, nil) == 1
         and C.EVP_DigestUpdate(md_ctx, data, #data) == 1
         and C.EVP_DigestFinal_ex(md_ctx, md_out, md_len) == 1, "sha256")
  return b64url(ffi_str(md_out, 32))
end

local RAND_BATCH = 4096
local rand_buf = ffi_new("unsigned char[?]", RAND_BATCH)
local rand_pos = RAND_BATCH
-- nginx forks workers after init_by_lua: a batch drawn in the master would
-- be shared by every worker, so the owner pid is checked.
local rand_pid = 0
local getpid = ngx.worker.pid

local function jti()
  if rand_pos + 16 > RAND_BATCH or rand_pid ~= getpid() then
    assert(C.RAND_bytes(rand_buf, RAND_BATCH) == 1, "RAND_bytes")
    rand_pos, rand_pid = 0, getpid()
  end
  local s = ffi_str(rand_buf + rand_pos, 16)
  ffi.fill(rand_buf + rand_pos, 16)
  rand_pos = rand_pos + 16
  return b64url(s)
end

local _M = {}

function _M.new(secret)
  local mac = C.EVP_MAC_fetch(nil, "HMAC", nil)
  local ctx = ffi.gc(C.EVP_MAC_CTX_new(mac), C.EVP_MAC_CTX_free)
  local params, keep = crypto.digest_params("SHA256")
  assert(C.EVP_MAC_init(ctx, secret, #secret, params) == 1, "hmac init")
  local _ = keep
  local mac_out = ffi_new("unsigned char[32]")
  local mac_len = ffi_new("size_t[1]")

  local header = b64url('{"alg":"HS256","typ":"JWT"}') .. "."
  -- Constant per config: pre-encoded once.
  local escaped = setmetatable({}, { __mode = "k" })
  local function esc(s)
    local e = escaped[s]
    if not e then
      e = cjson.encode(s)
      escaped[s] = e
    end
    return e
  end
  local parts = {}
  local function str(s)
    if not find(s, '[%z\1-\31"\\]') then
      return '"' .. s .. '"'
    end
    return cjson.encode(s)
  end

  local self = {}
  function self.sign(req, body)
    local now = ngx.time()
    local p = parts
    p[1] = '{"iss":'; p[2] = esc(req.iss)
    p[3] = ',"aud":'; p[4] = esc(req.aud)
    p[5] = ',"iat":'; p[6] = now
    p[7] = ',"nbf":'; p[8] = now
    p[9] = ',"exp":'; p[10] = now + req.ttl
    p[11] = ',"jti":"'; p[12] = jti()
    p[13] = '","sub":'; p[14] = str(req.consumer_id)
    p[15] = ',"consumer":{"id":'; p[16] = p[14]
    p[17] = ',"username":'; p[18] = str(req.consumer_username)
    p[19] = '},"htm":'; p[20] = str(req.method)
    p[21] = ',"htu":'; p[22] = str(req.path)
    p[23] = ',"query_sha256":"'; p[24] = sha256_b64(req.query)
    p[25] = '","body_sha256":"'; p[26] = sha256_b64(body)
    p[27] = '"}'
    local signing_input = header .. b64url(concat(p, "", 1, 27))
    assert(C.EVP_MAC_init(ctx, nil, 0, nil) == 1
           and C.EVP_MAC_update(ctx, signing_input, #signing_input) == 1
           and C.EVP_MAC_final(ctx, mac_out, mac_len, 32) == 1, "hmac")
    return signing_input .. "." .. b64url(ffi_str(mac_out, 32))
  end
  return self
end

return _M
