-- Limit probes for the gateway benchmark (bench only). At upstream-jwt's
-- priority, through the same PDK calls and the same native library, a probe
-- does the least a signing plugin can do and nothing else:
--   hash_body = false: mint one token with constant claims and set it as one
--     upstream header (no request field read, no body read);
--   hash_body = true: the same after reading the body and hashing it (in
--     memory with one call; spilled to a temp file, in chunks from the file).
-- The ratio of upstream-jwt to a probe, in the same run, is how close the
-- plugin is to what any plugin of its kind could reach in this gateway.
local native = require "kong.plugins.upstream-jwt.native"

local EMPTY_BODY_SHA256 = "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU"

local signer, file_digest
-- Constant claims, the request binding's fields included, so the token is as
-- long as upstream-jwt's for the same request.
local claims = {
  iss = "kong", aud = "bench", now = os.time(), ttl = 60,
  htm = "POST", htu = "/", query = "", body_sha256 = EMPTY_BODY_SHA256,
}

local function body_digest()
  local body = kong.request.get_raw_body()
  if body then
    return body == "" and EMPTY_BODY_SHA256 or assert(native.sha256_b64(body))
  end
  local path = assert(ngx.req.get_body_file(), "body neither in memory nor in a file")
  file_digest = file_digest or assert(native.new_digest())
  assert(file_digest:update_file(path))
  return assert(file_digest:final())
end

return {
  VERSION = "0.0.0",
  PRIORITY = 790,
  access = function(_, conf)
    if not signer then
      signer = assert(native.new_signer("HS256", conf.secret))
    end
    if conf.hash_body then
      claims.body_sha256 = body_digest()
    end
    kong.service.request.set_header(conf.header, assert(signer:sign(claims)))
  end,
}
