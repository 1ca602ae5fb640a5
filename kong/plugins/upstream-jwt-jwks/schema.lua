-- upstream-jwt-jwks: serves the public keys services verify upstream-jwt
-- tokens with, as a JWKS (RFC 7517), on the route it is configured on. The key elements and
-- their algorithms come from kong.plugins.upstream-jwt.typedefs, the module upstream-jwt's
-- signing-key fields are defined in.
local typedefs = require "kong.db.schema.typedefs"
local plugin_typedefs = require "kong.plugins.upstream-jwt.typedefs"

local function same_length(entity)
  local c = entity.config
  if type(c) ~= "table" or type(c.public_keys) ~= "table" then
    return true
  end
  local n = #c.public_keys
  if type(c.key_ids) ~= "table" or #c.key_ids ~= n then
    return nil, "'config.key_ids' needs one key id per entry of 'config.public_keys'"
  end
  if type(c.algorithms) == "table" and #c.algorithms ~= 0 and #c.algorithms ~= n then
    return nil, "'config.algorithms' is empty or has one algorithm per entry of 'config.public_keys'"
  end
  local seen = {}
  for _, kid in ipairs(c.key_ids) do
    if seen[kid] then
      return nil, "key id '" .. kid .. "' is listed twice"
    end
    seen[kid] = true
  end
  return true
end

return {
  name = "upstream-jwt-jwks",
  fields = {
    { consumer = typedefs.no_consumer },
    { protocols = plugin_typedefs.protocols_http_only },
    { config = {
        type = "record",
        fields = {
          { public_keys = {
              description = "PEM keys to publish: public keys, or private keys of which only the "
                         .. "public half is published. List the current key, the next one before "
                         .. "a rotation and the previous one after it. Referenceable.",
              type = "array",
              required = true,
              len_min = 1,
              len_max = 16,
              elements = plugin_typedefs.published_key,
          } },
          { key_ids = {
              description = "The `kid` of each key, in the same order (the upstream-jwt "
                         .. "`key_id` that signs with it).",
              type = "array",
              required = true,
              elements = plugin_typedefs.published_key_id,
          } },
          { algorithms = {
              description = "The `alg` of each key, in the same order; empty: RS256 for RSA, "
                         .. "ES256 for P-256, EdDSA for Ed25519 (PS256 must be named).",
              type = "array",
              required = true,
              default = {},
              elements = plugin_typedefs.published_key_algorithm,
          } },
          { max_age = {
              description = "Seconds a client may cache the document (`Cache-Control: public, "
                         .. "max-age=N`). Keep it below the time a next key is published before "
                         .. "it signs.",
              type = "integer",
              required = true,
              default = 300,
              between = { 0, 86400 },
          } },
        },
    } },
  },
  entity_checks = {
    { custom_entity_check = {
        field_sources = { "config.public_keys", "config.key_ids", "config.algorithms" },
        fn = same_length,
    } },
    plugin_typedefs.published_keys_usable,
  },
}
