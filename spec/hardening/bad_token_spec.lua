-- Bad-input table, token rows (docs/SECURITY.md): hostile tokens against the
-- native verifier through the same FFI binding the services use. Tokens are
-- built by hand (support/craft.lua: libcrypto HMAC over arbitrary bytes), so
-- a row can carry what no well-behaved signer would emit: duplicate members,
-- JSON bombs, numbers beyond int64, NULs. Also run against the ASan+UBSan
-- library by `make asan-lua`, where an overflow in the time arithmetic would
-- abort the run.
local root = (debug.getinfo(1, "S").source:sub(2):match("^(.*)/spec/hardening/[^/]*$")) or "."
package.path = root .. "/?.lua;" .. root .. "/spec/hardening/support/?.lua;" .. package.path
local native = require "kong.plugins.upstream-jwt.native"
local craft = require "craft"

local SECRET = "bad-token-spec-secret-0123456789abcdef"
local NOW = 1700000000
local HDR = '{"alg":"HS256","typ":"JWT"}'

local function read(path)
  local f = assert(io.open(root .. "/" .. path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

local function claims(extra)
  return ('{"iss":"kong","aud":"orders","iat":%d,"nbf":%d,"exp":%d,"jti":"j1"%s}')
    :format(NOW, NOW, NOW + 60, extra or "")
end

local function tok(payload, header)
  return craft.hs256(SECRET, header or HDR, payload or claims())
end

local verifier
local function verify(token, opts)
  opts = opts or {}
  opts.now = opts.now or NOW
  return verifier:verify(token, opts)
end

local function rejects(reason, token, opts)
  -- No time bound here: a timed assertion flakes on a loaded machine and
  -- under ASan; the cost of hostile input belongs in bench/.
  local c, got, msg = verify(token, opts)
  assert.is_nil(c, "accepted: " .. tostring(c and c:sub(1, 200)))
  assert.equal(reason, got, msg)
  return msg
end

describe("hardening: bad tokens", function()
  setup(function()
    -- for the secrets-grep spec (spec/hardening/secrets_spec.lua)
    local hdir = os.getenv("HARDENING_DIR")
    if hdir then
      os.execute("mkdir -p '" .. hdir .. "'")
      local f = io.open(hdir .. "/secrets.list", "a")
      if f then
        f:write(SECRET, "\n")
        f:close()
      end
    end
    verifier = assert(native.new_verifier())
    assert(verifier:add_key("HS256", SECRET))
    assert(verifier:add_key("ES256", read("test/keys/ec256.pub.pem"), "ec-1"))
  end)

  it("control: the hand-made token verifies", function()
    assert.truthy(verify(tok(), { issuer = "kong", audience = "orders", max_lifetime = 3600 }))
  end)

  describe("shape", function()
    it("two or four segments are malformed", function()
      local t = tok()
      rejects("malformed", t:match("^(.*)%.[^.]*$"))
      rejects("malformed", t .. ".x")
    end)
    it("'=' padding, '+' '/' and NUL are bad_base64", function()
      rejects("bad_base64", tok() .. "=")
      rejects("bad_base64", (tok():gsub("%-", "+")):gsub("_", "/") .. "+")
      rejects("bad_base64", "a\0b.c.d")
    end)
    it("a 10 MB token is refused on length before any decoding", function()
      rejects("token_too_long", ("A"):rep(10 * 1024 * 1024) .. "..")
    end)
    it("a header that is not an object, or repeats a member, is bad_header", function()
      rejects("bad_header", tok(nil, '[{"alg":"HS256"}]'))
      rejects("bad_header", tok(nil, '{"alg":"HS256","alg":"none"}'))
    end)
  end)

  describe("claims JSON", function()
    it("non-JSON, trailing bytes, two objects, invalid UTF-8, lone surrogates are bad_claims", function()
      rejects("bad_claims", tok("not json"))
      rejects("bad_claims", tok(claims() .. "xx"))
      rejects("bad_claims", tok(claims() .. claims()))
      rejects("bad_claims", tok(claims(',"sub":"\255\254"')))
      rejects("bad_claims", tok(claims(',"sub":"\\ud800"')))
    end)
    it("a duplicated claim is bad_claims (no first-wins / last-wins ambiguity)", function()
      rejects("bad_claims", tok(claims(',"exp":99999999999')))
      rejects("bad_claims", tok(claims(',"aud":"other"')))
    end)
    it("JSON bombs: 100 000-deep nesting, 300 000 unclosed brackets, 50 000 members, a 100 000-entry aud", function()
      local big = { max_token_length = 4 * 1024 * 1024 }
      -- parsed without recursion limits biting and without a crash; the
      -- nesting itself is legal JSON, the expired exp is what refuses it
      rejects("expired", tok('{"exp":1,"x":' .. ("["):rep(100000) .. ("]"):rep(100000) .. "}"), big)
      rejects("bad_claims", tok(("["):rep(300000)), big)
      local members = {}
      for i = 1, 50000 do members[i] = ('"k%d":%d'):format(i, i) end
      local c, r = verify(tok("{" .. table.concat(members, ",") .. ',"exp":' .. (NOW + 60) .. "}"), big)
      assert.truthy(c, r)
      c, r = verify(tok((claims():gsub('"aud":"orders"', '"aud":[' .. ('"x",'):rep(100000) .. '"orders"]'))),
                    { max_token_length = big.max_token_length, audience = "orders" })
      assert.truthy(c, r)
    end)
    it("numbers: exp 1e400 is bad_claims, exp as a string is bad_claims", function()
      rejects("bad_claims", tok('{"exp":1e400}'))
      rejects("bad_claims", tok(('{"exp":"%d"}'):format(NOW + 60)))
    end)
    it("numbers beyond int64 never overflow the time checks (UBSan build aborts if they do)", function()
      local lim = { max_lifetime = 3600 }
      rejects("lifetime_too_long", tok('{"exp":9223372036854775808}'), lim)
      rejects("lifetime_too_long", tok('{"exp":1e300}'), lim)
      rejects("lifetime_too_long", tok(('{"exp":%d,"iat":-9223372036854775808}'):format(NOW + 60)), lim)
      rejects("lifetime_too_long", tok('{"exp":9223372036854775807,"iat":-9223372036854775808}'), lim)
      rejects("expired", tok('{"exp":-9223372036854775808}'))
      rejects("issued_in_future", tok(('{"exp":%d,"iat":9223372036854775807}'):format(NOW + 60)))
      rejects("not_yet_valid", tok(('{"exp":%d,"nbf":9223372036854775807}'):format(NOW + 60)))
      -- extreme clock and leeway on the verifier side
      local c, r = verify(tok('{"exp":1e300}'), { now = 9223372036854775807LL, leeway = 4611686018427387904LL })
      assert.truthy(c, r)
    end)
  end)

  describe("signer clock bounds (regression: c_abi_fuzz found a token its own verifier refused)", function()
    -- Past 2^53 s a double cannot hold exp = now + 60 exactly; the signer
    -- now refuses clocks after 9999-12-31 instead of minting such tokens.
    it("now beyond year 9999 is refused; the last second of 9999 signs and verifies", function()
      local s = assert(native.new_signer("HS256", SECRET))
      local t, err = s:sign({ iss = "kong", now = 4611686018427387904, ttl = 60 })
      assert.is_nil(t)
      assert.matches("out of range", err)
      local last = 253402300799
      t = assert(s:sign({ iss = "kong", now = last, ttl = 60 }))
      assert.truthy(verify(t, { now = last }))
      assert.truthy(verify(t, { now = last + 59 }))
      local _, reason = verify(t, { now = last + 60 })
      assert.equal("expired", reason)
    end)
  end)

  describe("algorithm and key selection", function()
    it("alg none, None, and an unsigned token are alg_none", function()
      rejects("alg_none", craft.b64url('{"alg":"none"}') .. "." .. craft.b64url(claims()) .. ".")
      rejects("alg_none", tok(nil, '{"alg":"None"}'))
    end)
    it("an alg name in the wrong case is not an alias", function()
      rejects("alg_not_allowed", tok(nil, '{"alg":"hs256"}'))
    end)
    it("an HS256 token naming the ES256 key's kid is key_confusion, not an HMAC over the PEM", function()
      rejects("key_confusion", tok(nil, '{"alg":"HS256","kid":"ec-1"}'))
      -- the classic attack: HMAC keyed with the public key's PEM text
      local pem = read("test/keys/ec256.pub.pem")
      local forged = craft.hs256(pem, '{"alg":"HS256","kid":"ec-1"}', claims())
      rejects("key_confusion", forged)
    end)
    it("an unknown kid is unknown_kid only when no kid-less key may take it", function()
      local v = assert(native.new_verifier())
      assert(v:add_key("HS256", SECRET, "hs-1"))
      local _, reason = v:verify(tok(nil, '{"alg":"HS256","kid":"nope"}'), { now = NOW })
      assert.equal("unknown_kid", reason)
    end)
  end)

  describe("time, issuer, audience, binding, replay", function()
    it("expired / not yet valid / issued in the future, with and without leeway", function()
      rejects("expired", tok(('{"exp":%d}'):format(NOW - 1)))
      assert.truthy(verify(tok(('{"exp":%d}'):format(NOW - 1)), { leeway = 5 }))
      rejects("not_yet_valid", tok(('{"exp":%d,"nbf":%d}'):format(NOW + 60, NOW + 30)))
      rejects("issued_in_future", tok(('{"exp":%d,"iat":%d}'):format(NOW + 60, NOW + 30)))
    end)
    it("wrong iss, wrong aud (string or array) are refused; a missing one is missing_claim", function()
      rejects("bad_issuer", tok(), { issuer = "kong2" })
      rejects("bad_audience", tok(), { audience = "billing" })
      rejects("bad_audience", tok((claims():gsub('"aud":"orders"', '"aud":["a","b"]'))), { audience = "orders" })
      rejects("missing_claim", tok(('{"exp":%d}'):format(NOW + 60)), { issuer = "kong" })
    end)
    it("tampered method, path, query and body are each refused", function()
      local d = assert(native.sha256_b64(""))
      local bound = tok(claims((',"htm":"GET","htu":"/42","query_sha256":"%s","body_sha256":"%s"'):format(d, d)))
      local ok = { method = "GET", path = "/42", query = "", body_sha256 = d }
      assert.truthy(verify(bound, ok))
      local function with(k, v)
        local o = {}
        for a, b in pairs(ok) do o[a] = b end
        o[k] = v
        return o
      end
      rejects("method_mismatch", bound, with("method", "POST"))
      rejects("path_mismatch", bound, with("path", "/43"))
      rejects("query_mismatch", bound, with("query", "admin=1"))
      rejects("body_mismatch", bound, with("body_sha256", assert(native.sha256_b64("x"))))
      -- a token without the binding claims is not accepted where they are checked
      rejects("missing_claim", tok(), ok)
    end)
    it("a replayed jti is refused; a refused token burns no jti", function()
      local cache = assert(native.new_replay_cache(16))
      local t = tok()
      rejects("bad_issuer", t, { issuer = "x", replay_cache = cache })
      assert.truthy(verify(t, { replay_cache = cache }))
      rejects("replayed", t, { replay_cache = cache })
    end)
    it("a flipped signature bit is bad_signature", function()
      local t = tok()
      local last = t:sub(-2, -2)
      rejects("bad_signature", t:sub(1, -3) .. (last == "A" and "B" or "A") .. t:sub(-1))
    end)
  end)
end)
