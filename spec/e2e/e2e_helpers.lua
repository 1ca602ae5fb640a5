-- Real processes for the upstream-jwt end-to-end specs: dev/gateway, the
-- three example verifying services (Python, Node, nginx+Lua) and a counting
-- echo upstream. Each process runs in its own session and is stopped by pid
-- in teardown. HTTP goes through curl; digests are computed with Python's
-- hashlib, independently of the native library under test.
-- E2E_KEEP=1 keeps each spec's folder (configs, process logs) for a look afterwards.
local cjson = require "cjson.safe"

local H = {}

local function script_dir()
  local src = debug.getinfo(1, "S").source:sub(2)
  return src:match("^(.*)/[^/]*$") or "."
end

local function abspath(p)
  local f = io.popen("cd " .. ("'" .. p:gsub("'", "'\\''") .. "'") .. " && pwd")
  local out = f:read("*l")
  f:close()
  return out
end

H.root = abspath(script_dir() .. "/../..")
H.lib = os.getenv("UPSTREAM_JWT_LIB") or (H.root .. "/build/libupstream_jwt.so")
H.cli = H.root .. "/build/upstream-jwt"

local function q(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end
H.q = q

function H.sh(cmd)
  local p = assert(io.popen(cmd .. " 2>&1; echo \"__rc=$?\""))
  local out = p:read("*a")
  p:close()
  local rc = tonumber(out:match("__rc=(%d+)%s*$"))
  return rc == 0, (out:gsub("__rc=%d+%s*$", "")), rc
end

function H.read(path)
  local f = io.open(path, "rb")
  if not f then
    return nil
  end
  local s = f:read("*a")
  f:close()
  return s
end

function H.write(path, data)
  local f = assert(io.open(path, "wb"))
  f:write(data)
  f:close()
  return path
end

-- A fresh directory /tmp/<name>.XXXXXX; name defaults to upstream-jwt-e2e.
function H.tmpdir(name)
  local ok, out = H.sh("mktemp -d " .. q("/tmp/" .. (name or "upstream-jwt-e2e") .. ".XXXXXX"))
  assert(ok, out)
  return (out:gsub("%s+$", ""))
end

-- Removes a directory H.tmpdir made (anything else is left alone).
function H.rmdir(dir)
  if dir and (dir:match("^/tmp/upstream%-jwt%-e2e%.") or dir:match("^/tmp/upstream%-oauth2%-e2e%.")) then
    H.sh("rm -rf " .. q(dir))
  end
end

function H.sleep(s)
  H.sh("sleep " .. s)
end

-- A file of `n` random bytes.
function H.random_file(path, n)
  assert(H.sh(string.format("head -c %d /dev/urandom > %s", n, q(path))))
  return path
end

local DIGEST_PY = [[import base64,hashlib,sys
h=hashlib.sha256()
with open(sys.argv[1],"rb") as f:
    for b in iter(lambda: f.read(1<<20), b""): h.update(b)
print(base64.urlsafe_b64encode(h.digest()).rstrip(b"=").decode())]]

-- base64url(SHA-256(file contents))
function H.digest_file(path)
  local ok, out = H.sh("/usr/bin/python3 -c " .. q(DIGEST_PY) .. " " .. q(path))
  assert(ok, out)
  return (out:gsub("%s+$", ""))
end

local digest_tmp
function H.digest(s)
  digest_tmp = digest_tmp or os.tmpname()
  H.write(digest_tmp, s)
  local d = H.digest_file(digest_tmp)
  os.remove(digest_tmp)
  return d
end

-- ---- ports -------------------------------------------------------------------
-- Consecutive free loopback ports from 18000-18999 (E2E_PORT_RANGE=LO-HI
-- moves it, for machines where that range belongs to someone else), starting
-- at a random offset, so two runs of the suite on one machine rarely collide;
-- blocks handed out earlier in this run are never reused.
local PORT_PROBE = [[import os, random, socket, sys
n, taken = int(sys.argv[1]), set(map(int, sys.argv[2:]))
lo, hi = map(int, (os.environ.get("E2E_PORT_RANGE") or "18000-18999").split("-"))
rnd = random.SystemRandom()
for _ in range(500):
    base = rnd.randrange(lo, hi + 1 - n)
    if taken & set(range(base, base + n)):
        continue
    socks = []
    try:
        for p in range(base, base + n):
            s = socket.socket()
            socks.append(s)
            s.bind(("127.0.0.1", p))
    except OSError:
        continue
    finally:
        for s in socks:
            s.close()
    print(base)
    break
else:
    sys.exit("no block of %d free ports in %d-%d" % (n, lo, hi))
]]
local taken = {}

-- Fills `t` with name -> port for each name in `names`; returns `t`.
function H.assign_ports(t, names)
  local ok, out = H.sh("/usr/bin/python3 -c " .. q(PORT_PROBE) .. " " .. #names .. " " .. table.concat(taken, " "))
  assert(ok, out)
  local base = assert(tonumber(out:match("(%d+)%s*$")), out)
  for i, name in ipairs(names) do
    t[name] = base + i - 1
    taken[#taken + 1] = base + i - 1
  end
  return t
end

-- ---- processes -------------------------------------------------------------

local function is_alive(pid)
  local status = H.read("/proc/" .. pid .. "/status")
  if not status then
    return false
  end
  return not status:match("State:%s+Z")
end
H.is_alive = is_alive

-- Starts `cmd` (a shell string) detached in its own session, logging to
-- `log`; env: table of variables to set, or `false` values to unset.
function H.spawn(cmd, log, env)
  -- env(1) wants every -u before the first assignment
  local unset, set = "", ""
  for k, v in pairs(env or {}) do
    if v == false then
      unset = unset .. " -u " .. k
    else
      set = set .. " " .. k .. "=" .. q(v)
    end
  end
  local prefix = "env" .. unset .. set
  local ok, out = H.sh("cd " .. q(H.root) .. " && " .. prefix .. " setsid " .. cmd .. " > "
                       .. q(log) .. " 2>&1 < /dev/null & echo $!")
  assert(ok, out)
  return assert(tonumber(out:match("(%d+)%s*$")), out)
end

-- SIGTERM to the process, then (after `grace` s) SIGKILL to its session. Returns whether it
-- exited by itself. The default grace only bounds a hang: a gateway on a loaded machine may
-- need seconds to stop, and specs assert that it stopped cleanly.
function H.stop(pid, grace)
  if not pid then
    return true
  end
  H.sh("kill -TERM " .. pid)
  local deadline = os.time() + (grace or 30)
  while is_alive(pid) and os.time() <= deadline do
    H.sleep(0.05)
  end
  local clean = not is_alive(pid)
  H.sh("kill -KILL -- -" .. pid)
  return clean
end

-- Waits until something accepts HTTP on 127.0.0.1:port; `pid` dying first
-- or a timeout is an error that carries the process log. The default timeout
-- only bounds a hang: starting Kong's code on a loaded machine can take many
-- seconds.
function H.wait_http(port, pid, log, timeout)
  local deadline = os.time() + (timeout or 90)
  while os.time() <= deadline do
    local ok = H.sh("curl -s -o /dev/null --max-time 1 http://127.0.0.1:" .. port .. "/__stats")
    if ok then
      return true
    end
    if pid and not is_alive(pid) then
      break
    end
    H.sleep(0.05)
  end
  error("nothing listening on port " .. port .. "; log:\n" .. (log and H.read(log) or "?"))
end

-- A group of processes stopped together (teardown).
function H.new_group(dir)
  local g = { dir = dir, procs = {} }
  function g:start(name, cmd, port, env)
    local log = self.dir .. "/" .. name .. ".log"
    local pid = H.spawn(cmd, log, env)
    self.procs[#self.procs + 1] = { name = name, pid = pid, log = log }
    if port then
      H.wait_http(port, pid, log)
    end
    return pid, log
  end
  function g:stop_all()
    for i = #self.procs, 1, -1 do
      H.stop(self.procs[i].pid)
    end
    self.procs = {}
  end
  function g:log(name)
    for _, p in ipairs(self.procs) do
      if p.name == name then
        return H.read(p.log)
      end
    end
  end
  return g
end

-- ---- per-spec scaffolding ---------------------------------------------------

-- The start of a spec's setup(): ports for `names` (filled into `ports`), a
-- fresh temp dir and a process group in it. Returns dir, group.
function H.prepare(ports, names)
  H.assign_ports(ports, names)
  local dir = H.tmpdir()
  return dir, H.new_group(dir)
end

-- A spec's teardown(): stops each group given (nil for one setup did not get
-- to make), in order, then removes dir.
function H.cleanup(dir, ...)
  for i = 1, select("#", ...) do
    local g = select(i, ...)
    if g then
      g:stop_all()
    end
  end
  if os.getenv("E2E_KEEP") then
    io.stderr:write("e2e: kept ", dir, "\n")
  else
    H.rmdir(dir)
  end
end

-- The shell command that runs dev/gateway in the foreground on the config
-- file at `config_path`; it works from any directory.
function H.gateway_cmd(config_path, port)
  return q(H.root .. "/dev/gateway") .. " up " .. q(config_path) .. " --port " .. port
end

-- dev/gateway for `config` (YAML text) on `port`.
function H.start_gateway(group, name, config, port, env)
  local path = H.write(group.dir .. "/" .. name .. ".yml", config)
  env = env or {}
  env.UPSTREAM_JWT_LIB = env.UPSTREAM_JWT_LIB or H.lib
  return group:start(name, H.gateway_cmd(path, port), port, env)
end

-- The echo upstream on ports.echo and dev/gateway for `config` on
-- ports.gateway in front of it, both named after their port.
function H.start_echo_and_gateway(group, ports, config, env)
  H.start_echo(group, "echo", ports.echo)
  return H.start_gateway(group, "gateway", config, ports.gateway, env)
end

-- The three example verifiers, all HS*, with `keys` = { {kid=, file=}, ... }.
-- `names` selects which ("python", "node", "lua"); ports[name] required.
H.VERIFIER_CMDS = {
  python = "/usr/bin/python3 examples/python/verify_service.py",
  node = "node examples/node/verify-service.mjs",
  lua = "examples/nginx-lua/run",
}

function H.start_verifiers(group, opts)
  local key_args = ""
  for _, k in ipairs(opts.keys) do
    key_args = key_args .. " --key " .. q((k.kid and (k.kid .. "=") or "") .. k.file)
  end
  local common = " --audience " .. q(opts.audience) .. " --alg " .. (opts.alg or "HS256")
                 .. key_args .. " --stats --quiet" .. (opts.reject_replay and " --reject-replay" or "")
  for _, name in ipairs(opts.names or { "python", "node", "lua" }) do
    local port = assert(opts.ports[name], "no port for " .. name)
    group:start((opts.prefix or "") .. name, H.VERIFIER_CMDS[name] .. " --port " .. port .. common, port,
                { UPSTREAM_JWT_LIB = H.lib })
  end
end

function H.start_echo(group, name, port)
  return group:start(name, "/usr/bin/python3 spec/e2e/support/echo_upstream.py " .. port, port)
end

-- A random secret of `n` bytes as base64url without padding (printable, so
-- it can travel in an environment variable).
function H.random_secret(n)
  local ok, out = H.sh("head -c " .. n .. " /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\\n'")
  assert(ok, out)
  return (out:gsub("%s+$", ""))
end

-- Runs the project's CLI: `upstream-jwt verify ARGS... TOKEN`, each of the
-- list `args` one word. Returns ok, output (the verified claims as JSON).
function H.cli_verify(args, token)
  local words = { q(H.cli), "verify" }
  for _, a in ipairs(args) do
    words[#words + 1] = q(a)
  end
  words[#words + 1] = q(token)
  return H.sh(table.concat(words, " "))
end

-- ---- HTTP --------------------------------------------------------------------

-- http://127.0.0.1:<port><path>
function H.url(port, path)
  return "http://127.0.0.1:" .. port .. (path or "")
end

-- opts: method, url, headers {name=value | {values}}, body (string),
-- body_file, chunked (bool). Returns { status, body, json, headers }.
function H.request(opts)
  local tmp = os.tmpname()
  local hdr = os.tmpname()
  local args = { "curl", "-s", "-o", q(tmp), "-D", q(hdr), "-w", "'%{http_code}'",
                 "--max-time", "120", "-X", q(opts.method or "GET") }
  local body_file = opts.body_file
  local body_tmp
  if opts.body then
    body_tmp = os.tmpname()
    H.write(body_tmp, opts.body)
    body_file = body_tmp
  end
  if body_file then
    args[#args + 1] = "--data-binary"
    args[#args + 1] = q("@" .. body_file)
    if not (opts.headers and opts.headers["Content-Type"]) then
      args[#args + 1] = "-H 'Content-Type: application/octet-stream'"
    end
  end
  if opts.chunked then
    args[#args + 1] = "-H 'Transfer-Encoding: chunked'"
  end
  for k, v in pairs(opts.headers or {}) do
    local values = type(v) == "table" and v or { v }
    for _, one in ipairs(values) do
      args[#args + 1] = "-H " .. q(k .. ": " .. one)
    end
  end
  args[#args + 1] = "--path-as-is"
  args[#args + 1] = q(opts.url)
  local ok, out = H.sh(table.concat(args, " "))
  local body = H.read(tmp) or ""
  local raw_headers = H.read(hdr) or ""
  os.remove(tmp)
  os.remove(hdr)
  if body_tmp then
    os.remove(body_tmp)
  end
  assert(ok, "curl failed: " .. out)
  local headers = {}
  for line in raw_headers:gmatch("[^\r\n]+") do
    local k, v = line:match("^([^:]+):%s*(.*)$")
    if k then
      headers[k:lower()] = v
    end
  end
  return {
    status = tonumber(out:match("(%d%d%d)%s*$")),
    body = body,
    json = cjson.decode(body),
    headers = headers,
  }
end

function H.stats(port)
  local res = H.request({ url = "http://127.0.0.1:" .. port .. "/__stats" })
  assert(res.status == 200, "stats on " .. port .. ": " .. tostring(res.status))
  return res.json
end

function H.b64url_decode(s)
  s = s:gsub("-", "+"):gsub("_", "/")
  s = s .. string.rep("=", (4 - #s % 4) % 4)
  local ok, out = H.sh("printf %s " .. q(s) .. " | base64 -d")
  assert(ok, out)
  return out
end

function H.b64url_encode(s)
  local ok, out = H.sh("printf %s " .. q(s) .. " | base64 -w0")
  assert(ok, out)
  return (out:gsub("%s+$", ""):gsub("=", ""):gsub("%+", "-"):gsub("/", "_"))
end

-- Decoded JWT payload and header (no verification: the verifiers did that).
function H.jwt_claims(token)
  return cjson.decode(H.b64url_decode(token:match("^[^.]+%.([^.]+)%.")))
end

function H.jwt_header(token)
  return cjson.decode(H.b64url_decode(token:match("^([^.]+)%.")))
end

-- The message of one of Kong's own JSON answers (kong.response.error, kong.error_handlers),
-- which also carry the request's id, as Kong 3.x's do.
function H.kong_message(res)
  assert(type(res.json) == "table", "not a JSON answer: " .. tostring(res.body))
  assert(type(res.json.request_id) == "string" and res.json.request_id:match("^%x+$")
         and #res.json.request_id == 32, "no request_id: " .. tostring(res.body))
  return res.json.message
end

return H
