-- Test double for the parts of ngx_lua and the Kong PDK that upstream-oauth2 uses, for busted
-- under plain LuaJIT. Time is virtual and concurrency is real cooperation: "requests" are
-- coroutines; ngx.sleep and semaphore waits yield to a small scheduler that advances the clock
-- to the next wake-up, so races between requests and workers replay deterministically.
local D = {}

local clock = 1700000000.0
local runnable = {} -- ready coroutines (FIFO)
local sleepers = {} -- { co, wake_at }
local logs = {}

local function resume(co, ...)
  local ok, err = coroutine.resume(co, ...)
  if not ok then
    error(debug.traceback(co, tostring(err)), 0)
  end
end

local function block_current(entry)
  -- Outside a scheduled coroutine there is nobody to yield to: a test bug.
  assert(coroutine.running(), "blocking call outside D.run")
  return coroutine.yield(entry)
end

-- Shared dict with expiry against the virtual clock; values are strings, numbers or booleans.
local function new_dict()
  local data = {}
  local d = {}
  local function live(k)
    local e = data[k]
    if e and e.exp and e.exp <= clock then
      data[k] = nil
      return nil
    end
    return e
  end
  function d:get(k)
    local e = live(k)
    return e and e.v or nil
  end
  function d:set(k, v, exptime)
    data[k] = { v = v, exp = (exptime and exptime > 0) and clock + exptime or nil }
    return true, nil, false
  end
  function d:add(k, v, exptime)
    if live(k) then
      return false, "exists"
    end
    return d:set(k, v, exptime)
  end
  function d:delete(k)
    data[k] = nil
  end
  function d:ttl(k)
    local e = live(k)
    if not e then
      return nil, "not found"
    end
    return e.exp and (e.exp - clock) or 0
  end
  function d:flush_all()
    data = {}
  end
  return d
end

local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local function encode_base64(s)
  return ((s:gsub(".", function(c)
    local b, r = c:byte(), ""
    for i = 8, 1, -1 do
      r = r .. (b % 2 ^ i - b % 2 ^ (i - 1) > 0 and "1" or "0")
    end
    return r
  end) .. "0000"):gsub("%d%d%d?%d?%d?%d?", function(x)
    if #x < 6 then
      return ""
    end
    local n = 0
    for i = 1, 6 do
      n = n + (x:sub(i, i) == "1" and 2 ^ (6 - i) or 0)
    end
    return B64:sub(n + 1, n + 1)
  end) .. ({ "", "==", "=" })[#s % 3 + 1])
end

local semaphore = {}
semaphore.__index = semaphore
function semaphore.new(n)
  return setmetatable({ count = n or 0, queue = {} }, semaphore)
end
function semaphore:wait(timeout)
  if self.count > 0 then
    self.count = self.count - 1
    return true
  end
  local entry = { co = coroutine.running(), wake_at = clock + timeout, sema = self }
  table.insert(self.queue, entry)
  table.insert(sleepers, entry)
  local woken = block_current(entry)
  if woken then
    return true
  end
  return nil, "timeout"
end
function semaphore:post(n)
  n = n or 1
  while n > 0 do
    local entry = table.remove(self.queue, 1)
    if not entry then
      self.count = self.count + n
      return true
    end
    entry.posted = true
    for i, s in ipairs(sleepers) do
      if s == entry then
        table.remove(sleepers, i)
        break
      end
    end
    table.insert(runnable, { co = entry.co, arg = true })
    n = n - 1
  end
  return true
end

-- The specs run inside nginx (dev/busted): what the double does not control stays the real `ngx`.
local real_ngx = ngx

function D.install()
  clock = 1700000000.0
  runnable, sleepers, logs = {}, {}, {}
  local null = real_ngx.null
  _G.ngx = setmetatable({
    null = null,
    DEBUG = 8, INFO = 7, NOTICE = 6, WARN = 5, ERR = 4, CRIT = 3,
    shared = { kong = new_dict() },
    now = function() return clock end,
    time = function() return math.floor(clock) end,
    update_time = function() end,
    sleep = function(s)
      local entry = { co = coroutine.running(), wake_at = clock + s }
      table.insert(sleepers, entry)
      block_current(entry)
    end,
    log = function(level, ...)
      table.insert(logs, { level = level, msg = table.concat({ ... }) })
    end,
    encode_base64 = encode_base64,
    config = { ngx_lua_version = 10023 },
    worker = { pid = function() return D.worker_of[coroutine.running() or "main"] or 1 end },
  }, { __index = real_ngx })
  package.loaded["ngx.semaphore"] = semaphore
  return _G.ngx
end

-- Which worker (pid) the running request belongs to; requests default to worker 1.
D.worker_of = setmetatable({}, { __mode = "k" })
function D.as_worker(pid)
  D.worker_of[coroutine.running()] = pid
end

function D.advance(seconds)
  clock = clock + seconds
end

function D.now()
  return clock
end

function D.logs()
  return logs
end

-- Runs functions as concurrent requests until all finish; returns their results in order.
function D.run(fns)
  local results = {}
  for i, fn in ipairs(fns) do
    local co = coroutine.create(function()
      results[i] = { fn() }
    end)
    table.insert(runnable, { co = co })
  end
  local guard = 0
  while true do
    guard = guard + 1
    assert(guard < 100000, "scheduler did not settle")
    if #runnable > 0 then
      local item = table.remove(runnable, 1)
      resume(item.co, item.arg)
    elseif #sleepers > 0 then
      table.sort(sleepers, function(a, b) return a.wake_at < b.wake_at end)
      local entry = table.remove(sleepers, 1)
      if entry.wake_at > clock then
        clock = entry.wake_at
      end
      if entry.sema then -- a semaphore wait that timed out
        for i, q in ipairs(entry.sema.queue) do
          if q == entry then
            table.remove(entry.sema.queue, i)
            break
          end
        end
        resume(entry.co, false)
      else
        resume(entry.co)
      end
    else
      break
    end
  end
  return results
end

-- The clock of a real shared dict (ngx.shared.kong in dev/busted's nginx): ages every entry by
-- `seconds`, as if that much time had passed, so expiry is tested without waiting for it.
function D.advance_dict(dict, seconds)
  for _, key in ipairs(dict:get_keys(0)) do
    local ttl = dict:ttl(key)
    if ttl and ttl > 0 then
      if ttl <= seconds then
        dict:delete(key)
      else
        assert(dict:expire(key, ttl - seconds))
      end
    end
  end
end

-- Empties a real shared dict, so a test starts from a fresh node.
function D.reset_dict(dict)
  dict:flush_all()
  dict:flush_expired()
end

-- Fresh copies of the plugin's modules, as a new worker would load them.
function D.load(name)
  package.loaded[name] = nil
  return require(name)
end

return D
