-- Per-token cost inside a real nginx worker (content_by_lua): the plugin's
-- FFI path against the two Lua-only baselines, same claims, same bodies.
--
--   GET /verify                      every implementation's tokens, checked
--                                    by the native verifier (signature, iss,
--                                    aud, method, path, query and body digest)
--   GET /time?impl=I&size=N&reps=R   R samples of a timed loop; JSON with the
--                                    per-token CPU nanoseconds of each sample
--   POST /primitives?reps=R&token_len=L
--                                    per-call CPU nanoseconds of the nginx/PDK
--                                    primitives every such plugin calls
local cjson = require "cjson"
local native = require "kong.plugins.upstream-jwt.native"

-- Read once per sample, so the clock's system call is noise-free.
local now_ns = require "cpu_clock"

local _M = {}

local IMPLS = {
  ffi = "ffi_plugin",
  jwt_parser = "jwt_parser_style",
  reused = "reused_ctx",
}

-- 32 fixed secret bytes: HS256's minimum, as a production secret would be.
local SECRET = ("k"):rep(32)
local REQ = {
  iss = "kong",
  aud = "orders-service",
  ttl = 60,
  consumer_id = "8c2b3a5e-6f11-4d7a-9a0b-2f3c4d5e6f70",
  consumer_username = "alice",
  method = "POST",
  path = "/orders/v1/items",
  query = "page=2&limit=50",
}

local signers = {}
local function signer(name)
  local s = signers[name]
  if not s then
    local mod = assert(IMPLS[name], "unknown impl")
    s = require(mod).new(SECRET)
    signers[name] = s
  end
  return s
end

local bodies = {}
local function body(size)
  local b = bodies[size]
  if not b then
    -- Deterministic non-repeating bytes (a repeated pattern would still cost
    -- the same to hash, but this keeps the body realistic).
    local t = {}
    local x = 2463534242
    for i = 1, size do
      x = bit.bxor(x, bit.lshift(x, 13)); x = bit.bxor(x, bit.rshift(x, 17)); x = bit.bxor(x, bit.lshift(x, 5))
      t[i] = string.char(bit.band(x, 255))
    end
    b = table.concat(t)
    bodies[size] = b
  end
  return b
end

function _M.verify()
  local v = assert(native.new_verifier())
  assert(v:add_key("HS256", SECRET))
  local out = {}
  for _, name in ipairs({ "ffi", "jwt_parser", "reused" }) do
    for _, size in ipairs({ 0, 1024, 16384 }) do
      local b = body(size)
      local token = signer(name).sign(REQ, b)
      local claims, reason, msg = v:verify(token, {
        issuer = REQ.iss, audience = REQ.aud, method = REQ.method, path = REQ.path,
        query = REQ.query, body_sha256 = native.sha256_b64(b), max_lifetime = 300,
      })
      out[#out + 1] = { impl = name, size = size, ok = claims ~= nil,
                        reason = reason, message = msg, token_length = #token }
    end
  end
  return out
end

-- Iterations per sample sized so one sample takes about `target_ms`.
function _M.time(name, size, reps, target_ms)
  local s = signer(name)
  local b = body(size)
  local req = REQ
  for _ = 1, 200 do s.sign(req, b) end  -- warm-up: JIT traces, caches
  local t0 = now_ns()
  local probe = 0
  repeat
    s.sign(req, b)
    probe = probe + 1
  until now_ns() - t0 > 20e6 or probe >= 100000
  local per = (now_ns() - t0) / probe
  local iters = math.max(20, math.floor(target_ms * 1e6 / per))
  local samples = {}
  for r = 1, reps do
    collectgarbage()  -- each sample pays its own garbage, not the previous one's
    local start = now_ns()
    for _ = 1, iters do
      s.sign(req, b)
    end
    samples[r] = (now_ns() - start) / iters
  end
  return { impl = name, size = size, iterations = iters, ns_per_token = samples }
end

-- Per-call cost of the nginx/PDK primitives the plugin needs on every
-- request, in this worker (a POST whose body is in memory): what any plugin
-- pays for them, whatever it computes. Each is timed twice: called from a
-- loop the JIT compiles (a floor), and called from interpreted code, which is
-- how a plugin's access() runs in a gateway: resty.core's ngx.var getter and
-- ngx.time end in `return builtin(...)`, a tail call LuaJIT cannot start a
-- trace with, so it blacklists them and then every caller that would inline
-- them (bench/NOTES.md).
local PRIMITIVES = {
  { "set_header_token", "ngx.req.set_header, a token-sized value" },
  { "set_header_short", "ngx.req.set_header, a 16-byte value" },
  { "clear_header", "ngx.req.clear_header (header absent)" },
  { "var_header", "ngx.var.http_content_length" },
  { "get_body_data", "ngx.req.read_body + ngx.req.get_body_data" },
  { "ctx", "ngx.ctx field read" },
  { "time", "ngx.time" },
}

function _M.primitives(reps, token_len)
  local token = ("t"):rep(token_len)
  local short = ("s"):rep(16)
  local fns = {
    set_header_token = function() ngx.req.set_header("X-Bench-Token", token) end,
    set_header_short = function() ngx.req.set_header("X-Bench-Short", short) end,
    clear_header = function() ngx.req.clear_header("X-Bench-Absent") end,
    var_header = function() local _ = ngx.var.http_content_length end,
    get_body_data = function() ngx.req.read_body(); local _ = ngx.req.get_body_data() end,
    ctx = function() local _ = ngx.ctx.bench_absent end,
    time = function() local _ = ngx.time() end,
  }
  local body_len = #(ngx.req.get_body_data() or "")
  local out = { body_bytes = body_len, token_bytes = token_len, ns_per_call = {},
                ns_per_call_interpreted = {} }
  -- set_header copies each value into the request's pool: keep the loops
  -- short enough that the pool stays small.
  local iters = 2000
  for _, item in ipairs(PRIMITIVES) do
    local fn = fns[item[1]]
    for _ = 1, 200 do fn() end
    local samples = {}
    for r = 1, reps do
      local start = now_ns()
      for _ = 1, iters do fn() end
      samples[r] = (now_ns() - start) / iters
    end
    out.ns_per_call[item[1]] = samples
    -- The same call from code the JIT leaves alone (the callees in
    -- resty.core stay free to compile on their own, as in a gateway).
    local interpreted = function() for _ = 1, iters do fn() end end
    jit.off(interpreted)
    jit.off(fn)
    samples = {}
    for r = 1, reps do
      local start = now_ns()
      interpreted()
      samples[r] = (now_ns() - start) / iters
    end
    out.ns_per_call_interpreted[item[1]] = samples
  end
  out.labels = {}
  for _, item in ipairs(PRIMITIVES) do
    out.labels[#out.labels + 1] = { item[1], item[2] }
  end
  return out
end

function _M.handle()
  local uri = ngx.var.uri
  local args = ngx.req.get_uri_args()
  local ok, res = pcall(function()
    if uri == "/verify" then
      return _M.verify()
    elseif uri == "/primitives" then
      ngx.req.read_body()
      return _M.primitives(tonumber(args.reps) or 7, tonumber(args.token_len) or 600)
    elseif uri == "/time" then
      return _M.time(args.impl, tonumber(args.size), tonumber(args.reps) or 7,
                     tonumber(args.target_ms) or 100)
    end
    error("unknown endpoint " .. uri)
  end)
  if not ok then
    ngx.status = 500
    ngx.say(cjson.encode({ error = tostring(res) }))
    return
  end
  ngx.header["Content-Type"] = "application/json"
  ngx.say(cjson.encode(res))
end

return _M
