-- bench only: the real upstream-jwt handler in a worker that records LuaJIT's
-- trace events (jit.v, from load) and a sampling profile (jit.p, by VM state
-- and function, over requests START..STOP), for bench/run's "where the
-- microseconds go" section. Put first on KONG_LUA_PACKAGE_PATH; never used
-- otherwise. Writes bench/results/jit_v.log and bench/results/jit_p.log.
local here = debug.getinfo(1, "S").source:sub(2):match("^(.*)/bench/lua/jitdiag/")
local results = here .. "/bench/results/"

local START, STOP = 3000, 23000

local jit_v = require "jit.v"
local jit_p = require "jit.p"
jit_v.start(results .. "jit_v.log")

local handler = assert(loadfile(here .. "/kong/plugins/upstream-jwt/handler.lua"))()
local real_access = handler.access
local calls = 0

handler.access = function(self, conf)
  calls = calls + 1
  if calls == START then
    -- v: split by VM state (compiled, interpreted, C, GC, JIT compiler);
    -- F2: the function and its caller, with the module; i1: 1 ms sampling.
    jit_p.start("vF2i1m1", results .. "jit_p.log")
  elseif calls == STOP then
    jit_p.stop()
    jit_v.off()
  end
  return real_access(self, conf)
end

return handler
