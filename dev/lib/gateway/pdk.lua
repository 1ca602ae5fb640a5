-- The subset of Kong's 3.x PDK (`kong.*`) that the plugins run by the local
-- gateway use, with Kong's semantics and messages. Each function documents
-- only where it deliberately differs from Kong.
local cjson = require "cjson.safe"
local store = require "gateway.store"
local uuid = require "gateway.uuid"

local ngx = ngx
local type = type
local pairs = pairs
local select = select
local tostring = tostring
local concat = table.concat

local kong = {
  version = "3.4.2",
  version_num = 3004002,
}

-- ---- kong.ctx --------------------------------------------------------------
-- `kong.ctx.shared` is per request; `kong.ctx.plugin` is per request *and*
-- per plugin instance, so it depends on which plugin is running right now.
kong.ctx = setmetatable({}, {
  __index = function(_, k)
    local ctx = ngx.ctx
    if k == "shared" then
      local t = ctx.KONG_SHARED
      if not t then
        t = {}
        ctx.KONG_SHARED = t
      end
      return t
    elseif k == "plugin" then
      local id = ctx.KONG_CURRENT_PLUGIN or "-"
      local all = ctx.KONG_PLUGIN_CTX
      if not all then
        all = {}
        ctx.KONG_PLUGIN_CTX = all
      end
      local t = all[id]
      if not t then
        t = {}
        all[id] = t
      end
      return t
    elseif k == "core" then
      return ctx
    end
  end,
})

-- ---- kong.log ---------------------------------------------------------------
-- Kong prefixes plugin log lines with the plugin's name ("[key-auth] ...").
-- The running plugin is looked up per request (ngx.ctx) at call time, not
-- swapped into a global: a plugin that yields (cosockets) would otherwise
-- log under whichever plugin another request ran meanwhile.
local LEVELS = {
  debug = ngx.DEBUG, info = ngx.INFO, notice = ngx.NOTICE, warn = ngx.WARN,
  err = ngx.ERR, crit = ngx.CRIT, alert = ngx.ALERT, emerg = ngx.EMERG,
}

local function new_logger(namespace)
  local prefix = namespace and ("[" .. namespace .. "] ") or ""
  local log = {}
  for name, level in pairs(LEVELS) do
    log[name] = function(...)
      local n = select("#", ...)
      local parts = { prefix }
      for i = 1, n do
        parts[#parts + 1] = tostring((select(i, ...)))
      end
      -- Kong's format: "[kong] <file>:<line> [<plugin>] <message>"
      local info = debug.getinfo(2, "Sl")
      local where = info and (info.short_src:match("[^/]*$") .. ":" .. (info.currentline or 0) .. " ") or ""
      ngx.log(level, "[kong] ", where, concat(parts))
    end
  end
  log.inspect = setmetatable({}, { __call = function() end })
  log.set_format = function() end
  return log
end

local loggers = {}
function kong.logger_for(namespace)
  local l = loggers[namespace or ""]
  if not l then
    l = new_logger(namespace)
    loggers[namespace or ""] = l
  end
  return l
end
local REQUEST_PHASES = {
  rewrite = true, access = true, content = true, header_filter = true,
  body_filter = true, log = true, balancer = true,
}
-- Outside requests (init_worker) runtime.lua names the plugin here.
kong.log_namespace = nil

kong.log = setmetatable({}, {
  __index = function(_, level)
    local ns = kong.log_namespace
    if REQUEST_PHASES[ngx.get_phase()] then
      ns = ngx.ctx.KONG_CURRENT_PLUGIN_NAME
    end
    return kong.logger_for(ns)[level]
  end,
})

-- ---- kong.request -----------------------------------------------------------
local request = {}
kong.request = request

local BODY_SPILLED = "request body did not fit into client body buffer, " ..
                     "consider raising 'client_body_buffer_size'"

function request.get_method()
  return ngx.req.get_method()
end

function request.get_scheme()
  return ngx.var.scheme
end

function request.get_host()
  return ngx.var.host
end

function request.get_port()
  return tonumber(ngx.var.server_port)
end

function request.get_http_version()
  return ngx.req.http_version()
end

-- The path as the client sent it (percent-encoding kept), without query.
function request.get_path()
  local uri = ngx.var.request_uri or ""
  local q = uri:find("?", 2, true)
  return q and uri:sub(1, q - 1) or uri
end

function request.get_path_with_query()
  return ngx.var.request_uri or ""
end

function request.get_raw_query()
  return ngx.var.args or ""
end

function request.get_query_arg(name)
  local v = request.get_query()[name]
  if type(v) == "table" then
    return v[1]
  end
  return v
end

function request.get_query(max_args)
  return (ngx.req.get_uri_args(max_args or 100))
end

-- "Content-Length" -> "http_content_length", built once per name (as Kong's
-- get_header caches its dash-to-underscore lowering); names come from plugin
-- code and config, not from clients, and the cache is capped all the same.
local header_vars, header_vars_count = {}, 0

function request.get_header(name)
  if type(name) ~= "string" then
    error("header name must be a string", 2)
  end
  local var = header_vars[name]
  if not var then
    var = "http_" .. name:lower():gsub("-", "_")
    if header_vars_count >= 1000 then
      header_vars, header_vars_count = {}, 0
    end
    header_vars[name] = var
    header_vars_count = header_vars_count + 1
  end
  local v = ngx.var[var]
  return v
end

function request.get_headers(max_headers)
  return (ngx.req.get_headers(max_headers or 100))
end

function request.get_raw_body()
  ngx.req.read_body()
  local body = ngx.req.get_body_data()
  if not body then
    if ngx.req.get_body_file() then
      return nil, BODY_SPILLED
    end
    return ""
  end
  return body
end

function request.get_forwarded_scheme()
  return ngx.var.scheme
end

function request.get_forwarded_host()
  return ngx.var.host
end

function request.get_forwarded_port()
  return tonumber(ngx.var.server_port)
end

-- ---- kong.client -------------------------------------------------------------
local client = {}
kong.client = client

function client.get_ip()
  return ngx.var.realip_remote_addr or ngx.var.remote_addr
end

function client.get_forwarded_ip()
  return ngx.var.remote_addr
end

function client.get_port()
  return tonumber(ngx.var.remote_port)
end

function client.get_consumer()
  return ngx.ctx.authenticated_consumer
end

function client.get_credential()
  return ngx.ctx.authenticated_credential
end

function client.authenticate(consumer, credential)
  if consumer ~= nil and type(consumer) ~= "table" then
    error("consumer must be a table or nil", 2)
  end
  if credential ~= nil and type(credential) ~= "table" then
    error("credential must be a table or nil", 2)
  end
  if consumer == nil and credential == nil then
    error("either credential or consumer must be provided", 2)
  end
  local ctx = ngx.ctx
  ctx.authenticated_consumer = consumer
  ctx.authenticated_credential = credential
end

function client.load_consumer(id, search_by_username)
  local c = store.consumer(id)
  if c or not search_by_username then
    return c
  end
  for _, consumer in pairs(store.config.consumers) do
    if consumer.username == id then
      return consumer
    end
  end
  return nil
end

function client.get_protocol()
  return ngx.var.scheme
end

-- ---- kong.router -------------------------------------------------------------
kong.router = {
  get_route = function() return ngx.ctx.route end,
  get_service = function() return ngx.ctx.service end,
}

-- ---- kong.node ---------------------------------------------------------------
local node_id = uuid()
kong.node = {
  get_id = function() return node_id end,
  get_hostname = function()
    local f = io.open("/proc/sys/kernel/hostname")
    local h = f and f:read("*l")
    if f then f:close() end
    return h or "localhost"
  end,
}

-- ---- kong.service ------------------------------------------------------------
local service = { request = {}, response = {} }
kong.service = service

local function check_header(name, value, allow_nil)
  if type(name) ~= "string" then
    error("header name must be a string", 3)
  end
  if not allow_nil or value ~= nil then
    local t = type(value)
    if t ~= "string" and t ~= "number" and t ~= "boolean" and t ~= "table" then
      error("invalid header value for \"" .. name .. "\": got " .. t ..
            ", expected array of string, string, number or boolean", 3)
    end
  end
end

function service.request.set_header(name, value)
  check_header(name, value)
  if name:lower() == "host" then
    ngx.var.upstream_host = value
    return
  end
  if type(value) == "boolean" or type(value) == "number" then
    value = tostring(value)
  end
  ngx.req.set_header(name, value)
end

function service.request.add_header(name, value)
  check_header(name, value)
  local cur = ngx.req.get_headers()[name]
  local list = {}
  if type(cur) == "table" then
    for i = 1, #cur do list[i] = cur[i] end
  elseif cur ~= nil then
    list[1] = cur
  end
  list[#list + 1] = tostring(value)
  ngx.req.set_header(name, list)
end

function service.request.clear_header(name)
  check_header(name, nil, true)
  ngx.req.clear_header(name)
end

function service.request.set_headers(headers)
  for k, v in pairs(headers) do
    service.request.set_header(k, v)
  end
end

function service.request.set_raw_body(body)
  if type(body) ~= "string" then
    error("body must be a string", 2)
  end
  ngx.req.read_body()
  ngx.req.set_body_data(body)
  ngx.req.set_header("Content-Length", tostring(#body))
  ngx.req.clear_header("Transfer-Encoding")
end

function service.request.set_raw_query(query)
  if type(query) ~= "string" then
    error("query must be a string", 2)
  end
  ngx.req.set_uri_args(query)
end

function service.request.set_query(args)
  ngx.req.set_uri_args(args)
end

function service.request.set_path(path)
  if type(path) ~= "string" or path:sub(1, 1) ~= "/" then
    error("path must be a string starting with '/'", 2)
  end
  ngx.var.upstream_uri = path
end

function service.request.set_method(method)
  local id = ngx["HTTP_" .. tostring(method):upper()]
  if not id then
    error("invalid method: " .. tostring(method), 2)
  end
  ngx.req.set_method(id)
end

-- $upstream_status lists every upstream tried ("502, 200"): the last one answered.
function service.response.get_status()
  local s = ngx.var.upstream_status
  return s and tonumber(s:sub(-3)) or nil
end

-- ---- kong.response -----------------------------------------------------------
local response = {}
kong.response = response

function response.get_status()
  return ngx.status
end

function response.get_header(name)
  local v = ngx.header[name]
  if type(v) == "table" then
    return v[1]
  end
  return v
end

function response.get_headers()
  return ngx.resp.get_headers()
end

function response.set_header(name, value)
  check_header(name, value)
  ngx.header[name] = type(value) == "table" and value or tostring(value)
end

function response.add_header(name, value)
  check_header(name, value)
  local cur = ngx.header[name]
  if cur == nil then
    ngx.header[name] = tostring(value)
  else
    if type(cur) ~= "table" then cur = { cur } end
    cur[#cur + 1] = tostring(value)
    ngx.header[name] = cur
  end
end

function response.clear_header(name)
  ngx.header[name] = nil
end

function response.set_status(status)
  ngx.status = status
end

local function send(status, body, headers)
  if ngx.headers_sent then
    error("headers have already been sent", 3)
  end
  ngx.status = status
  ngx.ctx.KONG_EXITED = true
  local has_ct = false
  if headers then
    for k, v in pairs(headers) do
      ngx.header[k] = v
      if k:lower() == "content-type" then
        has_ct = true
      end
    end
  end
  if type(body) == "table" then
    local json, err = cjson.encode(body)
    if not json then
      error("could not JSON-encode body: " .. tostring(err), 3)
    end
    body = json
    if not has_ct then
      ngx.header["Content-Type"] = "application/json; charset=utf-8"
    end
  end
  ngx.header["Server"] = "kong/" .. kong.version
  if body ~= nil then
    body = tostring(body)
    ngx.header["Content-Length"] = #body
    ngx.print(body)
  else
    ngx.header["Content-Length"] = 0
  end
  return ngx.exit(status)
end

function response.exit(status, body, headers)
  if type(status) ~= "number" or status < 100 or status > 599 then
    error("code must be a number between 100 and 599", 2)
  end
  return send(status, body, headers)
end

local DEFAULT_MESSAGES = {
  [400] = "Bad request", [401] = "Unauthorized", [403] = "Forbidden",
  [404] = "Not found", [405] = "Method not allowed", [413] = "Request size limit exceeded",
  [500] = "An unexpected error occurred", [502] = "Bad Gateway",
  [503] = "Service unavailable", [504] = "Gateway timeout",
}

function response.error(status, message, headers)
  if type(status) ~= "number" or status < 400 or status > 599 then
    error("code must be a number between 400 and 599", 2)
  end
  return send(status, { message = message or DEFAULT_MESSAGES[status] or "Error" }, headers)
end

-- ---- kong.table / kong.vault (helpers some plugins call) -----------------------
kong.table = {
  new = function(narr, nrec) return require("table.new")(narr or 0, nrec or 0) end,
  clear = require("table.clear"),
}

local vault = require "gateway.vault"
kong.vault = {
  is_reference = vault.is_reference,
  get = function(ref)
    return vault.resolve(ref)
  end,
  -- References are dereferenced when the worker loads the config.
  update = function(conf) return conf end,
}

return kong
