-- upstream-jwt-jwks configuration.
local setup = require "spec.helpers.setup"
local schema = require "kong.plugins.upstream-jwt-jwks.schema"
local validate, refused = require("spec.helpers.schema_assert")(schema)

setup.require_native()

-- Real keys: every literal key is parsed at config time (05-key_check_spec.lua).
local PEM = setup.public_key(setup.private_key("ec"))
local RSA_PEM = setup.public_key(setup.private_key("rsa"))

describe("upstream-jwt-jwks schema", function()
  it("defaults: algorithms from the key type, max_age 300", function()
    local conf = assert(validate({ public_keys = { PEM }, key_ids = { "k1" } }))
    assert.same({}, conf.algorithms)
    assert.equal(300, conf.max_age)
  end)

  it("takes up to 16 keys with ids and algorithms in the same order", function()
    assert(validate({ public_keys = { PEM, RSA_PEM }, key_ids = { "cur", "next" },
                      algorithms = { "ES256", "PS256" }, max_age = 0 }))
    local many, ids = {}, {}
    for i = 1, 17 do
      many[i], ids[i] = PEM, "k" .. i
    end
    refused({ public_keys = many, key_ids = ids }, "")
  end)

  it("refuses mismatched lists, a repeated key id, HMAC algorithms and bad bounds", function()
    refused({ public_keys = {}, key_ids = {} }, "")
    refused({ public_keys = { PEM, PEM }, key_ids = { "k1" } }, "one key id per entry")
    refused({ public_keys = { PEM, PEM }, key_ids = { "k1", "k2" }, algorithms = { "ES256" } },
            "one algorithm per entry")
    refused({ public_keys = { PEM, PEM }, key_ids = { "k1", "k1" } }, "listed twice")
    refused({ public_keys = { PEM }, key_ids = { "k1" }, algorithms = { "HS256" } }, "expected one of")
    refused({ public_keys = { PEM }, key_ids = { "k\n1" } }, "printable ASCII")
    refused({ public_keys = { PEM }, key_ids = { "k1" }, max_age = 86401 }, "between")
    refused({ public_keys = { PEM }, key_ids = { "k1" }, max_age = -1 }, "between")
  end)
end)
