-- Underscore look-alikes of the framing headers, sent on a raw socket through
-- dev/gateway (nginx with `underscores_in_headers on`, as Kong runs it) to an
-- upstream that records the exact bytes it receives.
--
-- nginx frames the body by the header named exactly Content-Length or
-- Transfer-Encoding; $http_content_length answers with the first header of
-- any '-'/'_' spelling. Whether the plugin reads and hashes a body must follow
-- nginx, and a look-alike must not reach a service that folds '_' into '-'.
local H = require "spec.e2e.e2e_helpers"
local R = require "spec.e2e.rawwire_helpers"

local P = {}
local SECRET = "framing-spec-secret-0123456789abcdef"
local SHA256_EMPTY = "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU"

local function config()
  return ([[
_format_version: "3.0"
services:
  - name: raw
    url: http://127.0.0.1:%d/api
    routes:
      - name: open
        paths: [/open]
      - name: small
        paths: [/small]
        plugins:
          - name: upstream-jwt
            config:
              secret: %s
              max_body_size: 100
plugins:
  - name: upstream-jwt
    config:
      secret: %s
]]):format(P.upstream, SECRET, SECRET)
end

local secret_file

-- Verifies the token with the project's CLI against what the upstream got.
local function verify(seen, path, body)
  local body_file = os.tmpname()
  H.write(body_file, body)
  local ok, out = H.cli_verify({ "--alg", "HS256", "--key", secret_file, "--aud", "raw",
                                 "--method", "POST", "--path", path, "--query", "",
                                 "--body", body_file }, seen.token)
  os.remove(body_file)
  return ok, out
end

describe("e2e: framing look-alikes", function()
  local dir, group

  setup(function()
    dir, group = R.start_upstream_and_gateway(P, config)
    secret_file = H.write(dir .. "/secret", SECRET)
  end)

  teardown(function()
    H.cleanup(dir, group)
  end)

  describe("the body is read as nginx framed it", function()
    it("Content_Length: 0 does not hide a chunked body above max_body_size: 413, nothing proxied", function()
      local before = H.stats(P.upstream).requests
      local res = R.send(P.gateway, R.request("POST", "/small/x",
        { "Content_Length: 0", "Transfer-Encoding: chunked" }, R.chunked(string.rep("a", 300))))
      assert.equal(413, res.status, res.body)
      assert.equal(before, H.stats(P.upstream).requests)
    end)

    it("Content_Length: 0 does not hide a chunked body within max_body_size: it is hashed", function()
      local body = string.rep("b", 60)
      local res = R.send(P.gateway, R.request("POST", "/small/y",
        { "Content_Length: 0", "Transfer-Encoding: chunked" }, R.chunked(body)))
      assert.equal(200, res.status, res.body)
      local seen = R.received(res)
      assert.equal(#body, seen.body_length)
      assert.equal(H.digest(body), H.jwt_claims(seen.token).body_sha256)
      assert(verify(seen, "/api/y", body))
    end)

    it("Content_Length: 0 before a real Content-Length: 10: the 10 bytes are hashed", function()
      local body = "0123456789"
      local res = R.send(P.gateway, R.request("POST", "/open/z",
        { "Content_Length: 0", "Content-Length: 10" }, body))
      assert.equal(200, res.status, res.body)
      local seen = R.received(res)
      assert.equal(10, seen.body_length)
      local claimed = H.jwt_claims(seen.token).body_sha256
      assert.not_equal(SHA256_EMPTY, claimed)
      assert.equal(H.digest(body), claimed)
      assert.equal(seen.body_sha256, claimed)
      local ok, out = verify(seen, "/api/z", body)
      assert(ok, out)
    end)

    it("a large Content_Length before a small real Content-Length is not a reason for 413", function()
      local body = string.rep("c", 20)
      local res = R.send(P.gateway, R.request("POST", "/small/w",
        { "Content_Length: 100000", "Content-Length: 20" }, body))
      assert.equal(200, res.status, res.body)
      assert.equal(H.digest(body), H.jwt_claims(R.received(res).token).body_sha256)
    end)

    it("a real Content-Length above max_body_size is still refused before reading", function()
      local res = R.send(P.gateway, R.request("POST", "/small/v", { "Content-Length: 101" },
                                              string.rep("d", 101)))
      assert.equal(413, res.status, res.body)
    end)

    it("a GET without framing headers is signed with the digest of \"\"", function()
      local res = R.send(P.gateway, R.request("GET", "/open/u", {}))
      assert.equal(200, res.status, res.body)
      local seen = R.received(res)
      assert.equal(0, seen.body_length)
      assert.equal(SHA256_EMPTY, H.jwt_claims(seen.token).body_sha256)
    end)
  end)

  describe("look-alikes never reach the upstream", function()
    local LOOKALIKES = { "Content_Length: 4", "content_length: 7", "Transfer_Encoding: chunked",
                         "TRANSFER_encoding: gzip", "Content-Length_X: 1" }

    it("removes every underscore spelling of Content-Length and Transfer-Encoding beside a real body", function()
      local lines = { "X-Other_Header: kept" }
      for _, l in ipairs(LOOKALIKES) do
        lines[#lines + 1] = l
      end
      lines[#lines + 1] = "Content-Length: 4"
      local res = R.send(P.gateway, R.request("POST", "/open/t", lines, "abcd"))
      assert.equal(200, res.status, res.body)
      local seen = R.received(res)
      local cl = R.spelled_like(seen, "content-length")
      assert.same({ { "Content-Length", "4" } }, cl)
      assert.same({}, R.spelled_like(seen, "transfer-encoding"))
      assert.is_nil(seen.raw:find("_Length", 1, true))
      assert.is_nil(seen.raw:lower():find("transfer_encoding", 1, true))
      -- other underscore names still pass, as in Kong
      assert.same({ { "X-Other_Header", "kept" } }, R.spelled_like(seen, "x-other-header"))
      assert.same({ { "Content-Length_X", "1" } }, R.spelled_like(seen, "content-length-x"))
      assert.equal("abcd", seen.raw:sub(-4))
    end)

    it("removes them from a request without a body", function()
      local res = R.send(P.gateway, R.request("GET", "/open/s",
        { "Transfer_Encoding: chunked", "Content_Length: 0" }))
      assert.equal(200, res.status, res.body)
      local seen = R.received(res)
      assert.same({}, R.spelled_like(seen, "transfer-encoding"))
      assert.same({}, R.spelled_like(seen, "content-length"))
      assert.equal(SHA256_EMPTY, H.jwt_claims(seen.token).body_sha256)
    end)

    it("removes look-alikes and a client's token header that follow 150 other headers", function()
      -- Kong's ngx.req.get_headers() default stops at 100: every header must be looked at.
      local lines = {}
      for i = 1, 150 do
        lines[i] = "X-Fill-" .. i .. ": " .. i
      end
      for _, l in ipairs({ "Content_Length: 0", "Transfer_Encoding: chunked",
                           "X_Upstream_JWT: forged", "x-upstream-jwt: forged-2",
                           "Content-Length: 3" }) do
        lines[#lines + 1] = l
      end
      local res = R.send(P.gateway, R.request("POST", "/open/m", lines, "xyz"))
      assert.equal(200, res.status, res.body)
      local seen = R.received(res)
      assert.same({ { "Content-Length", "3" } }, R.spelled_like(seen, "content-length"))
      assert.same({}, R.spelled_like(seen, "transfer-encoding"))
      local tokens = R.spelled_like(seen, "x-upstream-jwt")
      assert.equal(1, #tokens)
      assert.not_equal("forged", tokens[1][2])
      assert.not_equal("forged-2", tokens[1][2])
      assert.same({ { "X-Fill-150", "150" } }, R.spelled_like(seen, "x-fill-150"))
      local ok, out = verify(seen, "/api/m", "xyz")
      assert(ok, out)
    end)

    it("leaves a request without look-alikes as the client sent it", function()
      local res = R.send(P.gateway, R.request("POST", "/open/r",
        { "X-A: 1", "Content-Type: text/plain", "Content-Length: 2" }, "hi"))
      assert.equal(200, res.status, res.body)
      local seen = R.received(res)
      assert.same({ { "X-A", "1" } }, R.spelled_like(seen, "x-a"))
      assert.same({ { "Content-Type", "text/plain" } }, R.spelled_like(seen, "content-type"))
      assert.same({ { "Content-Length", "2" } }, R.spelled_like(seen, "content-length"))
    end)
  end)
end)
