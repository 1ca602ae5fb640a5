-- The FFI binding against the real libupstream_jwt: tokens it signs verify
-- with the native verifier and with an independent implementation (PyJWT).
local setup = require "spec.helpers.setup"
local native = setup.require_native()
local cjson = require "cjson"

local PY_VERIFY = [[
import sys, json, jwt
token, alg, key_path, aud = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
key = open(key_path, "rb").read()
claims = jwt.decode(token, key, algorithms=[alg], audience=aud or None, issuer="kong",
                    options={"require": ["exp", "iat", "nbf", "jti", "iss"]})
header = jwt.get_unverified_header(token)
print(json.dumps({"claims": claims, "header": header}))
]]

-- Verifies with PyJWT; returns the decoded {claims=, header=} or raises.
local function pyjwt_verify(token, alg, key, aud)
  local key_path = os.tmpname()
  setup.write_file(key_path, key)
  local ok, out = setup.run("/usr/bin/python3 -c " .. setup.shell_quote(PY_VERIFY) .. " "
                            .. setup.shell_quote(token) .. " " .. alg .. " " .. key_path .. " "
                            .. setup.shell_quote(aud or ""))
  os.remove(key_path)
  if not ok then
    return nil, out
  end
  return cjson.decode(out)
end

local SECRET = "an-hmac-secret-of-at-least-32-bytes!!"

local function full_claims(now)
  return {
    iss = "kong", aud = "orders", now = now, ttl = 120,
    sub = "c-1", consumer_id = "c-1", consumer_username = "alice", consumer_custom_id = "9",
    credential_id = "cred-1", htm = "PUT", htu = "/v1/items/3", query = "x=1",
    body_sha256 = native.sha256_b64("payload"), extra_json = '{"tenant":"acme"}',
  }
end

describe("native binding", function()
  it("loads the library and reports its version", function()
    assert.equal("0.1.0", native.version())
    assert.is_string(native.library_path)
  end)

  describe("digests", function()
    it("match the SHA-256 test vectors in base64url", function()
      assert.equal("47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU", native.sha256_b64(""))
      assert.equal("ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0", native.sha256_b64("abc"))
    end)

    it("stream to the same value as one shot, from strings, pointers and files", function()
      local data = string.rep("0123456789abcdef", 10000) .. "tail"
      local d = assert(native.new_digest())
      assert(d:update(data:sub(1, 1000)))
      assert(d:update(data:sub(1001)))
      assert.equal(native.sha256_b64(data), d:final())
      -- final() resets: the handle is reusable
      assert.equal(native.sha256_b64(""), d:final())

      local ffi = require "ffi"
      local buf = ffi.new("uint8_t[?]", #data)
      ffi.copy(buf, data, #data)
      assert(d:update_ptr(buf, #data))
      assert.equal(native.sha256_b64(data), d:final())

      local path = os.tmpname()
      setup.write_file(path, data)
      assert.equal(#data, d:update_file(path))
      assert.equal(setup.py_sha256_b64(path), d:final())
      local total, err, code = d:update_file(path, 1000)
      assert.is_nil(total)
      assert.equal("too_large", code)
      assert.is_string(err)
      assert(d:reset())
      os.remove(path)
      total, err, code = d:update_file("/nonexistent/file")
      assert.is_nil(total)
      assert.equal("io", code)
    end)

    it("refuses non-string input without throwing", function()
      local v, err = native.sha256_b64(42)
      assert.is_nil(v)
      assert.is_string(err)
    end)
  end)

  describe("signer", function()
    it("signs HS256 tokens that the native verifier and PyJWT both accept", function()
      local s = assert(native.new_signer("HS256", SECRET, "k1"))
      local now = os.time()
      local token = assert(s:sign(full_claims(now)))

      local v = assert(native.new_verifier())
      assert(v:add_key("HS256", SECRET, "k1"))
      local json, reason, msg = v:verify(token, {
        issuer = "kong", audience = "orders", method = "PUT", path = "/v1/items/3",
        query = "x=1", body_sha256 = native.sha256_b64("payload"), max_lifetime = 300,
      })
      assert(json, tostring(reason) .. ": " .. tostring(msg))

      local py = assert(pyjwt_verify(token, "HS256", SECRET, "orders"))
      assert.same({ alg = "HS256", typ = "JWT", kid = "k1" }, py.header)
      local c = py.claims
      assert.equal(now, c.iat)
      assert.equal(now + 120, c.exp)
      assert.equal("c-1", c.sub)
      assert.same({ id = "c-1", username = "alice", custom_id = "9" }, c.consumer)
      assert.same({ id = "cred-1" }, c.credential)
      assert.equal("PUT", c.htm)
      assert.equal("/v1/items/3", c.htu)
      assert.equal(native.sha256_b64("x=1"), c.query_sha256)
      assert.equal(native.sha256_b64("payload"), c.body_sha256)
      assert.equal("acme", c.tenant)
      -- the payload the verifier returns is the token's, claim for claim
      assert.same(c, cjson.decode(json))
    end)

    for _, case in ipairs({ { "RS256", "rsa" }, { "PS256", "rsa" }, { "ES256", "ec" },
                            { "EdDSA", "ed25519" } }) do
      it("signs " .. case[1] .. " tokens that PyJWT verifies with the public key", function()
        local pem = setup.private_key(case[2])
        local s = assert(native.new_signer(case[1], pem))
        local token = assert(s:sign({ iss = "kong", aud = "svc", ttl = 60 }))
        local py, err = pyjwt_verify(token, case[1], setup.public_key(pem), "svc")
        assert(py, err)
        assert.equal(case[1], py.header.alg)
        assert.is_nil(py.header.kid)

        local v = assert(native.new_verifier())
        assert(v:add_key(case[1], setup.public_key(pem)))
        assert(v:verify(token, { issuer = "kong", audience = "svc" }))
        -- and through the public JWKS the library derives from the key
        local jwks = assert(native.jwks_from_pem(pem, "jw-1", case[1]))
        local set = cjson.decode(jwks)
        assert.equal("jw-1", set.keys[1].kid)
        assert.is_nil(set.keys[1].d) -- never the private part
        local v2 = assert(native.new_verifier())
        assert(v2:add_jwk(jwks))
        local kid_token = assert(assert(native.new_signer(case[1], pem, "jw-1")):sign({ iss = "kong" }))
        assert(v2:verify(kid_token, { issuer = "kong" }))
      end)
    end

    it("grows its output buffer for large tokens", function()
      local s = assert(native.new_signer("HS256", SECRET))
      local big = string.rep("z", 20000)
      local token = assert(s:sign({ iss = "kong", extra_json = cjson.encode({ blob = big }) }))
      assert.is_true(#token > 20000)
      local v = assert(native.new_verifier())
      assert(v:add_key("HS256", SECRET))
      local json = assert(v:verify(token, { max_token_length = 100000 }))
      assert.equal(big, cjson.decode(json).blob)
    end)

    it("returns nil and a message, never the key, for unusable keys", function()
      local cases = {
        { "HS256", string.rep("s", 31) },
        { "HS512", string.rep("s", 63) },
        { "RS256", "-----BEGIN PRIVATE KEY-----\nQUJDREVGR0g=\n-----END PRIVATE KEY-----\n" },
        { "ES256", setup.private_key("rsa") },
        { "RS256", setup.private_key("rsa1024") },
        { "none", SECRET },
        { "HS257", SECRET },
      }
      for _, case in ipairs(cases) do
        local s, err = native.new_signer(case[1], case[2])
        assert.is_nil(s, case[1] .. " was accepted")
        assert.is_string(err)
        assert.is_true(#err > 0)
        assert.not_matches(case[2], err, 1, true)
        assert.not_matches("QUJDREVGR0g", err, 1, true)
      end
      local s, err = native.new_signer(nil, SECRET)
      assert.is_nil(s)
      assert.is_string(err)
    end)

    it("refuses extra claims that override registered ones, and bad claim types", function()
      local s = assert(native.new_signer("HS256", SECRET))
      local t, err = s:sign({ iss = "kong", extra_json = '{"sub":"admin"}' })
      assert.is_nil(t)
      assert.is_string(err)
      t, err = s:sign({ iss = "kong", extra_json = '["not an object"]' })
      assert.is_nil(t)
      assert.is_string(err)
      t, err = s:sign({ iss = 7 })
      assert.is_nil(t)
      assert.matches("iss", err)
      t, err = s:sign({})
      assert.is_nil(t)
      assert.matches("iss", err)
    end)
  end)

  describe("verifier", function()
    local s = assert(native.new_signer("HS256", SECRET))
    local v = assert(native.new_verifier())
    assert(v:add_key("HS256", SECRET))

    it("names the reason a token is refused", function()
      local now = 1700000000
      local token = assert(s:sign(full_claims(now)))
      local cases = {
        { { now = now + 1000 }, "expired" },
        { { now = now - 1000 }, { not_yet_valid = true, issued_in_future = true } },
        { { issuer = "other" }, "bad_issuer" },
        { { audience = "other" }, "bad_audience" },
        { { method = "GET" }, "method_mismatch" },
        { { path = "/v1/items/4" }, "path_mismatch" },
        { { query = "x=2" }, "query_mismatch" },
        { { body_sha256 = native.sha256_b64("tampered") }, "body_mismatch" },
        { { max_lifetime = 60 }, "lifetime_too_long" },
      }
      for _, case in ipairs(cases) do
        local opts = case[1]
        opts.now = opts.now or now + 1
        local json, reason, msg = v:verify(token, opts)
        assert.is_nil(json)
        if type(case[2]) == "table" then
          assert.is_true(case[2][reason], tostring(reason))
        else
          assert.equal(case[2], reason)
        end
        assert.is_string(msg)
      end
      local json, reason = v:verify(token:sub(1, -3) .. (token:sub(-2, -2) == "A" and "BA" or "AA"),
                                    { now = now + 1 })
      assert.is_nil(json)
      assert.is_truthy(reason == "bad_signature" or reason == "bad_base64")
      json, reason = v:verify("a.b", {})
      assert.is_nil(json)
      assert.equal("malformed", reason)
    end)

    it("refuses a replayed jti when given a replay cache", function()
      local cache = assert(native.new_replay_cache(100))
      local token = assert(s:sign({ iss = "kong", ttl = 60 }))
      assert(v:verify(token, { replay_cache = cache }))
      local json, reason = v:verify(token, { replay_cache = cache })
      assert.is_nil(json)
      assert.equal("replayed", reason)
    end)

    it("refuses a token signed with another key", function()
      local other = assert(native.new_signer("HS256", string.rep("o", 32)))
      local json, reason = v:verify(assert(other:sign({ iss = "kong" })), {})
      assert.is_nil(json)
      assert.equal("bad_signature", reason)
    end)

    it("reports add_key errors as nil and a message", function()
      local v2 = assert(native.new_verifier())
      local ok, err = v2:add_key("RS256", "not a pem")
      assert.is_nil(ok)
      assert.is_string(err)
      ok, err = v2:add_jwk("{not json")
      assert.is_nil(ok)
      assert.is_string(err)
    end)
  end)
end)
