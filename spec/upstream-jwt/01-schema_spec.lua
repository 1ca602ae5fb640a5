local setup = require "spec.helpers.setup"
local validator = require "spec.helpers.schema"
local schema = require "kong.plugins.upstream-jwt.schema"

local SECRET32 = string.rep("s", 32)

local function validate(config)
  return validator.validate(schema, config)
end

local function refused(config)
  local conf, errs, msg = validate(config)
  assert.is_nil(conf, "config was accepted")
  assert.is_table(errs)
  assert.is_string(msg)
  return errs, msg
end

describe("upstream-jwt schema", function()
  it("is a Kong plugin schema: name, no consumer field, http protocols, config record", function()
    assert.equal("upstream-jwt", schema.name)
    local names = {}
    for _, f in ipairs(schema.fields) do
      local name, def = next(f)
      names[name] = def
    end
    assert.equal("foreign", names.consumer.type)
    assert.same({ "http", "https" }, names.protocols.default)
    assert.same({ "http", "https" }, names.protocols.elements.one_of)
    assert.equal("set", names.protocols.type)
    assert.equal("record", names.config.type)
  end)

  it("fills every default for a minimal HS256 config", function()
    local conf = assert(validate({ secret = SECRET32 }))
    assert.same({
      algorithm = "HS256",
      bind_headers = {},
      secret = SECRET32,
      secret_is_base64 = false,
      issuer = "kong",
      ttl = 60,
      header = "X-Upstream-JWT",
      include_consumer = true,
      include_credential = true,
      bind_request = true,
      include_body_digest = true,
      max_body_size = 8388608,
      format = "jwt",
      signature_label = "kong",
    }, conf)
  end)

  it("does not modify the input table", function()
    local input = { secret = SECRET32 }
    validate(input)
    assert.same({ secret = SECRET32 }, input)
  end)

  it("marks the key fields referenceable and encrypted", function()
    local config
    for _, f in ipairs(schema.fields) do
      if f.config then config = f.config end
    end
    for _, item in ipairs(config.fields) do
      local name, def = next(item)
      assert.is_string(def.description, name .. " has no description")
      if name == "secret" or name == "private_key" then
        assert.is_true(def.referenceable)
        assert.is_true(def.encrypted)
      end
    end
  end)

  it("accepts every algorithm with the right key", function()
    for _, alg in ipairs({ "HS256", "HS384", "HS512" }) do
      assert(validate({ algorithm = alg, secret = string.rep("k", 64) }))
    end
    for alg, kind in pairs({ RS256 = "rsa", PS256 = "rsa", ES256 = "ec", EdDSA = "ed25519" }) do
      local conf = assert(validate({ algorithm = alg, private_key = setup.private_key(kind),
                                     key_id = "k1" }))
      assert.equal("k1", conf.key_id)
    end
  end)

  it("accepts a full config", function()
    local conf = assert(validate({
      secret = SECRET32, issuer = "gw", audience = "orders", ttl = 3600, header = "Authorization",
      header_prefix = "Bearer", include_consumer = false, include_credential = false,
      bind_request = false, include_body_digest = false, max_body_size = 0,
      claims = { tenant = "acme", env = "" },
    }))
    assert.equal("Bearer", conf.header_prefix)
    assert.same({ tenant = "acme", env = "" }, conf.claims)
    assert.equal(0, conf.max_body_size)
  end)

  it("lets vault references through: they are resolved at request time", function()
    assert(validate({ secret = "{vault://env/upstream-jwt-secret}" }))
    assert(validate({ secret = "{vault://env/short}", secret_is_base64 = true }))
    assert(validate({ algorithm = "ES256", private_key = "{vault://aws/gw-key/pem}" }))
  end)

  describe("refuses", function()
    it("an unknown algorithm", function()
      local errs, msg = refused({ algorithm = "none", secret = SECRET32 })
      assert.equal("expected one of: HS256, HS384, HS512, RS256, PS256, ES256, EdDSA",
                   errs.config.algorithm)
      assert.matches("config.algorithm", msg, 1, true)
    end)

    it("HS* without a secret", function()
      local errs, msg = refused({ algorithm = "HS384" })
      assert.equal("required field missing", errs.config.secret)
      assert.matches("failed conditional validation given value of field 'config.algorithm'",
                     msg, 1, true)
    end)

    it("an empty secret", function()
      local errs = refused({ secret = "" })
      assert.equal("length must be at least 1", errs.config.secret)
    end)

    it("an asymmetric algorithm without private_key", function()
      for _, alg in ipairs({ "RS256", "PS256", "ES256", "EdDSA" }) do
        local errs = refused({ algorithm = alg, secret = SECRET32 })
        assert.equal("required field missing", errs.config.private_key)
      end
    end)

    it("a private_key that is not PEM", function()
      local errs = refused({ algorithm = "RS256", private_key = "not a key" })
      assert.matches("PEM private key", errs.config.private_key, 1, true)
    end)

    it("HMAC secrets shorter than the hash output, without echoing them", function()
      for alg, min in pairs({ HS256 = 32, HS384 = 48, HS512 = 64 }) do
        local secret = string.rep("q", min - 1)
        local errs, msg = refused({ algorithm = alg, secret = secret })
        local expected = ("'config.secret' is %d bytes; %s needs at least %d"):format(min - 1, alg, min)
        assert.same({ expected }, errs["@entity"])
        assert.not_matches(secret, msg, 1, true)
        assert(validate({ algorithm = alg, secret = string.rep("q", min) }))
      end
    end)

    it("base64 secrets that are short once decoded, or not base64", function()
      -- 32 base64 chars decode to 24 bytes
      local _, msg = refused({ secret = string.rep("A", 32), secret_is_base64 = true })
      assert.matches("is 24 bytes; HS256 needs at least 32", msg, 1, true)
      _, msg = refused({ secret = string.rep("*", 44), secret_is_base64 = true })
      assert.matches("not valid base64", msg, 1, true)
      assert(validate({ secret = string.rep("A", 44), secret_is_base64 = true }))
    end)

    it("a ttl out of 1..3600 or not an integer", function()
      assert.equal("value should be between 1 and 3600", refused({ secret = SECRET32, ttl = 0 }).config.ttl)
      assert.equal("value should be between 1 and 3600", refused({ secret = SECRET32, ttl = 3601 }).config.ttl)
      assert.equal("expected an integer", refused({ secret = SECRET32, ttl = 1.5 }).config.ttl)
      assert.equal("expected an integer", refused({ secret = SECRET32, ttl = "60" }).config.ttl)
    end)

    it("bad header names", function()
      assert.matches("bad header name", refused({ secret = SECRET32, header = "X Bad" }).config.header)
      assert.equal("must not be 'Host'", refused({ secret = SECRET32, header = "host" }).config.header)
      assert.equal("must not be 'Content-Length'",
                   refused({ secret = SECRET32, header = "Content-Length" }).config.header)
    end)

    it("a header prefix with spaces", function()
      assert.matches("single token", refused({ secret = SECRET32, header_prefix = "Bearer x" }).config.header_prefix)
    end)

    it("static claims that would override registered ones", function()
      for _, name in ipairs({ "iss", "aud", "iat", "nbf", "exp", "jti", "sub", "consumer",
                              "credential", "htm", "htu", "query_sha256", "body_sha256" }) do
        local errs = refused({ secret = SECRET32, claims = { [name] = "x" } })
        assert.matches("must not be one of", errs.config.claims, 1, true)
      end
    end)

    it("static claims that are not strings", function()
      assert.equal("expected a string", refused({ secret = SECRET32, claims = { n = 1 } }).config.claims)
      assert.equal("expected a map", refused({ secret = SECRET32, claims = "x" }).config.claims)
    end)

    it("a negative max_body_size", function()
      assert.equal("value should be between 0 and 2147483647",
                   refused({ secret = SECRET32, max_body_size = -1 }).config.max_body_size)
    end)

    it("wrong types and unknown fields", function()
      local errs = refused({ secret = SECRET32, include_consumer = "yes", bogus = true })
      assert.equal("expected a boolean", errs.config.include_consumer)
      assert.equal("unknown field", errs.config.bogus)
    end)
  end)

  it("refuses a config that is not a record", function()
    local conf, errs = validate("x")
    assert.is_nil(conf)
    assert.equal("expected a record", errs.config)
  end)
end)
