-- Kong's `env` vault: `{vault://env/NAME}` reads environment variable NAME
-- upper-cased with '-' turned into '_' (`upstream-jwt-secret` ->
-- UPSTREAM_JWT_SECRET); `{vault://env/NAME/KEY}` reads NAME as a JSON object
-- and takes its member KEY.
local cjson = require "cjson.safe"

local M = {}

function M.is_reference(s)
  return type(s) == "string" and s:match("^{vault://.+}$") ~= nil
end

function M.parse(ref)
  local body = ref:match("^{vault://(.+)}$")
  if not body then
    return nil, "not a vault reference"
  end
  local vault_name, rest = body:match("^([^/]+)/(.+)$")
  if vault_name ~= "env" then
    return nil, string.format("vault '%s' is not supported by dev/gateway (only 'env')",
                              tostring(vault_name or body))
  end
  rest = rest:gsub("%?.*$", "")  -- Kong's per-reference options are not used here
  local name, key = rest:match("^([^/]+)/(.+)$")
  name = name or rest
  if name == "" or name:find("[^%w_%-]") then
    return nil, string.format("invalid env vault variable name '%s'", name)
  end
  return { env = name:upper():gsub("%-", "_"), key = key }
end

-- Returns the value, or nil and a reason. Never includes the value itself
-- in the reason: it is a secret.
function M.resolve(ref)
  local parsed, err = M.parse(ref)
  if not parsed then
    return nil, err
  end
  local value = os.getenv(parsed.env)
  if value == nil then
    return nil, "environment variable " .. parsed.env .. " is not set"
  end
  if parsed.key then
    local obj = cjson.decode(value)
    if type(obj) ~= "table" then
      return nil, "environment variable " .. parsed.env .. " is not a JSON object"
    end
    local v = obj[parsed.key]
    if type(v) ~= "string" then
      return nil, "environment variable " .. parsed.env .. " has no string member '" .. parsed.key .. "'"
    end
    return v
  end
  return value
end

return M
