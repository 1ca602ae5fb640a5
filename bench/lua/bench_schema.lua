-- The schema of a bench plugin: the fields every bench variant is configured with (the
-- header the token goes in, the HS256 secret) and the variant's own. Requiring this at
-- schema load applies the OpenResty trace limits (bench_jit.lua) to every variant.
local typedefs = require "kong.db.schema.typedefs"
require "bench_jit"

return function(name, own_fields)
  local fields = {
    { header = { description = "Upstream header the token is set in.", type = "string",
                 required = true, default = "X-Upstream-JWT" } },
    { secret = { description = "HS256 secret (bench only).", type = "string",
                 required = true } },
  }
  for _, field in ipairs(own_fields or {}) do
    fields[#fields + 1] = field
  end
  return {
    name = name,
    fields = {
      { protocols = typedefs.protocols_http },
      { config = { type = "record", fields = fields } },
    },
  }
end
