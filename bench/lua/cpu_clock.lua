-- bench only: CPU time of the calling thread (the nginx worker) in
-- nanoseconds, CLOCK_THREAD_CPUTIME_ID. On a shared machine, time spent
-- descheduled is not the measured code's cost. A system call (no vDSO for
-- this clock): read it around many iterations, or subtract its cost.
local ffi = require "ffi"

pcall(ffi.cdef, [[
typedef long time_t;
struct timespec { time_t tv_sec; long tv_nsec; };
int clock_gettime(int clk_id, struct timespec *tp);
]])

local C = ffi.C
local CLOCK_THREAD_CPUTIME_ID = 3
local ts = ffi.new("struct timespec")

return function()
  C.clock_gettime(CLOCK_THREAD_CPUTIME_ID, ts)
  return tonumber(ts.tv_sec) * 1e9 + tonumber(ts.tv_nsec)
end
