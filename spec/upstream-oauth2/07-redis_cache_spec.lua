-- upstream-oauth2's Redis layer against an in-memory Redis (a fake resty.redis: the boundary a
-- test must control, e.g. a connection lost mid-way) on the double's movable clock, with real
-- light threads, sleeps and timers: one fetch for many concurrent callers (as if on several
-- nodes), shared failures, a dead node's lock expiring, compare-and-delete purge, AUTH/SELECT,
-- and Redis failures reported apart from token failures so the handler can fall back.
local D = require "spec.helpers.upstream_oauth2_double"

-- The commands redis_cache uses, with PX expiry on D's clock. `server.down` refuses connections;
-- `server.fail_after` makes every command after that many fail (a connection lost mid-way).
local function new_server()
  local server = { data = {}, exp = {}, connects = 0, auths = {}, selects = {}, commands = 0 }
  local function live(k)
    local e = server.exp[k]
    if e and e <= D.now() * 1000 then
      server.data[k], server.exp[k] = nil, nil
    end
    return server.data[k]
  end
  local function failing()
    server.commands = server.commands + 1
    return server.fail_after and server.commands > server.fail_after
  end
  local client = {}
  client.__index = client
  function client:set_timeouts() end
  function client:connect()
    if server.down then
      return nil, "connection refused"
    end
    server.connects = server.connects + 1
    self.reused = server.pooled and 1 or 0
    return true
  end
  function client:get_reused_times()
    return self.reused
  end
  function client:auth(a, b)
    server.auths[#server.auths + 1] = b and (a .. ":" .. b) or a
    if server.wrongpass then
      return nil, "WRONGPASS invalid username-password pair or user is disabled."
    end
    return "OK"
  end
  function client:select(db)
    server.selects[#server.selects + 1] = db
    return "OK"
  end
  function client:get(k)
    if failing() then
      return nil, "closed"
    end
    local v = live(k)
    return v == nil and ngx.null or v
  end
  function client:set(k, v, ...)
    if failing() then
      return nil, "closed"
    end
    local args, nx, px = { ... }, false, nil
    for i = 1, #args do
      if args[i] == "NX" then
        nx = true
      elseif args[i] == "PX" then
        px = args[i + 1]
      end
    end
    if nx and live(k) ~= nil then
      return ngx.null
    end
    server.data[k] = v
    server.exp[k] = px and (D.now() * 1000 + px) or nil
    return "OK"
  end
  function client:pttl(k)
    if live(k) == nil then
      return -2
    end
    return server.exp[k] and math.floor(server.exp[k] - D.now() * 1000) or -1
  end
  function client:eval(_, _, k, expected)
    if failing() then
      return nil, "closed"
    end
    if live(k) == expected then
      server.data[k], server.exp[k] = nil, nil
      return 1
    end
    return 0
  end
  function client:init_pipeline()
    self.pipe = {}
  end
  function client:commit_pipeline()
    if failing() then
      return nil, "closed"
    end
    local out = {}
    for i, f in ipairs(self.pipe) do
      out[i] = f()
    end
    self.pipe = nil
    return out
  end
  for _, name in ipairs({ "get", "pttl" }) do
    local direct = client[name]
    client[name] = function(self, ...)
      if self.pipe then
        local args = { ... }
        self.pipe[#self.pipe + 1] = function()
          return direct(self, unpack(args))
        end
        return true
      end
      return direct(self, ...)
    end
  end
  function client:set_keepalive()
    return true
  end
  function client:close()
    return true
  end
  server.module = { new = function()
    return setmetatable({}, client)
  end }
  return server
end

local RC = { host = "127.0.0.1", port = 6379, database = 0, connect_timeout = 100,
             send_timeout = 100, read_timeout = 100, keepalive_pool_size = 4, ssl = false }
local OPTS = { wait_timeout = 5, lock_ttl = 5 }

describe("upstream-oauth2 Redis cache", function()
  local server, rcache, fetches

  local function rc(overrides)
    local c = {}
    for k, v in pairs(RC) do
      c[k] = v
    end
    for k, v in pairs(overrides or {}) do
      c[k] = v
    end
    return c
  end

  -- A fetch that takes `secs` (really sleeping) and counts itself.
  local function fetch_ok(secs, ttl)
    return function()
      fetches = fetches + 1
      ngx.sleep(secs or 0.2)
      return { access_token = "tok-" .. fetches, ttl = ttl or 60 }
    end
  end

  after_each(function()
    D.uninstall()
  end)

  before_each(function()
    D.install()
    server = new_server()
    package.loaded["resty.redis"] = server.module
    rcache = D.load("kong.plugins.upstream-oauth2.redis_cache")
    fetches = 0
  end)

  it("fetches once for 32 concurrent callers and hands each the token's remaining life", function()
    local fns = {}
    for i = 1, 32 do
      fns[i] = function()
        return rcache.get(rc(), "k", fetch_ok(0.2), OPTS)
      end
    end
    local results = D.run(fns)
    assert.equal(1, fetches)
    for i = 1, 32 do
      local res, err, rerr = unpack(results[i])
      assert.is_nil(err)
      assert.is_nil(rerr)
      assert.equal("tok-1", res.access_token)
      assert.is_true(res.ttl > 0 and res.ttl <= 60)
    end
    assert.equal("tok-1", server.data["upstream-oauth2:token:k"])
    assert.is_nil(server.data["upstream-oauth2:lock:k"]) -- released
    -- later: served from Redis with what is left of its life
    D.advance(20)
    local res = D.run({ function() return rcache.get(rc(), "k", fetch_ok(), OPTS) end })[1][1]
    assert.equal(1, fetches)
    assert.is_true(math.abs(res.ttl - 40) < 1, tostring(res.ttl))
    -- expired in Redis: fetched again
    D.advance(41)
    res = D.run({ function() return rcache.get(rc(), "k", fetch_ok(), OPTS) end })[1][1]
    assert.equal("tok-2", res.access_token)
  end)

  it("gives the callers waiting on a failed fetch its error, then lets a new caller try", function()
    local fns = { function()
      return rcache.get(rc(), "k", function()
        fetches = fetches + 1
        ngx.sleep(0.3)
        return nil, { status = 502, message = "invalid_client" }
      end, OPTS)
    end }
    for i = 2, 8 do
      fns[i] = function()
        return rcache.get(rc(), "k", fetch_ok(), OPTS)
      end
    end
    local results = D.run(fns)
    assert.equal(1, fetches)
    for i = 1, 8 do
      local res, err = results[i][1], results[i][2]
      assert.is_nil(res)
      assert.equal(502, err.status)
      assert.matches("invalid_client", err.message)
    end
    -- a request that starts after the failure is a new attempt
    D.advance(1)
    local res = D.run({ function() return rcache.get(rc(), "k", fetch_ok(), OPTS) end })[1][1]
    assert.equal("tok-2", res.access_token)
  end)

  it("ignores the lock of a node that died mid-fetch once it expires", function()
    local started = D.now()
    server.data["upstream-oauth2:lock:k"] = "dead-node"
    server.exp["upstream-oauth2:lock:k"] = (started + 1) * 1000
    local results = D.run({ function() return rcache.get(rc(), "k", fetch_ok(), OPTS) end })
    assert.equal("tok-1", results[1][1].access_token)
    assert.is_true(D.now() >= started + 1)
  end)

  it("times out with 503 when another node holds the lock too long", function()
    server.data["upstream-oauth2:lock:k"] = "slow-node"
    local results = D.run({ function()
      return rcache.get(rc(), "k", fetch_ok(), { wait_timeout = 0.5, lock_ttl = 0.5 })
    end })
    local res, err = results[1][1], results[1][2]
    assert.is_nil(res)
    assert.equal(503, err.status)
    assert.equal(0, fetches)
  end)

  it("reports Redis failures apart from token failures", function()
    server.down = true
    local r = D.run({ function() return rcache.get(rc(), "k", fetch_ok(), OPTS) end })[1]
    local res, err, rerr = r[1], r[2], r[3]
    assert.is_nil(res)
    assert.is_nil(err)
    assert.matches("connection refused", rerr)
    assert.equal(0, fetches)
    server.down, server.fail_after = false, 0
    r = D.run({ function() return rcache.get(rc(), "k", fetch_ok(), OPTS) end })[1]
    res, err, rerr = r[1], r[2], r[3]
    assert.is_nil(res)
    assert.is_nil(err)
    assert.matches("closed", rerr)
  end)

  it("authenticates (ACL user or password only) and selects the database on new connections", function()
    D.run({ function()
      return rcache.get(rc({ username = "kong", password = "pw", database = 2 }), "k",
                        fetch_ok(), OPTS)
    end })
    assert.same({ "kong:pw" }, server.auths)
    assert.same({ 2 }, server.selects)
    server.pooled = true
    D.run({ function() return rcache.get(rc({ password = "pw", database = 2 }), "k2",
                                         fetch_ok(), OPTS) end })
    assert.same({ "kong:pw" }, server.auths) -- a pooled connection is already set up
    server.pooled = false
    D.run({ function() return rcache.get(rc({ password = "pw" }), "k3", fetch_ok(), OPTS) end })
    assert.same({ "kong:pw", "pw" }, server.auths)
    assert.same({ 2 }, server.selects) -- database 0 needs no SELECT
  end)

  it("reports a refused AUTH as a Redis failure, without the password", function()
    server.wrongpass = true
    local r = D.run({ function()
      return rcache.get(rc({ password = "the-redis-password" }), "k", fetch_ok(), OPTS)
    end })[1]
    assert.is_nil(r[1])
    assert.is_nil(r[2])
    assert.matches("Redis AUTH failed: WRONGPASS", r[3])
    assert.is_nil(r[3]:find("the-redis-password", 1, true))
    assert.equal(0, fetches)
  end)

  it("purges only the token the request used", function()
    server.data["upstream-oauth2:token:k"] = "new"
    assert.is_false(rcache.purge(rc(), "k", "old"))
    assert.equal("new", server.data["upstream-oauth2:token:k"])
    assert.is_true(rcache.purge(rc(), "k", "new"))
    assert.is_nil(server.data["upstream-oauth2:token:k"])
    -- from header_filter: through a (real) timer, which runs once this thread yields
    server.data["upstream-oauth2:token:k"] = "t"
    -- ngx.timer.at's success value (1 in lua-nginx-module, not `true`)
    assert.truthy(rcache.purge_later(rc(), "k", "t"))
    for _ = 1, 100 do
      if server.data["upstream-oauth2:token:k"] == nil then
        break
      end
      ngx.sleep(0.01)
    end
    assert.is_nil(server.data["upstream-oauth2:token:k"])
  end)
end)
