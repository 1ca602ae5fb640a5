-- Compiles a Kong declarative config (`_format_version: "3.0"`) into the flat
-- JSON document the gateway's nginx workers load (gateway/runtime.lua).
--
-- Runs under plain LuaJIT *before* nginx starts, so that an unknown plugin, a
-- config the plugin's schema refuses or a dangling reference stops the
-- gateway with one clear line instead of a half-started server.
--
--   luajit compile.lua CONFIG.yml OUT.json
--
-- Exit 0 on success; 1 with "gateway: <message>" on stderr otherwise.

local cjson = require "cjson.safe"
-- Plugin schemas are written for OpenResty and may touch `ngx.null`,
-- `ngx.log` or `ngx.decode_base64` while validating: outside nginx give them
-- the same members.
require("plain_ngx").install()

local lyaml = require "lyaml"
local vault = require "gateway.vault"
local uuid = require "gateway.uuid"

local M = {}

local BUILTIN_PLUGINS = {
  ["key-auth"] = "gateway.plugins.key-auth",
}

local function fail(fmt, ...)
  error({ gateway_error = string.format(fmt, ...) }, 0)
end

-- lyaml turns `~`/`null` into its own sentinel; a declarative config has no
-- use for explicit nulls, so they simply mean "absent".
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

local function is_array(t)
  if type(t) ~= "table" then
    return false
  end
  local n = 0
  for _ in pairs(t) do
    n = n + 1
  end
  return n == #t
end

local function as_list(v, what)
  if v == nil then
    return {}
  end
  if not is_array(v) then
    fail("%s must be a list", what)
  end
  return v
end

local function label(kind, ent, idx)
  return string.format("%s %s", kind,
    ent.name or ent.username or ent.id or ("#" .. idx))
end

-- http://host:port/path  ->  protocol, host, port, path
local function parse_url(url, what)
  local proto, rest = url:match("^(%a[%w+.-]*)://(.+)$")
  if not proto then
    fail("%s: url '%s' is not an absolute URL", what, url)
  end
  proto = proto:lower()
  if proto ~= "http" and proto ~= "https" then
    fail("%s: url scheme '%s' is not supported (http, https)", what, proto)
  end
  local authority, path = rest:match("^([^/?#]*)(.*)$")
  path = path:match("^([^?#]*)")
  local host, port
  if authority:sub(1, 1) == "[" then
    host, port = authority:match("^%[([^%]]+)%]:?(%d*)$")
  else
    host, port = authority:match("^([^:]+):?(%d*)$")
  end
  if not host or host == "" then
    fail("%s: url '%s' has no host", what, url)
  end
  port = tonumber(port) or (proto == "https" and 443 or 80)
  if path == "" then
    path = nil
  end
  return proto, host, port, path
end

local function normalize_service(svc, idx)
  local what = label("service", svc, idx)
  local out = {
    id = svc.id or uuid(),
    name = svc.name,
    retries = svc.retries or 5,
    connect_timeout = svc.connect_timeout or 60000,
    write_timeout = svc.write_timeout or 60000,
    read_timeout = svc.read_timeout or 60000,
    enabled = svc.enabled ~= false,
  }
  if svc.url then
    out.protocol, out.host, out.port, out.path = parse_url(svc.url, what)
  else
    out.protocol = svc.protocol or "http"
    out.host = svc.host
    out.port = svc.port or (out.protocol == "https" and 443 or 80)
    out.path = svc.path
    if not out.host then
      fail("%s: needs 'url' or 'host'", what)
    end
    if out.protocol ~= "http" and out.protocol ~= "https" then
      fail("%s: protocol '%s' is not supported (http, https)", what, out.protocol)
    end
  end
  if out.path and out.path:sub(1, 1) ~= "/" then
    fail("%s: path must start with '/'", what)
  end
  return out
end

local function normalize_route(route, idx, service_id)
  local what = label("route", route, idx)
  local out = {
    id = route.id or uuid(),
    name = route.name,
    service_id = service_id,
    strip_path = route.strip_path ~= false, -- Kong's default is true
    preserve_host = route.preserve_host == true,
    path_handling = route.path_handling or "v0",
    regex_priority = route.regex_priority or 0,
    paths = {},
    methods = nil,
    hosts = nil,
  }
  if out.path_handling ~= "v0" and out.path_handling ~= "v1" then
    fail("%s: path_handling must be 'v0' or 'v1'", what)
  end
  for _, p in ipairs(as_list(route.paths, what .. ": paths")) do
    if type(p) ~= "string" then
      fail("%s: paths must be strings", what)
    end
    if p:sub(1, 1) == "~" then
      out.paths[#out.paths + 1] = { regex = p:sub(2) }
    elseif p:sub(1, 1) == "/" then
      out.paths[#out.paths + 1] = { prefix = p }
    else
      fail("%s: path '%s' must start with '/' (or '~' for a regex)", what, p)
    end
  end
  if route.methods then
    out.methods = {}
    for _, m in ipairs(as_list(route.methods, what .. ": methods")) do
      out.methods[#out.methods + 1] = tostring(m):upper()
    end
  end
  if route.hosts then
    out.hosts = {}
    for _, h in ipairs(as_list(route.hosts, what .. ": hosts")) do
      out.hosts[#out.hosts + 1] = tostring(h):lower()
    end
  end
  if #out.paths == 0 and not out.methods and not out.hosts then
    fail("%s: must have at least one of 'paths', 'methods' or 'hosts'", what)
  end
  return out
end

-- Every `string` field of the schema's config record marked referenceable,
-- as a path of field names (arrays of referenceable strings use "*").
local function referenceable_paths(fields, prefix, acc)
  for _, f in ipairs(fields or {}) do
    local name, def = next(f)
    local path = { unpack(prefix) }
    path[#path + 1] = name
    if def.referenceable then
      acc[#acc + 1] = path
    elseif def.type == "record" then
      referenceable_paths(def.fields, path, acc)
    elseif (def.type == "array" or def.type == "set") and def.elements
           and def.elements.referenceable then
      path[#path + 1] = "*"
      acc[#acc + 1] = path
    end
  end
  return acc
end

local function config_record(schema)
  for _, f in ipairs(schema.fields or {}) do
    local name, def = next(f)
    if name == "config" then
      return def
    end
  end
  return nil
end

-- Records {path, reference} for each reference in a referenceable field, and
-- refuses references anywhere else (Kong only dereferences those fields).
local function collect_references(conf, ref_paths, plugin_what, acc, env_names)
  local refpath_set = {}
  local function walk(node, path, referenceable)
    if type(node) == "string" then
      if vault.is_reference(node) then
        if not referenceable then
          fail("%s: config.%s: '%s' is a vault reference but the field is not referenceable",
               plugin_what, table.concat(path, "."), node)
        end
        local parsed, err = vault.parse(node)
        if not parsed then
          fail("%s: config.%s: %s", plugin_what, table.concat(path, "."), err)
        end
        env_names[parsed.env] = true
        acc[#acc + 1] = { path = { unpack(path) }, reference = node }
      end
      return
    end
    if type(node) ~= "table" then
      return
    end
    for k, v in pairs(node) do
      path[#path + 1] = k
      local key = table.concat(path, "\0")
      local wild = #path > 1 and (table.concat(path, "\0", 1, #path - 1) .. "\0*") or nil
      walk(v, path, refpath_set[key] or (type(k) == "number" and wild and refpath_set[wild]) or false)
      path[#path] = nil
    end
  end
  for _, p in ipairs(ref_paths) do
    refpath_set[table.concat(p, "\0")] = true
  end
  walk(conf, {}, false)
end

local function flatten_errors(err_tbl, prefix, out)
  out = out or {}
  if type(err_tbl) ~= "table" then
    out[#out + 1] = (prefix and (prefix .. ": ") or "") .. tostring(err_tbl)
    return out
  end
  local keys = {}
  for k in pairs(err_tbl) do
    keys[#keys + 1] = k
  end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  for _, k in ipairs(keys) do
    local name = (type(k) == "number") and ("[" .. k .. "]") or tostring(k)
    if k == "@entity" then
      name = nil
    end
    local p = prefix
    if name then
      p = prefix and (type(k) == "number" and (prefix .. name) or (prefix .. "." .. name)) or name
    end
    flatten_errors(err_tbl[k], p, out)
  end
  return out
end

local function load_plugin(name)
  local base = BUILTIN_PLUGINS[name] or ("kong.plugins." .. name)
  if not package.searchpath(base .. ".handler", package.path) then
    fail("plugin '%s' is not available: no module %s.handler on the Lua path", name, base)
  end
  local ok, schema = pcall(require, base .. ".schema")
  if not ok then
    fail("plugin '%s': cannot load %s.schema: %s", name, base, tostring(schema))
  end
  if type(schema) ~= "table" then
    fail("plugin '%s': %s.schema did not return a table", name, base)
  end
  local meta_ok, meta_err = require("kong_schema_validator").check_schema(schema)
  if not meta_ok then
    fail("plugin '%s': Kong would refuse to load %s.schema: %s", name, base, meta_err)
  end
  return base, schema
end

local function validate_plugin(p, idx, scope_what, env_names)
  local what = string.format("plugin '%s'%s", tostring(p.name), scope_what)
  if type(p.name) ~= "string" or p.name == "" then
    fail("plugin #%d%s has no name", idx, scope_what)
  end
  local module_base, schema = load_plugin(p.name)
  local validator = require "kong_schema_validator"
  local conf, err_tbl, err_msg = validator.validate(schema, p.config or {})
  if not conf then
    local msg = err_msg
    if not msg then
      msg = table.concat(flatten_errors(err_tbl or "invalid configuration", "config"), "; ")
    end
    fail("%s: invalid configuration: %s", what, msg)
  end
  local refs = {}
  local rec = config_record(schema)
  collect_references(conf, referenceable_paths(rec and rec.fields, {}, {}), what, refs, env_names)
  return {
    id = p.id or uuid(),
    name = p.name,
    module = module_base,
    config = conf,
    references = refs,
    enabled = p.enabled ~= false,
    -- "consumer"-scoped plugins are not supported by this harness; refuse
    -- them rather than silently applying them to everyone.
    consumer = p.consumer and fail("%s: consumer-scoped plugins are not supported by dev/gateway", what),
  }
end

function M.compile(doc)
  if type(doc) ~= "table" then
    fail("config is not a YAML mapping")
  end
  local fv = doc._format_version
  if fv ~= "3.0" and fv ~= "2.1" then
    fail("_format_version must be \"3.0\" (got %s)", tostring(fv))
  end

  local KNOWN = { _format_version = true, _transform = true, _workspace = true, _comment = true,
                  _info = true, services = true, routes = true, consumers = true, plugins = true,
                  keyauth_credentials = true }
  for k in pairs(doc) do
    if not KNOWN[k] then
      -- Kong would load these; the harness cannot, so say so instead of
      -- silently behaving differently.
      io.stderr:write(string.format("gateway: warning: '%s' entities are not supported by dev/gateway and are ignored\n",
                                    tostring(k)))
    end
  end

  local out = {
    services = {},
    routes = {},
    consumers = {},
    keyauth_credentials = {},
    plugins = {},
    env = {},
  }
  local env_names = {}
  local services_by_ref = {}
  local routes_by_ref = {}
  local pending_plugins = {}

  local function add_plugins(list, scope, scope_what)
    for i, p in ipairs(as_list(list, "plugins" .. scope_what)) do
      pending_plugins[#pending_plugins + 1] = { p = p, idx = i, scope = scope, what = scope_what }
    end
  end

  local function add_route(r, idx, service_id)
    local route = normalize_route(r, idx, service_id)
    out.routes[#out.routes + 1] = route
    routes_by_ref[route.id] = route
    if route.name then
      if routes_by_ref[route.name] then
        fail("route name '%s' is used twice", route.name)
      end
      routes_by_ref[route.name] = route
    end
    add_plugins(r.plugins, { route = route.id }, " on route " .. (route.name or route.id))
  end

  for i, s in ipairs(as_list(doc.services, "services")) do
    local svc = normalize_service(s, i)
    out.services[svc.id] = svc
    services_by_ref[svc.id] = svc
    if svc.name then
      if services_by_ref[svc.name] then
        fail("service name '%s' is used twice", svc.name)
      end
      services_by_ref[svc.name] = svc
    end
    for j, r in ipairs(as_list(s.routes, label("service", s, i) .. ": routes")) do
      add_route(r, j, svc.id)
    end
    add_plugins(s.plugins, { service = svc.id }, " on service " .. (svc.name or svc.id))
  end

  for i, r in ipairs(as_list(doc.routes, "routes")) do
    local ref = r.service
    if type(ref) == "table" then
      ref = ref.id or ref.name
    end
    local svc = ref and services_by_ref[ref]
    if not svc then
      fail("%s: service '%s' not found", label("route", r, i), tostring(ref))
    end
    add_route(r, i, svc.id)
  end

  local consumers_by_ref = {}
  for i, c in ipairs(as_list(doc.consumers, "consumers")) do
    if not c.username and not c.custom_id then
      fail("consumer #%d: needs 'username' or 'custom_id'", i)
    end
    local consumer = { id = c.id or uuid(), username = c.username, custom_id = c.custom_id }
    out.consumers[consumer.id] = consumer
    consumers_by_ref[consumer.id] = consumer
    if c.username then
      consumers_by_ref[c.username] = consumer
    end
    for j, cred in ipairs(as_list(c.keyauth_credentials, label("consumer", c, i) .. ": keyauth_credentials")) do
      if type(cred.key) ~= "string" or cred.key == "" then
        fail("%s: keyauth_credentials #%d has no key", label("consumer", c, i), j)
      end
      if out.keyauth_credentials[cred.key] then
        fail("%s: keyauth_credentials #%d: key is not unique", label("consumer", c, i), j)
      end
      out.keyauth_credentials[cred.key] = {
        id = cred.id or uuid(),
        key = cred.key,
        consumer = { id = consumer.id },
      }
    end
    if c.plugins then
      fail("%s: consumer-scoped plugins are not supported by dev/gateway", label("consumer", c, i))
    end
  end
  -- Top-level credentials referring to consumers, as `deck dump` writes them.
  for i, cred in ipairs(as_list(doc.keyauth_credentials, "keyauth_credentials")) do
    local ref = type(cred.consumer) == "table" and (cred.consumer.id or cred.consumer.username) or cred.consumer
    local consumer = ref and consumers_by_ref[ref]
    if not consumer then
      fail("keyauth_credentials #%d: consumer '%s' not found", i, tostring(ref))
    end
    if type(cred.key) ~= "string" or cred.key == "" or out.keyauth_credentials[cred.key] then
      fail("keyauth_credentials #%d: missing or duplicate key", i)
    end
    out.keyauth_credentials[cred.key] = { id = cred.id or uuid(), key = cred.key, consumer = { id = consumer.id } }
  end

  add_plugins(doc.plugins, {}, "")
  local seen_scope = {}
  for _, pp in ipairs(pending_plugins) do
    local p, scope = pp.p, pp.scope
    -- Top-level plugins may name their service/route (Kong's foreign keys).
    local sref = type(p.service) == "table" and (p.service.id or p.service.name) or p.service
    local rref = type(p.route) == "table" and (p.route.id or p.route.name) or p.route
    if sref then
      local svc = services_by_ref[sref] or fail("plugin '%s': service '%s' not found", tostring(p.name), tostring(sref))
      scope = { service = svc.id }
    end
    if rref then
      local route = routes_by_ref[rref] or fail("plugin '%s': route '%s' not found", tostring(p.name), tostring(rref))
      scope = { route = route.id }
    end
    local plugin = validate_plugin(p, pp.idx, pp.what, env_names)
    plugin.route = scope.route
    plugin.service = scope.service
    local key = table.concat({ plugin.name, plugin.route or "", plugin.service or "" }, "\0")
    if seen_scope[key] then
      fail("plugin '%s' is configured twice on the same scope%s", plugin.name, pp.what)
    end
    seen_scope[key] = true
    out.plugins[#out.plugins + 1] = plugin
  end

  -- key-auth `anonymous` names a consumer by id or username: check it now,
  -- as Kong would fail every request otherwise.
  for _, plugin in ipairs(out.plugins) do
    local anon = plugin.name == "key-auth" and plugin.config.anonymous
    if type(anon) == "string" and anon ~= "" then
      local c = consumers_by_ref[anon]
      if not c then
        fail("plugin 'key-auth': config.anonymous: consumer '%s' not found", anon)
      end
      plugin.config.anonymous = c.id
    end
  end

  for name in pairs(env_names) do
    out.env[#out.env + 1] = name
  end
  table.sort(out.env)
  return out
end

local function read_file(path)
  local f, err = io.open(path, "rb")
  if not f then
    fail("cannot read %s", err)
  end
  local s = f:read("*a")
  f:close()
  return s
end

function M.main(argv)
  local config_path, out_path = argv[1], argv[2]
  if not config_path or not out_path then
    io.stderr:write("usage: luajit compile.lua CONFIG.yml OUT.json\n")
    return 2
  end
  local ok, res = pcall(function()
    local text = read_file(config_path)
    local parsed_ok, doc = pcall(lyaml.load, text)
    if not parsed_ok then
      fail("%s: YAML error: %s", config_path, tostring(doc))
    end
    return M.compile(strip_yaml_nulls(doc))
  end)
  if not ok then
    local msg = type(res) == "table" and res.gateway_error or ("internal error: " .. tostring(res))
    io.stderr:write("gateway: ", config_path, ": ", msg, "\n")
    return 1
  end
  local json = cjson.encode(res)
  local f = assert(io.open(out_path, "wb"))
  f:write(json)
  f:close()
  return 0
end

if arg and arg[0] and arg[0]:match("compile%.lua$") then
  os.exit(M.main(arg))
end

return M
