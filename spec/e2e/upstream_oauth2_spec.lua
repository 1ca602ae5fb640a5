-- upstream-oauth2 end to end: dev/gateway (real nginx, 2 workers) in front of a bearer-checking
-- upstream, with tokens from a real local authorization server (dev/oauth2/server.py) that counts
-- token requests and verifies each client authentication method (assertions with PyJWT).
local H = require "spec.e2e.upstream_oauth2_helpers"

-- Free loopback ports from the E2E range; nothing in this spec listens on DEAD_PORT.
local P = H.assign_ports({}, { "token", "upstream", "gateway", "tls", "dead" })
local TOKEN_PORT, UPSTREAM_PORT, GATEWAY_PORT, TLS_PORT, DEAD_PORT = P.token, P.upstream, P.gateway,
                                                                      P.tls, P.dead
local IDP = "http://127.0.0.1:" .. TOKEN_PORT
local SECRET = "e2e-secret: with spaces & symbols, long enough for HS256!"
local BASIC_SECRET = "basic-secret-from-the-env-vault"
local JWT_SECRET = "upstream-jwt-e2e-secret-of-at-least-32-bytes"

local function key(name)
  return H.read(H.root .. "/test/keys/" .. name)
end

local CLIENTS = {
  basic = { auth = "client_secret_basic", secret = BASIC_SECRET },
  post = { auth = "client_secret_post", secret = SECRET },
  fields = { auth = "client_secret_post", secret = SECRET },
  hs256 = { auth = "client_secret_jwt", secret = SECRET },
  rs256 = { auth = "private_key_jwt", alg = "RS256", kid = "rsa-1",
            public_key = H.root .. "/test/keys/rsa2048.pub.pem" },
  es256 = { auth = "private_key_jwt", alg = "ES256",
            public_key = H.root .. "/test/keys/ec256.pub.pem" },
  eddsa = { auth = "private_key_jwt", alg = "EdDSA",
            public_key = H.root .. "/test/keys/ed25519.pub.pem" },
  burst = { auth = "client_secret_post", secret = SECRET },
  wrk = { auth = "client_secret_post", secret = SECRET },
  expiring = { auth = "client_secret_post", secret = SECRET, expires_in = 30 },
  purge = { auth = "client_secret_post", secret = SECRET },
  keep = { auth = "client_secret_post", secret = SECRET },
  tls = { auth = "client_secret_post", secret = SECRET },
  chunked = { auth = "client_secret_post", secret = SECRET },
  both = { auth = "client_secret_post", secret = SECRET },
  errors = { auth = "client_secret_post", secret = SECRET },
  badsecret = { auth = "client_secret_post", secret = SECRET },
}

local function plugin(config)
  local c = { token_endpoint = IDP .. "/token", client_auth = "client_secret_post",
              client_secret = SECRET }
  for k, v in pairs(config) do
    c[k] = v
  end
  return { name = "upstream-oauth2", config = c }
end

local function route(name, config)
  return { name = name, paths = { "/" .. name }, plugins = { plugin(config) } }
end

local ROUTES = {
  route("basic", { client_id = "basic", client_auth = "client_secret_basic",
                   client_secret = "{vault://env/oauth2-e2e-basic-secret}",
                   scopes = { "orders:read", "orders:write" } }),
  route("post", { client_id = "post" }),
  route("fields", { client_id = "fields", scopes = { "orders:read", "orders:write" },
                    audience = { "https://orders.example", "https://billing.example" },
                    resource = { "https://orders.example/", "https://billing.example/" },
                    -- map values from a vault (Kong resolves referenceable map values)
                    token_post_args = { tenant = "{vault://env/oauth2-e2e-tenant}" },
                    token_headers = { ["X-Tenant"] = "{vault://env/oauth2-e2e-tenant}" } }),
  route("hs256", { client_id = "hs256", client_auth = "client_secret_jwt" }),
  route("rs256", { client_id = "rs256", client_auth = "private_key_jwt", client_secret = nil,
                   private_key = key("rsa2048.pem"), key_id = "rsa-1" }),
  route("es256", { client_id = "es256", client_auth = "private_key_jwt",
                   private_key = key("ec256.pem"), client_assertion_algorithm = "ES256" }),
  route("eddsa", { client_id = "eddsa", client_auth = "private_key_jwt",
                   private_key = key("ed25519.pem"), client_assertion_algorithm = "EdDSA" }),
  route("burst", { client_id = "burst", token_endpoint = IDP .. "/slow/0.5/token" }),
  route("wrk", { client_id = "wrk", token_endpoint = IDP .. "/slow/0.3/token" }),
  route("expiring", { client_id = "expiring", refresh_before = 25 }),
  route("purge", { client_id = "purge", purge_on_upstream_status = { 401 } }),
  route("keep", { client_id = "keep", header = "X-Access-Token",
                  consumer_authorization = "keep" }),
  route("down", { client_id = "errors",
                  token_endpoint = "http://127.0.0.1:" .. DEAD_PORT .. "/token" }),
  -- a client the server does not know: when it answers, 10 s later, it issues nothing, so the
  -- count of tokens issued to "errors" cannot depend on how fast the other cases ran. 10 s
  -- (not the 500 ms read_timeout plus a little) so that the bound on the request's duration
  -- below keeps seconds of margin on a loaded machine and still tells the two apart.
  route("timeout", { client_id = "timeout", token_endpoint = IDP .. "/slow/10/token",
                     read_timeout = 500 }),
  route("garbage", { client_id = "errors", token_endpoint = IDP .. "/garbage" }),
  route("notoken", { client_id = "errors", token_endpoint = IDP .. "/no-token" }),
  route("idp500", { client_id = "errors", token_endpoint = IDP .. "/status/500" }),
  route("chunked", { client_id = "chunked", token_endpoint = IDP .. "/chunked/token" }),
  -- both plugins: an OAuth2 token in Authorization and a request-bound JWT in X-Upstream-JWT
  { name = "both", paths = { "/both" }, plugins = {
      plugin({ client_id = "both" }),
      { name = "upstream-jwt", config = { secret = JWT_SECRET, audience = "orders" } } } },
  route("tls-unverified", { client_id = "tls", ssl_verify = false,
                            token_endpoint = "https://127.0.0.1:" .. TLS_PORT .. "/token" }),
  -- scope only to keep its cache key apart from tls-unverified's
  route("tls-verified", { client_id = "tls", ssl_verify = true, scopes = { "verified" },
                          token_endpoint = "https://127.0.0.1:" .. TLS_PORT .. "/token" }),
  route("badsecret", { client_id = "badsecret", client_secret = "not-the-secret-" .. SECRET }),
}

describe("upstream-oauth2 end to end", function()
  local dir, idp, gw

  setup(function()
    dir = H.tmpdir()
    local cert, tls_key = H.self_signed(dir)
    idp = H.start_idp(dir, TOKEN_PORT, UPSTREAM_PORT, CLIENTS,
                      { port = TLS_PORT, cert = cert, key = tls_key })
    local config = {
      _format_version = "3.0",
      services = { { name = "protected", url = "http://127.0.0.1:" .. UPSTREAM_PORT,
                     routes = ROUTES } },
    }
    gw = H.start_gateway(dir, GATEWAY_PORT, config, {
      GATEWAY_WORKERS = "2",
      OAUTH2_E2E_BASIC_SECRET = BASIC_SECRET,
      OAUTH2_E2E_TENANT = "acme",
    })
  end)

  teardown(function()
    if gw then
      H.stop(gw.pid)
    end
    if idp then
      H.stop(idp.pid)
    end
    if not os.getenv("E2E_KEEP") then H.rmdir(dir) end
  end)

  local function get(path, headers)
    local status, body, secs = H.http("GET", gw.base .. path, headers)
    return status, H.json(body) or body, secs
  end

  local function issued(client)
    return idp.stats().by_client[client] or 0
  end

  describe("client authentication, checked by the authorization server", function()
    for _, case in ipairs({
      { "client_secret_basic", "basic" },
      { "client_secret_post", "post" },
      { "client_secret_jwt (HS256, PyJWT)", "hs256" },
      { "private_key_jwt RS256 (PyJWT)", "rs256" },
      { "private_key_jwt ES256 (PyJWT)", "es256" },
      { "private_key_jwt EdDSA (PyJWT)", "eddsa" },
    }) do
      it(case[1] .. " gets a token the upstream accepts", function()
        local status, body = get("/" .. case[2] .. "/orders")
        assert.equal(200, status, type(body) == "string" and body or nil)
        assert.equal(case[2], body.client_id)
        assert.equal(1, issued(case[2]))
        local expected = CLIENTS[case[2]].auth
        assert.equal(expected, idp.stats().last_auth_method)
      end)
    end

    it("sends scopes, each audience and resource, extra args and headers (from a vault)", function()
      local status, body = get("/fields/x")
      assert.equal(200, status)
      local stats = idp.stats()
      assert.same({
        grant_type = "client_credentials", client_id = "fields", client_secret = SECRET,
        scope = "orders:read orders:write",
        audience = { "https://orders.example", "https://billing.example" },
        resource = { "https://orders.example/", "https://billing.example/" }, tenant = "acme",
      }, stats.last_form)
      assert.equal("acme", stats.last_headers["x-tenant"])
      assert.equal("orders:read orders:write", body.scope)
    end)
  end)

  it("reads a chunked token response", function()
    local status, body = get("/chunked/x")
    assert.equal(200, status, type(body) == "string" and body or nil)
    assert.equal("chunked", body.client_id)
    assert.equal(1, idp.stats().by_path["/chunked/token"])
  end)

  it("talks TLS to the token endpoint when verification is off", function()
    local status, body = get("/tls-unverified/x")
    assert.equal(200, status, type(body) == "string" and body or nil)
    assert.equal(1, issued("tls"))
  end)

  it("never accepts a certificate that fails verification", function()
    -- handshakes that complete without yielding take another code path in lua-nginx-module:
    -- enough attempts to go through both
    local codes = {}
    for _ = 1, 20 do
      local status = get("/tls-verified/x")
      codes[status] = (codes[status] or 0) + 1
    end
    assert.same({ [503] = 20 }, codes)
    assert.equal(0, issued("tls-verified"))
  end)

  it("runs beside upstream-jwt: the upstream gets both credentials", function()
    local status, body = H.http("POST", gw.base .. "/both/orders?id=7",
                                { ["Content-Type"] = "application/json" }, '{"qty":2}')
    assert.equal(200, status, body)
    body = H.json(body)
    assert.equal("both", body.client_id)
    assert.matches("^Bearer %S+$", body.headers.authorization)
    -- checked by the project's verifier CLI, outside this process (specs here run under plain
    -- LuaJIT)
    local E = require "spec.e2e.e2e_helpers"
    local key_file = dir .. "/jwt.key"
    H.write(key_file, JWT_SECRET)
    local body_file = dir .. "/jwt.body"
    H.write(body_file, '{"qty":2}')
    local ok, out = E.cli_verify({ "--alg", "HS256", "--key", key_file, "--iss", "kong",
                                   "--aud", "orders", "--method", "POST", "--path", "/orders",
                                   "--query", "id=7", "--body", body_file },
                                 body.headers["x-upstream-jwt"])
    assert.is_true(ok, out)
  end)

  it("sends the token upstream and moves the consumer's Authorization", function()
    local status, body = get("/post/x", { Authorization = "Basic Y29uc3VtZXI6cHc=",
                                          ["X-Consumer-Authorization"] = "forged" })
    assert.equal(200, status)
    assert.matches("^Bearer %S+$", body.headers.authorization)
    assert.equal("Basic Y29uc3VtZXI6cHc=", body.headers["x-consumer-authorization"])
  end)

  it("keeps the consumer's Authorization when the token has its own header", function()
    local status, body = get("/keep/x?token_header=X-Access-Token",
                             { Authorization = "Bearer consumer-token",
                               ["X-Consumer-Authorization"] = "Bearer forged" })
    assert.equal(200, status)
    assert.equal("Bearer consumer-token", body.headers.authorization)
    assert.matches("^Bearer %S+$", body.headers["x-access-token"])
    -- issue 11: cleared in every mode, not only by move
    assert.is_nil(body.headers["x-consumer-authorization"])
  end)

  it("reuses the token until near expiry, then refreshes it", function()
    -- expires_in 30, refresh_before 25: served from the cache for 5 s, then refreshed while the
    -- first token still has 25 s to live. The windows are seconds wide so that a slow curl on a
    -- loaded machine cannot carry a request across one of them.
    local t0 = os.time() -- before the fetch, so the token's life starts after it
    local first_status, first = get("/expiring/x")
    assert.equal(200, first_status)
    local _, again = get("/expiring/x")
    assert.equal(first.headers.authorization, again.headers.authorization)
    assert.equal(1, issued("expiring"))
    H.sleep(5.5)
    local status, later = get("/expiring/x")
    assert.equal(200, status)
    assert.are_not.equal(first.headers.authorization, later.headers.authorization)
    assert.equal(2, issued("expiring"))
    -- the refresh came before the first token expired (whole seconds: less than 29 s passed),
    -- so it was refresh_before, not the expiry, that replaced it
    assert.is_true(os.time() - t0 <= 28, "took " .. (os.time() - t0) .. " s")
  end)

  it("fetches exactly one token for 64 concurrent requests across 2 workers", function()
    local urls = {}
    for i = 1, 64 do
      urls[i] = gw.base .. "/burst/r" .. i
    end
    local codes = H.parallel_get(urls)
    assert.same({ ["200"] = 64 }, codes)
    assert.equal(1, issued("burst"))
    assert.equal(1, idp.stats().by_path["/slow/0.5/token"])
  end)

  it("fetches exactly one token under wrk -c 64", function()
    local ok, out = H.sh("wrk -t 1 -c 64 -d 1s " .. H.q(gw.base .. "/wrk/load"))
    assert(ok, out)
    local requests = tonumber(out:match("(%d+) requests in"))
    assert.is_true(requests and requests >= 64, out)
    assert.is_nil(out:find("Non%-2xx"), out)
    assert.equal(1, issued("wrk"))
    -- requests wrk abandoned at its deadline may still be reaching the upstream: let them
    -- land before later tests compare the upstream's counters
    local last
    for _ = 1, 50 do
      local st = idp.stats()
      local now = st.upstream_ok + st.upstream_rejected
      if now == last then
        break
      end
      last = now
      H.sleep(0.3)
    end
  end)

  it("purges the token when the upstream answers 401, and recovers on the next request", function()
    local status, first = get("/purge/x")
    assert.equal(200, status)
    idp.post("/revoke-all")
    status = get("/purge/x")
    assert.equal(401, status)
    local later
    status, later = get("/purge/x")
    assert.equal(200, status)
    assert.are_not.equal(first.headers.authorization, later.headers.authorization)
    assert.equal(2, issued("purge"))
    assert.matches("cached access token purged", H.read(gw.log), 1, true)
  end)

  it("does not purge on statuses it was not told about", function()
    get("/purge/ok")
    local before = issued("purge")
    local status = get("/purge/status/403")
    assert.equal(403, status)
    status = get("/purge/status/500")
    assert.equal(500, status)
    get("/purge/ok")
    assert.equal(before, issued("purge"))
  end)

  describe("token endpoint failures give clean errors and proxy nothing", function()
    for _, case in ipairs({
      { "down", 503, "unreachable: connection refused" },
      { "timeout", 503, "unreachable: timeout" },
      { "garbage", 502, "not a JSON object" },
      { "notoken", 502, "no access_token" },
      { "idp500", 503, "HTTP 500" },
      { "badsecret", 502, "HTTP 401 (invalid_client" },
      -- the gateway trusts no CA here, so verification of the self-signed server must fail
      -- lua-resty-http's sslhandshake reports OpenSSL's verify error (X509_V_ERR 18)
      { "tls-verified", 503, "self-signed certificate" },
    }) do
      it(case[1] .. " -> " .. case[2], function()
        local before = idp.stats()
        local status, body, secs = get("/" .. case[1] .. "/x",
                                       { Authorization = "Bearer consumer-token" })
        assert.equal(case[2], status)
        assert.is_string(body.message)
        local after = idp.stats()
        assert.equal(before.upstream_ok, after.upstream_ok)
        assert.equal(before.upstream_rejected, after.upstream_rejected)
        -- fails fast: well under the slow endpoint's 10 s and the default 10 s read timeout
        assert.is_true(secs < 8, "took " .. secs .. " s")
        local log = H.read(gw.log)
        local lines = {}
        for line in log:gmatch("[^\n]*upstream%-oauth2[^\n]*") do
          if line:find("/" .. case[1] .. "/", 1, true) then
            lines[#lines + 1] = line
          end
        end
        local mine = table.concat(lines, "\n")
        if #lines == 0 then
          -- nginx cuts error lines at 2 KiB, which may drop the request part: take the last one
          local last
          for line in log:gmatch("[^\n]*cannot obtain an upstream access token[^\n]*") do
            last = line
          end
          mine = last or ""
        end
        assert.is_truthy(mine:find(case[3], 1, true),
          "no '" .. case[3] .. "' in the gateway's log lines for this route:\n" .. mine)
        assert.is_nil(log:find(SECRET, 1, true))
        assert.is_nil(log:find(BASIC_SECRET, 1, true))
      end)
    end

    it("recovers once the token endpoint works again (no failure is cached)", function()
      local s1 = get("/badsecret/x")
      local s2 = get("/badsecret/x")
      assert.equal(502, s1)
      assert.equal(502, s2)
      assert.equal(0, issued("badsecret"))
    end)
  end)
end)
