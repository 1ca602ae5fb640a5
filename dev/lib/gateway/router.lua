-- Route matching and upstream URI construction with Kong 3.x (traditional
-- router) semantics: prefix paths (longest wins), `~` regex paths (anchored,
-- before prefixes, by regex_priority), optional methods and hosts, and the
-- upstream path built from service.path + the (stripped) request path with
-- the `path_handling` v0 (default) or v1 rules.
local byte, sub, find = string.byte, string.sub, string.find

local SLASH = byte("/")

local M = {}

-- Kong routes on a normalized path: percent-encoded unreserved characters
-- decoded, remaining escapes upper-cased, dot segments removed (RFC 3986).
-- Reserved characters stay encoded, so the result is still a valid path and
-- is what the upstream receives.
function M.normalize(path)
  path = path:gsub("%%(%x%x)", function(hex)
    local c = string.char(tonumber(hex, 16))
    if c:match("^[%w%-%._~]$") then
      return c
    end
    return "%" .. hex:upper()
  end)
  if not find(path, "/.", 1, true) then
    return path
  end
  -- RFC 3986 section 5.2.4, remove_dot_segments
  local input, output = path, {}
  while #input > 0 do
    if sub(input, 1, 3) == "../" then
      input = sub(input, 4)
    elseif sub(input, 1, 2) == "./" then
      input = sub(input, 3)
    elseif sub(input, 1, 3) == "/./" then
      input = sub(input, 3)
    elseif input == "/." then
      input = "/"
    elseif sub(input, 1, 4) == "/../" then
      input = sub(input, 4)
      output[#output] = nil
    elseif input == "/.." then
      input = "/"
      output[#output] = nil
    elseif input == "." or input == ".." then
      input = ""
    else
      local seg = input:match("^/?[^/]*")
      output[#output + 1] = seg
      input = sub(input, #seg + 1)
    end
  end
  return table.concat(output)
end

local function upstream_uri_v0(strip_path, request_postfix, req_uri, upstream_base)
  if byte(upstream_base, -1) == SLASH then
    if strip_path then
      if request_postfix == "" then
        if upstream_base == "/" then
          return "/"
        elseif byte(req_uri, -1) == SLASH then
          return upstream_base
        end
        return sub(upstream_base, 1, -2)
      elseif byte(request_postfix, 1) == SLASH then
        return sub(upstream_base, 1, -2) .. request_postfix
      end
      return upstream_base .. request_postfix
    end
    return upstream_base .. sub(req_uri, 2)
  end
  if strip_path then
    if request_postfix == "" then
      if #req_uri > 1 and byte(req_uri, -1) == SLASH then
        return upstream_base .. "/"
      end
      return upstream_base
    elseif byte(request_postfix, 1) == SLASH then
      return upstream_base .. request_postfix
    end
    return upstream_base .. "/" .. request_postfix
  end
  if req_uri == "/" then
    return upstream_base
  end
  return upstream_base .. req_uri
end

local function upstream_uri_v1(strip_path, request_postfix, req_uri, upstream_base)
  local rest = strip_path and request_postfix or req_uri
  if rest == "" then
    return upstream_base
  end
  if byte(upstream_base, -1) == SLASH and byte(rest, 1) == SLASH then
    return upstream_base .. sub(rest, 2)
  end
  return upstream_base .. rest
end

M.upstream_uri_v0 = upstream_uri_v0
M.upstream_uri_v1 = upstream_uri_v1

-- routes: compiled routes (gateway/compile.lua), in declaration order.
function M.new(routes, services)
  local entries = {}
  for order, route in ipairs(routes) do
    if services[route.service_id].enabled == false then
      goto continue -- Kong does not route to a disabled service
    end
    local categories = (#route.paths > 0 and 1 or 0) + (route.methods and 1 or 0)
                       + (route.hosts and 1 or 0)
    local methods, hosts
    if route.methods then
      methods = {}
      for _, m in ipairs(route.methods) do methods[m] = true end
    end
    if route.hosts then
      hosts = {}
      for _, h in ipairs(route.hosts) do hosts[h] = true end
    end
    local base = {
      route = route, service = services[route.service_id], categories = categories,
      methods = methods, hosts = hosts, order = order,
    }
    if #route.paths == 0 then
      entries[#entries + 1] = setmetatable({ kind = 0, len = 0 }, { __index = base })
    end
    for _, p in ipairs(route.paths) do
      if p.regex then
        entries[#entries + 1] = setmetatable({ kind = 2, regex = p.regex, len = 0,
                                               prio = route.regex_priority }, { __index = base })
      else
        entries[#entries + 1] = setmetatable({ kind = 1, prefix = p.prefix, len = #p.prefix },
                                             { __index = base })
      end
    end
    ::continue::
  end
  table.sort(entries, function(a, b)
    if a.categories ~= b.categories then return a.categories > b.categories end
    if a.kind ~= b.kind then return a.kind > b.kind end
    if a.kind == 2 and a.prio ~= b.prio then return a.prio > b.prio end
    if a.len ~= b.len then return a.len > b.len end
    return a.order < b.order
  end)
  return setmetatable({ entries = entries }, { __index = M })
end

-- Returns match {route, service, upstream_uri, prefix} or nil.
-- `path` is the normalized request path (no query).
function M:exec(method, host, path)
  host = host and host:lower():gsub(":%d+$", "")
  for _, e in ipairs(self.entries) do
    if (not e.methods or e.methods[method]) and (not e.hosts or (host and e.hosts[host])) then
      local matched
      if e.kind == 1 then
        if sub(path, 1, e.len) == e.prefix then
          matched = e.prefix
        end
      elseif e.kind == 2 then
        local m = ngx.re.match(path, e.regex, "ajo")
        if m then
          matched = m[0]
        end
      else
        matched = ""
      end
      if matched then
        local route, service = e.route, e.service
        local strip = route.strip_path and e.kind ~= 0
        local postfix = strip and sub(path, #matched + 1) or path
        local base = service.path or "/"
        local build = route.path_handling == "v1" and upstream_uri_v1 or upstream_uri_v0
        return {
          route = route,
          service = service,
          upstream_uri = build(strip, postfix, path, base),
          prefix = strip and matched ~= "" and matched or nil,
        }
      end
    end
  end
  return nil
end

return M
