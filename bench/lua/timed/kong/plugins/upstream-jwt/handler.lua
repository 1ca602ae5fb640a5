-- bench only: the real upstream-jwt handler with its access() timed in CPU
-- time (CLOCK_THREAD_CPUTIME_ID), for bench/run's "plugin access() CPU per
-- request" figure. Put first on KONG_LUA_PACKAGE_PATH; never used otherwise.
-- Every 1000 calls the mean (minus the clock's own cost, calibrated at load)
-- is appended to bench/results/access_cpu.log.
local now_ns = require "cpu_clock"  -- bench/lua/cpu_clock.lua

local here = debug.getinfo(1, "S").source:sub(2):match("^(.*)/bench/lua/timed/")
local handler = assert(loadfile(here .. "/kong/plugins/upstream-jwt/handler.lua"))()
local log_path = here .. "/bench/results/access_cpu.log"

-- What one now_ns() pair costs, so it is not billed to the plugin.
local overhead
do
  local n = 2000
  local t0 = now_ns()
  for _ = 1, n do
    local a = now_ns()
    local _ = now_ns() - a
  end
  overhead = (now_ns() - t0) / n
end

local real_access = handler.access
local total, calls = 0, 0
handler.access = function(self, conf)
  local t0 = now_ns()
  local r = real_access(self, conf)
  total = total + (now_ns() - t0)
  calls = calls + 1
  if calls == 1000 then
    local f = io.open(log_path, "a")
    if f then
      f:write(string.format("%.3f\n", (total / calls - overhead) / 1000))
      f:close()
    end
    total, calls = 0, 0
  end
  return r
end

return handler
