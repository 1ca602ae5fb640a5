-- Hand-made tokens for the bad-input specs: arbitrary header and payload
-- bytes (duplicate members, JSON bombs, odd numbers) signed with HMAC-SHA256
-- by OpenSSL's libcrypto directly, so the token is not produced by the
-- library under test.
local ffi = require "ffi"
local bit = require "bit"

ffi.cdef [[
typedef struct evp_md_st EVP_MD;
const EVP_MD *EVP_sha256(void);
unsigned char *HMAC(const EVP_MD *evp_md, const void *key, int key_len,
                    const unsigned char *d, size_t n, unsigned char *md,
                    unsigned int *md_len);
]]
local crypto = ffi.load("libcrypto.so.3")

local M = {}

local ALPHA = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

function M.b64url(s)
  local out = {}
  for i = 1, #s, 3 do
    local a, b, c = s:byte(i, i + 2)
    local n = bit.bor(bit.lshift(a, 16), bit.lshift(b or 0, 8), c or 0)
    local chars = 2 + (b and 1 or 0) + (c and 1 or 0)
    for k = 1, chars do
      local idx = bit.band(bit.rshift(n, 18 - 6 * (k - 1)), 63)
      out[#out + 1] = ALPHA:sub(idx + 1, idx + 1)
    end
  end
  return table.concat(out)
end

function M.hmac256(key, data)
  local md = ffi.new("unsigned char[32]")
  local len = ffi.new("unsigned int[1]")
  assert(crypto.HMAC(crypto.EVP_sha256(), key, #key, data, #data, md, len) ~= nil)
  return ffi.string(md, len[0])
end

-- A compact JWS over exactly these header and payload bytes.
function M.hs256(secret, header, payload)
  local signing_input = M.b64url(header) .. "." .. M.b64url(payload)
  return signing_input .. "." .. M.b64url(M.hmac256(secret, signing_input))
end

return M
