-- A double of the Kong PDK (and the few ngx.* calls the plugin makes) for the
-- unit specs: it feeds the handler one request and records what the handler
-- did to it (upstream headers, exit status and body, log lines).
--
--   local double = require "spec.helpers.kong_double"
--   local req = double.install { method = "POST", body = "x", consumer = {...} }
--   local res = double.run(handler, conf)
--   res.exit     --> nil | { status = 500, body = {...} }
--   res.upstream_headers["x-upstream-jwt"]
--   res.logs     --> { { level = "err", msg = "..." }, ... }
--
-- Behaviour copied from Kong 3.x: get_raw_body() answers nil and "request body
-- did not fit into client body buffer..." when nginx spilled the body to a
-- file; response.exit() ends the access phase (here: by raising a marker that
-- run() catches); set_header replaces every value of a header.

local M = {}

local EXIT = setmetatable({}, { __tostring = function() return "kong.response.exit" end })

-- The specs run inside nginx (dev/busted): nginx's own base64, kept before install() rebinds
-- the members a test controls.
local decode_base64, encode_base64 = ngx.decode_base64, ngx.encode_base64
M.decode_base64 = decode_base64
M.encode_base64 = encode_base64

local function lower_keys(t)
  local out = {}
  for k, v in pairs(t or {}) do
    out[k:lower()] = v
  end
  return out
end

local state

-- The globals are created once and their members rebound per request, so a
-- module that captured `kong` or `ngx` at load time still sees this double.
_G.ngx = _G.ngx or {}
_G.kong = _G.kong or {}
_G.ngx.null = _G.ngx.null or setmetatable({}, { __tostring = function() return "null" end })
-- resty.lrucache captures ngx.now when it is first required.
_G.ngx.now = _G.ngx.now or os.time

local function concat_args(...)
  local parts = {}
  for i = 1, select("#", ...) do
    parts[#parts + 1] = tostring((select(i, ...)))
  end
  return table.concat(parts)
end

local function logger(level)
  return function(...)
    state.logs[#state.logs + 1] = { level = level, msg = concat_args(...) }
  end
end

--- Prepare one request. Fields (all optional):
-- method, path (client path), upstream_uri (as Kong's router set it),
-- query (raw), headers (client request headers), body (in memory),
-- body_file (path of a spilled body: get_raw_body then reports it did not fit),
-- consumer, credential, service, route, http_version (default 1.1; false: unknown).
function M.install(req)
  req = req or {}
  state = {
    req = req,
    client_headers = lower_keys(req.headers),
    -- Until a plugin touches them, upstream headers are the client's.
    upstream_headers = lower_keys(req.headers),
    logs = {},
    exit = nil,
    calls = { get_raw_body = 0, get_body_file = 0, get_headers = 0, clear_header = 0 },
  }

  local ngx = _G.ngx
  ngx.time = function() return req.now or os.time() end
  ngx.now = function() return req.now or os.time() end
  ngx.decode_base64 = decode_base64
  ngx.encode_base64 = encode_base64
  -- $http_<name> as nginx resolves it: any header whose name, lowercased
  -- with '-' read as '_', matches (what the handler's look-alike check uses).
  -- $content_length: the header named exactly Content-Length (nginx's
  -- r->headers_in), never a look-alike.
  ngx.var = setmetatable({ upstream_uri = req.upstream_uri or req.path or "/" }, {
    __index = function(_, var)
      if var == "content_length" then
        local v = state.upstream_headers["content-length"]
        return type(v) == "table" and v[1] or v
      end
      local want = type(var) == "string" and var:match("^http_(.+)$")
      if not want then
        return nil
      end
      for name, v in pairs(state.upstream_headers) do
        if name:gsub("-", "_") == want then
          return type(v) == "table" and v[1] or v
        end
      end
      return nil
    end,
  })
  ngx.req = {
    get_body_file = function()
      state.calls.get_body_file = state.calls.get_body_file + 1
      return req.body_file
    end,
    get_headers = function(max_headers)
      state.calls.get_headers = state.calls.get_headers + 1
      state.get_headers_max = max_headers
      local out = {}
      for name, v in pairs(state.upstream_headers) do
        out[name] = v
      end
      return out
    end,
  }

  local kong = _G.kong
  kong.request = {
    get_method = function() return req.method or "GET" end,
    get_path = function() return req.path or "/" end,
    get_raw_query = function() return req.query or "" end,
    get_http_version = function()
      if req.http_version == false then
        return nil
      end
      return req.http_version or 1.1
    end,
    get_header = function(name)
      local v = state.client_headers[name:lower()]
      if type(v) == "table" then
        return v[1]
      end
      return v
    end,
    get_raw_body = function()
      state.calls.get_raw_body = state.calls.get_raw_body + 1
      if req.body_file then
        return nil, "request body did not fit into client body buffer, "
                    .. "consider raising 'client_body_buffer_size'"
      end
      return req.body or ""
    end,
  }
  kong.client = {
    get_consumer = function() return req.consumer end,
    get_credential = function() return req.credential end,
  }
  kong.router = {
    get_service = function() return req.service end,
    get_route = function() return req.route end,
  }
  kong.service = {
    request = {
      set_header = function(name, value)
        assert(type(name) == "string" and type(value) == "string",
               "set_header takes two strings")
        state.upstream_headers[name:lower()] = value
      end,
      clear_header = function(name)
        state.calls.clear_header = state.calls.clear_header + 1
        state.upstream_headers[name:lower()] = nil
      end,
    },
  }
  kong.response = {
    exit = function(status, body)
      state.exit = { status = status, body = body }
      error(EXIT, 0)
    end,
  }
  kong.log = {
    err = logger("err"), warn = logger("warn"), notice = logger("notice"),
    info = logger("info"), debug = logger("debug"),
  }
  return state
end

--- Run the handler's access phase against the installed request.
function M.run(handler, conf)
  assert(state, "install() a request first")
  local ok, err = pcall(handler.access, handler, conf)
  if not ok and err ~= EXIT then
    error(err, 0)
  end
  return state
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

return M
