# Portcullis: `make run` (install, build, serve on 127.0.0.1:5000 with ./data)
# and `make test` (install, build, run the whole test suite).
BUILD ?= build
TYPE ?= RelWithDebInfo
LISTEN ?= 127.0.0.1:5000
DATA ?= ./data

.PHONY: all deps build run test asan bench bench-auth bench-scan bench-gc format clean

all: build

deps:
	@scripts/install-deps.sh build

build: deps
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=$(TYPE) >/dev/null
	@cmake --build $(BUILD)

run: build
	./$(BUILD)/portcullis serve --listen $(LISTEN) --data $(DATA)

test: build
	@scripts/install-deps.sh test
	ctest --test-dir $(BUILD) --output-on-failure --timeout 1200

# AddressSanitizer + UndefinedBehaviorSanitizer build and test run.
asan:
	@scripts/install-deps.sh test
	@cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Asan >/dev/null
	@cmake --build build-asan
	ASAN_OPTIONS=detect_leaks=1 ctest --test-dir build-asan --output-on-failure --timeout 1200

bench: build
	@scripts/install-deps.sh bench
	bench/load.sh $(BUILD)/portcullis

# Garbage collection over 100,000 blobs and push latency while it runs (docs/performance.md).
bench-gc: build
	python3 bench/gc_bench.py $(BUILD)/portcullis

# The same load benchmark with authentication on (Bearer token on every request).
bench-auth: build
	@scripts/install-deps.sh bench
	BENCH_AUTH=1 bench/load.sh $(BUILD)/portcullis

# Scanner: import time, scan vs decompress ratio, matching 10,000 packages.
bench-scan: build
	@scripts/install-deps.sh test
	@bash tests/harness/build-test-images.sh /var/tmp/registry-harness-cache >/dev/null
	$(BUILD)/bench/bench_scan

format:
	clang-format -i $$(git ls-files '*.cc' '*.h')

clean:
	rm -rf $(BUILD) build-asan
