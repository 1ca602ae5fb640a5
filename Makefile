# kong-plugin-upstream-jwt — one entry point for deps, build, tests, demo, benchmarks.
# `make test` works on a fresh Debian 12 machine: it installs what is missing first.

SHELL       := /bin/bash
BUILD_DIR   ?= build
BUILD_TYPE  ?= Release
JOBS        ?= $(shell nproc)
BUSTED      ?= busted --lua=luajit
PYTHON      ?= /usr/bin/python3

# Debian packages the project needs to build, test, demo and benchmark.
DEB_PACKAGES := build-essential cmake pkg-config libssl-dev nlohmann-json3-dev \
  googletest libgtest-dev libgmock-dev libbenchmark-dev \
  clang libclang-rt-14-dev valgrind \
  luajit2 luarocks lua-busted lua-cjson lua-yaml lua-resty-core lua-resty-lrucache \
  nginx-light libnginx-mod-http-lua \
  python3 python3-jwt python3-cryptography python3-yaml \
  nodejs npm wrk hyperfine curl procps openssl gnuplot-nox util-linux
# Kong 3.9.3's own code under Debian's nginx (dev/kong-runtime, dev/gateway, dev/busted):
# LuaJIT headers for OpenResty's cjson.so, and the Lua modules Kong's code requires.
DEB_PACKAGES += libluajit2-5.1-dev lua-penlight lua-socket lua-lpeg git
# upstream-oauth2 e2e: shared token cache (two gateways, one Redis) and an egress forward proxy
DEB_PACKAGES += redis-server tinyproxy
# Verifier packages (packages/python, issue 13): the frameworks they are tested with, Redis.
DEB_PACKAGES += python3-flask python3-werkzeug python3-fastapi python3-starlette python3-uvicorn \
  uvicorn python3-redis

.PHONY: all deps build test test-cpp test-lua test-e2e demo bench fuzz asan clean \
  fuzz-build fuzz-ci asan-lua test-hardening hardening-long kong-runtime
.PHONY: test-verifiers test-python test-node test-conformance test-conformance-lua test-examples conformance

all: build

# Installs only what is missing, so it is cheap when everything is present.
# `npm` counts as present when the command exists: NodeSource's nodejs bundles it and conflicts
# with Debian's npm package.
deps:
	@missing=$$(for p in $(DEB_PACKAGES); do \
	    dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || \
	    { [ $$p = npm ] && command -v npm >/dev/null; } || echo $$p; \
	  done); \
	if [ -n "$$missing" ]; then \
	  echo "deps: installing:" $$missing; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	else echo "deps: all Debian packages present"; fi
	@$(MAKE) --no-print-directory node-deps

# Node packages (lockfiles): the verifier package (jose; express, fastify, redis for its tests)
# and the example service (express).
node-deps:
	@for d in packages/node examples/node spec/support/oidc test/interop/httpsig; do \
	  if [ -f $$d/package-lock.json ] && { [ ! -f $$d/node_modules/.package-lock.json ] || \
	     [ $$d/package-lock.json -nt $$d/node_modules/.package-lock.json ]; }; then \
	    (cd $$d && npm ci --no-audit --no-fund --loglevel=error) || exit 1; fi; \
	done

# npm http-message-signatures for the RFC 9421 interop test (issue 16).

build:
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DUPSTREAM_JWT_TESTS=ON
	cmake --build $(BUILD_DIR) -j $(JOBS)

test: deps build test-cpp test-lua test-e2e test-verifiers test-hardening

test-cpp: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)

# Kong 3.9.3's Lua code and pinned libraries: $$KONG_RUNTIME, else ../shared/kong-runtime, else
# a clone of dev/kong-runtime.lock; OpenResty's cjson.so built once into build-runtime/.
kong-runtime:
	@dev/kong-runtime >/dev/null

# The plugins' specs, in Kong's layout (spec/<plugin>/NN-*_spec.lua), run by busted inside nginx
# with Kong's code (dev/busted); every spec directory is run whole.
LUA_SPEC_DIRS = $(wildcard spec/upstream-jwt spec/upstream-jwt-jwks spec/upstream-oauth2 spec/unit)

test-lua: build kong-runtime
	UPSTREAM_JWT_LIB=$(CURDIR)/$(BUILD_DIR)/libupstream_jwt.so dev/busted $(LUA_SPEC_DIRS)

test-e2e: build kong-runtime
	@if [ -d spec/e2e ]; then UPSTREAM_JWT_LIB=$(CURDIR)/$(BUILD_DIR)/libupstream_jwt.so $(BUSTED) spec/e2e; fi

# ---- verifiers (issue 13): packages, conformance vectors in every verifier, examples.
# In `make test` the C++ core and the CLI run the vectors in ctest (conformance_core,
# conformance_cli), the packages in their own suites, the nginx-lua example here;
# `make test-conformance` runs all five runners alone.
test-verifiers: test-python test-node test-conformance-lua test-examples

test-python: build
	cd packages/python && PYTHONPATH=src $(PYTHON) -m unittest discover -s tests

test-node: build
	cd packages/node && node --test test/

test-conformance-lua: build kong-runtime
	UPSTREAM_JWT_LIB=$(CURDIR)/$(BUILD_DIR)/libupstream_jwt.so dev/busted --script conformance/run_lua.lua conformance/vectors.json

test-conformance: build
	$(BUILD_DIR)/upstream_jwt_conformance_gen check conformance/keys conformance/vectors.json
	$(PYTHON) conformance/run_cli.py $(BUILD_DIR)/upstream-jwt conformance/vectors.json
	$(BUILD_DIR)/upstream_jwt_conformance_gen httpsig-check conformance/keys conformance/httpsig_vectors.json
	$(BUILD_DIR)/upstream_jwt_conformance_gen httpsig-up-to-date conformance/keys conformance/httpsig_vectors.json
	$(PYTHON) conformance/run_cli_httpsig.py $(BUILD_DIR)/upstream-jwt conformance/httpsig_vectors.json
	cd packages/python && PYTHONPATH=src $(PYTHON) -m unittest tests/test_conformance.py tests/test_httpsig_conformance.py
	cd packages/node && node --test test/conformance.test.js test/httpsig-conformance.test.js
	@$(MAKE) --no-print-directory test-conformance-lua

test-examples: build
	UPSTREAM_JWT_LIB=$(CURDIR)/$(BUILD_DIR)/libupstream_jwt.so $(PYTHON) -m unittest discover -s examples -p 'test_*.py'

# Regenerates conformance/vectors.json and conformance/httpsig_vectors.json from the core
# (review the diff before committing).
conformance: build
	$(BUILD_DIR)/upstream_jwt_conformance_gen generate conformance/keys conformance/vectors.json
	$(BUILD_DIR)/upstream_jwt_conformance_gen httpsig-generate conformance/keys conformance/httpsig_vectors.json

# Gateway + example verifying service on free loopback ports, a few requests, then stops both.
demo: deps build kong-runtime
	dev/demo

# Every benchmark of issue 5 in one run (~8 min): C++ core vs the OpenSSL
# floor, per-request allocations, the plugin's FFI path vs Lua-only signers in
# nginx, the gateway under wrk, peak RSS on a 200 MB body. Writes
# BENCHMARKS.md and bench/sign_cost.png (own build dir: build-bench/).
bench: deps
	bench/run

# AddressSanitizer + UndefinedBehaviorSanitizer build of everything, and its tests.
asan:
	cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DUPSTREAM_JWT_SANITIZE=ON
	cmake --build build-asan -j $(JOBS)
	cd build-asan && ctest --output-on-failure -j $(JOBS)

# ---- hardening (docs/SECURITY.md): fuzzing, sanitizers, leaks, load, faults.
# `make test-hardening` is the bounded CI part; `make fuzz` and
# `make hardening-long` are the long runs the figures in SECURITY.md come from.
FUZZ_SECONDS    ?= 60
FUZZ_CI_SECONDS ?= 15
HARDENING_DIR   ?= build-hardening
LIBASAN         := $(shell gcc -print-file-name=libasan.so)

fuzz-build:
	cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DUPSTREAM_JWT_FUZZ=ON \
	  -DUPSTREAM_JWT_TESTS=OFF -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_C_COMPILER=clang
	cmake --build build-fuzz -j $(JOBS) --target fuzzers

fuzz: fuzz-build
	fuzz/run.sh build-fuzz $(FUZZ_SECONDS)

fuzz-ci: fuzz-build
	fuzz/run.sh build-fuzz $(FUZZ_CI_SECONDS)

# The FFI specs against the ASan+UBSan library: nginx and luajit are not
# instrumented, so libasan is preloaded (into nginx alone for dev/busted). Leaks are checked on the FFI sign loop alone
# (spec/hardening/leak_spec.lua), where a report can only be the library's.
asan-lua: asan kong-runtime
	UPSTREAM_JWT_LIB=$(CURDIR)/build-asan/libupstream_jwt.so BUSTED_PRELOAD=$(LIBASAN) \
	  ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 dev/busted $(LUA_SPEC_DIRS)
	UPSTREAM_JWT_LIB=$(CURDIR)/build-asan/libupstream_jwt.so LD_PRELOAD=$(LIBASAN) \
	  ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 $(BUSTED) spec/hardening/bad_token_spec.lua

test-hardening: build fuzz-ci asan-lua
	HARDENING_DIR=$(CURDIR)/$(HARDENING_DIR) HARDENING_ASAN_LIB=$(CURDIR)/build-asan/libupstream_jwt.so \
	  UPSTREAM_JWT_LIB=$(CURDIR)/$(BUILD_DIR)/libupstream_jwt.so spec/hardening/run

hardening-long: build asan
	$(MAKE) --no-print-directory fuzz
	HARDENING_LONG=1 HARDENING_DIR=$(CURDIR)/$(HARDENING_DIR) \
	  HARDENING_ASAN_LIB=$(CURDIR)/build-asan/libupstream_jwt.so \
	  UPSTREAM_JWT_LIB=$(CURDIR)/$(BUILD_DIR)/libupstream_jwt.so spec/hardening/run

# Mutation test of the verifier's comparisons (slow: one rebuild per mutant, own
# build dir build-mutation/; not part of `make test`). Prints killed/survived.
.PHONY: mutation
mutation: deps
	$(PYTHON) test/mutation/verifier_mutants.py --build-dir $(CURDIR)/build-mutation --jobs $(JOBS)

clean:
	rm -rf $(BUILD_DIR) build-asan build-fuzz build-hardening build-bench build-mutation build-runtime
