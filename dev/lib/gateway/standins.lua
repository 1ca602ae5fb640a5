-- Modules that exist only in Kong's own OpenResty build (C rocks, Rust, nginx patches) and that
-- Kong 3.9.3's Lua code requires when it loads. Under Debian's nginx they are absent, so each gets
-- the smallest stand-in that keeps the code paths this gateway uses on Kong's own Lua. A stand-in
-- that is reached at request time fails loudly instead of pretending.
-- (The list and the reason for each: the Kong runtime's README.)
local function unavailable(module, fn)
  return function()
    error(module .. "." .. fn .. " needs Kong's own OpenResty build; dev/gateway does not provide it", 2)
  end
end

local function unavailable_module(module)
  return setmetatable({}, {
    __index = function(_, fn)
      return unavailable(module, fn)
    end,
  })
end

local STANDINS = {
  -- Kong's C rock lua_system_constants; kong/tools/rand.lua reads O_RDONLY at load time.
  -- Linux x86-64 values, as functions like the rock's.
  lua_system_constants = function()
    local values = {
      O_RDONLY = 0, O_WRONLY = 1, O_RDWR = 2, O_CREAT = 64, O_EXCL = 128, O_NOCTTY = 256,
      O_TRUNC = 512, O_APPEND = 1024, O_NONBLOCK = 2048, O_SYNC = 1052672,
      S_IRUSR = 256, S_IWUSR = 128, S_IXUSR = 64, S_IRWXU = 448,
      S_IRGRP = 32, S_IWGRP = 16, S_IXGRP = 8, S_IRWXG = 56,
      S_IROTH = 4, S_IWOTH = 2, S_IXOTH = 1, S_IRWXO = 7,
    }
    local m = {}
    for name, v in pairs(values) do
      m[name] = function() return v end
    end
    return m
  end,

  -- kong/runloop/wasm/plugins.lua loads ngx_wasm_module; the plugin loader only falls back to it
  -- for a plugin without a Lua handler/schema, which is then "not installed", as in Kong.
  ["kong.runloop.wasm.plugins"] = function()
    return {
      load_plugin = function() return false, "no wasm filters (dev/gateway)" end,
      load_schema = function() return false, "no wasm filters (dev/gateway)" end,
    }
  end,

  -- kong/runloop/balancer pulls in DNS, healthchecks and worker events; kong/pdk/service.lua
  -- needs it only for kong.service.set_upstream/set_target (upstream entities: not supported).
  ["kong.runloop.balancer"] = function()
    return unavailable_module("kong.runloop.balancer")
  end,

  -- lua-kong-nginx-module (Kong's nginx patches): upstream mTLS and gRPC authority.
  ["resty.kong.tls"] = function()
    return unavailable_module("resty.kong.tls")
  end,
  ["resty.kong.grpc"] = function()
    return unavailable_module("resty.kong.grpc")
  end,

  -- lua-resty-ada (libada): kong.service.request.clear_query_arg (key-auth's hide_credentials
  -- for a key in the query) calls search.remove(query, name). Same pairs removed (the name
  -- compared form-decoded); unlike ada, the remaining pairs keep their bytes instead of being
  -- re-serialized.
  ["resty.ada.search"] = function()
    local unescape = ngx.unescape_uri
    return setmetatable({
      remove = function(query, name)
        local kept = {}
        for pair in string.gmatch(query, "[^&]+") do
          local key = unescape((pair:match("^[^=]*"):gsub("%+", " ")))
          if key ~= name then
            kept[#kept + 1] = pair
          end
        end
        return table.concat(kept, "&")
      end,
    }, { __index = function(_, fn) return unavailable("resty.ada.search", fn) end })
  end,
}

-- Debian ships lua-resty-core 0.1.25 beside lua-nginx-module 0.10.23, which disagree when a
-- TLS handshake asked to return its session fails: resty/core/socket.lua fetches the session
-- result, gets an error it does not expect and raises "assertion failed!" instead of returning
-- the handshake's error (OpenResty's matched pair returns it). Without a session to return
-- (reused_session = false) the same handshake reports its error, e.g. "18: self-signed
-- certificate"; lua-resty-http only needs a truthy result. The cost: no TLS session reuse.
local function fix_sslhandshake()
  require "resty.core.socket"
  local mt = debug.getregistry().__tcp_cosocket_mt
  local handshake = mt and mt.sslhandshake
  if not handshake or mt.__gateway_sslhandshake then
    return
  end
  mt.__gateway_sslhandshake = true
  mt.sslhandshake = function(sock, reused_session, ...)
    if reused_session == nil then
      reused_session = false
    end
    return handshake(sock, reused_session, ...)
  end
end

return function()
  for name, loader in pairs(STANDINS) do
    package.preload[name] = package.preload[name] or loader
  end
  fix_sslhandshake()
end
