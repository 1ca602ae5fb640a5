-- Upstream service in nginx + Lua that trusts a request only when Kong's
-- upstream-jwt token proves it came through the gateway, unaltered, recently,
-- and for this service. Uses the project's native verifier over FFI.
--
-- Answers with the verified claims as JSON (200), or 401 {"error": reason}.
-- Configured from the environment (see ./run, which sets these):
--   UJWT_SVC_ALG, UJWT_SVC_KEYS ("[kid=]file" per line), UJWT_SVC_JWKS,
--   UJWT_SVC_SECRET_ENV, UJWT_SVC_ISSUER, UJWT_SVC_AUDIENCE, UJWT_SVC_LEEWAY,
--   UJWT_SVC_MAX_LIFETIME, UJWT_SVC_HEADER, UJWT_SVC_REJECT_REPLAY, UJWT_SVC_STATS
local native = require "kong.plugins.upstream-jwt.native"
local cjson = require "cjson.safe"

local M = {}

local BINDINGS = { "method", "path", "query", "body" }

local state
local digest

local function read_file(path)
  local f, err = io.open(path, "rb")
  if not f then
    return nil, err
  end
  local s = f:read("*a")
  f:close()
  return s
end

--- A verifier for `cfg` = { alg, issuer, audience, leeway, max_lifetime,
--- max_token_length, bind = {method=true, ...} (default: all four),
--- check_headers (the token must bind headers, hdrs/hdr_sha256, and they must
--- match), required_headers ("a,b": names the token must bind; implies
--- check_headers), replay_capacity (nil = no replay check) } and `keys` = list of
--- { alg=, key=, kid= } or { jwks= }. Plain LuaJIT + the native library: the
--- conformance runner drives exactly this code.
function M.new(cfg, keys)
  local verifier, err = native.new_verifier()
  if not verifier then
    return nil, "cannot create a verifier: " .. tostring(err)
  end
  for _, k in ipairs(keys) do
    local ok, kerr
    if k.jwks then
      ok, kerr = verifier:add_jwk(k.jwks, k.alg)
    else
      ok, kerr = verifier:add_key(k.alg, k.key, k.kid)
    end
    if not ok then
      return nil, (k.name or "key") .. ": " .. tostring(kerr)
    end
  end
  local replay_cache
  if cfg.replay_capacity then
    replay_cache, err = native.new_replay_cache(cfg.replay_capacity)
    if not replay_cache then
      return nil, err
    end
  end
  if (cfg.check_headers or cfg.required_headers) and not native.headers_sha256 then
    return nil, "header binding needs a native.lua that passes headers to the library"
  end
  local bind = cfg.bind
  if not bind then
    bind = {}
    for _, b in ipairs(BINDINGS) do
      bind[b] = true
    end
  end
  return { cfg = cfg, verifier = verifier, replay_cache = replay_cache, bind = bind }
end

--- req = { tokens = {field values of the token header}, method, path (raw, no
--- query), query (raw, nil without '?'), body_sha256, headers = { name1,
--- value1, ... } (the header lines as received, repeats in order) }.
--- @return claims JSON | nil, reason
function M.check(st, req)
  local tokens = req.tokens
  if #tokens > 1 then
    return nil, "malformed" -- several token headers: refuse rather than pick one
  end
  local token = tokens[1] and tokens[1]:gsub("^[ \t]+", ""):gsub("[ \t]+$", "")
  if token then
    token = token:gsub("^[Bb][Ee][Aa][Rr][Ee][Rr] +", "")
  end
  if not token or token == "" then
    return nil, "missing_token"
  end
  local cfg, bind = st.cfg, st.bind
  local claims, reason = st.verifier:verify(token, {
    issuer = cfg.issuer,
    audience = cfg.audience,
    now = req.now,
    leeway = cfg.leeway,
    max_lifetime = cfg.max_lifetime,
    max_token_length = cfg.max_token_length,
    method = bind.method and req.method or nil,
    path = bind.path and req.path or nil,
    query = bind.query and (req.query or "") or nil,
    body_sha256 = bind.body and req.body_sha256 or nil,
    headers = (cfg.check_headers or cfg.required_headers) and req.headers or nil,
    required_headers = cfg.required_headers,
    replay_cache = st.replay_cache,
  })
  return claims, reason
end

local function fatal(msg)
  ngx.log(ngx.EMERG, "verify-service-lua: ", msg)
  error(msg, 0)
end

-- Runs in the master (init_by_lua) so a bad key or setting stops nginx from
-- starting; workers inherit the native handles when they fork.
function M.init()
  -- A binding whose cdef predates the library's appended option members would
  -- hand it a struct that is too short: refuse to start rather than misverify.
  if not require("ffi").offsetof("ujwt_verify_options", "required_headers_len") then
    fatal("kong/plugins/upstream-jwt/native.lua is older than libupstream_jwt's ujwt_verify_options")
  end
  local env = os.getenv
  local cfg = {
    alg = env("UJWT_SVC_ALG") or "HS256",
    issuer = env("UJWT_SVC_ISSUER") or "kong",
    audience = env("UJWT_SVC_AUDIENCE"),
    leeway = tonumber(env("UJWT_SVC_LEEWAY") or "5"),
    max_lifetime = tonumber(env("UJWT_SVC_MAX_LIFETIME") or "3600"),
    header = env("UJWT_SVC_HEADER") or "X-Upstream-JWT",
    stats = env("UJWT_SVC_STATS") == "1",
    replay_capacity = env("UJWT_SVC_REJECT_REPLAY") == "1" and 100000 or nil,
    check_headers = env("UJWT_SVC_CHECK_HEADERS") == "1",
    required_headers = (env("UJWT_SVC_REQUIRE_HEADERS") or "") ~= "" and env("UJWT_SVC_REQUIRE_HEADERS") or nil,
  }
  if not cfg.audience or cfg.audience == "" then
    fatal("UJWT_SVC_AUDIENCE is required")
  end
  local keys = {}
  for spec in (env("UJWT_SVC_KEYS") or ""):gmatch("[^\n]+") do
    local kid, path = spec:match("^(.*)=([^=]+)$")
    path = path or spec
    keys[#keys + 1] = { alg = cfg.alg, key = read_file(path) or fatal("cannot read key file " .. path),
                        kid = kid ~= "" and kid or nil, name = "key " .. path }
  end
  local jwks = env("UJWT_SVC_JWKS")
  if jwks and jwks ~= "" then
    keys[#keys + 1] = { alg = cfg.alg, jwks = read_file(jwks) or fatal("cannot read " .. jwks), name = "jwks " .. jwks }
  end
  if #keys == 0 then
    local secret_env = env("UJWT_SVC_SECRET_ENV") or "UPSTREAM_JWT_SECRET"
    local secret = env(secret_env)
    if not secret or secret == "" then
      fatal("no key: give --key/--jwks or set $" .. secret_env)
    end
    -- Kid-less: accepts whatever key_id the gateway sets (examples/kong.yml sets one).
    keys[1] = { alg = cfg.alg, key = secret, name = "secret from $" .. secret_env }
  end
  local err
  state, err = M.new(cfg, keys)
  if not state then
    fatal(err)
  end
  digest = assert(native.new_digest())
end

local function reply(status, body)
  ngx.status = status
  ngx.header["Content-Type"] = "application/json"
  ngx.header["Content-Length"] = #body
  ngx.print(body)
  return ngx.exit(status)
end

-- base64url(SHA-256(body as received)); a spilled body is hashed from its
-- temp file in chunks.
local function body_sha256()
  ngx.req.read_body()
  local data = ngx.req.get_body_data()
  if data then
    return native.sha256_b64(data)
  end
  local file = ngx.req.get_body_file()
  if not file then
    return native.sha256_b64("")
  end
  local n, err = digest:update_file(file)
  if not n then
    digest:reset()
    return nil, err
  end
  return digest:final()
end

-- { name1, value1, ... } from get_headers' table: a repeated header's lines
-- stay in the order received (the canonical form needs no other order).
local function flat_headers(all)
  local out = {}
  for name, v in pairs(all) do
    if type(v) == "table" then
      for _, one in ipairs(v) do
        out[#out + 1] = name
        out[#out + 1] = one
      end
    else
      out[#out + 1] = name
      out[#out + 1] = v
    end
  end
  return out
end

-- Verifies the current request; on failure answers 401 {"error": reason}
-- and ends it. Returns the claims JSON.
local function verify_current(cfg)
  local stats = ngx.shared.verify_stats
  local uri = ngx.var.request_uri
  local q = uri:find("?", 1, true)
  local path = q and uri:sub(1, q - 1) or uri
  -- Every header, not the first 100 (get_headers' default limit): a client
  -- that sends 100 headers first must not hide the token. get_headers, not
  -- ngx.var: a second token header must be seen to be refused.
  local all = ngx.req.get_headers(0)
  local token = all[cfg.header]
  local tokens = type(token) == "table" and token or { token }

  if cfg.stats and path == "/__stats" and ngx.req.get_method() == "GET" and not token then
    return reply(200, cjson.encode({
      requests = stats:get("requests") or 0,
      verified = stats:get("verified") or 0,
      rejected = stats:get("rejected") or 0,
    }))
  end

  local body_digest, berr = body_sha256()
  if not body_digest then
    ngx.log(ngx.ERR, "verify-service-lua: cannot hash the body: ", berr)
    return reply(500, '{"error":"internal"}')
  end

  local claims, reason = M.check(state, {
    tokens = tokens,
    method = ngx.req.get_method(),
    path = path,
    query = q and uri:sub(q + 1) or nil,
    body_sha256 = body_digest,
    headers = (cfg.check_headers or cfg.required_headers) and flat_headers(all) or nil,
  })

  if cfg.stats then
    stats:incr("requests", 1, 0)
    stats:incr(claims and "verified" or "rejected", 1, 0)
  end
  if not claims then
    ngx.log(ngx.NOTICE, "verify-service-lua: rejected ", ngx.req.get_method(), " ", path, ": ", reason)
    return reply(401, cjson.encode({ error = reason }))
  end
  return claims
end

--- content_by_lua: answers with the verified claims (this example service).
function M.handle()
  return reply(200, verify_current(state.cfg))
end

--- access_by_lua, in front of proxy_pass or another content handler: lets a
--- verified request through with its claims in ngx.ctx.upstream_jwt (JSON).
function M.access()
  ngx.ctx.upstream_jwt = verify_current(state.cfg)
end

return M
