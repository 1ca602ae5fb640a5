-- Test plugin for spec/e2e/gateway_spec.lua: records which phases ran, in
-- which order relative to key-auth, and what the PDK showed it.
return {
  name = "e2e-phases",
  fields = {
    { config = {
        type = "record",
        fields = {
          { label = { type = "string", required = true } },
          { fail_on_header = { type = "string" } },
          { token = { type = "string", referenceable = true } },
        },
    } },
  },
}
