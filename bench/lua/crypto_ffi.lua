-- libcrypto (OpenSSL 3) through LuaJIT FFI: the declarations both Lua-only
-- baselines use, as lua-resty-openssl and Kong's bundled code reach libcrypto.
-- The benchmarks must not depend on the plugin's native library.
local ffi = require "ffi"

local decls = {
  "typedef struct evp_mac_st EVP_MAC;",
  "typedef struct evp_mac_ctx_st EVP_MAC_CTX;",
  "typedef struct evp_md_st EVP_MD;",
  "typedef struct evp_md_ctx_st EVP_MD_CTX;",
  "typedef struct ossl_lib_ctx_st OSSL_LIB_CTX;",
  [[typedef struct ossl_param_st {
      const char *key; unsigned int data_type; void *data; size_t data_size; size_t return_size;
    } OSSL_PARAM;]],
  "EVP_MAC *EVP_MAC_fetch(OSSL_LIB_CTX *libctx, const char *algorithm, const char *properties);",
  "void EVP_MAC_free(EVP_MAC *mac);",
  "EVP_MAC_CTX *EVP_MAC_CTX_new(EVP_MAC *mac);",
  "void EVP_MAC_CTX_free(EVP_MAC_CTX *ctx);",
  "int EVP_MAC_init(EVP_MAC_CTX *ctx, const unsigned char *key, size_t keylen, const OSSL_PARAM params[]);",
  "int EVP_MAC_update(EVP_MAC_CTX *ctx, const unsigned char *data, size_t datalen);",
  "int EVP_MAC_final(EVP_MAC_CTX *ctx, unsigned char *out, size_t *outl, size_t outsize);",
  "EVP_MD *EVP_MD_fetch(OSSL_LIB_CTX *ctx, const char *algorithm, const char *properties);",
  "void EVP_MD_free(EVP_MD *md);",
  "EVP_MD_CTX *EVP_MD_CTX_new(void);",
  "void EVP_MD_CTX_free(EVP_MD_CTX *ctx);",
  "int EVP_DigestInit_ex(EVP_MD_CTX *ctx, const EVP_MD *type, void *impl);",
  "int EVP_DigestInit_ex2(EVP_MD_CTX *ctx, const EVP_MD *type, const OSSL_PARAM params[]);",
  "int EVP_DigestUpdate(EVP_MD_CTX *ctx, const void *d, size_t cnt);",
  "int EVP_DigestFinal_ex(EVP_MD_CTX *ctx, unsigned char *md, unsigned int *s);",
  "int RAND_bytes(unsigned char *buf, int num);",
}
-- Another module in the same VM may have declared some of these already.
for _, d in ipairs(decls) do
  pcall(ffi.cdef, d)
end

local ok, lib = pcall(ffi.load, "crypto")
if not ok then
  lib = ffi.load("libcrypto.so.3")
end
-- OSSL_PARAM {"digest" = <name>} built field by field, as lua-resty-openssl's
-- param helper does (the construct_* functions return structs by value,
-- which the JIT cannot compile).
local OSSL_PARAM_UTF8_STRING = 4
local SIZE_MAX = ffi.cast("size_t", -1)
local function digest_params(name)
  local p = ffi.new("OSSL_PARAM[2]")
  local buf = ffi.new("char[?]", #name + 1, name)
  p[0].key = "digest"
  p[0].data_type = OSSL_PARAM_UTF8_STRING
  p[0].data = buf
  p[0].data_size = #name
  p[0].return_size = SIZE_MAX
  -- p[1] is zero-filled: the end marker. `buf` must outlive `p`.
  return p, buf
end

return { lib = lib, digest_params = digest_params }
