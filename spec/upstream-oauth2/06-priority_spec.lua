-- upstream-oauth2's PRIORITY against every plugin Kong 3.9.3 bundles: Kong orders plugins of equal
-- priority by name, so a tie would make the order depend on naming, not on intent (issue 11).
local helpers = require "spec.helpers.setup"

-- Kong's source: KONG_RUNTIME, else the shared copy beside the repository.
local function kong_plugins_dir()
  local runtime = os.getenv("KONG_RUNTIME")
  if not runtime or runtime == "" then
    runtime = helpers.root .. "/../shared/kong-runtime"
  end
  return runtime .. "/kong/kong/plugins"
end

-- Every bundled plugin's priority, whichever of the three spellings its handler uses:
-- `PRIORITY = n` (field or local), or pre/post-function's `_handler")(n)`.
local function bundled_priorities()
  local dir = kong_plugins_dir()
  local ls = assert(io.popen("ls " .. helpers.shell_quote(dir) .. " 2>/dev/null"))
  local out = {}
  for name in ls:lines() do
    local f = io.open(dir .. "/" .. name .. "/handler.lua", "rb")
    if f then
      local src = f:read("*a")
      f:close()
      local p = src:match("PRIORITY%s*=%s*(%-?%d+)") or src:match('_handler"%)%((%-?%d+)%)')
      out[name] = assert(tonumber(p), "no PRIORITY found in bundled plugin " .. name)
    end
  end
  ls:close()
  return out
end

describe("upstream-oauth2 PRIORITY", function()
  local handler, bundled

  setup(function()
    helpers.require_native()
    -- only the constant is read: no request is made; Kong's real PDK is the `kong` it captures
    require "spec.helpers.pdk_request"
    handler = require "kong.plugins.upstream-oauth2.handler"
    bundled = bundled_priorities()
  end)

  it("reads the priorities of Kong's bundled plugins", function()
    -- sanity: the extraction saw the whole set, including the odd spellings
    assert.equal(1250, bundled["key-auth"])
    assert.equal(760, bundled["standard-webhooks"])
    assert.equal(772, bundled["ai-prompt-decorator"])
    assert.equal(1000000, bundled["pre-function"])
    local n = 0
    for _ in pairs(bundled) do
      n = n + 1
    end
    assert.is_true(n >= 40, "only " .. n .. " bundled plugins found")
  end)

  it("ties with no bundled plugin", function()
    for name, p in pairs(bundled) do
      assert.are_not.equal(p, handler.PRIORITY, "ties with bundled " .. name)
    end
  end)

  it("runs after authentication, request-transformer and upstream-jwt", function()
    assert.is_true(handler.PRIORITY < bundled["request-transformer"])
    for _, auth in ipairs({ "key-auth", "basic-auth", "jwt", "oauth2", "hmac-auth", "ldap-auth",
                            "openid-connect" }) do
      if bundled[auth] then
        assert.is_true(handler.PRIORITY < bundled[auth], auth)
      end
    end
    local jwt_handler = require "kong.plugins.upstream-jwt.handler"
    assert.is_true(handler.PRIORITY < jwt_handler.PRIORITY)
  end)
end)
