-- upstream-oauth2: sends every proxied request upstream with an OAuth2 access token obtained by
-- the gateway itself (client credentials grant, or a token exchange that carries the consumer),
-- so services accept ordinary bearer tokens from their authorization server instead of trusting
-- the network. Nothing is proxied without a token.
local token_client = require "kong.plugins.upstream-oauth2.token_client"
local token_cache = require "kong.plugins.upstream-oauth2.token_cache"
local token_exchange = require "kong.plugins.upstream-oauth2.token_exchange"

local kong = kong
local tostring = tostring
local redis_cache -- loaded with the first redis-strategy request: memory needs no resty.redis

local UpstreamOAuth2 = {
  -- After authentication plugins (key-auth 1250, jwt 1450, oauth2 1400...) so the consumer's
  -- Authorization is final when we move it, after request-transformer (801) so nothing rewrites
  -- the header we set, and after upstream-jwt (790) so token exchange can use its token. No
  -- bundled plugin has 785: Kong would break a tie by name.
  PRIORITY = 785,
  VERSION = "0.1.0",
}

local CLIENT_MESSAGE = {
  [401] = "A bearer token is required",
  [500] = "An unexpected error occurred",
  [502] = "Invalid response from the upstream authorization server",
  [503] = "Upstream authorization server unavailable",
}

-- The longest a request waits for another request's token fetch: the fetch's own worst case
-- (connect + send + read timeouts) plus a margin for the assertion signing and scheduling.
local function wait_budget(conf)
  return (conf.connect_timeout + conf.send_timeout + conf.read_timeout) / 1000 + 1
end

local function redis_budget(rc)
  return (rc.connect_timeout + rc.send_timeout + rc.read_timeout) / 1000
end

local function fail(conf, err)
  local status = err.status or 500
  if status == 401 then
    -- an unauthenticated client, not a fault of the gateway's
    kong.log.info("no upstream access token: ", err.message)
  else
    kong.log.err("cannot obtain an upstream access token: ", err.message)
  end
  -- a missing bearer token is the client's to fix: it keeps its 401 and message
  local client_error = status == 401
  if not client_error and conf.error_response_status ~= nil
     and conf.error_response_status ~= ngx.null then
    status = conf.error_response_status
  end
  local message = conf.error_response_message
  if client_error or message == nil or message == ngx.null then
    message = CLIENT_MESSAGE[status] or CLIENT_MESSAGE[500]
  end
  return kong.response.exit(status, { message = message })
end

-- Seconds a node serves a token read from Redis before asking Redis again.
local REDIS_NODE_TTL = 1

-- The fetch behind the node cache: straight to the token endpoint, or through Redis. When Redis
-- fails the node fetches on its own (documented): a token from the authorization server is
-- still required, so nothing is ever proxied without one.
local function fetcher(conf, key, budget)
  if conf.cache.strategy ~= "redis" then
    return function()
      return token_client.fetch(conf)
    end
  end
  redis_cache = redis_cache or require "kong.plugins.upstream-oauth2.redis_cache"
  return function()
    local result, err, redis_err = redis_cache.get(conf.cache.redis, key, function()
      return token_client.fetch(conf)
    end, { wait_timeout = budget, lock_ttl = budget })
    if redis_err then
      kong.log.warn("token cache in Redis unavailable, fetching for this node alone: ", redis_err)
      return token_client.fetch(conf)
    end
    if result and result.ttl then
      -- Redis is the cache of record: the node keeps its copy briefly, so that a purge by any
      -- node reaches every node within REDIS_NODE_TTL seconds
      result.ttl = math.min(result.ttl, REDIS_NODE_TTL)
    end
    return result, err
  end
end

local function place_consumer_authorization(conf)
  -- Cleared in every mode, so a client can never pose as having sent some other credential:
  -- the upstream may trust this header to be the gateway's.
  kong.service.request.clear_header(conf.consumer_authorization_header)
  local mode = conf.consumer_authorization
  if mode == "keep" then
    return
  end
  local original = kong.request.get_header("Authorization")
  if original then
    if mode == "move" then
      kong.service.request.set_header(conf.consumer_authorization_header, original)
    end
    kong.service.request.clear_header("Authorization")
  end
end

function UpstreamOAuth2:access(conf)
  -- pcall: the native library loads on first use, and its absence must be a clean 500
  local ok, key, key_err = pcall(token_client.request_key, conf)
  if not ok or not key then
    return fail(conf, { status = 500, message = "cannot compute the token cache key: "
                                                .. tostring(ok and key_err or key) })
  end
  local token, err, exchange_cache, sub_key
  if conf.grant_type == token_client.TOKEN_EXCHANGE then
    ok, token, err, exchange_cache, sub_key = pcall(token_exchange.get, conf, key)
    if not ok then
      token, err = nil, { status = 500, message = "token exchange error: " .. tostring(token) }
    end
  else
    local budget = wait_budget(conf)
    if conf.cache.strategy == "redis" then
      -- the node's fetcher may wait on Redis, then on another node's fetch
      budget = budget * 2 + redis_budget(conf.cache.redis)
    end
    token, err = token_cache.get(key, fetcher(conf, key, wait_budget(conf)),
                                 { wait_timeout = budget, lock_ttl = budget })
  end
  if not token then
    return fail(conf, err)
  end

  place_consumer_authorization(conf)
  kong.service.request.set_header(conf.header, "Bearer " .. token)
  local ctx = kong.ctx.plugin
  ctx.cache_key = key
  ctx.token = token
  ctx.exchange_cache = exchange_cache
  ctx.sub_key = sub_key
end

local function purge(conf, ctx)
  if ctx.exchange_cache then
    return token_exchange.purge(ctx.exchange_cache, ctx.sub_key, ctx.token)
  end
  if conf.cache.strategy == "redis" then
    redis_cache.purge_later(conf.cache.redis, ctx.cache_key, ctx.token)
  end
  return token_cache.purge(ctx.cache_key, ctx.token)
end

function UpstreamOAuth2:header_filter(conf)
  local ctx = kong.ctx.plugin
  if not ctx.cache_key then
    return
  end
  -- The upstream's own status: a response produced by Kong or by another plugin says nothing
  -- about the token.
  local status = kong.service.response.get_status()
  if not status then
    return
  end
  local statuses = conf.purge_on_upstream_status
  for i = 1, #statuses do
    if statuses[i] == status then
      if purge(conf, ctx) then
        kong.log.notice("upstream answered ", status, ": cached access token purged")
      end
      return
    end
  end
end

return UpstreamOAuth2
