-- Kong runs nginx with `underscores_in_headers on` (as dev/gateway does), so
-- a client header spelled `X_Upstream_JWT` is proxied beside the gateway's
-- `X-Upstream-JWT`. CGI/WSGI-style servers (and anything reading
-- $http_x_upstream_jwt) fold both spellings into one name, so such a header
-- must not reach the upstream any more than the exact name may.
local H = require "spec.e2e.e2e_helpers"

local P = {}
local SECRET = "lookalike-spec-secret-0123456789abcdef"

local function config()
  return ([[
_format_version: "3.0"
services:
  - name: echo
    url: http://127.0.0.1:%d/api
    routes:
      - name: echo
        paths: [/echo]
      - name: custom
        paths: [/custom]
        plugins:
          - name: upstream-jwt
            config:
              secret: %s
              header: X-Gateway-Token
plugins:
  - name: upstream-jwt
    config:
      secret: %s
]]):format(P.echo, SECRET, SECRET)
end

-- Header names as the upstream saw them, folded the way CGI does.
local function folded(headers, want)
  local out = {}
  for name, values in pairs(headers) do
    if name:lower():gsub("-", "_") == want then
      for _, v in ipairs(values) do
        out[#out + 1] = { name = name, value = v }
      end
    end
  end
  return out
end

describe("e2e: look-alike token headers", function()
  local dir, group

  setup(function()
    dir, group = H.prepare(P, { "gateway", "echo" })
    H.start_echo_and_gateway(group, P, config())
  end)

  teardown(function()
    H.cleanup(dir, group)
  end)

  it("only the gateway's token reaches the upstream, however the client spells the name", function()
    local forged = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJtYWxsb3J5In0."
    for _, spelling in ipairs({ "X_Upstream_JWT", "x_upstream_jwt", "X-Upstream_JWT",
                                "X_UPSTREAM-JWT" }) do
      local res = H.request({ url = H.url(P.gateway, "/echo/x"),
                              headers = { [spelling] = forged, ["X-Other_Header"] = "kept" } })
      assert.equal(200, res.status, res.body)
      local seen = folded(res.json.headers, "x_upstream_jwt")
      assert.equal(1, #seen, spelling .. ": " .. require("cjson").encode(seen))
      assert.equal("x-upstream-jwt", seen[1].name)
      assert.not_equal(forged, seen[1].value)
      assert.equal("/api/x", H.jwt_claims(seen[1].value).htu)
      -- unrelated headers with underscores still pass, as in Kong
      assert.same({ "kept" }, res.json.headers["x-other_header"])
    end
  end)

  it("a configured header name is protected the same way", function()
    local res = H.request({ url = H.url(P.gateway, "/custom/y"),
                            headers = { X_Gateway_Token = "forged", ["X-Gateway-Token"] = "forged2" } })
    assert.equal(200, res.status, res.body)
    local seen = folded(res.json.headers, "x_gateway_token")
    assert.equal(1, #seen)
    assert.equal("x-gateway-token", seen[1].name)
    assert.equal("/api/y", H.jwt_claims(seen[1].value).htu)
  end)
end)
