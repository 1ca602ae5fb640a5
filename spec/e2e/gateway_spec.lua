-- dev/gateway itself: lifecycle, config errors, Kong 3.x routing and
-- upstream URI rules, Host / X-Forwarded-* headers, key-auth, plugin
-- scoping, phases and PDK behaviour (with the e2e-phases test plugin).
local H = require "spec.e2e.e2e_helpers"

local P = {} -- ports, assigned in setup
local PLUGINS_PATH = H.root .. "/spec/e2e/support/plugins/?.lua"

local function config()
  return ([[
_format_version: "3.0"
services:
  - name: plain
    url: http://127.0.0.1:%d/s
    routes:
      - name: short
        paths: [/p]
        plugins:
          - name: e2e-phases
            config: { label: route-short }
      - name: long
        paths: [/p/longer]
      - name: nostrip
        paths: [/ns]
        strip_path: false
      - name: regex
        paths: ['~/re/\d+$']
      - name: methods
        paths: [/m]
        methods: [POST]
      - name: trailing
        paths: [/t/]
      - name: preserve
        paths: [/preserve]
        preserve_host: true
      - name: v1
        paths: [/v1]
        path_handling: v1
      - name: hosted
        hosts: [hosted.example.test]
        paths: [/p]
  - name: slash
    url: http://127.0.0.1:%d/s/
    routes:
      - name: slash
        paths: [/slash]
    plugins:
      - name: e2e-phases
        enabled: false
        config: { label: disabled-on-service }
  - name: root
    protocol: http
    host: localhost
    port: %d
    routes:
      - name: rootr
        paths: [/root]
    plugins:
      - name: key-auth
        config:
          hide_credentials: true
  - name: down
    url: http://127.0.0.1:%d
    routes:
      - name: down
        paths: [/down]
routes:
  - name: toplevel
    service: root
    paths: [/top]
consumers:
  - username: alice
    keyauth_credentials:
      - key: k-alice
  - username: bob
    custom_id: bob-1
    keyauth_credentials:
      - key: k-bob
        id: 6b3a2a4e-0000-4000-8000-00000000b0b1
plugins:
  - name: e2e-phases
    config:
      label: global
      fail_on_header: X-E2E-Fail
      token: "{vault://env/e2e-phases/token}"
]]):format(P.echo, P.echo, P.echo, P.down)
end

local UUID = "^%x%x%x%x%x%x%x%x%-%x%x%x%x%-4%x%x%x%-[89ab]%x%x%x%-%x%x%x%x%x%x%x%x%x%x%x%x$"

describe("e2e: dev/gateway", function()
  local dir, group, gw_pid, gw_log
  local gw

  local function get(path, opts)
    opts = opts or {}
    opts.url = gw .. path
    return H.request(opts)
  end

  -- Path the echo upstream received for a request through the gateway.
  local function upstream_target(path, opts)
    local res = get(path, opts)
    assert.equal(200, res.status, path .. ": " .. res.body)
    return res.json.target, res
  end

  setup(function()
    dir, group = H.prepare(P, { "gw", "echo", "gw2", "down", "gw_bad", "gw3" })
    gw = H.url(P.gw)
    H.start_echo(group, "echo", P.echo)
    local cfg = H.write(dir .. "/kong.yml", config())
    -- Started from another directory: the gateway finds the repo from its own path.
    gw_pid, gw_log = group:start("gateway", "sh -c " .. H.q("cd / && exec " .. H.gateway_cmd(cfg, P.gw)),
      P.gw, {
        UPSTREAM_JWT_LIB = H.lib,
        KONG_LUA_PACKAGE_PATH = PLUGINS_PATH,
        E2E_PHASES = '{"token":"tok-123"}',
      })
  end)

  teardown(function()
    H.cleanup(dir, group)
  end)

  describe("routing and upstream URI (Kong 3.x, path_handling v0)", function()
    it("strips the matched prefix and joins it to the service path", function()
      assert.equal("/s", upstream_target("/p"))
      assert.equal("/s/", upstream_target("/p/"))
      assert.equal("/s/x/y", upstream_target("/p/x/y"))
      assert.equal("/s/x", upstream_target("/px"))
      assert.equal("/s/a/b?q=1&q=2", upstream_target("/p/a/b?q=1&q=2"))
    end)

    it("the longest prefix wins", function()
      local target, res = upstream_target("/p/longer/y")
      assert.equal("/s/y", target)
      assert.equal("long", res.json.headers["x-e2e-route"][1])
      target, res = upstream_target("/p/long")
      assert.equal("/s/long", target)
      assert.equal("short", res.json.headers["x-e2e-route"][1])
    end)

    it("a route with hosts and paths beats one with paths only", function()
      local _, res = upstream_target("/p/x", { headers = { Host = "hosted.example.test:8000" } })
      assert.equal("hosted", res.json.headers["x-e2e-route"][1])
      _, res = upstream_target("/p/x", { headers = { Host = "other.example.test" } })
      assert.equal("short", res.json.headers["x-e2e-route"][1])
    end)

    it("strip_path false keeps the request path", function()
      assert.equal("/s/ns/a", upstream_target("/ns/a"))
    end)

    it("regex paths (~) strip the whole match", function()
      assert.equal("/s", upstream_target("/re/42"))
      assert.equal(404, get("/re/x").status)
    end)

    it("methods restrict a route", function()
      assert.equal(404, get("/m").status)
      assert.equal("/s", upstream_target("/m", { method = "POST", body = "" }))
    end)

    it("trailing slashes follow Kong's v0 table", function()
      assert.equal("/s/abc", upstream_target("/t/abc"))
      assert.equal("/s/", upstream_target("/t/"))
      assert.equal("/s", upstream_target("/slash"))
      assert.equal("/s/", upstream_target("/slash/"))
      assert.equal("/s/x", upstream_target("/slash/x"))
      assert.equal("/s/x", upstream_target("/slashx"))
    end)

    it("path_handling v1 concatenates", function()
      assert.equal("/s/x", upstream_target("/v1/x"))
      assert.equal("/sx", upstream_target("/v1x"))
    end)

    it("a service without path, and a top-level route naming its service", function()
      assert.equal("/a", upstream_target("/root/a", { headers = { apikey = "k-alice" } }))
      assert.equal("/", upstream_target("/root", { headers = { apikey = "k-alice" } }))
      assert.equal("/", upstream_target("/top", { headers = { apikey = "k-alice" } }))
    end)

    it("normalizes the path: dot segments, unreserved escapes decoded, reserved kept", function()
      assert.equal("/s/b", upstream_target("/p/a/../b"))
      assert.equal("/s/~user", upstream_target("/p/%7Euser"))
      assert.equal("/s/a%2Fb", upstream_target("/p/a%2fb"))
    end)

    it("404 and 502 answer with Kong's JSON messages", function()
      local res = get("/nothing")
      assert.equal(404, res.status)
      assert.equal("no Route matched with those values", H.kong_message(res))
      res = get("/down")
      assert.equal(502, res.status)
      assert.equal("An invalid response was received from the upstream server", H.kong_message(res))
    end)

    -- issue 11 item 6: nginx refuses these request lines before any phase runs; the answer is
    -- Kong's error handler's 400, not a 500 from an error page that expected a parsed request.
    it("answers 400 Bad request to a malformed request line, and proxies nothing", function()
      local before = H.stats(P.echo).requests
      for _, line in ipairs({ "get / HTTP/1.1", "OPTIONS * HTTP/1.1", " " }) do
        local ok, out = H.sh("python3 -c " .. H.q([[
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(sys.argv[2].encode() + b"\r\nHost: x\r\n\r\n")
data = b""
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    data += chunk
sys.stdout.write(data.decode("latin-1"))
]]) .. " " .. P.gw .. " " .. H.q(line))
        assert(ok, out)
        assert.matches("^HTTP/1%.1 400 Bad Request\r\n", out, nil, false, line)
        assert.matches("\r\n\r\nBad request\nrequest_id: %x+\n$", out, nil, false, line)
      end
      assert.equal(before, H.stats(P.echo).requests)
    end)
  end)

  describe("upstream headers", function()
    it("Host is the service host (port included) unless preserve_host", function()
      local _, res = upstream_target("/p/x")
      assert.equal("127.0.0.1:" .. P.echo, res.json.headers.host[1])
      _, res = upstream_target("/root/x", { headers = { apikey = "k-alice" } })
      assert.equal("localhost:" .. P.echo, res.json.headers.host[1])
      _, res = upstream_target("/preserve/x", { headers = { Host = "api.example.test" } })
      assert.equal("api.example.test", res.json.headers.host[1])
    end)

    it("X-Forwarded-* and X-Real-IP as Kong sets them", function()
      local _, res = upstream_target("/p/x?y=1")
      local h = res.json.headers
      assert.equal("127.0.0.1", h["x-forwarded-for"][1])
      assert.equal("http", h["x-forwarded-proto"][1])
      assert.equal(tostring(P.gw), h["x-forwarded-port"][1])
      assert.equal("/p/x", h["x-forwarded-path"][1])
      assert.equal("/p", h["x-forwarded-prefix"][1])
      assert.equal("127.0.0.1", h["x-real-ip"][1])
    end)
  end)

  describe("key-auth", function()
    it("401 without a key or with a wrong one", function()
      local res = get("/root/x")
      assert.equal(401, res.status)
      assert.equal("No API key found in request", H.kong_message(res))
      res = get("/root/x", { headers = { apikey = "nope" } })
      assert.equal(401, res.status)
      assert.equal("Unauthorized", H.kong_message(res))
      res = get("/root/x?apikey=")
      assert.equal(401, res.status)
      assert.equal("No API key found in request", H.kong_message(res))
      res = get("/root/x?apikey=k-bob&apikey=k-alice")
      assert.equal(401, res.status)
      assert.equal("Duplicate API key found", H.kong_message(res))
    end)

    it("identifies the consumer and hides the credential when configured", function()
      local target, res = upstream_target("/root/x?apikey=k-bob&y=2")
      assert.equal("/x?y=2", target)
      local h = res.json.headers
      assert.equal("bob", h["x-consumer-username"][1])
      assert.equal("bob-1", h["x-consumer-custom-id"][1])
      assert.matches(UUID, h["x-consumer-id"][1])
      assert.equal("6b3a2a4e-0000-4000-8000-00000000b0b1", h["x-credential-identifier"][1])
      assert.is_nil(h["x-anonymous-consumer"])
      _, res = upstream_target("/root/x", { headers = { apikey = "k-alice" } })
      assert.is_nil(res.json.headers.apikey)
      assert.equal("alice", res.json.headers["x-consumer-username"][1])
    end)
  end)

  describe("plugins", function()
    it("run in PRIORITY order through all phases, with per-plugin and shared ctx", function()
      local res = get("/root/x", { headers = { apikey = "k-bob" } })
      assert.equal(200, res.status)
      assert.equal("label=global;consumer_at_access=none;consumer_now=bob;upstream_status=200",
                   res.headers["x-e2e-phases"])
      -- the log phase runs after the response went out: poll for its line (the deadline only
      -- bounds a hang)
      local want = "[e2e-phases] log phase: label=global bytes=" .. #res.body
      local log
      local deadline = os.time() + 20
      repeat
        H.sleep(0.05)
        log = H.read(gw_log)
      until log:find(want, 1, true) or os.time() > deadline
      assert.truthy(log:find("[e2e-phases] access ran for global", 1, true))
      assert.truthy(log:find(want, 1, true))
    end)

    it("route beats service beats global; disabled instances are skipped", function()
      local _, res = upstream_target("/p/x")
      assert.equal("route-short", res.json.headers["x-e2e-label"][1])
      _, res = upstream_target("/slash/x")
      assert.equal("global", res.json.headers["x-e2e-label"][1])
    end)

    it("resolves {vault://env/NAME/KEY} references from a JSON env variable", function()
      local _, res = upstream_target("/p/longer/x")
      assert.equal("tok-123", res.json.headers["x-e2e-token"][1])
    end)

    it("a plugin error is a 500 with Kong's message, and nothing is proxied", function()
      local before = H.stats(P.echo).requests
      local res = get("/p/longer/x", { headers = { ["X-E2E-Fail"] = "1" } })
      assert.equal(500, res.status)
      assert.equal("An unexpected error occurred", H.kong_message(res))
      assert.equal(before, H.stats(P.echo).requests)
    end)
  end)

  describe("lifecycle", function()
    it("refuses an unknown plugin before starting nginx", function()
      local bad = H.write(dir .. "/unknown.yml", [[
_format_version: "3.0"
services:
  - name: s
    url: http://127.0.0.1:1
    routes: [{ paths: [/] }]
    plugins:
      - name: no-such-plugin
]])
      local ok, out = H.sh(H.gateway_cmd(bad, P.gw_bad))
      assert.is_false(ok)
      assert.truthy(out:find("no-such-plugin", 1, true), out)
      assert.is_nil(out:find("start worker", 1, true))
    end)

    it("refuses a config the plugin schema rejects, naming plugin and field", function()
      local bad = H.write(dir .. "/badconf.yml", [[
_format_version: "3.0"
services:
  - name: s
    url: http://127.0.0.1:1
    routes: [{ paths: [/] }]
plugins:
  - name: upstream-jwt
    config:
      secret: "{vault://env/whatever}"
      ttl: 99999
  - name: key-auth
    config:
      key_names: ["bad header"]
]])
      local ok, out, rc = H.sh(H.gateway_cmd(bad, P.gw_bad))
      assert.is_false(ok)
      assert.not_equal(0, rc)
      assert.truthy(out:find("upstream-jwt", 1, true), out)
      -- Kong's own message, from Kong's schema library
      assert.truthy(out:find("plugin 'upstream-jwt': schema violation (config.ttl: value should be "
                             .. "between 1 and 3600)", 1, true), out)
      local missing = H.write(dir .. "/missing.yml", [[
_format_version: "3.0"
services:
  - name: s
    url: http://127.0.0.1:1
    routes: [{ paths: [/] }]
plugins:
  - name: e2e-phases
    config: {}
]])
      ok, out = H.sh("KONG_LUA_PACKAGE_PATH=" .. H.q(PLUGINS_PATH) .. " " .. H.gateway_cmd(missing, P.gw_bad))
      assert.is_false(ok)
      assert.truthy(out:find("e2e-phases", 1, true), out)
      assert.truthy(out:find("label", 1, true), out)
      assert.is_false(H.sh("curl -s -o /dev/null " .. H.url(P.gw_bad, "/")))
    end)

    it("serves a config without any vault reference (literal secret)", function()
      local secret = "literal-secret-of-at-least-32-bytes!!"
      local cfg = H.write(dir .. "/literal.yml", ([[
_format_version: "3.0"
services:
  - name: lit
    url: http://127.0.0.1:%d
    routes: [{ paths: [/] }]
plugins:
  - name: upstream-jwt
    config:
      secret: %q
]]):format(P.echo, secret))
      local pid = group:start("literal", H.gateway_cmd(cfg, P.gw3), P.gw3, { UPSTREAM_JWT_LIB = H.lib })
      local res = H.request({ url = H.url(P.gw3, "/a?b=c") })
      assert.equal(200, res.status, res.body)
      local token = res.json.headers["x-upstream-jwt"][1]
      -- the project's CLI verifies what the gateway signed
      local key = H.write(dir .. "/literal.key", secret)
      local ok, out = H.cli_verify({ "--alg", "HS256", "--key", key, "--iss", "kong", "--aud", "lit",
                                     "--method", "GET", "--path", "/a", "--query", "b=c",
                                     "--body", "/dev/null" }, token)
      assert(ok, out)
      assert.equal("lit", H.jwt_claims(token).aud)
      assert.is_true(H.stop(pid))
    end)

    it("runs several at once; stops cleanly on SIGTERM and removes its prefix", function()
      local cfg = H.write(dir .. "/second.yml", config())
      local exitfile = dir .. "/second.exit"
      local pidfile = dir .. "/second.pid"
      local log = dir .. "/second.log"
      -- the wrapper records the gateway's own exit status
      H.spawn("sh -c " .. H.q(H.gateway_cmd(cfg, P.gw2)
                              .. " & echo $! > " .. pidfile .. "; wait $!; echo $? > " .. exitfile),
              log, { UPSTREAM_JWT_LIB = H.lib, KONG_LUA_PACKAGE_PATH = PLUGINS_PATH,
                     GATEWAY_WORKERS = "2", E2E_PHASES = '{"token":"t"}' })
      H.wait_http(P.gw2, nil, log)
      local pid = tonumber(H.read(pidfile))
      assert.equal("/s/x", H.request({ url = H.url(P.gw2, "/p/x") }).json.target)
      assert.equal("/s/x", upstream_target("/p/x"))

      local ok, master = H.sh("pgrep -P " .. pid .. " nginx")
      assert(ok, master)
      local _, workers = H.sh("pgrep -P " .. master:match("%d+"))
      local n = 0
      for _ in workers:gmatch("%d+") do n = n + 1 end
      assert.equal(2, n)

      local prefix = H.read(log):match("nginx prefix (%S+)")
      assert.truthy(prefix)
      assert.truthy(H.read(prefix .. "/conf/nginx.conf"))
      H.sh("kill -TERM " .. pid)
      -- the deadline only bounds a hang: a loaded machine may need seconds to stop nginx
      local deadline = os.time() + 30
      while not H.read(exitfile) and os.time() <= deadline do
        H.sleep(0.05)
      end
      assert.equal("0", (H.read(exitfile) or "?"):match("%S+"))
      assert.is_nil(H.read(prefix .. "/conf/nginx.conf"))
      assert.is_false(H.sh("curl -s -o /dev/null " .. H.url(P.gw2, "/")))
      assert.is_false(H.sh("pgrep -P " .. master:match("%d+")))
      -- the first gateway is unaffected
      assert.equal("/s/x", upstream_target("/p/x"))
    end)
  end)
end)
