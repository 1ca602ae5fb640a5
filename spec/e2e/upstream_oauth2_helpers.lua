-- Processes for the upstream-oauth2 end-to-end specs: the test authorization server + protected
-- upstream (dev/oauth2/server.py) and dev/gateway. Every process is started in its own session and
-- stopped by its pid in teardown. Shell, files, processes and ports come from e2e_helpers.
local cjson = require "cjson"
local E = require "spec.e2e.e2e_helpers"

local H = {}

local root = os.getenv("UPSTREAM_JWT_ROOT") or "."
H.root = root

local q = E.q
H.q = q
local sh = E.sh
H.sh = sh
H.write = E.write
H.sleep = E.sleep
H.stop = E.stop
H.rmdir = E.rmdir
H.assign_ports = E.assign_ports

-- A file's contents, "" when it cannot be read.
function H.read(path)
  return E.read(path) or ""
end

function H.tmpdir()
  return E.tmpdir("upstream-oauth2-e2e")
end

-- A throwaway self-signed certificate for 127.0.0.1; returns cert and key paths.
function H.self_signed(dir)
  local cert, key = dir .. "/tls.crt", dir .. "/tls.key"
  local ok, out = sh("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
                     .. " -keyout " .. q(key) .. " -out " .. q(cert) .. " -days 1"
                     .. " -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1")
  assert(ok, out)
  return cert, key
end

local spawn = E.spawn
local alive = E.is_alive

-- The deadline only bounds a hang (a process that dies is reported at once): starting Kong's
-- code or oidc-provider on a loaded machine can take many seconds.
local function wait_for(what, pid, log, check)
  local deadline = os.time() + 90
  while os.time() <= deadline do
    if check() then
      return
    end
    if not alive(pid) then
      error(what .. " exited during start:\n" .. H.read(log), 2)
    end
    H.sleep(0.05)
  end
  error(what .. " did not become ready:\n" .. H.read(log), 2)
end

-- HTTP through curl: returns status, body, seconds.
function H.http(method, url, headers, body)
  local cmd = "curl -s -S -o - -w '\\n%{http_code} %{time_total}' --max-time 20 -X " .. method
  for k, v in pairs(headers or {}) do
    cmd = cmd .. " -H " .. q(k .. ": " .. v)
  end
  if body then
    cmd = cmd .. " --data-binary " .. q(body)
  end
  local _, out = sh(cmd .. " " .. q(url))
  local resp, status, secs = out:match("^(.*)\n(%d%d%d) ([%d.]+)%s*$")
  if not status then
    return 0, out, 0
  end
  return tonumber(status), resp, tonumber(secs)
end

function H.json(s)
  local ok, v = pcall(cjson.decode, s)
  return ok and v or nil
end

-- A started authorization server: pid, log, base URL and stats() from GET base..stats_path.
local function server_handle(pid, log, port, stats_path)
  local idp = { pid = pid, log = log, base = "http://127.0.0.1:" .. port }
  function idp.stats()
    local status, body = H.http("GET", idp.base .. stats_path)
    assert(status == 200, "stats: " .. tostring(body))
    return H.json(body)
  end
  return idp
end

local function tls_args(tls)
  if not tls then
    return ""
  end
  return " --tls-port " .. tls.port .. " --tls-cert " .. q(tls.cert) .. " --tls-key " .. q(tls.key)
end

-- The test authorization server + upstream.
-- tls (optional): { port =, cert =, key = } also serves the token endpoint over HTTPS.
function H.start_idp(dir, token_port, upstream_port, clients, tls)
  local clients_path = dir .. "/clients.json"
  H.write(clients_path, cjson.encode(clients))
  local log = dir .. "/idp.log"
  local pid = spawn("/usr/bin/python3 " .. q(root .. "/dev/oauth2/server.py")
                    .. " --token-port " .. token_port .. " --upstream-port " .. upstream_port
                    .. " --clients " .. q(clients_path) .. tls_args(tls), log)
  wait_for("test authorization server", pid, log, function()
    return H.read(log):find("ready", 1, true) ~= nil
  end)
  local idp = server_handle(pid, log, token_port, "/stats")
  function idp.post(path)
    local status = H.http("POST", idp.base .. path)
    assert(status == 200, path)
  end
  return idp
end

-- oidc-provider (spec/support/oidc/server.mjs) + the upstream that checks its JWT access tokens
-- against its JWKS. `config`: see server.mjs. tls (optional): { port =, cert =, key = }.
function H.start_oidc(dir, port, upstream_port, config, tls)
  local config_path = dir .. "/oidc-" .. port .. ".json"
  H.write(config_path, cjson.encode(config))
  local log = dir .. "/oidc-" .. port .. ".log"
  local server = root .. "/spec/support/oidc/server.mjs"
  assert(E.read(root .. "/spec/support/oidc/node_modules/oidc-provider/package.json"),
         "oidc-provider is not installed: run `make deps`")
  local pid = spawn("node " .. q(server) .. " --port " .. port .. " --upstream-port "
                    .. upstream_port .. " --config " .. q(config_path) .. tls_args(tls), log)
  wait_for("oidc-provider", pid, log, function()
    return ("\n" .. H.read(log)):find("\nready\n") ~= nil
  end)
  local idp = server_handle(pid, log, port, "/__stats")
  function idp.issued(client_id)
    return idp.stats().by_client[client_id] or 0
  end
  -- A token issued to `client_id` (client_secret_post) straight from the provider.
  function idp.token(client_id, secret)
    local status, body = H.http("POST", idp.base .. "/token",
                                { ["Content-Type"] = "application/x-www-form-urlencoded" },
                                "grant_type=client_credentials&client_id=" .. client_id
                                .. "&client_secret=" .. secret)
    assert(status == 200, body)
    return H.json(body).access_token
  end
  return idp
end

-- redis-server on 127.0.0.1:port, no persistence, in its own directory. tls (optional):
-- { cert =, key = } makes it listen with TLS only (clients need no certificate).
function H.start_redis(dir, port, tls)
  local log = dir .. "/redis-" .. port .. ".log"
  local listen, cli = "--port " .. port, "redis-cli -p " .. port
  if tls then
    listen = "--port 0 --tls-port " .. port .. " --tls-cert-file " .. q(tls.cert)
             .. " --tls-key-file " .. q(tls.key) .. " --tls-auth-clients no"
    cli = "redis-cli --tls --insecure -p " .. port
  end
  local pid = spawn("redis-server " .. listen .. " --bind 127.0.0.1 --save '' "
                    .. "--appendonly no --dir " .. q(dir), log)
  wait_for("redis-server", pid, log, function()
    return (sh(cli .. " ping"))
  end)
  local r = { pid = pid, log = log, port = port }
  function r.cli(args)
    local _, out = sh(cli .. " " .. args)
    return out
  end
  return r
end

-- tinyproxy on 127.0.0.1:port; auth (optional) = { user, password } for Basic proxy auth.
-- Its log records every request and CONNECT it forwards.
function H.start_proxy(dir, port, auth)
  local conf = dir .. "/tinyproxy-" .. port .. ".conf"
  local log = dir .. "/tinyproxy-" .. port .. ".log"
  local lines = {
    "Port " .. port, "Listen 127.0.0.1", "Allow 127.0.0.1", "Timeout 30",
    "LogLevel Connect", "MaxClients 50", "DisableViaHeader Yes",
  }
  if auth then
    lines[#lines + 1] = "BasicAuth " .. auth[1] .. " " .. auth[2]
  end
  H.write(conf, table.concat(lines, "\n") .. "\n")
  local pid = spawn("/usr/bin/tinyproxy -d -c " .. q(conf), log)
  wait_for("tinyproxy", pid, log, function()
    return (sh("curl -s -o /dev/null --max-time 1 http://127.0.0.1:" .. port .. "/"))
  end)
  return { pid = pid, log = log, port = port, url = "http://127.0.0.1:" .. port }
end

-- GETs every URL at once (curl --parallel); returns { ["200"] = n, ... }.
function H.parallel_get(urls)
  local args = {}
  for i, url in ipairs(urls) do
    args[i] = "-o /dev/null " .. q(url)
  end
  local ok, out = sh("{ curl -s --no-progress-meter --parallel --parallel-immediate"
                     .. " --parallel-max 64 -w 'status=%{http_code}\\n' "
                     .. table.concat(args, " ") .. " 2>/dev/null; }")
  assert(ok, out)
  local codes = {}
  for code in out:gmatch("status=(%d+)") do
    codes[code] = (codes[code] or 0) + 1
  end
  return codes
end

-- Stops the started processes (nil entries skipped), then removes dir.
function H.stop_all(processes, dir)
  for i = 1, #processes do
    if processes[i] then
      H.stop(processes[i].pid)
    end
  end
  if dir then
    H.rmdir(dir)
  end
end

-- dev/gateway with a Kong declarative config (written as JSON, which YAML parsers read).
-- resty.http (proxy_opts) and resty.redis are Kong's own, from the runtime the gateway loads.
function H.start_gateway(dir, port, config, env)
  local conf_path = dir .. "/kong-" .. port .. ".yml"
  H.write(conf_path, cjson.encode(config))
  local log = dir .. "/gateway-" .. port .. ".log"
  local pid = spawn(q(root .. "/dev/gateway") .. " up " .. q(conf_path) .. " --port " .. port,
                    log, env)
  wait_for("dev/gateway", pid, log, function()
    return H.read(log):find("ready on", 1, true) ~= nil
  end)
  return { pid = pid, log = log, base = "http://127.0.0.1:" .. port }
end

return H
