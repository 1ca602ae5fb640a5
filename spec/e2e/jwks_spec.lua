-- upstream-jwt-jwks end to end: dev/gateway serves the JWKS of the current,
-- the next and a PS256 key on a route of its own; tokens upstream-jwt signs
-- with each key (as during a rotation) verify against that one document.
local H = require "spec.e2e.e2e_helpers"
local cjson = require "cjson.safe"

local P = {} -- ports, assigned in setup

local KEYGEN = [[
import sys
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives import serialization as s
kind, out = sys.argv[1], sys.argv[2]
k = rsa.generate_private_key(public_exponent=65537, key_size=2048) if kind == "rsa" else ec.generate_private_key(ec.SECP256R1())
open(out + ".key", "wb").write(k.private_bytes(s.Encoding.PEM, s.PrivateFormat.PKCS8, s.NoEncryption()))
open(out + ".pub", "wb").write(k.public_key().public_bytes(s.Encoding.PEM, s.PublicFormat.SubjectPublicKeyInfo))
]]

local function config()
  return ([[
_format_version: "3.0"
services:
  - name: echo
    url: http://127.0.0.1:%d
    routes:
      - name: jwks
        paths: [/.well-known/jwks.json]
        plugins:
          - name: upstream-jwt-jwks
            config:
              # the current key as its public PEM, the next one as the private
              # key (only its public half is published)
              public_keys: ["{vault://env/e2e-jwks-cur-pub}", "{vault://env/e2e-jwks-next}", "{vault://env/e2e-jwks-pss}"]
              key_ids: [gw-cur, gw-next, gw-pss]
              algorithms: [ES256, ES256, PS256]
              max_age: 120
      - name: cur
        paths: [/cur]
        plugins:
          - name: upstream-jwt
            config: { algorithm: ES256, private_key: "{vault://env/e2e-jwks-cur}", key_id: gw-cur, audience: jwks }
      - name: next
        paths: [/next]
        plugins:
          - name: upstream-jwt
            config: { algorithm: ES256, private_key: "{vault://env/e2e-jwks-next}", key_id: gw-next, audience: jwks }
      - name: pss
        paths: [/pss]
        plugins:
          - name: upstream-jwt
            config: { algorithm: PS256, private_key: "{vault://env/e2e-jwks-pss}", key_id: gw-pss, audience: jwks }
]]):format(P.echo)
end

describe("e2e: upstream-jwt-jwks", function()
  local dir, group

  setup(function()
    dir, group = H.prepare(P, { "gateway", "echo" })
    local env = {}
    for name, kind in pairs({ cur = "ec", next = "ec", pss = "rsa" }) do
      local base = dir .. "/" .. name
      assert(H.sh("/usr/bin/python3 -c " .. H.q(KEYGEN) .. " " .. kind .. " " .. H.q(base)))
      env["E2E_JWKS_" .. name:upper()] = H.read(base .. ".key")
      env["E2E_JWKS_" .. name:upper() .. "_PUB"] = H.read(base .. ".pub")
    end
    H.start_echo_and_gateway(group, P, config(), env)
  end)

  teardown(function()
    H.cleanup(dir, group)
  end)

  local function jwks()
    local res = H.request({ url = H.url(P.gateway, "/.well-known/jwks.json") })
    assert.equal(200, res.status, res.body)
    return res
  end

  it("serves every key, public parts only, with Cache-Control and the JWKS media type", function()
    local res = jwks()
    assert.equal("application/jwk-set+json", res.headers["content-type"])
    assert.equal("public, max-age=120", res.headers["cache-control"])
    local kids = {}
    for _, k in ipairs(res.json.keys) do
      kids[#kids + 1] = k.kid .. ":" .. k.alg
      assert.is_nil(k.d, "a private member was published")
      assert.is_nil(k.p)
    end
    assert.same({ "gw-cur:ES256", "gw-next:ES256", "gw-pss:PS256" }, kids)
  end)

  it("tokens signed with the current, the next and the PS256 key all verify against the one JWKS", function()
    local file = H.write(dir .. "/jwks.json", jwks().body)
    for _, route in ipairs({ "cur", "next", "pss" }) do
      local res = H.request({ url = H.url(P.gateway, "/" .. route .. "/x") })
      assert.equal(200, res.status, res.body)
      local token = res.json.headers["x-upstream-jwt"][1]
      local ok, out = H.cli_verify({ "--jwks", file, "--aud", "jwks" }, token)
      assert.is_true(ok, route .. ": " .. out)
      assert.matches('"aud":"jwks"', out, 1, true)
    end
  end)

  it("a key removed from the JWKS no longer verifies", function()
    local doc = cjson.decode(jwks().body)
    table.remove(doc.keys, 2) -- drop gw-next
    local file = H.write(dir .. "/jwks-without-next.json", cjson.encode(doc))
    local res = H.request({ url = H.url(P.gateway, "/next/x") })
    local ok, out = H.cli_verify({ "--jwks", file, "--aud", "jwks" }, res.json.headers["x-upstream-jwt"][1])
    assert.is_false(ok)
    assert.matches("unknown_kid", out, 1, true)
  end)

  it("answers only GET and HEAD, and never proxies", function()
    local before = H.stats(P.echo).requests
    local res = H.request({ method = "POST", url = H.url(P.gateway, "/.well-known/jwks.json"), body = "x" })
    assert.equal(405, res.status)
    assert.equal("GET, HEAD", res.headers["allow"])
    -- curl -I: a HEAD answer has no body for curl to wait for
    local ok, code = H.sh("curl -s -o /dev/null -w '%{http_code}' -I "
                          .. H.q(H.url(P.gateway, "/.well-known/jwks.json")))
    assert.is_true(ok, code)
    assert.equal("200", code)
    assert.equal(before, H.stats(P.echo).requests)
  end)
end)
