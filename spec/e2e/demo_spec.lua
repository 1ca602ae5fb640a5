-- `make demo` keeps working: dev/demo runs end to end, shows what the
-- service verified and what it refused, and leaves nothing running.
local H = require "spec.e2e.e2e_helpers"

describe("e2e: make demo (dev/demo)", function()
  it("runs, prints verified claims and refusals, and stops everything", function()
    local P = H.assign_ports({}, { "gateway", "service" })
    local ok, out = H.sh("cd " .. H.q(H.root) .. " && DEMO_GATEWAY_PORT=" .. P.gateway
                         .. " DEMO_SERVICE_PORT=" .. P.service .. " UPSTREAM_JWT_LIB=" .. H.q(H.lib)
                         .. " dev/demo")
    assert(ok, out)
    local _, n200 = out:gsub("HTTP 200", "")
    assert.equal(6, n200, out)
    assert.truthy(out:find('"username": "alice"', 1, true), out)
    assert.truthy(out:find('"username": "anonymous"', 1, true), out)
    assert.truthy(out:find('"htu": "/upload"', 1, true), out)
    assert.truthy(out:find('"error": "bad_signature"', 1, true), out)
    assert.truthy(out:find('"error": "path_mismatch"', 1, true), out)
    assert.truthy(out:find('"error": "missing_token"', 1, true), out)
    -- the 1 MB body's digest printed locally is the one the service verified
    local local_digest = out:match("local sha256 %(base64url%): (%S+)")
    assert.truthy(out:find('"body_sha256": "' .. local_digest .. '"', 1, true), out)
    -- stopped on exit
    assert.is_false(H.sh("curl -s -o /dev/null http://127.0.0.1:" .. P.gateway .. "/"))
    assert.is_false(H.sh("curl -s -o /dev/null http://127.0.0.1:" .. P.service .. "/"))
  end)
end)
