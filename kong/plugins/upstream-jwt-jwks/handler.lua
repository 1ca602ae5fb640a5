-- upstream-jwt-jwks: answers the route it is configured on with the JWKS of
-- the configured keys. A route and a terminating plugin (as Kong's
-- request-termination) let the operator pick the path, host and any
-- authentication with Kong's own routing, and keep upstream-jwt's config
-- about signing only.
local native = require "kong.plugins.upstream-jwt.native"
local cjson = require "cjson.safe"

local concat = table.concat
local setmetatable = setmetatable

local Handler = {
  VERSION = "0.1.0",
  -- Before authentication plugins would not matter (a JWKS is public), but
  -- after them lets an operator protect it; request-termination runs at 2.
  PRIORITY = 3,
}

-- Per conf table: the key strings it was built from and the document, so a
-- vault rotation that rewrites a key in place rebuilds it.
local built = setmetatable({}, { __mode = "k" })

local function build(conf)
  local keys = {}
  for i, pem in ipairs(conf.public_keys) do
    if type(pem) ~= "string" or pem == "" then
      return nil, "config.public_keys[" .. i .. "] is empty (unresolved vault reference?)"
    end
    local alg = conf.algorithms[i]
    local jwks, err = native.jwks_from_pem(pem, conf.key_ids[i], alg ~= nil and alg or nil)
    if not jwks then
      return nil, "config.public_keys[" .. i .. "]: " .. tostring(err)
    end
    local doc = cjson.decode(jwks)
    for _, k in ipairs(doc and doc.keys or {}) do
      keys[#keys + 1] = k
    end
  end
  local body = cjson.encode({ keys = keys })
  if not body then
    return nil, "cannot encode the JWKS"
  end
  return body
end

function Handler:access(conf)
  local method = kong.request.get_method()
  if method ~= "GET" and method ~= "HEAD" then
    return kong.response.exit(405, { message = "Method not allowed" }, { Allow = "GET, HEAD" })
  end
  local fingerprint = concat(conf.public_keys, "\0") .. "\0" .. concat(conf.key_ids, "\0")
                      .. "\0" .. concat(conf.algorithms, "\0")
  local b = built[conf]
  if not b or b.fingerprint ~= fingerprint then
    local body, err = build(conf)
    b = { fingerprint = fingerprint, body = body, err = err }
    built[conf] = b
  end
  if not b.body then
    kong.log.err("upstream-jwt-jwks: ", b.err)
    return kong.response.exit(500, { message = "An unexpected error occurred" })
  end
  return kong.response.exit(200, b.body, {
    ["Content-Type"] = "application/jwk-set+json",
    ["Cache-Control"] = "public, max-age=" .. conf.max_age,
  })
end

return Handler
