-- Configuration of the upstream-oauth2 plugin: an access token obtained from an authorization
-- server (client credentials, RFC 6749 §4.4, or token exchange, RFC 8693), cached per node or
-- cluster-wide in Redis, and sent upstream.
local typedefs = require "kong.db.schema.typedefs"
local plugin_typedefs = require "kong.plugins.upstream-jwt.typedefs"

-- Form parameters the plugin owns: letting `token_post_args` set them would silently change the
-- grant or the client authentication the operator chose.
local RESERVED_ARGS = {
  grant_type = true, client_id = true, client_secret = true, client_assertion = true,
  client_assertion_type = true, scope = true, audience = true, resource = true,
  subject_token = true, subject_token_type = true, actor_token = true, actor_token_type = true,
  requested_token_type = true,
}
-- Headers the plugin owns on the token request.
local RESERVED_HEADERS = {
  authorization = true, ["content-type"] = true, ["content-length"] = true, host = true,
  ["transfer-encoding"] = true, connection = true,
}

local HEADER_NAME = "^[%w!#$%%&'*+.^_`|~-]+$" -- RFC 9110 token

local CLIENT_CREDENTIALS = "client_credentials"
local TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
local HMAC_ALGS = { HS256 = true, HS384 = true, HS512 = true }

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

local function check_url(url, schemes)
  -- userinfo in the URL would put a credential where it gets logged and cached as a key
  local scheme, authority = url:match("^(https?)://([^/?#]+)")
  if not scheme or (schemes and not schemes[scheme]) then
    return nil, schemes and "must be an absolute http:// URL"
                or "must be an absolute http:// or https:// URL"
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

-- lua-resty-http speaks plain HTTP to a proxy (CONNECT for https targets); credentials go in
-- the *_proxy_authorization fields, never in the URL.
local function check_proxy_url(url)
  local ok, err = check_url(url, { http = true })
  if not ok then
    return nil, err .. " (the proxy is reached over plain HTTP; https targets go through CONNECT)"
  end
  return true
end

local function check_config(config)
  local auth = config.client_auth
  local secret = config.client_secret
  local alg = config.client_assertion_algorithm
  if auth == "private_key_jwt" then
    if not is_string(config.private_key) then
      return nil, "private_key is required when client_auth is private_key_jwt"
    end
    if HMAC_ALGS[alg] then
      return nil, "private_key_jwt signs with RS256, ES256 or EdDSA, not " .. alg
    end
    -- The key the client assertion is signed with, parsed for its algorithm (RS256 unless
    -- named, as the token client signs). A vault reference is resolved and checked per request.
    if not plugin_typedefs.is_reference(config.private_key) then
      local ok, err = plugin_typedefs.check_private_key("config.private_key",
                                                        is_string(alg) and alg or "RS256",
                                                        config.private_key)
      if not ok then
        return nil, err
      end
    end
  else
    if not is_string(secret) then
      return nil, "client_secret is required when client_auth is " .. tostring(auth)
    end
    if auth == "client_secret_jwt" and is_string(alg) and not HMAC_ALGS[alg] then
      return nil, "client_secret_jwt signs with HS256, HS384 or HS512"
    end
  end

  if config.grant_type == TOKEN_EXCHANGE then
    if not is_string(config.subject_token_source) then
      return nil, "subject_token_source is required for token exchange"
    end
    if is_string(config.actor_token_type) and not is_string(config.actor_token) then
      return nil, "actor_token_type needs actor_token"
    end
  else
    for _, f in ipairs({ "subject_token_source", "subject_token_type", "actor_token",
                         "actor_token_type", "requested_token_type" }) do
      if is_string(config[f]) then
        return nil, f .. " applies to grant_type " .. TOKEN_EXCHANGE .. " only"
      end
    end
  end

  if is_string(config.http_proxy_authorization) and not is_string(config.http_proxy) then
    return nil, "http_proxy_authorization needs http_proxy"
  end
  if is_string(config.https_proxy_authorization) and not is_string(config.https_proxy) then
    return nil, "https_proxy_authorization needs https_proxy"
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

local function timeout_field(default, what)
  return { type = "integer", required = true, default = default, between = { 1, 600000 },
           description = what .. " timeout in milliseconds." }
end

local function redis_timeout(what)
  return { type = "integer", required = true, default = 2000, between = { 1, 600000 },
           description = "Redis " .. what .. " timeout in milliseconds." }
end

-- Cluster-wide token cache (cache.strategy = redis): one token per token request for every node.
local REDIS = {
  type = "record",
  required = true,
  fields = {
    { host = { type = "string", required = true, default = "127.0.0.1", len_min = 1,
               description = "Redis host name or IP address." } },
    { port = { type = "integer", required = true, default = 6379, between = { 1, 65535 },
               description = "Redis TCP port." } },
    { database = { type = "integer", required = true, default = 0, between = { 0, 65535 },
                   description = "Redis database number (SELECT)." } },
    { username = { type = "string", required = false, len_min = 1, referenceable = true,
                   description = "Redis 6 ACL user name; without it AUTH sends the password only." } },
    { password = { type = "string", required = false, referenceable = true, encrypted = true,
                   description = "Redis password (AUTH); a vault reference is recommended." } },
    { ssl = { type = "boolean", required = true, default = false,
              description = "Connect to Redis over TLS." } },
    { ssl_verify = { type = "boolean", required = true, default = true,
                     description = "Verify the Redis server certificate (TLS only)." } },
    { server_name = { type = "string", required = false, len_min = 1,
                      description = "SNI and certificate name for Redis over TLS." } },
    { connect_timeout = redis_timeout("connect") },
    { send_timeout = redis_timeout("send") },
    { read_timeout = redis_timeout("read") },
    { keepalive_pool_size = { type = "integer", required = true, default = 32,
                              between = { 1, 10000 },
                              description = "Idle Redis connections kept per worker." } },
  },
}

return {
  name = "upstream-oauth2",
  fields = {
    -- Nothing here is tested over gRPC, so gRPC routes are not offered.
    { protocols = plugin_typedefs.protocols_http_only },
    { config = {
        type = "record",
        fields = {
          { token_endpoint = { type = "string", required = true, custom_validator = check_url,
                               description = "Absolute http(s) URL of the token endpoint." } },
          -- Vault references resolve at runtime; one that fails arrives as "" and the handler
          -- refuses to proceed.
          { client_id = { type = "string", required = true, len_min = 1, referenceable = true,
                          description = "The gateway's OAuth2 client identifier." } },
          { client_secret = { type = "string", required = false, referenceable = true,
                              encrypted = true,
                              description = "Client secret (every method but private_key_jwt)." } },
          { client_auth = { type = "string", required = true, default = "client_secret_basic",
                            one_of = { "client_secret_basic", "client_secret_post",
                                       "client_secret_jwt", "private_key_jwt" },
                            description = "How the gateway authenticates to the token endpoint." } },
          { grant_type = { type = "string", required = true, default = CLIENT_CREDENTIALS,
                           one_of = { CLIENT_CREDENTIALS, TOKEN_EXCHANGE },
                           description = "client_credentials, or RFC 8693 token exchange "
                                         .. "for the request's subject." } },
          -- RFC 7523 assertion settings (client_secret_jwt / private_key_jwt only).
          { client_assertion_algorithm = { type = "string", required = false,
                                           one_of = { "HS256", "HS384", "HS512", "RS256",
                                                      "ES256", "EdDSA" },
                                           description = "Client assertion algorithm." } },
          { private_key = { type = "string", required = false, referenceable = true,
                            encrypted = true,
                            description = "PEM private key for private_key_jwt." } },
          { key_id = { type = "string", required = false, len_min = 1,
                       description = "kid in the client assertion header." } },
          { client_assertion_audience = { type = "string", required = false, len_min = 1,
                                          description = "aud of the client assertion "
                                                        .. "(default: token_endpoint)." } },
          { client_assertion_ttl = { type = "integer", required = true, default = 60,
                                     between = { 1, 3600 },
                                     description = "Client assertion lifetime in seconds." } },
          -- What the token is for.
          { scopes = { type = "array", required = false,
                       elements = { type = "string", len_min = 1,
                                    custom_validator = check_scope_token },
                       description = "Scopes requested, sent space-separated as scope." } },
          { audience = { type = "array", required = false,
                         elements = { type = "string", len_min = 1 },
                         description = "Audiences requested, one audience parameter each." } },
          { resource = { type = "array", required = false,
                         elements = { type = "string", custom_validator = check_url },
                         description = "RFC 8707 resource indicators, one parameter each." } },
          { token_post_args = { type = "map", required = false,
                                keys = { type = "string", len_min = 1 },
                                values = { type = "string", referenceable = true },
                                custom_validator = function(m)
                                  return check_reserved(m, RESERVED_ARGS, "form argument")
                                end,
                                description = "Extra form parameters of the token request." } },
          { token_headers = { type = "map", required = false,
                              keys = { type = "string", match = HEADER_NAME },
                              values = { type = "string", match = "^[^\r\n]*$",
                                         referenceable = true },
                              custom_validator = function(m)
                                return check_reserved(m, RESERVED_HEADERS, "header")
                              end,
                              description = "Extra headers of the token request." } },
          -- RFC 8693 token exchange (grant_type = token exchange only).
          { subject_token_source = { type = "string", required = false,
                                     one_of = { "consumer_bearer", "upstream_jwt" },
                                     description = "Where the subject_token comes from: the "
                                                   .. "client's bearer token, or upstream-jwt's "
                                                   .. "token for this request." } },
          { upstream_jwt_header = header_name_field("X-Upstream-JWT") },
          { subject_token_type = { type = "string", required = false, len_min = 1,
                                   description = "subject_token_type URI (default: jwt for "
                                                 .. "upstream_jwt, access_token otherwise)." } },
          { actor_token = { type = "string", required = false, referenceable = true,
                            encrypted = true,
                            description = "RFC 8693 actor_token sent with every exchange." } },
          { actor_token_type = { type = "string", required = false, len_min = 1,
                                 description = "actor_token_type URI (default: jwt)." } },
          { requested_token_type = { type = "string", required = false, len_min = 1,
                                     description = "requested_token_type URI, if any." } },
          { exchange_cache_size = { type = "integer", required = true, default = 1000,
                                    between = { 1, 1000000 },
                                    description = "Exchanged tokens cached per worker, by "
                                                  .. "subject (least recently used first out)." } },
          -- Token endpoint connection (milliseconds).
          { connect_timeout = timeout_field(5000, "Token endpoint connect") },
          { send_timeout = timeout_field(5000, "Token endpoint send") },
          { read_timeout = timeout_field(10000, "Token endpoint read") },
          { ssl_verify = { type = "boolean", required = true, default = true,
                           description = "Verify the token endpoint's TLS certificate." } },
          -- Egress proxy (lua-resty-http's proxy options).
          { http_proxy = { type = "string", required = false, custom_validator = check_proxy_url,
                           description = "Forward proxy for an http:// token endpoint." } },
          { https_proxy = { type = "string", required = false, custom_validator = check_proxy_url,
                            description = "Proxy for an https:// token endpoint (CONNECT)." } },
          { no_proxy = { type = "string", required = false, match = "^[^%s]+$",
                         description = "Comma-separated hosts reached directly, or *." } },
          { http_proxy_authorization = { type = "string", required = false, referenceable = true,
                                         encrypted = true,
                                         description = "Proxy-Authorization for http_proxy." } },
          { https_proxy_authorization = { type = "string", required = false,
                                          referenceable = true, encrypted = true,
                                          description = "Proxy-Authorization for the CONNECT "
                                                        .. "to https_proxy." } },
          -- Cache policy (seconds).
          { refresh_before = { type = "integer", required = true, default = 30,
                               between = { 0, 86400 },
                               description = "Stop using a token this many seconds before "
                                             .. "it expires." } },
          { default_expires_in = { type = "integer", required = true, default = 300,
                                   between = { 1, 86400 },
                                   description = "Lifetime assumed without expires_in." } },
          { purge_on_upstream_status = { type = "array", required = true, default = { 401 },
                                         elements = { type = "integer",
                                                      between = { 100, 599 } },
                                         description = "Upstream statuses that discard the "
                                                       .. "cached token." } },
          { cache = { type = "record", required = true, fields = {
              { strategy = { type = "string", required = true, default = "memory",
                             one_of = { "memory", "redis" },
                             description = "memory: per node; redis: shared by every node." } },
              { redis = REDIS },
            } } },
          -- What the client gets when no token can be had.
          { error_response_status = { type = "integer", required = false, between = { 500, 599 },
                                      description = "Status for every token failure "
                                                    .. "(default: 500, 502 or 503 by cause)." } },
          { error_response_message = { type = "string", required = false, len_min = 1,
                                       len_max = 1024,
                                       description = "message of the JSON error body "
                                                     .. "(default: one per status)." } },
          -- What the upstream receives.
          { header = header_name_field("Authorization") },
          { consumer_authorization = { type = "string", required = true, default = "move",
                                       one_of = { "move", "keep", "remove" },
                                       description = "What happens to the client's own "
                                                     .. "Authorization header." } },
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
