-- config.bind_headers: the schema's refusals, and the `hdrs`/`hdr_sha256`
-- claims the handler signs, checked against a digest computed here from the
-- canonical form (Python's hashlib, not the library under test) and against
-- the native verifier.
local setup = require "spec.helpers.setup"
local double = require "spec.helpers.kong_double"
local native = setup.require_native()
local validator = require "kong_schema_validator"
local schema = require "kong.plugins.upstream-jwt.schema"
local handler = require "kong.plugins.upstream-jwt.handler"
local cjson = require "cjson"

local SECRET32 = string.rep("s", 32)

local counter = 0
local function fresh_secret()
  counter = counter + 1
  return ("bind-headers-%04d-"):format(counter) .. string.rep("y", 32)
end

local function validate(config)
  return validator.validate(schema, config)
end

local function make_conf(fields)
  local conf, _, msg = validate(fields)
  assert(conf, msg)
  return conf
end

local tmp = os.tmpname()
local function digest_of(text)
  setup.write_file(tmp, text)
  return setup.py_sha256_b64(tmp)
end

local function payload_of(token)
  local seg = token:match("^[^.]+%.([^.]+)%."):gsub("-", "+"):gsub("_", "/")
  return cjson.decode(double.decode_base64(seg .. string.rep("=", (4 - #seg % 4) % 4)))
end

local function request(headers)
  return {
    method = "POST", path = "/orders", upstream_uri = "/v1/orders", query = "",
    headers = headers, body = "{}", service = { name = "orders" },
  }
end

local function sign(conf, req)
  double.install(req)
  local st = double.run(handler, conf)
  assert(st.exit == nil, "handler exited: " .. double.all_logs())
  return assert(st.upstream_headers[conf.header:lower()]), st
end

-- The request's headers as the upstream receives them, in the pairs form
-- Verifier:verify takes.
local function header_pairs(st)
  local out = {}
  for name, v in pairs(st.upstream_headers) do
    for _, one in ipairs(type(v) == "table" and v or { v }) do
      out[#out + 1] = name
      out[#out + 1] = one
    end
  end
  return out
end

describe("upstream-jwt bind_headers", function()
  teardown(function()
    os.remove(tmp)
  end)

  describe("schema", function()
    it("defaults to no binding and keeps the configured names and order", function()
      assert.same({}, make_conf({ secret = SECRET32 }).bind_headers)
      local conf = make_conf({ secret = SECRET32,
                               bind_headers = { "X-HTTP-Method-Override", "content-type", "X_Tenant" } })
      assert.same({ "X-HTTP-Method-Override", "content-type", "X_Tenant" }, conf.bind_headers)
    end)

    it("has a description", function()
      for _, f in ipairs(schema.fields) do
        if f.config then
          for _, cf in ipairs(f.config.fields) do
            if cf.bind_headers then
              assert.matches("hdr_sha256", cf.bind_headers.description, 1, true)
              return
            end
          end
        end
      end
      error("no config.bind_headers field")
    end)

    it("refuses names that are not RFC 9110 tokens", function()
      for _, bad in ipairs({ "", "X Foo", "a,b", "X-Foo:", "Ünicode", "X-Foo\r\n", "(x)" }) do
        local conf, errs = validate({ secret = SECRET32, bind_headers = { bad } })
        assert.is_nil(conf, ("%q was accepted"):format(bad))
        assert.is_table(errs.config.bind_headers, bad)
      end
    end)

    it("refuses headers nginx or Kong sets for the upstream, in any spelling", function()
      for _, name in ipairs({ "Host", "content-length", "Content_Length", "TRANSFER-ENCODING",
                              "Connection", "TE", "Keep-Alive", "Expect", "Upgrade", "Via",
                              "X-Forwarded-For", "x_forwarded_proto", "X-Real-IP",
                              "X-Kong-Request-Id" }) do
        local conf, _, msg = validate({ secret = SECRET32, bind_headers = { "Content-Type", name } })
        assert.is_nil(conf, name .. " was accepted")
        assert.matches("cannot be bound", msg, 1, true)
      end
    end)

    it("refuses a name listed twice, compared case-insensitively with '_' as '-'", function()
      for _, pair in ipairs({ { "X-A", "x-a" }, { "X-A", "X_A" } }) do
        local conf, _, msg = validate({ secret = SECRET32, bind_headers = pair })
        assert.is_nil(conf)
        assert.matches("listed twice", msg, 1, true)
      end
    end)

    it("refuses the token header itself", function()
      for _, case in ipairs({ { nil, "x-upstream-jwt" }, { nil, "X_Upstream_JWT" },
                              { "Authorization", "authorization" } }) do
        local conf, _, msg = validate({ secret = SECRET32, header = case[1], bind_headers = { case[2] } })
        assert.is_nil(conf, case[2] .. " was accepted")
        assert.matches("token header", msg, 1, true)
      end
    end)
  end)

  describe("claims", function()
    it("are absent without bind_headers, and the headers are not listed for a GET", function()
      local conf = make_conf({ secret = fresh_secret() })
      local req = request({})
      req.method, req.body = "GET", ""
      local token, st = sign(conf, req)
      local claims = payload_of(token)
      assert.is_nil(claims.hdrs)
      assert.is_nil(claims.hdr_sha256)
      assert.equal(0, st.calls.get_headers)
    end)

    it("name the bound headers lowercased in configured order and hash their canonical lines", function()
      local secret = fresh_secret()
      local conf = make_conf({ secret = secret,
                               bind_headers = { "X-HTTP-Method-Override", "Content-Type", "X-Absent" } })
      local token, st = sign(conf, request({ ["Content-Type"] = "application/json",
                                             ["X-HTTP-Method-Override"] = "  DELETE\t" }))
      local claims = payload_of(token)
      assert.same({ "x-http-method-override", "content-type", "x-absent" }, claims.hdrs)
      assert.equal(digest_of("x-http-method-override:DELETE\ncontent-type:application/json\nx-absent:\n"),
                   claims.hdr_sha256)
      -- every header listed, not Kong's default of the first 100
      assert.equal(0, st.get_headers_max)
      local v = assert(native.new_verifier())
      assert(v:add_key("HS256", secret))
      local ok, reason, msg = v:verify(token, { headers = header_pairs(st),
                                                required_headers = "X-HTTP-Method-Override" })
      assert(ok, tostring(reason) .. ": " .. tostring(msg))
    end)

    it("join a repeated header's values in the order received", function()
      local conf = make_conf({ secret = fresh_secret(), bind_headers = { "X-Tag" } })
      local token = sign(conf, request({ ["X-Tag"] = { " a ", "b", "c d" } }))
      assert.equal(digest_of("x-tag:a, b, c d\n"), payload_of(token).hdr_sha256)
    end)

    it("cover the headers the upstream receives: an underscore spelling of a bound header is removed", function()
      local conf = make_conf({ secret = fresh_secret(), bind_headers = { "X-HTTP-Method-Override" } })
      local token, st = sign(conf, request({ X_HTTP_Method_Override = "DELETE" }))
      assert.is_nil(st.upstream_headers["x_http_method_override"])
      assert.equal(digest_of("x-http-method-override:\n"), payload_of(token).hdr_sha256)
    end)

    it("keep a bound name spelled with '_' and remove its '-' spelling", function()
      local conf = make_conf({ secret = fresh_secret(), bind_headers = { "X_Tenant" } })
      local token, st = sign(conf, request({ X_Tenant = "acme", ["X-Tenant"] = "evil" }))
      assert.equal("acme", st.upstream_headers["x_tenant"])
      assert.is_nil(st.upstream_headers["x-tenant"])
      assert.same({ "x_tenant" }, payload_of(token).hdrs)
      assert.equal(digest_of("x_tenant:acme\n"), payload_of(token).hdr_sha256)
    end)

    it("let a verifier catch a header changed after signing", function()
      local secret = fresh_secret()
      local conf = make_conf({ secret = secret, bind_headers = { "X-HTTP-Method-Override" } })
      local token, st = sign(conf, request({ ["X-HTTP-Method-Override"] = "PATCH" }))
      st.upstream_headers["x-http-method-override"] = "DELETE"
      local v = assert(native.new_verifier())
      assert(v:add_key("HS256", secret))
      local ok, reason = v:verify(token, { headers = header_pairs(st) })
      assert.is_nil(ok)
      assert.equal("header_mismatch", reason)
      -- and a service that requires a header the token does not bind
      st.upstream_headers["x-http-method-override"] = "PATCH"
      ok, reason = v:verify(token, { headers = header_pairs(st), required_headers = "content-type" })
      assert.is_nil(ok)
      assert.equal("header_mismatch", reason)
    end)

    it("fail closed when the library refuses a bound value", function()
      local conf = make_conf({ secret = fresh_secret(), bind_headers = { "X-Bad" } })
      double.install(request({ ["X-Bad"] = "a\r\nb" }))
      local st = double.run(handler, conf)
      assert.equal(500, st.exit.status)
      assert.matches("cannot hash the bound headers", double.all_logs(), 1, true)
      assert.is_nil(st.upstream_headers["x-upstream-jwt"])
    end)
  end)
end)
