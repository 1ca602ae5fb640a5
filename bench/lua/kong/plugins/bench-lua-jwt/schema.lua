local typedefs = require "kong.db.schema.typedefs"
require "bench_jit"  -- OpenResty's LuaJIT trace limits for every variant (bench/lua/bench_jit.lua)

return {
  name = "bench-lua-jwt",
  fields = {
    { protocols = typedefs.protocols_http },
    { config = {
        type = "record",
        fields = {
          { header = { description = "Upstream header the token is set in.", type = "string",
                       required = true, default = "X-Upstream-JWT" } },
          { secret = { description = "HS256 secret (bench only).", type = "string",
                       required = true } },
        },
    } },
  },
}
