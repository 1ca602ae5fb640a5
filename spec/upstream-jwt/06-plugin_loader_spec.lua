-- Kong 3.9.3's plugin loader accepts both plugins as Kong will at start: handler PRIORITY and
-- VERSION, the schema against Kong's metaschema (kong/db/schema/metaschema.lua
-- MetaSubSchema), the schema as a subschema of Kong's plugins entity, and the execution order
-- Kong computes (kong/db/dao/plugins.lua get_handlers).
local setup = require "spec.helpers.setup"
local schema_helper = require "spec.helpers.schema"
local config = require "gateway.config"
local Plugins = require "kong.db.dao.plugins"

setup.require_native()

local function loader()
  return setmetatable({ schema = config.schema("plugins"), db = { errors = config.errors } },
                      { __index = Plugins })
end

describe("Kong's plugin loader", function()
  it("loads upstream-jwt and upstream-oauth2 beside the bundled key-auth", function()
    local dao = loader()
    assert(dao:load_plugin_schemas({ ["upstream-jwt"] = true, ["upstream-oauth2"] = true,
                                     ["key-auth"] = true }))
    local order = {}
    for _, p in ipairs(assert(dao:get_handlers())) do
      order[#order + 1] = p.name
    end
    -- key-auth (1250) authenticates first; the signers run after it, upstream-jwt (790) first.
    assert.same({ "key-auth", "upstream-jwt", "upstream-oauth2" }, order)
  end)

  it("checks both schemas against Kong's metaschema", function()
    for _, m in ipairs({ "kong.plugins.upstream-jwt.schema", "kong.plugins.upstream-oauth2.schema",
                         "kong.plugins.key-auth.schema" }) do
      assert.is_true(schema_helper.check_schema(require(m)), m)
    end
  end)

  it("refuses a schema Kong would refuse, with Kong's message", function()
    local ok, err = schema_helper.check_schema({ name = "t", fields = {
      { config = { type = "record", fields = { { a = { type = "string", defualt = "x" } } } } } } })
    assert.is_nil(ok)
    assert.matches("schema violation", err, 1, true)
    assert.matches("defualt", err, 1, true)
  end)

  it("refuses a handler whose PRIORITY or VERSION Kong refuses, with Kong's message", function()
    package.loaded["kong.plugins.spec-badplug.handler"] = { PRIORITY = 1.5, VERSION = "1.0.0" }
    package.loaded["kong.plugins.spec-badplug.schema"] = {
      name = "spec-badplug", fields = { { config = { type = "record", fields = {} } } } }
    local ok, err = loader():load_plugin_schemas({ ["spec-badplug"] = true })
    assert.is_nil(ok)
    assert.matches('Plugin "spec-badplug" cannot be loaded because its PRIORITY field is not a '
                   .. 'valid integer number, got: "1.5"', err, 1, true)
    package.loaded["kong.plugins.spec-badplug.handler"] = { PRIORITY = 10, VERSION = "1.0.0.1" }
    ok, err = loader():load_plugin_schemas({ ["spec-badplug"] = true })
    assert.is_nil(ok)
    assert.matches('its VERSION field does not follow the "x.y.z" format, got: "1.0.0.1"', err, 1, true)
  end)
end)
