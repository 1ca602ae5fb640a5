-- upstream-oauth2: sends every proxied request upstream with an OAuth2 access token obtained by
-- the gateway itself (client credentials grant), so services accept ordinary bearer tokens from
-- their authorization server instead of trusting the network.
local token_client = require "kong.plugins.upstream-oauth2.token_client"
local token_cache = require "kong.plugins.upstream-oauth2.token_cache"

local kong = kong
local tostring = tostring

local UpstreamOAuth2 = {
  -- After authentication plugins (key-auth 1250, jwt 1450, oauth2 1400...) so the consumer's
  -- Authorization is final when we move it, after request-transformer (801) so nothing rewrites
  -- the header we set, and after upstream-jwt (790) so token exchange can use its token. No
  -- bundled plugin has 785: Kong would break a tie by name.
  PRIORITY = 785,
  VERSION = "0.1.0",
}

local CLIENT_MESSAGE = {
  [500] = "An unexpected error occurred",
  [502] = "Invalid response from the upstream authorization server",
  [503] = "Upstream authorization server unavailable",
}

-- The longest a request waits for another request's token fetch: the fetch's own worst case
-- (connect + send + read timeouts) plus a margin for the assertion signing and scheduling.
local function wait_budget(conf)
  return (conf.connect_timeout + conf.send_timeout + conf.read_timeout) / 1000 + 1
end

local function fail(err)
  local status = err.status or 500
  kong.log.err("cannot obtain an upstream access token: ", err.message)
  return kong.response.exit(status, { message = CLIENT_MESSAGE[status] or CLIENT_MESSAGE[500] })
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
    return fail({ status = 500, message = "cannot compute the token cache key: "
                                          .. tostring(ok and key_err or key) })
  end
  local budget = wait_budget(conf)
  local token, err = token_cache.get(key, function()
    return token_client.fetch(conf)
  end, { wait_timeout = budget, lock_ttl = budget })
  if not token then
    return fail(err)
  end

  place_consumer_authorization(conf)
  kong.service.request.set_header(conf.header, "Bearer " .. token)
  kong.ctx.plugin.cache_key = key
  kong.ctx.plugin.token = token
end

function UpstreamOAuth2:header_filter(conf)
  local key = kong.ctx.plugin.cache_key
  if not key then
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
      local purged = token_cache.purge(key, kong.ctx.plugin.token)
      if purged then
        kong.log.notice("upstream answered ", status, ": cached access token purged")
      end
      return
    end
  end
end

return UpstreamOAuth2
