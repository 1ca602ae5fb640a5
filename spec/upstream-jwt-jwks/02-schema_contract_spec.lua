-- The upstream-jwt-jwks configuration as an interface: every field attribute and every
-- message a refused configuration gets, through Kong's schema library
-- (spec/helpers/schema_contract.lua).
local setup = require "spec.helpers.setup"
setup.require_native()
local contract = require "spec.helpers.schema_contract"
local schema = require "kong.plugins.upstream-jwt-jwks.schema"

-- Real keys: every literal key is parsed at config time.
local PEM = setup.public_key(setup.private_key("ec"))
local ED_PEM = setup.public_key(setup.private_key("ed25519"))

local seventeen, ids17 = {}, {}
for i = 1, 17 do
  seventeen[i], ids17[i] = PEM, "k" .. i
end

contract.describe(describe, it, schema, {
  accepted = {
    { "one key and its id, with every default",
      { public_keys = { PEM }, key_ids = { "k1" } },
      { public_keys = { PEM }, key_ids = { "k1" }, algorithms = {}, max_age = 300 } },
    { "vault references, one algorithm per key and the bounds of max_age",
      { public_keys = { "{vault://env/a}", ED_PEM }, key_ids = { "a", " ~" },
        algorithms = { "PS256", "EdDSA" }, max_age = 86400 },
      { public_keys = { "{vault://env/a}", ED_PEM }, key_ids = { "a", " ~" },
        algorithms = { "PS256", "EdDSA" }, max_age = 86400 } },
    { "max_age 0", { public_keys = { PEM }, key_ids = { "k" }, max_age = 0 },
      { public_keys = { PEM }, key_ids = { "k" }, algorithms = {}, max_age = 0 } },
  },
  refused = {
    { "no public_keys", { key_ids = { "k1" } },
      "schema violation (config.public_keys: field required for entity check)" },
    { "an empty public_keys", { public_keys = {}, key_ids = {} },
      "schema violation (config.public_keys: length must be at least 1)" },
    { "17 keys", { public_keys = seventeen, key_ids = ids17 },
      "schema violation (config.public_keys: length must be at most 16)" },
    { "an empty key", { public_keys = { "" }, key_ids = { "k1" } },
      "schema violation (config.public_keys: {\n  \"length must be at least 1\"\n})" },
    { "a non-string key", { public_keys = { 1 }, key_ids = { "k1" } },
      "schema violation (config.public_keys: {\n  \"expected a string\"\n})" },
    { "public_keys that is not an array", { public_keys = PEM, key_ids = { "k1" } },
      "schema violation (config.public_keys: expected an array)" },
    { "no key_ids", { public_keys = { PEM } },
      "schema violation (config.key_ids: field required for entity check)" },
    { "fewer key ids than keys", { public_keys = { PEM, PEM }, key_ids = { "k1" } },
      "schema violation ('config.key_ids' needs one key id per entry of "
         .. "'config.public_keys')" },
    { "more key ids than keys", { public_keys = { PEM }, key_ids = { "k1", "k2" } },
      "schema violation ('config.key_ids' needs one key id per entry of "
         .. "'config.public_keys')" },
    { "a repeated key id", { public_keys = { PEM, PEM }, key_ids = { "k1", "k1" } },
      "schema violation (key id 'k1' is listed twice)" },
    { "a key id with a newline", { public_keys = { PEM }, key_ids = { "k\n1" } },
      "schema violation (config.key_ids: {\n  \"must be printable ASCII\"\n})" },
    { "an empty key id", { public_keys = { PEM }, key_ids = { "" } },
      "schema violation (config.key_ids: {\n  \"must be printable ASCII\"\n})" },
    { "a non-string key id", { public_keys = { PEM }, key_ids = { 1 } },
      "schema violation (config.key_ids: {\n  \"expected a string\"\n})" },
    { "an HMAC algorithm", { public_keys = { PEM }, key_ids = { "k1" }, algorithms = { "HS256" } },

      "schema violation (config.algorithms: {\n  \"expected one of: RS256, PS256, ES256, "
         .. "EdDSA\"\n})" },
    { "fewer algorithms than keys",
      { public_keys = { PEM, PEM }, key_ids = { "k1", "k2" }, algorithms = { "ES256" } },
      "schema violation ('config.algorithms' is empty or has one algorithm per entry of "
         .. "'config.public_keys')" },
    { "max_age -1", { public_keys = { PEM }, key_ids = { "k1" }, max_age = -1 },
      "schema violation (config.max_age: value should be between 0 and 86400)" },
    { "max_age 86401", { public_keys = { PEM }, key_ids = { "k1" }, max_age = 86401 },
      "schema violation (config.max_age: value should be between 0 and 86400)" },
    { "a non-integer max_age", { public_keys = { PEM }, key_ids = { "k1" }, max_age = "300" },
      "schema violation (config.max_age: expected an integer)" },
    { "an unknown config field", { public_keys = { PEM }, key_ids = { "k1" }, kid = "k1" },
      "schema violation (config.kid: unknown field)" },
    { "a gRPC protocol", { public_keys = { PEM }, key_ids = { "k1" } },
      "schema violation (protocols.1: expected one of: http, https)",
      { protocols = { "grpcs" } } },
    { "a consumer", { public_keys = { PEM }, key_ids = { "k1" } },
      "schema violation (consumer: value must be null)",
      { consumer = { id = "6b2d4d0c-39c8-4d52-8a5b-1d6f6f2a0e6b" } } },
  },
})
