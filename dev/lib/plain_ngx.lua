-- The few `ngx` members that Kong plugin schemas (and the stand-ins around
-- them) touch, for running them in plain LuaJIT: the local gateway's config
-- check before nginx starts, and the unit specs. Under OpenResty the real
-- `ngx` exists and install() leaves it alone.

local byte, char, sub, find = string.byte, string.char, string.sub, string.find
local concat = table.concat
local floor = math.floor

local ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local INDEX = {}
for i = 1, 64 do
  INDEX[byte(ALPHABET, i)] = i - 1
end

local M = {}

--- ngx.decode_base64's rules (nginx's ngx_decode_base64): standard alphabet,
-- input ends at the first '=' (padding optional), a length of 4n+1 or a
-- foreign character is invalid (nil).
function M.decode_base64(s)
  local stop = find(s, "=", 1, true)
  if stop then
    s = sub(s, 1, stop - 1)
  end
  if #s % 4 == 1 then
    return nil
  end
  local out, acc, bits = {}, 0, 0
  for i = 1, #s do
    local v = INDEX[byte(s, i)]
    if not v then
      return nil
    end
    acc = acc * 64 + v
    bits = bits + 6
    if bits >= 8 then
      bits = bits - 8
      local b = floor(acc / 2 ^ bits)
      out[#out + 1] = char(b)
      acc = acc - b * 2 ^ bits
    end
  end
  return concat(out)
end

--- ngx.encode_base64: standard alphabet, padded.
function M.encode_base64(s)
  local out = {}
  for i = 1, #s, 3 do
    local a, b, c = byte(s, i, i + 2)
    local n = a * 65536 + (b or 0) * 256 + (c or 0)
    local c1 = floor(n / 262144) % 64
    local c2 = floor(n / 4096) % 64
    local c3 = floor(n / 64) % 64
    local c4 = n % 64
    out[#out + 1] = sub(ALPHABET, c1 + 1, c1 + 1) .. sub(ALPHABET, c2 + 1, c2 + 1)
      .. (b and sub(ALPHABET, c3 + 1, c3 + 1) or "=")
      .. (c and sub(ALPHABET, c4 + 1, c4 + 1) or "=")
  end
  return concat(out)
end

--- Installs a minimal global `ngx` when there is none; returns the global.
-- `null` is cjson's sentinel, which *is* ngx.null under OpenResty.
function M.install()
  if not ngx then
    local null = require("cjson.safe").null
    _G.ngx = {
      null = null,
      log = function() end,
      DEBUG = 8, INFO = 7, NOTICE = 6, WARN = 5, ERR = 4, CRIT = 3, ALERT = 2, EMERG = 1,
      time = os.time,
      now = os.time,
      decode_base64 = M.decode_base64,
      encode_base64 = M.encode_base64,
    }
  end
  return ngx
end

return M
