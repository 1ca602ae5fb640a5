-- Ours: the plugin's FFI path exactly as handler.lua drives it — the body
-- digest through native.sha256_b64, then one reused claims table handed to
-- Signer:sign (kong/plugins/upstream-jwt/native.lua).
local native = require "kong.plugins.upstream-jwt.native"

local _M = {}

function _M.new(secret)
  local signer = assert(native.new_signer("HS256", secret))
  local claims = {}
  local self = {}
  function self.sign(req, body)
    local digest = assert(native.sha256_b64(body))
    local c = claims
    c.iss = req.iss
    c.now = ngx.time()
    c.ttl = req.ttl
    c.aud = req.aud
    c.sub = req.consumer_id
    c.consumer_id = req.consumer_id
    c.consumer_username = req.consumer_username
    c.htm = req.method
    c.htu = req.path
    c.query = req.query
    c.body_sha256 = digest
    return assert(signer:sign(c))
  end
  return self
end

return _M
