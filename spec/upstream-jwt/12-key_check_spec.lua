-- Key material is parsed at config time, through Kong's schema library, in the three plugins
-- that take a key: upstream-jwt's private_key, upstream-jwt-jwks's public_keys and
-- upstream-oauth2's private_key (the client assertion key of private_key_jwt). Each bad key
-- is refused with a message naming the field and the library's reason, which never contains
-- the key; good keys of every algorithm and vault references pass.
local setup = require "spec.helpers.setup"
setup.require_native()
local validator = require "spec.helpers.schema"

local jwt_schema = require "kong.plugins.upstream-jwt.schema"
local jwks_schema = require "kong.plugins.upstream-jwt-jwks.schema"
local oauth2_schema = require "kong.plugins.upstream-oauth2.schema"

local RSA = setup.private_key("rsa")
local EC = setup.private_key("ec")
local ED25519 = setup.private_key("ed25519")
local RSA1024 = setup.private_key("rsa1024")
local P384 = setup.private_key("ec384")
local ED448 = setup.private_key("ed448")
-- Cut inside the base64 body: the BEGIN line stays, so the structural check passes.
local TRUNCATED = RSA:sub(1, math.floor(#RSA / 2))
local GOOD = { RS256 = RSA, PS256 = RSA, ES256 = EC, EdDSA = ED25519 }

local NOT_PRIVATE = "not a PEM private key (or an encrypted one)"

local function encrypted(pem)
  local inp = os.tmpname()
  setup.write_file(inp, pem)
  local ok, out = setup.run("openssl pkcs8 -topk8 -v2 aes-256-cbc -passout pass:pw -in " .. inp)
  os.remove(inp)
  assert(ok, out)
  assert(out:find("-----BEGIN ENCRYPTED PRIVATE KEY-----", 1, true), out)
  return out
end
local ENCRYPTED = encrypted(RSA)

-- Every base64 line of a PEM, so a message can be shown not to contain any of the key.
local function key_lines(pem)
  local lines = {}
  for line in pem:gmatch("[^\n]+") do
    if not line:find("-----", 1, true) then
      lines[#lines + 1] = line
    end
  end
  assert(#lines > 0)
  return lines
end

local function refused(schema, conf, message, pem)
  local ok, _, msg = validator.validate(schema, conf)
  assert.is_nil(ok, "config was accepted")
  if not message:find("^%d+ schema violations") then
    message = "schema violation (" .. message .. ")"
  end
  assert.equal(message, msg)
  for _, line in ipairs(key_lines(pem)) do
    assert.is_nil(msg:find(line, 1, true), "the message contains the key")
  end
end

local function accepted(schema, conf)
  local ok, _, msg = validator.validate(schema, conf)
  assert.is_nil(msg)
  assert.is_table(ok)
  return ok
end

-- bad keys: { what, algorithm, pem, library reason }
local BAD_PRIVATE = {
  { "a truncated PEM", "RS256", TRUNCATED, NOT_PRIVATE },
  { "an encrypted private key", "RS256", ENCRYPTED, NOT_PRIVATE },
  { "armour around no key", "ES256", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    NOT_PRIVATE },
  { "an RSA key of 1024 bits", "RS256", RSA1024,
    "RSA key has 1024 bits; at least 2048 are required" },
  { "an RSA key of 1024 bits for PS256", "PS256", RSA1024,
    "RSA key has 1024 bits; at least 2048 are required" },
  { "a P-384 key for ES256", "ES256", P384, "EC key on curve secp384r1; ES256 requires P-256" },
  { "an Ed448 key for EdDSA", "EdDSA", ED448, "key type Ed448 does not match algorithm EdDSA" },
  { "an RSA key for EdDSA", "EdDSA", RSA, "key type RSA does not match algorithm EdDSA" },
  { "an EC key for RS256", "RS256", EC, "key type EC does not match algorithm RS256" },
  { "an Ed25519 key for ES256", "ES256", ED25519, "key type Ed25519 does not match algorithm ES256" },
}

describe("upstream-jwt private_key at config time", function()
  for _, case in ipairs(BAD_PRIVATE) do
    it("refuses " .. case[1], function()
      refused(jwt_schema, { algorithm = case[2], private_key = case[3] },
              "'config.private_key' is not usable for " .. case[2] .. ": " .. case[4], case[3])
    end)
  end

  it("refuses a key for the http-message-signature format as for a token", function()
    refused(jwt_schema, { algorithm = "ES256", private_key = P384,
                          format = "http-message-signature" },
            "'config.private_key' is not usable for ES256: EC key on curve secp384r1; ES256 "
               .. "requires P-256", P384)
  end)

  it("keeps the structural message for a public key", function()
    local public = setup.public_key(RSA)
    refused(jwt_schema, { algorithm = "RS256", private_key = public },
            "2 schema violations (RS256, PS256, ES256 and EdDSA need 'config.private_key'; "
               .. "config.private_key: expected a PEM private key (-----BEGIN ... PRIVATE KEY-----))",
            public)
  end)

  it("accepts a good key of every algorithm, in both formats", function()
    for alg, pem in pairs(GOOD) do
      for _, format in ipairs({ "jwt", "http-message-signature" }) do
        local conf = accepted(jwt_schema, { algorithm = alg, private_key = pem, format = format })
        assert.equal(pem, conf.private_key)
      end
    end
  end)

  it("accepts a vault reference for every algorithm: it is parsed at request time", function()
    for alg in pairs(GOOD) do
      accepted(jwt_schema, { algorithm = alg, private_key = "{vault://env/upstream-jwt-key}" })
    end
  end)

  it("does not parse a private_key an HMAC algorithm does not use", function()
    accepted(jwt_schema, { algorithm = "HS256", secret = string.rep("s", 32),
                           private_key = TRUNCATED })
  end)
end)

describe("upstream-jwt-jwks public_keys at config time", function()
  local function conf(keys, algs)
    local ids = {}
    for i = 1, #keys do
      ids[i] = "k" .. i
    end
    return { public_keys = keys, key_ids = ids, algorithms = algs }
  end

  local BAD_PUBLIC = {
    { "a truncated PEM", nil, TRUNCATED, "not a PEM public or private key" },
    { "a truncated public key", nil, setup.public_key(RSA):sub(1, 100),
      "not a PEM public or private key" },
    { "an RSA key of 1024 bits", nil, setup.public_key(RSA1024),
      "RSA key has 1024 bits; at least 2048 are required" },
    { "an RSA private key of 1024 bits for PS256", "PS256", RSA1024,
      "RSA key has 1024 bits; at least 2048 are required" },
    { "a P-384 key for ES256", "ES256", setup.public_key(P384),
      "EC key on curve secp384r1; ES256 requires P-256" },
    { "a P-384 key without an algorithm", nil, setup.public_key(P384),
      "EC key on curve secp384r1; ES256 requires P-256" },
    { "an Ed448 key for EdDSA", "EdDSA", setup.public_key(ED448),
      "key type Ed448 does not match algorithm EdDSA" },
    { "an Ed448 key without an algorithm", nil, setup.public_key(ED448),
      "key type has no JWS algorithm here (RSA, EC P-256, Ed25519)" },
    { "an RSA key named for EdDSA", "EdDSA", setup.public_key(RSA),
      "key type RSA does not match algorithm EdDSA" },
    { "an EC key named for PS256", "PS256", setup.public_key(EC),
      "key type EC does not match algorithm PS256" },
  }

  for _, case in ipairs(BAD_PUBLIC) do
    it("refuses " .. case[1], function()
      local what = case[2] and (" for " .. case[2]) or ""
      refused(jwks_schema, conf({ case[3] }, { case[2] }),
              "'config.public_keys[1]' is not usable" .. what .. ": " .. case[4], case[3])
    end)
  end

  it("names the position of the bad key among good ones", function()
    local bad = setup.public_key(P384)
    refused(jwks_schema, conf({ setup.public_key(RSA), "{vault://env/next}", bad },
                              { "RS256", "ES256", "ES256" }),
            "'config.public_keys[3]' is not usable for ES256: EC key on curve secp384r1; ES256 "
               .. "requires P-256", bad)
  end)

  it("accepts public and private keys of every algorithm, named or not", function()
    for alg, pem in pairs(GOOD) do
      accepted(jwks_schema, conf({ pem, setup.public_key(pem) }, { alg, alg }))
      if alg ~= "PS256" then
        accepted(jwks_schema, conf({ pem, setup.public_key(pem) }))
      end
    end
  end)

  it("accepts vault references among literal keys", function()
    accepted(jwks_schema, conf({ "{vault://env/cur}", setup.public_key(EC) }, { "EdDSA", "ES256" }))
    accepted(jwks_schema, conf({ "{vault://env/cur}" }))
  end)

  it("leaves algorithms that are not one per key to the plugin's length check", function()
    local bad = setup.public_key(P384)
    local _, _, msg = validator.validate(jwks_schema, conf({ bad, bad }, { "ES256" }))
    assert.equal("schema violation ('config.algorithms' is empty or has one algorithm per "
                 .. "entry of 'config.public_keys')", msg)
  end)
end)

describe("upstream-oauth2 private_key at config time", function()
  local function conf(alg, pem)
    return { token_endpoint = "https://as.example/token", client_id = "gw",
             client_auth = "private_key_jwt", client_assertion_algorithm = alg, private_key = pem }
  end

  -- PS256 is not a client assertion algorithm of this plugin.
  for _, case in ipairs(BAD_PRIVATE) do
    if case[2] ~= "PS256" then
      it("refuses " .. case[1], function()
        refused(oauth2_schema, conf(case[2], case[3]),
                "'config.private_key' is not usable for " .. case[2] .. ": " .. case[4], case[3])
      end)
    end
  end

  it("refuses a public key", function()
    local public = setup.public_key(EC)
    refused(oauth2_schema, conf("ES256", public),
            "'config.private_key' is not usable for ES256: " .. NOT_PRIVATE, public)
  end)

  it("parses the key for RS256 when no algorithm is named", function()
    refused(oauth2_schema, conf(nil, EC),
            "'config.private_key' is not usable for RS256: key type EC does not match "
               .. "algorithm RS256", EC)
    accepted(oauth2_schema, conf(nil, RSA))
  end)

  it("accepts a good key of every assertion algorithm, and a vault reference", function()
    for _, alg in ipairs({ "RS256", "ES256", "EdDSA" }) do
      accepted(oauth2_schema, conf(alg, GOOD[alg]))
      accepted(oauth2_schema, conf(alg, "{vault://env/idp-key}"))
    end
  end)

  it("does not parse a private_key the client secret methods do not use", function()
    local c = conf(nil, TRUNCATED)
    c.client_auth, c.client_secret = "client_secret_basic", "s"
    accepted(oauth2_schema, c)
  end)
end)

-- A node without the native library (a control plane that only stores configuration, tooling
-- that reads the schemas) still loads them; keys are then checked only structurally, and the
-- data plane, which cannot load the handlers without the library, never signs with them.
describe("without the native library", function()
  local MODULES = {
    "kong.plugins.upstream-jwt.native", "kong.plugins.upstream-jwt.typedefs",
    "kong.plugins.upstream-jwt.schema", "kong.plugins.upstream-jwt-jwks.schema",
    "kong.plugins.upstream-oauth2.schema",
  }

  insulate("", function()
    local schemas
    lazy_setup(function()
      for _, name in ipairs(MODULES) do
        package.loaded[name] = nil
      end
      package.preload["kong.plugins.upstream-jwt.native"] = function()
        error("libupstream_jwt.so not found", 0)
      end
      schemas = {
        jwt = require "kong.plugins.upstream-jwt.schema",
        jwks = require "kong.plugins.upstream-jwt-jwks.schema",
        oauth2 = require "kong.plugins.upstream-oauth2.schema",
      }
    end)

    lazy_teardown(function()
      package.preload["kong.plugins.upstream-jwt.native"] = nil
      for _, name in ipairs(MODULES) do
        package.loaded[name] = nil
      end
    end)

    it("loads the schemas and accepts keys that pass the structural check", function()
      assert.is_nil(package.loaded["kong.plugins.upstream-jwt.native"])
      accepted(schemas.jwt, { algorithm = "ES256", private_key = P384 })
      accepted(schemas.jwks, { public_keys = { setup.public_key(ED448) }, key_ids = { "k" } })
      accepted(schemas.oauth2, { token_endpoint = "https://as.example/token", client_id = "gw",
                                 client_auth = "private_key_jwt", private_key = RSA1024 })
    end)

    it("keeps the structural check", function()
      local public = setup.public_key(RSA)
      refused(schemas.jwt, { algorithm = "RS256", private_key = "not a key" },
              "2 schema violations (RS256, PS256, ES256 and EdDSA need 'config.private_key'; "
                 .. "config.private_key: expected a PEM private key (-----BEGIN ... PRIVATE "
                 .. "KEY-----))", "not a key")
      refused(schemas.oauth2, { token_endpoint = "https://as.example/token", client_id = "gw",
                                client_auth = "private_key_jwt", private_key = public },
              "'config.private_key': expected a PEM private key (-----BEGIN ... PRIVATE "
                 .. "KEY-----)", public)
    end)
  end)
end)
