-- The runloop glue between nginx.conf (written by dev/gateway) and Kong 3.9.3's own code.
--
-- Kong's code does the work: the PDK (kong.pdk.new), the schema library and plugin loader
-- (gateway/config.lua), the vault (kong.vault through the plugins entity's "select"), the
-- traditional router (kong.router), bundled key-auth, and the error handler
-- (kong.error_handlers). What is written here is only what kong/init.lua and
-- kong/runloop/handler.lua do around them, each piece naming the Kong code it stands for.
require("gateway.standins")() -- before any of Kong's modules loads
-- Kong's modules capture the `kong` global when they load (`local kong = kong`): the table
-- exists first, kong.pdk.new fills it in init().
_G.kong = _G.kong or {}
local config = require "gateway.config"
local db = require "gateway.db"

local ngx = ngx
local var = ngx.var
local fmt = string.format
local byte = string.byte

local M = {}

local kong_global, PHASES, escape, resty_ctx
local router
local handlers          -- { { name, handler } } in Kong's execution order (Plugins:get_handlers)
local configs = {}      -- plugin name -> { global = cfg, service = { [id] = cfg }, route = { [id] = cfg } }
local services = {}     -- id -> { address, port, timeouts, retries } for the balancer
local chains = {}       -- route id -> { plugin, cfg, plugin, cfg, ... } (per worker)
local SERVER_HEADER

-- What kong.conf_loader would produce, reduced to what the PDK, vault, schema library and
-- router read (see the Kong runtime's README).
local function kong_conf()
  return {
    role = "traditional",
    database = "off",
    router_flavor = "traditional",
    loaded_vaults = { env = true },
    vaults = "bundled",
    loaded_plugins = {},
    pluginserver_names = {},
    pluginservers = {},
    proxy_listeners = { { ip = "127.0.0.1", port = 0 } },
    stream_listeners = {},
    untrusted_lua = "sandbox",
    log_level = "notice",
    trusted_ips = {},
    error_default_type = "text/plain",
    enabled_headers = {},
    lua_max_resp_headers = 100,
    lua_max_req_headers = 100,
    lua_max_uri_args = 100,
    lua_max_post_args = 100,
  }
end

-- A config Kong would refuse: at start, one line and exit status 1 before anything listens; on
-- a reload (nginx -s reload / SIGHUP), nginx's own refusal, so the running config stays.
local STARTED = "gateway:started"
local function die(path, msg)
  if ngx.shared.kong:get(STARTED) then
    error("gateway: " .. path .. ": " .. msg, 0)
  end
  io.stderr:write("gateway: ", path, ": ", msg, "\n")
  io.stderr:flush()
  os.exit(1)
end

-- Kong resolves service hosts with its DNS client (kong/runloop/balancer); nginx cannot read
-- /etc/hosts at request time, so each host is resolved once, here.
local function resolve(host)
  local h = host:match("^%[(.+)%]$") or host
  if h:match("^[%d.]+$") or h:find(":", 1, true) then
    return h
  end
  local addrs, err = require("socket").dns.getaddrinfo(h)
  if not addrs then
    return nil, err
  end
  table.sort(addrs, function(a, b) return a.family == "inet" and b.family ~= "inet" end)
  return addrs[1].addr
end

-- kong/init.lua Kong.init, for DB-less mode: PDK, plugins, config, router. `path` is the
-- prefix's copy of the config; `shown` the name errors give.
function M.init(path, shown)
  local conf = kong_conf()
  -- kong/global.lua init_pdk, without the node-id file it keeps in Kong's prefix.
  require("kong.pdk").new(conf, kong)
  kong_global = require "kong.global"
  PHASES = require("kong.pdk.private.phases").phases
  escape = require("kong.tools.uri").escape
  resty_ctx = require "kong.resty.ctx"
  SERVER_HEADER = require("kong.meta")._SERVER_TOKENS

  shown = shown or path
  local ok, loaded = pcall(function()
    return config.load(config.read(path))
  end)
  if not ok then
    die(shown, type(loaded) == "table" and loaded.gateway_error or ("internal error: " .. tostring(loaded)))
  end

  kong.db = db.new(loaded)
  for _, h in ipairs(loaded.handlers) do
    conf.loaded_plugins[h.name] = true
  end
  handlers = loaded.handlers

  -- kong/runloop/plugins_iterator.lua get_plugin_config: the config a plugin receives is the
  -- DAO's "select" of the plugin row, which resolves {vault://...} through kong.vault (an
  -- unresolvable reference becomes "" with a warning, and the plugin decides).
  for _, p in ipairs(loaded.plugins) do
    if p.enabled then
      local row = config.select("plugins", require("kong.tools.table").deep_copy(p))
      local cfg = row.config or {}
      cfg.route_id = row.route and row.route.id
      cfg.service_id = row.service and row.service.id
      cfg.__plugin_id = row.id
      cfg.__key__ = kong.db.plugins:cache_key(row.name, cfg.route_id, cfg.service_id)
      local c = configs[p.name] or { service = {}, route = {} }
      configs[p.name] = c
      if cfg.route_id then
        c.route[cfg.route_id] = cfg
      elseif cfg.service_id then
        c.service[cfg.service_id] = cfg
      else
        c.global = cfg
      end
    end
  end

  local routes = {}
  local svc_by_id = {}
  for _, s in ipairs(loaded.services) do
    local svc = config.select("services", s)
    svc_by_id[svc.id] = svc
    local addr, err = resolve(svc.host)
    if not addr then
      die(shown, fmt("service %s: cannot resolve host %s: %s", svc.name or svc.id, svc.host, tostring(err)))
    end
    services[svc.id] = {
      address = addr, port = svc.port, retries = svc.retries,
      connect_timeout = svc.connect_timeout / 1000, write_timeout = svc.write_timeout / 1000,
      read_timeout = svc.read_timeout / 1000,
    }
  end
  for _, r in ipairs(loaded.routes) do
    local svc = svc_by_id[r.service.id]
    if svc.enabled ~= false then -- kong/runloop/handler.lua build_router skips disabled services
      routes[#routes + 1] = { route = config.select("routes", r), service = svc }
    end
  end
  local err
  router, err = require("kong.router").new(routes)
  if not router then
    die(shown, "router: " .. tostring(err))
  end
end

-- kong/init.lua Kong.init_worker: every plugin's init_worker once. (kong.vault.init_worker,
-- which starts secret rotation on kong.timer = resty.timerng, is not bundled: references are
-- resolved once at start.)
function M.init_worker()
  ngx.shared.kong:set(STARTED, true)
  kong.cache = db.cache()
  local ctx = ngx.ctx
  ctx.KONG_PHASE = PHASES.init_worker
  for _, p in ipairs(handlers) do
    if configs[p.name] and p.handler.init_worker then
      kong_global.set_namespaced_log(kong, p.name, ctx)
      local ok, e = pcall(p.handler.init_worker, p.handler)
      kong_global.reset_log(kong, ctx)
      if not ok then
        ngx.log(ngx.ERR, "[kong] failed to execute the \"init_worker\" handler for plugin \"",
                p.name, "\": ", e)
      end
    end
  end
end

-- kong/runloop/plugins_iterator.lua lookup_cfg without consumers: route, then service, then
-- global; in Plugins:get_handlers() order (PRIORITY, ties by name).
local function chain_for(route_id, service_id)
  local chain = chains[route_id]
  if chain then
    return chain
  end
  chain = {}
  for _, p in ipairs(handlers) do
    local c = configs[p.name]
    local cfg = c and (c.route[route_id] or c.service[service_id] or c.global)
    if cfg then
      chain[#chain + 1] = p
      chain[#chain + 1] = cfg
    end
  end
  chains[route_id] = chain
  return chain
end

local function setup_plugin_context(ctx, p, cfg)
  kong_global.set_named_ctx(kong, "plugin", p.handler, ctx)
  kong_global.set_namespaced_log(kong, p.name, ctx)
  ctx.plugin_id = cfg.__plugin_id
end

-- kong/init.lua execute_collected_plugins_iterator (header_filter, body_filter, log).
local function run_collected(phase, ctx)
  local chain = ctx.KONG_CHAIN
  if not chain then
    return
  end
  for i = 1, #chain, 2 do
    local p, cfg = chain[i], chain[i + 1]
    local fn = p.handler[phase]
    if fn then
      setup_plugin_context(ctx, p, cfg)
      fn(p.handler, cfg)
      kong_global.reset_log(kong, ctx)
    end
  end
end

-- kong/init.lua flush_delayed_response.
local function flush_delayed_response(ctx)
  ctx.delay_response = nil
  if type(ctx.delayed_response_callback) == "function" then
    ctx.delayed_response_callback(ctx)
    return
  end
  local dr = ctx.delayed_response
  local message = dr.content and dr.content.message or dr.content
  return kong.response.error(dr.status_code, message, dr.headers)
end

-- kong/init.lua Kong.rewrite: keep ngx.ctx reachable after nginx's internal redirect to the
-- error handler (kong/resty/ctx.lua), then the global plugins' rewrite handlers.
function M.rewrite()
  local ctx = ngx.ctx
  ctx.KONG_PHASE = PHASES.rewrite
  resty_ctx.stash_ref(ctx)
  for _, p in ipairs(handlers) do
    local c = configs[p.name]
    if c and c.global and p.handler.rewrite then
      setup_plugin_context(ctx, p, c.global)
      p.handler.rewrite(p.handler, c.global)
      kong_global.reset_log(kong, ctx)
    end
  end
end

-- kong/runloop/handler.lua access.before (router match, $upstream_* variables), kong/init.lua
-- execute_collecting_plugins_iterator (access, with kong.response.exit delayed), access.after.
function M.access()
  local ctx = ngx.ctx
  ctx.KONG_PHASE = PHASES.access
  ctx.request_uri = var.request_uri

  local match_t = router:exec(ctx)
  if not match_t then
    return kong.response.error(404, "no Route matched with those values")
  end
  local route, service = match_t.route, match_t.service
  ctx.route = route
  ctx.service = service
  ctx.router_matches = match_t.matches
  ctx.balancer_data = { scheme = match_t.upstream_scheme, host = service.host, port = service.port }

  var.upstream_scheme = match_t.upstream_scheme
  var.upstream_uri = escape(match_t.upstream_uri)
  if match_t.upstream_host then
    var.upstream_host = match_t.upstream_host
  end
  var.upstream_connection = "keep-alive"
  local xff = var.http_x_forwarded_for
  var.upstream_x_forwarded_for = xff and (xff .. ", " .. var.remote_addr) or var.remote_addr
  -- trusted_ips is empty, so Kong ignores the client's X-Forwarded-Proto/Host/Port/Path/Prefix.
  var.upstream_x_forwarded_proto = var.scheme
  var.upstream_x_forwarded_host = var.host
  var.upstream_x_forwarded_port = var.server_port
  local path = ctx.request_uri
  local q = path:find("?", 2, true)
  var.upstream_x_forwarded_path = q and path:sub(1, q - 1) or path
  if match_t.prefix ~= "/" then
    var.upstream_x_forwarded_prefix = match_t.prefix
  end
  local via = var.http_via
  var.upstream_via = via and (via .. ", 1.1 " .. SERVER_HEADER) or ("1.1 " .. SERVER_HEADER)

  local chain = chain_for(route.id, service.id)
  ctx.KONG_CHAIN = chain
  ctx.delay_response = true
  for i = 1, #chain, 2 do
    if ctx.delayed_response then
      break
    end
    local p, cfg = chain[i], chain[i + 1]
    if p.handler.access then
      setup_plugin_context(ctx, p, cfg)
      local co = coroutine.create(p.handler.access)
      local ok, err = coroutine.resume(co, p.handler, cfg)
      if not ok then
        kong.log.err(err)
        ctx.delayed_response = { status_code = 500, content = { message = "An unexpected error occurred" } }
        ctx.KONG_UNEXPECTED = true
      end
      kong_global.reset_log(kong, ctx)
    end
  end
  ctx.delay_response = nil
  if ctx.delayed_response then
    return flush_delayed_response(ctx)
  end

  -- access.after: keep an empty query string ("/foo?"), which nginx would drop.
  if byte(ctx.request_uri, -1) == 63 or var.is_args == "?" then
    var.upstream_uri = var.upstream_uri .. "?" .. (var.args or "")
  end
  -- kong/runloop/balancer/init.lua set_host_header: the service's host (and port when it is
  -- not the scheme's default) unless the route preserves the client's Host.
  if not match_t.upstream_host then
    local port, scheme = service.port, match_t.upstream_scheme
    local host = service.host
    if (port ~= 80 and port ~= 443) or (port == 80 and scheme ~= "http") or (port == 443 and scheme ~= "https") then
      host = host .. ":" .. port
    end
    var.upstream_host = host
  end
  ctx.KONG_PROXIED = true
end

-- kong/runloop/handler.lua balancer + kong/runloop/balancer: the routed service's address
-- (resolved at start), its timeouts, and `retries` further attempts where nginx may retry.
function M.balancer()
  local ctx = ngx.ctx
  ctx.KONG_PHASE = PHASES.balancer
  local balancer = require "ngx.balancer"
  local s = services[ctx.service.id]
  if not ctx.KONG_BALANCER_TRIED then
    ctx.KONG_BALANCER_TRIED = true
    if s.retries > 0 then
      balancer.set_more_tries(s.retries)
    end
  end
  local ok, err = balancer.set_current_peer(s.address, s.port)
  if not ok then
    ngx.log(ngx.ERR, "[kong] cannot set the upstream peer: ", err)
    return ngx.exit(500)
  end
  balancer.set_timeouts(s.connect_timeout, s.write_timeout, s.read_timeout)
end

-- kong/runloop/handler.lua header_filter (Via on proxied responses, Server on Kong's own
-- answers, with Kong's default `headers`) + the plugins.
function M.header_filter()
  local ctx = ngx.ctx
  ctx.KONG_PHASE = PHASES.header_filter
  if ctx.KONG_PROXIED then
    ngx.header["Via"] = "1.1 " .. SERVER_HEADER
  else
    ngx.header["Server"] = SERVER_HEADER
  end
  run_collected("header_filter", ctx)
end

function M.body_filter()
  local ctx = ngx.ctx
  ctx.KONG_PHASE = PHASES.body_filter
  run_collected("body_filter", ctx)
end

function M.log()
  local ctx = ngx.ctx
  ctx.KONG_PHASE = PHASES.log
  run_collected("log", ctx)
end

-- kong/init.lua Kong.handle_error: nginx's own errors (bad request line, upstream down, ...)
-- answered by Kong's error handler.
function M.handle_error()
  resty_ctx.apply_ref()
  local ctx = ngx.ctx
  ctx.KONG_PHASE = PHASES.error
  ctx.KONG_UNEXPECTED = true
  return require("kong.error_handlers")(ctx)
end

M.kong_conf = kong_conf

return M
