-- The handler's side of issue 11's framing defects, through the Kong PDK
-- double: which headers it removes, when it lists them, and that the body
-- decision reads nginx's parsed Content-Length ($content_length). The real
-- nginx behaviour is proven end to end in spec/e2e/framing_lookalike_spec.lua.
local setup = require "spec.helpers.setup"
local double = require "spec.helpers.pdk_request"
setup.require_native()
local validator = require "spec.helpers.schema"
local schema = require "kong.plugins.upstream-jwt.schema"
local handler = require "kong.plugins.upstream-jwt.handler"
local cjson = require "cjson"

local SHA256_EMPTY = "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU"

local function conf_with(fields)
  fields.secret = "framing-unit-secret-0123456789abcdef"
  local conf, _, msg = validator.validate(schema, fields)
  assert(conf, msg)
  return conf
end

local function run(conf, req)
  req.path = req.path or "/x"
  req.service = { name = "svc" }
  double.install(req)
  return double.run(handler, conf)
end

local function body_claim(st)
  local seg = st.upstream_headers["x-upstream-jwt"]:match("^[^.]+%.([^.]+)%."):gsub("-", "+"):gsub("_", "/")
  return cjson.decode(double.decode_base64(seg .. string.rep("=", (4 - #seg % 4) % 4))).body_sha256
end

describe("upstream-jwt framing look-alikes (handler)", function()
  it("removes underscore spellings of Content-Length and Transfer-Encoding, nothing else", function()
    local st = run(conf_with({}), {
      method = "POST", body = "abcd",
      headers = { ["Content-Length"] = "4", Content_Length = "0", transfer_encoding = "chunked",
                  ["TRANSFER_ENCODING"] = "gzip", X_Other = "kept", ["Content-Length_X"] = "1" },
    })
    assert.is_nil(st.exit)
    assert.equal("4", st.upstream_headers["content-length"])
    assert.is_nil(st.upstream_headers["content_length"])
    assert.is_nil(st.upstream_headers["transfer_encoding"])
    assert.equal("kept", st.upstream_headers["x_other"])
    assert.equal("1", st.upstream_headers["content-length_x"])
    -- read in place from nginx's header list, every header (a look-alike
    -- after 150 others: spec/e2e/framing_lookalike_spec.lua)
    assert.equal(0, st.calls.get_headers)
  end)

  it("decides the body from $content_length, not from a look-alike", function()
    -- $content_length is the real 300 whatever Content_Length says (nginx's
    -- first-match $http_content_length is shown end to end, not here).
    local body = string.rep("z", 300)
    local st = run(conf_with({ max_body_size = 100 }), {
      method = "POST", body = body, headers = { Content_Length = "0", ["Content-Length"] = "300" },
    })
    assert.equal(413, st.exit.status)
    assert.equal(0, st.calls.get_raw_body)
    st = run(conf_with({}), {
      method = "POST", body = body, headers = { Content_Length = "0", ["Content-Length"] = "300" },
    })
    assert.is_nil(st.exit)
    assert.not_equal(SHA256_EMPTY, body_claim(st))
  end)

  it("lists no headers for a request without framing headers or look-alikes", function()
    local st = run(conf_with({}), { method = "GET", body = "", headers = { Accept = "*/*" } })
    assert.is_nil(st.exit)
    assert.equal(0, st.calls.get_headers)
    assert.equal(SHA256_EMPTY, body_claim(st))
  end)
end)
