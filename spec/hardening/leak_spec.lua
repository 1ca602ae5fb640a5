-- The plugin's FFI path (digest + sign, spec/hardening/sign_loop.lua) over
-- 100 000 calls: flat RSS with the release library, and no leak reported by
-- LeakSanitizer with the ASan build ($HARDENING_ASAN_LIB, from `make asan`).
-- HARDENING_VALGRIND=1 adds the same loop under valgrind memcheck (slow:
-- about 100 s; `make hardening-long` sets it).
local root = (debug.getinfo(1, "S").source:sub(2):match("^(.*)/spec/hardening/[^/]*$")) or "."
local dir = os.getenv("HARDENING_DIR") or (root .. "/build-hardening")
local lib = os.getenv("UPSTREAM_JWT_LIB") or (root .. "/build/libupstream_jwt.so")
local asan_lib = os.getenv("HARDENING_ASAN_LIB")

local function q(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

local function sh(cmd)
  local p = assert(io.popen(cmd .. " 2>&1; echo \"__rc=$?\""))
  local out = p:read("*a")
  p:close()
  local rc = tonumber(out:match("__rc=(%d+)%s*$"))
  return rc, (out:gsub("__rc=%d+%s*$", ""))
end

local function record(name, text)
  os.execute("mkdir -p " .. q(dir .. "/logs"))
  local f = assert(io.open(dir .. "/logs/" .. name .. ".log", "w"))
  f:write(text)
  f:close()
end

local function loop(prefix, n, alg)
  return sh(prefix .. " luajit " .. q(root .. "/spec/hardening/sign_loop.lua") .. " " .. n .. " " .. alg)
end

local function rss(out, i)
  return tonumber(out:match("rss_kb " .. i .. " (%d+)"))
end

describe("hardening: FFI sign loop", function()
  for _, alg in ipairs({ "HS256", "ES256" }) do
    it(alg .. ": 100 000 digest+sign calls keep RSS flat (release library)", function()
      local rc, out = loop("UPSTREAM_JWT_LIB=" .. q(lib), 100000, alg)
      record("sign-loop-rss-" .. alg, out)
      assert.equal(0, rc, out)
      assert.truthy(out:find("done 100000", 1, true))
      local at10k, at100k = rss(out, 10000), rss(out, 100000)
      -- 90 000 calls after warm-up may not cost more than 1 MiB: a leak of
      -- even 12 bytes per call would.
      assert.is_true(at100k - at10k <= 1024,
                     ("RSS grew from %d kB at 10k to %d kB at 100k"):format(at10k, at100k))
    end)
  end

  it("HS256: 100 000 digest+sign calls, LeakSanitizer finds no leak (ASan library)", function()
    if not asan_lib then
      pending("HARDENING_ASAN_LIB not set (make asan builds it)")
      return
    end
    local rc, libasan = sh("gcc -print-file-name=libasan.so")
    libasan = libasan:gsub("%s+$", "")
    local rc2, out = loop(("UPSTREAM_JWT_LIB=%s LD_PRELOAD=%s ASAN_OPTIONS=detect_leaks=1:abort_on_error=0")
                           :format(q(asan_lib), q(libasan)), 100000, "HS256")
    record("sign-loop-lsan", out)
    assert.equal(0, rc)
    assert.falsy(out:find("LeakSanitizer", 1, true), out)
    assert.equal(0, rc2, out)
    assert.truthy(out:find("done 100000", 1, true))
  end)

  it("HS256: 100 000 digest+sign calls under valgrind: nothing definitely or indirectly lost", function()
    if os.getenv("HARDENING_VALGRIND") ~= "1" then
      pending("HARDENING_VALGRIND=1 to run (about 100 s)")
      return
    end
    local vlog = dir .. "/logs/sign-loop-valgrind.log"
    local rc, out = loop("UPSTREAM_JWT_LIB=" .. q(lib) .. " valgrind --leak-check=full "
                         .. "--show-leak-kinds=definite,indirect --log-file=" .. q(vlog), 100000, "HS256")
    assert.equal(0, rc, out)
    local f = assert(io.open(vlog))
    local v = f:read("*a")
    f:close()
    assert.truthy(v:find("definitely lost: 0 bytes", 1, true) or v:find("All heap blocks were freed", 1, true), v)
    assert.truthy(v:find("indirectly lost: 0 bytes", 1, true) or v:find("All heap blocks were freed", 1, true), v)
  end)
end)
