-- Controls for the gateway benchmark: a plugin at upstream-jwt's priority
-- that adds a header as long as a real token, and optionally first reads the
-- request body into Lua the way upstream-jwt must (kong.request.get_raw_body)
-- but does nothing with it. wrk can then separate what any header-adding,
-- body-reading plugin costs in this gateway from what minting the token adds.
local VALUE = ("x"):rep(613)

return {
  VERSION = "0.0.0",
  PRIORITY = 790,
  access = function(_, conf)
    if conf.read_body then
      local body = kong.request.get_raw_body()
      if body == nil and not ngx.req.get_body_file() then
        return kong.response.exit(500, { message = "body not readable" })
      end
    end
    kong.service.request.set_header(conf.header, VALUE)
  end,
}
