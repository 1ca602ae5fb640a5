local typedefs = require "kong.db.schema.typedefs"

return {
  name = "bench-static-header",
  fields = {
    { protocols = typedefs.protocols_http },
    { config = {
        type = "record",
        fields = {
          { header = { type = "string", required = true, default = "X-Upstream-JWT" } },
          { read_body = { type = "boolean", required = true, default = false } },
        },
    } },
  },
}
