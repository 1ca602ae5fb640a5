-- Per-token cost inside a real nginx worker (content_by_lua): the plugin's
-- FFI path against the two Lua-only baselines, same claims, same bodies.
--
--   GET /verify                      every implementation's tokens, checked
--                                    by the native verifier (signature, iss,
--                                    aud, method, path, query and body digest)
--   GET /time?impl=I&size=N&reps=R   R samples of a timed loop; JSON with the
--                                    per-token CPU nanoseconds of each sample
local ffi = require "ffi"
local cjson = require "cjson"
local native = require "kong.plugins.upstream-jwt.native"

pcall(ffi.cdef, [[
typedef long time_t;
struct timespec { time_t tv_sec; long tv_nsec; };
int clock_gettime(int clk_id, struct timespec *tp);
]])
-- CPU time of this thread (the worker): on a shared machine, time spent
-- descheduled is not the token's cost. Read once per sample, so the
-- syscall (no vDSO for this clock) is noise-free.
local CLOCK_THREAD_CPUTIME_ID = 3
local ts = ffi.new("struct timespec")
local function now_ns()
  ffi.C.clock_gettime(CLOCK_THREAD_CPUTIME_ID, ts)
  return tonumber(ts.tv_sec) * 1e9 + tonumber(ts.tv_nsec)
end

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

function _M.handle()
  local uri = ngx.var.uri
  local args = ngx.req.get_uri_args()
  local ok, res = pcall(function()
    if uri == "/verify" then
      return _M.verify()
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
