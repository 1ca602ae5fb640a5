-- upstream-oauth2 token client: cache keys, the token request of each client authentication
-- method, strict parsing of the answer, expiry arithmetic, and transport errors. resty.http is a
-- fake at the token endpoint's boundary, so a test sees exactly what the client was asked to
-- send (timeouts, TLS verification) and controls the answer; the clock is the double's.
local helpers = require "spec.helpers.setup"
local D = require "spec.helpers.upstream_oauth2_double"
local cjson = require "cjson"

local SECRET = "s3cr:et with space&more-and-at-least-32-bytes!!"

local function conf(overrides)
  local c = {
    token_endpoint = "https://idp.example.com/oauth2/token",
    client_id = "gateway client",
    client_secret = SECRET,
    client_auth = "client_secret_basic",
    client_assertion_ttl = 60,
    connect_timeout = 1000, send_timeout = 1000, read_timeout = 2000,
    ssl_verify = true,
    refresh_before = 30,
    default_expires_in = 300,
    purge_on_upstream_status = { 401 },
    header = "Authorization",
    consumer_authorization = "move",
    consumer_authorization_header = "X-Consumer-Authorization",
  }
  for k, v in pairs(overrides or {}) do
    c[k] = v
  end
  return c
end

local function form_of(body)
  local out = {}
  for pair in body:gmatch("[^&]+") do
    local k, v = pair:match("^([^=]*)=(.*)$")
    v = v:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end)
    if out[k] then
      out[k] = type(out[k]) == "table" and out[k] or { out[k] }
      table.insert(out[k], v)
    else
      out[k] = v
    end
  end
  return out
end

local function b64url_decode(s)
  s = s:gsub("-", "+"):gsub("_", "/")
  s = s .. string.rep("=", (4 - #s % 4) % 4)
  local B = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
  local bits = s:gsub("=", ""):gsub(".", function(c)
    local n, r = B:find(c, 1, true) - 1, ""
    for i = 6, 1, -1 do
      r = r .. (n % 2 ^ i - n % 2 ^ (i - 1) > 0 and "1" or "0")
    end
    return r
  end)
  return (bits:gsub("%d%d%d?%d?%d?%d?%d?%d?", function(x)
    if #x ~= 8 then
      return ""
    end
    return string.char(tonumber(x, 2))
  end))
end

describe("upstream-oauth2 token client", function()
  local native, client
  local http_calls, http_reply

  setup(function()
    native = helpers.require_native()
  end)

  after_each(function()
    D.uninstall()
  end)

  before_each(function()
    D.install()
    http_calls = {}
    http_reply = function()
      return { status = 200, body = '{"access_token":"tok-1","token_type":"Bearer",'
                                    .. '"expires_in":120}' }
    end
    package.loaded["resty.http"] = {
      new = function()
        local h = {}
        function h:set_timeouts(c, s, r)
          self.timeouts = { c, s, r }
        end
        function h:request_uri(uri, params)
          table.insert(http_calls, { uri = uri, params = params, timeouts = self.timeouts })
          return http_reply(uri, params)
        end
        return h
      end,
    }
    client = D.load("kong.plugins.upstream-oauth2.token_client")
  end)

  describe("request_key", function()
    local base_key

    before_each(function()
      base_key = client.request_key(conf({
        scopes = { "a", "b" }, audience = { "aud" }, resource = { "https://r1/" },
        token_post_args = { x = "1", y = "2" }, token_headers = { ["X-H"] = "v" },
      }))
    end)

    local function key_with(overrides)
      local c = conf({
        scopes = { "a", "b" }, audience = { "aud" }, resource = { "https://r1/" },
        token_post_args = { x = "1", y = "2" }, token_headers = { ["X-H"] = "v" },
      })
      for k, v in pairs(overrides) do
        c[k] = v
      end
      return client.request_key(c)
    end

    it("is a stable 43-character SHA-256 digest", function()
      assert.equal(43, #base_key)
      assert.equal(base_key, key_with({}))
      assert.is_nil(base_key:find(SECRET, 1, true))
    end)

    it("changes with every field of the token request", function()
      local variants = {
        { token_endpoint = "https://idp.example.com/oauth2/token2" },
        { client_id = "other" },
        { client_secret = SECRET .. "x" },
        { client_auth = "client_secret_post" },
        { scopes = { "a" } },
        { scopes = { "b", "a" } },
        { scopes = { "a b" } },
        { audience = { "aud2" } },
        { audience = { "aud", "aud2" } },
        { audience = ngx.null },
        { grant_type = "urn:ietf:params:oauth:grant-type:token-exchange",
          subject_token_source = "consumer_bearer" },
        { grant_type = "urn:ietf:params:oauth:grant-type:token-exchange",
          subject_token_source = "upstream_jwt" },
        { resource = { "https://r2/" } },
        { resource = { "https://r1/", "https://r2/" } },
        { token_post_args = { x = "1", y = "3" } },
        { token_post_args = { x = "1" } },
        { token_post_args = { x = "1", y = "2", z = "" } },
        { token_headers = { ["X-H"] = "w" } },
        { token_headers = { ["X-I"] = "v" } },
      }
      local seen = { [base_key] = "base" }
      for i, v in ipairs(variants) do
        local k = key_with(v)
        assert.is_nil(seen[k], "variant " .. i .. " collides with " .. tostring(seen[k]))
        seen[k] = i
      end
    end)

    it("cannot be forged by moving bytes between fields", function()
      assert.are_not.equal(key_with({ client_id = "ab", audience = { "c" } }),
                           key_with({ client_id = "a", audience = { "bc" } }))
      assert.are_not.equal(key_with({ audience = { "a", "b" } }), key_with({ audience = { "a b" } }))
      assert.are_not.equal(key_with({ token_post_args = { a = "b=c" } }),
                           key_with({ token_post_args = { ["a=b"] = "c" } }))
    end)

    it("covers the assertion settings for the JWT methods", function()
      local jwt = { client_auth = "client_secret_jwt" }
      local k1 = key_with(jwt)
      assert.are_not.equal(k1, key_with({ client_auth = "client_secret_jwt", key_id = "k2" }))
      assert.are_not.equal(k1, key_with({ client_auth = "client_secret_jwt",
                                          client_assertion_audience = "https://issuer" }))
      assert.are_not.equal(k1, key_with({ client_auth = "client_secret_jwt",
                                          client_assertion_ttl = 30 }))
      local pk = { client_auth = "private_key_jwt", private_key = "PEM-A" }
      assert.are_not.equal(key_with(pk), key_with({ client_auth = "private_key_jwt",
                                                    private_key = "PEM-B" }))
      assert.are_not.equal(key_with(pk), key_with({ client_auth = "private_key_jwt",
                                                    private_key = "PEM-A",
                                                    client_assertion_algorithm = "ES256" }))
    end)

    it("ignores fields that do not change the token request", function()
      assert.equal(base_key, key_with({
        connect_timeout = 9, send_timeout = 9, read_timeout = 9, ssl_verify = false,
        refresh_before = 1, default_expires_in = 7, purge_on_upstream_status = { 403 },
        header = "X-Token", consumer_authorization = "keep",
        consumer_authorization_header = "X-Other",
        -- only the JWT methods use these
        key_id = "k9", client_assertion_ttl = 5, client_assertion_audience = "x",
      }))
    end)

    it("does not depend on map iteration order or header name case", function()
      assert.equal(base_key, key_with({ token_post_args = { y = "2", x = "1" } }))
      assert.equal(base_key, key_with({ token_headers = { ["x-h"] = "v" } }))
    end)
  end)

  describe("build_request", function()
    it("client_secret_basic form-encodes id and secret before base64 (RFC 6749 §2.3.1)", function()
      local req = assert(client.build_request(conf({ scopes = { "read", "write" } })))
      assert.equal("POST", req.method)
      assert.equal("application/x-www-form-urlencoded", req.headers["Content-Type"])
      local b64 = req.headers.Authorization:match("^Basic (.+)$")
      assert.equal("gateway%20client:s3cr%3Aet%20with%20space%26more-and-at-least-32-bytes%21%21",
                   (b64url_decode(b64)))
      local form = form_of(req.body)
      assert.same({ grant_type = "client_credentials", scope = "read write" }, form)
      assert.is_nil(req.body:find("s3cr", 1, true))
    end)

    it("client_secret_post puts id and secret in the form only", function()
      local req = assert(client.build_request(conf({ client_auth = "client_secret_post" })))
      assert.is_nil(req.headers.Authorization)
      local form = form_of(req.body)
      assert.equal("gateway client", form.client_id)
      assert.equal(SECRET, form.client_secret)
    end)

    it("client_secret_jwt sends an HS256 RFC 7523 assertion", function()
      local req = assert(client.build_request(conf({ client_auth = "client_secret_jwt",
                                                     key_id = "k1" })))
      assert.is_nil(req.headers.Authorization)
      local form = form_of(req.body)
      assert.is_nil(form.client_secret)
      assert.equal("gateway client", form.client_id)
      assert.equal("urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                   form.client_assertion_type)
      local h, p = form.client_assertion:match("^([^.]+)%.([^.]+)%.[^.]+$")
      local header = cjson.decode(b64url_decode(h))
      local claims = cjson.decode(b64url_decode(p))
      assert.equal("HS256", header.alg)
      assert.equal("k1", header.kid)
      assert.equal("gateway client", claims.iss)
      assert.equal("gateway client", claims.sub)
      assert.equal("https://idp.example.com/oauth2/token", claims.aud)
      assert.equal(60, claims.exp - claims.iat)
      assert.is_string(claims.jti)
      -- the assertion verifies with the secret, through the native verifier
      local v = native.new_verifier()
      assert(v:add_key("HS256", SECRET, "k1"))
      local ok, reason = v:verify(form.client_assertion, {
        issuer = "gateway client", audience = "https://idp.example.com/oauth2/token" })
      assert.is_string(ok, reason)
    end)

    it("every assertion has a fresh jti", function()
      local c = conf({ client_auth = "client_secret_jwt" })
      local a = form_of(assert(client.build_request(c)).body).client_assertion
      local b = form_of(assert(client.build_request(c)).body).client_assertion
      local ja = cjson.decode(b64url_decode(a:match("^[^.]+%.([^.]+)"))).jti
      local jb = cjson.decode(b64url_decode(b:match("^[^.]+%.([^.]+)"))).jti
      assert.are_not.equal(ja, jb)
    end)

    it("private_key_jwt signs with the private key and the configured audience", function()
      local pem = helpers.read_file("test/keys/ec256.pem")
      local req = assert(client.build_request(conf({
        client_auth = "private_key_jwt", client_secret = nil, private_key = pem,
        client_assertion_algorithm = "ES256", client_assertion_audience = "https://idp/",
      })))
      local form = form_of(req.body)
      local v = native.new_verifier()
      assert(v:add_key("ES256", helpers.read_file("test/keys/ec256.pub.pem")))
      local claims = v:verify(form.client_assertion, { audience = "https://idp/" })
      assert.is_string(claims)
      assert.is_nil(req.body:find("PRIVATE", 1, true))
    end)

    for _, alg in ipairs({ "HS384", "HS512" }) do
      it("client_secret_jwt signs with " .. alg .. " when configured", function()
        -- the native signer wants a secret at least as long as the hash (48 / 64 bytes)
        local secret = string.rep("s", 64)
        local req = assert(client.build_request(conf({ client_auth = "client_secret_jwt",
                                                       client_secret = secret,
                                                       client_assertion_algorithm = alg })))
        local form = form_of(req.body)
        local h = form.client_assertion:match("^([^.]+)%.")
        assert.equal(alg, cjson.decode(b64url_decode(h)).alg)
        local v = native.new_verifier()
        assert(v:add_key(alg, secret))
        local ok, reason = v:verify(form.client_assertion, {
          issuer = "gateway client", audience = "https://idp.example.com/oauth2/token" })
        assert.is_string(ok, reason)
      end)
    end

    it("sends every audience as its own parameter", function()
      local req = assert(client.build_request(conf({ audience = { "https://a", "https://b" } })))
      assert.same({ "https://a", "https://b" }, form_of(req.body).audience)
    end)

    it("token exchange sends the RFC 8693 parameters", function()
      local c = conf({ grant_type = "urn:ietf:params:oauth:grant-type:token-exchange",
                       subject_token_source = "upstream_jwt", actor_token = "act.or.tok",
                       requested_token_type = "urn:ietf:params:oauth:token-type:access_token",
                       audience = { "https://orders" }, scopes = { "orders" } })
      local form = form_of(assert(client.build_request(c, "sub.ject.tok")).body)
      assert.equal("urn:ietf:params:oauth:grant-type:token-exchange", form.grant_type)
      assert.equal("sub.ject.tok", form.subject_token)
      assert.equal("urn:ietf:params:oauth:token-type:jwt", form.subject_token_type)
      assert.equal("act.or.tok", form.actor_token)
      assert.equal("urn:ietf:params:oauth:token-type:jwt", form.actor_token_type)
      assert.equal("urn:ietf:params:oauth:token-type:access_token", form.requested_token_type)
      assert.equal("https://orders", form.audience)
      assert.equal("orders", form.scope)
      -- a consumer's bearer token is an access token unless configured otherwise
      c = conf({ grant_type = "urn:ietf:params:oauth:grant-type:token-exchange",
                 subject_token_source = "consumer_bearer" })
      form = form_of(assert(client.build_request(c, "opaque")).body)
      assert.equal("urn:ietf:params:oauth:token-type:access_token", form.subject_token_type)
      assert.is_nil(form.actor_token)
      assert.is_nil(form.actor_token_type)
    end)

    it("token exchange refuses a missing subject or an empty actor_token with 500", function()
      local c = conf({ grant_type = "urn:ietf:params:oauth:grant-type:token-exchange",
                       subject_token_source = "consumer_bearer" })
      local _, err = client.build_request(c, nil)
      assert.equal(500, err.status)
      c.actor_token = ""
      _, err = client.build_request(c, "s")
      assert.equal(500, err.status)
      assert.matches("actor_token is empty", err.message)
    end)

    it("refuses an empty client_id (unresolved vault reference) with 500", function()
      local _, err = client.build_request(conf({ client_id = "" }))
      assert.equal(500, err.status)
      assert.matches("client_id is empty", err.message)
    end)

    it("refuses a token header value with a line break (from a vault) with 500", function()
      local _, err = client.build_request(conf({ token_headers = { ["X-T"] = "a\r\nHost: b" } }))
      assert.equal(500, err.status)
    end)

    it("passes proxy options to lua-resty-http only when a proxy is set", function()
      assert.is_nil(client.proxy_opts(conf()))
      assert.same({ http_proxy = "http://proxy:3128", https_proxy = "http://proxy:3129",
                    no_proxy = "localhost,.internal", https_proxy_authorization = "Basic eDp5" },
                  client.proxy_opts(conf({ http_proxy = "http://proxy:3128",
                                           https_proxy = "http://proxy:3129",
                                           no_proxy = "localhost,.internal",
                                           https_proxy_authorization = "Basic eDp5" })))
    end)

    it("sends audience, each resource, extra args and headers", function()
      local req = assert(client.build_request(conf({
        audience = { "https://api" }, resource = { "https://r1/", "https://r2/" },
        token_post_args = { tenant = "a&b" }, token_headers = { ["X-Tenant"] = "acme" },
      })))
      local form = form_of(req.body)
      assert.equal("https://api", form.audience)
      assert.same({ "https://r1/", "https://r2/" }, form.resource)
      assert.equal("a&b", form.tenant)
      assert.equal("acme", req.headers["X-Tenant"])
    end)

    it("refuses an empty secret or key (unresolved vault reference) with 500", function()
      local _, err = client.build_request(conf({ client_secret = "" }))
      assert.equal(500, err.status)
      assert.matches("client_secret is empty", err.message)
      _, err = client.build_request(conf({ client_auth = "private_key_jwt", private_key = "" }))
      assert.equal(500, err.status)
      assert.matches("private_key is empty", err.message)
    end)

    it("refuses an unusable key with 500 and a message free of key material", function()
      local _, err = client.build_request(conf({ client_auth = "client_secret_jwt",
                                                 client_secret = "short-secret" }))
      assert.equal(500, err.status)
      assert.is_nil(err.message:find("short-secret", 1, true))
      local pem = helpers.read_file("test/keys/rsa2048.pem")
      _, err = client.build_request(conf({ client_auth = "private_key_jwt", private_key = pem,
                                           client_assertion_algorithm = "ES256" }))
      assert.equal(500, err.status)
      assert.is_nil(err.message:find("BEGIN", 1, true))
    end)
  end)

  describe("parse_response", function()
    local function parse(status, body)
      return client.parse_response(status, body)
    end

    it("accepts a standard answer, case-insensitive token_type, string expires_in", function()
      local r = assert(parse(200, '{"access_token":"abc.def-~+/=","token_type":"bearer",'
                                  .. '"expires_in":"3600","scope":"x"}'))
      assert.equal("abc.def-~+/=", r.access_token)
      assert.equal(3600, r.expires_in)
      r = assert(parse(200, '{"access_token":"t"}'))
      assert.is_nil(r.expires_in)
    end)

    local cases = {
      { "5xx", 500, '{"error":"server_error"}', 503, "HTTP 500 (server_error)" },
      { "503", 503, "", 503, "HTTP 503" },
      { "429", 429, "", 503, "HTTP 429" },
      { "invalid_client", 401, '{"error":"invalid_client","error_description":"bad"}', 502,
        "HTTP 401 (invalid_client: bad)" },
      { "400", 400, "not json", 502, "HTTP 400" },
      { "empty body", 200, "", 502, "empty body" },
      { "garbage", 200, "<html>oops</html>", 502, "not a JSON object" },
      { "JSON array", 200, '["access_token"]', 502, "not a JSON object" },
      { "JSON string", 200, '"tok"', 502, "not a JSON object" },
      { "no access_token", 200, '{"token_type":"Bearer","expires_in":60}', 502,
        "no access_token" },
      { "empty access_token", 200, '{"access_token":""}', 502, "no access_token" },
      { "numeric access_token", 200, '{"access_token":42}', 502, "no access_token" },
      { "access_token with a space", 200, '{"access_token":"a b"}', 502,
        "not a valid header value" },
      { "access_token with CRLF", 200, '{"access_token":"a\\r\\nX-Evil: 1"}', 502,
        "not a valid header value" },
      { "DPoP token type", 200, '{"access_token":"t","token_type":"DPoP"}', 502,
        "token_type is not Bearer" },
      { "zero expires_in", 200, '{"access_token":"t","expires_in":0}', 502, "expires_in" },
      { "negative expires_in", 200, '{"access_token":"t","expires_in":-5}', 502, "expires_in" },
      { "text expires_in", 200, '{"access_token":"t","expires_in":"soon"}', 502, "expires_in" },
    }
    for _, case in ipairs(cases) do
      it("refuses " .. case[1] .. " with " .. case[4], function()
        local ok, err = parse(case[2], case[3])
        assert.is_nil(ok)
        assert.equal(case[4], err.status)
        assert.is_truthy(err.message:find(case[5], 1, true),
          "message '" .. err.message .. "' lacks '" .. case[5] .. "'")
      end)
    end

    it("refuses an oversized response and an oversized token", function()
      local _, err = parse(200, '{"access_token":"' .. string.rep("a", 70000) .. '"}')
      assert.equal(502, err.status)
      _, err = parse(200, '{"access_token":"' .. string.rep("a", 20000) .. '"}')
      assert.equal(502, err.status)
    end)

    it("logs only a bounded, printable error description", function()
      local _, err = parse(400, cjson.encode({ error = "invalid_request",
        error_description = "line\nbreak " .. string.rep("x", 500) }))
      assert.is_nil(err.message:find("\n", 1, true))
      assert.is_true(#err.message < 300)
    end)
  end)

  describe("cache_ttl", function()
    it("is expires_in minus refresh_before", function()
      assert.equal(3570, client.cache_ttl(3600, 30, 300))
      assert.equal(60, client.cache_ttl(60, 0, 300))
    end)
    it("uses default_expires_in when the server gives none", function()
      assert.equal(270, client.cache_ttl(nil, 30, 300))
    end)
    it("halves a lifetime shorter than the refresh margin instead of never caching", function()
      assert.equal(5, client.cache_ttl(10, 30, 300))
      assert.equal(15, client.cache_ttl(30, 30, 300))
      assert.equal(0.5, client.cache_ttl(1, 30, 300))
    end)
  end)

  describe("fetch", function()
    it("posts to the endpoint with the configured timeouts and TLS verification", function()
      D.freeze()
      local r = assert(client.fetch(conf({ ssl_verify = false })))
      assert.equal("tok-1", r.access_token)
      assert.equal(90, r.ttl)
      assert.equal(1, #http_calls)
      local call = http_calls[1]
      assert.equal("https://idp.example.com/oauth2/token", call.uri)
      assert.equal("POST", call.params.method)
      assert.is_false(call.params.ssl_verify)
      assert.same({ 1000, 1000, 2000 }, call.timeouts)
    end)

    it("does not count the request's own duration as token lifetime", function()
      D.freeze()
      http_reply = function()
        D.advance(3)
        return { status = 200, body = '{"access_token":"t","expires_in":60}' }
      end
      local r = assert(client.fetch(conf({ refresh_before = 10 })))
      assert.equal(47, r.ttl)
    end)

    it("returns no ttl for a token that is already inside its refresh margin", function()
      D.freeze()
      http_reply = function()
        D.advance(5)
        return { status = 200, body = '{"access_token":"t","expires_in":8}' }
      end
      local r = assert(client.fetch(conf({ refresh_before = 30 })))
      assert.equal("t", r.access_token)
      assert.is_nil(r.ttl)
    end)

    for _, transport in ipairs({ "timeout", "connection refused", "no resolver defined" }) do
      it("maps a transport error (" .. transport .. ") to 503", function()
        http_reply = function() return nil, transport end
        local ok, err = client.fetch(conf({ token_endpoint = "https://idp/token?key=sensitive" }))
        assert.is_nil(ok)
        assert.equal(503, err.status)
        assert.matches(transport, err.message, 1, true)
        assert.is_nil(err.message:find("sensitive", 1, true))
      end)
    end

    it("names the endpoint in parse errors", function()
      http_reply = function() return { status = 200, body = "garbage" } end
      local _, err = client.fetch(conf())
      assert.equal(502, err.status)
      assert.matches("https://idp.example.com/oauth2/token", err.message, 1, true)
    end)

    it("does not call the endpoint when the config is unusable", function()
      local _, err = client.fetch(conf({ client_secret = "" }))
      assert.equal(500, err.status)
      assert.equal(0, #http_calls)
    end)
  end)
end)
