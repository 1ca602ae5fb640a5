-- TEST STAND-IN for lua-resty-http, which Kong bundles. Never packaged in the rock.
--
-- Implements the subset of lua-resty-http's API the plugins use, with the same names, arguments
-- and return conventions, on ngx.socket.tcp cosockets (never blocking):
--   http.new()
--   httpc:set_timeout(ms), httpc:set_timeouts(connect_ms, send_ms, read_ms)
--   httpc:connect({ scheme, host, port, ssl_verify, ssl_server_name, pool })
--   httpc:request({ method, path, query, headers, body, version }) -> res (body not yet read)
--   res:read_body(), httpc:set_keepalive(timeout, pool_size), httpc:close()
--   httpc:request_uri(uri, { method, path, query, headers, body, ssl_verify, keepalive,
--                            keepalive_timeout, keepalive_pool, version })
--   httpc:parse_uri(uri)
-- Responses are { status, reason, headers (case-insensitive), body, has_body }. Errors are
-- returned as nil, message ("timeout", "connection refused", "closed" ... from the cosocket).
local ngx = ngx
local tcp = ngx.socket.tcp
local tonumber = tonumber
local tostring = tostring
local type = type
local lower = string.lower
local concat = table.concat
local insert = table.insert

local _M = { _VERSION = "0.17.1-standin" }
local mt = { __index = _M }

local DEFAULT_PORTS = { http = 80, https = 443 }
local USER_AGENT = "lua-resty-http/0.17.1 (Lua) ngx_lua/" .. tostring(ngx.config.ngx_lua_version)

-- Header table whose lookups ignore case, like lua-resty-http's.
local function new_headers()
  local normalised = {}
  return setmetatable({}, {
    __index = function(t, k)
      local real = normalised[lower(k)]
      return real and rawget(t, real) or nil
    end,
    __newindex = function(t, k, v)
      local lk = lower(k)
      local real = normalised[lk]
      if real and real ~= k then
        rawset(t, real, nil)
      end
      normalised[lk] = k
      rawset(t, k, v)
    end,
  })
end

function _M.new()
  local sock, err = tcp()
  if not sock then
    return nil, err
  end
  return setmetatable({ sock = sock, keepalive = true }, mt)
end

function _M:set_timeout(ms)
  self.sock:settimeout(ms)
end

function _M:set_timeouts(connect_ms, send_ms, read_ms)
  self.sock:settimeouts(connect_ms, send_ms, read_ms)
end

function _M:parse_uri(uri)
  local scheme, authority, rest = uri:match("^(%a[%w+.-]*)://([^/?#]*)(.*)$")
  if not scheme then
    return nil, "bad uri: " .. tostring(uri)
  end
  scheme = lower(scheme)
  if scheme ~= "http" and scheme ~= "https" then
    return nil, "unsupported scheme: " .. scheme
  end
  authority = authority:gsub("^.*@", "") -- userinfo is not sent as a credential
  local host, port
  if authority:sub(1, 1) == "[" then
    host, port = authority:match("^(%[[^%]]+%]):?(%d*)$")
  else
    host, port = authority:match("^([^:]+):?(%d*)$")
  end
  if not host or host == "" then
    return nil, "bad uri: no host"
  end
  port = tonumber(port) or DEFAULT_PORTS[scheme]
  rest = rest:gsub("#.*$", "")
  local path, query = rest:match("^([^?]*)%??(.*)$")
  if path == "" then
    path = "/"
  end
  return { scheme, host, port, path, query }
end

function _M:connect(opts)
  local host = opts.host
  local port = opts.port or DEFAULT_PORTS[opts.scheme or "http"]
  local connect_host = host:match("^%[(.+)%]$") or host
  local pool = opts.pool or ((opts.scheme or "http") .. ":" .. host .. ":" .. port .. ":"
                             .. tostring(opts.ssl_verify ~= false))
  local ok, err = self.sock:connect(connect_host, port, { pool = pool })
  if not ok then
    return nil, err
  end
  self.host, self.port, self.scheme = host, port, opts.scheme or "http"
  if self.scheme == "https" and self.sock:getreusedtimes() == 0 then
    local server_name = opts.ssl_server_name or connect_host
    -- Debian's lua-resty-core and lua-nginx-module 0.10.23 disagree when a failing handshake
    -- completes without yielding: asking for no session (false) reports success on a
    -- connection nginx has already closed (the error surfaces later as "closed"), and asking
    -- for one (nil, as lua-resty-http does) raises an assertion instead of returning the error.
    -- The raise is caught and reported as the handshake failure it is. Kong's own OpenResty
    -- build has neither problem.
    local pok, _, herr = pcall(self.sock.sslhandshake, self.sock, nil, server_name,
                               opts.ssl_verify ~= false)
    if not pok then
      herr = "handshake did not complete (certificate verification or TLS error)"
    end
    if herr then
      self.sock:close()
      return nil, "ssl handshake failed: " .. herr
    end
  end
  return true
end

local function receive_line(sock)
  local line, err = sock:receive("*l")
  if not line then
    return nil, err
  end
  return line
end

local function read_chunked(sock)
  local parts = {}
  while true do
    local line, err = receive_line(sock)
    if not line then
      return nil, err
    end
    local size = tonumber(line:match("^%s*(%x+)"), 16)
    if not size then
      return nil, "bad chunk size line"
    end
    if size == 0 then
      -- trailers, up to the empty line
      repeat
        line, err = receive_line(sock)
        if not line then
          return nil, err
        end
      until line == ""
      return concat(parts)
    end
    local data
    data, err = sock:receive(size)
    if not data then
      return nil, err
    end
    parts[#parts + 1] = data
    line, err = receive_line(sock)
    if not line then
      return nil, err
    end
  end
end

local function header_value(v)
  if type(v) == "table" then
    return v[#v]
  end
  return v
end

function _M:request(params)
  local sock = self.sock
  local method = params.method or "GET"
  local path = params.path or "/"
  local query = params.query
  if type(query) == "table" then
    query = ngx.encode_args(query)
  end
  if query and query ~= "" then
    path = path .. "?" .. query
  end
  local version = params.version or 1.1
  local body = params.body
  if body ~= nil and type(body) ~= "string" then
    return nil, "body must be a string"
  end

  local headers = new_headers()
  for k, v in pairs(params.headers or {}) do
    headers[k] = v
  end
  if not headers["Host"] then
    local default_port = DEFAULT_PORTS[self.scheme or "http"]
    headers["Host"] = (self.port and self.port ~= default_port)
                      and (self.host .. ":" .. self.port) or self.host
  end
  if not headers["User-Agent"] then
    headers["User-Agent"] = USER_AGENT
  end
  if body then
    headers["Content-Length"] = #body
  elseif method == "POST" or method == "PUT" or method == "PATCH" then
    headers["Content-Length"] = 0
  end
  if version == 1.0 and self.keepalive then
    headers["Connection"] = "keep-alive"
  elseif not self.keepalive then
    headers["Connection"] = "close"
  end

  local lines = { method .. " " .. path .. " HTTP/" .. (version == 1.0 and "1.0" or "1.1") }
  for k, v in pairs(headers) do
    if type(v) == "table" then
      for _, each in ipairs(v) do
        lines[#lines + 1] = k .. ": " .. tostring(each)
      end
    else
      lines[#lines + 1] = k .. ": " .. tostring(v)
    end
  end
  for i = 2, #lines do
    if lines[i]:find("[\r\n]") then
      return nil, "header contains a line break"
    end
  end
  lines[#lines + 1] = ""
  lines[#lines + 1] = body or ""
  local bytes, err = sock:send(concat(lines, "\r\n"))
  if not bytes then
    return nil, err
  end

  local status_line
  repeat
    status_line, err = receive_line(sock)
    if not status_line then
      return nil, err
    end
    -- 1xx interim responses are skipped, as lua-resty-http does for 100 Continue
    local code = tonumber(status_line:match("^HTTP/%d%.%d (%d%d%d)"))
    if not code then
      return nil, "bad status line"
    end
    local res_headers = new_headers()
    while true do
      local line
      line, err = receive_line(sock)
      if not line then
        return nil, err
      end
      if line == "" then
        break
      end
      local name, value = line:match("^([^:]+):%s*(.-)%s*$")
      if name then
        local existing = res_headers[name]
        if existing == nil then
          res_headers[name] = value
        elseif type(existing) == "table" then
          insert(existing, value)
        else
          res_headers[name] = { existing, value }
        end
      end
    end
    self.response = {
      status = code,
      reason = status_line:match("^HTTP/%d%.%d %d%d%d ?(.*)$"),
      headers = res_headers,
      http_version = status_line:match("^HTTP/(%d%.%d)"),
    }
  until code >= 200

  local res = self.response
  local no_body = method == "HEAD" or res.status == 204 or res.status == 304
  res.has_body = not no_body
  local conn = lower(header_value(res.headers["Connection"]) or "")
  self.reusable = self.keepalive and conn ~= "close"
                  and not (res.http_version == "1.0" and conn ~= "keep-alive")
  local client = self
  res.read_body = function()
    if no_body then
      return ""
    end
    local te = lower(header_value(res.headers["Transfer-Encoding"]) or "")
    local data, rerr
    if te:find("chunked", 1, true) then
      data, rerr = read_chunked(sock)
    else
      local length = tonumber(header_value(res.headers["Content-Length"]))
      if length then
        data, rerr = sock:receive(length)
      else
        data, rerr = sock:receive("*a")
        client.reusable = false
      end
    end
    if not data then
      client.reusable = false
      return nil, rerr
    end
    return data
  end
  return res
end

function _M:set_keepalive(timeout, pool_size)
  if not self.reusable then
    return self.sock:close()
  end
  return self.sock:setkeepalive(timeout, pool_size)
end

function _M:close()
  return self.sock:close()
end

function _M:request_uri(uri, params)
  params = params or {}
  local parsed, err = self:parse_uri(uri)
  if not parsed then
    return nil, err
  end
  local scheme, host, port, path, query = parsed[1], parsed[2], parsed[3], parsed[4], parsed[5]
  if params.keepalive == false then
    self.keepalive = false
  end
  local ok
  ok, err = self:connect({ scheme = scheme, host = host, port = port,
                           ssl_verify = params.ssl_verify,
                           ssl_server_name = params.ssl_server_name })
  if not ok then
    return nil, err
  end
  local req = {
    method = params.method, headers = params.headers, body = params.body,
    version = params.version,
    path = params.path or path,
    query = params.query or (query ~= "" and query or nil),
  }
  local res
  res, err = self:request(req)
  if not res then
    self.sock:close()
    return nil, err
  end
  local body
  body, err = res.read_body()
  if not body then
    self.sock:close()
    return nil, err
  end
  res.body = body
  if self.keepalive then
    self:set_keepalive(params.keepalive_timeout, params.keepalive_pool)
  else
    self.sock:close()
  end
  return res
end

return _M
