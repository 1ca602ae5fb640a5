-- The FFI binding of the RFC 9421 / RFC 9530 part of libupstream_jwt.
local setup = require "spec.helpers.setup"
local native = setup.require_native()

local function read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

local KEYS = setup.root .. "/test/keys/rfc9421/"

-- RFC 9421 Appendix B.2 test-request, as (name, value) pairs.
local FIELDS = {
  "host", "example.com",
  "date", "Tue, 20 Apr 2021 02:07:55 GMT",
  "content-type", "application/json",
  "content-length", "18",
}

describe("native http-message-signature binding", function()
  it("reproduces RFC 9421 B.2.5 (hmac-sha256) exactly; a random nonce when asked", function()
    local s = assert(native.new_httpsig_signer("hmac-sha256", read(KEYS .. "test-shared-secret.bin"),
                                               "test-shared-secret"))
    local input, sig = s:sign("POST", "http://example.com/foo?param=Value&Pet=dog", FIELDS, 4, {
      label = "sig-b25", components = '("date" "@authority" "content-type")', created = 1618884473,
    })
    assert.equal("sig-b25=:pxcQw6G3AjtMBQjwo8XzkZf/bws5LelbaMk5rGIGtE8=:", sig)
    assert.equal('sig-b25=("date" "@authority" "content-type");created=1618884473;keyid="test-shared-secret"',
                 input)
    input = s:sign("POST", "http://example.com/foo?param=Value&Pet=dog", FIELDS, 4, {
      label = "sig-b25", components = '("date" "@authority" "content-type")', created = 1618884473,
      random_nonce = true,
    })
    assert.matches('^sig%-b25=%("date" "@authority" "content%-type"%);created=1618884473;'
                   .. 'keyid="test%-shared%-secret";nonce="[%w_-]+"$', input)
  end)

  it("signs with every algorithm and refuses a bad one or a wrong key", function()
    for alg, file in pairs({ ["ed25519"] = "test-key-ed25519.pem", ["ecdsa-p256-sha256"] = "test-key-ecc-p256.pem",
                             ["rsa-pss-sha512"] = "test-key-rsa-pss.pem", ["rsa-v1_5-sha256"] = "test-key-rsa.pem" }) do
      local s = assert(native.new_httpsig_signer(alg, read(KEYS .. file), "k"))
      local input, sig = s:sign("GET", "https://a.example/x", {}, 0, {
        label = "kong", components = '("@method" "@target-uri")', created = 1, expires = 61,
        tag = "t", include_alg = true,
      })
      assert.is_string(sig, input)
      assert.matches(';alg="' .. alg:gsub("%-", "%%-") .. '";', input)
      assert.matches(';expires=61;', input, 1, true)
    end
    local s, err = native.new_httpsig_signer("HS256", "x", nil)
    assert.is_nil(s)
    assert.matches("unsupported algorithm", err, 1, true)
    s, err = native.new_httpsig_signer("ed25519", read(KEYS .. "test-key-rsa.pem"), nil)
    assert.is_nil(s)
    assert.matches("does not match", err, 1, true)
    s = assert(native.new_httpsig_signer("ed25519", read(KEYS .. "test-key-ed25519.pem"), nil))
    local input, err2 = s:sign("GET", "https://a.example/x", {}, 0, { label = "kong", components = '("x-absent")' })
    assert.is_nil(input)
    assert.matches("not in the message", err2, 1, true)
  end)

  it("computes RFC 9530 Content-Digest from strings and from a file", function()
    local d = assert(native.new_content_digest("both"))
    assert(d:update('{"hello": '))
    assert(d:update('"world"}\n'))
    assert.equal("sha-256=:RK/0qy18MlBSVnWgjwz6lZEWjP/lF5HF9bvEF8FabDg=:, "
                 .. "sha-512=:YMAam51Jz/jOATT6/zvHrLVgOYTGFy1d6GJiOHTohq4yP+pgk4vf2aCsyRZOtw8MjkM7iw7yZ/WkppmM44T3qg==:",
                 d:final())
    local path = os.tmpname()
    setup.write_file(path, '{"hello": "world"}\n')
    local c = assert(native.new_content_digest("sha-256"))
    assert.equal(19, c:update_file(path))
    assert.equal("sha-256=:RK/0qy18MlBSVnWgjwz6lZEWjP/lF5HF9bvEF8FabDg=:", c:final())
    local total, err, code = c:update_file(path, 10)
    assert.is_nil(total)
    assert.equal("too_large", code, err)
    os.remove(path)
    assert.is_nil((native.new_content_digest("md5")))
  end)
end)
