-- The upstream-oauth2 configuration as an interface: every field attribute and entity check
-- through Kong's schema library (spec/helpers/schema_contract.lua). Its refusals are covered
-- message by message in 01-schema_spec.lua; the ones here are those of the fields it shares
-- with the other plugins' schemas.
require "spec.helpers.setup"
local contract = require "spec.helpers.schema_contract"
local schema = require "kong.plugins.upstream-oauth2.schema"

local BASE = { token_endpoint = "https://as.example/token", client_id = "gw", client_secret = "s" }

local function with(extra)
  return contract.merge(BASE, extra)
end

contract.describe(describe, it, schema, {
  refused = {
    { "a gRPC protocol", BASE,
      "schema violation (protocols.1: expected one of: http, https)", { protocols = { "grpc" } } },
    { "a header name with a space", with({ header = "X Bad" }),
      "schema violation (config.header: bad header name 'X Bad', allowed characters are "
         .. "A-Z, a-z, 0-9, '_', and '-')" },
    { "an unknown client assertion algorithm", with({ client_auth = "private_key_jwt",
        private_key = "k", client_assertion_algorithm = "PS256" }),
      "schema violation (config.client_assertion_algorithm: expected one of: HS256, HS384, "
         .. "HS512, RS256, ES256, EdDSA)" },
  },
})
