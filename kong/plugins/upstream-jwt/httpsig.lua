-- upstream-jwt, `format: http-message-signature`: signs the request sent
-- upstream with RFC 9421 HTTP Message Signatures instead of a JWT.
--
-- The gateway adds, after clearing any client value of each (every '-'/'_'
-- spelling; the JWT format's `header` is cleared too):
--   Content-Digest           RFC 9530 sha-256 of the exact body sent upstream
--   X-Consumer-ID, X-Consumer-Username, X-Credential-Identifier
--                            the authenticated consumer / credential, when any
--   Signature-Input, Signature
-- covering @method, @target-uri (as the upstream receives it), @authority,
-- content-digest, content-type (when the request has one), the consumer
-- headers that are present, and the bind_headers present, with
-- created = now, expires = created + ttl, a random nonce, keyid = key_id,
-- alg, and tag = signature_tag when set.

local native = require "kong.plugins.upstream-jwt.native"
local lrucache = require "resty.lrucache"

local type = type
local concat = table.concat
local find = string.find
local byte = string.byte
local setmetatable = setmetatable

local QUESTION_MARK = 63

local M = {}

-- RFC 9421 registry names for the plugin's algorithm setting. HS384 and
-- HS512 have no registered HTTP signature algorithm (the schema refuses
-- them with this format); PS256 keys sign rsa-pss-sha512, the registry's
-- only RSA-PSS algorithm.
M.ALGORITHMS = {
  HS256 = "hmac-sha256",
  RS256 = "rsa-v1_5-sha256",
  PS256 = "rsa-pss-sha512",
  ES256 = "ecdsa-p256-sha256",
  EdDSA = "ed25519",
}

local CONSUMER_HEADERS = { "X-Consumer-ID", "X-Consumer-Username", "X-Credential-Identifier" }
-- Headers this format writes: a client's value (any spelling) never
-- reaches the upstream.
local OWNED = {
  ["content-digest"] = true, ["signature"] = true, ["signature-input"] = true,
  ["x-consumer-id"] = true, ["x-consumer-username"] = true, ["x-credential-identifier"] = true,
}

local conf_state = setmetatable({}, { __mode = "k" })
local signer_lru = assert(lrucache.new(128))
local content_digest -- one per worker; hashing does not yield

-- A byte an RFC 9421 @target-uri cannot carry: a space, a control, '#' (a
-- target URI has no fragment) or a byte outside ASCII. Kong percent-encodes
-- the path it forwards, but forwards the query exactly as the client sent it.
local UNSIGNABLE_BYTE = "[%z\1-\32#\127-\255]"

local BAD_URI_400 = {
  message = "Bad request: the request URI has a byte that must be percent-encoded (RFC 3986)",
}

local function fail(status, log_msg, body, shared)
  kong.service.request.clear_header("Signature")
  kong.service.request.clear_header("Signature-Input")
  kong.log.err(log_msg)
  return kong.response.exit(status, body or shared.GENERIC_500)
end

local function get_signer(conf, shared)
  local alg, secret, pem, kid, b64 = conf.algorithm, conf.secret, conf.private_key, conf.key_id,
                                     conf.secret_is_base64
  local st = conf_state[conf]
  if st and st.alg == alg and st.secret == secret and st.pem == pem and st.kid == kid
     and st.b64 == b64 then
    return st.signer, st.err
  end
  local signer, err
  local hs_alg = M.ALGORITHMS[alg]
  if not hs_alg then
    err = alg .. " has no RFC 9421 algorithm"
  else
    local key
    key, err = shared.key_material(alg, conf)
    if key then
      kid = shared.is_str(kid) and kid or nil
      local cache_key = native.sha256_b64("httpsig\0" .. hs_alg .. "\0"
                                          .. (kid and ("k" .. kid) or "-") .. "\0" .. key)
      signer = signer_lru:get(cache_key)
      if not signer then
        signer, err = native.new_httpsig_signer(hs_alg, key, kid)
        if signer then
          signer_lru:set(cache_key, signer)
        else
          err = "cannot use the " .. alg .. " key: " .. tostring(err)
        end
      end
    end
  end
  st = st or {}
  st.alg, st.secret, st.pem, st.kid, st.b64 = alg, secret, pem, conf.key_id, b64
  st.signer, st.err = signer, err
  conf_state[conf] = st
  return signer, err
end

--- Content-Digest of the body sent upstream | nil, status, log message
local function body_content_digest(conf, shared)
  if not content_digest then
    local err
    content_digest, err = native.new_content_digest("sha-256")
    if not content_digest then
      return nil, 500, "cannot create a content digest: " .. tostring(err)
    end
  end
  local kind, body, msg = shared.request_body(conf)
  if not kind then
    return nil, body, msg
  end
  if kind == "memory" then
    local ok, err = content_digest:update(body)
    if not ok then
      return nil, 500, "cannot hash the request body: " .. tostring(err)
    end
  elseif kind == "file" then
    local max = conf.max_body_size
    local total, err, code = content_digest:update_file(body, max)
    if not total then
      content_digest:final() -- start over for the next request
      if code == "too_large" then
        return nil, 413, "request body exceeds max_body_size " .. max
      end
      return nil, 500, "cannot hash the request body file: " .. tostring(err)
    end
  end
  local field, err = content_digest:final()
  if not field then
    return nil, 500, "cannot hash the request body: " .. tostring(err)
  end
  return field
end

--- Clears every client spelling of the headers this format writes, the
-- underscore spellings of framing headers, and every spelling of a bound
-- header but the configured one (a folding server would read them as the
-- real ones). Returns the request headers as the upstream will receive them
-- (lowercased names).
local function scrub(conf, bind, shared)
  local headers = ngx.req.get_headers(0)
  local fold = shared.fold
  -- The JWT format's header is not written in this format, so a client's
  -- value of it must not reach a service that still reads it.
  local token_header = fold(conf.header)
  local spelling = bind and bind.spelling
  for name in pairs(headers) do
    local f = fold(name)
    local keep = spelling and spelling[f]
    local lookalike = (f ~= name and shared.framing_headers[f]) or (keep and keep ~= name)
    if OWNED[f] or f == token_header or lookalike then
      kong.service.request.clear_header(name)
      headers[name] = nil
    end
  end
  return headers
end

--- nil, or why the upstream path or query cannot be signed: which part, the
-- byte and its offset (never the value, which may carry a client's secret).
local function unsignable(part, v)
  local at = find(v, UNSIGNABLE_BYTE)
  if at then
    return ("the upstream %s has byte 0x%02X at offset %d"):format(part, byte(v, at), at - 1)
  end
  return nil
end

-- The target URI the upstream receives: its scheme, the Host Kong sends
-- (with preserve_host the client's; otherwise the service host, with the
-- port unless it is the scheme's default), and the upstream path and query.
-- nil when the authority is unknown; nil, why when the path or query has a
-- byte no @target-uri can carry.
local function target_uri(shared)
  local var = ngx.var
  local scheme = var.upstream_scheme
  if not shared.is_str(scheme) then
    scheme = "http"
  end
  local authority = var.upstream_host
  if not shared.is_str(authority) then
    local bd = ngx.ctx.balancer_data
    local service = kong.router.get_service()
    local host = bd and bd.hostname or (service and service.host)
    local port = bd and bd.port or (service and service.port)
    if not host then
      return nil
    end
    authority = host
    if port and not ((scheme == "http" and port == 80) or (scheme == "https" and port == 443)) then
      authority = host .. ":" .. port
    end
  end
  local path = shared.upstream_path()
  local query = kong.request.get_raw_query()
  local why = unsignable("path", path) or unsignable("query", query)
  if why then
    return nil, why
  end
  local uri = scheme .. "://" .. authority .. path
  -- Kong's runloop (access.after) keeps a bare '?' in the upstream URI, which
  -- nginx alone would drop: the signed URI must be the one the upstream gets.
  if query ~= "" or var.is_args == "?" or byte(var.request_uri, -1) == QUESTION_MARK then
    uri = uri .. "?" .. query
  end
  return uri
end

-- Reused per request: the (name, value) pairs handed to the signer and the
-- covered component identifiers.
local fields, covered = {}, {}

local function add_field(n, name, value)
  fields[2 * n + 1], fields[2 * n + 2] = name, value
  covered[#covered + 1] = '"' .. name .. '"'
  return n + 1
end

function M.access(conf, shared)
  local signer, err = get_signer(conf, shared)
  if not signer then
    return fail(500, "upstream-jwt: " .. err, nil, shared)
  end

  -- Before the body is read: a request the upstream would receive with a
  -- URI that is no RFC 9421 @target-uri (the core and our verifiers refuse
  -- it, Node's HTTP server answers its request line with 400), sent with a
  -- request line RFC 9112 3.2 calls invalid, is the client's to fix: 400,
  -- never a 500 and never forwarded unsigned.
  local uri, why = target_uri(shared)
  if not uri then
    if why then
      return fail(400, "upstream-jwt: " .. why .. ", which an RFC 9421 @target-uri cannot carry;"
                       .. " refused with 400 (the client must percent-encode it)", BAD_URI_400, shared)
    end
    return fail(500, "upstream-jwt: cannot tell the upstream's authority", nil, shared)
  end

  local digest, status, msg = body_content_digest(conf, shared)
  if not digest then
    return fail(status, "upstream-jwt: " .. msg,
                status == 413 and shared.TOO_LARGE_413 or shared.GENERIC_500, shared)
  end

  local b = shared.bound_names(conf)
  local headers = scrub(conf, b, shared)
  local set_header = kong.service.request.set_header
  set_header("Content-Digest", digest)

  for i = #covered, 1, -1 do
    covered[i] = nil
  end
  covered[1], covered[2], covered[3] = '"@method"', '"@target-uri"', '"@authority"'
  local n = add_field(0, "content-digest", digest)

  local ctype = rawget(headers, "content-type")
  if type(ctype) == "table" then
    ctype = concat(ctype, ", ")
  end
  if ctype then
    n = add_field(n, "content-type", ctype)
  end

  local consumer = kong.client.get_consumer()
  local credential = kong.client.get_credential()
  local values = {
    consumer and shared.is_str(consumer.id) and consumer.id or nil,
    consumer and shared.is_str(consumer.username) and consumer.username or nil,
    credential and shared.is_str(credential.id) and credential.id or nil,
  }
  for i = 1, 3 do
    if values[i] then
      set_header(CONSUMER_HEADERS[i], values[i])
      n = add_field(n, CONSUMER_HEADERS[i]:lower(), values[i])
    end
  end

  if b then
    for _, name in ipairs(b.names) do
      local v = rawget(headers, name)
      if not OWNED[name] and name ~= "content-type" and v ~= nil then
        if type(v) == "table" then
          for j = 1, #v do
            fields[2 * n + 1], fields[2 * n + 2] = name, v[j]
            n = n + 1
          end
        else
          fields[2 * n + 1], fields[2 * n + 2] = name, v
          n = n + 1
        end
        covered[#covered + 1] = '"' .. name .. '"'
      end
    end
  end

  local now = ngx.time()
  local input, signature = signer:sign(kong.request.get_method(), uri, fields, n, {
    label = conf.signature_label,
    components = "(" .. concat(covered, " ") .. ")",
    created = now,
    expires = now + conf.ttl,
    random_nonce = true,
    tag = shared.is_str(conf.signature_tag) and conf.signature_tag or nil,
    include_alg = true,
  })
  -- Header values (an Authorization, say) are not kept past the request.
  for i = 1, 2 * n do
    fields[i] = nil
  end
  if not input then
    return fail(500, "upstream-jwt: cannot sign the request: " .. tostring(signature), nil, shared)
  end
  set_header("Signature-Input", input)
  set_header("Signature", signature)
end

return M
