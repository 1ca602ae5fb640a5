-- Plugin configs checked by Kong 3.9.3's own schema library, as Kong's
-- spec.helpers.validate_plugin_config_schema does: the schema becomes a subschema of Kong's
-- plugins entity, then process_auto_fields + validate_insert. Runs under dev/busted (inside
-- nginx, with the Kong runtime on the path).
--
--   local schema = require "spec.helpers.schema"
--   local conf, err_t, msg = schema.validate(plugin_schema, { secret = "..." })
--   conf  -> the config record with Kong's defaults (unset optional fields absent)
--   err_t -> Kong's error table ({ config = { ttl = "value should be between 1 and 3600" } })
--   msg   -> Kong's message ("schema violation (config.ttl: value should be ...)")
local config = require "gateway.config"
local MetaSchema = require "kong.db.schema.metaschema"
local uuid = require("kong.tools.uuid").uuid
local deep_copy = require("kong.tools.table").deep_copy

local null = ngx.null

local M = {}

local function strip_nulls(v)
  if v == null then
    return nil
  end
  if type(v) == "table" then
    for k, x in pairs(v) do
      v[k] = strip_nulls(x)
    end
  end
  return v
end

function M.validate(schema_def, conf, extra)
  local plugins = config.schema("plugins")
  assert(plugins:new_subschema(schema_def.name, schema_def))
  local entity = { id = uuid(), name = schema_def.name, config = deep_copy(conf) }
  for k, v in pairs(extra or {}) do
    entity[k] = v
  end
  local e, err = plugins:process_auto_fields(entity, "insert")
  if not e then
    return nil, err, tostring(config.errors:schema_violation(err))
  end
  local ok, err_t = plugins:validate_insert(e)
  if not ok then
    return nil, err_t, tostring(config.errors:schema_violation(err_t))
  end
  return strip_nulls(e.config), nil, nil, strip_nulls(e)
end

-- What Kong's plugin loader checks before it accepts a plugin schema
-- (kong/db/schema/plugin_loader.lua load_subschema).
function M.check_schema(schema_def)
  local ok, err_t = MetaSchema.MetaSubSchema:validate(schema_def)
  if not ok then
    return nil, tostring(config.errors:schema_violation(err_t))
  end
  return true
end

return M
