-- Baseline (a): how Kong's bundled jwt plugin (kong/plugins/jwt/jwt_parser.lua,
-- Kong 3.x) builds and signs a token, applied to this plugin's claims.
--   * header and claims encoded with cjson on every call;
--   * base64url = ngx.encode_base64(s, true) then gsub("+","-"):gsub("/","_");
--   * HS256 = resty.openssl.mac.new(key, "HMAC", nil, "sha256"):final(data):
--     EVP_MAC_fetch + EVP_MAC_CTX_new + OSSL_PARAM array + EVP_MAC_init per
--     call (frees made explicit here rather than left to ffi.gc, which only
--     flatters the baseline);
--   * SHA-256 = resty.openssl.digest.new("sha256"):final(data): EVP_MD_fetch +
--     EVP_MD_CTX_new + EVP_DigestInit_ex per call;
--   * jti = resty.random.bytes(16): one RAND_bytes per call.
local ffi = require "ffi"
local cjson = require "cjson"
local crypto = require "crypto_ffi"
local C = crypto.lib

local encode_base64 = ngx.encode_base64
local concat = table.concat
local ffi_new, ffi_str = ffi.new, ffi.string

local _M = {}

local function base64_encode(input)
  local result = encode_base64(input, true)
  result = result:gsub("+", "-"):gsub("/", "_")
  return result
end

local function sha256(data)
  local md = C.EVP_MD_fetch(nil, "SHA256", nil)
  local ctx = C.EVP_MD_CTX_new()
  local out = ffi_new("unsigned char[32]")
  local len = ffi_new("unsigned int[1]")
  assert(C.EVP_DigestInit_ex(ctx, md, nil) == 1
         and C.EVP_DigestUpdate(ctx, data, #data) == 1
         and C.EVP_DigestFinal_ex(ctx, out, len) == 1, "sha256")
  C.EVP_MD_CTX_free(ctx)
  C.EVP_MD_free(md)
  return ffi_str(out, 32)
end

local function hmac_sha256(data, key)
  local mac = C.EVP_MAC_fetch(nil, "HMAC", nil)
  local ctx = C.EVP_MAC_CTX_new(mac)
  local params, keep = crypto.digest_params("sha256")
  local out = ffi_new("unsigned char[64]")
  local outl = ffi_new("size_t[1]")
  assert(C.EVP_MAC_init(ctx, key, #key, params) == 1
         and C.EVP_MAC_update(ctx, data, #data) == 1
         and C.EVP_MAC_final(ctx, out, outl, 64) == 1, "hmac")
  C.EVP_MAC_CTX_free(ctx)
  C.EVP_MAC_free(mac)
  local _ = keep  -- the digest name buffer must live until EVP_MAC_init
  return ffi_str(out, outl[0])
end

local function random_bytes(n)
  local buf = ffi_new("unsigned char[?]", n)
  assert(C.RAND_bytes(buf, n) == 1, "RAND_bytes")
  return ffi_str(buf, n)
end

local function encode_token(data, key, alg)
  local header = { typ = "JWT", alg = alg }
  local buffer = {
    base64_encode(cjson.encode(header)),
    base64_encode(cjson.encode(data)),
  }
  local signing_input = concat(buffer, ".")
  local signature = hmac_sha256(signing_input, key)
  buffer[#buffer + 1] = base64_encode(signature)
  return concat(buffer, ".")
end

--- A signer with the same interface as bench/lua/reused_ctx.lua and the FFI
-- adapter: sign(req, body) -> token.
function _M.new(secret)
  local self = {}
  function self.sign(req, body)
    local now = ngx.time()
    local claims = {
      iss = req.iss,
      aud = req.aud,
      iat = now,
      nbf = now,
      exp = now + req.ttl,
      jti = base64_encode(random_bytes(16)),
      sub = req.consumer_id,
      consumer = { id = req.consumer_id, username = req.consumer_username },
      htm = req.method,
      htu = req.path,
      query_sha256 = base64_encode(sha256(req.query)),
      body_sha256 = base64_encode(sha256(body)),
    }
    return encode_token(claims, secret, "HS256")
  end
  return self
end

return _M
