-- The cluster-wide layer of the token cache (cache.strategy = redis): every Kong node that shares
-- the Redis database uses one token per token request, and one node at a time fetches it.
--
--   upstream-oauth2:token:<key>  the access token, expiring (PX) when the node cache would drop it
--   upstream-oauth2:lock:<key>   SET NX PX: the node fetching right now; the expiry frees the key
--                                when that node dies mid-fetch
--   upstream-oauth2:error:<key>  the last failed fetch, for a few seconds, so nodes waiting on it
--                                fail with it instead of each trying a sick server in turn
--
-- It sits below the per-node cache (token_cache.lua), which already lets one request per node
-- get here, and hands the node cache the token with the lifetime Redis has left for it.
local redis = require "resty.redis"
local cjson = require "cjson.safe"

local ngx = ngx
local min = math.min
local tostring = tostring
local tonumber = tonumber

local _M = {}

local PREFIX_TOKEN = "upstream-oauth2:token:"
local PREFIX_LOCK = "upstream-oauth2:lock:"
local PREFIX_ERROR = "upstream-oauth2:error:"
local ERROR_TTL_MS = 5000

-- Deletes KEYS[1] only while it still holds ARGV[1]: a lock that expired and was taken by another
-- node, or a token another node has just replaced, must not be thrown away.
local COMPARE_AND_DELETE = [[
if redis.call("GET", KEYS[1]) == ARGV[1] then
  return redis.call("DEL", KEYS[1])
end
return 0
]]

local serial = 0

local function now()
  ngx.update_time()
  return ngx.now()
end

-- A connected, authenticated client on the configured database, or nil, err.
local function connect(rc)
  local red = redis:new()
  red:set_timeouts(rc.connect_timeout, rc.send_timeout, rc.read_timeout)
  local opts = { pool_size = rc.keepalive_pool_size }
  if rc.ssl then
    opts.ssl = true
    opts.ssl_verify = rc.ssl_verify
    opts.server_name = rc.server_name ~= ngx.null and rc.server_name or rc.host
  end
  local ok, err = red:connect(rc.host, rc.port, opts)
  if not ok then
    return nil, "cannot connect to Redis " .. rc.host .. ":" .. rc.port .. ": " .. tostring(err)
  end
  -- A pooled connection was authenticated and SELECTed when it was made.
  local reused = red:get_reused_times()
  if reused == 0 then
    local password = rc.password ~= ngx.null and rc.password or nil
    if password then
      local username = rc.username ~= ngx.null and rc.username or nil
      if username then
        ok, err = red:auth(username, password)
      else
        ok, err = red:auth(password)
      end
      if not ok then
        red:close()
        return nil, "Redis AUTH failed: " .. tostring(err)
      end
    end
    if rc.database ~= 0 then
      ok, err = red:select(rc.database)
      if not ok then
        red:close()
        return nil, "Redis SELECT " .. rc.database .. " failed: " .. tostring(err)
      end
    end
  end
  return red
end

local function release(red, rc)
  local ok = red:set_keepalive(60000, rc.keepalive_pool_size)
  if not ok then
    red:close()
  end
end

-- The cached token and its remaining lifetime in seconds, or nil.
local function read_token(red, key)
  red:init_pipeline(2)
  red:get(PREFIX_TOKEN .. key)
  red:pttl(PREFIX_TOKEN .. key)
  local res, err = red:commit_pipeline()
  if not res then
    return nil, nil, err
  end
  local token, pttl = res[1], tonumber(res[2])
  if type(token) ~= "string" then
    return nil
  end
  if not pttl or pttl <= 0 then
    return nil -- expiring this very moment, or somehow stored without an expiry: refetch
  end
  return token, pttl / 1000
end

-- A failure that happened after `since`, as { status, message }, or nil.
local function read_error(red, key, since)
  local raw = red:get(PREFIX_ERROR .. key)
  local e = type(raw) == "string" and cjson.decode(raw)
  if type(e) == "table" and type(e.at) == "number" and e.at >= since then
    return { status = e.status, message = "(fetched by another node) " .. tostring(e.message) }
  end
end

-- Gets the token for `key` from Redis, or fetches it with `fetch()` while holding the cluster-wide
-- lock. Returns { access_token, ttl } | nil, err as fetch does; when Redis itself fails, returns
-- nil, nil, redis_err so the caller can decide what to do without Redis.
-- opts.wait_timeout and opts.lock_ttl in seconds, as for token_cache.get.
function _M.get(rc, key, fetch, opts)
  local red, err = connect(rc)
  if not red then
    return nil, nil, err
  end
  local started = now()
  local deadline = started + opts.wait_timeout
  serial = serial + 1
  local owner = ngx.worker.pid() .. ":" .. serial .. ":" .. started
  local lock_key = PREFIX_LOCK .. key
  local step = 0.005
  local waited = false
  while true do
    local token, ttl, rerr = read_token(red, key)
    if rerr then
      red:close()
      return nil, nil, "Redis: " .. tostring(rerr)
    end
    if token then
      release(red, rc)
      return { access_token = token, ttl = ttl }
    end
    if waited then
      -- only the failure of a fetch that was in progress while we waited speaks for us
      local failed = read_error(red, key, started)
      if failed then
        release(red, rc)
        return nil, failed
      end
    end
    local ok
    ok, rerr = red:set(lock_key, owner, "NX", "PX", math.ceil(opts.lock_ttl * 1000))
    if ok == "OK" then
      break
    end
    if rerr then
      red:close()
      return nil, nil, "Redis: " .. tostring(rerr)
    end
    waited = true
    if now() >= deadline then
      release(red, rc)
      return nil, { status = 503, message = "timed out waiting for another node's token request" }
    end
    ngx.sleep(step)
    step = min(step * 2, 0.1)
  end

  -- The token may have landed between our last read and taking the lock.
  local token, ttl = read_token(red, key)
  local result, ferr
  if token then
    result = { access_token = token, ttl = ttl }
  else
    local ok
    ok, result, ferr = pcall(fetch)
    if not ok then
      result, ferr = nil, { status = 500, message = "token fetch raised an error: "
                                                   .. tostring(result) }
    end
    if result and result.ttl then
      local stored, serr = red:set(PREFIX_TOKEN .. key, result.access_token, "PX",
                                   math.max(1, math.floor(result.ttl * 1000)))
      if not stored then
        ngx.log(ngx.WARN, "[upstream-oauth2] could not store the access token in Redis: ", serr)
      end
    elseif not result then
      red:set(PREFIX_ERROR .. key, cjson.encode({ at = now(), status = ferr.status,
                                                  message = ferr.message }),
              "PX", ERROR_TTL_MS)
    end
  end
  red:eval(COMPARE_AND_DELETE, 1, lock_key, owner)
  release(red, rc)
  return result, ferr
end

-- Removes `token` for `key` from Redis unless another node has already replaced it. Uses a
-- cosocket, so not callable from header_filter directly (see purge_later).
function _M.purge(rc, key, token)
  local red, err = connect(rc)
  if not red then
    return nil, err
  end
  local n
  n, err = red:eval(COMPARE_AND_DELETE, 1, PREFIX_TOKEN .. key, token)
  if not n then
    red:close()
    return nil, err
  end
  release(red, rc)
  return n == 1
end

-- purge() from a zero-delay timer: header_filter cannot use cosockets.
function _M.purge_later(rc, key, token)
  return ngx.timer.at(0, function(premature)
    if premature then
      return
    end
    local purged, err = _M.purge(rc, key, token)
    if purged == nil then
      ngx.log(ngx.WARN, "[upstream-oauth2] could not purge the access token in Redis: ", err)
    end
  end)
end

return _M
