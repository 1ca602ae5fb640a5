-- Configuration of the upstream-oauth2 plugin: a client-credentials (RFC 6749 §4.4) access token
-- obtained from an authorization server, cached per node and sent upstream.
local typedefs = require "kong.db.schema.typedefs"

-- Form parameters the plugin owns: letting `token_post_args` set them would silently change the
-- grant or the client authentication the operator chose.
local RESERVED_ARGS = {
  grant_type = true, client_id = true, client_secret = true, client_assertion = true,
  client_assertion_type = true, scope = true, audience = true, resource = true,
}
-- Headers the plugin owns on the token request.
local RESERVED_HEADERS = {
  authorization = true, ["content-type"] = true, ["content-length"] = true, host = true,
  ["transfer-encoding"] = true, connection = true,
}

local HEADER_NAME = "^[%w!#$%%&'*+.^_`|~-]+$" -- RFC 9110 token

local function header_name_field(default)
  return typedefs.header_name { required = true, default = default }
end

-- Unset optional fields reach entity checks as null (ngx.null in Kong), not nil.
local function is_string(v)
  return type(v) == "string"
end

local function check_reserved(map, reserved, what)
  if type(map) ~= "table" then
    return true
  end
  for k in pairs(map) do
    if reserved[string.lower(k)] then
      return nil, what .. " '" .. k .. "' is set by the plugin and cannot be overridden"
    end
  end
  return true
end

-- RFC 6749 §3.3 scope-token: %x21 / %x23-5B / %x5D-7E (no space, quote or backslash)
local function check_scope_token(s)
  for i = 1, #s do
    local b = s:byte(i)
    if b < 0x21 or b > 0x7E or b == 0x22 or b == 0x5C then
      return nil, "invalid scope token (RFC 6749 §3.3): no spaces, quotes or backslashes"
    end
  end
  return true
end

local function check_url(url)
  -- userinfo in the URL would put a credential where it gets logged and cached as a key
  local scheme, authority = url:match("^(https?)://([^/?#]+)")
  if not scheme then
    return nil, "must be an absolute http:// or https:// URL"
  end
  if authority:find("@", 1, true) then
    return nil, "must not contain userinfo (use client_id/client_secret)"
  end
  if url:find("#", 1, true) then
    return nil, "must not contain a fragment"
  end
  if url:find("[%s%c]") then
    -- it goes verbatim into the request line
    return nil, "must not contain whitespace or control characters"
  end
  return true
end

local function check_config(config)
  local auth = config.client_auth
  local secret = config.client_secret
  if auth == "private_key_jwt" then
    if not is_string(config.private_key) then
      return nil, "private_key is required when client_auth is private_key_jwt"
    end
    if config.client_assertion_algorithm == "HS256" then
      return nil, "private_key_jwt signs with RS256, ES256 or EdDSA, not HS256"
    end
  else
    if not is_string(secret) then
      return nil, "client_secret is required when client_auth is " .. tostring(auth)
    end
    if auth == "client_secret_jwt" then
      local alg = config.client_assertion_algorithm
      if is_string(alg) and alg ~= "HS256" then
        return nil, "client_secret_jwt signs with HS256"
      end
    end
  end

  if config.consumer_authorization == "keep"
     and string.lower(config.header or "") == "authorization" then
    return nil, "consumer_authorization 'keep' needs a header other than Authorization "
             .. "(the access token would replace it)"
  end
  if string.lower(config.consumer_authorization_header or "") == "authorization" then
    -- it is cleared on every request: that would drop the consumer's credential in every mode
    return nil, "consumer_authorization_header cannot be Authorization"
  end
  if config.consumer_authorization == "move"
     and string.lower(config.consumer_authorization_header or "")
         == string.lower(config.header or "") then
    return nil, "consumer_authorization_header must differ from header"
  end
  return true
end

return {
  name = "upstream-oauth2",
  fields = {
    -- Nothing here is tested over gRPC, so gRPC routes are not offered.
    { protocols = typedefs.protocols_http {
        default = { "http", "https" },
        elements = { type = "string", one_of = { "http", "https" } },
    } },
    { config = {
        type = "record",
        fields = {
          { token_endpoint = { type = "string", required = true, custom_validator = check_url } },
          { client_id = { type = "string", required = true, len_min = 1 } },
          -- Vault references resolve at runtime; one that fails arrives as "" and the handler
          -- refuses to proceed.
          { client_secret = { type = "string", required = false, referenceable = true,
                              encrypted = true } },
          { client_auth = { type = "string", required = true, default = "client_secret_basic",
                            one_of = { "client_secret_basic", "client_secret_post",
                                       "client_secret_jwt", "private_key_jwt" } } },
          -- RFC 7523 assertion settings (client_secret_jwt / private_key_jwt only).
          { client_assertion_algorithm = { type = "string", required = false,
                                           one_of = { "HS256", "RS256", "ES256", "EdDSA" } } },
          { private_key = { type = "string", required = false, referenceable = true,
                            encrypted = true } },
          { key_id = { type = "string", required = false, len_min = 1 } },
          { client_assertion_audience = { type = "string", required = false, len_min = 1 } },
          { client_assertion_ttl = { type = "integer", required = true, default = 60,
                                     between = { 1, 3600 } } },
          -- What the token is for.
          { scopes = { type = "array", required = false,
                       elements = { type = "string", len_min = 1,
                                    custom_validator = check_scope_token } } },
          { audience = { type = "string", required = false, len_min = 1 } },
          { resource = { type = "array", required = false,
                         elements = { type = "string", custom_validator = check_url } } },
          { token_post_args = { type = "map", required = false,
                                keys = { type = "string", len_min = 1 },
                                values = { type = "string" },
                                custom_validator = function(m)
                                  return check_reserved(m, RESERVED_ARGS, "form argument")
                                end } },
          { token_headers = { type = "map", required = false,
                              keys = { type = "string", match = HEADER_NAME },
                              values = { type = "string", match = "^[^\r\n]*$" },
                              custom_validator = function(m)
                                return check_reserved(m, RESERVED_HEADERS, "header")
                              end } },
          -- Token endpoint connection (milliseconds).
          { connect_timeout = { type = "integer", required = true, default = 5000,
                                between = { 1, 600000 } } },
          { send_timeout = { type = "integer", required = true, default = 5000,
                             between = { 1, 600000 } } },
          { read_timeout = { type = "integer", required = true, default = 10000,
                             between = { 1, 600000 } } },
          { ssl_verify = { type = "boolean", required = true, default = true } },
          -- Cache policy (seconds).
          { refresh_before = { type = "integer", required = true, default = 30,
                               between = { 0, 86400 } } },
          { default_expires_in = { type = "integer", required = true, default = 300,
                                   between = { 1, 86400 } } },
          { purge_on_upstream_status = { type = "array", required = true, default = { 401 },
                                         elements = { type = "integer",
                                                      between = { 100, 599 } } } },
          -- What the upstream receives.
          { header = header_name_field("Authorization") },
          { consumer_authorization = { type = "string", required = true, default = "move",
                                       one_of = { "move", "keep", "remove" } } },
          { consumer_authorization_header = header_name_field("X-Consumer-Authorization") },
        },
      },
    },
  },
  entity_checks = {
    { custom_entity_check = {
        field_sources = { "config" },
        fn = function(entity)
          return check_config(entity.config)
        end,
    } },
  },
}
