-- config.bind_headers end to end: dev/gateway signs, a raw upstream records
-- the exact headers it receives, and a PyJWT verifier
-- (spec/e2e/support/verify_bound.py, hashlib for the digest) and the
-- project's CLI (`verify --header`) check the binding over them, as a service
-- would. A header changed after signing (here
-- by a plugin that runs after upstream-jwt, as ai-request-transformer or a
-- post-function would) is caught; a client's underscore spelling of a bound
-- header never reaches the service.
local H = require "spec.e2e.e2e_helpers"
local R = require "spec.e2e.rawwire_helpers"
local cjson = require "cjson"

local P = {}
local SECRET = "bind-headers-e2e-secret-0123456789abcdef"
local PLUGINS_PATH = H.root .. "/spec/e2e/support/plugins/?.lua"

local function config()
  return ([[
_format_version: "3.0"
services:
  - name: bound
    url: http://127.0.0.1:%d/api
    plugins:
      - name: upstream-jwt
        config:
          secret: %s
          bind_headers: [X-HTTP-Method-Override, Content-Type]
    routes:
      - name: bind
        paths: [/bind]
      - name: overridden
        paths: [/overridden]
        plugins:
          - name: e2e-late-rewrite
            config:
              set:
                X-HTTP-Method-Override: DELETE
      - name: retyped
        paths: [/retyped]
        plugins:
          - name: e2e-late-rewrite
            config:
              set:
                Content-Type: application/x-www-form-urlencoded
      - name: tenant
        paths: [/tenant]
        plugins:
          - name: upstream-jwt
            config:
              secret: %s
              bind_headers: [X_Tenant]
      - name: unbound
        paths: [/unbound]
        plugins:
          - name: upstream-jwt
            config:
              secret: %s
]]):format(P.upstream, SECRET, SECRET, SECRET)
end

local secret_file

-- Runs the PyJWT verifier on what the upstream received. Returns ok, output.
local function verify(seen, required)
  return H.sh(table.concat({ "/usr/bin/python3", H.q(H.root .. "/spec/e2e/support/verify_bound.py"),
                             H.q(secret_file), "bound", H.q(seen.token),
                             H.q(cjson.encode(seen.headers)), H.q(required or "") }, " "))
end

-- The same check with the project's CLI (`verify --header ... --require-headers`).
-- Returns ok, output.
local function cli_verify(seen, required)
  local args = { "--alg", "HS256", "--key", secret_file, "--aud", "bound", "--iss", "kong" }
  for _, h in ipairs(seen.headers) do
    args[#args + 1] = "--header"
    args[#args + 1] = h[1] .. ": " .. h[2]
  end
  if required then
    args[#args + 1] = "--require-headers"
    args[#args + 1] = required
  end
  return H.cli_verify(args, seen.token)
end

local function post(path, lines, body)
  body = body or '{"id":7}'
  lines[#lines + 1] = "Content-Length: " .. #body
  local res = R.send(P.gateway, R.request("POST", path, lines, body))
  assert.equal(200, res.status, res.body)
  return R.received(res)
end

describe("e2e: bind_headers", function()
  local dir, group

  setup(function()
    dir, group = R.start_upstream_and_gateway(P, config, { KONG_LUA_PACKAGE_PATH = PLUGINS_PATH })
    secret_file = H.write(dir .. "/secret", SECRET)
  end)

  teardown(function()
    H.cleanup(dir, group)
  end)

  it("signs the bound headers as the upstream receives them; the verifier accepts", function()
    local seen = post("/bind/o", { "Content-Type: application/json", "X-HTTP-Method-Override: PATCH" })
    local ok, out = verify(seen, "X-HTTP-Method-Override")
    assert(ok, out)
    local cli_ok, cli_out = cli_verify(seen, "X-HTTP-Method-Override")
    assert(cli_ok, cli_out)
    local claims = cjson.decode(out)
    assert.same({ "x-http-method-override", "content-type" }, claims.hdrs)
    assert.equal(H.digest("x-http-method-override:PATCH\ncontent-type:application/json\n"),
                 claims.hdr_sha256)
  end)

  it("catches X-HTTP-Method-Override set after signing", function()
    local seen = post("/overridden/o", { "Content-Type: application/json" })
    local names = {}
    for _, h in ipairs(seen.headers) do
      names[#names + 1] = h[1]:lower() .. "=" .. h[2]
    end
    assert.matches("x-http-method-override=DELETE", table.concat(names, " "), 1, true)
    local ok, out = verify(seen)
    assert.is_false(ok)
    assert.matches("header_mismatch", out, 1, true)
    ok, out = cli_verify(seen)
    assert.is_false(ok)
    assert.matches("header_mismatch", out, 1, true)
  end)

  it("catches a Content-Type changed after signing", function()
    local seen = post("/retyped/o", { "Content-Type: application/json" })
    local ok, out = verify(seen)
    assert.is_false(ok)
    assert.matches("header_mismatch", out, 1, true)
    ok, out = cli_verify(seen)
    assert.is_false(ok)
    assert.matches("header_mismatch", out, 1, true)
  end)

  it("removes a client's X_HTTP_Method_Override, so a folding server cannot read it", function()
    local seen = post("/bind/o", { "X_HTTP_Method_Override: DELETE", "Content-Type: application/json" })
    assert.same({}, R.spelled_like(seen, "x-http-method-override"))
    assert.is_nil(seen.raw:find("DELETE", 1, true))
    local ok, out = verify(seen)
    assert(ok, out)
    assert.equal(H.digest("x-http-method-override:\ncontent-type:application/json\n"),
                 cjson.decode(out).hdr_sha256)
  end)

  it("keeps only the configured spelling of a bound name with '_'", function()
    local seen = post("/tenant/o", { "X-Tenant: evil", "X_Tenant: acme" })
    assert.same({ { "X_Tenant", "acme" } }, R.spelled_like(seen, "x-tenant"))
    local ok, out = verify(seen)
    assert(ok, out)
    assert.equal(H.digest("x_tenant:acme\n"), cjson.decode(out).hdr_sha256)
    assert(cli_verify(seen))
  end)

  it("binds a header repeated, in order, and one sent after 120 others", function()
    local lines = {}
    for i = 1, 120 do
      lines[i] = ("X-Filler-%03d: %d"):format(i, i)
    end
    lines[#lines + 1] = "X-HTTP-Method-Override: DELETE"
    lines[#lines + 1] = "Content-Type: text/plain"
    lines[#lines + 1] = "X-HTTP-Method-Override: PUT"
    local seen = post("/bind/o", lines, "hello")
    local ok, out = verify(seen)
    assert(ok, out)
    assert(cli_verify(seen))
    assert.equal(H.digest("x-http-method-override:DELETE, PUT\ncontent-type:text/plain\n"),
                 cjson.decode(out).hdr_sha256)
  end)

  it("lets a service that requires the binding refuse a token without it", function()
    local seen = post("/unbound/o", { "Content-Type: application/json", "X-HTTP-Method-Override: DELETE" })
    assert.is_nil(H.jwt_claims(seen.token).hdrs)
    local ok, out = verify(seen, "X-HTTP-Method-Override")
    assert.is_false(ok)
    assert.matches("missing_claim", out, 1, true)
    ok, out = cli_verify(seen, "X-HTTP-Method-Override")
    assert.is_false(ok)
    assert.matches("missing_claim", out, 1, true)
  end)
end)
