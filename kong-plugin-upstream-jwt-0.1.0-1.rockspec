package = "kong-plugin-upstream-jwt"
version = "0.1.0-1"

-- `luarocks make` (the supported install) builds from the checkout it runs in;
-- the source entry is what `luarocks pack` records for this version.
source = {
  url = "git+file://.",
  tag = "v0.1.0",
}

description = {
  summary = "Kong plugin that signs every proxied request with a short-lived JWT for the upstream",
  detailed = [[
In the access phase the plugin mints a JWT naming the authenticated consumer and binding
the method, path, query and SHA-256 of the body sent upstream, and adds it as an upstream
header. HS256/384/512, RS256, PS256, ES256 and EdDSA; secrets from Kong Vault references.
Signing is done by the bundled native library libupstream_jwt (C++17, OpenSSL 3) over
LuaJIT FFI.
]],
  license = "Apache-2.0",
}

-- lua-resty-lrucache and lua-cjson ship with Kong (and OpenResty), so they are
-- not rock dependencies. Building needs cmake >= 3.25, a C++17 compiler,
-- OpenSSL 3 headers and nlohmann-json (Debian: cmake g++ libssl-dev
-- nlohmann-json3-dev).
dependencies = {
  "lua >= 5.1",
}

build = {
  type = "command",
  -- Only the shared library is built: no tests, no CLI, at most two jobs.
  build_command = "cmake -S . -B build-luarocks -DCMAKE_BUILD_TYPE=Release"
               .. " -DUPSTREAM_JWT_TESTS=OFF"
               .. " && cmake --build build-luarocks --target upstream_jwt -j 2",
  install = {
    lua = {
      ["kong.plugins.upstream-jwt.handler"] = "kong/plugins/upstream-jwt/handler.lua",
      ["kong.plugins.upstream-jwt.schema"] = "kong/plugins/upstream-jwt/schema.lua",
      ["kong.plugins.upstream-jwt.native"] = "kong/plugins/upstream-jwt/native.lua",
      ["kong.plugins.upstream-jwt.httpsig"] = "kong/plugins/upstream-jwt/httpsig.lua",
      -- the key fields and protocols shared by the three plugins' schemas
      ["kong.plugins.upstream-jwt.typedefs"] = "kong/plugins/upstream-jwt/typedefs.lua",
      ["kong.plugins.upstream-jwt-jwks.handler"] = "kong/plugins/upstream-jwt-jwks/handler.lua",
      ["kong.plugins.upstream-jwt-jwks.schema"] = "kong/plugins/upstream-jwt-jwks/schema.lua",
      -- upstream-oauth2 (client credentials token for the upstream); resty.http comes with Kong
      ["kong.plugins.upstream-oauth2.handler"] = "kong/plugins/upstream-oauth2/handler.lua",
      ["kong.plugins.upstream-oauth2.schema"] = "kong/plugins/upstream-oauth2/schema.lua",
      ["kong.plugins.upstream-oauth2.token_client"] = "kong/plugins/upstream-oauth2/token_client.lua",
      ["kong.plugins.upstream-oauth2.token_cache"] = "kong/plugins/upstream-oauth2/token_cache.lua",
      ["kong.plugins.upstream-oauth2.redis_cache"] = "kong/plugins/upstream-oauth2/redis_cache.lua",
      ["kong.plugins.upstream-oauth2.token_exchange"] = "kong/plugins/upstream-oauth2/token_exchange.lua",
    },
    -- Lands as <tree>/lib/lua/5.1/libupstream_jwt.so, which native.lua finds
    -- through package.cpath.
    lib = {
      ["libupstream_jwt"] = "build-luarocks/libupstream_jwt.so",
    },
  },
}
