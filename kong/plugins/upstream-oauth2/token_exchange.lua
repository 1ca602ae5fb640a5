-- RFC 8693 token exchange for upstream-oauth2: the subject of this request (the client's bearer
-- token, or upstream-jwt's token for it) exchanged for a token the upstream accepts, cached per
-- worker by subject in a bounded LRU, each entry expiring with its token.
local token_client = require "kong.plugins.upstream-oauth2.token_client"
local lrucache = require "resty.lrucache"

local kong = kong
local type = type

local _M = {}

-- The subject of a token exchange: the client's own bearer token, or the token upstream-jwt
-- (priority 790, before us) put on this request. nil, err, status when there is none.
local function subject_token(conf)
  if conf.subject_token_source == "consumer_bearer" then
    local authz = kong.request.get_header("Authorization")
    local token = type(authz) == "string" and authz:match("^[Bb][Ee][Aa][Rr][Ee][Rr] +(%S+)%s*$")
    if not token then
      return nil, "no bearer token to exchange in the client's Authorization header", 401
    end
    return token
  end
  -- kong.request reads the request as it will be proxied, so this is upstream-jwt's token (it
  -- replaces any header of that name the client sent)
  local token = kong.request.get_header(conf.upstream_jwt_header)
  if type(token) ~= "string" or token == "" then
    return nil, "no " .. conf.upstream_jwt_header .. " on the request: is upstream-jwt enabled "
                .. "on this route with that header?", 500
  end
  return token
end

-- Exchanged tokens per worker, one bounded LRU per token request (config), keyed by subject.
local exchanged = {}

-- The exchanged token for this request's subject: token, nil, cache, subject_key, or nil, err
-- ({ status, message }). `key` is the token request's cache key (token_client.request_key).
function _M.get(conf, key)
  local subject, serr, status = subject_token(conf)
  if not subject then
    return nil, { status = status, message = serr }
  end
  local index = key .. ":" .. conf.exchange_cache_size
  local cache = exchanged[index]
  if not cache then
    cache = lrucache.new(conf.exchange_cache_size)
    exchanged[index] = cache
  end
  local sub_key = token_client.subject_key(subject)
  local token = cache:get(sub_key)
  if token then
    return token, nil, cache, sub_key
  end
  local result, err = token_client.fetch(conf, subject)
  if not result then
    return nil, err
  end
  if result.ttl then
    cache:set(sub_key, result.access_token, result.ttl)
  end
  return result.access_token, nil, cache, sub_key
end

-- Forgets `token` for the subject, unless a newer token has replaced it. Never yields.
function _M.purge(cache, subject_key, token)
  if cache:get(subject_key) == token then
    cache:delete(subject_key)
    return true
  end
  return false
end

return _M
