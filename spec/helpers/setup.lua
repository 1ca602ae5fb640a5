-- Shared by the plugins' specs (run by dev/busted inside nginx, with the repository, dev/lib
-- and the Kong runtime on the Lua path) and the e2e specs (plain busted).
-- Absolute, because some specs run programs from other directories.
local root = os.getenv("UPSTREAM_JWT_ROOT")
if not root or root == "" then
  local p = io.popen("pwd")
  root = p:read("*l")
  p:close()
end

local M = { root = root }

-- The built library, required by every spec that signs. A missing library is
-- a failure with a clear message, never a silent skip.
function M.require_native()
  local lib = os.getenv("UPSTREAM_JWT_LIB")
  if not lib or lib == "" then
    lib = root .. "/build/libupstream_jwt.so"
  end
  local f = io.open(lib, "rb")
  if not f then
    error("libupstream_jwt.so not found at " .. lib .. ": run `make build` first "
          .. "(or set UPSTREAM_JWT_LIB)", 2)
  end
  f:close()
  -- native.lua reads the override when it loads.
  if not os.getenv("UPSTREAM_JWT_LIB") then
    local ffi = require "ffi"
    pcall(ffi.cdef, "int setenv(const char *name, const char *value, int overwrite);")
    ffi.C.setenv("UPSTREAM_JWT_LIB", lib, 1)
  end
  return require "kong.plugins.upstream-jwt.native"
end

function M.read_file(path)
  local f = assert(io.open(path, "rb"))
  local data = f:read("*a")
  f:close()
  return data
end

function M.write_file(path, data)
  local f = assert(io.open(path, "wb"))
  f:write(data)
  f:close()
end

function M.shell_quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

--- Run a shell command; returns ok, stdout.
function M.run(cmd)
  local p = assert(io.popen(cmd .. " 2>&1; echo \"__rc=$?\""))
  local out = p:read("*a")
  p:close()
  local rc = tonumber(out:match("__rc=(%d+)%s*$"))
  out = out:gsub("__rc=%d+%s*$", "")
  return rc == 0, out, rc
end

function M.tmpname()
  return os.tmpname()
end

-- PEM keys for the asymmetric algorithms, generated once per process.
local key_cache = {}
-- `fresh` gives a key no other test has used (signer caches key on material).
function M.private_key(kind, fresh)
  if key_cache[kind] and not fresh then
    return key_cache[kind]
  end
  local args = {
    rsa = "-algorithm RSA -pkeyopt rsa_keygen_bits:2048",
    rsa1024 = "-algorithm RSA -pkeyopt rsa_keygen_bits:1024",
    ec = "-algorithm EC -pkeyopt ec_paramgen_curve:P-256",
    ec384 = "-algorithm EC -pkeyopt ec_paramgen_curve:P-384",
    ed25519 = "-algorithm ED25519",
    ed448 = "-algorithm ED448",
  }
  local path = os.tmpname()
  local ok, out = M.run("openssl genpkey " .. assert(args[kind], kind) .. " -out " .. path)
  assert(ok, out)
  local pem = M.read_file(path)
  os.remove(path)
  if not fresh then
    key_cache[kind] = pem
  end
  return pem
end

--- Public half of a PEM private key.
function M.public_key(pem)
  local inp = os.tmpname()
  M.write_file(inp, pem)
  local ok, out = M.run("openssl pkey -in " .. inp .. " -pubout")
  os.remove(inp)
  assert(ok, out)
  return out
end

--- base64url(SHA-256(file or string)) computed by Python, independent of the library.
function M.py_sha256_b64(path)
  local ok, out = M.run("/usr/bin/python3 -c " .. M.shell_quote(
    "import sys,hashlib,base64;" ..
    "print(base64.urlsafe_b64encode(hashlib.sha256(open(sys.argv[1],'rb').read()).digest())" ..
    ".rstrip(b'=').decode())") .. " " .. M.shell_quote(path))
  assert(ok, out)
  return (out:gsub("%s+$", ""))
end

return M
