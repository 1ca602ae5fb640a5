-- End to end through real nginx: client -> dev/gateway (key-auth +
-- upstream-jwt) -> the three example verifying services (Python/PyJWT,
-- Node/jose, nginx+Lua/native) and a counting echo upstream.
-- Every proxied request is verified by all three services.
local H = require "spec.e2e.e2e_helpers"

local PORTS = {} -- assigned in setup
local VERIFIERS = { "python", "node", "lua" }
local AUD = "e2e-services"
local KID = "e2e-1"
local MB = 1024 * 1024

local function config()
  local services = {}
  for _, name in ipairs(VERIFIERS) do
    services[#services + 1] = ([[
  - name: %s
    url: http://127.0.0.1:%d/api
    routes:
      - name: %s
        paths: [/%s]
      - name: %s-keep
        paths: [/keep/%s]
        strip_path: false
]]):format(name, PORTS[name], name, name, name, name)
  end
  return ([[
_format_version: "3.0"
services:
%s
  - name: echo
    url: http://127.0.0.1:%d/api
    routes:
      - name: echo
        paths: [/echo]
      - name: echo-small
        paths: [/small]
        plugins:
          - name: upstream-jwt
            config:
              secret: "{vault://env/e2e-jwt-secret}"
              key_id: %s
              audience: %s
              max_body_size: 1024
      - name: echo-novault
        paths: [/novault]
        plugins:
          - name: upstream-jwt
            config:
              secret: "{vault://env/e2e-unset-secret}"
              key_id: %s
              audience: %s
      - name: echo-strict
        paths: [/strict]
        plugins:
          - name: key-auth
consumers:
  - username: anonymous
  - username: alice
    custom_id: alice-0001
    keyauth_credentials:
      - key: alice-key
plugins:
  - name: key-auth
    config:
      anonymous: anonymous
  - name: upstream-jwt
    config:
      secret: "{vault://env/e2e-jwt-secret}"
      key_id: %s
      audience: %s
      ttl: 60
      max_body_size: 62914560
]]):format(table.concat(services), PORTS.echo, KID, AUD, KID, AUD, KID, AUD)
end

describe("e2e: gateway -> upstream-jwt -> verifying services", function()
  local dir, group, secret
  local files = {}
  local gw

  setup(function()
    dir, group = H.prepare(PORTS, { "gateway", "python", "node", "lua", "echo" })
    gw = H.url(PORTS.gateway)
    -- 43 base64url chars: printable (it travels in an env var), 258 bits.
    secret = H.random_secret(32)
    H.write(dir .. "/secret", secret)
    for _, n in ipairs({ 0, 1024, 8192, 8193, MB }) do
      files[n] = { path = H.random_file(dir .. "/body-" .. n, n) }
      files[n].digest = H.digest_file(files[n].path)
    end
    H.start_verifiers(group, { audience = AUD, ports = PORTS, keys = { { kid = KID, file = dir .. "/secret" } } })
    H.start_echo_and_gateway(group, PORTS, config(), {
      E2E_JWT_SECRET = secret,
      E2E_UNSET_SECRET = false,
    })
  end)

  teardown(function()
    H.cleanup(dir, group)
  end)

  -- Sends the request to every verifier through the gateway; each must
  -- answer 200 with the claims it verified. Returns name -> claims.
  local function via_all(opts, suffix)
    local out = {}
    for _, name in ipairs(VERIFIERS) do
      local o = {}
      for k, v in pairs(opts) do o[k] = v end
      o.url = gw .. "/" .. name .. suffix
      local res = H.request(o)
      assert.equal(200, res.status, name .. ": " .. res.body)
      assert.is_table(res.json, name .. ": " .. res.body)
      out[name] = res.json
    end
    return out
  end

  local function assert_claims(claims, expect)
    for name, c in pairs(claims) do
      for k, v in pairs(expect) do
        assert.same(v, c[k], name .. ": claim " .. k)
      end
      assert.equal("kong", c.iss, name)
      assert.equal(AUD, c.aud, name)
      assert.equal(60, c.exp - c.iat, name)
      assert.is_string(c.jti, name)
    end
  end

  describe("bodies", function()
    for _, n in ipairs({ 0, 1024, 8192, 8193, MB }) do
      it(("POST of %d bytes is signed over the exact bytes (memory or spilled file)"):format(n), function()
        local claims = via_all({ method = "POST", body_file = files[n].path }, "/upload")
        assert_claims(claims, { htm = "POST", htu = "/api/upload", body_sha256 = files[n].digest,
                                query_sha256 = H.digest("") })
      end)
    end

    it("50 MB body (spilled to disk) is hashed in chunks and verified by all three", function()
      local path = H.random_file(dir .. "/body-50mb", 50 * MB)
      local digest = H.digest_file(path)
      local claims = via_all({ method = "PUT", body_file = path }, "/big")
      assert_claims(claims, { htm = "PUT", htu = "/api/big", body_sha256 = digest })
      os.remove(path)
    end)

    it("chunked request bodies (small and spilled)", function()
      for _, n in ipairs({ 1024, MB }) do
        local claims = via_all({ method = "POST", body_file = files[n].path, chunked = true }, "/chunked")
        assert_claims(claims, { htm = "POST", htu = "/api/chunked", body_sha256 = files[n].digest })
      end
    end)

    it("what the upstream receives is what was hashed", function()
      local res = H.request({ method = "POST", url = gw .. "/echo/x", body_file = files[8193].path,
                              chunked = true })
      assert.equal(200, res.status)
      assert.equal(8193, res.json.body_length)
      assert.equal(files[8193].digest, res.json.body_sha256)
      local c = H.jwt_claims(res.json.headers["x-upstream-jwt"][1])
      assert.equal(res.json.body_sha256, c.body_sha256)
      assert.equal("/api/x", c.htu)
      assert.equal(res.json.target, c.htu)
    end)
  end)

  describe("methods and queries", function()
    for _, m in ipairs({ "GET", "POST", "PUT", "DELETE" }) do
      it(m .. " binds htm", function()
        local claims = via_all({ method = m, body = (m == "POST" or m == "PUT") and "x=1" or nil },
                               "/m/" .. m:lower())
        assert_claims(claims, { htm = m, htu = "/api/m/" .. m:lower(),
                                body_sha256 = H.digest((m == "POST" or m == "PUT") and "x=1" or "") })
      end)
    end

    it("repeated and percent-encoded query keys are hashed raw", function()
      local query = "a=1&a=2&b%5B%5D=x%20y&c=%E2%9C%93&d=&e"
      local claims = via_all({ method = "GET" }, "/q?" .. query)
      assert_claims(claims, { htu = "/api/q", query_sha256 = H.digest(query) })
      local res = H.request({ url = gw .. "/echo/q?" .. query })
      assert.equal("/api/q?" .. query, res.json.target)
    end)

    it("an empty query ('/path?') is kept and hashed as ''", function()
      local claims = via_all({ method = "GET" }, "/q?")
      assert_claims(claims, { htu = "/api/q", query_sha256 = H.digest("") })
      -- the '?' itself reaches the upstream (Kong's access.after keeps it)
      local res = H.request({ url = gw .. "/echo/q?" })
      assert.equal("/api/q?", res.json.target)
      assert.equal(H.digest(""), H.jwt_claims(res.json.headers["x-upstream-jwt"][1]).query_sha256)
    end)
  end)

  describe("routing", function()
    it("strip_path: htu is the path the upstream receives", function()
      for _, name in ipairs(VERIFIERS) do
        local res = H.request({ url = gw .. "/" .. name .. "/a/b" })
        assert.equal(200, res.status, res.body)
        assert.equal("/api/a/b", res.json.htu)
        res = H.request({ url = gw .. "/keep/" .. name .. "/a/b" })
        assert.equal(200, res.status, res.body)
        assert.equal("/api/keep/" .. name .. "/a/b", res.json.htu)
      end
      local res = H.request({ url = gw .. "/echo" })
      assert.equal("/api", res.json.target)
      assert.equal("/api", H.jwt_claims(res.json.headers["x-upstream-jwt"][1]).htu)
    end)

    it("percent-encoded paths: htu is the path as sent upstream (normalized like Kong)", function()
      local claims = via_all({ method = "GET" }, "/caf%C3%A9/a%20b/%7Euser/x%2fy")
      assert_claims(claims, { htu = "/api/caf%C3%A9/a%20b/~user/x%2Fy" })
      local res = H.request({ url = gw .. "/echo/caf%C3%A9/a%20b/%7Euser/x%2fy" })
      assert.equal("/api/caf%C3%A9/a%20b/~user/x%2Fy", res.json.target)
    end)

    it("404 with Kong's message when no route matches, nothing proxied", function()
      local before = H.stats(PORTS.echo).requests
      local res = H.request({ url = gw .. "/nowhere" })
      assert.equal(404, res.status)
      assert.equal("no Route matched with those values", H.kong_message(res))
      assert.equal(before, H.stats(PORTS.echo).requests)
    end)
  end)

  describe("consumers", function()
    it("anonymous requests carry the anonymous consumer and no credential", function()
      local claims = via_all({ method = "GET" }, "/who")
      for name, c in pairs(claims) do
        assert.equal("anonymous", c.consumer.username, name)
        assert.equal(c.consumer.id, c.sub, name)
        assert.is_nil(c.credential, name)
      end
    end)

    it("key-auth consumers are named with their credential", function()
      local claims = via_all({ method = "GET", headers = { apikey = "alice-key" } }, "/who")
      local id
      for name, c in pairs(claims) do
        assert.equal("alice", c.consumer.username, name)
        assert.equal("alice-0001", c.consumer.custom_id, name)
        assert.equal(c.consumer.id, c.sub, name)
        assert.is_string(c.credential.id, name)
        id = id or c.consumer.id
        assert.equal(id, c.consumer.id)
      end
      -- the key may also come in the query string
      local res = H.request({ url = gw .. "/python/who?apikey=alice-key" })
      assert.equal("alice", res.json.consumer.username)
    end)

    it("key-auth without anonymous answers 401 as Kong does, nothing proxied", function()
      local before = H.stats(PORTS.echo).requests
      local res = H.request({ url = gw .. "/strict/x" })
      assert.equal(401, res.status)
      assert.equal("No API key found in request", H.kong_message(res))
      -- Kong 3.9's key-auth: a realm only when its `realm` field is set
      assert.equal("Key", res.headers["www-authenticate"])
      res = H.request({ url = gw .. "/strict/x", headers = { apikey = "wrong" } })
      assert.equal(401, res.status)
      assert.equal("Unauthorized", H.kong_message(res))
      assert.equal(before, H.stats(PORTS.echo).requests)
      res = H.request({ url = gw .. "/strict/x", headers = { apikey = "alice-key" } })
      assert.equal(200, res.status)
      assert.equal("alice", H.jwt_claims(res.json.headers["x-upstream-jwt"][1]).consumer.username)
    end)
  end)

  describe("fails closed", function()
    it("a client-supplied token header never reaches the upstream", function()
      local forged = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJtYWxsb3J5In0.c2ln"
      local res = H.request({ url = gw .. "/echo/x", headers = { ["X-Upstream-JWT"] = { forged, "second" } } })
      assert.equal(200, res.status)
      local got = res.json.headers["x-upstream-jwt"]
      assert.equal(1, #got)
      assert.not_equal(forged, got[1])
      assert.equal("anonymous", H.jwt_claims(got[1]).consumer.username)
      local claims = via_all({ method = "GET", headers = { ["X-Upstream-JWT"] = forged } }, "/x")
      assert_claims(claims, { htu = "/api/x" })
    end)

    it("a body over max_body_size is refused with 413 and the upstream sees nothing", function()
      local before = H.stats(PORTS.echo).requests
      local res = H.request({ method = "POST", url = gw .. "/small/x", body_file = files[8193].path })
      assert.equal(413, res.status)
      -- without Content-Length (chunked), the body itself is measured
      res = H.request({ method = "POST", url = gw .. "/small/x", body_file = files[8193].path, chunked = true })
      assert.equal(413, res.status)
      res = H.request({ method = "POST", url = gw .. "/small/x", body_file = files[MB].path, chunked = true })
      assert.equal(413, res.status)
      assert.equal(before, H.stats(PORTS.echo).requests)
      -- at the limit it is signed
      res = H.request({ method = "POST", url = gw .. "/small/x", body_file = files[1024].path })
      assert.equal(200, res.status)
      assert.equal(before + 1, H.stats(PORTS.echo).requests)
    end)

    it("an unresolved vault reference answers 500 and the upstream sees nothing", function()
      local before = H.stats(PORTS.echo).requests
      local res = H.request({ method = "POST", url = gw .. "/novault/x", body = "hello" })
      assert.equal(500, res.status)
      -- the plugin's own kong.response.exit body (Kong's answers add a request_id)
      assert.same({ message = "An unexpected error occurred" }, res.json)
      assert.equal(before, H.stats(PORTS.echo).requests)
      -- the secret itself is never logged
      assert.is_nil(group:log("gateway"):find(secret, 1, true))
    end)
  end)

  describe("replay", function()
    local captured, token

    local function direct(name, opts)
      opts.url = H.url(PORTS[name], opts.path)
      opts.headers = { ["X-Upstream-JWT"] = token }
      return H.request(opts)
    end

    it("a captured token only verifies for the exact request it was minted for", function()
      captured = H.request({ method = "POST", url = gw .. "/echo/orders?id=7", body = "amount=10" })
      assert.equal(200, captured.status)
      token = captured.json.headers["x-upstream-jwt"][1]
      assert.equal("/api/orders?id=7", captured.json.target)
      for _, name in ipairs(VERIFIERS) do
        local cases = {
          { { method = "POST", path = "/api/orders?id=7", body = "amount=99" }, "body_mismatch" },
          { { method = "POST", path = "/api/refunds?id=7", body = "amount=10" }, "path_mismatch" },
          { { method = "PUT", path = "/api/orders?id=7", body = "amount=10" }, "method_mismatch" },
          { { method = "POST", path = "/api/orders?id=8", body = "amount=10" }, "query_mismatch" },
        }
        for _, case in ipairs(cases) do
          local res = direct(name, case[1])
          assert.equal(401, res.status, name .. " " .. case[2])
          assert.same({ error = case[2] }, res.json, name)
        end
        -- the untouched request verifies (the token is genuine)...
        local res = direct(name, { method = "POST", path = "/api/orders?id=7", body = "amount=10" })
        assert.equal(200, res.status, name .. ": " .. res.body)
        assert.equal(H.jwt_claims(token).jti, res.json.jti)
      end
    end)

    it("tampered or unsigned tokens are refused", function()
      local h, p, s = token:match("^([^.]+)%.([^.]+)%.([^.]+)$")
      local other = p:sub(1, -2) .. (p:sub(-1) == "A" and "B" or "A")
      for _, name in ipairs(VERIFIERS) do
        local res = H.request({ method = "POST", url = "http://127.0.0.1:" .. PORTS[name] .. "/api/orders?id=7",
                                body = "amount=10", headers = { ["X-Upstream-JWT"] = h .. "." .. other .. "." .. s } })
        assert.equal(401, res.status, name)
        res = H.request({ url = "http://127.0.0.1:" .. PORTS[name] .. "/api/x" })
        assert.equal(401, res.status, name)
        assert.same({ error = "missing_token" }, res.json, name)
        -- two token headers, even both genuine: ambiguous, refused
        res = H.request({ method = "POST", url = "http://127.0.0.1:" .. PORTS[name] .. "/api/orders?id=7",
                          body = "amount=10", headers = { ["X-Upstream-JWT"] = { token, token } } })
        assert.equal(401, res.status, name)
        assert.same({ error = "malformed" }, res.json, name)
      end
    end)

    it("every verifier counted only what it was sent", function()
      for _, name in ipairs(VERIFIERS) do
        local st = H.stats(PORTS[name])
        assert.is_true(st.verified >= 20, name .. ": " .. require("cjson").encode(st))
        assert.equal(st.requests, st.verified + st.rejected, name)
      end
    end)
  end)
end)
