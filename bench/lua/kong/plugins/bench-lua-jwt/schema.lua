return require "bench_schema" ("bench-lua-jwt")
