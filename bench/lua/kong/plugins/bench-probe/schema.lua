return require "bench_schema" ("bench-probe", {
  { hash_body = { description = "Read and hash the request body before minting.",
                  type = "boolean", required = true, default = false } },
})
