-- The pure-Lua peer for the gateway benchmark (bench only): the same claims
-- as upstream-jwt (issuer, audience, lifetime, jti, method, path, query and
-- body digests) built and signed by bench/lua/jwt_parser_style.lua, the way
-- Kong's bundled jwt plugin builds a token (cjson, ngx.encode_base64 + gsub,
-- a fresh OpenSSL HMAC and digest context per call). A spilled body is read
-- whole into a Lua string, as such a plugin would hand it to its hash.
local jwt_parser_style = require "jwt_parser_style"

local signer
local req = { iss = "kong", ttl = 60 }

local function raw_body()
  local body = kong.request.get_raw_body()
  if body then
    return body
  end
  local f = assert(io.open(assert(ngx.req.get_body_file()), "rb"))
  body = f:read("*a")
  f:close()
  return body
end

return {
  VERSION = "0.0.0",
  PRIORITY = 790,
  access = function(_, conf)
    signer = signer or jwt_parser_style.new(conf.secret)
    local body = raw_body()
    local service = kong.router.get_service()
    req.aud = service and service.name or nil
    req.method = kong.request.get_method()
    local uri = ngx.var.upstream_uri
    req.path = uri:match("^[^?]*")
    req.query = kong.request.get_raw_query() or ""
    kong.service.request.set_header(conf.header, signer.sign(req, body))
  end,
}
