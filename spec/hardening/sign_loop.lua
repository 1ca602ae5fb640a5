-- The plugin's FFI path in a loop, outside nginx, for leak and RSS checks:
--   luajit spec/hardening/sign_loop.lua N [ALG]
-- Each iteration does what handler.lua does per request: a streaming body
-- digest (new handle, chunks, final), the query digest, one signature with
-- every claim set; every 1000th iteration also builds a fresh signer (the
-- vault-rotation path) and drops the old one to the GC. Prints
-- "rss_kb <iteration> <kB>" at 1k, 10k and every 10k after, then "done N".
local root = arg[0]:match("^(.*)/spec/hardening/[^/]*$") or "."
package.path = root .. "/?.lua;" .. root .. "/?/init.lua;" .. package.path
local native = require "kong.plugins.upstream-jwt.native"

local n = tonumber(arg[1]) or 100000
local alg = arg[2] or "HS256"
local key
if alg:sub(1, 2) == "HS" then
  key = string.rep("k", 64)
else
  local f = assert(io.open(root .. "/test/keys/" .. (alg == "ES256" and "ec256.pem"
                                                     or alg == "EdDSA" and "ed25519.pem"
                                                     or "rsa2048.pem"), "rb"))
  key = f:read("*a")
  f:close()
end

local function rss_kb()
  local f = io.open("/proc/self/statm")
  local _, res = f:read("*n", "*n")
  f:close()
  return res * 4
end

local body = string.rep("b", 3000)
local signer = assert(native.new_signer(alg, key, "loop-1"))
for i = 1, n do
  if i % 1000 == 0 then
    signer = assert(native.new_signer(alg, key, "loop-" .. i))
  end
  local d = assert(native.new_digest())
  assert(d:update(body))
  assert(d:update(tostring(i)))
  local body_sha = assert(d:final())
  local token, err = signer:sign({
    iss = "kong", aud = "orders", ttl = 60, sub = "c-" .. i,
    consumer_id = "c-" .. i, consumer_username = "alice", consumer_custom_id = "a-1",
    credential_id = "cred-1", htm = "POST", htu = "/orders/" .. i,
    query = "page=" .. i, body_sha256 = body_sha, extra_json = '{"tenant":"t1"}',
  })
  if not token then
    error("sign failed at " .. i .. ": " .. tostring(err))
  end
  if i == 1000 or i % 10000 == 0 then
    collectgarbage()
    io.write("rss_kb ", i, " ", rss_kb(), "\n")
    io.flush()
  end
end
io.write("done ", n, "\n")
