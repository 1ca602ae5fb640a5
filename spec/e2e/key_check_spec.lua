-- Keys in a declarative config are parsed when dev/gateway loads it, through Kong's schema
-- library, before nginx starts: a bad literal key in upstream-jwt, upstream-jwt-jwks or
-- upstream-oauth2 stops the gateway with a message naming the plugin, the field and the
-- reason; good literal keys start it, and the keys sign and are published.
local H = require "spec.e2e.e2e_helpers"

local P = {}

local function genkey(dir, name, args)
  local path = dir .. "/" .. name .. ".pem"
  local ok, out = H.sh("openssl genpkey " .. args .. " -out " .. H.q(path))
  assert(ok, out)
  return H.read(path)
end

local function public(dir, name)
  local ok, out = H.sh("openssl pkey -pubout -in " .. H.q(dir .. "/" .. name .. ".pem"))
  assert(ok, out)
  return out
end

-- A PEM as a YAML block scalar at `indent` spaces.
local function block(pem, indent)
  local pad = string.rep(" ", indent)
  return "|\n" .. pad .. pem:gsub("\n$", ""):gsub("\n", "\n" .. pad) .. "\n"
end

local function service(plugins)
  return ([[
_format_version: "3.0"
services:
  - name: s
    url: http://127.0.0.1:%d/
    routes:
      - name: r
        paths: [/]
        plugins:
%s]]):format(P.echo, plugins)
end

describe("e2e: keys checked when the declarative config loads", function()
  local dir, group
  local keys = {}

  setup(function()
    dir, group = H.prepare(P, { "echo", "gw", "gw_bad" })
    keys.ec = genkey(dir, "ec", "-algorithm EC -pkeyopt ec_paramgen_curve:P-256")
    keys.p384 = genkey(dir, "p384", "-algorithm EC -pkeyopt ec_paramgen_curve:P-384")
    keys.ed448 = genkey(dir, "ed448", "-algorithm ED448")
    keys.rsa1024 = genkey(dir, "rsa1024", "-algorithm RSA -pkeyopt rsa_keygen_bits:1024")
    keys.rsa = genkey(dir, "rsa", "-algorithm RSA -pkeyopt rsa_keygen_bits:2048")
    keys.ed448_pub = public(dir, "ed448")
    keys.rsa_pub = public(dir, "rsa")
    H.start_echo(group, "echo", P.echo)
  end)

  teardown(function()
    H.cleanup(dir, group)
  end)

  local function refused(name, plugins, message, pem)
    local path = H.write(dir .. "/" .. name .. ".yml", service(plugins))
    local ok, out = H.sh("UPSTREAM_JWT_LIB=" .. H.q(H.lib) .. " " .. H.gateway_cmd(path, P.gw_bad))
    assert.is_false(ok)
    assert.truthy(out:find(message, 1, true), out)
    for line in pem:gmatch("[^\n]+") do
      if not line:find("-----", 1, true) then
        assert.is_nil(out:find(line, 1, true), "the key is in the output")
      end
    end
    assert.is_nil(out:find("start worker", 1, true), out)
    assert.is_false(H.sh("curl -s -o /dev/null --max-time 1 " .. H.url(P.gw_bad, "/")))
  end

  local function jwt_plugin(alg, pem)
    return ([[
          - name: upstream-jwt
            config:
              algorithm: %s
              private_key: ]]):format(alg) .. block(pem, 16)
  end

  local function jwks_plugin(alg, pem)
    return ([[
          - name: upstream-jwt-jwks
            config:
              key_ids: [cur]
              algorithms: [%s]
              public_keys:
                - ]]):format(alg) .. block(pem, 18)
  end

  it("refuses upstream-jwt with a P-384 key for ES256", function()
    refused("jwt-p384", jwt_plugin("ES256", keys.p384),
      "plugin 'upstream-jwt' on route r: schema violation ('config.private_key' is not usable "
        .. "for ES256: EC key on curve secp384r1; ES256 requires P-256)", keys.p384)
  end)

  it("refuses upstream-jwt with an RSA key of 1024 bits", function()
    refused("jwt-rsa1024", jwt_plugin("PS256", keys.rsa1024),
      "plugin 'upstream-jwt' on route r: schema violation ('config.private_key' is not usable "
        .. "for PS256: RSA key has 1024 bits; at least 2048 are required)", keys.rsa1024)
  end)

  it("refuses upstream-jwt-jwks with an Ed448 key for EdDSA", function()
    refused("jwks-ed448", jwks_plugin("EdDSA", keys.ed448_pub),
      "plugin 'upstream-jwt-jwks' on route r: schema violation ('config.public_keys[1]' is not "
        .. "usable for EdDSA: key type Ed448 does not match algorithm EdDSA)", keys.ed448_pub)
  end)

  it("refuses upstream-jwt-jwks with an RSA key named for EdDSA", function()
    refused("jwks-rsa-eddsa", jwks_plugin("EdDSA", keys.rsa_pub),
      "plugin 'upstream-jwt-jwks' on route r: schema violation ('config.public_keys[1]' is not "
        .. "usable for EdDSA: key type RSA does not match algorithm EdDSA)", keys.rsa_pub)
  end)

  it("refuses upstream-oauth2 with a public key as its client assertion key", function()
    refused("oauth2-public", ([[
          - name: upstream-oauth2
            config:
              token_endpoint: http://127.0.0.1:%d/token
              client_id: gw
              client_auth: private_key_jwt
              client_assertion_algorithm: RS256
              private_key: ]]):format(P.echo) .. block(keys.rsa_pub, 16),
      "plugin 'upstream-oauth2' on route r: schema violation ('config.private_key' is not usable for RS256: "
        .. "not a PEM private key (or an encrypted one))", keys.rsa_pub)
  end)

  it("starts with good literal keys, signs with them and publishes them", function()
    local config = ([[
_format_version: "3.0"
services:
  - name: s
    url: http://127.0.0.1:%d/
    routes:
      - name: signed
        paths: [/signed]
        plugins:
          - name: upstream-jwt
            config:
              algorithm: ES256
              key_id: cur
              private_key: ]]):format(P.echo) .. block(keys.ec, 16) .. [[
      - name: jwks
        paths: [/jwks]
        plugins:
          - name: upstream-jwt-jwks
            config:
              key_ids: [cur, next]
              algorithms: [ES256, RS256]
              public_keys:
                - ]] .. block(keys.ec, 18) .. [[
                - ]] .. block(keys.rsa_pub, 18) .. ([[
      - name: oauth
        paths: [/oauth]
        plugins:
          - name: upstream-oauth2
            config:
              token_endpoint: http://127.0.0.1:%d/token
              client_id: gw
              client_auth: private_key_jwt
              client_assertion_algorithm: RS256
              private_key: ]]):format(P.echo) .. block(keys.rsa, 16)
    H.start_gateway(group, "gateway", config, P.gw)

    local res = H.request({ url = H.url(P.gw, "/jwks") })
    assert.equal(200, res.status)
    assert.equal("cur", res.json.keys[1].kid)
    assert.equal("ES256", res.json.keys[1].alg)
    assert.equal("next", res.json.keys[2].kid)
    assert.equal("RS256", res.json.keys[2].alg)

    res = H.request({ url = H.url(P.gw, "/signed/x") })
    assert.equal(200, res.status)
    local token = res.json.headers["x-upstream-jwt"][1]
    assert.same({ alg = "ES256", kid = "cur", typ = "JWT" }, H.jwt_header(token))
  end)
end)
