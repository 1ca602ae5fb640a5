-- The token request: RFC 6749 §4.4 client credentials grant or RFC 8693 token exchange, with the
-- four client authentication methods of OpenID Connect Core §9 / RFC 7523, optionally through an
-- egress proxy, and strict parsing of the answer.
--
-- Errors are returned as tables { status = <HTTP status for the client>, message = <log text> }.
-- Messages never contain the client secret, the private key, the assertion or the token.
local cjson = require "cjson.safe"
local http = require "resty.http"
local lrucache = require "resty.lrucache"

local ngx = ngx
local type = type
local tostring = tostring
local tonumber = tonumber
local concat = table.concat
local sort = table.sort
local byte = string.byte
local format = string.format
local lower = string.lower
local encode_base64 = ngx.encode_base64

local _M = {}

local ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
local TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
local TOKEN_TYPE_JWT = "urn:ietf:params:oauth:token-type:jwt"
local TOKEN_TYPE_ACCESS = "urn:ietf:params:oauth:token-type:access_token"
_M.TOKEN_EXCHANGE = TOKEN_EXCHANGE
local MAX_RESPONSE_BYTES = 65536
local MAX_TOKEN_BYTES = 16384
local MAX_LOGGED_ERROR = 200

-- 503: the authorization server is unreachable or says it is overloaded: retrying later helps.
-- 502: it answered, but not with something we can use.
-- 500: our own configuration is unusable (unresolved vault reference, bad key).
_M.UNAVAILABLE = 503
_M.BAD_GATEWAY = 502
_M.MISCONFIGURED = 500

local function fail(status, message)
  return nil, { status = status, message = message }
end

local native_mod
local function native()
  -- Loaded lazily so that a missing native library shows up as a request error with a clear
  -- log line (and the schema stays loadable by tooling that never signs).
  if not native_mod then
    native_mod = require "kong.plugins.upstream-jwt.native"
  end
  return native_mod
end

-- RFC 3986 unreserved characters pass, everything else is percent-encoded. Used for the form body
-- and for RFC 6749 §2.3.1, which requires client_id and secret to be form-encoded before
-- base64 in the Basic header.
local function form_encode(s)
  return (s:gsub("[^%w%-%._~]", function(c)
    return format("%%%02X", byte(c))
  end))
end
_M.form_encode = form_encode

local function is_set(v)
  return v ~= nil and v ~= ngx.null
end

local function sorted_keys(map)
  local keys = {}
  if is_set(map) then
    for k in pairs(map) do
      keys[#keys + 1] = k
    end
  end
  sort(keys)
  return keys
end

-- The endpoint as it may appear in logs: scheme, authority and path only (a query string could
-- carry anything).
local function loggable_url(url)
  return (url:match("^([^?#]*)")) or "?"
end
_M.loggable_url = loggable_url

local function assertion_alg(conf)
  if is_set(conf.client_assertion_algorithm) then
    return conf.client_assertion_algorithm
  end
  return conf.client_auth == "client_secret_jwt" and "HS256" or "RS256"
end

local function is_hmac(alg)
  return alg:sub(1, 2) == "HS"
end

local function list(v)
  return is_set(v) and v or {}
end

-- RFC 8693 §2.1 parameters of an exchange, in the order they are sent.
local function exchange_params(conf, subject_token)
  local default_type = conf.subject_token_source == "upstream_jwt" and TOKEN_TYPE_JWT
                       or TOKEN_TYPE_ACCESS
  local p = {
    { "subject_token", subject_token },
    { "subject_token_type", is_set(conf.subject_token_type) and conf.subject_token_type
                            or default_type },
  }
  if is_set(conf.actor_token) then
    p[#p + 1] = { "actor_token", conf.actor_token }
    p[#p + 1] = { "actor_token_type", is_set(conf.actor_token_type) and conf.actor_token_type
                                      or TOKEN_TYPE_JWT }
  end
  if is_set(conf.requested_token_type) then
    p[#p + 1] = { "requested_token_type", conf.requested_token_type }
  end
  return p
end

-- Everything that changes the token request, and nothing else, in a length-prefixed canonical
-- form: two configs share a cached token exactly when the authorization server would see the
-- same request. Timeouts, TLS verification, cache policy and upstream-side settings are left out
-- on purpose. The secret and key take part (hashed, never stored), so a vault rotation starts a
-- new cache entry instead of reusing a token obtained with the old credential.
function _M.request_key(conf)
  local parts = {}
  local function add(name, v)
    if not is_set(v) then
      parts[#parts + 1] = name .. "!" -- absent, unlike any present value
      return
    end
    v = tostring(v)
    parts[#parts + 1] = name .. "=" .. #v .. ":" .. v
  end
  add("token_endpoint", conf.token_endpoint)
  add("grant_type", conf.grant_type)
  add("client_id", conf.client_id)
  add("client_auth", conf.client_auth)
  if conf.client_auth == "private_key_jwt" then
    add("private_key", conf.private_key)
  else
    add("client_secret", conf.client_secret)
  end
  if conf.client_auth == "client_secret_jwt" or conf.client_auth == "private_key_jwt" then
    add("alg", assertion_alg(conf))
    add("key_id", conf.key_id)
    add("assertion_aud", conf.client_assertion_audience)
    add("assertion_ttl", conf.client_assertion_ttl)
  end
  -- scope order does not change the meaning (RFC 6749 §3.3), but the server may echo it; keep
  -- it as configured so the cached token matches what was literally requested.
  local scopes = is_set(conf.scopes) and conf.scopes or {}
  add("scopes#", #scopes)
  for i = 1, #scopes do
    add("scope", scopes[i])
  end
  local audience = list(conf.audience)
  add("audience#", #audience)
  for i = 1, #audience do
    add("audience", audience[i])
  end
  if conf.grant_type == TOKEN_EXCHANGE then
    -- the subject itself is added per request by the caller; these say how it is presented
    add("subject_source", conf.subject_token_source)
    add("subject_header", conf.upstream_jwt_header)
    add("subject_type", conf.subject_token_type)
    add("actor_token", conf.actor_token)
    add("actor_type", conf.actor_token_type)
    add("requested_type", conf.requested_token_type)
  end
  local resource = list(conf.resource)
  add("resource#", #resource)
  for i = 1, #resource do
    add("resource", resource[i])
  end
  local args = is_set(conf.token_post_args) and conf.token_post_args or {}
  local keys = sorted_keys(args)
  add("args#", #keys)
  for _, k in ipairs(keys) do
    add("arg", k)
    add("val", args[k])
  end
  local headers = is_set(conf.token_headers) and conf.token_headers or {}
  local lowered = {}
  for k, v in pairs(headers) do
    lowered[lower(k)] = v
  end
  keys = sorted_keys(lowered)
  add("headers#", #keys)
  for _, k in ipairs(keys) do
    add("hdr", k)
    add("val", lowered[k])
  end
  return native().sha256_b64(concat(parts, "\n"))
end

-- The cache key of an exchange's subject: its digest, so the subject token itself is never kept.
function _M.subject_key(subject_token)
  return native().sha256_b64(subject_token)
end

-- Per-worker signer cache, keyed by the key material itself rather than by the conf table: a vault
-- rotation rewrites the secret in place and must take effect on the next request.
local signers = lrucache.new(64)

local function get_signer(alg, key, kid)
  local cache_key = alg .. "\0" .. (kid or "") .. "\0" .. key
  local signer = signers:get(cache_key)
  if signer then
    return signer
  end
  local err
  signer, err = native().new_signer(alg, key, kid)
  if not signer then
    return nil, err
  end
  signers:set(cache_key, signer)
  return signer
end

-- RFC 7523 §3: iss = sub = client_id, aud = the token endpoint, exp, and a fresh jti (the native
-- signer draws 128 random bits for every token).
local function client_assertion(conf, key)
  local alg = assertion_alg(conf)
  local kid = is_set(conf.key_id) and conf.key_id or nil
  local signer, err = get_signer(alg, key, kid)
  if not signer then
    return nil, "cannot use the " .. (is_hmac(alg) and "client secret" or "private key")
                .. " for " .. alg .. " client assertions: " .. tostring(err)
  end
  local aud = is_set(conf.client_assertion_audience) and conf.client_assertion_audience
              or conf.token_endpoint
  local token
  token, err = signer:sign({
    iss = conf.client_id,
    sub = conf.client_id,
    aud = aud,
    ttl = conf.client_assertion_ttl or 60,
  })
  if not token then
    return nil, "cannot sign the client assertion: " .. tostring(err)
  end
  return token
end

-- Builds method, headers and body of the token request. Returns nil, err on configuration
-- problems that only show at runtime (unresolved vault references, unusable keys).
-- subject_token: the token to exchange (grant_type token exchange only).
function _M.build_request(conf, subject_token)
  local exchange = conf.grant_type == TOKEN_EXCHANGE
  local form = { "grant_type=" .. form_encode(exchange and TOKEN_EXCHANGE or "client_credentials") }
  if exchange then
    if type(subject_token) ~= "string" or subject_token == "" then
      return fail(_M.MISCONFIGURED, "token exchange without a subject_token")
    end
    if is_set(conf.actor_token) and conf.actor_token == "" then
      return fail(_M.MISCONFIGURED, "actor_token is empty (unresolved vault reference?)")
    end
    for _, p in ipairs(exchange_params(conf, subject_token)) do
      form[#form + 1] = p[1] .. "=" .. form_encode(p[2])
    end
  end
  local headers = {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Accept"] = "application/json",
  }
  local auth = conf.client_auth
  local secret = conf.client_secret
  if conf.client_id == "" then
    return fail(_M.MISCONFIGURED, "client_id is empty (unresolved vault reference?)")
  end
  if auth == "private_key_jwt" then
    if not is_set(conf.private_key) or conf.private_key == "" then
      return fail(_M.MISCONFIGURED, "private_key is empty (unresolved vault reference?)")
    end
  elseif not is_set(secret) or secret == "" then
    return fail(_M.MISCONFIGURED, "client_secret is empty (unresolved vault reference?)")
  end

  if auth == "client_secret_basic" then
    headers["Authorization"] = "Basic "
      .. encode_base64(form_encode(conf.client_id) .. ":" .. form_encode(secret))
  elseif auth == "client_secret_post" then
    form[#form + 1] = "client_id=" .. form_encode(conf.client_id)
    form[#form + 1] = "client_secret=" .. form_encode(secret)
  else
    local assertion, err = client_assertion(conf,
      auth == "private_key_jwt" and conf.private_key or secret)
    if not assertion then
      return fail(_M.MISCONFIGURED, err)
    end
    form[#form + 1] = "client_id=" .. form_encode(conf.client_id)
    form[#form + 1] = "client_assertion_type=" .. form_encode(ASSERTION_TYPE)
    form[#form + 1] = "client_assertion=" .. assertion
  end

  if is_set(conf.scopes) and #conf.scopes > 0 then
    form[#form + 1] = "scope=" .. form_encode(concat(conf.scopes, " "))
  end
  for _, aud in ipairs(list(conf.audience)) do
    form[#form + 1] = "audience=" .. form_encode(aud)
  end
  if is_set(conf.resource) then
    for i = 1, #conf.resource do
      form[#form + 1] = "resource=" .. form_encode(conf.resource[i])
    end
  end
  local args = conf.token_post_args
  for _, k in ipairs(sorted_keys(args)) do
    form[#form + 1] = form_encode(k) .. "=" .. form_encode(args[k])
  end
  local extra = conf.token_headers
  for _, k in ipairs(sorted_keys(extra)) do
    if extra[k]:find("[\r\n]") then
      -- a vault value is not checked by the schema's pattern
      return fail(_M.MISCONFIGURED, "token header " .. k .. " has a line break")
    end
    headers[k] = extra[k]
  end
  return { method = "POST", headers = headers, body = concat(form, "&") }
end

-- Only the RFC 6749 §5.2 error code and a bounded, printable description reach the log: the
-- rest of an error body is the authorization server's business.
local function describe_error_body(body)
  local doc = type(body) == "string" and cjson.decode(body)
  if type(doc) ~= "table" or type(doc.error) ~= "string" then
    return ""
  end
  local text = doc.error
  if type(doc.error_description) == "string" then
    text = text .. ": " .. doc.error_description
  end
  text = text:gsub("[^\32-\126]", "?")
  if #text > MAX_LOGGED_ERROR then
    text = text:sub(1, MAX_LOGGED_ERROR) .. "..."
  end
  return " (" .. text .. ")"
end

local function valid_token_chars(s)
  -- Visible ASCII only: the token goes into a header, and CR/LF or spaces would split it.
  return not s:find("[^\33-\126]")
end

-- Parses a token endpoint answer. Returns { access_token =, expires_in = (number or nil) }.
function _M.parse_response(status, body)
  if status ~= 200 then
    local st = (status >= 500 or status == 429) and _M.UNAVAILABLE or _M.BAD_GATEWAY
    return fail(st, "token endpoint answered HTTP " .. tostring(status)
                    .. describe_error_body(body))
  end
  if type(body) ~= "string" or body == "" then
    return fail(_M.BAD_GATEWAY, "token endpoint answered 200 with an empty body")
  end
  if #body > MAX_RESPONSE_BYTES then
    return fail(_M.BAD_GATEWAY, "token endpoint response is larger than "
                                .. MAX_RESPONSE_BYTES .. " bytes")
  end
  local doc = cjson.decode(body)
  if type(doc) ~= "table" or doc[1] ~= nil then
    return fail(_M.BAD_GATEWAY, "token endpoint response is not a JSON object ("
                                .. #body .. " bytes)")
  end
  local token = doc.access_token
  if type(token) ~= "string" or token == "" then
    return fail(_M.BAD_GATEWAY, "token endpoint response has no access_token")
  end
  if #token > MAX_TOKEN_BYTES or not valid_token_chars(token) then
    return fail(_M.BAD_GATEWAY, "access_token is not a valid header value")
  end
  local token_type = doc.token_type
  if token_type ~= nil and (type(token_type) ~= "string" or lower(token_type) ~= "bearer") then
    -- A DPoP or MAC token sent as Bearer would be rejected upstream, or worse, accepted.
    return fail(_M.BAD_GATEWAY, "token_type is not Bearer")
  end
  local expires_in = doc.expires_in
  if expires_in ~= nil then
    if type(expires_in) == "string" and expires_in:find("^%d+$") then
      expires_in = tonumber(expires_in)
    end
    if type(expires_in) ~= "number" or expires_in ~= expires_in or expires_in <= 0
       or expires_in == math.huge then
      return fail(_M.BAD_GATEWAY, "expires_in is not a positive number")
    end
  end
  return { access_token = token, expires_in = expires_in }
end

-- Seconds the token may be served from the cache: its lifetime minus the refresh margin, so that
-- no request carries a token about to expire in flight. A lifetime shorter than the margin is
-- cached for half of it rather than refetched on every request.
function _M.cache_ttl(expires_in, refresh_before, default_expires_in)
  local life = expires_in or default_expires_in
  local ttl = life - (refresh_before or 0)
  if ttl <= 0 then
    ttl = life / 2
  end
  return ttl
end

-- lua-resty-http's proxy_opts, or nil when no proxy is configured.
function _M.proxy_opts(conf)
  if not is_set(conf.http_proxy) and not is_set(conf.https_proxy) then
    return nil
  end
  local function opt(v)
    return is_set(v) and v ~= "" and v or nil
  end
  return {
    http_proxy = opt(conf.http_proxy),
    https_proxy = opt(conf.https_proxy),
    no_proxy = opt(conf.no_proxy),
    http_proxy_authorization = opt(conf.http_proxy_authorization),
    https_proxy_authorization = opt(conf.https_proxy_authorization),
  }
end

local function send(conf, req)
  local httpc = http.new()
  httpc:set_timeouts(conf.connect_timeout, conf.send_timeout, conf.read_timeout)
  return httpc:request_uri(conf.token_endpoint, {
    method = req.method,
    headers = req.headers,
    body = req.body,
    ssl_verify = conf.ssl_verify ~= false,
    proxy_opts = _M.proxy_opts(conf),
  })
end

-- Performs the token request. Returns { access_token =, ttl = } or nil, err.
-- subject_token: for token exchange, the token to exchange.
function _M.fetch(conf, subject_token)
  local req, err = _M.build_request(conf, subject_token)
  if not req then
    return nil, err
  end
  ngx.update_time()
  local started = ngx.now()
  -- pcall: an error raised inside the HTTP client (lua-resty-core asserts on some TLS failures)
  -- is a transport failure like any other
  local ok, res, http_err = pcall(send, conf, req)
  if not ok then
    res, http_err = nil, res
  end
  if not res then
    return fail(_M.UNAVAILABLE, "token endpoint " .. loggable_url(conf.token_endpoint)
                               .. " unreachable: " .. tostring(http_err))
  end
  local parsed
  parsed, err = _M.parse_response(res.status, res.body)
  if not parsed then
    err.message = "token endpoint " .. loggable_url(conf.token_endpoint) .. ": " .. err.message
    return nil, err
  end
  -- expires_in counts from when the server answered; counting from when we asked is the
  -- conservative side of that.
  ngx.update_time()
  local ttl = _M.cache_ttl(parsed.expires_in, conf.refresh_before, conf.default_expires_in)
              - (ngx.now() - started)
  return {
    access_token = parsed.access_token,
    ttl = ttl > 0 and ttl or nil, -- nil: good for this request, not worth caching
  }
end

return _M
