-- Config field definitions shared by the schemas of this rock's plugins, in the manner of
-- Kong's kong.db.schema.typedefs: the signing-key fields of upstream-jwt with the entity
-- checks that validate them at config time, the fields with which upstream-jwt-jwks publishes
-- the matching public keys, and the HTTP-only protocols field. The JWKS plugin takes its
-- algorithms from the same lists upstream-jwt signs with, so an algorithm added or dropped
-- here changes both plugins at once instead of letting their configs drift apart.
--
-- A field typedef is used as is ({ key_id = plugin_typedefs.key_id }) or called with the
-- attributes a schema sets on top (plugin_typedefs.printable_ascii { required = false }).
local typedefs = require "kong.db.schema.typedefs"
local Schema = require "kong.db.schema"

local type = type

local M = {}

M.HMAC_ALGORITHMS = { "HS256", "HS384", "HS512" }
M.ASYMMETRIC_ALGORITHMS = { "RS256", "PS256", "ES256", "EdDSA" }
M.ALGORITHMS = {}
for _, list in ipairs({ M.HMAC_ALGORITHMS, M.ASYMMETRIC_ALGORITHMS }) do
  for _, alg in ipairs(list) do
    M.ALGORITHMS[#M.ALGORITHMS + 1] = alg
  end
end

-- RFC 7518 §3.2: an HMAC key at least as long as the hash output.
M.HMAC_MIN_BYTES = { HS256 = 32, HS384 = 48, HS512 = 64 }

-- "HS256, HS384 and HS512"
local function spoken(list)
  return table.concat(list, ", ", 1, #list - 1) .. " and " .. list[#list]
end

-- What Kong's schema library itself treats as a vault reference (resolved, and so checked,
-- only at request time).
M.is_reference = require("kong.pdk.vault").is_reference

-- Structural check of the field alone; the entity checks below then parse the key for the
-- algorithm it is configured with.
local function validate_private_pem(value)
  if value:find("-----BEGIN ", 1, true) and value:find("PRIVATE KEY-----", 1, true) then
    return true
  end
  return nil, "expected a PEM private key (-----BEGIN ... PRIVATE KEY-----)"
end

-- The native library parses keys at config time. It is required on first use and never
-- raised from: a node that stores configuration without signing (a control plane, tooling
-- that reads the schema) may not have it, and must still load the schema. There the deep
-- check is skipped and only the structural one applies; a data plane without the library
-- cannot load the handlers (native.lua raises there), so no request is signed with a key
-- that was not parsed. false: tried, not available.
local native_module

local function native()
  if native_module == nil then
    local ok, mod = pcall(require, "kong.plugins.upstream-jwt.native")
    native_module = ok and mod or false
    if not ok and ngx and ngx.log then
      ngx.log(ngx.WARN, "upstream-jwt: keys are checked only structurally at config time: ",
              tostring(mod))
    end
  end
  return native_module or nil
end

--- Whether `pem` is a private key the signer takes for `alg`. Refusals name `field` and the
-- library's reason, which describes the key (type, size, curve) and never contains it.
-- Without the library, only the PEM armour is checked.
function M.check_private_key(field, alg, pem)
  local lib = native()
  if not lib then
    local ok, err = validate_private_pem(pem)
    if not ok then
      return nil, ("'%s': %s"):format(field, err)
    end
    return true
  end
  local signer, err = lib.new_signer(alg, pem)
  if not signer then
    return nil, ("'%s' is not usable for %s: %s"):format(field, alg, tostring(err))
  end
  return true
end

--- Whether `pem` (public, or private of which the public half is published) gives a JWK, for
-- `alg` when one is named. Without the library nothing is checked.
function M.check_public_key(field, alg, pem)
  local lib = native()
  if not lib then
    return true
  end
  local jwks, err = lib.jwks_from_pem(pem, nil, alg)
  if not jwks then
    if alg then
      return nil, ("'%s' is not usable for %s: %s"):format(field, alg, tostring(err))
    end
    return nil, ("'%s' is not usable: %s"):format(field, tostring(err))
  end
  return true
end

-- HTTP only: upstream-jwt reads the body whole in access to hash it, which would break a
-- streaming gRPC call; the other plugins are not tested over gRPC.
M.protocols_http_only = typedefs.protocols_http {
  default = { "http", "https" },
  elements = { type = "string", one_of = { "http", "https" } },
}

M.printable_ascii = Schema.define {
  type = "string",
  match = "^[ -~]+$",
  err = "must be printable ASCII",
}

-- upstream-jwt: the key a token is signed with.

M.algorithm = Schema.define {
  description = "JWS algorithm of the upstream token.",
  type = "string",
  required = true,
  default = "HS256",
  one_of = M.ALGORITHMS,
}

M.secret = Schema.define {
  description = "HMAC secret for HS256/HS384/HS512: at least as many bytes as the hash "
             .. "output (32/48/64). Use a vault reference such as "
             .. "{vault://env/upstream-jwt-secret}.",
  type = "string",
  required = false,
  referenceable = true,
  encrypted = true,
}

M.secret_is_base64 = Schema.define {
  description = "Decode `secret` from base64 before use (for binary secrets).",
  type = "boolean",
  required = true,
  default = false,
}

M.private_key = Schema.define {
  description = "PEM private key for RS256/PS256 (RSA >= 2048 bits), ES256 (P-256) or "
             .. "EdDSA (Ed25519). Referenceable.",
  type = "string",
  required = false,
  referenceable = true,
  encrypted = true,
  custom_validator = validate_private_pem,
}

M.key_id = Schema.define {
  description = "Sent as the token header's `kid`, so services can pick the key.",
  type = "string",
  required = false,
}

-- The entity checks over the fields above, in the order upstream-jwt lists them (the order
-- of their messages when several fail).

M.hmac_needs_secret = { conditional = {
  if_field = "config.algorithm",
  if_match = { one_of = M.HMAC_ALGORITHMS },
  then_field = "config.secret",
  then_match = { required = true },
  then_err = spoken(M.HMAC_ALGORITHMS) .. " need 'config.secret'",
} }

M.asymmetric_needs_private_key = { conditional = {
  if_field = "config.algorithm",
  if_match = { one_of = M.ASYMMETRIC_ALGORITHMS },
  then_field = "config.private_key",
  then_match = { required = true },
  then_err = spoken(M.ASYMMETRIC_ALGORITHMS) .. " need 'config.private_key'",
} }

-- Refuse at config time what the handler would refuse on every request. A vault reference is
-- only resolved at request time, so it passes here and the handler fails closed if the
-- resolved value is unusable.
local function check_hmac_secret(entity)
  local config = entity.config
  local alg = config and config.algorithm
  local min = M.HMAC_MIN_BYTES[alg]
  local secret = config.secret
  if not min or type(secret) ~= "string" or M.is_reference(secret) then
    return true
  end
  local len = #secret
  if config.secret_is_base64 == true then
    local raw = ngx.decode_base64(secret)
    if not raw then
      return nil, "'config.secret' is not valid base64 (config.secret_is_base64 is true)"
    end
    len = #raw
  end
  if len < min then
    return nil, ("'config.secret' is %d bytes; %s needs at least %d")
                :format(len, alg, min)
  end
  return true
end

M.hmac_secret_length = { custom_entity_check = {
  field_sources = { "config.algorithm", "config.secret", "config.secret_is_base64" },
  fn = check_hmac_secret,
} }

local ASYMMETRIC = {}
for _, alg in ipairs(M.ASYMMETRIC_ALGORITHMS) do
  ASYMMETRIC[alg] = true
end

-- The key parsed for the configured algorithm: a truncated PEM, an RSA key under 2048 bits,
-- an EC key off P-256, an Ed448 key or a key of another type than the algorithm's is refused
-- here instead of on every request. A vault reference is left to request time. Kong looks up a check's failed fields by their dotted path, which does not find
-- a failed config.private_key, so a key the field validator refused is skipped here: its
-- message is the field's.
local function check_private_key_usable(entity)
  local config = entity.config
  local alg, pem = config and config.algorithm, config and config.private_key
  if not ASYMMETRIC[alg] or type(pem) ~= "string" or M.is_reference(pem)
     or not validate_private_pem(pem) then
    return true
  end
  return M.check_private_key("config.private_key", alg, pem)
end

M.private_key_usable = { custom_entity_check = {
  field_sources = { "config.algorithm", "config.private_key" },
  fn = check_private_key_usable,
} }

-- upstream-jwt-jwks: the public keys services verify those tokens with, one array element
-- per key (a private key publishes its public half). The field refuses only emptiness; the
-- entity check published_keys_usable parses each key with the algorithm named for it.

M.published_key = Schema.define {
  type = "string",
  referenceable = true,
  len_min = 1,
}

-- The kid a verifier matches against upstream-jwt's key_id.
M.published_key_id = M.printable_ascii

-- Only asymmetric keys are published: an HMAC secret is never public.
M.published_key_algorithm = Schema.define {
  type = "string",
  one_of = M.ASYMMETRIC_ALGORITHMS,
}

-- Each literal key parsed as the JWKS document would be built from it. An element that is a
-- vault reference is resolved only at request time, where the handler fails closed. When
-- the algorithms are not one per key the same_length check of the plugin says so, and which
-- algorithm belongs to which key is unknown, so the keys are not parsed. Kong runs this
-- check even when these fields failed their own validation (it looks their errors up by
-- dotted path), so an element of the wrong type is left to the field's message.
local function check_published_keys(entity)
  local config = entity.config
  local keys, algs = config and config.public_keys, config and config.algorithms
  if type(keys) ~= "table" then
    return true
  end
  if type(algs) ~= "table" then
    algs = {}
  end
  if #algs ~= 0 and #algs ~= #keys then
    return true
  end
  for i, pem in ipairs(keys) do
    local alg = algs[i]
    -- An algorithm outside the list is the algorithms field's own error.
    if alg ~= nil and not ASYMMETRIC[alg] then
      return true
    end
    if type(pem) == "string" and pem ~= "" and not M.is_reference(pem) then
      local ok, err = M.check_public_key("config.public_keys[" .. i .. "]", alg, pem)
      if not ok then
        return nil, err
      end
    end
  end
  return true
end

M.published_keys_usable = { custom_entity_check = {
  field_sources = { "config.public_keys", "config.algorithms" },
  fn = check_published_keys,
} }

return M
