-- The stand-in validator must refuse a plugin schema wherever Kong's
-- MetaSubSchema would (kong/db/schema/metaschema.lua): otherwise a schema can
-- pass every spec and dev/gateway and still stop a real Kong from starting.
local setup = require "spec.helpers.setup"
local validator = require "kong_schema_validator"

local function plugin_schema(config_fields, extra)
  local s = { name = "t", fields = {
    { protocols = { type = "set", elements = { type = "string", one_of = { "http", "https" } },
                    default = { "http" } } },
    { config = { type = "record", fields = config_fields } },
  } }
  for k, v in pairs(extra or {}) do
    s[k] = v
  end
  return s
end

local function refused(s, fragment)
  local ok, err = validator.check_schema(s)
  assert.is_nil(ok, "schema was accepted")
  assert.truthy(err:find(fragment, 1, true), err)
  -- validate() refuses every config of such a schema, so dev/gateway stops.
  local conf, _, msg = validator.validate(s, {})
  assert.is_nil(conf)
  assert.truthy(msg:find("metaschema", 1, true), msg)
end

describe("Kong metaschema rules in the stand-in validator", function()
  it("accepts the schemas this repository ships", function()
    for _, m in ipairs({ "kong.plugins.upstream-jwt.schema", "kong.plugins.upstream-oauth2.schema",
                         "gateway.plugins.key-auth.schema" }) do
      assert.is_true(validator.check_schema(require(m)), m)
    end
  end)

  it("refuses an attribute Kong does not know (a typo)", function()
    refused(plugin_schema({ { a = { type = "string", defualt = "x" } } }),
            "config.a: unknown field attribute 'defualt'")
  end)

  it("refuses a description outside 10..500 characters", function()
    refused(plugin_schema({ { a = { type = "string", description = "too short" } } }),
            "invalid 'description'")
    refused(plugin_schema({ { a = { type = "string", description = string.rep("d", 501) } } }),
            "invalid 'description'")
    assert.is_true(validator.check_schema(plugin_schema({
      { a = { type = "string", description = "ten chars." } } })))
  end)

  it("refuses an attribute on a type that cannot carry it", function()
    refused(plugin_schema({ { a = { type = "string", between = { 1, 2 } } } }),
            "field of type 'string' cannot have attribute 'between'")
    refused(plugin_schema({ { a = { type = "boolean", one_of = { true } } } }),
            "field of type 'boolean' cannot have attribute 'one_of'")
  end)

  it("refuses aggregates without their element definitions and unknown types", function()
    refused(plugin_schema({ { a = { type = "array" } } }), "must declare 'elements'")
    refused(plugin_schema({ { a = { type = "map", keys = { type = "string" } } } }),
            "must declare 'values'")
    refused(plugin_schema({ { a = { type = "text" } } }), "unknown type 'text'")
    refused(plugin_schema({ { a = { required = true } } }), "missing type declaration")
  end)

  it("refuses a default its own field rejects", function()
    refused(plugin_schema({ { a = { type = "integer", default = 0, between = { 1, 10 } } } }),
            "default is invalid: value should be between 1 and 10")
    refused(plugin_schema({ { a = { type = "string", default = "x", one_of = { "y" } } } }),
            "default is invalid")
  end)

  it("refuses unknown entity checks, unknown arguments and checks on missing fields", function()
    local fields = { { a = { type = "string" } } }
    refused(plugin_schema(fields, { entity_checks = { { exactly_one_of = { "config.a" } } } }),
            "unknown entity check 'exactly_one_of'")
    refused(plugin_schema(fields, { entity_checks = { { conditional = {
      if_field = "config.a", if_match = { eq = "x" }, then_field = "config.a",
      then_match = { required = true }, else_err = "no" } } } }),
      "conditional: unknown field 'else_err'")
    refused(plugin_schema(fields, { entity_checks = { { at_least_one_of = { "config.b" } } } }),
            "names 'config.b', which is not a field")
  end)

  it("refuses schema attributes and plugin fields Kong does not have", function()
    refused(plugin_schema({}, { no_consumer = true }), "unknown schema attribute 'no_consumer'")
    local s = plugin_schema({})
    table.insert(s.fields, 1, { owner = { type = "string" } })
    refused(s, "owner: a plugin schema cannot create a new field")
    s = plugin_schema({})
    s.name = nil
    refused(s, "name: required field missing")
  end)

  it("dev/gateway refuses to start with a plugin whose schema Kong would not load", function()
    local dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir -p " .. dir .. "/kong/plugins/typo") == 0)
    local function write(path, text)
      local f = assert(io.open(dir .. "/" .. path, "w"))
      f:write(text)
      f:close()
    end
    write("kong/plugins/typo/schema.lua", [[return { name = "typo", fields = { { config = {
      type = "record", fields = { { a = { type = "string", defualt = "x" } } } } } } }]])
    write("kong/plugins/typo/handler.lua", [[return { PRIORITY = 1, VERSION = "0.1.0" }]])
    write("kong.yml", [[
_format_version: "3.0"
services: [ { name: s, url: "http://127.0.0.1:9" } ]
plugins: [ { name: typo } ]
]])
    local root = setup.root
    local cmd = ("cd %s && LUA_PATH='%s/?.lua;%s/?.lua;%s/dev/lib/?.lua;;' luajit %s/dev/lib/gateway/compile.lua "
                 .. "%s/kong.yml %s/out.json 2>&1; echo rc=$?"):format(root, dir, root, root, root, dir, dir)
    local p = io.popen(cmd)
    local out = p:read("*a")
    p:close()
    os.execute("rm -rf " .. dir)
    assert.truthy(out:find("rc=1", 1, true), out)
    assert.truthy(out:find("plugin 'typo': Kong would refuse to load kong.plugins.typo.schema: "
                           .. "config.a: unknown field attribute 'defualt'", 1, true), out)
  end)
end)
