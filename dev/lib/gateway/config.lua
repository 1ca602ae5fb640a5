-- Declarative config (`_format_version: "3.0"`) -> entities checked by Kong's own schema library.
--
-- Stands for the part of kong/db/declarative/ (import + validation) that the LMDB store makes
-- unloadable here: it flattens nested entities into foreign keys as Kong's declarative loader
-- does, then every entity goes through Kong's entity schemas (kong.db.schema.entities.*,
-- kong.plugins.key-auth.daos) with process_auto_fields + validate_insert, and every plugin
-- through Kong's plugin loader (kong.db.dao.plugins: load_plugin_schemas, which loads the
-- handler, checks PRIORITY/VERSION and the schema against the metaschema). Errors carry Kong's
-- messages; `fail` raises { gateway_error = msg } for the caller to print.
local lyaml = require "lyaml"
local Entity = require "kong.db.schema.entity"
local Errors = require "kong.db.errors"
local Plugins = require "kong.db.dao.plugins"
local uuid = require("kong.tools.uuid").uuid
local load_module_if_exists = require("kong.tools.module").load_module_if_exists

local fmt = string.format

local M = {}

local errors = Errors.new()
local null = ngx.null

-- A field of a processed entity: unset fields are ngx.null there.
local function field(e, k)
  local v = e[k]
  if v == null then
    return nil
  end
  return v
end

local function fail(msg, ...)
  error({ gateway_error = fmt(msg, ...) }, 0)
end

-- lyaml's null sentinel (`~`) means "absent" in a declarative file.
local function strip_yaml_nulls(v)
  if v == lyaml.null then
    return nil
  end
  if type(v) == "table" then
    local out = {}
    for k, x in pairs(v) do
      out[k] = strip_yaml_nulls(x)
    end
    return out
  end
  return v
end

local function list(v, what)
  if v == nil then
    return {}
  end
  if type(v) ~= "table" or #v ~= require("table.nkeys")(v) then
    fail("%s must be a list", what)
  end
  return v
end

-- A declared entity without its nested collections, with the id Kong would generate.
local function declared(t, ...)
  local out = {}
  for k, v in pairs(t) do
    out[k] = v
  end
  for i = 1, select("#", ...) do
    out[select(i, ...)] = nil
  end
  out.id = out.id or uuid()
  return out
end

local schemas = {}
-- Kong's entity schema `name` (kong.db.schema.entities.*, key-auth's credentials), created as
-- kong/db/init.lua does: referenced entities first, then the subschemas.
local function schema(name)
  if not schemas[name] then
    local def = name == "keyauth_credentials" and require("kong.plugins.key-auth.daos")[1]
                or require("kong.db.schema.entities." .. name)
    -- Kong's schema library needs the entities a foreign key refers to first (DB.new's order).
    for _, f in ipairs(def.fields) do
      local _, field = next(f)
      if field.type == "foreign" and field.reference ~= name then
        schema(field.reference)
      end
    end
    local entity = assert(Entity.new(def))
    local ok, subschemas = load_module_if_exists("kong.db.schema.entities." .. name .. "_subschemas")
    if ok then
      for sub, subschema in pairs(subschemas) do
        assert(entity:new_subschema(sub, subschema))
      end
    end
    schemas[name] = entity
  end
  return schemas[name]
end

M.schema = schema
M.errors = errors

-- What a DAO insert does with an entity (kong/db/dao/init.lua: check_insert), minus storage.
local function insert(name, input, what)
  local s = schema(name)
  local entity, err = s:process_auto_fields(input, "insert")
  if not entity then
    fail("%s: %s", what, tostring(errors:schema_violation(err)))
  end
  local ok, err_t = s:validate_insert(entity)
  if not ok then
    fail("%s: %s", what, tostring(errors:schema_violation(err_t)))
  end
  return entity
end

-- What reading it back does (nulls become nil, references are resolved by Kong's vault).
function M.select(name, entity)
  local row, err = schema(name):process_auto_fields(entity, "select")
  if not row then
    fail("%s: %s", name, tostring(err))
  end
  return row
end

local function label(kind, e, i)
  return fmt("%s %s", kind, tostring(e.name or e.username or e.id or ("#" .. i)))
end

local function ref_of(v)
  if type(v) == "table" then
    return v.id or v.name or v.username
  end
  return v
end

local KNOWN = {
  _format_version = true, _transform = true, _workspace = true, _comment = true, _info = true,
  services = true, routes = true, consumers = true, plugins = true, keyauth_credentials = true,
}

-- doc: the parsed YAML. Returns { services, routes, consumers, keyauth_credentials, plugins,
-- handlers } with validated entities and the plugin loader's handlers in Kong's execution order.
function M.load(doc)
  doc = strip_yaml_nulls(doc)
  if type(doc) ~= "table" then
    fail("config is not a YAML mapping")
  end
  if doc._format_version ~= "3.0" and doc._format_version ~= "2.1" then
    fail("_format_version must be \"3.0\" (got %s)", tostring(doc._format_version))
  end
  for k in pairs(doc) do
    if not KNOWN[k] then
      io.stderr:write(fmt("gateway: warning: '%s' entities are not supported by dev/gateway and are ignored\n",
                          tostring(k)))
    end
  end

  local out = { services = {}, routes = {}, consumers = {}, keyauth_credentials = {}, plugins = {} }
  local services_by, routes_by, consumers_by = {}, {}, {}
  local pending_plugins = {}

  local function index(by, e, ...)
    for _, k in ipairs({ ... }) do
      if field(e, k) ~= nil then
        if by[e[k]] then
          fail("%s '%s' is used twice", k, tostring(e[k]))
        end
        by[e[k]] = e
      end
    end
  end

  local function add_plugins(plugins, scope, where)
    for i, p in ipairs(list(plugins, "plugins" .. where)) do
      pending_plugins[#pending_plugins + 1] = { input = p, scope = scope, where = where, idx = i }
    end
  end

  local function add_route(r, i, service)
    local what = label("route", r, i)
    local input = declared(r, "plugins", "service")
    input.service = { id = service.id }
    local route = insert("routes", input, what)
    out.routes[#out.routes + 1] = route
    index(routes_by, route, "id", "name")
    add_plugins(r.plugins, { route = { id = route.id } }, " on route " .. (field(route, "name") or route.id))
  end

  for i, s in ipairs(list(doc.services, "services")) do
    local svc = insert("services", declared(s, "routes", "plugins"), label("service", s, i))
    out.services[#out.services + 1] = svc
    index(services_by, svc, "id", "name")
    for j, r in ipairs(list(s.routes, label("service", s, i) .. ": routes")) do
      add_route(r, j, svc)
    end
    add_plugins(s.plugins, { service = { id = svc.id } }, " on service " .. (field(svc, "name") or svc.id))
  end

  for i, r in ipairs(list(doc.routes, "routes")) do
    local svc = services_by[ref_of(r.service)]
    if not svc then
      fail("%s: service '%s' not found", label("route", r, i), tostring(ref_of(r.service)))
    end
    add_route(r, i, svc)
  end

  local function add_credential(cred, consumer, what)
    local input = declared(cred, "consumer")
    input.consumer = { id = consumer.id }
    local c = insert("keyauth_credentials", input, what)
    if out.keyauth_credentials[c.key] then
      fail("%s: key is not unique", what)
    end
    out.keyauth_credentials[c.key] = c
  end

  for i, c in ipairs(list(doc.consumers, "consumers")) do
    local what = label("consumer", c, i)
    if c.plugins then
      fail("%s: consumer-scoped plugins are not supported by dev/gateway", what)
    end
    local consumer = insert("consumers", declared(c, "keyauth_credentials", "plugins"), what)
    out.consumers[#out.consumers + 1] = consumer
    index(consumers_by, consumer, "id", "username", "custom_id")
    for j, cred in ipairs(list(c.keyauth_credentials, what .. ": keyauth_credentials")) do
      add_credential(cred, consumer, fmt("%s: keyauth_credentials #%d", what, j))
    end
  end
  -- Top-level credentials naming their consumer, as `deck dump` writes them.
  for i, cred in ipairs(list(doc.keyauth_credentials, "keyauth_credentials")) do
    local consumer = consumers_by[ref_of(cred.consumer)]
    if not consumer then
      fail("keyauth_credentials #%d: consumer '%s' not found", i, tostring(ref_of(cred.consumer)))
    end
    add_credential(cred, consumer, fmt("keyauth_credentials #%d", i))
  end

  add_plugins(doc.plugins, {}, "")

  -- Kong's plugin loader, on the plugins entity: loads each plugin's handler and schema,
  -- refuses a PRIORITY/VERSION Kong would refuse, checks the schema against the metaschema
  -- and makes it the entity's `config` subschema.
  local plugins_entity = schema("plugins")
  local names = { ["key-auth"] = true } -- bundled: always available, as in Kong
  for _, pp in ipairs(pending_plugins) do
    local name = pp.input.name
    if type(name) ~= "string" or name == "" then
      fail("plugin #%d%s has no name", pp.idx, pp.where)
    end
    names[name] = true
  end
  local dao = setmetatable({ schema = plugins_entity, db = { errors = errors } }, { __index = Plugins })
  local ok, err = dao:load_plugin_schemas(names)
  if not ok then
    fail("%s", (err:gsub("%s+$", "")))
  end

  local seen = {}
  for _, pp in ipairs(pending_plugins) do
    local p = pp.input
    local what = fmt("plugin '%s'%s", p.name, pp.where)
    if p.consumer then
      fail("%s: consumer-scoped plugins are not supported by dev/gateway", what)
    end
    local input = declared(p, "service", "route")
    input.config = input.config or {}
    input.service, input.route = pp.scope.service, pp.scope.route
    if p.service then
      local svc = services_by[ref_of(p.service)] or fail("%s: service '%s' not found", what, tostring(ref_of(p.service)))
      input.service = { id = svc.id }
    end
    if p.route then
      local route = routes_by[ref_of(p.route)] or fail("%s: route '%s' not found", what, tostring(ref_of(p.route)))
      input.route = { id = route.id }
    end
    local plugin = insert("plugins", input, what)
    local key = table.concat({ plugin.name, input.route and input.route.id or "",
                               input.service and input.service.id or "" }, ":")
    if seen[key] then
      fail("%s: configured twice on the same scope", what)
    end
    seen[key] = true
    out.plugins[#out.plugins + 1] = plugin
  end

  out.handlers = assert(dao:get_handlers())
  out.consumers_by = consumers_by
  return out
end

function M.read(path)
  local f, err = io.open(path, "rb")
  if not f then
    fail("cannot read %s", err)
  end
  local text = f:read("*a")
  f:close()
  local ok, doc = pcall(lyaml.load, text)
  if not ok then
    fail("YAML error: %s", tostring(doc))
  end
  return doc
end

return M
