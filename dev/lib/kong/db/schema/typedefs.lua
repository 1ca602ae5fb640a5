-- Stand-in for Kong's `kong.db.schema.typedefs`, limited to the typedefs the
-- upstream-jwt schema (and the local gateway) use. Outside Kong it lets
-- schema.lua run unchanged: Kong resolves the same require to its own module.
--
-- Like Kong's `Schema.define`, every typedef is a table that can be used as a
-- field definition as-is, or called with overrides (`typedefs.header_name {
-- default = "X" }`), which returns a new table: overrides win, the typedef
-- fills in the rest.

local pairs = pairs
local setmetatable = setmetatable

local define_mt = {
  __call = function(base, overrides)
    local out = {}
    if overrides then
      for k, v in pairs(overrides) do
        out[k] = v
      end
    end
    for k, v in pairs(base) do
      if out[k] == nil then
        out[k] = v
      end
    end
    return out
  end,
}

local function define(tbl)
  return setmetatable(tbl, define_mt)
end

-- Kong's own header-name rule (kong.tools.utils.validate_header_name).
local function validate_header_name(name)
  if name == nil or name == "" then
    return nil, "no header name provided"
  end
  if name:match("^[%w%-_]+$") then
    return name
  end
  return nil, "bad header name '" .. name ..
              "', allowed characters are A-Z, a-z, 0-9, '_', and '-'"
end

-- The null marker Kong uses in entities. Under OpenResty it is ngx.null.
local null = (ngx and ngx.null) or setmetatable({}, {
  __tostring = function() return "null" end,
})

local http_protocols = { "grpc", "grpcs", "http", "https" }

local typedefs = {}

typedefs.no_consumer = define {
  type = "foreign",
  reference = "consumers",
  eq = null,
}

typedefs.no_route = define {
  type = "foreign",
  reference = "routes",
  eq = null,
}

typedefs.no_service = define {
  type = "foreign",
  reference = "services",
  eq = null,
}

typedefs.protocol = define {
  type = "string",
  one_of = { "grpc", "grpcs", "http", "https", "tcp", "tls", "tls_passthrough",
             "udp", "ws", "wss" },
}

typedefs.protocols_http = define {
  type = "set",
  required = true,
  default = http_protocols,
  elements = { type = "string", one_of = http_protocols },
}

typedefs.header_name = define {
  type = "string",
  custom_validator = validate_header_name,
}

typedefs.port = define {
  type = "integer",
  between = { 0, 65535 },
}

typedefs.timeout = define {
  type = "integer",
  between = { 0, 2 ^ 31 - 2 },
}

-- Kong raises on an unknown typedef; do the same so a typo in schema.lua is
-- caught here exactly as it would be in Kong.
setmetatable(typedefs, {
  __index = function(_, k)
    error("schema typedef error: definition " .. tostring(k) .. " does not exist", 2)
  end,
})

return typedefs
