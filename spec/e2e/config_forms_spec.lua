-- dev/gateway reads the declarative forms `deck dump` and hand-written
-- kong.yml files use besides the nested one: top-level routes naming their
-- service, top-level plugins scoped with `service:`/`route:` (name or
-- {name=}), top-level keyauth_credentials naming their consumer, route-level
-- plugins and `enabled: false`. Each scope must end up on the requests Kong
-- would apply it to.
local H = require "spec.e2e.e2e_helpers"

local P = {}
local SECRET_A = "config-forms-secret-a-0123456789abcdef"
local SECRET_B = "config-forms-secret-b-0123456789abcdef"

local function config()
  return ([[
_format_version: "3.0"
services:
  - name: svc-a
    url: http://127.0.0.1:%d/a
  - name: svc-b
    url: http://127.0.0.1:%d/b
routes:
  - name: ra
    service: svc-a
    paths: [/ra]
  - name: ra-route-plugin
    service: { name: svc-a }
    paths: [/rp]
    plugins:
      - name: upstream-jwt
        config: { secret: %s, issuer: route-level }
  - name: ra-disabled
    service: svc-a
    paths: [/rd]
  - name: rb
    service: svc-b
    paths: [/rb]
consumers:
  - username: carol
    custom_id: c-1
keyauth_credentials:
  - key: carol-key
    consumer: carol
  - key: carol-key-2
    consumer: { username: carol }
plugins:
  - name: upstream-jwt
    service: svc-a
    config: { secret: %s, issuer: service-a }
  - name: upstream-jwt
    route: { name: ra-disabled }
    enabled: false
    config: { secret: %s, issuer: disabled }
  - name: key-auth
    service: { name: svc-b }
  - name: upstream-jwt
    config: { secret: %s, issuer: global }
]]):format(P.echo, P.echo, SECRET_A, SECRET_A, SECRET_A, SECRET_B)
end

describe("e2e: dev/gateway declarative config forms", function()
  local dir, group

  setup(function()
    dir, group = H.prepare(P, { "gateway", "echo", "gateway_bad" })
    H.start_echo_and_gateway(group, P, config())
  end)

  teardown(function()
    H.cleanup(dir, group)
  end)

  local function get(path, headers)
    local res = H.request({ url = H.url(P.gateway, path), headers = headers })
    local token = res.json and res.json.headers and res.json.headers["x-upstream-jwt"]
    return res, token and token[1]
  end

  local function verify(token, secret, iss, path)
    local key = dir .. "/key-" .. iss
    H.write(key, secret)
    local ok, out = H.cli_verify({ "--alg", "HS256", "--key", key, "--iss", iss, "--method", "GET",
                                   "--path", path, "--query", "" }, token)
    assert(ok, iss .. ": " .. out)
    return require("cjson").decode(out)
  end

  it("a top-level route naming its service by name gets the service-scoped plugin", function()
    local res, token = get("/ra/x")
    assert.equal(200, res.status, res.body)
    assert.equal("/a/x", res.json.target)
    local c = verify(token, SECRET_A, "service-a", "/a/x")
    assert.equal("svc-a", c.aud)
  end)

  it("a route-level plugin beats the service-level one", function()
    local res, token = get("/rp/y")
    assert.equal(200, res.status, res.body)
    verify(token, SECRET_A, "route-level", "/a/y")
  end)

  it("a disabled route-level plugin leaves the service-level one in force", function()
    local res, token = get("/rd/z")
    assert.equal(200, res.status, res.body)
    verify(token, SECRET_A, "service-a", "/a/z")
  end)

  it("top-level key-auth on {name=} service and top-level credentials naming the consumer", function()
    local before = H.stats(P.echo).requests
    local res = get("/rb/q")
    assert.equal(401, res.status)
    assert.equal(before, H.stats(P.echo).requests)
    for _, key in ipairs({ "carol-key", "carol-key-2" }) do
      local token
      res, token = get("/rb/q", { apikey = key })
      assert.equal(200, res.status, res.body)
      local c = verify(token, SECRET_B, "global", "/b/q")
      assert.equal("carol", c.consumer.username)
      assert.equal("c-1", c.consumer.custom_id)
      assert.equal(c.consumer.id, c.sub)
      assert.is_string(c.credential.id)
    end
  end)

  it("refuses to start a plugin Kong would not load (PRIORITY not an integer, VERSION not x.y.z)", function()
    local cases = {
      { handler = [[return { PRIORITY = 10, VERSION = "1.0.0.1" }]],
        err = 'Plugin "badplug" cannot be loaded because its VERSION field does not follow the "x.y.z" format, got: "1.0.0.1"' },
      { handler = [[return { PRIORITY = "10", VERSION = "1.0.0" }]],
        err = 'Plugin "badplug" cannot be loaded because its PRIORITY field is not a valid integer number, got: "10"' },
      { handler = [[return { PRIORITY = 1.5, VERSION = "1.0.0" }]],
        err = 'its PRIORITY field is not a valid integer number, got: "1.5"' },
    }
    local plugdir = dir .. "/plugins/kong/plugins/badplug"
    assert(H.sh("mkdir -p " .. H.q(plugdir)))
    H.write(plugdir .. "/schema.lua", [[return { name = "badplug", fields = {
      { config = { type = "record", fields = {} } } } }]])
    local cfg = H.write(dir .. "/badplug.yml", ([[
_format_version: "3.0"
services: [ { name: s, url: "http://127.0.0.1:%d" } ]
plugins: [ { name: badplug } ]
]]):format(P.echo))
    for _, case in ipairs(cases) do
      H.write(plugdir .. "/handler.lua", case.handler)
      local ok, out = H.sh("KONG_LUA_PACKAGE_PATH=" .. H.q(dir .. "/plugins/?.lua") .. " timeout 30 "
                           .. H.gateway_cmd(cfg, P.gateway_bad))
      assert.is_falsy(ok, out)
      assert.truthy(out:find(case.err, 1, true), out)
    end
  end)
end)
