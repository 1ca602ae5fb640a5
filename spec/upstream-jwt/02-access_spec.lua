-- The access handler run inside real nginx requests on Kong's real PDK, with the real native
-- library signing and verifying.
local setup = require "spec.helpers.setup"
local double = require "spec.helpers.pdk_request"
local native = setup.require_native()
local validator = require "spec.helpers.schema"
local schema = require "kong.plugins.upstream-jwt.schema"
local handler = require "kong.plugins.upstream-jwt.handler"
local cjson = require "cjson"

local SHA256_EMPTY = "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU"

local counter = 0
-- A secret nobody else in this file uses, so signer caching from another test
-- cannot hide a bug.
local function fresh_secret(len)
  counter = counter + 1
  local s = ("secret-%04d-"):format(counter)
  return (s .. string.rep("x", len or 32)):sub(1, len or 32)
end

local function make_conf(fields)
  local conf, _, msg = validator.validate(schema, fields)
  assert(conf, msg)
  return conf
end

local BODY = '{"qty": 3, "sku": "A-1"}'

local function base_request(extra)
  local req = {
    method = "POST",
    path = "/orders/7",
    upstream_uri = "/v1/orders/7",
    query = "a=1&b=two",
    headers = { ["Content-Type"] = "application/json", ["Content-Length"] = tostring(#BODY) },
    body = BODY,
    consumer = { id = "4f1c3c1e-0000-4000-8000-000000000001", username = "alice", custom_id = "cust-9" },
    credential = { id = "cred-77" },
    service = { name = "orders", host = "orders.internal" },
  }
  for k, v in pairs(extra or {}) do
    req[k] = v
  end
  return req
end

local function b64url_json(segment)
  local std = segment:gsub("-", "+"):gsub("_", "/")
  std = std .. string.rep("=", (4 - #std % 4) % 4)
  local raw = double.decode_base64(std)
  assert.is_string(raw)
  return cjson.decode(raw)
end

local function header_of(token)
  return b64url_json(token:match("^([^.]+)%."))
end

local function payload_of(token)
  return b64url_json(token:match("^[^.]+%.([^.]+)%."))
end

local function verifier(alg, key, kid)
  local v = assert(native.new_verifier())
  assert(v:add_key(alg, key, kid))
  return v
end

-- Runs the handler, demands success, returns the token and the state.
local function sign(conf, req)
  double.install(req)
  local st = double.run(handler, conf)
  assert(st.exit == nil, "handler exited: " .. double.all_logs())
  local token = st.upstream_headers[conf.header:lower()]
  assert.is_string(token)
  return token, st
end

describe("upstream-jwt handler", function()
  it("declares its version and a priority after auth plugins and request-transformer", function()
    assert.equal("0.1.0", handler.VERSION)
    assert.is_true(handler.PRIORITY < 801)   -- request-transformer
    assert.is_true(handler.PRIORITY < 950)   -- acl
    assert.is_true(handler.PRIORITY < 1030)  -- hmac-auth, the lowest bundled auth plugin
    assert.equal(790, handler.PRIORITY)
  end)

  describe("claims", function()
    it("name the authenticated consumer and bind method, path, query and body", function()
      local secret = fresh_secret()
      local conf = make_conf({ secret = secret })
      local token = sign(conf, base_request({ now = 1700000000 }))

      local json, reason, msg = verifier("HS256", secret):verify(token, {
        issuer = "kong", audience = "orders", now = 1700000010,
        method = "POST", path = "/v1/orders/7", query = "a=1&b=two",
        body_sha256 = native.sha256_b64(BODY),
      })
      assert(json, tostring(reason) .. ": " .. tostring(msg))
      local c = cjson.decode(json)
      assert.equal("kong", c.iss)
      assert.equal("orders", c.aud)
      assert.equal(1700000000, c.iat)
      assert.equal(1700000000, c.nbf)
      assert.equal(1700000060, c.exp)
      assert.is_string(c.jti)
      assert.equal("4f1c3c1e-0000-4000-8000-000000000001", c.sub)
      assert.same({ id = "4f1c3c1e-0000-4000-8000-000000000001", username = "alice",
                    custom_id = "cust-9" }, c.consumer)
      assert.same({ id = "cred-77" }, c.credential)
      assert.equal("POST", c.htm)
      assert.equal("/v1/orders/7", c.htu)
      assert.equal(native.sha256_b64("a=1&b=two"), c.query_sha256)
      assert.equal(native.sha256_b64(BODY), c.body_sha256)
      assert.same({ alg = "HS256", typ = "JWT" }, header_of(token))
    end)

    it("give every request its own jti", function()
      local conf = make_conf({ secret = fresh_secret() })
      local t1 = sign(conf, base_request())
      local t2 = sign(conf, base_request())
      assert.not_equal(payload_of(t1).jti, payload_of(t2).jti)
    end)

    it("carry no identity for an anonymous request", function()
      local conf = make_conf({ secret = fresh_secret() })
      local token = sign(conf, base_request({ consumer = false, credential = false }))
      local c = payload_of(token)
      assert.is_nil(c.sub)
      assert.is_nil(c.consumer)
      assert.is_nil(c.credential)
      assert.equal("POST", c.htm)
    end)

    it("name an anonymous-fallback consumer without a credential", function()
      local conf = make_conf({ secret = fresh_secret() })
      local token = sign(conf, base_request({
        consumer = { id = "anon-id", username = "anonymous", custom_id = ngx.null },
        credential = false,
      }))
      local c = payload_of(token)
      assert.equal("anon-id", c.sub)
      assert.same({ id = "anon-id", username = "anonymous" }, c.consumer)
      assert.is_nil(c.credential)
    end)

    it("leave out consumer and credential when configured to", function()
      local conf = make_conf({ secret = fresh_secret(), include_consumer = false,
                               include_credential = false })
      local c = payload_of((sign(conf, base_request())))
      assert.is_nil(c.sub)
      assert.is_nil(c.consumer)
      assert.is_nil(c.credential)
      conf = make_conf({ secret = fresh_secret(), include_credential = false })
      c = payload_of((sign(conf, base_request())))
      assert.equal("alice", c.consumer.username)
      assert.is_nil(c.credential)
    end)

    it("take the audience from config, else the service name, else its host", function()
      local conf = make_conf({ secret = fresh_secret(), audience = "billing" })
      assert.equal("billing", payload_of((sign(conf, base_request()))).aud)

      conf = make_conf({ secret = fresh_secret() })
      assert.equal("orders", payload_of((sign(conf, base_request()))).aud)
      assert.equal("orders.internal", payload_of((sign(conf, base_request({
        service = { name = ngx.null, host = "orders.internal" } })))).aud)
      assert.is_nil(payload_of((sign(conf, base_request({ service = false })))).aud)
    end)

    it("use the issuer, ttl and static claims from config", function()
      local conf = make_conf({ secret = fresh_secret(), issuer = "edge-gw", ttl = 5,
                               claims = { tenant = "acme", region = "eu-1" } })
      local c = payload_of((sign(conf, base_request({ now = 1000 }))))
      assert.equal("edge-gw", c.iss)
      assert.equal(1005, c.exp)
      assert.equal("acme", c.tenant)
      assert.equal("eu-1", c.region)
    end)

    it("bind the path the upstream receives, without its query", function()
      local conf = make_conf({ secret = fresh_secret() })
      local c = payload_of((sign(conf, base_request({ upstream_uri = "/v2/x%20y?z=1", query = "z=1" }))))
      assert.equal("/v2/x%20y", c.htu)
      assert.equal(native.sha256_b64("z=1"), c.query_sha256)
    end)

    it("hash an absent query and an empty body as the empty string", function()
      local conf = make_conf({ secret = fresh_secret() })
      local c = payload_of((sign(conf, base_request({ method = "GET", query = "", body = "",
                                                       headers = {} }))))
      assert.equal(SHA256_EMPTY, c.query_sha256)
      assert.equal(SHA256_EMPTY, c.body_sha256)
      assert.equal("GET", c.htm)
    end)

    it("skip the request binding and the body when configured to", function()
      local conf = make_conf({ secret = fresh_secret(), bind_request = false,
                               include_body_digest = false })
      local token, st = sign(conf, base_request())
      local c = payload_of(token)
      assert.is_nil(c.htm)
      assert.is_nil(c.htu)
      assert.is_nil(c.query_sha256)
      assert.is_nil(c.body_sha256)
      assert.equal(0, st.calls.get_raw_body)
    end)
  end)

  describe("header", function()
    it("replaces a client-supplied header of the same name", function()
      local secret = fresh_secret()
      local conf = make_conf({ secret = secret })
      local forged = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZG1pbiJ9."
      local req = base_request()
      req.headers["X-Upstream-JWT"] = forged
      local token = sign(conf, req)
      assert.not_equal(forged, token)
      assert(verifier("HS256", secret):verify(token, { issuer = "kong" }))
    end)

    it("clears every spelling of the header name a client sent", function()
      local secret = fresh_secret()
      local conf = make_conf({ secret = secret })
      local req = base_request()
      req.headers["x_upstream_jwt"] = "forged-1"
      req.headers["X-UPSTREAM-JWT"] = "forged-2"
      local token, st = sign(conf, req)
      assert.is_nil(st.upstream_headers["x_upstream_jwt"])
      assert.equal(token, st.upstream_headers["x-upstream-jwt"])
      assert(verifier("HS256", secret):verify(token, { issuer = "kong" }))
    end)

    it("removes only what is spelled like it or a framing header, without listing the headers", function()
      -- Without bind_headers the names are read in place from nginx's header
      -- list (no ngx.req.get_headers table), every request.
      local conf = make_conf({ secret = fresh_secret() })
      local _, st = sign(conf, base_request({ method = "GET", body = "", headers = {} }))
      assert.equal(0, st.calls.get_headers)
      assert.equal(0, st.calls.clear_header)
      _, st = sign(conf, base_request())
      assert.equal(0, st.calls.get_headers)
      assert.equal(0, st.calls.clear_header)
      assert.equal(tostring(#BODY), st.upstream_headers["content-length"])
      local req = base_request()
      req.headers["X_Upstream_Jwt"] = "forged"
      req.headers["x-UPSTREAM-jwt"] = "forged-2"
      req.headers["X-Upstream_JWT-"] = "not a spelling of it"
      local token
      token, st = sign(conf, req)
      assert.equal(0, st.calls.get_headers)
      assert.equal(2, st.calls.clear_header)
      assert.is_nil(st.upstream_headers["x_upstream_jwt"])
      assert.equal(token, st.upstream_headers["x-upstream-jwt"])
      assert.equal("not a spelling of it", st.upstream_headers["x-upstream_jwt-"])
    end)

    it("writes the configured prefix and header name", function()
      local secret = fresh_secret()
      local conf = make_conf({ secret = secret, header = "Authorization", header_prefix = "Bearer" })
      local req = base_request()
      req.headers.Authorization = "Basic YWxpY2U6cHc="
      local value, st = sign(conf, req)
      assert.is_nil(st.upstream_headers["x-upstream-jwt"])
      local token = value:match("^Bearer (%S+)$")
      assert.is_string(token)
      assert(verifier("HS256", secret):verify(token, { issuer = "kong" }))
    end)
  end)

  describe("algorithms", function()
    for _, case in ipairs({ { "HS384", 48 }, { "HS512", 64 } }) do
      it("signs with " .. case[1], function()
        local secret = fresh_secret(case[2])
        local conf = make_conf({ algorithm = case[1], secret = secret, key_id = "hmac-1" })
        local token = sign(conf, base_request())
        assert.same({ alg = case[1], typ = "JWT", kid = "hmac-1" }, header_of(token))
        assert(verifier(case[1], secret, "hmac-1"):verify(token, { issuer = "kong" }))
      end)
    end

    it("decodes a base64 secret before use", function()
      local raw = string.rep("\0\255\1\254", 8) -- 32 bytes, not printable
      local conf = make_conf({ secret = double.encode_base64(raw), secret_is_base64 = true })
      local token = sign(conf, base_request())
      assert(verifier("HS256", raw):verify(token, { issuer = "kong" }))
    end)

    for _, case in ipairs({ { "RS256", "rsa" }, { "PS256", "rsa" }, { "ES256", "ec" },
                            { "EdDSA", "ed25519" } }) do
      it("signs with " .. case[1] .. " and a PEM private key", function()
        local pem = setup.private_key(case[2])
        local conf = make_conf({ algorithm = case[1], private_key = pem, key_id = "gw-2026" })
        local token = sign(conf, base_request())
        assert.same({ alg = case[1], typ = "JWT", kid = "gw-2026" }, header_of(token))
        local json, reason = verifier(case[1], setup.public_key(pem), "gw-2026"):verify(token, {
          issuer = "kong", audience = "orders", body_sha256 = native.sha256_b64(BODY) })
        assert(json, reason)
      end)
    end
  end)

  describe("fails closed", function()
    local function expect_refusal(conf, req, status, log_pattern, must_not_leak)
      req = req or base_request()
      req.headers["X-Upstream-JWT"] = "client-forged-token"
      double.install(req)
      local st = double.run(handler, conf)
      assert.is_table(st.exit, "request was not stopped")
      assert.equal(status, st.exit.status)
      assert.is_string(st.exit.body.message)
      assert.is_nil(st.upstream_headers[conf.header:lower()], "a token header reached upstream")
      local logs = double.all_logs()
      assert.equal("err", st.logs[1] and st.logs[1].level)
      assert.matches(log_pattern, logs, 1, true)
      for _, secret in ipairs(must_not_leak or {}) do
        assert.not_matches(secret, logs, 1, true)
        assert.not_matches(secret, cjson.encode(st.exit.body), 1, true)
      end
      return st
    end

    it("on an empty secret (an unresolved vault reference)", function()
      local conf = make_conf({ secret = "{vault://env/upstream-jwt-secret}" })
      conf.secret = ""
      expect_refusal(conf, nil, 500, "config.secret is empty")
    end)

    it("on a secret too short for the algorithm", function()
      for alg, min in pairs({ HS256 = 32, HS384 = 48, HS512 = 64 }) do
        local conf = make_conf({ algorithm = alg, secret = "{vault://env/s}" })
        local short = fresh_secret(min - 1)
        conf.secret = short
        expect_refusal(conf, nil, 500, ("is %d bytes; %s needs at least %d"):format(min - 1, alg, min),
                       { short })
      end
    end)

    it("on a secret that is not valid base64", function()
      local conf = make_conf({ secret = "{vault://env/s}", secret_is_base64 = true })
      local bad = "#not*base64#" .. fresh_secret()
      conf.secret = bad
      expect_refusal(conf, nil, 500, "not valid base64", { bad })
    end)

    it("on a PEM that does not parse", function()
      local conf = make_conf({ algorithm = "RS256", private_key = "{vault://env/pem}" })
      local bad = "-----BEGIN PRIVATE KEY-----\nTUlJRXZRSUJBREFOQmdrcWhraUc5dzBCQVFFRg==\n"
                  .. "-----END PRIVATE KEY-----\n"
      conf.private_key = bad
      expect_refusal(conf, nil, 500, "cannot use the RS256 key", { "TUlJRXZRSUJBREFOQmdrcWhraUc5" })
    end)

    -- The schema refuses such a key when it is configured literally; one a vault reference
    -- resolves to reaches the handler.
    it("on a key of the wrong type or strength", function()
      local ec = setup.private_key("ec")
      local conf = make_conf({ algorithm = "RS256", private_key = "{vault://env/pem}" })
      conf.private_key = ec
      expect_refusal(conf, nil, 500, "cannot use the RS256 key", { ec:match("\n(%S+)\n") })
      local weak = setup.private_key("rsa1024")
      conf = make_conf({ algorithm = "RS256", private_key = "{vault://env/pem}" })
      conf.private_key = weak
      expect_refusal(conf, nil, 500, "cannot use the RS256 key", { weak:match("\n(%S+)\n") })
    end)

    it("on an empty private key", function()
      local conf = make_conf({ algorithm = "ES256", private_key = "{vault://env/pem}" })
      conf.private_key = ""
      expect_refusal(conf, nil, 500, "config.private_key is empty")
    end)

    it("keeps failing, without re-parsing, until the key changes", function()
      local conf = make_conf({ algorithm = "ES256", private_key = "{vault://env/pem}" })
      conf.private_key = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
      local s = spy.on(native, "new_signer")
      expect_refusal(conf, nil, 500, "cannot use the ES256 key")
      expect_refusal(conf, nil, 500, "cannot use the ES256 key")
      assert.spy(s).was.called(1)
      conf.private_key = setup.private_key("ec", true)
      sign(conf, base_request())
      assert.spy(s).was.called(2)
      native.new_signer:revert()
    end)

    it("when the request body file cannot be read", function()
      local conf = make_conf({ secret = fresh_secret() })
      local req = base_request({ body = false, body_file = "/nonexistent/upstream-jwt/0000000001" })
      req.headers["Content-Length"] = "100000"
      expect_refusal(conf, req, 500, "cannot hash the request body file")
    end)
  end)

  describe("request bodies", function()
    local tmp_files = {}
    local function spill(content)
      local path = os.tmpname()
      setup.write_file(path, content)
      tmp_files[#tmp_files + 1] = path
      return path
    end
    teardown(function()
      for _, p in ipairs(tmp_files) do
        os.remove(p)
      end
    end)

    local function pseudo_random(n)
      local parts, x = {}, 12345
      for i = 1, n do
        x = (x * 1103515245 + 12345) % 2147483648
        parts[i] = string.char(math.floor(x / 65536) % 256)
      end
      return table.concat(parts)
    end

    for _, size in ipairs({ 8193, 65536, 65537, 300000 }) do
      it("hashes a body of " .. size .. " bytes spilled to a temp file", function()
        local secret = fresh_secret()
        local conf = make_conf({ secret = secret })
        local path = spill(pseudo_random(size))
        local req = base_request({ body = false, body_file = path })
        req.headers["Content-Length"] = tostring(size)
        local token = sign(conf, req)
        local expected = setup.py_sha256_b64(path)
        assert.equal(expected, payload_of(token).body_sha256)
        assert.not_equal(SHA256_EMPTY, expected)
        assert(verifier("HS256", secret):verify(token, { body_sha256 = expected }))
        local _, reason = verifier("HS256", secret):verify(token, { body_sha256 = SHA256_EMPTY })
        assert.equal("body_mismatch", reason)
      end)
    end

    it("refuses with 413, before reading, a declared length above max_body_size", function()
      local conf = make_conf({ secret = fresh_secret(), max_body_size = 1000 })
      local req = base_request({ body = string.rep("b", 2000) })
      req.headers["Content-Length"] = "2000"
      double.install(req)
      local st = double.run(handler, conf)
      assert.equal(413, st.exit.status)
      assert.equal(0, st.calls.get_raw_body)
      assert.is_nil(st.upstream_headers["x-upstream-jwt"])
      assert.matches("exceeds max_body_size 1000", double.all_logs(), 1, true)
    end)

    it("refuses with 413 an undeclared (chunked) in-memory body above max_body_size", function()
      local conf = make_conf({ secret = fresh_secret(), max_body_size = 1000 })
      local req = base_request({ body = string.rep("b", 1001), headers = { ["Transfer-Encoding"] = "chunked" } })
      double.install(req)
      local st = double.run(handler, conf)
      assert.equal(413, st.exit.status)
      assert.is_nil(st.upstream_headers["x-upstream-jwt"])
    end)

    it("refuses with 413 a spilled body above max_body_size", function()
      local conf = make_conf({ secret = fresh_secret(), max_body_size = 100000 })
      local req = base_request({ body = false, body_file = spill(pseudo_random(200000)),
                                 headers = { ["Transfer-Encoding"] = "chunked" } })
      double.install(req)
      local st = double.run(handler, conf)
      assert.equal(413, st.exit.status)
      assert.is_nil(st.upstream_headers["x-upstream-jwt"])
      -- the shared digest was reset: the next spilled body hashes correctly
      local path = spill(pseudo_random(70000))
      local ok_req = base_request({ body = false, body_file = path,
                                    headers = { ["Content-Length"] = "70000" } })
      local token = sign(conf, ok_req)
      assert.equal(setup.py_sha256_b64(path), payload_of(token).body_sha256)
    end)

    -- A request with Content-Length: 0 is signed with the digest of "" and
    -- not read; for every other one nginx's read decides (an HTTP/1.x
    -- request with neither header reads as "" at once).
    for _, case in ipairs({
      { "an HTTP/1.1 request with neither Content-Length nor Transfer-Encoding",
        { method = "GET", body = "", headers = {} } },
      { "an HTTP/1.0 request with neither Content-Length nor Transfer-Encoding",
        { method = "GET", body = "", headers = {}, http_version = 1.0 } },
    }) do
      it("asks nginx for the body of " .. case[1] .. " and hashes \"\"", function()
        local secret = fresh_secret()
        local conf = make_conf({ secret = secret })
        local token, st = sign(conf, base_request(case[2]))
        assert.equal(1, st.calls.get_raw_body)
        assert.equal(0, st.calls.get_body_file)
        assert.equal(SHA256_EMPTY, payload_of(token).body_sha256)
        assert(verifier("HS256", secret):verify(token, { body_sha256 = SHA256_EMPTY }))
      end)
    end

    local no_body_cases = {
      { "a request with Content-Length: 0",
        { body = "", headers = { ["Content-Length"] = "0" } } },
      { "an HTTP/2 request with Content-Length: 0",
        { body = "", headers = { ["Content-Length"] = "0" }, http_version = 2 } },
    }
    for _, case in ipairs(no_body_cases) do
      it("does not read " .. case[1], function()
        local secret = fresh_secret()
        local conf = make_conf({ secret = secret })
        local token, st = sign(conf, base_request(case[2]))
        assert.equal(0, st.calls.get_raw_body)
        assert.equal(SHA256_EMPTY, payload_of(token).body_sha256)
        assert(verifier("HS256", secret):verify(token, { body_sha256 = SHA256_EMPTY }))
      end)
    end

    local body_cases = {
      { "a chunked request", { headers = { ["Transfer-Encoding"] = "chunked" } } },
      { "an HTTP/2 request without Content-Length", { headers = {}, http_version = 2 } },
      { "an HTTP/3 request without Content-Length", { headers = {}, http_version = 3 } },
      { "a request of an unknown HTTP version without Content-Length",
        { headers = {}, http_version = false } },
    }
    for _, case in ipairs(body_cases) do
      it("reads and hashes the body of " .. case[1], function()
        local conf = make_conf({ secret = fresh_secret() })
        local token, st = sign(conf, base_request(case[2]))
        assert.equal(1, st.calls.get_raw_body)
        assert.equal(native.sha256_b64(BODY), payload_of(token).body_sha256)
      end)
    end

    -- nginx >= 1.21.1 (in every OpenResty that Kong 3.4+ ships) answers 400 to these itself,
    -- so the plugin never sees them.
    for _, case in ipairs({
      { "Content-Length: 0 with Transfer-Encoding", { ["Content-Length"] = "0", ["Transfer-Encoding"] = "chunked" } },
      { "a Content-Length that is not a number", { ["Content-Length"] = "zero" } },
    }) do
      it("is never run for a request with " .. case[1], function()
        double.install(base_request({ body = "", headers = case[2] }))
        assert.has_error(function() double.run(handler, make_conf({ secret = fresh_secret() })) end)
        assert.equal(400, double.state().status)
      end)
    end

    it("accepts a body of exactly max_body_size", function()
      local conf = make_conf({ secret = fresh_secret(), max_body_size = 1000 })
      local body = string.rep("c", 1000)
      local token = sign(conf, base_request({ body = body, headers = { ["Content-Length"] = "1000" } }))
      assert.equal(native.sha256_b64(body), payload_of(token).body_sha256)
    end)
  end)

  describe("signer cache", function()
    it("builds one signer per key, shared by conf tables with the same key", function()
      local secret = fresh_secret()
      local s = spy.on(native, "new_signer")
      local conf = make_conf({ secret = secret })
      sign(conf, base_request())
      sign(conf, base_request())
      assert.spy(s).was.called(1)
      sign(make_conf({ secret = secret }), base_request())
      assert.spy(s).was.called(1)
      sign(make_conf({ secret = secret, key_id = "other" }), base_request())
      assert.spy(s).was.called(2)
      native.new_signer:revert()
    end)

    it("signs with a secret rotated in place in the same conf table", function()
      local old, new = fresh_secret(), fresh_secret()
      local conf = make_conf({ secret = old })
      local t1 = sign(conf, base_request())
      assert(verifier("HS256", old):verify(t1, { issuer = "kong" }))

      conf.secret = new -- what Kong's vault rotation does
      local t2 = sign(conf, base_request())
      assert(verifier("HS256", new):verify(t2, { issuer = "kong" }))
      local json, reason = verifier("HS256", old):verify(t2, { issuer = "kong" })
      assert.is_nil(json)
      assert.equal("bad_signature", reason)
    end)

    it("follows a rotated private key and key id", function()
      local rsa, ec = setup.private_key("rsa"), setup.private_key("ec")
      local conf = make_conf({ algorithm = "RS256", private_key = rsa, key_id = "a" })
      local t1 = sign(conf, base_request())
      assert(verifier("RS256", setup.public_key(rsa), "a"):verify(t1, {}))
      conf.algorithm, conf.private_key, conf.key_id = "ES256", ec, "b"
      local t2 = sign(conf, base_request())
      assert.same({ alg = "ES256", typ = "JWT", kid = "b" }, header_of(t2))
      assert(verifier("ES256", setup.public_key(ec), "b"):verify(t2, {}))
    end)
  end)
end)
