-- The rock ships every upstream-oauth2 module, under the module name Kong will require, and
-- nothing from the test stand-ins (resty.http comes with Kong).
local helpers = require "spec.helpers.setup"

local ROCKSPEC = "kong-plugin-upstream-jwt-0.1.0-1.rockspec"

describe("rockspec: upstream-oauth2", function()
  local spec

  setup(function()
    spec = {}
    local chunk = assert(loadfile(helpers.root .. "/" .. ROCKSPEC, "t", spec))
    if setfenv then
      setfenv(chunk, spec)
    end
    chunk()
  end)

  it("installs every module of the plugin", function()
    local ok, out = helpers.run("cd " .. helpers.shell_quote(helpers.root)
                              .. " && ls kong/plugins/upstream-oauth2/*.lua")
    assert(ok, out)
    local lua = spec.build.install.lua
    local count = 0
    for path in out:gmatch("%S+") do
      local module = path:gsub("%.lua$", ""):gsub("/", ".")
      assert.equal(path, lua[module], module .. " missing from the rockspec")
      count = count + 1
    end
    assert.is_true(count >= 4)
  end)

  it("does not ship the test stand-ins", function()
    for module, path in pairs(spec.build.install.lua) do
      assert.is_nil(module:find("^resty%."), module)
      assert.is_nil(path:find("^dev/"), path)
    end
  end)
end)
