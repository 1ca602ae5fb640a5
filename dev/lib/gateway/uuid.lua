-- Random (version 4) UUIDs for entities declared without an `id`, as Kong
-- generates them. Works inside and outside nginx (no resty dependency).
local bit = require "bit"

local urandom = assert(io.open("/dev/urandom", "rb"))

return function()
  local b = { urandom:read(16):byte(1, 16) }
  b[7] = bit.bor(bit.band(b[7], 0x0f), 0x40) -- version 4
  b[9] = bit.bor(bit.band(b[9], 0x3f), 0x80) -- RFC 4122 variant
  return string.format("%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                       unpack(b))
end
