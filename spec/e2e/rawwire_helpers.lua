-- Raw-socket client and recording upstream (spec/e2e/support/rawwire.py)
-- for the specs that need bytes curl will not send and the exact bytes the
-- upstream receives.
local H = require "spec.e2e.e2e_helpers"
local cjson = require "cjson.safe"

local R = {}

local SCRIPT = "/usr/bin/python3 spec/e2e/support/rawwire.py"

function R.start_upstream(group, name, port)
  return group:start(name, SCRIPT .. " upstream " .. port, port)
end

--- For a spec's setup(): ports `ports.gateway` and `ports.upstream`, the
-- recording upstream, then dev/gateway for the YAML `config_fn()` returns
-- (called once the ports are known). Returns dir, group (H.cleanup them).
function R.start_upstream_and_gateway(ports, config_fn, env)
  local dir, group = H.prepare(ports, { "gateway", "upstream" })
  R.start_upstream(group, "upstream", ports.upstream)
  H.start_gateway(group, "gateway", config_fn(), ports.gateway, env)
  return dir, group
end

--- Sends `bytes` as they are to 127.0.0.1:port and reads until the server
-- closes. Returns { status, headers (lowercased names), body, json }.
function R.send(port, bytes)
  local path = os.tmpname()
  H.write(path, bytes)
  local ok, out = H.sh("cd " .. H.q(H.root) .. " && " .. SCRIPT .. " send " .. port .. " < " .. H.q(path))
  os.remove(path)
  assert(ok, out)
  local res = assert(cjson.decode(out), out)
  res.json = cjson.decode(res.body)
  return res
end

--- An HTTP/1.1 request: `lines` are the header lines after Host, sent in
-- this order; Connection: close is added.
function R.request(method, target, lines, body)
  return method .. " " .. target .. " HTTP/1.1\r\nHost: raw.test\r\n"
         .. table.concat(lines, "\r\n") .. (lines[1] and "\r\n" or "")
         .. "Connection: close\r\n\r\n" .. (body or "")
end

--- The chunked encoding of `body` in one chunk.
function R.chunked(body)
  return ("%x\r\n"):format(#body) .. body .. "\r\n0\r\n\r\n"
end

--- What the recording upstream saw (res.json of a proxied request), with
-- `raw` decoded and `token` = the value of `token_header` (case-insensitive).
function R.received(res, token_header)
  local seen = assert(res.json, "no JSON from the upstream: " .. tostring(res.body))
  seen.raw = H.b64url_decode(seen.raw)
  local want = (token_header or "X-Upstream-JWT"):lower()
  for _, h in ipairs(seen.headers) do
    if h[1]:lower() == want then
      seen.token = h[2]
    end
  end
  return seen
end

--- Every [name, value] the upstream received whose name, lowercased with '_'
-- read as '-', is `folded`.
function R.spelled_like(seen, folded)
  local out = {}
  for _, h in ipairs(seen.headers) do
    if h[1]:lower():gsub("_", "-") == folded then
      out[#out + 1] = h
    end
  end
  return out
end

return R
