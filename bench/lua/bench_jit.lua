-- Kong runs on OpenResty's LuaJIT, which is built with larger trace limits than
-- upstream LuaJIT 2.1 (what Debian's libluajit, and so this dev gateway, uses):
-- maxtrace 8000 (1000), maxrecord 16000 (4000), minstitch 3 (0), maxmcode
-- 40960 KB (512). With the smaller ones a request path through Kong's PDK
-- overflows a trace ("trace too long") and the trace cache fills and is
-- flushed while the gateway runs, which is not what a Kong user's worker
-- does. Every gateway bench/run starts loads the bench plugins (one
-- declarative config for all variants), whose schemas (bench_schema.lua) require this module
-- at load, in the master before workers fork: every variant, "off"
-- included, runs with the same parameters. bench/run --luajit-params
-- upstream skips it (the file bench/results/jit_params holds the choice).
local here = debug.getinfo(1, "S").source:sub(2):match("^(.*)/bench/lua/")
local f = io.open(here .. "/bench/results/jit_params", "r")
local choice = f and f:read("*l") or "openresty"
if f then
  f:close()
end
if choice == "openresty" and jit and jit.opt then
  jit.opt.start("maxtrace=8000", "maxrecord=16000", "minstitch=3", "maxmcode=40960")
end
return choice
