-- The http-message-signature fields of the upstream-jwt schema (issue 16).
local setup = require "spec.helpers.setup"
local schema = require "kong.plugins.upstream-jwt.schema"
local validate, refused = require("spec.helpers.schema_assert")(schema)
local httpsig = require "kong.plugins.upstream-jwt.httpsig"

local SECRET32 = string.rep("s", 32)
local PEM = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF\n-----END PRIVATE KEY-----\n"

describe("upstream-jwt schema: format http-message-signature", function()
  it("defaults to jwt, label kong, no tag", function()
    local conf = assert(validate({ secret = SECRET32 }))
    assert.equal("jwt", conf.format)
    assert.equal("kong", conf.signature_label)
    assert.is_nil(conf.signature_tag)
  end)

  it("accepts every algorithm RFC 9421 registers", function()
    assert(validate({ format = "http-message-signature", secret = SECRET32 }))
    for _, alg in ipairs({ "EdDSA" }) do
      assert(validate({ format = "http-message-signature", algorithm = alg, private_key = PEM,
                        signature_label = "gw-1.a*", signature_tag = "orders api" }))
    end
    -- the algorithm map covers exactly the schema's allowed set
    local n = 0
    for _ in pairs(httpsig.ALGORITHMS) do n = n + 1 end
    assert.equal(5, n)
    assert.equal("rsa-pss-sha512", httpsig.ALGORITHMS.PS256)
  end)

  it("refuses HS384/HS512, which have no RFC 9421 algorithm", function()
    refused({ format = "http-message-signature", algorithm = "HS384", secret = string.rep("s", 48) },
            "RFC 9421 has no HMAC-SHA-384/512")
    refused({ format = "http-message-signature", algorithm = "HS512", secret = string.rep("s", 64) },
            "RFC 9421 has no HMAC-SHA-384/512")
    assert(validate({ format = "jwt", algorithm = "HS512", secret = string.rep("s", 64) }))
  end)

  it("refuses an unknown format, a label that is not a structured-field key, a non-printable tag", function()
    refused({ format = "cavage", secret = SECRET32 }, "expected one of")
    refused({ secret = SECRET32, signature_label = "Kong" }, "structured-field key")
    refused({ secret = SECRET32, signature_label = "1kong" }, "structured-field key")
    refused({ secret = SECRET32, signature_label = "" }, "")
    refused({ secret = SECRET32, signature_tag = "a\nb" }, "printable ASCII")
    refused({ secret = SECRET32, signature_tag = "caf\xc3\xa9" }, "printable ASCII")
  end)
end)
