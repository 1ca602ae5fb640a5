-- upstream-jwt: signs every proxied request for the upstream service.
--
-- In the access phase it mints a short-lived JWT naming the consumer and
-- binding the exact method, path, query and body sent upstream, and adds it as
-- an upstream header. Nothing is proxied unsigned: every failure ends the
-- request with an error response and a log line that never carries key
-- material.

local native = require "kong.plugins.upstream-jwt.native"
local httpsig = require "kong.plugins.upstream-jwt.httpsig"
local lrucache = require "resty.lrucache"
local cjson = require "cjson.safe"

-- `kong` and `ngx` are read as globals on purpose: Kong sets them before
-- loading plugins, and test doubles can swap their members per test.
local type = type
local next = next
local tonumber = tonumber
local setmetatable = setmetatable
local find = string.find
local sub = string.sub
local byte = string.byte

local UpstreamJwtHandler = {
  VERSION = "0.1.0",
  -- 790: the token must describe the request as it leaves Kong and name the
  -- consumer that was authenticated. Every bundled authentication plugin
  -- (jwt 1450, oauth2 1400, key-auth 1250, ldap-auth 1200, basic-auth 1100,
  -- hmac-auth 1030), acl (950) and request-transformer (801, which may
  -- rewrite the method, path, query and body) run before us. Plugins that
  -- change the request with a lower priority would invalidate the binding.
  PRIORITY = 790,
}

-- The one definition the schema checks secrets with at config time. Kong 3.9.3 loads a
-- plugin's handler before its schema (kong/db/dao/plugins.lua load_plugin), so this require
-- may be the first; it is sound because typedefs needs only Kong's schema library, which
-- Kong has loaded for its own entities before any plugin.
local HMAC_MIN_BYTES = require("kong.plugins.upstream-jwt.typedefs").HMAC_MIN_BYTES

local GENERIC_500 = { message = "An unexpected error occurred" }
local TOO_LARGE_413 = { message = "Request body too large" }

-- base64url(SHA-256("")), the body digest of a request without a body.
local EMPTY_BODY_SHA256 = "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU"

-- Signers live per worker. Two levels: the last key strings seen for each conf
-- table (compared with ==, which is a pointer compare for interned Lua
-- strings, so the hot path builds no string), and an LRU keyed by a digest of
-- the key material so conf tables that share a key share the parsed key and
-- a key changed in place (vault rotation) gets a new signer on the next
-- request.
local conf_state = setmetatable({}, { __mode = "k" })
local signer_lru = assert(lrucache.new(128))

-- Static claims JSON, per `claims` table (Kong replaces the conf table when the
-- plugin is reconfigured, so identity is a sound key).
local extra_json_cache = setmetatable({}, { __mode = "k" })

-- One digest handle per worker for spilled bodies; the hashing loop does not
-- yield, so requests cannot interleave on it.
local file_digest

-- Claims are filled after the last call that can yield (reading the body)
-- and consumed by sign() right away, so one table serves every request.
local claims = {}

local function is_str(v)
  return type(v) == "string" and v ~= ""
end

-- Kong runs nginx with `underscores_in_headers on`, so a client header
-- spelled `X_Upstream_JWT` or `Content_Length` travels beside the real one,
-- and CGI/WSGI-style servers fold `_` and `-` into one name: the service
-- could be handed a token of the client's, or framing the signature did not
-- cover. Every underscore spelling of the token header, of the framing
-- headers and of the bound headers is removed before proxying. (`Host` has
-- no `-`, so no other spelling of it exists; it is listed for the reader.)
local FRAMING_HEADERS = { ["content-length"] = true, ["transfer-encoding"] = true, host = true }

-- Header name -> the same name lowercased with '_' read as '-', as a
-- folding server sees it.
local function fold(name)
  local f = name:lower():gsub("_", "-")
  return f
end

-- Per token header name: nginx's $http_<name>, which matches a header
-- whatever its case and '-'/'_' spelling; the name lowercased; and
-- lowercased and folded.
local token_headers = {}

local function token_header(name)
  local t = token_headers[name]
  if not t then
    t = { var = "http_" .. name:lower():gsub("-", "_"), lower = name:lower(), folded = fold(name) }
    token_headers[name] = t
  end
  return t
end

-- Per `bind_headers` array: the lowercased names, ','-joined for the native
-- library (schema-validated tokens never contain ','), and a map from each
-- folded name to the one spelling of it that may reach the upstream.
local bind_cache = setmetatable({}, { __mode = "k" })

local function bound_names(conf)
  local list = conf.bind_headers
  if type(list) ~= "table" or list[1] == nil then
    return nil
  end
  local b = bind_cache[list]
  if not b then
    local names, spelling = {}, {}
    for i, name in ipairs(list) do
      names[i] = name:lower()
      spelling[fold(name)] = names[i]
    end
    b = { names = names, joined = table.concat(names, ","), spelling = spelling }
    bind_cache[list] = b
  end
  return b
end

-- The request's header names, read in place through the FFI entry points
-- resty.core's ngx.req.get_headers is built on (declared by
-- resty.core.request, which Kong loads before any plugin, for the
-- lua-nginx-module it ships with): the look-alike check then looks at every
-- header's lowercased name without creating a Lua string or table for it,
-- and makes a string only for a name that contains '_' or could be the token
-- header. Used from lua-nginx-module 0.10.21 on (every OpenResty Kong 3.x
-- ships), where the count takes a `truncated` out-parameter, as called
-- below; otherwise the headers are listed with ngx.req.get_headers(0).
local header_scan
do
  local ok_ffi, ffi = pcall(require, "ffi")
  local ok_base, base = pcall(require, "resty.core.base")
  local version = ngx and ngx.config and ngx.config.ngx_lua_version
  if ok_ffi and ok_base and type(version) == "number" and version >= 10021
     and ngx.config.subsystem == "http" and pcall(require, "resty.core.request") then
    local C = ffi.C
    local ok_fns = pcall(function()
      return C.ngx_http_lua_ffi_req_get_headers_count, C.ngx_http_lua_ffi_req_get_headers
    end)
    local ok_t, elt_array = pcall(ffi.typeof, "ngx_http_lua_ffi_table_elt_t[?]")
    -- libc's memchr finds a '_' without a Lua loop over the bytes (an inner
    -- loop would cut the handler's JIT trace). Declared unless another
    -- module has: a second declaration is an error, the first one serves.
    pcall(ffi.cdef, "void *memchr(const void *s, int c, size_t n);")
    local ok_mem = pcall(function() return C.memchr end)
    if ok_fns and ok_t and ok_mem then
      header_scan = {
        C = C, get_request = base.get_request, elt_array = elt_array, str = ffi.string,
        truncated = ffi.new("int[1]"), cap = 0, elts = nil,
      }
    end
  end
end

-- Scratch list of the header names to remove, reused.
local to_clear = {}

--- Without a binding: removes every header that folds to the token header,
-- and every underscore spelling of a framing header. One pass over nginx's
-- header list, every header (0: no limit; with a limit a client could push a
-- look-alike past it). The names are removed after the pass, so the list is
-- not changed while it is read.
local function scrub_scanned(token)
  local hs = header_scan
  local C = hs.C
  local r = hs.get_request()
  local n = C.ngx_http_lua_ffi_req_get_headers_count(r, 0, hs.truncated)
  if n <= 0 then
    -- 0: no headers; < 0: a context without a request, which access never is
    return n == 0
  end
  if n > hs.cap then
    hs.cap = n > 2 * hs.cap and n or 2 * hs.cap
    hs.elts = hs.elt_array(hs.cap)
  end
  local elts = hs.elts
  if C.ngx_http_lua_ffi_req_get_headers(r, elts, n, 0) ~= 0 then
    return false
  end
  local folded = token.folded
  local tlen, tfirst = #folded, byte(folded, 1)
  local m = 0
  for i = 0, n - 1 do
    local key = elts[i].key
    local data, len = key.data, key.len
    if data == nil then
      -- no lowercased name to read (no known nginx code leaves one out):
      -- the caller lists the headers instead
      for j = 1, m do
        to_clear[j] = nil
      end
      return false
    end
    if C.memchr(data, 95, len) ~= nil then -- a '_'
      local name = hs.str(data, len)
      local f = fold(name)
      if f == folded or FRAMING_HEADERS[f] then
        m = m + 1
        to_clear[m] = name
      end
    elseif len == tlen and data[0] == tfirst and hs.str(data, len) == folded then
      m = m + 1
      to_clear[m] = folded
    end
  end
  for i = 1, m do
    kong.service.request.clear_header(to_clear[i])
    to_clear[i] = nil
  end
  return true
end

--- Clears the client's token header (every spelling), every underscore
-- spelling of a framing header, and every spelling of a bound header but the
-- configured one. Without a binding the headers are looked at only when an
-- $http_ look-up says such a spelling may be present (nginx's $http_<name>
-- matches a header whatever its case and '-'/'_' spelling; a real
-- Content-Length answers too, so requests with a body are looked at).
-- @return with a binding, the headers the upstream will receive, as
-- ngx.req.get_headers(0) gives them (lowercased names, repeats as arrays in
-- the order received); nil without one.
local function scrub_headers(conf, bind)
  local token = token_header(conf.header)
  if not bind then
    -- Content-Length first: on a request with a body it answers, and the
    -- other two look-ups are not needed.
    local var = ngx.var
    if var.http_content_length == nil and var.http_transfer_encoding == nil
       and var[token.var] == nil then
      return nil
    end
    if header_scan and scrub_scanned(token) then
      return nil
    end
  end
  -- 0: no limit. With Kong's default of 100 a client could push a
  -- look-alike or a bound header past the listing.
  local headers = ngx.req.get_headers(0)
  local spelling = bind and bind.spelling
  for name in pairs(headers) do
    -- names come lowercased: only one with '_' folds to something else
    local f = find(name, "_", 1, true) and fold(name) or name
    local keep = spelling and spelling[f]
    if f == token.folded or (f ~= name and FRAMING_HEADERS[f]) or (keep and keep ~= name) then
      kong.service.request.clear_header(name)
      headers[name] = nil
    end
  end
  headers[token.lower] = nil
  return headers
end

-- Scratch list of (name, value) pairs for the header digest, reused.
local header_fields = {}

--- hdr_sha256 over the bound headers as the upstream will receive them.
local function bound_headers_sha256(bind, headers)
  local fields, n = header_fields, 0
  local names = bind.names
  for i = 1, #names do
    local name = names[i]
    -- rawget: the table's __index would fold '_' into '-' and answer for
    -- another header.
    local v = rawget(headers, name)
    if type(v) == "table" then
      for j = 1, #v do
        fields[2 * n + 1], fields[2 * n + 2] = name, v[j]
        n = n + 1
      end
    elseif v ~= nil then
      fields[2 * n + 1], fields[2 * n + 2] = name, v
      n = n + 1
    end
  end
  local digest, err = native.headers_sha256(bind.joined, fields, n)
  -- Header values (an Authorization, say) are not kept past the request.
  for i = 1, 2 * n do
    fields[i] = nil
  end
  return digest, err
end

local function fail(conf, status, log_msg, body)
  -- exit() stops the request, so the header never travels; clearing it as
  -- well keeps a client-supplied value out of any later phase's view.
  kong.service.request.clear_header(conf.header)
  kong.log.err(log_msg)
  return kong.response.exit(status, body or GENERIC_500)
end

--- Returns the key bytes the signer needs, or nil and a message that is safe
-- to log (lengths and causes, never the bytes).
local function key_material(alg, conf)
  local min = HMAC_MIN_BYTES[alg]
  if min then
    local secret = conf.secret
    if not is_str(secret) then
      return nil, "config.secret is empty (unresolved vault reference?)"
    end
    if conf.secret_is_base64 then
      secret = ngx.decode_base64(secret)
      if not secret then
        return nil, "config.secret is not valid base64"
      end
    end
    if #secret < min then
      return nil, "config.secret is " .. #secret .. " bytes; " .. alg
                  .. " needs at least " .. min
    end
    return secret
  end

  local pem = conf.private_key
  if not is_str(pem) then
    return nil, "config.private_key is empty (unresolved vault reference?)"
  end
  return pem
end

local function build_signer(conf)
  local alg = conf.algorithm
  local key, err = key_material(alg, conf)
  if not key then
    return nil, err
  end
  local kid = is_str(conf.key_id) and conf.key_id or nil
  local cache_key = native.sha256_b64(alg .. "\0" .. (kid and ("k" .. kid) or "-")
                                      .. "\0" .. key)
  local signer = signer_lru:get(cache_key)
  if signer then
    return signer
  end
  signer, err = native.new_signer(alg, key, kid)
  if not signer then
    return nil, "cannot use the " .. alg .. " key: " .. tostring(err)
  end
  signer_lru:set(cache_key, signer)
  return signer
end

local function get_signer(conf)
  local alg, secret, pem = conf.algorithm, conf.secret, conf.private_key
  local kid, b64 = conf.key_id, conf.secret_is_base64
  local st = conf_state[conf]
  if st and st.alg == alg and st.secret == secret and st.pem == pem
     and st.kid == kid and st.b64 == b64 then
    return st.signer, st.err
  end
  local signer, err = build_signer(conf)
  st = st or {}
  st.alg, st.secret, st.pem, st.kid, st.b64 = alg, secret, pem, kid, b64
  -- A failure is remembered too: a broken key should not be re-parsed on
  -- every request, and any change to the key strings retries.
  st.signer, st.err = signer, err
  conf_state[conf] = st
  return signer, err
end

local function extra_claims_json(conf)
  local map = conf.claims
  if type(map) ~= "table" or next(map) == nil then
    return nil
  end
  local json = extra_json_cache[map]
  if json == nil then
    json = cjson.encode(map) or false
    extra_json_cache[map] = json
  end
  return json or nil
end

-- Path the upstream receives, without query. Kong's router writes it to
-- $upstream_uri before plugins run (and kong.service.request.set_path
-- rewrites it); the query is appended only after the access phase
-- (runloop access.after), and the PDK has no getter.
local function upstream_path()
  local uri = ngx.var.upstream_uri
  if not is_str(uri) then
    return kong.request.get_path()
  end
  local q = find(uri, "?", 1, true)
  if q then
    uri = sub(uri, 1, q - 1)
  end
  return uri
end

--- The body sent upstream, as nginx framed it:
-- "empty" | "memory", body | "file", path (spilled to a temp file) |
-- nil, status, log message
local function request_body(conf)
  local max = conf.max_body_size
  -- $content_length is the Content-Length nginx parsed into
  -- r->headers_in: known headers are looked up by their lowercased name, in
  -- which '_' stays '_', so `Content_Length` never sets it; a duplicate, a
  -- non-number or one beside Transfer-Encoding is refused with 400 before
  -- any plugin runs. After a plugin read or replaced the body it is that
  -- body's length. Not $http_content_length: that is the first header of
  -- any '-'/'_' spelling.
  local declared = tonumber(ngx.var.content_length)
  if declared then
    if declared > max then
      return nil, 413, "request body of " .. declared .. " bytes exceeds max_body_size " .. max
    end
    -- nginx reads no body after Content-Length: 0.
    if declared == 0 then
      return "empty"
    end
  end

  -- Otherwise nginx decides: it reads a chunked body, an HTTP/2 or HTTP/3
  -- body, or nothing, and for a request without a body read_body returns
  -- at once (about 0.07 us, less than one $http_ look-up).
  local body, err = kong.request.get_raw_body()
  if body then
    if body == "" then
      return "empty"
    end
    if #body > max then
      return nil, 413, "request body of " .. #body .. " bytes exceeds max_body_size " .. max
    end
    return "memory", body
  end

  -- nginx spilled the body to a temp file (client_body_buffer_size): it is
  -- hashed in chunks rather than read into memory.
  local path = ngx.req.get_body_file()
  if not path then
    return nil, 500, "cannot read the request body: " .. tostring(err)
  end
  return "file", path
end

--- base64url(SHA-256(body sent upstream)) | nil, status, log message
local function body_sha256(conf)
  local kind, body, msg = request_body(conf)
  if not kind then
    return nil, body, msg
  end
  if kind == "empty" then
    return EMPTY_BODY_SHA256
  end
  if kind == "memory" then
    local digest, derr = native.sha256_b64(body)
    if not digest then
      return nil, 500, "cannot hash the request body: " .. tostring(derr)
    end
    return digest
  end
  local max = conf.max_body_size
  if not file_digest then
    local derr
    file_digest, derr = native.new_digest()
    if not file_digest then
      return nil, 500, "cannot create a digest: " .. tostring(derr)
    end
  end
  local total, ferr, code = file_digest:update_file(body, max)
  if not total then
    file_digest:reset()
    if code == "too_large" then
      return nil, 413, "request body exceeds max_body_size " .. max
    end
    return nil, 500, "cannot hash the request body file: " .. tostring(ferr)
  end
  local digest, derr = file_digest:final()
  if not digest then
    return nil, 500, "cannot hash the request body file: " .. tostring(derr)
  end
  return digest
end

-- What the http-message-signature format shares with the JWT path.
local shared = {
  request_body = request_body,
  upstream_path = upstream_path,
  key_material = key_material,
  bound_names = bound_names,
  fold = fold,
  framing_headers = FRAMING_HEADERS,
  is_str = is_str,
  GENERIC_500 = GENERIC_500,
  TOO_LARGE_413 = TOO_LARGE_413,
}

function UpstreamJwtHandler:access(conf)
  if conf.format == "http-message-signature" then
    return httpsig.access(conf, shared)
  end
  local signer, err = get_signer(conf)
  if not signer then
    return fail(conf, 500, "upstream-jwt: " .. err)
  end

  -- Everything that can yield happens before the shared claims table is
  -- filled.
  local body_digest
  if conf.include_body_digest then
    local status, msg
    body_digest, status, msg = body_sha256(conf)
    if not body_digest then
      return fail(conf, status, "upstream-jwt: " .. msg,
                  status == 413 and TOO_LARGE_413 or GENERIC_500)
    end
  end

  -- Look-alikes go before the bound headers are hashed, so the digest
  -- covers the headers the upstream receives.
  local bind = bound_names(conf)
  local headers = scrub_headers(conf, bind)
  local hdr_digest
  if bind then
    hdr_digest, err = bound_headers_sha256(bind, headers)
    if not hdr_digest then
      return fail(conf, 500, "upstream-jwt: cannot hash the bound headers: " .. tostring(err))
    end
  end

  local c = claims
  c.iss = conf.issuer
  c.now = ngx.time()
  c.ttl = conf.ttl

  local aud = conf.audience
  if not is_str(aud) then
    local service = kong.router.get_service()
    aud = nil
    if service then
      aud = is_str(service.name) and service.name or (is_str(service.host) and service.host or nil)
    end
  end
  c.aud = aud

  c.sub, c.consumer_id, c.consumer_username, c.consumer_custom_id = nil, nil, nil, nil
  if conf.include_consumer then
    local consumer = kong.client.get_consumer()
    if consumer then
      local id = is_str(consumer.id) and consumer.id or nil
      c.sub = id
      c.consumer_id = id
      c.consumer_username = is_str(consumer.username) and consumer.username or nil
      c.consumer_custom_id = is_str(consumer.custom_id) and consumer.custom_id or nil
    end
  end

  c.credential_id = nil
  if conf.include_credential then
    local credential = kong.client.get_credential()
    if credential and is_str(credential.id) then
      c.credential_id = credential.id
    end
  end

  if conf.bind_request then
    -- What kong.request.get_method() and get_raw_query() answer in the
    -- access phase, without their phase checks (each an ngx.ctx look-up):
    -- the method nginx parsed (or a plugin set), and $args.
    c.htm = ngx.req.get_method()
    c.htu = upstream_path()
    c.query = ngx.var.args or ""
  else
    c.htm, c.htu, c.query = nil, nil, nil
  end

  c.body_sha256 = body_digest
  c.hdr_names = bind and bind.joined or nil
  c.hdr_sha256 = hdr_digest
  c.extra_json = extra_claims_json(conf)

  local token
  token, err = signer:sign(c)
  if not token then
    return fail(conf, 500, "upstream-jwt: cannot sign the upstream token: " .. tostring(err))
  end

  local prefix = conf.header_prefix
  if is_str(prefix) then
    token = prefix .. " " .. token
  end
  kong.service.request.set_header(conf.header, token)
end

return UpstreamJwtHandler
