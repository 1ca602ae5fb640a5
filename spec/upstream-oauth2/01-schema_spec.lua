-- upstream-oauth2 schema: defaults, and every way a config is refused.
local helpers = require "spec.helpers.setup"
local validator = require "spec.helpers.schema"
local schema = require "kong.plugins.upstream-oauth2.schema"

local function base(overrides)
  local conf = {
    token_endpoint = "https://idp.example.com/oauth2/token",
    client_id = "gateway",
    client_secret = "a-client-secret",
  }
  for k, v in pairs(overrides or {}) do
    if v == "__nil" then
      conf[k] = nil
    else
      conf[k] = v
    end
  end
  return conf
end

local function validate(conf)
  return validator.validate(schema, conf)
end

-- Asserts the config is refused and the error text mentions `needle`.
local function refused(conf, needle)
  local ok, err_tbl, err_msg = validate(conf)
  assert.is_nil(ok, "config was accepted, expected an error mentioning: " .. needle)
  assert.is_table(err_tbl)
  assert.is_truthy(err_msg:find(needle, 1, true),
    "error '" .. tostring(err_msg) .. "' does not mention '" .. needle .. "'")
end

describe("upstream-oauth2 schema", function()
  it("is named after the plugin and keeps the handler loadable", function()
    assert.equal("upstream-oauth2", schema.name)
    assert.is_table(helpers)
  end)

  it("fills the documented defaults", function()
    local conf, _, msg = validate(base())
    assert.is_table(conf, msg)
    assert.equal("client_secret_basic", conf.client_auth)
    assert.equal("Authorization", conf.header)
    assert.equal("move", conf.consumer_authorization)
    assert.equal("X-Consumer-Authorization", conf.consumer_authorization_header)
    assert.same({ 401 }, conf.purge_on_upstream_status)
    assert.equal(30, conf.refresh_before)
    assert.equal(300, conf.default_expires_in)
    assert.equal(60, conf.client_assertion_ttl)
    assert.equal(5000, conf.connect_timeout)
    assert.equal(5000, conf.send_timeout)
    assert.equal(10000, conf.read_timeout)
    assert.is_true(conf.ssl_verify)
  end)

  it("defaults to HTTP and HTTPS routes and offers no gRPC (nothing is tested over it)", function()
    local protocols
    for _, f in ipairs(schema.fields) do
      protocols = protocols or f.protocols
    end
    assert.is_table(protocols)
    assert.same({ "http", "https" }, protocols.default)
    assert.same({ "http", "https" }, protocols.elements.one_of)
  end)

  it("accepts every client authentication method with what it needs", function()
    for _, auth in ipairs({ "client_secret_basic", "client_secret_post", "client_secret_jwt" }) do
      local conf, _, msg = validate(base({ client_auth = auth }))
      assert.is_table(conf, auth .. ": " .. tostring(msg))
    end
    local conf, _, msg = validate(base({ client_auth = "private_key_jwt", client_secret = "__nil",
                                         private_key = helpers.private_key("ec"),
                                         client_assertion_algorithm = "ES256",
                                         key_id = "k1" }))
    assert.is_table(conf, msg)
  end)

  it("accepts a full token-request config", function()
    local conf, _, msg = validate(base({
      scopes = { "orders:read", "orders:write" },
      audience = { "https://api.example.com", "https://billing.example.com" },
      resource = { "https://orders.example.com/", "https://billing.example.com/" },
      token_post_args = { tenant = "acme" },
      token_headers = { ["X-Tenant"] = "acme" },
      purge_on_upstream_status = { 401, 403 },
      header = "X-Access-Token",
      consumer_authorization = "keep",
    }))
    assert.is_table(conf, msg)
  end)

  it("accepts the token exchange, proxy, Redis and error settings", function()
    local conf, _, msg = validate(base({
      grant_type = "urn:ietf:params:oauth:grant-type:token-exchange",
      subject_token_source = "upstream_jwt", actor_token = "{vault://env/actor}",
      requested_token_type = "urn:ietf:params:oauth:token-type:access_token",
      http_proxy = "http://proxy:3128", https_proxy = "http://proxy:3128",
      no_proxy = "localhost,.internal", https_proxy_authorization = "{vault://env/proxy}",
      client_id = "{vault://env/client-id}",
      token_headers = { ["X-Tenant"] = "{vault://env/tenant}" },
      token_post_args = { tenant = "{vault://env/tenant}" },
      cache = { strategy = "redis", redis = { host = "redis.internal", password = "{vault://env/r}",
                                              ssl = true } },
      error_response_status = 504, error_response_message = "later",
      client_auth = "client_secret_jwt", client_assertion_algorithm = "HS512",
    }))
    assert.is_table(conf, msg)
    assert.equal("X-Upstream-JWT", conf.upstream_jwt_header)
    assert.equal(1000, conf.exchange_cache_size)
    assert.equal(6379, conf.cache.redis.port)
    assert.equal(0, conf.cache.redis.database)
    assert.equal(2000, conf.cache.redis.read_timeout)
    assert.is_true(conf.cache.redis.ssl_verify)
  end)

  it("defaults to the memory cache and the client credentials grant", function()
    local conf = assert(validate(base()))
    assert.equal("memory", conf.cache.strategy)
    assert.equal("client_credentials", conf.grant_type)
  end)

  it("accepts a vault reference for the secret and the key", function()
    assert.is_table((validate(base({ client_secret = "{vault://env/idp-secret}" }))))
    assert.is_table((validate(base({ client_auth = "private_key_jwt", client_secret = "__nil",
                                     private_key = "{vault://env/idp-key}" }))))
  end)

  describe("refuses", function()
    it("a missing token_endpoint", function()
      refused(base({ token_endpoint = "__nil" }), "token_endpoint")
    end)
    it("a relative or non-http token_endpoint", function()
      refused(base({ token_endpoint = "/oauth2/token" }), "absolute http")
      refused(base({ token_endpoint = "ftp://idp/token" }), "absolute http")
    end)
    it("userinfo in the token_endpoint", function()
      refused(base({ token_endpoint = "https://user:pw@idp.example.com/token" }), "userinfo")
    end)
    it("a fragment in the token_endpoint", function()
      refused(base({ token_endpoint = "https://idp.example.com/token#x" }), "fragment")
    end)
    it("whitespace or control characters in the token_endpoint", function()
      refused(base({ token_endpoint = "https://idp.example.com/a token" }), "whitespace")
      refused(base({ token_endpoint = "https://idp.example.com/a\r\nX: y" }), "whitespace")
    end)
    it("a missing or empty client_id", function()
      refused(base({ client_id = "__nil" }), "client_id")
      refused(base({ client_id = "" }), "client_id")
    end)
    it("an unknown client_auth", function()
      refused(base({ client_auth = "tls_client_auth" }), "expected one of")
    end)
    it("a secret-based method without client_secret", function()
      for _, auth in ipairs({ "client_secret_basic", "client_secret_post", "client_secret_jwt" }) do
        refused(base({ client_auth = auth, client_secret = "__nil" }),
                "client_secret is required")
      end
    end)
    it("private_key_jwt without private_key", function()
      refused(base({ client_auth = "private_key_jwt" }), "private_key is required")
    end)
    it("private_key_jwt with an HMAC algorithm", function()
      for _, alg in ipairs({ "HS256", "HS384", "HS512" }) do
        refused(base({ client_auth = "private_key_jwt", private_key = "pem",
                       client_assertion_algorithm = alg }), "not " .. alg)
      end
    end)
    it("client_secret_jwt with an asymmetric algorithm", function()
      refused(base({ client_auth = "client_secret_jwt", client_assertion_algorithm = "RS256" }),
              "signs with HS256")
    end)
    it("an unsupported assertion algorithm", function()
      refused(base({ client_auth = "private_key_jwt", private_key = "pem",
                     client_assertion_algorithm = "PS512" }), "expected one of")
    end)
    it("an assertion ttl out of range", function()
      refused(base({ client_assertion_ttl = 0 }), "between")
      refused(base({ client_assertion_ttl = 3601 }), "between")
    end)
    it("a scope token with a space, quote or backslash", function()
      refused(base({ scopes = { "read write" } }), "scope")
      refused(base({ scopes = { 'a"b' } }), "scope")
      refused(base({ scopes = { "a\\b" } }), "scope")
    end)
    it("a resource that is not an absolute URL", function()
      refused(base({ resource = { "orders" } }), "absolute http")
    end)
    it("extra form args that override the grant or the client authentication", function()
      for _, name in ipairs({ "grant_type", "client_id", "client_secret", "client_assertion",
                              "client_assertion_type", "scope", "audience", "resource",
                              "Grant_Type" }) do
        refused(base({ token_post_args = { [name] = "x" } }), "cannot be overridden")
      end
    end)
    it("extra headers that override what the plugin sets", function()
      for _, name in ipairs({ "Authorization", "content-type", "Content-Length", "Host" }) do
        refused(base({ token_headers = { [name] = "x" } }), "cannot be overridden")
      end
    end)
    it("a header value with a line break", function()
      refused(base({ token_headers = { ["X-A"] = "a\r\nInjected: 1" } }), "invalid value")
    end)
    it("timeouts out of range", function()
      refused(base({ connect_timeout = 0 }), "between")
      refused(base({ read_timeout = 600001 }), "between")
      refused(base({ send_timeout = -1 }), "between")
    end)
    it("a negative refresh_before or a zero default_expires_in", function()
      refused(base({ refresh_before = -1 }), "between")
      refused(base({ default_expires_in = 0 }), "between")
    end)
    it("purge statuses outside 100..599", function()
      refused(base({ purge_on_upstream_status = { 99 } }), "between")
      refused(base({ purge_on_upstream_status = { 600 } }), "between")
    end)
    it("a bad header name", function()
      refused(base({ header = "Bad Header" }), "bad header name")
      refused(base({ consumer_authorization_header = "a:b" }), "bad header name")
    end)
    it("keeping the consumer's Authorization when the token goes into Authorization", function()
      refused(base({ consumer_authorization = "keep" }), "needs a header other than")
      refused(base({ consumer_authorization = "keep", header = "authorization" }),
              "needs a header other than")
    end)
    it("moving the consumer's Authorization into the token header", function()
      refused(base({ header = "X-Token", consumer_authorization_header = "x-token" }),
              "must differ")
    end)
    it("Authorization as consumer_authorization_header (cleared on every request)", function()
      for _, mode in ipairs({ "move", "keep", "remove" }) do
        refused(base({ header = "X-Token", consumer_authorization = mode,
                       consumer_authorization_header = "authorization" }),
                "consumer_authorization_header cannot be Authorization")
      end
    end)
    it("an unknown consumer_authorization mode", function()
      refused(base({ consumer_authorization = "merge" }), "expected one of")
    end)
    it("token exchange without subject_token_source, or its fields without the grant", function()
      local TE = "urn:ietf:params:oauth:grant-type:token-exchange"
      refused(base({ grant_type = TE }), "subject_token_source is required")
      refused(base({ grant_type = TE, subject_token_source = "cookie" }), "expected one of")
      refused(base({ grant_type = TE, subject_token_source = "consumer_bearer",
                     actor_token_type = "urn:x" }), "actor_token_type needs actor_token")
      for _, f in ipairs({ "subject_token_source", "subject_token_type", "actor_token",
                           "actor_token_type", "requested_token_type" }) do
        local v = f == "subject_token_source" and "consumer_bearer" or "urn:x"
        refused(base({ [f] = v }), f .. " applies to grant_type " .. TE .. " only")
      end
      refused(base({ grant_type = "password" }), "expected one of")
      refused(base({ grant_type = TE, subject_token_source = "upstream_jwt",
                     exchange_cache_size = 0 }), "exchange_cache_size")
    end)
    it("RFC 8693 parameters in token_post_args", function()
      for _, k in ipairs({ "subject_token", "subject_token_type", "actor_token",
                           "actor_token_type", "requested_token_type" }) do
        refused(base({ token_post_args = { [k] = "x" } }), "set by the plugin")
      end
    end)
    it("a proxy URL that is not plain http, has userinfo, or an authorization without proxy", function()
      refused(base({ https_proxy = "https://proxy:3128" }), "absolute http:// URL")
      refused(base({ http_proxy = "socks5://proxy:1080" }), "absolute http:// URL")
      refused(base({ http_proxy = "http://user:pw@proxy:3128" }), "userinfo")
      refused(base({ http_proxy_authorization = "Basic eDp5" }),
              "http_proxy_authorization needs http_proxy")
      refused(base({ https_proxy_authorization = "Basic eDp5" }),
              "https_proxy_authorization needs https_proxy")
      refused(base({ http_proxy = "http://proxy:3128", no_proxy = "a, b" }), "no_proxy")
    end)
    it("an unknown cache strategy or out-of-range Redis settings", function()
      refused(base({ cache = { strategy = "memcached" } }), "expected one of")
      refused(base({ cache = { strategy = "redis", redis = { port = 0 } } }), "port")
      refused(base({ cache = { strategy = "redis", redis = { database = -1 } } }), "database")
      refused(base({ cache = { strategy = "redis", redis = { connect_timeout = 0 } } }),
              "connect_timeout")
      refused(base({ cache = { strategy = "redis", redis = { host = "" } } }), "host")
    end)
    it("an error status outside 500..599 or an empty error message", function()
      refused(base({ error_response_status = 499 }), "error_response_status")
      refused(base({ error_response_status = 600 }), "error_response_status")
      refused(base({ error_response_message = "" }), "error_response_message")
    end)
    it("an audience given as a string (it is a list)", function()
      refused(base({ audience = "https://api" }), "audience")
    end)
    it("an unknown field", function()
      refused(base({ client_secret_file = "/etc/secret" }), "unknown field")
    end)
  end)
end)
