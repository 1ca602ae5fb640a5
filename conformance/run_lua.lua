-- Runs conformance/vectors.json through the nginx-lua example's verifying code
-- (examples/nginx-lua/verify_service.lua: M.new + M.check over the native
-- library's FFI binding), inside nginx with lua-nginx-module (dev/busted --script), as
-- the example runs. Vectors that need a preloaded
-- replay cache (the C ABI offers no way to preload one), and header checks
-- while the FFI binding (kong/plugins/upstream-jwt/native.lua) cannot pass
-- headers, are skipped, by name.
-- Exit 1 when the example disagrees with the core on any vector.
--
--   UPSTREAM_JWT_LIB=build/libupstream_jwt.so dev/busted --script conformance/run_lua.lua conformance/vectors.json
local here = debug.getinfo(1, "S").source:sub(2):match("^(.*)/[^/]*$") or "."
local repo = here .. "/.."
-- Inside nginx print() goes to the error log; the report belongs on stdout.
local function say(text)
  io.stdout:write(text, "\n")
  io.stdout:flush()
end

package.path = repo .. "/?.lua;" .. repo .. "/examples/nginx-lua/?.lua;" .. package.path

local cjson = require "cjson.safe"
local native = require "kong.plugins.upstream-jwt.native"
local service = require "verify_service"

-- The library's ujwt_verify_options gained appended members (header binding);
-- a binding whose cdef predates them hands the library a struct that is too
-- short, and every verification reads past its end. Say so instead of
-- reporting 150 confusing disagreements.
local ffi = require "ffi"
if not ffi.offsetof("ujwt_verify_options", "required_headers_len") then
  say("nginx-lua: kong/plugins/upstream-jwt/native.lua declares ujwt_verify_options without the "
        .. "header-binding members of include/upstream_jwt.h (headers, header_count, required_headers, "
        .. "required_headers_len): the binding and the library disagree on the struct's size")
  os.exit(1)
end

local path = arg[1] or (repo .. "/conformance/vectors.json")
local f = assert(io.open(path, "rb"))
local doc = assert(cjson.decode(f:read("*a")))
f:close()
assert(doc.version == 1, "unsupported vectors version")

local null = cjson.null
local function opt(v)
  if v == null then
    return nil
  end
  return v
end

local failures, skipped, ran = {}, {}, 0
for _, v in ipairs(doc.vectors) do
  local o, r = v.options, v.request
  if o.replay ~= null or ((o.check_headers or #o.required_headers > 0) and not native.headers_sha256) then
    skipped[#skipped + 1] = v.name
  else
    local keys = {}
    for _, k in ipairs(doc.keysets[v.keyset]) do
      keys[#keys + 1] = { alg = k.alg, kid = opt(k.kid),
                          key = k.pem or ngx.decode_base64(k.secret_b64) }
    end
    local bind = {}
    for _, b in ipairs(o.bind) do
      bind[b] = true
    end
    local st = assert(service.new({ issuer = opt(o.issuer), audience = opt(o.audience), leeway = o.leeway,
                                    max_lifetime = o.max_lifetime, max_token_length = o.max_token_length,
                                    bind = bind, check_headers = o.check_headers,
                                    required_headers = #o.required_headers > 0
                                                       and table.concat(o.required_headers, ",") or nil }, keys))
    local headers = {}
    for _, h in ipairs(r.headers) do
      headers[#headers + 1] = h[1]
      headers[#headers + 1] = h[2]
    end
    local d = assert(native.new_digest())
    local unit = ngx.decode_base64(r.body_b64)
    for _ = 1, r.body_repeat or 1 do
      assert(d:update(unit))
    end
    local claims, reason = service.check(st, {
      tokens = { v.token }, method = r.method, path = r.path, query = opt(r.query),
      body_sha256 = d:final(), now = v.now, headers = headers,
    })
    ran = ran + 1
    local want = v.expect.valid and "" or v.expect.reason
    local got = claims and "" or reason
    -- An empty token is "missing" to a service (no token at all) and
    -- "malformed" to the core: the only place the two may differ.
    if v.token == "" and got == "missing_token" then
      got = "malformed"
    end
    if got ~= want then
      failures[#failures + 1] = string.format("%s: core says %s, nginx-lua says %s", v.name,
                                              want == "" and "valid" or want, got == "" and "valid" or got)
    end
  end
end
for _, msg in ipairs(failures) do
  say("FAIL " .. msg)
end
say(string.format("nginx-lua: %d/%d vectors agree with the core; %d skipped (a preloaded replay cache or a header check): %s",
                    ran - #failures, ran, #skipped, table.concat(skipped, ", ")))
os.exit(#failures == 0 and 0 or 1)
