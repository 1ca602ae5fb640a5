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

local cfg
local verifier
local replay_cache
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

local function fatal(msg)
  ngx.log(ngx.EMERG, "verify-service-lua: ", msg)
  error(msg, 0)
end

-- Runs in the master (init_by_lua) so a bad key or setting stops nginx from
-- starting; workers inherit the native handles when they fork.
function M.init()
  local env = os.getenv
  cfg = {
    alg = env("UJWT_SVC_ALG") or "HS256",
    issuer = env("UJWT_SVC_ISSUER") or "kong",
    audience = env("UJWT_SVC_AUDIENCE"),
    leeway = tonumber(env("UJWT_SVC_LEEWAY") or "5"),
    max_lifetime = tonumber(env("UJWT_SVC_MAX_LIFETIME") or "3600"),
    header = env("UJWT_SVC_HEADER") or "X-Upstream-JWT",
    stats = env("UJWT_SVC_STATS") == "1",
  }
  if not cfg.audience or cfg.audience == "" then
    fatal("UJWT_SVC_AUDIENCE is required")
  end
  local err
  verifier, err = native.new_verifier()
  if not verifier then
    fatal("cannot create a verifier: " .. tostring(err))
  end
  local nkeys = 0
  for spec in (env("UJWT_SVC_KEYS") or ""):gmatch("[^\n]+") do
    local kid, path = spec:match("^(.*)=([^=]+)$")
    path = path or spec
    local key = read_file(path) or fatal("cannot read key file " .. path)
    local ok, kerr = verifier:add_key(cfg.alg, key, kid ~= "" and kid or nil)
    if not ok then
      fatal("key " .. path .. ": " .. tostring(kerr))
    end
    nkeys = nkeys + 1
  end
  local jwks = env("UJWT_SVC_JWKS")
  if jwks and jwks ~= "" then
    local ok, jerr = verifier:add_jwk(read_file(jwks) or fatal("cannot read " .. jwks), cfg.alg)
    if not ok then
      fatal("jwks " .. jwks .. ": " .. tostring(jerr))
    end
    nkeys = nkeys + 1
  end
  if nkeys == 0 then
    local secret_env = env("UJWT_SVC_SECRET_ENV") or "UPSTREAM_JWT_SECRET"
    local secret = env(secret_env)
    if not secret or secret == "" then
      fatal("no key: give --key/--jwks or set $" .. secret_env)
    end
    local ok, kerr = verifier:add_key(cfg.alg, secret)
    if not ok then
      fatal("secret from $" .. secret_env .. ": " .. tostring(kerr))
    end
  end
  if env("UJWT_SVC_REJECT_REPLAY") == "1" then
    replay_cache = assert(native.new_replay_cache(100000))
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

function M.handle()
  local stats = ngx.shared.verify_stats
  local uri = ngx.var.request_uri
  local q = uri:find("?", 1, true)
  local path = q and uri:sub(1, q - 1) or uri
  -- get_headers, not ngx.var: a second token header must be seen to be refused
  local token = ngx.req.get_headers(100)[cfg.header]

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

  local claims, reason
  if type(token) == "table" then
    reason = "malformed" -- several token headers: refuse rather than pick one
  elseif not token or token == "" then
    reason = "missing_token"
  else
    token = token:gsub("^[Bb][Ee][Aa][Rr][Ee][Rr] +", "")
    claims, reason = verifier:verify(token, {
      issuer = cfg.issuer,
      audience = cfg.audience,
      leeway = cfg.leeway,
      max_lifetime = cfg.max_lifetime,
      method = ngx.req.get_method(),
      path = path,
      query = ngx.var.args or "",
      body_sha256 = body_digest,
      replay_cache = replay_cache,
    })
  end

  if cfg.stats then
    stats:incr("requests", 1, 0)
    stats:incr(claims and "verified" or "rejected", 1, 0)
  end
  if not claims then
    ngx.log(ngx.NOTICE, "verify-service-lua: rejected ", ngx.req.get_method(), " ", path, ": ", reason)
    return reply(401, cjson.encode({ error = reason }))
  end
  return reply(200, claims)
end

return M
