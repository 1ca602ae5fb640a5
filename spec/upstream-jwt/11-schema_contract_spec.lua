-- The upstream-jwt configuration is an interface: decK files, Admin API clients and the
-- acceptance checks depend on its field names, types, defaults, descriptions, vault flags
-- and on every message a refused configuration gets. This pins all of it through Kong's
-- schema library (spec/helpers/schema_contract.lua), whichever module the definitions live in.
require "spec.helpers.setup"
local contract = require "spec.helpers.schema_contract"
local schema = require "kong.plugins.upstream-jwt.schema"

local null = ngx.null
local S32 = string.rep("s", 32)
local PEM_PRIVATE = "-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----\n"
local PEM_PUBLIC = "-----BEGIN PUBLIC KEY-----\nx\n-----END PUBLIC KEY-----\n"

local function with(fields)
  return contract.merge({ secret = S32 }, fields)
end

local DEFAULTS = {
  algorithm = "HS256", secret_is_base64 = false, issuer = "kong", ttl = 60,
  header = "X-Upstream-JWT", include_consumer = true, include_credential = true,
  bind_request = true, include_body_digest = true, max_body_size = 8388608,
  bind_headers = {}, format = "jwt", signature_label = "kong",
}

local function defaults(fields)
  return contract.merge(DEFAULTS, fields)
end

contract.describe(describe, it, schema, {
  accepted = {
    { "an HMAC secret alone, with every default",
      { secret = S32 }, defaults({ secret = S32 }) },
    { "a short vault reference (resolved and checked at request time)",
      { secret = "{vault://env/x}", algorithm = "HS512" },
      defaults({ secret = "{vault://env/x}", algorithm = "HS512" }) },
    { "a private key by vault reference, with every optional field set",
      { algorithm = "EdDSA", private_key = "{vault://env/k}", key_id = "k\0011", audience = "a",
        header_prefix = "Bearer", signature_tag = "t", claims = { env = "" },
        bind_headers = { "Content-Type" }, format = "http-message-signature", ttl = 3600,
        max_body_size = 0 },
      defaults({ algorithm = "EdDSA", private_key = "{vault://env/k}", key_id = "k\0011",
                 audience = "a", header_prefix = "Bearer", signature_tag = "t",
                 claims = { env = "" }, bind_headers = { "Content-Type" },
                 format = "http-message-signature", ttl = 3600, max_body_size = 0 }) },
  },
  refused = {
    { "an unknown algorithm", with({ algorithm = "none" }),
      "schema violation (config.algorithm: expected one of: HS256, HS384, HS512, RS256, "
         .. "PS256, ES256, EdDSA)" },
    { "a non-string algorithm", with({ algorithm = 256 }),
      "schema violation (config.algorithm: expected a string)" },
    { "a null algorithm", with({ algorithm = null }),
      "schema violation (config.algorithm: required field missing)" },
    { "a non-string secret", { secret = 32 },
      "2 schema violations (HS256, HS384 and HS512 need 'config.secret'; config.secret: "
         .. "expected a string)" },
    { "a non-boolean secret_is_base64", with({ secret_is_base64 = "yes" }),
      "schema violation (config.secret_is_base64: expected a boolean)" },
    { "HMAC without a secret", { algorithm = "HS384" },
      "2 schema violations (failed conditional validation given value of field "
         .. "'config.algorithm'; config.secret: required field missing)" },
    { "an empty secret", { secret = "" },
      "3 schema violations (HS256, HS384 and HS512 need 'config.secret'; 'config.secret' "
         .. "is 0 bytes; HS256 needs at least 32; config.secret: length must be at least 1)" },
    { "a 31-byte HS256 secret", { secret = string.rep("q", 31) },
      "schema violation ('config.secret' is 31 bytes; HS256 needs at least 32)" },
    { "a short secret that only looks like a vault reference (one slash)",
      { secret = "{vault:/env/x}" },
      "schema violation ('config.secret' is 14 bytes; HS256 needs at least 32)" },
    { "a 47-byte HS384 secret", { algorithm = "HS384", secret = string.rep("q", 47) },
      "schema violation ('config.secret' is 47 bytes; HS384 needs at least 48)" },
    { "a 63-byte HS512 secret", { algorithm = "HS512", secret = string.rep("q", 63) },
      "schema violation ('config.secret' is 63 bytes; HS512 needs at least 64)" },
    { "a base64 secret that is not base64",
      { secret = string.rep("*", 44), secret_is_base64 = true },
      "schema violation ('config.secret' is not valid base64 (config.secret_is_base64 is true))" },
    { "a base64 secret of 24 bytes", { secret = string.rep("A", 32), secret_is_base64 = true },
      "schema violation ('config.secret' is 24 bytes; HS256 needs at least 32)" },
    { "an asymmetric algorithm without a key", { algorithm = "ES256" },
      "2 schema violations (failed conditional validation given value of field "
         .. "'config.algorithm'; config.private_key: required field missing)" },
    { "a private key that is not PEM", { algorithm = "RS256", private_key = "not a key" },
      "2 schema violations (RS256, PS256, ES256 and EdDSA need 'config.private_key'; "
         .. "config.private_key: expected a PEM private key (-----BEGIN ... PRIVATE KEY-----))" },
    { "a public key as private_key", { algorithm = "PS256", private_key = PEM_PUBLIC },
      "2 schema violations (RS256, PS256, ES256 and EdDSA need 'config.private_key'; "
         .. "config.private_key: expected a PEM private key (-----BEGIN ... PRIVATE KEY-----))" },
    { "a non-string private key", { algorithm = "EdDSA", private_key = {} },
      "2 schema violations (RS256, PS256, ES256 and EdDSA need 'config.private_key'; "
         .. "config.private_key: expected a string)" },
    { "a non-string key_id", with({ key_id = 1 }),
      "schema violation (config.key_id: expected a string)" },
    { "a non-string issuer", with({ issuer = 1 }),
      "schema violation (config.issuer: expected a string)" },
    { "a null issuer", with({ issuer = null }),
      "schema violation (config.issuer: required field missing)" },
    { "a non-string audience", with({ audience = {} }),
      "schema violation (config.audience: expected a string)" },
    { "an empty audience", with({ audience = "" }),
      "schema violation (config.audience: length must be at least 1)" },
    { "an empty key_id", with({ key_id = "" }),
      "schema violation (config.key_id: length must be at least 1)" },
    { "ttl 0", with({ ttl = 0 }),
      "schema violation (config.ttl: value should be between 1 and 3600)" },
    { "ttl 3601", with({ ttl = 3601 }),
      "schema violation (config.ttl: value should be between 1 and 3600)" },
    { "a fractional ttl", with({ ttl = 1.5 }),
      "schema violation (config.ttl: expected an integer)" },
    { "a header name with a space", with({ header = "X Bad" }),
      "schema violation (config.header: bad header name 'X Bad', allowed characters are "
         .. "A-Z, a-z, 0-9, '_', and '-')" },
    { "an empty header name", with({ header = "" }),
      "schema violation (config.header: length must be at least 1)" },
    { "the header Host in lower case", with({ header = "host" }),
      "schema violation (config.header: must not be 'Host')" },
    { "the header X-Kong-Request-Id in upper case", with({ header = "X-KONG-REQUEST-ID" }),
      "schema violation (config.header: must not be 'X-Kong-Request-Id')" },
    { "a header_prefix with a space", with({ header_prefix = "Bearer x" }),
      "schema violation (config.header_prefix: must be a single token without spaces (e.g. "
         .. "'Bearer'))" },
    { "a non-boolean include_consumer", with({ include_consumer = "true" }),
      "schema violation (config.include_consumer: expected a boolean)" },
    { "a non-boolean include_credential", with({ include_credential = 1 }),
      "schema violation (config.include_credential: expected a boolean)" },
    { "a non-boolean bind_request", with({ bind_request = "no" }),
      "schema violation (config.bind_request: expected a boolean)" },
    { "a non-boolean include_body_digest", with({ include_body_digest = 0 }),
      "schema violation (config.include_body_digest: expected a boolean)" },
    { "max_body_size -1", with({ max_body_size = -1 }),
      "schema violation (config.max_body_size: value should be between 0 and 2147483647)" },
    { "max_body_size 2^31", with({ max_body_size = 2147483648 }),
      "schema violation (config.max_body_size: value should be between 0 and 2147483647)" },
    { "bind_headers that is not an array", with({ bind_headers = "Content-Type" }),
      "schema violation (config.bind_headers: expected an array)" },
    { "a bound header that is not a token", with({ bind_headers = { "Content Type" } }),
      "schema violation (config.bind_headers: {\n  \"must be an HTTP header name (RFC 9110 "
         .. "token)\"\n})" },
    { "binding Host", with({ bind_headers = { "host" } }),
      "schema violation (config.bind_headers: 'host' cannot be bound: the upstream "
         .. "receives 'Host' as nginx or Kong sets it)" },
    { "binding Keep_Alive ('_' as '-')", with({ bind_headers = { "Keep_Alive" } }),
      "schema violation (config.bind_headers: 'Keep_Alive' cannot be bound: the upstream "
         .. "receives 'Keep-Alive' as nginx or Kong sets it)" },
    { "binding a header twice", with({ bind_headers = { "X-A", "x_a" } }),
      "schema violation (config.bind_headers: 'x_a' is listed twice (names are compared "
         .. "case-insensitively, '_' as '-'))" },
    { "binding the token header", with({ bind_headers = { "x-upstream_jwt" } }),
      "schema violation ('config.bind_headers' cannot contain the token header "
         .. "'X-Upstream-JWT')" },
    { "an unknown format", with({ format = "jws" }),
      "schema violation (config.format: expected one of: jwt, http-message-signature)" },
    { "http-message-signature with HS384",
      { algorithm = "HS384", secret = string.rep("q", 48), format = "http-message-signature" },
      "2 schema violations (http-message-signature signs with HS256, RS256, PS256, ES256 "
         .. "or EdDSA (RFC 9421 has no HMAC-SHA-384/512 algorithm); config.algorithm: expected "
         .. "one of: HS256, RS256, PS256, ES256, EdDSA)" },
    { "an upper-case signature_label", with({ signature_label = "Kong" }),
      "schema violation (config.signature_label: must be a structured-field key: lowercase "
         .. "letters, digits, '_', '-', '.', '*')" },
    { "a signature_tag with a newline", with({ signature_tag = "a\nb" }),
      "schema violation (config.signature_tag: must be printable ASCII)" },
    { "an empty signature_tag", with({ signature_tag = "" }),
      "schema violation (config.signature_tag: must be printable ASCII)" },
    { "a static claim named like a registered one", with({ claims = { body_sha256 = "x" } }),
      "schema violation (config.claims: must not be one of: iss, aud, iat, nbf, exp, jti, "
         .. "sub, consumer, credential, htm, htu, query_sha256, body_sha256)" },
    { "a non-string claim value", with({ claims = { n = 1 } }),
      "schema violation (config.claims: expected a string)" },
    { "claims that are not a map", with({ claims = "x" }),
      "schema violation (config.claims: expected a map)" },
    { "an unknown config field", with({ bogus = true }),
      "schema violation (config.bogus: unknown field)" },
    { "several errors at once", { algorithm = "HS256", ttl = 0, header = "Host", bogus = 1 },
      "5 schema violations (failed conditional validation given value of field "
         .. "'config.algorithm'; config.bogus: unknown field; config.header: must not be 'Host'; "
         .. "config.secret: required field missing; config.ttl: value should be between 1 and "
         .. "3600)" },
    { "a gRPC protocol", { secret = S32 },
      "schema violation (protocols.1: expected one of: http, https)", { protocols = { "grpc" } } },
    { "a consumer", { secret = S32 }, "schema violation (consumer: value must be null)",
      { consumer = { id = "6b2d4d0c-39c8-4d52-8a5b-1d6f6f2a0e6b" } } },
  },
})
