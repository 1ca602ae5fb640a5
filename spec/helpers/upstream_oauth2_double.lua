-- What upstream-oauth2's unit specs must control and the real stack inside dev/busted's nginx
-- cannot produce. Everything else is real: ngx.sleep, ngx.semaphore, ngx.thread, timers and the
-- shared dict `kong` are lua-nginx-module's own, and requests run as real light threads.
--   * the clock: D.advance(s) moves ngx.now/ngx.time forward and ages every entry of the real
--     shared dict by as much, so hours of token life pass without waiting for them;
--   * other workers: dev/busted's nginx has one, so D.as_worker(pid) makes ngx.worker.pid()
--     answer `pid` for the calling light thread (a lock owner of another worker).
local D = {}

local real = { now = ngx.now, time = ngx.time, pid = ngx.worker.pid }
local offset = 0
local frozen_at -- nil: the clock runs; else the real time it stopped at
local function base()
  return frozen_at or real.now()
end
local worker_of = setmetatable({}, { __mode = "k" })

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

-- A fresh node: an empty shared dict `kong`, the clock back to real time, one worker.
function D.install()
  offset, frozen_at = 0, nil
  D.reset_dict(ngx.shared.kong)
  ngx.now = function() return base() + offset end
  ngx.time = function() return math.floor(base() + offset) end
  ngx.worker.pid = function() return worker_of[coroutine.running()] or real.pid() end
  return ngx
end

-- Puts back the real clock and worker id (after_each: the other plugins' specs share the VM).
function D.uninstall()
  offset, frozen_at = 0, nil
  ngx.now, ngx.time, ngx.worker.pid = real.now, real.time, real.pid
end

function D.as_worker(pid)
  worker_of[coroutine.running()] = pid
end

function D.advance(seconds)
  offset = offset + seconds
  D.advance_dict(ngx.shared.kong, seconds)
end

-- Stops the clock (only D.advance moves it) for a test that asserts exact durations: real time
-- passing inside the code under test (milliseconds under ASan or a loaded machine) must not
-- show up in them. D.install/uninstall start it again.
function D.freeze()
  frozen_at = real.now()
end

function D.now()
  return ngx.now()
end

-- Runs functions as concurrent requests (real light threads) until all finish; returns their
-- results in order.
function D.run(fns)
  local threads = {}
  for i, fn in ipairs(fns) do
    threads[i] = assert(ngx.thread.spawn(function()
      return { fn() }
    end))
  end
  local results = {}
  for i, t in ipairs(threads) do
    local ok, res = ngx.thread.wait(t)
    if not ok then
      error(res, 0)
    end
    results[i] = res
  end
  return results
end

-- Fresh copies of the plugin's modules, as a new worker would load them.
function D.load(name)
  package.loaded[name] = nil
  return require(name)
end

return D
