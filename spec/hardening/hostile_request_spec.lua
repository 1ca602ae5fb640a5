-- Bad-input table, request rows (docs/SECURITY.md): hostile clients against
-- the real gateway (dev/gateway), with a counting echo upstream that shows
-- exactly what arrived. Every token that reaches the upstream is checked
-- here with the native verifier, bound to the request the upstream saw.
local H = require "spec.e2e.e2e_helpers"
local native = require "kong.plugins.upstream-jwt.native"
local cjson = require "cjson.safe"
package.path = H.root .. "/spec/hardening/support/?.lua;" .. package.path
local craft = require "craft"

local PORT = tonumber(os.getenv("HARDENING_PORT") or "21000") + 50
local GW, ECHO = PORT, PORT + 1
local hdir = os.getenv("HARDENING_DIR") or (H.root .. "/build-hardening")
-- A username built to break a header or a hand-rolled JSON encoder.
local EVIL = 'mallory"\r\nX-Injected: yes\\",\"admin\":true'

local function config()
  return ([[
_format_version: "3.0"
services:
  - name: echo
    url: http://127.0.0.1:%d
    routes:
      - name: echo
        paths: [/echo]
    plugins:
      - name: upstream-jwt
        config:
          secret: "{vault://env/hardening-hostile-secret}"
          key_id: hostile-1
          audience: hardening
          max_body_size: 1048576
consumers:
  - username: anonymous
  - username: %s
    keyauth_credentials:
      - key: mallory-key
plugins:
  - name: key-auth
    config:
      key_names: [apikey]
      anonymous: anonymous
]]):format(ECHO, cjson.encode(EVIL))  -- JSON is YAML: a safe way to quote it
end

describe("hardening: hostile requests through dev/gateway", function()
  local dir, group, secret, verifier

  local function echo_count()
    local r = H.request({ url = ("http://127.0.0.1:%d/__stats"):format(ECHO) })
    return r.json.requests
  end

  -- The one token the upstream got, verified against what it received.
  local function verified_claims(echo)
    local tokens = echo.headers["x-upstream-jwt"]
    assert.equal(1, #tokens, "the upstream got " .. #tokens .. " token headers")
    local path, query = echo.target:match("^([^?]*)%??(.*)$")
    local claims, reason, msg = verifier:verify(tokens[1], {
      issuer = "kong", audience = "hardening", method = echo.method, path = path,
      query = query, body_sha256 = echo.body_sha256,
    })
    assert.truthy(claims, tostring(reason) .. ": " .. tostring(msg))
    return cjson.decode(claims)
  end

  local function raw(case, path)
    local ok, out = H.sh(("/usr/bin/python3 %s %d %s %s"):format(
      H.q(H.root .. "/spec/hardening/support/rawhttp.py"), GW, case, H.q(path)))
    assert(ok, out)
    return cjson.decode(out)
  end

  setup(function()
    dir = H.tmpdir()
    group = H.new_group(dir)
    local rnd = io.open("/dev/urandom", "rb")
    secret = craft.b64url(rnd:read(32))
    rnd:close()
    os.execute("mkdir -p " .. H.q(hdir .. "/logs"))
    local f = assert(io.open(hdir .. "/secrets.list", "a"))
    f:write(secret, "\n", "mallory-key", "\n")
    f:close()
    verifier = assert(native.new_verifier())
    assert(verifier:add_key("HS256", secret, "hostile-1"))
    H.start_echo(group, "echo", ECHO)
    H.start_gateway(group, "gateway", config(), GW, { HARDENING_HOSTILE_SECRET = secret })
  end)

  teardown(function()
    if group then
      group:stop_all()
      -- keep the logs for the secrets-grep spec, then drop the scratch dir
      H.sh(("cp %s/gateway.log %s/logs/hostile-gateway.log"):format(H.q(dir), H.q(hdir)))
    end
    H.rmdir(dir)
  end)

  it("a spoofed token header, sent twice and in another case, is replaced by exactly one real token", function()
    local r = H.request({ url = ("http://127.0.0.1:%d/echo/spoof?x=1"):format(GW),
                          headers = { ["X-Upstream-JWT"] = { "forged.a.b", "forged.c.d" },
                                      ["x-upstream-jwt"] = "forged.e.f" } })
    assert.equal(200, r.status)
    verified_claims(r.json)
  end)

  it("a consumer username with CR/LF and quotes is escaped inside the claims, no header is injected", function()
    local r = H.request({ url = ("http://127.0.0.1:%d/echo/me"):format(GW),
                          headers = { apikey = "mallory-key" } })
    assert.equal(200, r.status)
    assert.is_nil(r.json.headers["x-injected"])
    local c = verified_claims(r.json)
    assert.equal(EVIL, c.consumer.username)
    assert.is_nil(c.admin)
  end)

  it("a 2 GB Content-Length lie is refused with 413 before the body is read; nothing is proxied", function()
    local before = echo_count()
    local r = raw("cl_lie_2g", "/echo/big")
    assert.equal(413, r.status)
    assert.is_true(r.elapsed_s < 5)
    assert.equal(before, echo_count())
    assert.truthy(group:log("gateway"):find(
      "request body of 2147483648 bytes exceeds max_body_size 1048576", 1, true))
  end)

  it("a body shorter than its Content-Length, then a closed connection: nothing is proxied", function()
    local before = echo_count()
    raw("cl_lie_short", "/echo/short")
    H.sleep(0.5)
    assert.equal(before, echo_count())
  end)

  it("a chunked body cut off mid-way: nothing is proxied", function()
    local before = echo_count()
    raw("chunked_truncated", "/echo/chunked")
    H.sleep(0.5)
    assert.equal(before, echo_count())
  end)

  it("a slow body (2000 bytes dribbled over 1 s) is signed over exactly what arrived", function()
    local r = raw("slow_body", "/echo/slow?q=1")
    assert.equal(200, r.status, r.body)
    local echo = cjson.decode(r.body)
    assert.equal(2000, echo.body_length)
    local c = verified_claims(echo)
    assert.equal("POST", c.htm)
    assert.equal("/slow", c.htu)
  end)

  it("a body over max_body_size is refused with 413; nothing is proxied", function()
    local before = echo_count()
    local r = H.request({ method = "POST", url = ("http://127.0.0.1:%d/echo/too-big"):format(GW),
                          body = ("z"):rep(1048577) })
    assert.equal(413, r.status)
    assert.equal(before, echo_count())
  end)
end)
