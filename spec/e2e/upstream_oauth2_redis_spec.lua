-- upstream-oauth2's cluster-wide cache: two gateways (two nginx workers each) sharing one
-- redis-server, tokens from oidc-provider. Under concurrent load on both nodes the authorization
-- server issues exactly one token; a purge on one node reaches the other through Redis; with
-- Redis down each node fetches on its own, and without a token nothing is proxied.
local H = require "spec.e2e.upstream_oauth2_helpers"

local P = H.assign_ports({}, { "idp", "upstream", "redis", "gw1", "gw2", "dead", "redis_tls" })
local RESOURCE = "https://orders.example/"
local SECRET = "redis-e2e-client-secret"
local REDIS_PASSWORD = "redis-e2e-password"

local function plugin(client_id, overrides)
  local c = {
    token_endpoint = "http://127.0.0.1:" .. P.idp .. "/token",
    client_id = client_id, client_auth = "client_secret_post", client_secret = SECRET,
    cache = { strategy = "redis", redis = { host = "127.0.0.1", port = P.redis, database = 3,
                                            password = "{vault://env/redis-e2e-password}" } },
  }
  for k, v in pairs(overrides or {}) do
    c[k] = v
  end
  return { name = "upstream-oauth2", config = c }
end

local function route(name, client_id, overrides)
  return { name = name, paths = { "/" .. name }, plugins = { plugin(client_id, overrides) } }
end

local ROUTES = {
  route("shared", "shared"),
  route("load", "load"),
  route("purge", "purge", { purge_on_upstream_status = { 418 } }),
  route("fallback", "fallback"),
  -- the provider issues 36 s tokens to "refresh": cached 6 s with refresh_before 30 (seconds
  -- wide, so a slow curl on a loaded machine cannot carry the second node's request past it)
  route("refresh", "refresh", { refresh_before = 30 }),
  route("tls", "tls", { cache = { strategy = "redis", redis = {
    host = "127.0.0.1", port = P.redis_tls, ssl = true, ssl_verify = false,
    server_name = "redis.test" } } }),
  route("nothing", "fallback", { token_endpoint = "http://127.0.0.1:" .. P.dead .. "/token",
                                 scopes = { "orders:read" } }),
}

describe("upstream-oauth2 with the Redis cache", function()
  local dir, idp, redis, redis_tls, gw1, gw2

  setup(function()
    dir = H.tmpdir()
    local clients = {}
    for _, id in ipairs({ "shared", "load", "purge", "fallback", "tls", "refresh" }) do
      clients[#clients + 1] = { client_id = id, auth = "post", secret = SECRET,
                                token_ttl = id == "refresh" and 36 or nil }
    end
    idp = H.start_oidc(dir, P.idp, P.upstream, { resource = RESOURCE, clients = clients })
    redis = H.start_redis(dir, P.redis)
    redis.cli("CONFIG SET requirepass " .. H.q(REDIS_PASSWORD))
    local cert, tls_key = H.self_signed(dir)
    redis_tls = H.start_redis(dir, P.redis_tls, { cert = cert, key = tls_key })
    local config = {
      _format_version = "3.0",
      services = { { name = "orders", url = "http://127.0.0.1:" .. P.upstream,
                     routes = ROUTES } },
    }
    local env = { GATEWAY_WORKERS = "2", REDIS_E2E_PASSWORD = REDIS_PASSWORD }
    gw1 = H.start_gateway(dir, P.gw1, config, env)
    gw2 = H.start_gateway(dir, P.gw2, config, env)
  end)

  teardown(function()
    H.stop_all({ gw1, gw2, redis, redis_tls, idp }, dir)
  end)

  local function get(gw, path)
    local status, body = H.http("GET", gw.base .. path)
    return status, H.json(body) or body
  end

  -- Asks each gateway once; both must be served the same token. Returns gw1's answer.
  local function one_token_on_both(path)
    local s1, a = get(gw1, path)
    local s2, b = get(gw2, path)
    assert.equal(200, s1)
    assert.equal(200, s2)
    assert.equal(a.jti, b.jti)
    return a
  end

  local function redis_cli(args)
    return redis.cli("-a " .. H.q(REDIS_PASSWORD) .. " --no-auth-warning -n 3 " .. args)
  end

  it("issues exactly one token for 64 concurrent requests over two nodes", function()
    local urls = {}
    for i = 1, 64 do
      urls[i] = ((i % 2 == 0) and gw1 or gw2).base .. "/shared/r" .. i
    end
    local codes = H.parallel_get(urls)
    assert.same({ ["200"] = 64 }, codes)
    assert.equal(1, idp.issued("shared"))
    -- both nodes serve the one token, and Redis holds it with an expiry
    local _, a = get(gw1, "/shared/a")
    local _, b = get(gw2, "/shared/b")
    assert.equal(a.jti, b.jti)
    local keys = redis_cli("--scan --pattern 'upstream-oauth2:token:*'")
    assert.matches("upstream%-oauth2:token:", keys)
    local pttl = tonumber(redis_cli("PTTL " .. H.q(keys:match("(%S+)"))):match("(-?%d+)"))
    assert.is_true(pttl > 0 and pttl <= (300 - 30) * 1000, tostring(pttl))
    -- no lock is left behind
    assert.equal("", (redis_cli("--scan --pattern 'upstream-oauth2:lock:*'"):gsub("%s", "")))
  end)

  it("issues exactly one token under wrk -c 32 on both nodes at once", function()
    local cmd = "wrk -t 1 -c 32 -d 2s "
    local ok, out = H.sh("{ " .. cmd .. H.q(gw1.base .. "/load/a") .. " & "
                         .. cmd .. H.q(gw2.base .. "/load/b") .. "; wait; }")
    assert(ok, out)
    local runs = 0
    for requests in out:gmatch("(%d+) requests in") do
      runs = runs + 1
      assert.is_true(tonumber(requests) >= 32, out)
    end
    assert.equal(2, runs, out)
    assert.is_nil(out:find("Non%-2xx"), out)
    assert.equal(1, idp.issued("load"))
    -- let requests wrk abandoned at its deadline land before later tests count
    H.sleep(0.5)
  end)

  it("purges the token in Redis when the upstream answers a configured status", function()
    local first = one_token_on_both("/purge/x")
    assert.equal(1, idp.issued("purge"))
    -- the upstream answers 418 for /teapot (purge_on_upstream_status = { 418 })
    local status = H.http("GET", gw1.base .. "/purge/teapot")
    assert.equal(418, status)
    -- the purge runs in a timer after the response, and the other node rereads Redis within
    -- a second; the deadline only bounds a hang (a loaded machine may delay the timer)
    local deadline = os.time() + 30
    local second
    repeat
      H.sleep(0.1)
      local _
      _, second = get(gw2, "/purge/y")
    until second.jti ~= first.jti or os.time() > deadline
    assert.are_not.equal(first.jti, second.jti)
    assert.equal(2, idp.issued("purge"))
  end)

  it("refreshes before expiry for the whole cluster", function()
    local first = one_token_on_both("/refresh/x")
    assert.equal(1, idp.issued("refresh"))
    local key = redis_cli("--scan --pattern 'upstream-oauth2:token:*'")
    local pttl
    for k in key:gmatch("%S+") do
      local v = tonumber(redis_cli("PTTL " .. H.q(k)):match("(-?%d+)"))
      if v and v <= 6000 then
        pttl = v
      end
    end
    assert.is_true(pttl and pttl > 0, "no token stored for 6 s (36 s - refresh_before 30)")
    H.sleep(6.5)
    local second = one_token_on_both("/refresh/y")
    assert.are_not.equal(first.jti, second.jti)
    assert.equal(2, idp.issued("refresh"))
  end)

  it("shares the token through Redis over TLS", function()
    one_token_on_both("/tls/x")
    assert.equal(1, idp.issued("tls"))
    assert.matches("upstream%-oauth2:token:", redis_tls.cli("--scan --pattern 'upstream-oauth2:*'"))
  end)

  it("with Redis down, each node fetches for itself; never proxies without a token", function()
    H.stop(redis.pid)
    local s1, a = get(gw1, "/fallback/x")
    local s2, b = get(gw2, "/fallback/x")
    assert.equal(200, s1)
    assert.equal(200, s2)
    assert.equal("fallback", a.client_id)
    assert.equal("fallback", b.client_id)
    -- one token per node, then each node's own cache
    assert.equal(2, idp.issued("fallback"))
    get(gw1, "/fallback/y")
    assert.equal(2, idp.issued("fallback"))
    assert.matches("token cache in Redis unavailable", H.read(gw1.log))
    -- Redis and the token endpoint both down: 503, nothing reaches the upstream
    local upstream_before = idp.stats().upstream_requests
    local status, body = get(gw1, "/nothing/x")
    assert.equal(503, status)
    assert.is_nil(body.client_id)
    assert.equal(upstream_before, idp.stats().upstream_requests)
    assert.is_nil(H.read(gw1.log):find(REDIS_PASSWORD, 1, true))
    assert.is_nil(H.read(gw1.log):find(SECRET, 1, true))
  end)
end)
