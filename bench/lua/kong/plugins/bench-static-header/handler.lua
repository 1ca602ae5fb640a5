-- Control for the gateway benchmark: a plugin at upstream-jwt's priority
-- that only adds a header as long as a real token, so wrk can separate what
-- any header-adding plugin costs in this gateway (the PDK call, the bigger
-- upstream request) from what minting the token costs.
local VALUE = ("x"):rep(613)

return {
  VERSION = "0.0.0",
  PRIORITY = 790,
  access = function(_, conf)
    kong.service.request.set_header(conf.header, VALUE)
  end,
}
