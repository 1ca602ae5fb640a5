-- The compiled declarative config (gateway/compile.lua output), loaded once
-- in the master by init_by_lua and shared copy-on-write with the workers.
local cjson = require "cjson.safe"

local M = {
  config = nil,
}

-- Kong hands plugins their config without JSON nulls (an unset optional
-- field is nil, so `if conf.anonymous then` works); do the same.
local function strip_nulls(v)
  if v == cjson.null then
    return nil
  end
  if type(v) == "table" then
    for k, x in pairs(v) do
      v[k] = strip_nulls(x)
    end
  end
  return v
end

function M.load(path)
  local f = assert(io.open(path, "rb"))
  local text = f:read("*a")
  f:close()
  local cfg = assert(cjson.decode(text))
  -- cjson turns empty Lua tables into `{}`; normalize the collections.
  cfg.services = cfg.services or {}
  cfg.routes = cfg.routes or {}
  cfg.consumers = cfg.consumers or {}
  cfg.keyauth_credentials = cfg.keyauth_credentials or {}
  cfg.plugins = cfg.plugins or {}
  for _, p in ipairs(cfg.plugins) do
    p.config = strip_nulls(p.config) or {}
  end
  M.config = cfg
  return cfg
end

function M.consumer(id)
  return M.config.consumers[id]
end

function M.keyauth_credential(key)
  return M.config.keyauth_credentials[key]
end

function M.service(id)
  return M.config.services[id]
end

return M
