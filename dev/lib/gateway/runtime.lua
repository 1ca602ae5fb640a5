-- The gateway's request path inside nginx: routing, the plugin iterator and
-- the phase handlers called from nginx.conf (written by dev/gateway).
--
-- Mirrors Kong 3.x's runloop: the router sets $upstream_uri (path only)
-- before plugins run; plugins run in PRIORITY order, one instance per plugin
-- name (route beats service beats global); the query string is appended to
-- $upstream_uri after the access plugins, so plugins may still change it.
local cjson = require "cjson.safe"
local store = require "gateway.store"
local router_mod = require "gateway.router"
local vault = require "gateway.vault"
local balancer = require "ngx.balancer"

local ngx = ngx
local kong -- the PDK, set in init()

local M = {}

local router
local handlers = {}        -- module base -> handler table
local worker_plugins       -- plugin entries with resolved config (per worker)
local chains = {}          -- route id -> ordered plugin list (per worker)

local function deep_copy(v)
  if type(v) ~= "table" then
    return v
  end
  local out = {}
  for k, x in pairs(v) do
    out[k] = deep_copy(x)
  end
  return out
end

local function set_path(tbl, path, value)
  for i = 1, #path - 1 do
    tbl = tbl[path[i]]
  end
  tbl[path[#path]] = value
end

-- Kong refuses to start with a handler whose PRIORITY is not an integer or
-- whose VERSION is not "x.y.z" (kong/db/dao/plugins.lua); so does the harness,
-- with Kong's messages, or a plugin could run here and not load in Kong.
local function check_handler(name, h)
  local p = h.PRIORITY
  if type(p) ~= "number" or p ~= p or p == math.huge or p == -math.huge or p ~= math.floor(p) then
    error(('Plugin "%s" cannot be loaded because its PRIORITY field is not a valid integer '
           .. 'number, got: "%s"'):format(name, tostring(p)), 0)
  end
  local v = h.VERSION
  if type(v) ~= "string" or not v:match("^%d+%.%d+%.%d+$") then
    error(('Plugin "%s" cannot be loaded because its VERSION field does not follow the '
           .. '"x.y.z" format, got: "%s"'):format(name, tostring(v)), 0)
  end
end

function M.init(compiled_path)
  store.load(compiled_path)
  _G.kong = require "gateway.pdk"
  kong = _G.kong
  router = router_mod.new(store.config.routes, store.config.services)
  for _, p in ipairs(store.config.plugins) do
    if not handlers[p.module] then
      local h = require(p.module .. ".handler")
      if type(h) ~= "table" then
        error("plugin '" .. p.name .. "': handler did not return a table")
      end
      check_handler(p.name, h)
      handlers[p.module] = h
    end
  end
end

-- Dereference vault references per worker (nginx only passes the variables
-- declared with `env` to workers). Like Kong, a reference that cannot be
-- resolved becomes "" and the plugin decides; its value is never logged.
function M.init_worker()
  worker_plugins = {}
  for _, p in ipairs(store.config.plugins) do
    if p.enabled then
      local conf = deep_copy(p.config)
      for _, ref in ipairs(p.references or {}) do
        local value, err = vault.resolve(ref.reference)
        if value == nil then
          ngx.log(ngx.WARN, "[kong] [", p.name, "] could not resolve reference ",
                  ref.reference, " (", err, "); using \"\"")
          value = ""
        end
        set_path(conf, ref.path, value)
      end
      conf.__plugin_id = p.id
      conf.__key__ = p.id
      local h = handlers[p.module]
      worker_plugins[#worker_plugins + 1] = {
        id = p.id, name = p.name, handler = h, config = conf,
        route = p.route, service = p.service,
        priority = tonumber(h.PRIORITY) or 0,
      }
    end
  end
  local done = {}
  for _, wp in ipairs(worker_plugins) do
    if not done[wp.handler] and type(wp.handler.init_worker) == "function" then
      done[wp.handler] = true
      kong.log_namespace = wp.name
      local ok, err = pcall(wp.handler.init_worker, wp.handler)
      kong.log_namespace = nil
      if not ok then
        ngx.log(ngx.ERR, "[kong] [", wp.name, "] init_worker failed: ", err)
      end
    end
  end
end

local function chain_for(route, service)
  local key = route.id
  local chain = chains[key]
  if chain then
    return chain
  end
  local by_name = {}
  local rank = {}
  for _, wp in ipairs(worker_plugins) do
    local r
    if wp.route then
      r = (wp.route == route.id) and 3 or nil
    elseif wp.service then
      r = (wp.service == service.id) and 2 or nil
    else
      r = 1
    end
    if r and (not rank[wp.name] or r > rank[wp.name]) then
      by_name[wp.name] = wp
      rank[wp.name] = r
    end
  end
  chain = {}
  for _, wp in pairs(by_name) do
    chain[#chain + 1] = wp
  end
  table.sort(chain, function(a, b)
    if a.priority ~= b.priority then
      return a.priority > b.priority
    end
    return a.name < b.name
  end)
  chains[key] = chain
  return chain
end

local function run_phase(phase, ctx)
  local chain = ctx.KONG_CHAIN
  if not chain then
    return
  end
  for i = 1, #chain do
    local wp = chain[i]
    local fn = wp.handler[phase]
    if fn then
      ctx.KONG_CURRENT_PLUGIN = wp.id
      ctx.KONG_CURRENT_PLUGIN_NAME = wp.name
      local ok, err = pcall(fn, wp.handler, wp.config)
      ctx.KONG_CURRENT_PLUGIN = nil
      ctx.KONG_CURRENT_PLUGIN_NAME = nil
      if not ok then
        ngx.log(ngx.ERR, "[kong] [", wp.name, "] ", phase, " phase failed: ", err)
        if phase == "access" and not ngx.headers_sent then
          return kong.response.error(500, "An unexpected error occurred")
        end
      end
      if phase == "access" and ctx.KONG_EXITED then
        return
      end
    end
  end
end

local function request_path()
  local uri = ngx.var.request_uri or "/"
  local q = uri:find("?", 1, true)
  return q and uri:sub(1, q - 1) or uri
end

function M.access()
  local ctx = ngx.ctx
  local var = ngx.var
  local raw_path = request_path()
  local path = router_mod.normalize(raw_path)
  local match = router:exec(ngx.req.get_method(), var.http_host or var.host, path)
  if not match then
    return kong.response.error(404, "no Route matched with those values")
  end
  local route, service = match.route, match.service
  ctx.route = route
  ctx.service = service
  var.upstream_scheme = service.protocol
  var.upstream_uri = match.upstream_uri
  if route.preserve_host then
    var.upstream_host = var.http_host or var.host
  elseif (service.protocol == "http" and service.port == 80)
      or (service.protocol == "https" and service.port == 443) then
    var.upstream_host = service.host
  else
    var.upstream_host = service.host .. ":" .. service.port
  end
  var.upstream_x_forwarded_path = raw_path
  var.upstream_x_forwarded_prefix = match.prefix or ""

  ctx.KONG_CHAIN = chain_for(route, service)
  run_phase("access", ctx)
  if ctx.KONG_EXITED then
    return
  end

  -- nginx drops an empty query ("/foo?") when proxying; keep it, as Kong does.
  if var.is_args == "?" or ngx.var.request_uri:sub(-1) == "?" then
    var.upstream_uri = var.upstream_uri .. "?" .. (var.args or "")
  end
  ctx.KONG_PROXIED = true
end

-- The routed service's address (resolved at start), its timeouts (ms) and,
-- as Kong does, `retries` further attempts when connecting fails (nginx only
-- retries where proxy_next_upstream allows: errors/timeouts, idempotent).
function M.balancer()
  local ctx = ngx.ctx
  local service = ctx.service
  if not ctx.KONG_BALANCER_TRIED then
    ctx.KONG_BALANCER_TRIED = true
    if service.retries > 0 then
      balancer.set_more_tries(service.retries)
    end
  end
  local ok, err = balancer.set_current_peer(service.address, service.port)
  if not ok then
    ngx.log(ngx.ERR, "[kong] cannot set the upstream peer: ", err)
    return ngx.exit(500)
  end
  balancer.set_timeouts(service.connect_timeout / 1000, service.write_timeout / 1000,
                        service.read_timeout / 1000)
end

function M.header_filter()
  local ctx = ngx.ctx
  if ctx.KONG_PROXIED then
    ngx.header["Via"] = "1.1 kong/" .. kong.version
  end
  run_phase("header_filter", ctx)
end

function M.body_filter()
  run_phase("body_filter", ngx.ctx)
end

function M.log()
  run_phase("log", ngx.ctx)
end

-- nginx-generated errors (upstream unreachable, timed out...) answered with
-- Kong's JSON messages.
local ERROR_MESSAGES = {
  [400] = "Bad request",
  [408] = "Request timeout",
  [411] = "Length required",
  [413] = "Request size limit exceeded",
  [494] = "Request header or cookie too large",
  [500] = "An unexpected error occurred",
  [502] = "An invalid response was received from the upstream server",
  [503] = "The upstream server is currently unavailable",
  [504] = "The upstream server is timed out",
}

function M.error_page()
  local status = ngx.status
  local body = cjson.encode({ message = ERROR_MESSAGES[status] or "An unexpected error occurred" })
  ngx.header["Content-Type"] = "application/json; charset=utf-8"
  ngx.header["Server"] = "kong/" .. (kong and kong.version or "")
  ngx.header["Content-Length"] = #body + 1
  ngx.say(body)
end

return M
