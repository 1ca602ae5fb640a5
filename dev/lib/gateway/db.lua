-- `kong.db` and `kong.cache` for the declarative config held in memory: the lookups Kong's
-- bundled key-auth and the PDK (kong.client.load_consumer) make.
--
-- Stands for kong/db/dao/init.lua (select, select_by_<unique field>, cache_key) over
-- kong/db/strategies/off (DB-less LMDB, which needs Kong's build), and for kong/cache/init.lua
-- (mlcache, not bundled). Entities come out as a DAO select returns them: through the entity
-- schema's process_auto_fields(..., "select").
local config = require "gateway.config"

local fmt = string.format

local M = {}

local function dao(name, rows, unique)
  local by = {}
  for _, field in ipairs(unique) do
    by[field] = {}
  end
  for _, row in ipairs(rows) do
    for _, field in ipairs(unique) do
      if row[field] ~= nil then
        by[field][row[field]] = row
      end
    end
  end
  local d = {}
  -- kong/db/dao/init.lua DAO:select(pk): nil, nil when absent.
  function d.select(_, pk)
    local row = by.id[pk.id]
    return row and config.select(name, row) or nil
  end
  for _, field in ipairs(unique) do
    d["select_by_" .. field] = function(_, value)
      local row = by[field][value]
      return row and config.select(name, row) or nil
    end
  end
  -- DAO:cache_key's fast path (string key): "<name>:<key>:::::" without workspaces.
  function d.cache_key(_, key, a2, a3, a4, a5)
    return fmt("%s:%s:%s:%s:%s:%s:", name, key or "", a2 or "", a3 or "", a4 or "", a5 or "")
  end
  return d
end

function M.new(loaded)
  local creds = {}
  for _, c in pairs(loaded.keyauth_credentials) do
    creds[#creds + 1] = c
  end
  return {
    strategy = "off",
    consumers = dao("consumers", loaded.consumers, { "id", "username", "custom_id" }),
    keyauth_credentials = dao("keyauth_credentials", creds, { "id", "key" }),
    plugins = dao("plugins", loaded.plugins, { "id" }),
  }
end

-- kong.cache:get(key, opts, cb, ...) with mlcache's results: value, err, hit_level (3 = the
-- callback ran). Per worker; the config never changes while the gateway runs, and a miss is
-- remembered like mlcache's negative cache.
function M.cache()
  local values, misses = {}, {}
  local cache = {}
  function cache.get(_, key, _, cb, ...)
    local v = values[key]
    if v ~= nil then
      return v, nil, 1
    end
    if misses[key] then
      return nil, nil, 1
    end
    local value, err = cb(...)
    if err then
      return nil, err
    end
    if value == nil then
      misses[key] = true
    else
      values[key] = value
    end
    return value, nil, 3
  end
  return cache
end

return M
