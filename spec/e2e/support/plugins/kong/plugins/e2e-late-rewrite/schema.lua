-- Test plugin for spec/e2e/bind_headers_spec.lua: `set` maps header names to
-- the values written after upstream-jwt signed.
return {
  name = "e2e-late-rewrite",
  fields = {
    { config = {
        type = "record",
        fields = {
          { set = { type = "map", required = true,
                    keys = { type = "string" }, values = { type = "string" } } },
        },
    } },
  },
}
