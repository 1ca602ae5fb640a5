-- wrk -s bench/wrk/post.lua URL -- BODY_BYTES [METHOD]
-- Sends a body of BODY_BYTES (0 = an empty body with Content-Length: 0) on
-- every request of every connection, with METHOD (default POST); METHOD GET
-- sends no body and no Content-Length at all, as a browser's GET. The bytes
-- are fixed per run; SHA-256 costs the same whatever they are.
function init(args)
  local n = tonumber(args[1] or "0") or 0
  local chunk = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_"
  local body = string.rep(chunk, math.floor(n / #chunk)) .. chunk:sub(1, n % #chunk)
  wrk.method = args[2] or "POST"
  if wrk.method ~= "GET" then
    wrk.body = body
    wrk.headers["Content-Type"] = "application/octet-stream"
  end
end

-- summary.errors.status counts responses with status >= 400: the driver
-- rejects a run that has any (it would be timing error pages).
function done(summary, latency, requests)
  local p = {}
  for _, q in ipairs({ 50, 90, 99, 99.9 }) do
    p[#p + 1] = string.format('"p%s": %d', tostring(q):gsub("%.", "_"), latency:percentile(q))
  end
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "errors": %d, "non2xx": %d, %s}\n',
    summary.requests, summary.duration,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status, table.concat(p, ", ")))
end
