-- Runs a plugin's access phase inside a real nginx request, on Kong 3.9.3's real PDK, and
-- reports what it did: the request dev/busted's nginx receives is the one the spec describes.
--
--   local pdk = require "spec.helpers.pdk_request"
--   pdk.install { method = "POST", body = "x", consumer = {...} }
--   local res = pdk.run(handler, conf)
--   res.exit               --> nil | { status = 500, body = {...} }   (kong.response.exit)
--   res.upstream_headers   --> what would be proxied (lower-cased names)
--   res.calls              --> how often the handler called get_raw_body, get_body_file,
--                              get_headers and clear_header (the real ones, counted)
--   pdk.all_logs()         --> what was logged to the error log during the request
--
-- Request fields: method, path, query (raw), headers (sent as given: a name spelled twice
-- differently is two headers; Transfer-Encoding: chunked sends the body chunked), body,
-- body_file (its content is the body: above client_body_buffer_size, 8k, nginx spills it to a
-- temp file as it would in Kong), upstream_uri (what Kong's router set), consumer, credential
-- (kong.client.authenticate), service, route (ngx.ctx, as Kong's router sets them).
-- After access, `upstream_status` runs the handler's header_filter in the same
-- request, with kong.service.response.get_status answering that status (false: no upstream
-- answered, e.g. Kong or another plugin did); `skip_access` runs header_filter alone, and
-- `plugin_ctx` seeds kong.ctx.plugin (what an earlier access phase of this request left there).
-- res.plugin_ctx is kong.ctx.plugin after the phases; pdk.raw_logs() every line logged.
--
-- A server the plugin talks to (e.g. an OAuth2 token endpoint), served by the same nginx on
-- the real wire: pdk.serve(fn) runs fn inside each request to pdk.endpoint_url(path) (its
-- content phase, with the real ngx.req / ngx.say / ngx.exit); pdk.serve(nil) stops serving.
--
-- The double, for what a real request cannot produce: `now` (ngx.time/ngx.now during the
-- call), `http_version` 2, 3 or false (unknown) — the test server speaks HTTP/1.x — and a
-- `body_file` that does not exist (ngx.req.get_body_file returns that path).
local cjson = require "cjson.safe"

local M = {}

local PORT = assert(tonumber(os.getenv("BUSTED_HTTP_PORT")), "run the specs with dev/busted")
local LOG = assert(os.getenv("BUSTED_REQUEST_LOG"))

-- The real PDK, as Kong's init builds it (dev/lib/gateway/runtime.lua's configuration); the
-- plugin modules capture `kong` when they load, so it exists before they do.
require("gateway.standins")()
_G.kong = _G.kong or {}
if not kong.request then
  require("kong.pdk").new(require("gateway.runtime").kong_conf(), kong)
end
local PHASES = require("kong.pdk.private.phases").phases
local kong_global = require "kong.global"

M.decode_base64 = ngx.decode_base64
M.encode_base64 = ngx.encode_base64

local NGINX_LEVELS = { error = "err" }

local state
local current -- the spec's request while it is being served: { req, handler, conf, state }

local function read_file(path)
  local f = io.open(path, "rb")
  if not f then
    return nil
  end
  local data = f:read("*a")
  f:close()
  return data
end

function M.install(req)
  req = req or {}
  state = { req = req, logs = {}, exit = nil, upstream_headers = {},
            calls = { get_raw_body = 0, get_body_file = 0, get_headers = 0, clear_header = 0 } }
  return state
end

-- Wraps t[name] to count calls (and, when `with` is given, to answer with it instead).
local function count(t, name, key, with, restore)
  local orig = t[name]
  restore[#restore + 1] = function() t[name] = orig end
  t[name] = function(...)
    state.calls[key] = state.calls[key] + 1
    if with then
      return with(...)
    end
    return orig(...)
  end
end

local function override(t, name, fn, restore)
  local orig = t[name]
  restore[#restore + 1] = function() t[name] = orig end
  t[name] = fn
end

local run_phases

local ENDPOINT_PATH = "/__endpoint"

function M.endpoint_url(path)
  return ("http://127.0.0.1:%d%s%s"):format(PORT, ENDPOINT_PATH, path or "")
end

function M.serve(fn)
  _G.busted_content = fn
end

-- Inside the request: what kong/init.lua and the router do before a plugin's access, then the
-- handler with Kong's delayed kong.response.exit, then the report.
_G.busted_access = function()
  if ngx.var.uri:sub(1, #ENDPOINT_PATH) == ENDPOINT_PATH then
    return -- a request to the spec's endpoint: its content phase answers
  end
  local c = current
  if not c then
    return ngx.exit(500)
  end
  local req, st = c.req, c.state
  local ctx = ngx.ctx
  ctx.KONG_PHASE = PHASES.access
  ctx.service = req.service or nil
  ctx.route = req.route or nil
  ngx.var.upstream_uri = req.upstream_uri or req.path or "/"
  if req.consumer or req.credential then
    kong.client.authenticate(req.consumer or nil, req.credential or nil)
  end

  local restore = {}
  if c.concurrent then
    -- requests interleave: the counting wrappers would wrap each other
    return run_phases(c, req, st, ctx, restore)
  end
  count(kong.request, "get_raw_body", "get_raw_body", nil, restore)
  local get_headers = ngx.req.get_headers
  count(ngx.req, "get_headers", "get_headers", function(max, ...)
    st.get_headers_max = max
    return get_headers(max, ...)
  end, restore)
  count(kong.service.request, "clear_header", "clear_header", nil, restore)
  local missing_file = req.body_file and not io.open(req.body_file, "rb") and req.body_file
  count(ngx.req, "get_body_file", "get_body_file", missing_file and function() return missing_file end, restore)
  if req.now then
    override(ngx, "time", function() return req.now end, restore)
    override(ngx, "now", function() return req.now end, restore)
  end
  if req.http_version ~= nil and req.http_version ~= 1.0 and req.http_version ~= 1.1 then
    override(kong.request, "get_http_version", function() return req.http_version or nil end, restore)
  end

  return run_phases(c, req, st, ctx, restore)
end

run_phases = function(c, req, st, ctx, restore)
  kong_global.set_named_ctx(kong, "plugin", c.handler, ctx)
  ctx.delay_response = true
  for k, v in pairs(req.plugin_ctx or {}) do
    kong.ctx.plugin[k] = v
  end
  local ok, err = true, nil
  if not req.skip_access then
    local co = coroutine.create(c.handler.access)
    ok, err = coroutine.resume(co, c.handler, c.conf)
  end
  ctx.delay_response = nil
  local dr = ctx.delayed_response
  -- Kong runs header_filter on every response, its own (kong.response.exit) included
  if ok and req.upstream_status ~= nil then
    -- Kong's header_filter phase; without an upstream in this test server, the status the
    -- upstream answered is the one Kong's buffered proxying records (kong.service.response
    -- reads it there first).
    ctx.KONG_PHASE = PHASES.header_filter
    ctx.buffered_status = req.upstream_status or nil
    ok, err = pcall(c.handler.header_filter, c.handler, c.conf)
    ctx.buffered_status = nil
  end
  st.plugin_ctx = kong.ctx.plugin
  for i = #restore, 1, -1 do
    restore[i]()
  end
  if not ok then
    st.error = err
  end
  if dr then
    st.exit = { status = dr.status_code, body = dr.content }
  end
  for name, v in pairs(ngx.req.get_headers(0, true)) do
    st.upstream_headers[name:lower()] = v
  end
  st.upstream_uri = ngx.var.upstream_uri
  return ngx.exit(204)
end

local function raw_request(req)
  local method = req.method or "GET"
  local target = req.path or "/"
  if req.query and req.query ~= "" then
    target = target .. "?" .. req.query
  end
  local version = req.http_version == 1.0 and "1.0" or "1.1"
  local body = req.body or ""
  if req.body_file then
    body = read_file(req.body_file)
    if not body then -- a file that does not exist: spill what the declared length says
      body = string.rep("x", tonumber((req.headers or {})["Content-Length"]) or 100000)
    end
  end
  local lines = { ("%s %s HTTP/%s"):format(method, target, version), "Host: localhost",
                  "Connection: close" }
  local chunked
  for name, v in pairs(req.headers or {}) do
    for _, one in ipairs(type(v) == "table" and v or { v }) do
      assert(not tostring(one):find("[\r\n]"), "header " .. name .. ": a value with CR or LF cannot "
             .. "travel in a real request (nginx would split or refuse it)")
      lines[#lines + 1] = name .. ": " .. one
    end
    if name:lower() == "transfer-encoding" then
      chunked = true
    end
  end
  -- HTTP/2 and HTTP/3 carry a body without Content-Length; over HTTP/1.1 that is chunked.
  local h2 = req.http_version ~= nil and req.http_version ~= 1.0 and req.http_version ~= 1.1
  if h2 and not chunked and #body > 0 then
    local declared = false
    for name in pairs(req.headers or {}) do
      declared = declared or name:lower() == "content-length"
    end
    if not declared then
      chunked = true
      lines[#lines + 1] = "Transfer-Encoding: chunked"
    end
  end
  local wire = body
  if chunked then
    wire = (#body > 0 and (("%x\r\n"):format(#body) .. body .. "\r\n") or "") .. "0\r\n\r\n"
  end
  return table.concat(lines, "\r\n") .. "\r\n\r\n" .. wire
end

local function log_size()
  local f = io.open(LOG, "rb")
  if not f then
    return 0
  end
  local n = f:seek("end")
  f:close()
  return n
end

--- Run the handler's access phase against the installed request, in a real request.
function M.run(handler, conf)
  assert(state, "install() a request first")
  local before = log_size()
  current = { req = state.req, handler = handler, conf = conf, state = state }
  local sock = ngx.socket.tcp()
  sock:settimeouts(5000, 60000, 60000)
  assert(sock:connect("127.0.0.1", PORT))
  assert(sock:send(raw_request(state.req)))
  local status_line = assert(sock:receive("*l"))
  sock:close()
  current = nil
  state.status = tonumber(status_line:match("^HTTP/%d%.%d (%d+)"))
  state.raw_log = (read_file(LOG) or ""):sub(before + 1)
  -- What the plugin logged through kong.log (nginx's own lines, e.g. a body buffered to a
  -- temp file, are not the plugin's), with kong.log's level names.
  for line in state.raw_log:gmatch("[^\n]+") do
    local level, msg = line:match("%[(%a+)%] %d+#%d+: %*?%d* ?(%[kong%].*)$")
    if level and level ~= "debug" then
      state.logs[#state.logs + 1] = { level = NGINX_LEVELS[level] or level, msg = msg }
    end
  end
  if state.status ~= 204 then
    error("nginx answered " .. tostring(state.status_line or status_line)
          .. " before the plugin ran (a request nginx refuses never reaches Kong)", 2)
  end
  if state.error then
    error(state.error, 0)
  end
  return state
end

--- Run the handler's access phase in `n` requests at once, all as the installed request
--- (without the call counting and the `now` / `http_version` doubles); returns every status.
function M.run_concurrent(handler, conf, n)
  assert(state, "install() a request first")
  current = { req = state.req, handler = handler, conf = conf, state = state, concurrent = true }
  local wire = raw_request(state.req)
  local threads = {}
  for i = 1, n do
    threads[i] = ngx.thread.spawn(function()
      local sock = ngx.socket.tcp()
      sock:settimeouts(5000, 60000, 60000)
      assert(sock:connect("127.0.0.1", PORT))
      assert(sock:send(wire))
      local line = assert(sock:receive("*l"))
      sock:close()
      return tonumber(line:match("^HTTP/%d%.%d (%d+)"))
    end)
  end
  local statuses = {}
  for i = 1, n do
    local ok, status = ngx.thread.wait(threads[i])
    assert(ok, status)
    statuses[i] = status
  end
  current = nil
  if state.error then
    error(state.error, 0)
  end
  return statuses
end

function M.state()
  return state
end

--- Concatenation of every log line, for "the secret never appears" checks.
function M.all_logs()
  local out = {}
  for _, l in ipairs(state.logs) do
    out[#out + 1] = l.msg
  end
  return table.concat(out, "\n")
end

--- Everything nginx logged during the request, the plugin's lines and any other.
function M.raw_logs()
  return state.raw_log or ""
end

return M
