-- Test plugin for spec/e2e/gateway_spec.lua (see schema.lua). Runs before
-- key-auth (PRIORITY 2000 > 1250), so at access time no consumer is known
-- yet; by header_filter key-auth has set it.
local Handler = { PRIORITY = 2000, VERSION = "0.0.1" }

function Handler:access(conf)
  if conf.fail_on_header and kong.request.get_header(conf.fail_on_header) then
    error("e2e-phases: failing on request")
  end
  local c = kong.client.get_consumer()
  kong.ctx.plugin.seen_at_access = c and c.username or "none"
  kong.ctx.shared.e2e_label = conf.label
  kong.service.request.set_header("X-E2E-Label", conf.label)
  kong.service.request.set_header("X-E2E-Route", kong.router.get_route().name or "")
  kong.service.request.set_header("X-E2E-Token", conf.token or "<nil>")
  kong.log.notice("access ran for ", conf.label)
end

function Handler:header_filter(conf)
  local c = kong.client.get_consumer()
  kong.response.set_header("X-E2E-Phases", table.concat({
    "label=" .. conf.label,
    "consumer_at_access=" .. tostring(kong.ctx.plugin.seen_at_access),
    "consumer_now=" .. (c and c.username or "none"),
    "upstream_status=" .. tostring(kong.service.response.get_status()),
  }, ";"))
end

function Handler:body_filter()
  kong.ctx.plugin.bytes = (kong.ctx.plugin.bytes or 0) + #(ngx.arg[1] or "")
end

function Handler:log(conf)
  kong.log.notice("log phase: label=", conf.label, " bytes=", kong.ctx.plugin.bytes or 0)
end

return Handler
