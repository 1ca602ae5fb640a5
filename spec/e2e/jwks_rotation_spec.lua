-- Rotating the gateway's asymmetric signing key under load, while verifying
-- services built on the Python and the Node package take their keys from the
-- gateway's JWKS URL (a route with upstream-jwt-jwks) and nothing else.
-- Each step is a config change and a SIGHUP to dev/gateway's nginx master,
-- as `kong reload` does; a bounded loopback load (support/jwks_load.py) runs
-- through all of them and no request may fail.
--
--   planned: publish the next key (JWKS: current + next), wait past the
--            verifiers' cache lifetime, switch the signer, retire the old key.
--            The verifiers allow a 300 s cache; the JWKS route's
--            `Cache-Control: max-age=2` is what makes them fetch again.
--   early:   the signer is switched while the verifiers' cached JWKS is still
--            fresh and lacks the new kid: their refresh on an unknown kid
--            (rate-limited) must fetch the document that has it.
local H = require "spec.e2e.e2e_helpers"
local cjson = require "cjson.safe"

local AUD = "e2e-jwks-rotation"

local KEYGEN = [[
import sys
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives import serialization as s
kind, out = sys.argv[1], sys.argv[2]
k = {"ec": lambda: ec.generate_private_key(ec.SECP256R1()),
     "ed": ed25519.Ed25519PrivateKey.generate,
     "rsa": lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)}[kind]()
open(out, "wb").write(k.private_bytes(s.Encoding.PEM, s.PrivateFormat.PKCS8, s.NoEncryption()))
]]

-- kid -> { alg, kind of key }; the env variable holding its PEM is derived from the kid.
local KEYS = {
  ["gw-es256"] = { alg = "ES256", kind = "ec" },
  ["gw-eddsa"] = { alg = "EdDSA", kind = "ed" },
  ["gw-rs256"] = { alg = "RS256", kind = "rsa" },
}

local function env_name(kid)
  return "E2E_ROT_" .. kid:upper():gsub("-", "_")
end

local function ref(kid)
  return "{vault://env/" .. env_name(kid):lower():gsub("_", "-") .. "}"
end

-- The gateway's declarative config: upstream-jwt signing with `signer` on
-- the two verifying services, the JWKS route publishing `published` (kids)
-- with `Cache-Control: public, max-age=<jwks_max_age>`.
local function config(P, signer, published, jwks_max_age)
  local algs = {}
  local refs = {}
  for i, kid in ipairs(published) do
    algs[i] = KEYS[kid].alg
    refs[i] = '"' .. ref(kid) .. '"'
  end
  local sign = ('{ algorithm: %s, private_key: "%s", key_id: %s, audience: %s, ttl: 30 }')
               :format(KEYS[signer].alg, ref(signer), signer, AUD)
  return ([[
_format_version: "3.0"
services:
  - name: keys
    url: http://127.0.0.1:1
    routes:
      - name: jwks
        paths: [/.well-known/jwks.json]
        plugins:
          - name: upstream-jwt-jwks
            config:
              public_keys: [%s]
              key_ids: [%s]
              algorithms: [%s]
              max_age: %d
  - name: python
    url: http://127.0.0.1:%d
    routes: [{ name: python, paths: [/py] }]
    plugins: [{ name: upstream-jwt, config: %s }]
  - name: node
    url: http://127.0.0.1:%d
    routes: [{ name: node, paths: [/node] }]
    plugins: [{ name: upstream-jwt, config: %s }]
]]):format(table.concat(refs, ", "), table.concat(published, ", "), table.concat(algs, ", "), jwks_max_age,
           P.python, sign, P.node, sign)
end

-- Pids of the processes whose parent is `pid`.
local function children(pid)
  local ok, out = H.sh("ps -o pid= --ppid " .. pid)
  local set = {}
  if ok then
    for p in out:gmatch("%d+") do
      set[#set + 1] = p
    end
  end
  return set
end

-- One rotation scenario: keys, the gateway, one verifier per package with
-- the given JWKS cache settings, and the load.
local function scenario(opts)
  local P = {}
  local S = { P = P }
  local dir, group
  local master, prefix

  function S.setup()
    dir, group = H.prepare(P, { "gateway", "python", "node" })
    S.dir = dir
    local env = {}
    for kid, k in pairs(KEYS) do
      local file = dir .. "/" .. kid .. ".pem"
      assert(H.sh("/usr/bin/python3 -c " .. H.q(KEYGEN) .. " " .. k.kind .. " " .. H.q(file)))
      env[env_name(kid)] = H.read(file)
    end
    env.GATEWAY_ACCESS_LOG = "off"
    local _, log = H.start_gateway(group, "gateway", config(P, opts.signer, { opts.signer }, opts.jwks_max_age), P.gateway, env)
    local text = H.read(log)
    master = assert(tonumber(text:match("nginx pid (%d+)")), text)
    prefix = assert(text:match("nginx prefix (%S+)"), text)
    local common = " --jwks-url " .. H.q(H.url(P.gateway, "/.well-known/jwks.json")) .. " --audience " .. AUD
                   .. " --max-age " .. opts.max_age .. " --min-refresh " .. opts.min_refresh
    group:start("python", "/usr/bin/python3 spec/e2e/support/jwks_verifier.py --port " .. P.python .. common,
                P.python)
    group:start("node", "node spec/e2e/support/jwks_verifier.mjs --port " .. P.node .. common, P.node)
  end

  function S.teardown()
    H.cleanup(dir, group)
  end

  -- A config change the way an operator makes one: the new declarative
  -- config, then SIGHUP to the master. Returns once every worker of the old
  -- generation has exited, so no request is handled by the old config after.
  function S.reload(signer, published)
    H.write(prefix .. "/kong.yml", config(P, signer, published, opts.jwks_max_age))
    local old = {}
    for _, p in ipairs(children(master)) do
      old[p] = true
    end
    assert(H.sh("kill -HUP " .. master))
    local deadline = os.time() + 15
    while os.time() <= deadline do
      local now, stale = children(master), false
      for _, p in ipairs(now) do
        stale = stale or old[p]
      end
      if #now > 0 and not stale then
        return
      end
      H.sleep(0.1)
    end
    error("the gateway did not reload; log:\n" .. tostring(group:log("gateway")))
  end

  function S.published()
    local res = H.request({ url = H.url(P.gateway, "/.well-known/jwks.json") })
    assert.equal(200, res.status, res.body)
    local kids = {}
    for _, k in ipairs(res.json.keys) do
      kids[#kids + 1] = k.kid
    end
    return kids
  end

  function S.stats(name)
    return H.stats(P[name])
  end

  -- How often each verifier has fetched the JWKS so far.
  function S.fetches()
    return { python = S.stats("python").fetches, node = S.stats("node").fetches }
  end

  -- Starts the load through the gateway to both verifiers; the returned
  -- function stops it and gives its result.
  function S.load(max_seconds)
    local out, stop = dir .. "/load.json", dir .. "/load.stop"
    group:start("load", table.concat({ "/usr/bin/python3 spec/e2e/support/jwks_load.py",
      "--out", H.q(out), "--stop-file", H.q(stop), "--max-seconds", max_seconds,
      "--max-requests 20000 --workers 4", H.q(H.url(P.gateway, "/py/orders")),
      H.q(H.url(P.gateway, "/node/orders")) }, " "))
    return function()
      H.write(stop, "")
      local deadline = os.time() + 20
      while not H.read(out) and os.time() <= deadline do
        H.sleep(0.1)
      end
      local text = assert(H.read(out), "the load generator wrote no result")
      return assert(cjson.decode(text))
    end
  end

  return S
end

-- No request failed, each verifier accepted tokens of every kid in `kids`
-- and rejected none.
local function assert_clean(S, result, kids)
  assert.equal(0, result.failed, "failed requests: " .. cjson.encode(result))
  assert.is_true(result.ok > 0)
  for url, seen in pairs(result.kids) do
    for _, kid in ipairs(kids) do
      assert.is_true((seen[kid] or 0) > 0, url .. " never got a token signed with " .. kid .. ": "
                     .. cjson.encode(result.kids))
    end
  end
  for _, name in ipairs({ "python", "node" }) do
    local st = S.stats(name)
    assert.equal(0, st.rejected, name .. " rejected: " .. cjson.encode(st.reasons))
    for _, kid in ipairs(kids) do
      assert.is_true((st.kids[kid] or 0) > 0, name .. " verified no " .. kid .. " token")
    end
  end
end

describe("e2e: JWKS rotation under load, verifiers on the Python and Node packages", function()
  describe("planned: publish next, wait past the verifiers' cache, switch, retire", function()
    -- The verifiers use a fetched set for 2 s (the JWKS route's max_age, read
    -- from Cache-Control: their own bound is 300 s) and
    -- refresh on an unknown kid at most once a second.
    local S = scenario({ signer = "gw-es256", jwks_max_age = 2, max_age = 300, min_refresh = 1 })
    setup(S.setup)
    teardown(S.teardown)

    it("zero failed requests; tokens of both kids verified by both packages", function()
      local finish = S.load(40)
      H.sleep(2)
      assert.same({ "gw-es256" }, S.published())

      -- 1. publish the next key; the current one stays
      S.reload("gw-es256", { "gw-es256", "gw-eddsa" })
      assert.same({ "gw-es256", "gw-eddsa" }, S.published())
      local before = S.fetches()
      -- wait past the verifiers' cache lifetime (2 s) until each has fetched the new document:
      -- polled, since a fetch needs a request after the lifetime and a loaded machine may
      -- delay both; the deadline only bounds a hang (a verifier that never refetches).
      local after
      local deadline = os.time() + 20
      repeat
        H.sleep(0.2)
        after = S.fetches()
      until (after.python > before.python and after.node > before.node) or os.time() > deadline
      assert.is_true(after.python > before.python and after.node > before.node,
                     "a verifier did not fetch the JWKS again: " .. cjson.encode({ before, after }))

      -- 2. switch the signer to the next key
      S.reload("gw-eddsa", { "gw-es256", "gw-eddsa" })
      H.sleep(2)

      -- 3. retire the old key (its tokens, ttl 30 s, were all consumed at once here)
      S.reload("gw-eddsa", { "gw-eddsa" })
      assert.same({ "gw-eddsa" }, S.published())
      H.sleep(1.5)

      assert_clean(S, finish(), { "gw-es256", "gw-eddsa" })
    end)
  end)

  describe("early switch: the verifiers' unknown-kid refresh covers a fresh cache", function()
    -- A cached set is used for 300 s (the route's max_age and the verifiers'
    -- bound), far longer than this test; only the
    -- refresh on an unknown kid (at most once a second) can learn the new key.
    local S = scenario({ signer = "gw-eddsa", jwks_max_age = 300, max_age = 300, min_refresh = 1 })
    setup(S.setup)
    teardown(S.teardown)

    it("zero failed requests; each verifier fetched exactly once more, on the new kid", function()
      local finish = S.load(30)
      H.sleep(2)
      assert.same({ python = 1, node = 1 }, S.fetches())

      S.reload("gw-eddsa", { "gw-eddsa", "gw-rs256" })
      -- past the refresh rate limit, well within the cache lifetime: the
      -- verifiers still hold the document without gw-rs256
      H.sleep(1.5)
      assert.same({ python = 1, node = 1 }, S.fetches())

      S.reload("gw-rs256", { "gw-eddsa", "gw-rs256" })
      H.sleep(2)

      assert_clean(S, finish(), { "gw-eddsa", "gw-rs256" })
      -- one refresh each, for the first token with the unknown kid
      assert.same({ python = 2, node = 2 }, S.fetches())
    end)
  end)
end)
