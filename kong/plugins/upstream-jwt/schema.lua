-- Configuration of the upstream-jwt plugin (Kong 3.x schema DSL).
local typedefs = require "kong.db.schema.typedefs"

local type = type
local byte = string.byte
local sub = string.sub

local HMAC_MIN_BYTES = { HS256 = 32, HS384 = 48, HS512 = 64 }

local ALGORITHMS = { "HS256", "HS384", "HS512", "RS256", "PS256", "ES256", "EdDSA" }

-- Names the token always owns; a static claim may not shadow them, or a
-- service could be fed a forged identity or request binding from config.
local REGISTERED_CLAIMS = {
  "iss", "aud", "iat", "nbf", "exp", "jti", "sub", "consumer", "credential",
  "htm", "htu", "query_sha256", "body_sha256",
}

-- Headers the token must never be put in: those that frame the request, and
-- those Kong's nginx template sets with proxy_set_header, which replaces
-- whatever a plugin set, so the token would silently never reach the service.
local RESERVED_HEADERS = {
  "Host", "Content-Length", "Transfer-Encoding", "Connection", "TE", "Via", "Upgrade",
  "X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "X-Forwarded-Port",
  "X-Forwarded-Path", "X-Forwarded-Prefix", "X-Real-IP", "X-Kong-Request-Id",
}

-- A bound header must reach the upstream as the client (or an earlier
-- plugin) set it: nginx's proxy module rewrites the framing and hop-by-hop
-- headers, Kong's template the rest of RESERVED_HEADERS, and the body is
-- bound by body_sha256 already.
local UNBINDABLE_HEADERS = { "Keep-Alive", "Expect" }
for _, name in ipairs(RESERVED_HEADERS) do
  UNBINDABLE_HEADERS[#UNBINDABLE_HEADERS + 1] = name
end

-- RFC 9110 field name (token).
local TOKEN = "^[%w!#%$%%&'%*%+%-%.%^_`|~]+$"

-- Lua patterns have no case-insensitive flag: "Via" -> "^[Vv][Ii][Aa]$".
local RESERVED_HEADER_MATCH = {}
for i, name in ipairs(RESERVED_HEADERS) do
  local pattern = name:gsub("%-", "%%-"):gsub("%a", function(c)
    return "[" .. c:upper() .. c:lower() .. "]"
  end)
  RESERVED_HEADER_MATCH[i] = { pattern = "^" .. pattern .. "$", err = "must not be '" .. name .. "'" }
end

-- The plugin removes the underscore spellings of a bound header, so a name
-- is refused when it folds ('_' read as '-', any case) into a refused one.
local UNBINDABLE_FOLDED = {}
for _, name in ipairs(UNBINDABLE_HEADERS) do
  UNBINDABLE_FOLDED[name:lower()] = name
end

local function fold(name)
  local f = name:lower():gsub("_", "-")
  return f
end

local function validate_bind_headers(list)
  local seen = {}
  for _, name in ipairs(list) do
    local f = fold(name)
    local refused = UNBINDABLE_FOLDED[f]
    if refused then
      return nil, "'" .. name .. "' cannot be bound: the upstream receives '" .. refused
                  .. "' as nginx or Kong sets it"
    end
    if seen[f] then
      return nil, "'" .. name .. "' is listed twice (names are compared case-insensitively, "
                  .. "'_' as '-')"
    end
    seen[f] = true
  end
  return true
end

-- The token header cannot be bound into its own token.
local function check_bind_headers(entity)
  local config = entity.config
  local list, header = config and config.bind_headers, config and config.header
  if type(list) ~= "table" or type(header) ~= "string" then
    return true
  end
  for _, name in ipairs(list) do
    if type(name) == "string" and fold(name) == fold(header) then
      return nil, "'config.bind_headers' cannot contain the token header '" .. header .. "'"
    end
  end
  return true
end

-- Kong's kong.vault.is_reference, inlined so the schema loads outside Kong.
local function is_reference(v)
  return type(v) == "string" and byte(v, 1) == 123 and byte(v, -1) == 125
     and sub(v, 2, 8) == "vault:/"
end

-- Refuse at config time what the handler would refuse on every request. A
-- vault reference is only resolved at request time, so it passes here and
-- the handler fails closed if the resolved value is unusable.
local function check_hmac_secret(entity)
  local config = entity.config
  local alg = config and config.algorithm
  local min = HMAC_MIN_BYTES[alg]
  local secret = config.secret
  if not min or type(secret) ~= "string" or is_reference(secret) then
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

-- Structural check only: the key itself is parsed by the native library at
-- first use, where an unusable key fails closed with a 500.
local function validate_pem(value)
  if value:find("-----BEGIN ", 1, true) and value:find("PRIVATE KEY-----", 1, true) then
    return true
  end
  return nil, "expected a PEM private key (-----BEGIN ... PRIVATE KEY-----)"
end

return {
  name = "upstream-jwt",
  fields = {
    { consumer = typedefs.no_consumer },
    -- HTTP only: the body is read whole in access to hash it, which would
    -- break a streaming gRPC call.
    { protocols = typedefs.protocols_http {
        default = { "http", "https" },
        elements = { type = "string", one_of = { "http", "https" } },
    } },
    { config = {
        type = "record",
        fields = {
          { algorithm = {
              description = "JWS algorithm of the upstream token.",
              type = "string",
              required = true,
              default = "HS256",
              one_of = ALGORITHMS,
          } },
          { secret = {
              description = "HMAC secret for HS256/HS384/HS512: at least as many bytes as the hash "
                         .. "output (32/48/64). Use a vault reference such as "
                         .. "{vault://env/upstream-jwt-secret}.",
              type = "string",
              required = false,
              referenceable = true,
              encrypted = true,
          } },
          { secret_is_base64 = {
              description = "Decode `secret` from base64 before use (for binary secrets).",
              type = "boolean",
              required = true,
              default = false,
          } },
          { private_key = {
              description = "PEM private key for RS256/PS256 (RSA >= 2048 bits), ES256 (P-256) or "
                         .. "EdDSA (Ed25519). Referenceable.",
              type = "string",
              required = false,
              referenceable = true,
              encrypted = true,
              custom_validator = validate_pem,
          } },
          { key_id = {
              description = "Sent as the token header's `kid`, so services can pick the key.",
              type = "string",
              required = false,
          } },
          { issuer = {
              description = "The `iss` claim.",
              type = "string",
              required = true,
              default = "kong",
          } },
          { audience = {
              description = "The `aud` claim; when unset, the Kong service's name, else its host.",
              type = "string",
              required = false,
          } },
          { ttl = {
              description = "Token lifetime in seconds (`exp` = `iat` + ttl).",
              type = "integer",
              required = true,
              default = 60,
              between = { 1, 3600 },
          } },
          { header = typedefs.header_name {
              description = "Upstream request header that carries the token. A client-supplied "
                         .. "header of this name is replaced.",
              required = true,
              default = "X-Upstream-JWT",
              match_none = RESERVED_HEADER_MATCH,
          } },
          { header_prefix = {
              description = "Scheme written before the token, e.g. `Bearer` gives "
                         .. "`Bearer <token>`. None by default.",
              type = "string",
              required = false,
              match = "^[%w!#%$%%&'%*%+%-%.%^_`|~]+$",
              err = "must be a single token without spaces (e.g. 'Bearer')",
          } },
          { include_consumer = {
              description = "Add `sub` and `consumer` {id, username, custom_id} when a consumer is "
                         .. "identified.",
              type = "boolean",
              required = true,
              default = true,
          } },
          { include_credential = {
              description = "Add `credential` {id} when the consumer authenticated with a credential.",
              type = "boolean",
              required = true,
              default = true,
          } },
          { bind_request = {
              description = "Add `htm`, `htu` and `query_sha256` (method, path and query sent "
                         .. "upstream).",
              type = "boolean",
              required = true,
              default = true,
          } },
          { include_body_digest = {
              description = "Add `body_sha256` over the exact body sent upstream.",
              type = "boolean",
              required = true,
              default = true,
          } },
          { max_body_size = {
              description = "Largest body, in bytes, the plugin hashes; a larger request is "
                         .. "refused with 413 rather than sent unsigned.",
              type = "integer",
              required = true,
              default = 8388608,
              between = { 0, 2147483647 },
          } },
          { bind_headers = {
              description = "Request headers bound into the token: `hdrs` lists their "
                         .. "lowercased names in this order and `hdr_sha256` is base64url(SHA-256) "
                         .. "of one `name:value\\n` line per name (every value of a repeated header, "
                         .. "trimmed, joined with `, `; empty when absent), over the headers the "
                         .. "upstream receives. Other '_'/'-' spellings of these names are removed. "
                         .. "Bind headers the service acts on, e.g. `Content-Type` or "
                         .. "`X-HTTP-Method-Override`.",
              type = "array",
              required = true,
              default = {},
              elements = {
                type = "string",
                match = TOKEN,
                err = "must be an HTTP header name (RFC 9110 token)",
              },
              custom_validator = validate_bind_headers,
          } },
          { claims = {
              description = "Static extra claims (string values) appended after the registered ones; "
                         .. "they cannot override them.",
              type = "map",
              required = false,
              keys = {
                type = "string",
                not_one_of = REGISTERED_CLAIMS,
              },
              values = {
                type = "string",
                len_min = 0,
              },
          } },
        },
      },
    },
  },
  entity_checks = {
    { conditional = {
        if_field = "config.algorithm",
        if_match = { one_of = { "HS256", "HS384", "HS512" } },
        then_field = "config.secret",
        then_match = { required = true },
        then_err = "HS256, HS384 and HS512 need 'config.secret'",
    } },
    { conditional = {
        if_field = "config.algorithm",
        if_match = { one_of = { "RS256", "PS256", "ES256", "EdDSA" } },
        then_field = "config.private_key",
        then_match = { required = true },
        then_err = "RS256, PS256, ES256 and EdDSA need 'config.private_key'",
    } },
    { custom_entity_check = {
        field_sources = { "config.algorithm", "config.secret", "config.secret_is_base64" },
        fn = check_hmac_secret,
    } },
    { custom_entity_check = {
        field_sources = { "config.bind_headers", "config.header" },
        fn = check_bind_headers,
    } },
  },
}
