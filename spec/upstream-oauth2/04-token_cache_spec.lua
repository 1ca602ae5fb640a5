-- upstream-oauth2 token cache: one fetch at a time per key, in a worker and across workers,
-- expiry, shared failures, timeouts, locks left by dead workers, compare-and-delete purge.
-- On the real shared dict, semaphores and light threads of dev/busted's nginx; only the clock
-- and other workers' ids are the double's.
require "spec.helpers.setup"
local D = require "spec.helpers.upstream_oauth2_double"

local OPTS = { wait_timeout = 5, lock_ttl = 5 }

describe("upstream-oauth2 token cache", function()
  local cache, fetches

  -- A fetch that takes `duration` seconds, yielding as a real HTTP call would.
  local function fetcher(duration, result, err)
    return function()
      fetches = fetches + 1
      local n = fetches
      ngx.sleep(duration)
      if result then
        local r = {}
        for k, v in pairs(result) do
          r[k] = v
        end
        r.access_token = r.access_token .. "#" .. n
        return r
      end
      return nil, err
    end
  end

  local function requests(n, c, key, fetch)
    local fns = {}
    for i = 1, n do
      fns[i] = function()
        return c.get(key, fetch, OPTS)
      end
    end
    return fns
  end

  after_each(function()
    D.uninstall()
  end)

  before_each(function()
    D.install()
    fetches = 0
    cache = D.load("kong.plugins.upstream-oauth2.token_cache")
  end)

  it("fetches once for 64 concurrent requests in one worker", function()
    local results = D.run(requests(64, cache, "k", fetcher(0.2, { access_token = "t", ttl = 60 })))
    assert.equal(1, fetches)
    for i = 1, 64 do
      assert.equal("t#1", results[i][1])
    end
  end)

  it("lets one request per worker poll the shared dict lock, the others sleep", function()
    local dict = ngx.shared.kong
    local real_add, adds = dict.add, 0
    dict.add = function(self, ...)
      adds = adds + 1
      return real_add(self, ...)
    end
    ngx.shared.kong:add("upstream-oauth2:lock:k", true, 1) -- another worker is fetching
    local ok, err = pcall(D.run, requests(64, cache, "k",
                                          fetcher(0.1, { access_token = "t", ttl = 60 })))
    dict.add = nil -- the real method again
    assert(ok, err)
    assert.equal(1, fetches)
    -- the initial add, then the single leader's polls (sleeps of 2, 4, 8 ... 50 ms for ~1 s)
    assert.is_true(adds < 40, "shared dict add called " .. adds .. " times")
  end)

  it("fetches once across workers sharing the dict", function()
    local fetch = fetcher(0.2, { access_token = "t", ttl = 60 })
    local fns = {}
    for w = 1, 4 do
      local worker_cache = D.load("kong.plugins.upstream-oauth2.token_cache")
      for _, fn in ipairs(requests(16, worker_cache, "k", fetch)) do
        table.insert(fns, fn)
      end
    end
    local results = D.run(fns)
    assert.equal(1, fetches)
    for i = 1, 64 do
      assert.equal("t#1", results[i][1])
    end
  end)

  it("reuses the token until its ttl, then fetches again", function()
    local fetch = fetcher(0, { access_token = "t", ttl = 10 })
    assert.equal("t#1", D.run(requests(1, cache, "k", fetch))[1][1])
    D.advance(9.9)
    assert.equal("t#1", D.run(requests(1, cache, "k", fetch))[1][1])
    D.advance(0.2)
    assert.equal("t#2", D.run(requests(1, cache, "k", fetch))[1][1])
    assert.equal(2, fetches)
  end)

  it("keeps keys apart", function()
    local fetch = fetcher(0.1, { access_token = "t", ttl = 60 })
    local fns = requests(3, cache, "a", fetch)
    for _, fn in ipairs(requests(3, cache, "b", fetch)) do
      table.insert(fns, fn)
    end
    local results = D.run(fns)
    assert.equal(2, fetches)
    assert.are_not.equal(results[1][1], results[4][1])
  end)

  it("gives a failed fetch's error to every waiter, in and across workers, then retries", function()
    local fetch = fetcher(0.2, nil, { status = 503, message = "down" })
    local other = D.load("kong.plugins.upstream-oauth2.token_cache")
    local fns = requests(10, cache, "k", fetch)
    for _, fn in ipairs(requests(10, other, "k", fetch)) do
      table.insert(fns, fn)
    end
    local results = D.run(fns)
    assert.equal(1, fetches)
    for i = 1, 20 do
      assert.is_nil(results[i][1])
      assert.same({ status = 503, message = "down" }, results[i][2])
    end
    -- a later request is not answered from the old failure
    D.run(requests(1, cache, "k", fetch))
    assert.equal(2, fetches)
  end)

  it("hands out a token that was too short-lived to cache, without caching it", function()
    local fetch = fetcher(0.1, { access_token = "t" })
    local results = D.run(requests(5, cache, "k", fetch))
    assert.equal(1, fetches)
    assert.equal("t#1", results[5][1])
    assert.is_nil(cache.peek("k"))
    D.run(requests(1, cache, "k", fetch))
    assert.equal(2, fetches)
  end)

  it("times waiters out with 503 when the fetch outlasts the wait budget", function()
    -- the lock outlives the fetch, as in the handler (lock_ttl covers the HTTP timeouts)
    local opts = { wait_timeout = 0.5, lock_ttl = 6 }
    local fetch = fetcher(1, { access_token = "t", ttl = 60 })
    local other = D.load("kong.plugins.upstream-oauth2.token_cache")
    local fns = { function() return cache.get("k", fetch, opts) end,
                  function() return cache.get("k", fetch, opts) end,
                  function() return other.get("k", fetch, opts) end }
    local results = D.run(fns)
    assert.equal("t#1", results[1][1])
    assert.equal(503, results[2][2].status)
    assert.equal(503, results[3][2].status)
    assert.equal(1, fetches)
  end)

  it("ignores a lock left by a worker that died holding it once it expires", function()
    local started = D.now()
    ngx.shared.kong:add("upstream-oauth2:lock:k", true, 0.5)
    local fetch = fetcher(0, { access_token = "t", ttl = 60 })
    local results = D.run(requests(1, cache, "k", fetch))
    assert.equal("t#1", results[1][1])
    assert.is_true(D.now() >= started + 0.5)
  end)

  it("does not release another worker's lock after its own lock expired", function()
    -- worker A's fetch (1.2 s) outlives its lock (0.4 s); worker B then takes the key
    local a = cache
    local b = D.load("kong.plugins.upstream-oauth2.token_cache")
    local c = D.load("kong.plugins.upstream-oauth2.token_cache")
    local short = { wait_timeout = 10, lock_ttl = 0.4 }
    local long = { wait_timeout = 10, lock_ttl = 30 }
    -- A's token is too short-lived to cache (no ttl): had it a ttl of a millisecond, a stall of
    -- the nginx process across t=1.2..1.6 would run A's end and C's start in one pass of the
    -- event loop, on one cached clock, and C would take A's token as still fresh
    local slow = fetcher(1.2, { access_token = "a" })
    local slower = fetcher(2, { access_token = "b", ttl = 60 })
    local results = D.run({
      function() D.as_worker(101); return a.get("k", slow, short) end,
      function() D.as_worker(102); ngx.sleep(0.6); return b.get("k", slower, long) end,
      -- arrives after A finished (t=1.2) while B still fetches (to t=2.6): must wait for B
      function() D.as_worker(103); ngx.sleep(1.6); return c.get("k", slow, long) end,
    })
    assert.equal("a#1", results[1][1])
    assert.equal("b#2", results[2][1])
    assert.equal("b#2", results[3][1])
    assert.equal(2, fetches)
  end)

  it("releases the worker's waiters even when the fetch raises", function()
    local results = D.run(requests(3, cache, "k", function() error("boom") end))
    for i = 1, 3 do
      assert.equal(500, results[i][2].status)
    end
    assert.is_nil(ngx.shared.kong:get("upstream-oauth2:lock:k"))
    assert.equal("t#1", D.run(requests(1, cache, "k",
                                       fetcher(0, { access_token = "t", ttl = 5 })))[1][1])
  end)

  it("fails with 500 when the shared dict is missing", function()
    local shared = ngx.shared.kong
    ngx.shared.kong = nil
    local ok, results = pcall(D.run, requests(1, cache, "k",
                                              fetcher(0, { access_token = "t", ttl = 5 })))
    ngx.shared.kong = shared
    assert(ok, results)
    assert.equal(500, results[1][2].status)
    assert.matches("lua_shared_dict 'kong'", results[1][2].message, 1, true)
  end)

  describe("purge", function()
    it("removes the token that was used", function()
      D.run(requests(1, cache, "k", fetcher(0, { access_token = "t", ttl = 60 })))
      assert.is_true(cache.purge("k", "t#1"))
      assert.is_nil(cache.peek("k"))
    end)

    it("leaves a newer token alone", function()
      D.run(requests(1, cache, "k", fetcher(0, { access_token = "t", ttl = 60 })))
      assert.is_false(cache.purge("k", "an-older-token"))
      assert.equal("t#1", cache.peek("k"))
    end)

    it("is harmless when nothing is cached", function()
      assert.is_false(cache.purge("k", "t"))
    end)
  end)
end)
