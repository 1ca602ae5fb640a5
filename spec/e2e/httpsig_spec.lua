-- format: http-message-signature end to end: dev/gateway signs each request
-- with RFC 9421 (and adds RFC 9530 Content-Digest and the consumer headers);
-- a Node upstream verifies with the npm http-message-signatures package, for
-- every algorithm the format offers, with the RFC 9421 test keys.
local H = require "spec.e2e.e2e_helpers"
local R = require "spec.e2e.rawwire_helpers"
local cjson_null = require("cjson.safe").null

local P = {} -- ports, assigned in setup
local KEYS = H.root .. "/test/keys/rfc9421/"
local INTEROP = H.root .. "/test/interop/httpsig"
local JWT_SECRET = "httpsig-e2e-jwt-format-secret-0123456789"

-- plugin algorithm -> RFC 9421 name, private key (config), public key (service)
local ALGS = {
  { "HS256", "hmac-sha256", nil, "test-shared-secret.bin" },
  { "RS256", "rsa-v1_5-sha256", "test-key-rsa.pem", "test-key-rsa.pub.pem" },
  { "PS256", "rsa-pss-sha512", "test-key-rsa-pss.pem", "test-key-rsa-pss.pub.pem" },
  { "ES256", "ecdsa-p256-sha256", "test-key-ecc-p256.pem", "test-key-ecc-p256.pub.pem" },
  { "EdDSA", "ed25519", "test-key-ed25519.pem", "test-key-ed25519.pub.pem" },
}

-- The upstream-jwt entry of the `authed` and `hsraw` routes (EdDSA under gw-eddsa).
local EDDSA_PLUGIN = [[
          - name: upstream-jwt
            config:
              format: http-message-signature
              algorithm: EdDSA
              private_key: "{vault://env/e2e-httpsig-eddsa}"
              key_id: gw-eddsa
              signature_tag: e2e
]]

local function config()
  local routes = {}
  for _, a in ipairs(ALGS) do
    local alg = a[1]
    local key = a[3] and ('private_key: "{vault://env/e2e-httpsig-' .. alg:lower() .. '}"')
                      or 'secret: "{vault://env/e2e-httpsig-secret}"\n              secret_is_base64: true'
    routes[#routes + 1] = ([[
      - name: %s
        paths: [/%s]
        plugins:
          - name: upstream-jwt
            config:
              format: http-message-signature
              algorithm: %s
              %s
              key_id: gw-%s
              signature_tag: e2e
              bind_headers: [X-Request-Purpose]
]]):format(alg, alg:lower(), alg, key, alg:lower())
  end
  routes[#routes + 1] = [[
      - name: rewritten
        paths: [/rewritten]
        plugins:
          - name: upstream-jwt
            config:
              format: http-message-signature
              algorithm: ES256
              private_key: "{vault://env/e2e-httpsig-es256}"
              key_id: gw-es256
              signature_tag: e2e
          - name: e2e-late-rewrite
            config:
              set:
                Content-Type: text/html
      - name: authed
        paths: [/authed]
        plugins:
          - name: key-auth
            config:
              hide_credentials: true
]] .. EDDSA_PLUGIN .. [[
              signature_label: gateway
]]
  return ([[
_format_version: "3.0"
services:
  - name: verifier
    url: http://127.0.0.1:%d/base
    routes:
%s
  - name: recorder
    url: http://127.0.0.1:%d/api
    routes:
      - name: hsraw
        paths: [/hsraw]
        plugins:
%s      - name: jwtraw
        paths: [/jwtraw]
        plugins:
          - name: upstream-jwt
            config:
              secret: %s
consumers:
  - username: alice
    id: 5a1c3e00-0000-4000-8000-00000000a11c
    keyauth_credentials:
      - key: k-alice
        id: 6b3a2a4e-0000-4000-8000-0000000000c1
]]):format(P.verifier, table.concat(routes), P.recorder, EDDSA_PLUGIN, JWT_SECRET)
end

describe("e2e: http-message-signature format", function()
  local dir, group

  setup(function()
    assert(H.read(INTEROP .. "/node_modules/http-message-signatures/package.json"),
           "run `make deps` (npm http-message-signatures for the verifying upstream)")
    dir, group = H.prepare(P, { "gateway", "verifier", "recorder" })
    R.start_upstream(group, "recorder", P.recorder)
    local key_args = {}
    for _, a in ipairs(ALGS) do
      key_args[#key_args + 1] = "--key " .. H.q("gw-" .. a[1]:lower() .. "=" .. a[2] .. ":" .. KEYS .. a[4])
    end
    group:start("verifier", "node " .. H.q(INTEROP .. "/verify_upstream.mjs") .. " --port " .. P.verifier
                .. " --tag e2e " .. table.concat(key_args, " "), P.verifier)
    local env = { E2E_HTTPSIG_SECRET = (H.read(KEYS .. "test-shared-secret.txt"):gsub("%s+$", "")) }
    for _, a in ipairs(ALGS) do
      if a[3] then
        env["E2E_HTTPSIG_" .. a[1]:upper()] = H.read(KEYS .. a[3])
      end
    end
    -- e2e-late-rewrite: a plugin that changes a header after the signature.
    env.KONG_LUA_PACKAGE_PATH = H.root .. "/spec/e2e/support/plugins/?.lua"
    H.start_gateway(group, "gateway", config(), P.gateway, env)
  end)

  teardown(function()
    H.cleanup(dir, group)
  end)

  for _, a in ipairs(ALGS) do
    it(a[1] .. " (" .. a[2] .. "): the service verifies signature and Content-Digest", function()
      local res = H.request({
        method = "POST",
        url = H.url(P.gateway, "/" .. a[1]:lower() .. "/orders?id=7&note=a+b"),
        headers = { ["Content-Type"] = "application/json", ["X-Request-Purpose"] = "checkout" },
        body = '{"item":"book","qty":2}',
      })
      assert.equal(200, res.status, res.body)
      assert.is_true(res.json.verified)
      assert.equal("gw-" .. a[1]:lower(), res.json.keyid)
      assert.equal(a[2], res.json.alg)
      assert.same({ "@method", "@target-uri", "@authority", "content-digest", "content-type",
                    "x-request-purpose" }, res.json.covered)
      assert.equal(23, res.json.body_bytes)
    end)
  end

  it("signs a GET without a body (digest of empty content) and without Content-Type", function()
    local res = H.request({ url = H.url(P.gateway, "/eddsa/x") })
    assert.equal(200, res.status, res.body)
    assert.same({ "@method", "@target-uri", "@authority", "content-digest" }, res.json.covered)
  end)

  it("hashes a body nginx spilled to a temp file", function()
    local file = H.random_file(dir .. "/big.bin", 300 * 1024)
    local res = H.request({ method = "PUT", url = H.url(P.gateway, "/es256/upload"), body_file = file })
    assert.equal(200, res.status, res.body)
    assert.equal(300 * 1024, res.json.body_bytes)
  end)

  it("adds the consumer headers, covered, and drops the client's spellings of them", function()
    local res = H.request({
      method = "POST",
      url = H.url(P.gateway, "/authed/me"),
      headers = {
        apikey = "k-alice",
        ["X-Consumer-ID"] = "forged",
        ["X_Consumer_Username"] = "mallory",
        ["Signature"] = "kong=:AAAA:",
        ["Signature-Input"] = 'kong=("@method");created=1;keyid="gw-eddsa"',
        ["Content-Digest"] = "sha-256=:AAAA:",
        ["Content-Type"] = "text/plain",
        ["X-Upstream-JWT"] = "forged.jwt.token",
      },
      body = "hello",
    })
    assert.equal(200, res.status, res.body)
    assert.equal(cjson_null, res.json.jwt_header)
    assert.same({ id = "5a1c3e00-0000-4000-8000-00000000a11c", username = "alice" }, res.json.consumer)
    assert.equal("6b3a2a4e-0000-4000-8000-0000000000c1", res.json.credential)
    assert.same({ "@method", "@target-uri", "@authority", "content-digest", "content-type",
                  "x-consumer-id", "x-consumer-username", "x-credential-identifier" }, res.json.covered)
  end)

  it("a header changed after signing fails verification at the service", function()
    local res = H.request({
      method = "POST",
      url = H.url(P.gateway, "/rewritten/x"),
      headers = { ["Content-Type"] = "application/json" },
      body = "{}",
    })
    assert.equal(401, res.status, res.body)
    assert.matches("signature", res.json.error)
  end)

  it("the service refuses a request that did not come through the gateway", function()
    local res = H.request({
      method = "POST",
      url = H.url(P.verifier, "/base/orders"),
      headers = { ["Content-Type"] = "application/json", ["X-Consumer-ID"] = "forged" },
      body = "{}",
    })
    assert.equal(401, res.status, res.body)
  end)

  -- Raw request lines (bytes curl would encode) to the `hsraw` route, whose
  -- upstream records exactly what it receives. A URI byte RFC 9421 cannot
  -- carry in @target-uri: the gateway percent-encodes it in the path (Kong's
  -- runloop escapes $upstream_uri), so the signature covers what the
  -- upstream receives; in the query Kong forwards the client's bytes, so the
  -- plugin refuses the request with 400 rather than sign a URI no verifier
  -- rebuilds (or forward it unsigned). nginx itself answers 400 to a control
  -- byte anywhere in the request line.
  describe("raw URI bytes", function()
    local function send(target)
      return R.send(P.gateway, R.request("GET", target, {}))
    end

    local function recorded()
      return H.request({ url = H.url(P.recorder, "/__stats") }).json.requests
    end

    -- `upstream-jwt httpsig verify` over the request as the recorder got it:
    -- its request line's target (bytes), its headers, an empty body.
    local function verify_seen(seen)
      local method, target = seen.raw:match("^(%u+) (%S+) HTTP/1%.1\r\n")
      assert(target, seen.raw)
      local host, lines = nil, {}
      for _, h in ipairs(seen.headers) do
        if h[1]:lower() == "host" then
          host = h[2]
        end
        lines[#lines + 1] = h[1] .. ": " .. h[2]
      end
      local headers = H.write(dir .. "/seen-headers", table.concat(lines, "\n") .. "\n")
      local body = H.write(dir .. "/seen-body", "")
      local ok, out = H.sh(table.concat({
        H.q(H.cli), "httpsig", "verify", "--alg", "ed25519", "--key", H.q(KEYS .. "test-key-ed25519.pub.pem"),
        "--keyid", "gw-eddsa", "--tag", "e2e", "--method", method, "--url", H.q("http://" .. host .. target),
        "--headers", H.q(headers), "--body", H.q(body),
        "--require", H.q('("@method" "@target-uri" "@authority" "content-digest")'),
      }, " "))
      return ok, out, target
    end

    local function refused(target, byte_hex)
      local before = recorded()
      local res = send(target)
      assert.equal(400, res.status, target .. ": " .. tostring(res.body))
      assert.equal(before, recorded(), target .. " reached the upstream")
      if byte_hex then
        -- the plugin's answer and log line (nginx answers a control byte itself)
        assert.matches("percent%-encoded", res.json and res.json.message or "", 1, false)
        assert.matches("the upstream query has byte 0x" .. byte_hex, H.read(dir .. "/gateway.log"), 1, true)
      end
    end

    it("query: a raw byte 0x80-0xFF is refused with 400 and a log line, nothing is forwarded", function()
      refused("/hsraw/x?q=caf\xC3\xA9", "C3 at offset 5")
      refused("/hsraw/x?\x80", "80 at offset 0")
      refused("/hsraw/x?a=1&b=\xFF", "FF at offset 6")
      refused("/hsraw/x?x=\xE2\x98\x95&y=2", "E2 at offset 2")
      -- the same request to the npm-verified route: 400 there too
      local res = send("/eddsa/x?q=caf\xC3\xA9")
      assert.equal(400, res.status, res.body)
    end)

    it("query: a raw control byte or DEL never reaches the upstream (400)", function()
      for _, q in ipairs({ "a=\x01", "a=\x1F", "a=\tb", "a=\x7F" }) do
        refused("/hsraw/x?" .. q)
      end
    end)

    it("path: raw bytes 0x80-0xFF are forwarded percent-encoded by Kong and the signature verifies", function()
      for _, case in ipairs({
        { "/hsraw/caf\xC3\xA9", "/api/caf%C3%A9" },
        { "/hsraw/\x80\xFF", "/api/%80%FF" },
        { "/hsraw/a\xE2\x98\x95b?q=1", "/api/a%E2%98%95b?q=1" },
      }) do
        local res = send(case[1])
        assert.equal(200, res.status, res.body)
        local seen = R.received(res, "Signature")
        local ok, out, target = verify_seen(seen)
        assert.equal(case[2], target)
        assert(ok, out)
      end
      -- and npm http-message-signatures verifies the same
      local res = send("/eddsa/caf\xC3\xA9")
      assert.equal(200, res.status, res.body)
      assert.is_true(res.json.verified)
    end)

    it("path: a raw control byte or an encoded NUL is refused (400), nothing is forwarded", function()
      -- (%00 in the path: Kong's router refuses it)
      for _, p in ipairs({ "/hsraw/a\x01b", "/hsraw/a\x7Fb", "/hsraw/a\tb", "/hsraw/a%00b" }) do
        refused(p)
      end
    end)

    it("percent-encoded forms (of non-ASCII, controls, '%' itself, even malformed) are signed as forwarded", function()
      for _, case in ipairs({
        { "/hsraw/x?q=caf%C3%A9&x=a+b", "/api/x?q=caf%C3%A9&x=a+b" },
        { "/hsraw/x?z=%00%0A%7F%FF", "/api/x?z=%00%0A%7F%FF" },
        { "/hsraw/x?bad=%zz&pct=%&h=%23", "/api/x?bad=%zz&pct=%&h=%23" },
        { "/hsraw/x?q=\"<>{|}^`[]\\'", "/api/x?q=\"<>{|}^`[]\\'" },
        -- Kong's router decodes unreserved escapes and re-escapes the rest of the path
        { "/hsraw/caf%C3%A9/a%20b%7E%7F", "/api/caf%C3%A9/a%20b~%7F" },
        -- nginx drops a fragment: the signature covers the URI without it, as forwarded
        { "/hsraw/x?a#frag", "/api/x?a" },
      }) do
        local res = send(case[1])
        assert.equal(200, res.status, case[1] .. ": " .. tostring(res.body))
        local ok, out, target = verify_seen(R.received(res, "Signature"))
        assert.equal(case[2], target)
        assert(ok, out)
      end
      for _, t in ipairs({ "/eddsa/x?q=caf%C3%A9&z=%00%0A%7F%FF&bad=%zz&pct=%", "/eddsa/caf%C3%A9/a%20b%7E%7F",
                           "/eddsa/x?q=\"<>{|}^`[]\\'" }) do
        local res = send(t)
        assert.equal(200, res.status, t .. ": " .. tostring(res.body))
        assert.is_true(res.json.verified, t)
      end
    end)

    it("format jwt: the query digest covers the raw bytes forwarded; a control byte is refused by nginx", function()
      local secret = H.write(dir .. "/jwt-secret", JWT_SECRET)
      local empty = H.write(dir .. "/jwt-body", "")
      for _, case in ipairs({
        { "/jwtraw/x?q=caf\xC3\xA9&b=\x80\xFF", "/api/x", "q=caf\xC3\xA9&b=\x80\xFF" },
        { "/jwtraw/caf\xC3\xA9?q=%C3%A9", "/api/caf%C3%A9", "q=%C3%A9" },
        { "/jwtraw/x?q=\"<>{|}^`[]", "/api/x", "q=\"<>{|}^`[]" },
      }) do
        local res = send(case[1])
        assert.equal(200, res.status, res.body)
        local seen = R.received(res)
        local target = seen.raw:match("^GET (%S+) HTTP/1%.1\r\n")
        assert.equal(case[2] .. "?" .. case[3], target)
        local ok, out = H.cli_verify({ "--alg", "HS256", "--key", secret, "--aud", "recorder", "--iss", "kong",
                                       "--method", "GET", "--path", case[2], "--query", case[3],
                                       "--body", empty }, seen.token)
        assert(ok, out)
        -- the binding is to the bytes: another spelling of the query fails
        ok = H.cli_verify({ "--alg", "HS256", "--key", secret, "--aud", "recorder", "--iss", "kong",
                            "--method", "GET", "--path", case[2], "--query", case[3] .. "&",
                            "--body", empty }, seen.token)
        assert.is_false(ok)
      end
      for _, t in ipairs({ "/jwtraw/x?a=\x01", "/jwtraw/a\x7Fb" }) do
        local before = recorded()
        local res = send(t)
        assert.equal(400, res.status, res.body)
        assert.equal(before, recorded())
      end
    end)
  end)

  it("signs a bare '?' that Kong keeps in the upstream URI, and an empty query after '?' as nginx sees it", function()
    -- Kong's runloop keeps "/x?" upstream (nginx alone would drop the '?'), so the signed
    -- @target-uri must end in '?' too, or the service sees another URI than the one signed.
    for _, path in ipairs({ "/eddsa/x?", "/hs256/x?", "/eddsa/x" }) do
      local res = H.request({ url = H.url(P.gateway, path) })
      assert.equal(200, res.status, path .. ": " .. tostring(res.body))
      assert.is_true(res.json.verified, path)
    end
  end)

  it("an unauthenticated request to a key-auth route never reaches the service", function()
    local res = H.request({ url = H.url(P.gateway, "/authed/me"), headers = { ["X-Consumer-ID"] = "forged" } })
    assert.equal(401, res.status)
  end)
end)
