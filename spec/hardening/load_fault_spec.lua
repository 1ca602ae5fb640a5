-- Load and faults through the real gateway: nothing reaches the upstream
-- unsigned or wrongly signed, whatever happens to the gateway or upstream.
-- Each case runs spec/hardening/support/loadfault.py (dev/gateway with two
-- workers, the nginx+Lua verifying service, wrk at 64 connections with
-- bodies of 0 B to 8 MB) and checks the counts it reports. The figures are
-- appended to $HARDENING_DIR/results.jsonl (docs/SECURITY.md quotes them).
--
-- HARDENING_LONG=1: 60 s of load and 30 s per fault run instead of 20/12.
local cjson = require "cjson.safe"

local root = (debug.getinfo(1, "S").source:sub(2):match("^(.*)/spec/hardening/[^/]*$")) or "."
local dir = os.getenv("HARDENING_DIR") or (root .. "/build-hardening")
local long = os.getenv("HARDENING_LONG") == "1"
local LOAD_S, FAULT_S = long and 60 or 20, long and 30 or 12
local PORT = tonumber(os.getenv("HARDENING_PORT") or "21000")

local function q(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

local function run(scenario, seconds, port)
  os.execute("mkdir -p " .. q(dir .. "/logs"))
  local cmd = table.concat({
    q(root .. "/spec/hardening/support/loadfault.py"), scenario,
    "--logdir", q(dir .. "/logs"), "--duration", seconds, "--connections", 64,
    "--port", port, "2>>" .. q(dir .. "/logs/" .. scenario .. "-driver.log"),
  }, " ")
  local p = assert(io.popen(cmd))
  local out = p:read("*a")
  local ok = p:close()
  assert(ok, "loadfault.py " .. scenario .. " failed; see " .. dir .. "/logs/" .. scenario .. "-driver.log")
  local r = assert(cjson.decode(out:match("[^\n]*%S")), "no JSON from loadfault.py: " .. out)
  local f = assert(io.open(dir .. "/results.jsonl", "a"))
  f:write(cjson.encode(r), "\n")
  f:close()
  return r
end

-- What every run must show, fault or not.
local function assert_nothing_unsigned(r)
  assert.same({ 401, "missing_token" }, r.control.unsigned)
  assert.equal(401, r.control.forged[1])
  assert.not_equal("missing_token", r.control.forged[2])
  local w = r.wrk
  assert.equal(0, w.missing, "requests reached the upstream without a token")
  assert.equal(0, w.invalid, "requests reached the upstream with a token it refused")
  assert.equal(0, r.upstream_stats.rejected, "the upstream refused something")
  assert.is_true(w.ok > 100, "too little traffic to mean anything: " .. w.ok)
  assert.equal(0, w.err_timeout, "requests hung")
  assert.same({ ["200"] = 20 }, r.after, "no recovery after the fault")
  assert.is_true(r.gateway_alive)
end

describe("hardening: load and faults through dev/gateway", function()
  it(("steady load: 64 connections, %d s, bodies 0 B..8 MB: all 2xx, all verified"):format(LOAD_S), function()
    local r = run("load", LOAD_S, PORT)
    assert_nothing_unsigned(r)
    local w = r.wrk
    assert.equal(0, w.non2xx)
    assert.equal(0, w.err_connect + w.err_read + w.err_write)
    assert.is_true(r.upstream_stats.verified >= w.ok)
  end)

  it("nginx -s reload with a rotated secret mid-run: every token verifies with the old or new key", function()
    local r = run("reload", FAULT_S, PORT + 10)
    assert_nothing_unsigned(r)
    assert.equal(0, r.wrk.non2xx)
    -- the new config really signed part of the traffic (its marker claim)
    assert.is_true(r.wrk.marked > 0, "no response carried the rotated config's claim")
    assert.is_true(r.wrk.marked < r.wrk.ok, "no response came from the old config")
    -- new workers replaced the old ones
    for _, pid in ipairs(r.fault.workers_before) do
      for _, now in ipairs(r.fault.workers_after) do
        assert.not_equal(pid, now)
      end
    end
  end)

  it("upstream killed and restarted mid-run: clean 502s while it is down, no hang, recovery", function()
    local r = run("upstream", FAULT_S, PORT + 20)
    assert_nothing_unsigned(r)
    local w = r.wrk
    assert.is_true(w.s502 > 0, "the outage produced no 502")
    assert.equal(w.s502, w.non2xx, "non-2xx other than 502")
    assert.is_true(w.max_ms < 15000, "a request took " .. w.max_ms .. " ms")
  end)

  it("a gateway worker SIGKILLed mid-run: the master respawns it, nothing unsigned", function()
    local r = run("worker", FAULT_S, PORT + 30)
    assert_nothing_unsigned(r)
    assert.equal(0, r.wrk.non2xx)
    assert.is_true(r.fault.respawned, "no new worker")
  end)
end)
