-- upstream-oauth2 against a real authorization server: oidc-provider (spec/support/oidc), with
-- every client authentication method, token exchange (RFC 8693) carrying the consumer, and the
-- token request sent through an egress forward proxy (tinyproxy). The upstream accepts only JWT
-- access tokens that verify against the provider's JWKS, so a 200 proves the gateway presented a
-- token the authorization server really issued.
local H = require "spec.e2e.upstream_oauth2_helpers"

local P = H.assign_ports({}, { "idp", "upstream", "tls", "gateway", "proxy", "dead" })
local IDP = "http://127.0.0.1:" .. P.idp
local TOKEN = IDP .. "/token"
local RESOURCE = "https://orders.example/"
local OPAQUE_RESOURCE = "https://opaque.example/" -- opaque tokens, checked by introspection
local SECRET = "oidc-e2e-secret: long enough for HS512, which wants 64 bytes or more....."
local UPSTREAM_JWT_SECRET = "upstream-jwt-secret-for-the-oidc-e2e-of-32+-bytes"
local PROXY_USER, PROXY_PASSWORD = "egress", "proxy-password-e2e"
local PROXY_AUTH = "Basic " .. select(2, H.sh("printf %s " .. H.q(PROXY_USER .. ":"
                                                 .. PROXY_PASSWORD) .. " | base64 -w0"))
local CONSUMER_ID = "0d5ab1c4-7d0e-4e8e-9d7a-a11ce0000001"

local function key(name)
  return H.root .. "/test/keys/" .. name
end

local CLIENTS = {
  { client_id = "basic", auth = "basic", secret = SECRET },
  { client_id = "post", auth = "post", secret = SECRET },
  { client_id = "opaque", auth = "post", secret = SECRET },
  { client_id = "hs256", auth = "jwt", secret = SECRET, alg = "HS256" },
  { client_id = "hs384", auth = "jwt", secret = SECRET, alg = "HS384" },
  { client_id = "hs512", auth = "jwt", secret = SECRET, alg = "HS512" },
  { client_id = "rs256", auth = "private_key_jwt", alg = "RS256", kid = "rsa-1",
    public_key_pem = key("rsa2048.pub.pem") },
  { client_id = "es256", auth = "private_key_jwt", alg = "ES256",
    public_key_pem = key("ec256.pub.pem") },
  { client_id = "eddsa", auth = "private_key_jwt", alg = "EdDSA",
    public_key_pem = key("ed25519.pub.pem") },
  { client_id = "proxied-http", auth = "post", secret = SECRET },
  { client_id = "proxied-https", auth = "post", secret = SECRET },
  { client_id = "no-proxy", auth = "post", secret = SECRET },
  { client_id = "proxy-refused", auth = "post", secret = SECRET },
  { client_id = "consumer-app", auth = "post", secret = SECRET },
  { client_id = "actor-app", auth = "post", secret = SECRET },
  { client_id = "exchanger", auth = "basic", secret = SECRET, exchange = true },
  { client_id = "exchanger-jwt", auth = "post", secret = SECRET, exchange = true },
}

local function plugin(config)
  local c = { token_endpoint = TOKEN, client_auth = "client_secret_post", client_secret = SECRET }
  for k, v in pairs(config) do
    c[k] = v
  end
  return { name = "upstream-oauth2", config = c }
end

local function route(name, config, extra_plugins)
  local plugins = { plugin(config) }
  for _, p in ipairs(extra_plugins or {}) do
    table.insert(plugins, 1, p)
  end
  return { name = name, paths = { "/" .. name }, plugins = plugins }
end

local function read_key(name)
  return H.read(key(name))
end

local EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"

local ROUTES = {
  -- client_id from a vault reference (parity with Kong Enterprise's upstream-oauth)
  route("basic", { client_id = "{vault://env/oidc-e2e-basic-id}",
                   client_auth = "client_secret_basic", scopes = { "orders:read" } }),
  route("post", { client_id = "post", audience = { "https://a.example", "https://b.example" } }),
  -- an RFC 8707 resource whose tokens are opaque
  route("opaque", { client_id = "opaque", resource = { OPAQUE_RESOURCE } }),
  route("hs256", { client_id = "hs256", client_auth = "client_secret_jwt" }),
  route("hs384", { client_id = "hs384", client_auth = "client_secret_jwt",
                   client_assertion_algorithm = "HS384" }),
  route("hs512", { client_id = "hs512", client_auth = "client_secret_jwt",
                   client_assertion_algorithm = "HS512" }),
  route("rs256", { client_id = "rs256", client_auth = "private_key_jwt",
                   private_key = read_key("rsa2048.pem"), key_id = "rsa-1" }),
  route("es256", { client_id = "es256", client_auth = "private_key_jwt",
                   private_key = read_key("ec256.pem"), client_assertion_algorithm = "ES256" }),
  route("eddsa", { client_id = "eddsa", client_auth = "private_key_jwt",
                   private_key = read_key("ed25519.pem"), client_assertion_algorithm = "EdDSA" }),
  -- egress proxy
  route("proxied-http", { client_id = "proxied-http", http_proxy = "http://127.0.0.1:" .. P.proxy,
                          http_proxy_authorization = "{vault://env/oidc-e2e-proxy-auth}" }),
  route("proxied-https", { client_id = "proxied-https", ssl_verify = false,
                           token_endpoint = "https://127.0.0.1:" .. P.tls .. "/token",
                           https_proxy = "http://127.0.0.1:" .. P.proxy,
                           https_proxy_authorization = "{vault://env/oidc-e2e-proxy-auth}" }),
  route("no-proxy", { client_id = "no-proxy", http_proxy = "http://127.0.0.1:" .. P.dead,
                      no_proxy = "localhost,127.0.0.1" }),
  route("proxy-refused", { client_id = "proxy-refused",
                           http_proxy = "http://127.0.0.1:" .. P.proxy,
                           http_proxy_authorization = "Basic bm90OnRoZS1wYXNzd29yZA==" }),
  route("proxy-down", { client_id = "proxied-http",
                        http_proxy = "http://127.0.0.1:" .. P.dead, scopes = { "orders:read" } }),
  -- RFC 8693: the consumer's own bearer token, exchanged for one the upstream accepts
  route("exchange-bearer", { client_id = "exchanger", client_auth = "client_secret_basic",
                             grant_type = EXCHANGE, subject_token_source = "consumer_bearer",
                             consumer_authorization = "remove",
                             requested_token_type = "urn:ietf:params:oauth:token-type:access_token",
                             audience = { RESOURCE } }),
  -- with an actor_token (from a vault) naming who acts
  route("exchange-actor", { client_id = "exchanger", client_auth = "client_secret_basic",
                            grant_type = EXCHANGE, subject_token_source = "consumer_bearer",
                            actor_token = "{vault://env/oidc-e2e-actor}",
                            actor_token_type = "urn:ietf:params:oauth:token-type:access_token",
                            scopes = { "orders:read" } }),
  -- RFC 8693: upstream-jwt's token for this request (sub = the consumer key-auth found)
  route("exchange-jwt", { client_id = "exchanger-jwt", grant_type = EXCHANGE,
                          subject_token_source = "upstream_jwt" }, {
          { name = "key-auth", config = { hide_credentials = true } },
          { name = "upstream-jwt", config = { secret = UPSTREAM_JWT_SECRET, audience = "idp" } },
        }),
  -- configurable error answer
  route("error-status", { client_id = "post", token_endpoint = "http://127.0.0.1:" .. P.dead
                                                                .. "/token",
                          error_response_status = 504,
                          error_response_message = "The orders service is unreachable" }),
}

describe("upstream-oauth2 with oidc-provider", function()
  local dir, idp, proxy, gw

  setup(function()
    dir = H.tmpdir()
    local cert, tls_key = H.self_signed(dir)
    idp = H.start_oidc(dir, P.idp, P.upstream, {
      resource = RESOURCE, opaque_resource = OPAQUE_RESOURCE,
      upstream_jwt_secret = UPSTREAM_JWT_SECRET, clients = CLIENTS,
    }, { port = P.tls, cert = cert, key = tls_key })
    proxy = H.start_proxy(dir, P.proxy, { PROXY_USER, PROXY_PASSWORD })
    -- the actor: another client's token, handed to the gateway through its environment
    local actor_token = idp.token("actor-app", SECRET)
    gw = H.start_gateway(dir, P.gateway, {
      _format_version = "3.0",
      services = { { name = "orders", url = "http://127.0.0.1:" .. P.upstream,
                     routes = ROUTES } },
      consumers = { { username = "alice", id = CONSUMER_ID,
                      keyauth_credentials = { { key = "alice-key" } } } },
    }, {
      GATEWAY_WORKERS = "2",
      OIDC_E2E_BASIC_ID = "basic",
      OIDC_E2E_PROXY_AUTH = PROXY_AUTH,
      OIDC_E2E_ACTOR = actor_token,
    })
  end)

  teardown(function()
    H.stop_all({ gw, proxy, idp }, dir)
  end)

  local function get(path, headers)
    local status, body = H.http("GET", gw.base .. path, headers)
    return status, H.json(body) or body
  end

  describe("client authentication, checked by oidc-provider", function()
    for _, case in ipairs({
      { "client_secret_basic, client_id from a vault reference", "basic" },
      { "client_secret_post", "post" },
      { "client_secret_jwt HS256", "hs256" },
      { "client_secret_jwt HS384", "hs384" },
      { "client_secret_jwt HS512", "hs512" },
      { "private_key_jwt RS256 with kid", "rs256" },
      { "private_key_jwt ES256", "es256" },
      { "private_key_jwt EdDSA", "eddsa" },
    }) do
      it(case[1] .. ": a JWT access token the upstream verifies with the JWKS, reused", function()
        local client_id = case[2]
        local status, body = get("/" .. client_id .. "/orders/1")
        assert.equal(200, status, H.json(body) and body.error or body)
        assert.equal(client_id, body.client_id)
        assert.equal(client_id, body.sub)
        assert.equal("jwks", body.verified_by)
        local again_status, again = get("/" .. client_id .. "/orders/2")
        assert.equal(200, again_status)
        assert.equal(body.jti, again.jti)
        assert.equal(1, idp.issued(client_id))
      end)
    end
  end)

  it("asks for a resource's opaque token, which the upstream checks by introspection", function()
    local status, body = get("/opaque/orders")
    assert.equal(200, status, tostring(body))
    assert.equal("introspection", body.verified_by)
    assert.equal("opaque", body.client_id)
    assert.is_nil(body.headers.authorization:find(".", 1, true)) -- not a JWT
    local _, again = get("/opaque/orders")
    assert.equal(body.jti, again.jti)
    assert.equal(1, idp.issued("opaque"))
  end)

  describe("egress proxy", function()
    local function proxy_log()
      return H.read(proxy.log)
    end

    it("sends an http token request through http_proxy with Proxy-Authorization", function()
      local status, body = get("/proxied-http/x")
      assert.equal(200, status, tostring(body))
      assert.equal("proxied-http", body.client_id)
      assert.truthy(proxy_log():find("POST http://127.0.0.1:" .. P.idp .. "/token", 1, true),
                    proxy_log())
    end)

    it("tunnels an https token request through https_proxy (CONNECT)", function()
      local status, body = get("/proxied-https/x")
      assert.equal(200, status, tostring(body))
      assert.equal("proxied-https", body.client_id)
      assert.truthy(proxy_log():find("CONNECT 127.0.0.1:" .. P.tls, 1, true), proxy_log())
    end)

    it("goes direct for a no_proxy host (the configured proxy is down)", function()
      local status, body = get("/no-proxy/x")
      assert.equal(200, status, tostring(body))
      assert.equal("no-proxy", body.client_id)
    end)

    it("proxies nothing when the proxy refuses the credentials or is down", function()
      local before = H.read(gw.log)
      local upstream_before = idp.stats().upstream_requests
      local status, body = get("/proxy-refused/x")
      assert.is_true(status == 502 or status == 503, tostring(status))
      assert.is_nil(body.client_id)
      status, body = get("/proxy-down/x")
      assert.equal(503, status)
      assert.is_nil(body.client_id)
      assert.equal(0, idp.issued("proxy-refused"))
      assert.equal(upstream_before, idp.stats().upstream_requests)
      local log = H.read(gw.log):sub(#before + 1)
      assert.is_nil(log:find(PROXY_PASSWORD, 1, true))
      assert.is_nil(log:find(PROXY_AUTH, 1, true))
    end)
  end)

  describe("token exchange (RFC 8693)", function()
    it("exchanges the consumer's bearer token: sub is the consumer, act the gateway", function()
      local consumer_token = idp.token("consumer-app", SECRET)
      local status, body = get("/exchange-bearer/orders", {
        Authorization = "Bearer " .. consumer_token })
      assert.equal(200, status, tostring(body))
      assert.equal("consumer-app", body.sub)
      assert.same({ sub = "exchanger" }, body.act)
      assert.equal("exchanger", body.client_id)
      -- removed, not moved: the upstream sees only the exchanged token
      assert.is_nil(body.headers["x-consumer-authorization"])
      local last = idp.stats().exchanges
      last = last[#last]
      assert.equal("urn:ietf:params:oauth:token-type:access_token", last.subject_token_type)
      assert.equal("urn:ietf:params:oauth:token-type:access_token", last.requested_token_type)
      assert.equal(RESOURCE, last.audience)
      -- cached per subject: the same consumer token is not exchanged again
      local n = #idp.stats().exchanges
      local again_status, again = get("/exchange-bearer/orders", {
        Authorization = "Bearer " .. consumer_token })
      assert.equal(200, again_status)
      assert.equal(body.jti, again.jti)
      assert.equal(n, #idp.stats().exchanges)
      -- another subject gets its own token
      local other = idp.token("post", SECRET)
      local other_status, other_body = get("/exchange-bearer/orders", {
        Authorization = "Bearer " .. other })
      assert.equal(200, other_status)
      assert.equal("post", other_body.sub)
      assert.equal(n + 1, #idp.stats().exchanges)
    end)

    it("answers 401 without a bearer token and 502 for one the server rejects", function()
      local upstream_before = idp.stats().upstream_requests
      local status, body = get("/exchange-bearer/orders")
      assert.equal(401, status)
      assert.equal("A bearer token is required", body.message)
      status = get("/exchange-bearer/orders", { Authorization = "Basic YTpi" })
      assert.equal(401, status)
      status, body = get("/exchange-bearer/orders", { Authorization = "Bearer not.a.token" })
      assert.equal(502, status)
      assert.is_nil(body.sub)
      assert.equal(upstream_before, idp.stats().upstream_requests)
    end)

    it("sends the actor_token: act names both the gateway and the actor", function()
      local status, body = get("/exchange-actor/orders", {
        Authorization = "Bearer " .. idp.token("consumer-app", SECRET) })
      assert.equal(200, status, tostring(body))
      assert.equal("consumer-app", body.sub)
      assert.same({ sub = "exchanger", actor = "actor-app" }, body.act)
    end)

    it("exchanges upstream-jwt's token for this request: sub is the key-auth consumer", function()
      local status, body = get("/exchange-jwt/orders?id=1", { apikey = "alice-key" })
      assert.equal(200, status, tostring(body))
      assert.equal(CONSUMER_ID, body.sub)
      assert.same({ sub = "exchanger-jwt" }, body.act)
      local last = idp.stats().exchanges
      assert.equal("urn:ietf:params:oauth:token-type:jwt", last[#last].subject_token_type)
      -- no consumer, no exchange: key-auth answers first
      status = get("/exchange-jwt/orders", { ["X-Upstream-JWT"] = "forged" })
      assert.equal(401, status)
    end)
  end)

  it("answers with the configured error status and message, proxying nothing", function()
    local upstream_before = idp.stats().upstream_requests
    local status, body = get("/error-status/x")
    assert.equal(504, status)
    assert.same({ message = "The orders service is unreachable" }, body)
    assert.equal(upstream_before, idp.stats().upstream_requests)
  end)
end)
