-- Asymmetric algorithms end to end: the gateway signs with a private key
-- from a vault reference; the services verify with the public key only
-- (PEM, or the JWKS the CLI derives from the private key).
local H = require "spec.e2e.e2e_helpers"

local PORTS = {} -- assigned in setup
local VERIFIERS = { "python", "node", "lua" }
local ALGS = { "RS256", "PS256", "ES256", "EdDSA" }
local AUD = "e2e-asym"

local KEYGEN = [[
import sys
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives import serialization as s
alg, out = sys.argv[1], sys.argv[2]
if alg in ("RS256", "PS256"):
    k = rsa.generate_private_key(public_exponent=65537, key_size=2048)
elif alg == "ES256":
    k = ec.generate_private_key(ec.SECP256R1())
else:
    k = ed25519.Ed25519PrivateKey.generate()
open(out + ".key", "wb").write(k.private_bytes(s.Encoding.PEM, s.PrivateFormat.PKCS8, s.NoEncryption()))
open(out + ".pub", "wb").write(k.public_key().public_bytes(s.Encoding.PEM, s.PublicFormat.SubjectPublicKeyInfo))
]]

local function config()
  local services = {}
  for _, v in ipairs(VERIFIERS) do
    local routes = {}
    for _, alg in ipairs(ALGS) do
      routes[#routes + 1] = ([[
      - name: %s-%s
        paths: [/%s/%s]
        plugins:
          - name: upstream-jwt
            config:
              algorithm: %s
              private_key: "{vault://env/e2e-key-%s}"
              key_id: k-%s
              audience: %s
]]):format(alg, v, alg, v, alg, alg:lower(), alg, AUD)
    end
    services[#services + 1] = ("  - name: %s\n    url: http://127.0.0.1:%d\n    routes:\n%s")
                              :format(v, PORTS[v], table.concat(routes))
  end
  return '_format_version: "3.0"\nservices:\n' .. table.concat(services)
end

describe("e2e: asymmetric algorithms", function()
  local dir, group, verifiers
  local keys = {}

  setup(function()
    dir, group = H.prepare(PORTS, { "gateway", "python", "node", "lua" })
    local env = { UPSTREAM_JWT_LIB = H.lib }
    for _, alg in ipairs(ALGS) do
      local base = dir .. "/" .. alg
      assert(H.sh("/usr/bin/python3 -c " .. H.q(KEYGEN) .. " " .. alg .. " " .. H.q(base)))
      keys[alg] = { key = base .. ".key", pub = base .. ".pub", jwks = base .. ".jwks" }
      local ok, jwks = H.sh(H.q(H.cli) .. " jwks --key " .. H.q(base .. ".key")
                            .. " --kid k-" .. alg)
      assert(ok, jwks)
      H.write(keys[alg].jwks, jwks)
      env["E2E_KEY_" .. alg:upper()] = H.read(base .. ".key")
    end
    H.start_gateway(group, "gateway", config(), PORTS.gateway, env)
  end)

  teardown(function()
    H.cleanup(dir, verifiers, group)
  end)

  -- Each verifier gets the PEM public key, except one per algorithm that gets
  -- the JWKS `upstream-jwt jwks` derives from the private key (RSA JWKs say
  -- RS256, so PS256 is PEM-only).
  local JWKS_HOLDER = { RS256 = "node", ES256 = "python", EdDSA = "lua" }

  local function start_verifiers(alg)
    if verifiers then
      verifiers:stop_all()
    end
    verifiers = H.new_group(dir)
    local k = keys[alg]
    for _, v in ipairs(VERIFIERS) do
      local key_arg = JWKS_HOLDER[alg] == v and ("--jwks " .. H.q(k.jwks))
                      or ("--key " .. H.q("k-" .. alg .. "=" .. k.pub))
      verifiers:start(alg .. "-" .. v, H.VERIFIER_CMDS[v] .. " " .. key_arg .. " --alg " .. alg .. " --audience " .. AUD
                      .. " --port " .. PORTS[v] .. " --stats --quiet", PORTS[v], { UPSTREAM_JWT_LIB = H.lib })
    end
  end

  for i, alg in ipairs(ALGS) do
    it(alg .. ": signed with the private key, verified with the public key by all three", function()
      start_verifiers(alg)
      for _, v in ipairs(VERIFIERS) do
        local res = H.request({ method = "POST", url = "http://127.0.0.1:" .. PORTS.gateway .. "/" .. alg .. "/" .. v .. "/pay?x=1",
                                body = "asymmetric " .. alg, headers = { apikey = "unused" } })
        assert.equal(200, res.status, v .. ": " .. res.body)
        assert.equal("/pay", res.json.htu, v)
        assert.equal(H.digest("asymmetric " .. alg), res.json.body_sha256, v)
        assert.equal(AUD, res.json.aud, v)
      end
      if i > 1 then
        -- the previous algorithm's tokens are refused: the algorithm is pinned
        local prev = ALGS[i - 1]
        for _, v in ipairs(VERIFIERS) do
          local res = H.request({ url = "http://127.0.0.1:" .. PORTS.gateway .. "/" .. prev .. "/" .. v .. "/x" })
          assert.equal(401, res.status, v .. " accepted a " .. prev .. " token when pinned to " .. alg)
        end
      end
    end)
  end
end)
