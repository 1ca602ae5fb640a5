-- `luarocks make` of the rockspec into a fresh tree gives a working plugin:
-- the native library is built by CMake and installed where native.lua finds
-- it through package.cpath, and the installed modules sign a token.
local setup = require "spec.helpers.setup"
local native = setup.require_native()

local ROCKSPEC = "kong-plugin-upstream-jwt-0.1.0-1.rockspec"
local q = setup.shell_quote

describe("rockspec", function()
  local tree


  lazy_setup(function()
    local ok, out = setup.run("mktemp -d")
    assert(ok, out)
    tree = out:gsub("%s+$", "")
  end)

  lazy_teardown(function()
    if tree and tree:match("^/tmp/") then
      os.execute("rm -rf " .. q(tree))
    end
  end)

  it("installs with luarocks make into a fresh tree and signs from there", function()
    local ok, out = setup.run("cd " .. q(setup.root) .. " && luarocks --lua-version=5.1 make --tree "
                              .. q(tree) .. " " .. ROCKSPEC)
    assert(ok, "luarocks make failed:\n" .. out)

    local so = tree .. "/lib/lua/5.1/libupstream_jwt.so"
    assert.is_truthy(io.open(so, "rb"), "library not installed at " .. so)
    -- Every plugin module of the checkout, the shared typedefs included.
    local listed, files = setup.run("cd " .. q(setup.root) .. " && ls kong/plugins/*/*.lua")
    assert(listed, files)
    local count = 0
    for file in files:gmatch("%S+") do
      local path = tree .. "/share/lua/5.1/" .. file
      assert.is_truthy(io.open(path, "rb"), path .. " not installed")
      count = count + 1
    end
    assert.is_true(count >= 13, "only " .. count .. " plugin modules found")

    -- A fresh nginx outside the checkout, the tree's paths first, then Kong's (typedefs, the
    -- schema library) as in a Kong install, and no UPSTREAM_JWT_LIB: the library must be
    -- found through package.cpath.
    local script = os.tmpname() .. ".lua"
    setup.write_file(script, [[
      local tree = arg[1]
      package.path = tree .. "/share/lua/5.1/?.lua;" .. tree .. "/share/lua/5.1/?/init.lua;" .. package.path
      package.cpath = tree .. "/lib/lua/5.1/?.so;" .. package.cpath
      assert(package.searchpath("kong.plugins.upstream-jwt.handler", package.path):find(tree, 1, true))
      local native = require "kong.plugins.upstream-jwt.native"
      local handler = require "kong.plugins.upstream-jwt.handler"
      local schema = require "kong.plugins.upstream-jwt.schema"
      assert(handler.VERSION == "0.1.0" and schema.name == "upstream-jwt")
      local validator = require "spec.helpers.schema"
      local conf = assert(validator.validate(schema, { secret = string.rep("r", 32) }))
      assert(conf.header == "X-Upstream-JWT")
      assert(validator.validate(require("kong.plugins.upstream-jwt-jwks.schema"), {
        public_keys = { "{vault://env/k}" }, key_ids = { "k" } }))
      assert(validator.validate(require("kong.plugins.upstream-oauth2.schema"), {
        token_endpoint = "https://as.example/token", client_id = "c", client_secret = "s" }))
      -- The checkout is on the path too: every plugin module the schemas and the handler
      -- loaded (kong.plugins.upstream-jwt.typedefs among them) must have come from the tree.
      for name in pairs(package.loaded) do
        if name:find("^kong%.plugins%.upstream%-") then
          local found = package.searchpath(name, package.path)
          assert(found and found:sub(1, #tree) == tree, name .. " loaded from " .. tostring(found))
        end
      end
      assert(package.loaded["kong.plugins.upstream-jwt.typedefs"])
      local s = assert(native.new_signer("HS256", string.rep("r", 32), "rock"))
      io.write(native.library_path, "\n", assert(s:sign({ iss = "kong", ttl = 60 })), "\n")
    ]])
    ok, out = setup.run("cd /tmp && env -u UPSTREAM_JWT_LIB BUSTED_LOG_LEVEL=crit "
      .. q(setup.root .. "/dev/busted") .. " --script " .. q(script) .. " " .. q(tree))
    os.remove(script)
    assert(ok, out)
    local lib_path, token = out:match("^(%S+)\n(%S+)\n$")
    assert.equal(so, lib_path)

    local v = assert(native.new_verifier())
    assert(v:add_key("HS256", string.rep("r", 32), "rock"))
    local json, reason = v:verify(token, { issuer = "kong" })
    assert(json, reason)
  end)
end)
