-- dev/kong-runtime: where Kong's code comes from ($KONG_RUNTIME, ../shared/kong-runtime, else a
-- clone of the tags dev/kong-runtime.lock pins) and the one clear line when there is none.
-- Run from a copy of the script in a folder with no ../shared, so the real runtime is not found.
local H = require "spec.e2e.e2e_helpers"

local q = H.q

describe("e2e: dev/kong-runtime", function()
  local dir, repo, runtime

  setup(function()
    local ok, out = H.sh("mktemp -d /tmp/upstream-jwt-kong-runtime.XXXXXX")
    assert(ok, out)
    dir = out:gsub("%s+$", "")
    repo = dir .. "/repo"
    assert(H.sh("mkdir -p " .. q(repo .. "/dev") .. " && cp " .. q(H.root .. "/dev/kong-runtime")
                .. " " .. q(H.root .. "/dev/kong-runtime.lock") .. " " .. q(repo .. "/dev/")))
    local found
    found, runtime = H.sh(q(H.root .. "/dev/kong-runtime") .. " | head -1")
    assert(found, runtime)
    runtime = runtime:gsub("%s+$", "")
  end)

  teardown(function()
    H.rmdir(dir)
  end)

  it("stops with one line when there is no runtime and cloning is off", function()
    local ok, out, rc = H.sh("cd " .. q(repo) .. " && KONG_RUNTIME_NO_CLONE=1 dev/kong-runtime")
    assert.is_false(ok)
    assert.equal(1, rc)
    assert.equal("kong-runtime: no Kong runtime: set KONG_RUNTIME or put it at ../shared/kong-runtime "
                 .. "(cloning is off: KONG_RUNTIME_NO_CLONE)\n", out)
    assert.is_false(H.sh("test -e " .. q(repo .. "/build-runtime/kong-runtime")))
  end)

  it("refuses a KONG_RUNTIME that is not a runtime", function()
    local ok, out = H.sh("cd " .. q(repo) .. " && KONG_RUNTIME=" .. q(dir) .. " dev/kong-runtime")
    assert.is_false(ok)
    assert.truthy(out:find("does not hold kong/kong/pdk/init.lua", 1, true), out)
  end)

  it("uses $KONG_RUNTIME and builds cjson.so once, outside the runtime", function()
    local cmd = "cd " .. q(repo) .. " && KONG_RUNTIME=" .. q(runtime) .. " dev/kong-runtime"
    local ok, out = H.sh(cmd)
    assert(ok, out)
    assert.equal(runtime .. "\n" .. repo .. "/build-runtime/lua-cjson\n", out)
    assert(H.sh("test -f " .. q(repo .. "/build-runtime/lua-cjson/cjson.so")))
    assert.is_false(H.sh("test -e " .. q(runtime .. "/deps/lua-cjson/cjson.so")))
    local _, before = H.sh("stat -c %Y " .. q(repo .. "/build-runtime/lua-cjson/cjson.so"))
    assert(H.sh("sleep 1 && " .. cmd))
    local _, after = H.sh("stat -c %Y " .. q(repo .. "/build-runtime/lua-cjson/cjson.so"))
    assert.equal(before, after)
  end)

  it("clones each pinned repository into the runtime's layout, checking the commit", function()
    -- Local mirrors shaped like the upstream repositories (Lua root per the lock's last
    -- column), and a lock naming them with their own commits.
    local mirrors = dir .. "/git"
    local lock = {}
    for line in io.lines(H.root .. "/dev/kong-runtime.lock") do
      local name, _, tag, _, root = line:match("^(%S+)%s+(%S+)%s+(%S+)%s+(%S+)%s+(%S+)")
      if name and not name:find("^#") then
        local m = mirrors .. "/" .. name
        local src = name == "kong" and (runtime .. "/kong") or (runtime .. "/deps/" .. name)
        local copy
        if name == "kong" or root == "*" then
          copy = "cp -a " .. q(src) .. "/. " .. q(m)
        elseif root == "." then
          copy = "cp -a " .. q(src .. "/lib") .. "/. " .. q(m)
        else
          copy = "mkdir -p " .. q(m .. "/" .. root) .. " && cp -a " .. q(src .. "/lib") .. "/. "
                 .. q(m .. "/" .. root) .. " && echo licence > " .. q(m .. "/LICENSE")
        end
        assert(H.sh("mkdir -p " .. q(m) .. " && " .. copy .. " && cd " .. q(m)
                    .. " && git init -q && git add -A && git -c user.email=t@t -c user.name=t commit -qm t"
                    .. (tag ~= "-" and (" && git tag " .. q(tag)) or "")))
        local _, commit = H.sh("git -C " .. q(m) .. " rev-parse HEAD")
        lock[#lock + 1] = table.concat({ name, "file://" .. m, tag, (commit:gsub("%s+$", "")), root }, " ")
      end
    end
    H.write(repo .. "/dev/kong-runtime.lock", table.concat(lock, "\n") .. "\n")
    local ok, out = H.sh("cd " .. q(repo) .. " && dev/kong-runtime")
    assert(ok, out)
    local cloned = repo .. "/build-runtime/kong-runtime"
    assert.truthy(out:find(cloned .. "\n", 1, true), out)
    -- same Lua trees as the runtime they were made from
    assert(H.sh("diff -rq " .. q(runtime .. "/kong/kong") .. " " .. q(cloned .. "/kong/kong")))
    for _, name in ipairs({ "lua-resty-http", "lua-resty-ljsonschema", "lua-resty-ipmatcher",
                            "inspect", "lua-multipart" }) do
      local same, diff = H.sh("diff -rq " .. q(runtime .. "/deps/" .. name .. "/lib") .. " "
                              .. q(cloned .. "/deps/" .. name .. "/lib"))
      assert(same, diff)
    end
    assert(H.sh("test -f " .. q(cloned .. "/deps/lua-resty-ljsonschema/LICENSE")))
    assert.is_false(H.sh("ls -d " .. q(repo .. "/build-runtime") .. "/clone.* 2>/dev/null | grep -q ."))

    -- a commit that does not match the pin is refused
    H.write(repo .. "/dev/kong-runtime.lock", (lock[2]:gsub("%x+ (%S+)$", string.rep("0", 40) .. " %1")) .. "\n")
    H.sh("rm -rf " .. q(repo .. "/build-runtime/kong-runtime"))
    ok, out = H.sh("cd " .. q(repo) .. " && dev/kong-runtime")
    assert.is_false(ok)
    assert.truthy(out:find("is not commit 0000000000000000000000000000000000000000", 1, true), out)
  end)
end)
