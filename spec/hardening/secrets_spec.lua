-- No secret in any log: every line the hardening suite produced (gateway and
-- upstream error/access logs, wrk and driver output, the sign loops, the
-- busted output of the other hardening specs) and, when present, the ASan
-- ctest log and the fuzzers' logs, searched for every secret the suite used
-- ($HARDENING_DIR/secrets.list, written by the specs that made them) and for
-- the body of every private key in test/keys. Runs last (spec/hardening/run).
local root = (debug.getinfo(1, "S").source:sub(2):match("^(.*)/spec/hardening/[^/]*$")) or "."
local dir = os.getenv("HARDENING_DIR") or (root .. "/build-hardening")

local function q(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

local function lines_of(cmd)
  local out = {}
  local p = assert(io.popen(cmd))
  for l in p:lines() do
    out[#out + 1] = l
  end
  p:close()
  return out
end

local function read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

-- Secrets to look for: the suite's random ones, and each private key's
-- base64 lines except the first (which mostly encodes the algorithm
-- identifier shared by every key of a type, not key material).
local function needles()
  local list = {}
  for _, s in ipairs(lines_of("cat " .. q(dir .. "/secrets.list") .. " 2>/dev/null")) do
    if #s >= 8 then list[#list + 1] = { what = "suite secret #" .. (#list + 1), text = s } end
  end
  for _, path in ipairs(lines_of("ls " .. q(root .. "/test/keys") .. "/*.pem")) do
    local pem = read(path)
    for block in pem:gmatch("%-%-%-%-%-BEGIN [%u ]*PRIVATE KEY%-%-%-%-%-\n(.-)%-%-%-%-%-END") do
      local first = true
      for l in block:gmatch("[^\n]+") do
        if not first and #l >= 40 and not l:find(":") then
          list[#list + 1] = { what = path:match("[^/]+$") .. " key material", text = l }
        end
        first = false
      end
    end
  end
  return list
end

local function haystacks()
  local files = lines_of("find " .. q(dir .. "/logs") .. " -type f 2>/dev/null")
  for _, extra in ipairs({ root .. "/build-asan/Testing/Temporary/LastTest.log",
                           root .. "/build/Testing/Temporary/LastTest.log" }) do
    if read(extra) then files[#files + 1] = extra end
  end
  for _, f in ipairs(lines_of("ls " .. q(root .. "/build-fuzz/artifacts") .. "/*.log 2>/dev/null")) do
    files[#files + 1] = f
  end
  return files
end

local function hits(text, list)
  local found = {}
  for _, n in ipairs(list) do
    if text:find(n.text, 1, true) then found[#found + 1] = n.what end
  end
  return found
end

describe("hardening: secrets never reach a log", function()
  it("control: a planted secret is found", function()
    local list = { { what = "planted", text = "s3cr3t-planted-value" } }
    assert.same({ "planted" }, hits("line 1\n... s3cr3t-planted-value ...\n", list))
  end)

  it("zero hits for every secret and private key in every log of the suite", function()
    local list = needles()
    local files = haystacks()
    assert.is_true(#list >= 10, "too few secrets to look for: " .. #list)
    assert.is_true(#files >= 5, "too few logs to search: " .. #files)
    local bytes, bad = 0, {}
    for _, path in ipairs(files) do
      local text = read(path) or ""
      bytes = bytes + #text
      for _, what in ipairs(hits(text, list)) do
        bad[#bad + 1] = path .. ": " .. what
      end
    end
    local f = io.open(dir .. "/secrets-grep.txt", "w")
    if f then
      f:write(("%d secrets, %d files, %d bytes, %d hits\n"):format(#list, #files, bytes, #bad))
      f:close()
    end
    assert.same({}, bad)
  end)
end)
