-- Configuration of the upstream-jwt plugin (Kong 3.x schema DSL). The signing-key fields and
-- their entity checks are defined in kong.plugins.upstream-jwt.typedefs, which
-- upstream-jwt-jwks publishes the matching public keys with.
local typedefs = require "kong.db.schema.typedefs"
local plugin_typedefs = require "kong.plugins.upstream-jwt.typedefs"

local type = type

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

-- RFC 9110 token: a field name, or an auth scheme.
local TOKEN = "^[%w!#%$%%&'%*%+%-%.%^_`|~]+$"

-- Lua patterns have no case-insensitive flag: "Via" -> "^[Vv][Ii][Aa]$".
local RESERVED_HEADER_MATCH = {}
for i, name in ipairs(RESERVED_HEADERS) do
  local pattern = name:gsub("%-", "%%-"):gsub("%a", function(c)
    return "[" .. c:upper() .. c:lower() .. "]"
  end)
  RESERVED_HEADER_MATCH[i] = { pattern = "^" .. pattern .. "$", err = "must not be '" .. name .. "'" }
end

-- The plugin removes the other '_'/'-' spellings of a bound header, so a
-- name is refused when it folds ('_' read as '-', any case) into a refused
-- one.
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

return {
  name = "upstream-jwt",
  fields = {
    { consumer = typedefs.no_consumer },
    -- HTTP only: the body is read whole in access to hash it, which would
    -- break a streaming gRPC call.
    { protocols = plugin_typedefs.protocols_http_only },
    { config = {
        type = "record",
        fields = {
          { algorithm = plugin_typedefs.algorithm },
          { secret = plugin_typedefs.secret },
          { secret_is_base64 = plugin_typedefs.secret_is_base64 },
          { private_key = plugin_typedefs.private_key },
          { key_id = plugin_typedefs.key_id },
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
              match = TOKEN,
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
          { format = {
              description = "`jwt`: the signed token in `header`. `http-message-signature`: "
                         .. "RFC 9421 `Signature-Input`/`Signature` headers and an RFC 9530 "
                         .. "`Content-Digest` instead (algorithms HS256, RS256, PS256, ES256, "
                         .. "EdDSA sign hmac-sha256, rsa-v1_5-sha256, rsa-pss-sha512, "
                         .. "ecdsa-p256-sha256, ed25519).",
              type = "string",
              required = true,
              default = "jwt",
              one_of = { "jwt", "http-message-signature" },
          } },
          { signature_label = {
              description = "http-message-signature: the label of the signature in "
                         .. "`Signature-Input` and `Signature`.",
              type = "string",
              required = true,
              default = "kong",
              match = "^[a-z*][a-z0-9_%-%.%*]*$",
              err = "must be a structured-field key: lowercase letters, digits, '_', '-', '.', '*'",
          } },
          { signature_tag = plugin_typedefs.printable_ascii {
              description = "http-message-signature: the `tag` parameter, so services can tell "
                         .. "this gateway's signatures from others. None by default.",
              required = false,
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
    plugin_typedefs.hmac_needs_secret,
    plugin_typedefs.asymmetric_needs_private_key,
    plugin_typedefs.hmac_secret_length,
    plugin_typedefs.private_key_usable,
    { custom_entity_check = {
        field_sources = { "config.bind_headers", "config.header" },
        fn = check_bind_headers,
    } },
    { conditional = {
        if_field = "config.format",
        if_match = { eq = "http-message-signature" },
        then_field = "config.algorithm",
        then_match = { one_of = { "HS256", "RS256", "PS256", "ES256", "EdDSA" } },
        then_err = "http-message-signature signs with HS256, RS256, PS256, ES256 or EdDSA "
                .. "(RFC 9421 has no HMAC-SHA-384/512 algorithm)",
    } },
  },
}
