-- Key rotation end to end: the gateway is restarted with a new secret and
-- key_id; services holding the old and new keys accept tokens from both
-- gateways, services holding only the new key refuse the old tokens.
local H = require "spec.e2e.e2e_helpers"

local P, BOTH, NEW_ONLY = {}, {}, {} -- ports, assigned in setup
local AUD = "e2e-rotation"

local function config(kid)
  return ([[
_format_version: "3.0"
services:
  - name: echo
    url: http://127.0.0.1:%d
    routes:
      - paths: [/]
plugins:
  - name: upstream-jwt
    config:
      secret: "{vault://env/rotating-secret}"
      key_id: %s
      audience: %s
]]):format(P.echo, kid, AUD)
end

describe("e2e: key rotation", function()
  local dir, group
  local secrets = {}
  local captured = {}

  local function new_secret(name)
    secrets[name] = H.random_secret(48)
    H.write(dir .. "/" .. name, secrets[name])
    return dir .. "/" .. name
  end

  -- What the upstream received through the gateway, token included.
  local function capture(body)
    local res = H.request({ method = "POST", url = H.url(P.gateway, "/orders?x=1"), body = body })
    assert.equal(200, res.status, res.body)
    return { token = res.json.headers["x-upstream-jwt"][1], target = res.json.target, body = body }
  end

  setup(function()
    dir, group = H.prepare(P, { "gateway", "echo" })
    H.assign_ports(BOTH, { "python", "node", "lua" })
    H.assign_ports(NEW_ONLY, { "python", "node", "lua" })
    local old_file, new_file = new_secret("old"), new_secret("new")
    H.start_echo(group, "echo", P.echo)

    -- Gateway with the old key, then restarted with the new one.
    local pid = H.start_gateway(group, "gateway-old", config("key-2024"), P.gateway, { ROTATING_SECRET = secrets.old })
    captured.old = capture("signed with the old key")
    assert.is_true(H.stop(pid), "gateway stops on SIGTERM")
    H.start_gateway(group, "gateway-new", config("key-2025"), P.gateway, { ROTATING_SECRET = secrets.new })
    captured.new = capture("signed with the new key")

    H.start_verifiers(group, { prefix = "both-", audience = AUD, ports = BOTH, reject_replay = true,
                               keys = { { kid = "key-2024", file = old_file }, { kid = "key-2025", file = new_file } } })
    H.start_verifiers(group, { prefix = "new-", audience = AUD, ports = NEW_ONLY,
                               keys = { { kid = "key-2025", file = new_file } } })
  end)

  teardown(function()
    H.cleanup(dir, group)
  end)

  local function present(port, c)
    return H.request({ method = "POST", url = H.url(port, c.target), body = c.body,
                       headers = { ["X-Upstream-JWT"] = c.token } })
  end

  it("the restarted gateway signs with the new kid and secret", function()
    assert.equal("key-2024", H.jwt_header(captured.old.token).kid)
    assert.equal("key-2025", H.jwt_header(captured.new.token).kid)
  end)

  it("services holding both keys accept tokens from before and after the rotation", function()
    for name, port in pairs(BOTH) do
      for _, which in ipairs({ "old", "new" }) do
        local res = present(port, captured[which])
        assert.equal(200, res.status, name .. " " .. which .. ": " .. res.body)
        assert.equal(H.jwt_claims(captured[which].token).jti, res.json.jti)
      end
    end
  end)

  it("with --reject-replay, presenting the same token again is refused", function()
    for name, port in pairs(BOTH) do
      for _, which in ipairs({ "old", "new" }) do
        local res = present(port, captured[which])
        assert.equal(401, res.status, name .. " " .. which)
        assert.same({ error = "replayed" }, res.json, name)
      end
    end
  end)

  it("services holding only the new key refuse the old tokens", function()
    for name, port in pairs(NEW_ONLY) do
      local res = present(port, captured.old)
      assert.equal(401, res.status, name)
      assert.same({ error = "unknown_kid" }, res.json, name)
      res = present(port, captured.new)
      assert.equal(200, res.status, name .. ": " .. res.body)
    end
  end)

  it("an old token relabelled with the new kid fails its signature", function()
    local h, rest = captured.old.token:match("^([^.]+)(%..+)$")
    local header = H.b64url_decode(h)
    assert.truthy(header:find('"kid":"key-2024"', 1, true))
    local relabelled = H.b64url_encode((header:gsub("key%-2024", "key-2025")))
    local forged = { token = relabelled .. rest, target = captured.old.target, body = captured.old.body }
    for name, port in pairs(NEW_ONLY) do
      local res = present(port, forged)
      assert.equal(401, res.status, name)
      assert.same({ error = "bad_signature" }, res.json, name)
    end
  end)
end)
