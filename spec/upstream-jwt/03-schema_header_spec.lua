-- `config.header` must name a header the token can actually travel in. Kong's
-- nginx template sets these with proxy_set_header, which replaces whatever a
-- plugin put there, so a token in them would silently never reach the
-- service and every request would be proxied without one.
require "spec.helpers.setup"
local validator = require "spec.helpers.schema"
local schema = require "kong.plugins.upstream-jwt.schema"

local SECRET32 = string.rep("s", 32)

local PROXY_SET = { "TE", "Via", "Host", "Upgrade", "Connection", "X-Forwarded-For",
                    "X-Forwarded-Proto", "X-Forwarded-Host", "X-Forwarded-Port",
                    "X-Forwarded-Path", "X-Forwarded-Prefix", "X-Real-IP", "X-Kong-Request-Id" }

describe("upstream-jwt config.header", function()
  it("refuses every header Kong's nginx template sets itself, in any case", function()
    for _, name in ipairs(PROXY_SET) do
      for _, spelling in ipairs({ name, name:lower(), name:upper() }) do
        local conf, errs = validator.validate(schema, { secret = SECRET32, header = spelling })
        assert.is_nil(conf, spelling .. " was accepted")
        assert.equal("must not be '" .. name .. "'", errs.config.header)
      end
    end
  end)

  it("refuses the framing headers", function()
    for _, name in ipairs({ "Content-Length", "Transfer-Encoding" }) do
      local conf, errs = validator.validate(schema, { secret = SECRET32, header = name:lower() })
      assert.is_nil(conf)
      assert.equal("must not be '" .. name .. "'", errs.config.header)
    end
  end)

  it("accepts ordinary names, Authorization and names that only start like a reserved one", function()
    for _, name in ipairs({ "X-Upstream-JWT", "Authorization", "X-Forwarded-Token", "Hostname",
                            "X-Real-IP-Token", "TE-Token" }) do
      local conf, _, msg = validator.validate(schema, { secret = SECRET32, header = name })
      assert(conf, name .. ": " .. tostring(msg))
      assert.equal(name, conf.header)
    end
  end)
end)
