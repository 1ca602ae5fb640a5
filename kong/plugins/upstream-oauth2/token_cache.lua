-- Access tokens cached in a shared dict, so every worker of the node uses the same token, with
-- single flight per cache key: under any load, one request per node talks to the authorization
-- server while the others wait for its answer.
--
-- Two layers of waiting:
--   * inside a worker, the first request for a key becomes the "leader"; later ones sleep on an
--     ngx.semaphore and are woken with the leader's result (no shm polling at all);
--   * across workers, leaders compete for a lock made with shm:add() plus an expiry (a worker
--     that dies holding it cannot wedge the key), polling with short growing sleeps.
-- Shared dict operations never yield, so the purge can run in header_filter.
local semaphore = require "ngx.semaphore"
local cjson = require "cjson.safe"

local ngx = ngx
local min = math.min
local tostring = tostring

local _M = {}

-- Kong's nginx template declares `lua_shared_dict kong 5m`; it is meant for small node-wide state.
_M.DICT_NAME = "kong"

local PREFIX_TOKEN = "upstream-oauth2:token:"
local PREFIX_LOCK = "upstream-oauth2:lock:"
local PREFIX_ERROR = "upstream-oauth2:error:"
-- A failed fetch is remembered just long enough for the requests that were waiting on it in other
-- workers to pick it up, so they fail together instead of each hammering a sick server in turn.
local ERROR_TTL = 5

local inflight = {} -- key -> { sema, waiters, token, err } for this worker
local lock_serial = 0

-- Releases the lock only if it is still ours: when a fetch outlived the lock's expiry, another
-- worker may hold the key now, and deleting its lock would let a third one fetch as well.
local function unlock(d, lock_key, owner)
  if d:get(lock_key) == owner then
    d:delete(lock_key)
  end
end

local function dict()
  local d = ngx.shared[_M.DICT_NAME]
  if not d then
    return nil, "lua_shared_dict '" .. _M.DICT_NAME .. "' is not defined"
  end
  return d
end

local function now()
  ngx.update_time()
  return ngx.now()
end

local function internal(message)
  return { status = 500, message = message }
end

-- Cached token for `key`, or nil.
function _M.peek(key)
  local d = dict()
  return d and d:get(PREFIX_TOKEN .. key) or nil
end

-- Removes the cached token for `key`, but only if it is still `token`: a response that arrives
-- late must not throw away the fresh token another request has just fetched.
function _M.purge(key, token)
  local d, err = dict()
  if not d then
    return nil, err
  end
  local current = d:get(PREFIX_TOKEN .. key)
  if current ~= nil and current == token then
    d:delete(PREFIX_TOKEN .. key)
    return true
  end
  return false
end

-- Runs in the worker's leader: gets the node-wide lock (or someone else's result), then fetches.
local function lead(d, key, fetch, opts)
  local started = now()
  local deadline = started + opts.wait_timeout
  local lock_key = PREFIX_LOCK .. key
  lock_serial = lock_serial + 1
  local owner = ngx.worker.pid() .. ":" .. lock_serial
  local step = 0.002
  local waited = false
  while true do
    local token = d:get(PREFIX_TOKEN .. key)
    if token then
      return token
    end
    if waited then
      -- Only the failure of a fetch that was in progress while we waited speaks for us; an
      -- older one is history and a new request deserves a new attempt.
      local recorded = d:get(PREFIX_ERROR .. key)
      local e = recorded and cjson.decode(recorded)
      if type(e) == "table" and type(e.at) == "number" and e.at >= started then
        return nil, { status = e.status, message = e.message }
      end
    end
    local ok, err = d:add(lock_key, owner, opts.lock_ttl)
    if ok then
      break
    end
    if err ~= "exists" then
      return nil, internal("cannot take the token fetch lock in shared dict '"
                           .. _M.DICT_NAME .. "': " .. tostring(err))
    end
    waited = true
    if now() >= deadline then
      return nil, { status = 503,
                    message = "timed out waiting for another worker's token request" }
    end
    ngx.sleep(step)
    step = min(step * 2, 0.05)
  end

  -- The token may have landed between our last look and taking the lock.
  local token = d:get(PREFIX_TOKEN .. key)
  if token then
    unlock(d, lock_key, owner)
    return token
  end

  local ok, result, err = pcall(fetch)
  if not ok then
    err = internal("token fetch raised an error: " .. tostring(result))
    result = nil
  end
  if result then
    token = result.access_token
    if result.ttl then
      local stored, set_err, forcible = d:set(PREFIX_TOKEN .. key, token, result.ttl)
      if not stored then
        ngx.log(ngx.WARN, "[upstream-oauth2] could not cache the access token in shared dict '",
                _M.DICT_NAME, "': ", set_err)
      elseif forcible then
        ngx.log(ngx.WARN, "[upstream-oauth2] shared dict '", _M.DICT_NAME,
                "' is full: caching the access token evicted other entries")
      end
    end
  else
    d:set(PREFIX_ERROR .. key, cjson.encode({ at = now(), status = err.status,
                                              message = err.message }), ERROR_TTL)
  end
  unlock(d, lock_key, owner)
  return token, err
end

-- Returns the access token for `key`, calling `fetch()` (which returns { access_token, ttl }
-- or nil, { status, message }) at most once at a time per key on this node.
-- opts.wait_timeout: seconds a request may wait for a fetch in progress;
-- opts.lock_ttl: seconds after which a lock left by a dead worker is ignored.
function _M.get(key, fetch, opts)
  local d, derr = dict()
  if not d then
    return nil, internal(derr)
  end
  local token = d:get(PREFIX_TOKEN .. key)
  if token then
    return token
  end

  local flight = inflight[key]
  if flight then
    flight.waiters = flight.waiters + 1
    local ok = flight.sema:wait(opts.wait_timeout)
    if not ok then
      return nil, { status = 503, message = "timed out waiting for the token request in progress" }
    end
    if flight.token then
      return flight.token
    end
    return nil, flight.err
  end

  local sema, serr = semaphore.new(0)
  if not sema then
    return nil, internal("cannot create a semaphore: " .. tostring(serr))
  end
  flight = { sema = sema, waiters = 0 }
  inflight[key] = flight
  -- pcall: whatever happens, waiters must be woken and the flight cleared, or the key would
  -- be stuck for this worker's lifetime.
  local ok, tok, err = pcall(lead, d, key, fetch, opts)
  if not ok then
    tok, err = nil, internal("token cache error: " .. tostring(tok))
  end
  inflight[key] = nil
  flight.token, flight.err = tok, err
  if flight.waiters > 0 then
    sema:post(flight.waiters)
  end
  return tok, err
end

return _M
