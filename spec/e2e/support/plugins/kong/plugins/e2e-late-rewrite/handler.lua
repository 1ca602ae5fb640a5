-- Test plugin for spec/e2e/bind_headers_spec.lua: sets request headers after
-- upstream-jwt has signed (PRIORITY 700 < 790), as ai-request-transformer or
-- a post-function would, so the spec can show a verifier catching it.
local Handler = { PRIORITY = 700, VERSION = "0.0.1" }

function Handler:access(conf)
  for name, value in pairs(conf.set) do
    kong.service.request.set_header(name, value)
  end
end

return Handler
