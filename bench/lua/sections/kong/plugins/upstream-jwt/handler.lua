-- bench only: the real upstream-jwt handler with CPU-time marks between the
-- steps of its access(), for bench/run's "where the microseconds go" table.
-- The marks are inserted into the handler's source at the anchors below
-- (plain text; a missing anchor stops the gateway, so the table cannot
-- silently describe another handler). A mark placed twice in a row, first
-- thing in access(), measures what a mark itself costs there; it is
-- subtracted from every step. Every 2000 requests the mean per step goes to
-- bench/results/sections.log. Put first on KONG_LUA_PACKAGE_PATH; never used
-- otherwise.
local here = debug.getinfo(1, "S").source:sub(2):match("^(.*)/bench/lua/sections/")
local now_ns = require "cpu_clock"

-- step name -> the source line the step ends before
local MARKS = {
  { "signer", "  -- Everything that can yield happens before the shared claims table is" },
  { "body", "  -- Look-alikes go before the bound headers are hashed, so the digest" },
  { "look-alikes", "  local c = claims\n" },
  { "time, audience", "  c.sub, c.consumer_id, c.consumer_username, c.consumer_custom_id = nil, nil, nil, nil" },
  { "consumer, credential", "  if conf.bind_request then" },
  { "method, path, query", "  c.body_sha256 = body_digest" },
  { "static claims", "  local token\n" },
  { "sign", "  local prefix = conf.header_prefix" },
}
local SET = "  kong.service.request.set_header(conf.header, token)\nend"
local ENTRY = "function UpstreamJwtHandler:access(conf)\n"

local function insert_before(s, anchor, text, from)
  local i = s:find(anchor, from, true)
  assert(i, "bench/lua/sections: anchor not found in handler.lua: " .. anchor)
  return s:sub(1, i - 1) .. text .. s:sub(i), i + #text + #anchor
end

-- The handler at `path`, marked.
local function marked(path)
  local f = assert(io.open(path, "rb"))
  local src = f:read("*a")
  f:close()

  local at = assert(src:find(ENTRY, 1, true), "access() not found")
  src = src:sub(1, at - 1) .. ENTRY .. '  __MARK0()\n  __MARK("(mark)")\n' .. src:sub(at + #ENTRY)
  local pos = at
  for _, m in ipairs(MARKS) do
    src, pos = insert_before(src, m[2], '  __MARK("' .. m[1] .. '")\n', pos)
  end
  local i = assert(src:find(SET, pos, true), "set_header not found")
  src = src:sub(1, i - 1) .. "  kong.service.request.set_header(conf.header, token)\n"
        .. '  __MARK("set header")\n  __MARKS_DONE()\nend' .. src:sub(i + #SET)

  local t, acc, order, n = 0, {}, {}, 0
  local env = setmetatable({
    __MARK0 = function() t = now_ns() end,
    __MARK = function(name)
      local x = now_ns()
      if not acc[name] then
        acc[name] = 0
        order[#order + 1] = name
      end
      acc[name] = acc[name] + (x - t)
      t = now_ns()
    end,
    __MARKS_DONE = function()
      n = n + 1
      if n == 2000 then
        local out = io.open(here .. "/bench/results/sections.log", "a")
        if out then
          local parts = {}
          for _, k in ipairs(order) do
            parts[#parts + 1] = string.format("%s=%.3f", k, acc[k] / n / 1000)
            acc[k] = 0
          end
          out:write(table.concat(parts, "\t"), "\n")
          out:close()
        end
        n = 0
      end
    end,
  }, { __index = _G })

  local chunk = assert(load(src, "@" .. path))
  setfenv(chunk, env)
  return chunk()
end

-- bench/run --ab: another revision's handler.lua, measured instead of the
-- working tree's (in a gateway of its own).
local other = here .. "/bench/results/ab_before.lua"
local probe = io.open(other, "rb")
if probe then
  probe:close()
  return marked(other)
end
return marked(here .. "/kong/plugins/upstream-jwt/handler.lua")
