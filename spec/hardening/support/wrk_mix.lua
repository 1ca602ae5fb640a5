-- wrk script: a fixed mix of request shapes through the gateway, and a
-- count of what the verifying upstream said about each one.
--
-- Bodies from 0 B to 8 MB; anything over 8 KiB is spilled to a temp file by
-- the gateway (client_body_buffer_size 8k, as in Kong). The upstream answers
-- 200 with the verified claims, or 401 {"error": reason}; "missing_token"
-- means the gateway let a request through unsigned, any other reason means it
-- signed something wrongly. Results go to stdout as one JSON line (prefixed
-- "RESULT ") from done(), merged across wrk threads.
--
-- WRK_MIX_MARK: when set, also count 200 bodies that contain this string
-- (a static claim the rotated gateway config adds: proves the reload took).

local KB, MB = 1024, 1024 * 1024
-- {weight, size}: 1000 requests of the cycle in these proportions.
local MIX = {
  { 400, 0 }, { 250, 1 * KB }, { 100, 7 * KB }, { 150, 64 * KB },
  { 70, 1 * MB }, { 25, 4 * MB }, { 5, 8 * MB },
}

local threads = {}
local mark = os.getenv("WRK_MIX_MARK")
if mark == "" then mark = nil end

function setup(thread)
  thread:set("id", #threads + 1)
  threads[#threads + 1] = thread
end

local cycle, bodies, n
-- A global: done() reads it from each thread's Lua state with thread:get().
counts = {}

function init(args)
  bodies = {}
  for _, m in ipairs(MIX) do
    if not bodies[m[2]] then
      -- Not constant bytes: a body of one repeated byte would hide a digest
      -- computed over the wrong offset of a spilled file.
      local unit = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_"
      bodies[m[2]] = string.rep(unit, math.floor(m[2] / #unit)) .. unit:sub(1, m[2] % #unit)
    end
  end
  -- Interleave the shapes so every second of the run sees every size.
  cycle = {}
  local left = {}
  for i, m in ipairs(MIX) do left[i] = m[1] end
  local total = 0
  for _, m in ipairs(MIX) do total = total + m[1] end
  local acc = {}
  for i = 1, #MIX do acc[i] = 0 end
  for _ = 1, total do
    -- smooth weighted round robin
    local best
    for i, m in ipairs(MIX) do
      acc[i] = acc[i] + m[1]
      if not best or acc[i] > acc[best] then best = i end
    end
    acc[best] = acc[best] - total
    cycle[#cycle + 1] = MIX[best][2]
  end
  n = (tonumber(id) or 1) * 7919
  for _, k in ipairs({ "ok", "missing", "invalid", "other_401", "non2xx", "s502", "marked", "requests" }) do
    counts[k] = 0
  end
end

function request()
  n = n + 1
  local size = cycle[(n % #cycle) + 1]
  local path = "/orders/item/" .. n .. "?size=" .. size .. "&n=" .. n
  if size == 0 then
    return wrk.format("GET", path, { ["X-Upstream-JWT"] = "spoofed.by.client" })
  end
  return wrk.format("POST", path, { ["Content-Type"] = "application/octet-stream" }, bodies[size])
end

function response(status, headers, body)
  counts.requests = counts.requests + 1
  if status >= 200 and status < 300 then
    counts.ok = counts.ok + 1
    if mark and body and body:find(mark, 1, true) then
      counts.marked = counts.marked + 1
    end
    return
  end
  counts.non2xx = counts.non2xx + 1
  if status == 502 then
    counts.s502 = counts.s502 + 1
  elseif status == 401 then
    local reason = body and body:match('"error"%s*:%s*"([^"]*)"') or "?"
    if reason == "missing_token" then
      counts.missing = counts.missing + 1
    else
      counts.invalid = counts.invalid + 1
      counts["reason_" .. reason] = (counts["reason_" .. reason] or 0) + 1
    end
  else
    counts["status_" .. status] = (counts["status_" .. status] or 0) + 1
  end
end

local function enc(v)
  if type(v) == "table" then
    local parts = {}
    for k, x in pairs(v) do parts[#parts + 1] = string.format("%q:%s", tostring(k), enc(x)) end
    return "{" .. table.concat(parts, ",") .. "}"
  end
  return tostring(v)
end

function done(summary, latency, requests)
  local total = {}
  for _, t in ipairs(threads) do
    local c = t:get("counts")
    for k, v in pairs(c) do
      if type(v) == "number" then total[k] = (total[k] or 0) + v end
    end
  end
  local e = summary.errors
  total.wrk_requests = summary.requests
  total.bytes = summary.bytes
  total.duration_s = summary.duration / 1e6
  total.err_connect, total.err_read, total.err_write = e.connect, e.read, e.write
  total.err_status, total.err_timeout = e.status, e.timeout
  total.p50_ms = latency:percentile(50) / 1000
  total.p99_ms = latency:percentile(99) / 1000
  total.max_ms = latency.max / 1000
  io.write("RESULT ", enc(total), "\n")
end
