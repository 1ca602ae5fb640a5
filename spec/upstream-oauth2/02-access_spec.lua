-- upstream-oauth2 handler run inside real nginx requests on Kong's real PDK (access, then
-- header_filter), with the real shared dict and semaphores: the upstream request it produces,
-- every error path (clean 5xx, nothing proxied, no secret in the log), and the purge on upstream
-- status. The token endpoint is served by the same nginx and reached with the real
-- lua-resty-http over loopback; only its answers and the shared dict's clock are the test's.
local helpers = require "spec.helpers.setup"
local pdk = require "spec.helpers.pdk_request"
local D = require "spec.helpers.upstream_oauth2_double"
local validator = require "spec.helpers.schema"

local SECRET = "the-client-secret-that-must-never-be-logged"

describe("upstream-oauth2 handler", function()
  local handler, schema, http_calls, http_reply

  setup(function()
    helpers.require_native()
  end)

  local function conf(overrides)
    local raw = {
      token_endpoint = pdk.endpoint_url("/token"),
      client_id = "gw",
      client_secret = SECRET,
    }
    for k, v in pairs(overrides or {}) do
      raw[k] = v
    end
    local c, _, msg = validator.validate(schema, raw)
    assert(c, msg)
    return c
  end

  -- One request: access, then header_filter when `upstream_status` is given (false: the
  -- response did not come from the upstream). `extra` adds request fields (plugin_ctx...).
  local function request(c, request_headers, upstream_status, extra)
    local req = { headers = request_headers, upstream_status = upstream_status }
    for k, v in pairs(extra or {}) do
      req[k] = v
    end
    pdk.install(req)
    return pdk.run(handler, c)
  end

  local function log_text()
    return pdk.raw_logs()
  end

  -- What the client sent, as nginx passes it on when nothing touches it (nginx drops a header
  -- value's trailing blanks).
  local function untouched(headers)
    local out = { host = "localhost", connection = "close" }
    for name, v in pairs(headers or {}) do
      out[name:lower()] = (v:gsub("%s+$", ""))
    end
    return out
  end

  before_each(function()
    D.reset_dict(ngx.shared.kong)
    http_calls = 0
    http_reply = function()
      return { status = 200,
               body = '{"access_token":"tok-' .. http_calls .. '","expires_in":3600}' }
    end
    -- The token endpoint: http_reply(form body) answers { status, body }, or { close = true }
    -- (the connection is dropped without an answer), or { delay = s } first.
    pdk.serve(function()
      ngx.req.read_body()
      http_calls = http_calls + 1
      local r = http_reply(ngx.req.get_body_data())
      if r.delay then
        ngx.sleep(r.delay)
      end
      if r.close then
        return ngx.exit(444)
      end
      ngx.status = r.status
      ngx.header["Content-Type"] = "application/json"
      ngx.print(r.body)
      return ngx.exit(ngx.OK)
    end)
    package.loaded["resty.http"] = nil
    D.load("kong.plugins.upstream-oauth2.token_client")
    D.load("kong.plugins.upstream-oauth2.token_cache")
    D.load("kong.plugins.upstream-oauth2.token_exchange")
    schema = D.load("kong.plugins.upstream-oauth2.schema")
    handler = D.load("kong.plugins.upstream-oauth2.handler")
  end)

  teardown(function()
    pdk.serve(nil)
  end)

  it("runs after authentication plugins and before request transformation ends", function()
    assert.is_true(handler.PRIORITY < 1000)
    assert.equal("0.1.0", handler.VERSION)
  end)

  describe("on success", function()
    it("sends the token as Bearer in Authorization and moves the consumer's", function()
      local k = request(conf(), { Authorization = "Basic Y29uc3VtZXI6cHc=" })
      assert.is_nil(k.exit)
      local up = k.upstream_headers
      assert.equal("Bearer tok-1", up.authorization)
      assert.equal("Basic Y29uc3VtZXI6cHc=", up["x-consumer-authorization"])
    end)

    it("clears a client-supplied X-Consumer-Authorization when there is nothing to move", function()
      local k = request(conf(), { ["X-Consumer-Authorization"] = "Bearer forged" })
      assert.is_nil(k.upstream_headers["x-consumer-authorization"])
      assert.equal("Bearer tok-1", k.upstream_headers.authorization)
    end)

    it("replaces a spoofed X-Consumer-Authorization with the real one", function()
      local k = request(conf(), { ["X-Consumer-Authorization"] = "Bearer forged",
                                  Authorization = "Bearer consumer" })
      assert.equal("Bearer consumer", k.upstream_headers["x-consumer-authorization"])
    end)

    it("keeps the consumer's Authorization when the token has its own header", function()
      local k = request(conf({ header = "X-Access-Token", consumer_authorization = "keep" }),
                        { Authorization = "Bearer consumer", ["X-Access-Token"] = "forged" })
      local up = k.upstream_headers
      assert.equal("Bearer consumer", up.authorization)
      assert.equal("Bearer tok-1", up["x-access-token"])
      assert.is_nil(up["x-consumer-authorization"])
    end)

    -- issue 11 item 4: the docs promise the header is always cleared first, whatever the mode
    for _, mode in ipairs({ "keep", "remove" }) do
      it("clears a forged X-Consumer-Authorization with consumer_authorization " .. mode, function()
        local k = request(conf({ header = "X-Access-Token", consumer_authorization = mode }),
                          { Authorization = "Bearer consumer",
                            ["X-Consumer-Authorization"] = "Bearer forged" })
        local up = k.upstream_headers
        assert.is_nil(up["x-consumer-authorization"])
        assert.equal("Bearer tok-1", up["x-access-token"])
      end)

      it("clears a forged custom consumer_authorization_header with " .. mode, function()
        local k = request(conf({ header = "X-Access-Token", consumer_authorization = mode,
                                 consumer_authorization_header = "X-Original-Auth" }),
                          { ["X-Original-Auth"] = "Bearer forged" })
        assert.is_nil(k.upstream_headers["x-original-auth"])
      end)
    end

    it("removes the consumer's Authorization when told to", function()
      local k = request(conf({ header = "X-Access-Token", consumer_authorization = "remove" }),
                        { Authorization = "Bearer consumer" })
      local up = k.upstream_headers
      assert.is_nil(up.authorization)
      assert.is_nil(up["x-consumer-authorization"])
      assert.equal("Bearer tok-1", up["x-access-token"])
    end)

    it("reuses the cached token for later requests", function()
      local c = conf()
      request(c)
      request(c)
      D.advance_dict(ngx.shared.kong, 3000)
      local k = request(c)
      assert.equal(1, http_calls)
      assert.equal("Bearer tok-1", k.upstream_headers.authorization)
    end)

    it("refreshes refresh_before seconds ahead of expiry", function()
      local c = conf({ refresh_before = 60 })
      request(c)
      D.advance_dict(ngx.shared.kong, 3539)
      assert.equal("Bearer tok-1", request(c).upstream_headers.authorization)
      D.advance_dict(ngx.shared.kong, 2)
      assert.equal("Bearer tok-2", request(c).upstream_headers.authorization)
    end)

    it("uses a new token after the secret is rotated in place (vault)", function()
      local c = conf()
      request(c)
      c.client_secret = SECRET .. "-rotated"
      local k = request(c)
      assert.equal(2, http_calls)
      assert.equal("Bearer tok-2", k.upstream_headers.authorization)
    end)

    it("fetches once for many concurrent requests", function()
      http_reply = function()
        return { delay = 0.3, status = 200, body = '{"access_token":"once","expires_in":60}' }
      end
      local c = conf()
      -- as many at once as dev/busted's nginx has connections for (two per request)
      pdk.install({})
      local statuses = pdk.run_concurrent(handler, c, 24)
      for i = 1, 24 do
        assert.equal(204, statuses[i])
      end
      assert.equal(1, http_calls)
    end)
  end)

  describe("on failure", function()
    local cases = {
      { "endpoint unreachable", function()
          return { status = 200, body = '{"access_token":"must-not-be-reached"}' }
        end, 503,
        { token_endpoint = "http://127.0.0.1:1/token" } },
      { "endpoint timing out", function() return { delay = 0.5, status = 200, body = "{}" } end,
        503, { read_timeout = 100 } },
      { "endpoint dropping the connection", function() return { close = true } end, 503 },
      { "endpoint answering 500", function() return { status = 500, body = "" } end, 503 },
      { "client rejected", function()
          return { status = 401, body = '{"error":"invalid_client"}' }
        end, 502 },
      { "garbage", function() return { status = 200, body = "<html>" } end, 502 },
      { "no access_token", function()
          return { status = 200, body = '{"token_type":"Bearer"}' }
        end, 502 },
    }
    for _, case in ipairs(cases) do
      it("answers " .. case[3] .. " for " .. case[1] .. ", proxies nothing, logs no secret",
        function()
          http_reply = case[2]
          local k = request(conf(case[4]), { Authorization = "Bearer consumer" })
          assert.equal(case[3], k.exit.status)
          assert.is_string(k.exit.body.message)
          -- the plugin set and cleared nothing (and Kong proxies nothing after an exit)
          assert.same(untouched({ Authorization = "Bearer consumer" }), k.upstream_headers)
          local text = log_text()
          assert.matches("cannot obtain an upstream access token", text, 1, true)
          assert.is_nil(text:find(SECRET, 1, true))
          assert.is_nil(text:find("Y29uc3VtZXI", 1, true))
          assert.is_nil(k.plugin_ctx.cache_key)
        end)
    end

    it("answers 500 for an unresolved vault reference, without calling the endpoint", function()
      local c = conf()
      c.client_secret = ""
      local k = request(c)
      assert.equal(500, k.exit.status)
      assert.equal(0, http_calls)
      assert.matches("client_secret is empty", log_text(), 1, true)
    end)

    it("answers 500 for a client secret too short for HS256, without logging it", function()
      local c = conf({ client_auth = "client_secret_jwt", client_secret = "too-short" })
      local k = request(c)
      assert.equal(500, k.exit.status)
      assert.is_nil(log_text():find("too-short", 1, true))
    end)

    it("answers 500 when the native library cannot be loaded", function()
      local c = conf()
      local saved = package.loaded["kong.plugins.upstream-jwt.native"]
      package.loaded["kong.plugins.upstream-jwt.native"] = nil
      package.preload["kong.plugins.upstream-jwt.native"] = function()
        error("libupstream_jwt.so not found", 0)
      end
      D.load("kong.plugins.upstream-oauth2.token_client")
      handler = D.load("kong.plugins.upstream-oauth2.handler")
      local ok, k = pcall(request, c)
      package.preload["kong.plugins.upstream-jwt.native"] = nil
      package.loaded["kong.plugins.upstream-jwt.native"] = saved
      assert.is_true(ok, k)
      assert.equal(500, k.exit.status)
      assert.equal(0, http_calls)
      assert.matches("libupstream_jwt.so not found", log_text(), 1, true)
    end)

    it("does not cache failures: the next request tries again", function()
      http_reply = function() return { close = true } end
      local c = conf()
      request(c)
      http_reply = function() return { status = 200, body = '{"access_token":"back"}' } end
      local k = request(c)
      assert.equal("Bearer back", k.upstream_headers.authorization)
    end)
  end)

  describe("error answer", function()
    it("uses error_response_status and error_response_message when configured", function()
      http_reply = function() return { close = true } end
      local k = request(conf({ error_response_status = 599,
                               error_response_message = "try again later" }))
      assert.same({ status = 599, body = { message = "try again later" } }, k.exit)
      assert.is_nil(k.upstream_headers.authorization)
    end)
  end)

  describe("token exchange", function()
    local TE = "urn:ietf:params:oauth:grant-type:token-exchange"
    local bodies

    before_each(function()
      bodies = {}
      http_reply = function(body)
        bodies[#bodies + 1] = body
        return { status = 200, body = '{"access_token":"xchg-' .. http_calls
                                      .. '","expires_in":300,"token_type":"Bearer"}' }
      end
    end)

    it("exchanges the consumer's bearer token, once per subject", function()
      local c = conf({ grant_type = TE, subject_token_source = "consumer_bearer",
                       header = "X-Access-Token", consumer_authorization = "keep" })
      local k = request(c, { Authorization = "Bearer consumer-a" })
      assert.equal("Bearer xchg-1", k.upstream_headers["x-access-token"])
      assert.matches("subject_token=consumer%-a", bodies[1])
      assert.matches("grant_type=urn%%3Aietf%%3Aparams%%3Aoauth%%3Agrant%-type%%3Atoken%-exchange",
                     bodies[1])
      k = request(c, { Authorization = "bearer consumer-a" })
      assert.equal("Bearer xchg-1", k.upstream_headers["x-access-token"])
      assert.equal(1, http_calls)
      k = request(c, { Authorization = "Bearer consumer-b" })
      assert.equal("Bearer xchg-2", k.upstream_headers["x-access-token"])
      assert.equal(2, http_calls)
    end)

    it("answers 401 without a bearer token and asks nobody", function()
      -- whatever error answer is configured for token failures
      local c = conf({ grant_type = TE, subject_token_source = "consumer_bearer",
                       error_response_status = 503, error_response_message = "later" })
      for _, h in ipairs({ {}, { Authorization = "Basic YTpi" }, { Authorization = "Bearer " },
                           { Authorization = "Bearer a b" } }) do
        local k = request(c, h)
        assert.same({ status = 401, body = { message = "A bearer token is required" } }, k.exit)
        -- no token set: what is proxied is what the client sent
        assert.same(untouched(h), k.upstream_headers)
      end
      assert.equal(0, http_calls)
    end)

    it("exchanges upstream-jwt's token, and fails closed (500) when there is none", function()
      local c = conf({ grant_type = TE, subject_token_source = "upstream_jwt" })
      local k = request(c, { ["X-Upstream-JWT"] = "h.p.s" })
      assert.equal("Bearer xchg-1", k.upstream_headers.authorization)
      assert.matches("subject_token=h.p.s&subject_token_type=urn%%3Aietf%%3Aparams%%3Aoauth"
                     .. "%%3Atoken%-type%%3Ajwt", bodies[1])
      k = request(c, {})
      assert.equal(500, k.exit.status)
      assert.matches("is upstream%-jwt enabled", log_text())
    end)

    it("purges the exchanged token of that subject on a configured upstream status", function()
      local c = conf({ grant_type = TE, subject_token_source = "consumer_bearer" })
      request(c, { Authorization = "Bearer s" }, 401)
      local k = request(c, { Authorization = "Bearer s" })
      assert.equal(2, http_calls)
      assert.equal("Bearer xchg-2", k.upstream_headers.authorization)
    end)
  end)

  describe("redis strategy", function()
    it("falls back to this node's own fetch when Redis is unreachable, and says so", function()
      -- the real lua-resty-redis, to a loopback port nobody listens on
      package.loaded["resty.redis"] = nil
      D.load("kong.plugins.upstream-oauth2.redis_cache")
      handler = D.load("kong.plugins.upstream-oauth2.handler")
      local k = request(conf({ cache = { strategy = "redis",
                                         redis = { host = "127.0.0.1", port = 1 } } }))
      assert.equal("Bearer tok-1", k.upstream_headers.authorization)
      assert.matches("token cache in Redis unavailable.*connection refused", log_text())
    end)
  end)

  describe("header_filter", function()
    it("purges the cached token when the upstream answers 401", function()
      local c = conf()
      local k = request(c, nil, 401)
      assert.matches("purged", log_text(), 1, true)
      request(c)
      assert.equal(2, http_calls)
    end)

    it("purges on every configured status and only those", function()
      local c = conf({ purge_on_upstream_status = { 401, 403 } })
      request(c, nil, 200)
      request(c, nil, 404)
      assert.equal(1, http_calls)
      request(c, nil, 403)
      request(c)
      assert.equal(2, http_calls)
    end)

    it("ignores responses that did not come from the upstream", function()
      local c = conf()
      -- e.g. Kong or another plugin answered
      request(c, nil, false)
      request(c)
      assert.equal(1, http_calls)
    end)

    it("does not purge a token fetched after the one this request used", function()
      local c = conf()
      local first_ctx = request(c).plugin_ctx
      -- meanwhile another request purged and refetched
      request(c, nil, 401)
      request(c)
      assert.equal(2, http_calls)
      -- the first request's late 401 must not throw away tok-2
      request(c, nil, 401, { skip_access = true, plugin_ctx = first_ctx })
      assert.equal("Bearer tok-2", request(c).upstream_headers.authorization)
      assert.equal(2, http_calls)
    end)

    it("does nothing for a request the plugin refused", function()
      http_reply = function() return { delay = 0.5, status = 200, body = "{}" } end
      local c = conf({ read_timeout = 100 })
      -- header_filter runs on the plugin's own 503 too: pdk.run raises what it raises
      local k
      assert.has_no.errors(function() k = request(c, nil, 401) end)
      assert.equal(503, k.exit.status)
    end)
  end)
end)
