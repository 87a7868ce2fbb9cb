# tokensmith: `make demo` runs the main job on the built-in emulator,
# `make test` runs every test. Both work on a fresh clone.
GO      ?= go
GOFLAGS ?=
export GOFLAGS

# The core as a WebAssembly reactor (wasm/ABI.md). The module is committed
# (wasm/embed.go embeds it; js/ copies it) and must be rebuilt whenever core/ or wasm/ changes;
# internal/wasmrun's TestModuleIsFresh rebuilds it with the same flags and fails
# when the committed file is stale. Keep WASM_FLAGS in step with that test.
WASM_OUT   = wasm/tokensmith.wasm
WASM_FLAGS = -buildmode=c-shared -trimpath -buildvcs=false -ldflags='-s -w -buildid='
WASM_SRC   = $(filter-out %_test.go wasm/embed.go,$(wildcard wasm/*.go core/*.go third_party/fastjson/*.go)) go.mod go.sum

.PHONY: all test test-go demo vet check-core-wasm bench clean wasm wasm-vet wasm-size wasm-budget bench-wasm

all: test

# Each work area adds its own test target to TEST_TARGETS in mk/<area>.mk
# (mk/js.mk, mk/web.mk, mk/redis.mk), so `make test` runs them all.
TEST_TARGETS = test-go
-include mk/*.mk

test: $(TEST_TARGETS)

test-go: vet check-core-wasm wasm-vet wasm-budget
	$(GO) test -race -count=1 ./...
	@$(GO) test -count=1 -run '^TestVectors$$' -v ./core/ | sed -n 's/^ *vectors_test.go:[0-9]*: vectors /conformance vectors (native and wazero): /p'

vet:
	$(GO) vet ./...

# core/ must stay I/O-free and build for WebAssembly unchanged. Only its
# host-only files (//go:build !wasip1: render.go, the fmt, JSON and slog
# renderings for logs) may import fmt and log/slog; the WASM build links none.
check-core-wasm:
	GOOS=wasip1 GOARCH=wasm $(GO) build ./core/
	@! GOOS=wasip1 GOARCH=wasm $(GO) list -f '{{join .Imports "\n"}}' ./core/ | grep -E '^(net|net/.*|os|io/fs|fmt|log|log/slog|encoding/json|reflect)$$' \
	  || (echo "core/ must not import net, os, io/fs, fmt, log, log/slog, encoding/json or reflect for wasip1" >&2; exit 1)
	@! $(GO) list -f '{{join .Imports "\n"}}' ./core/ | grep -E '^(net|net/.*|os|io/fs|encoding/json|reflect)$$' \
	  || (echo "core/ must not import net, os, io/fs, encoding/json or reflect" >&2; exit 1)
	@! GOOS=wasip1 GOARCH=wasm $(GO) list -deps ./core/ | grep -E '^(net|net/http|encoding/json|fmt|log/slog|reflect)$$' \
	  || (echo "core/ must not depend on net, encoding/json, fmt, log/slog or reflect for wasip1, even indirectly" >&2; exit 1)
	@! grep -rn --include='*.go' --exclude='*_test.go' -E 'time\.Now|go func|go [a-zA-Z_.]+\(' core/ \
	  || (echo "core/ must not read the clock or start goroutines" >&2; exit 1)

$(WASM_OUT): $(WASM_SRC)
	GOOS=wasip1 GOARCH=wasm GOWASM= $(GO) build $(WASM_FLAGS) -o $@ ./wasm/
	$(GO) env GOVERSION > $@.goversion

wasm:
	@rm -f $(WASM_OUT)
	@$(MAKE) --no-print-directory $(WASM_OUT) wasm-size

wasm-size: $(WASM_OUT)
	@printf 'tokensmith.wasm: %s bytes raw, %s gzip -9' $$(wc -c < $(WASM_OUT)) $$(gzip -9 -c $(WASM_OUT) | wc -c)
	@if command -v brotli >/dev/null; then printf ', %s brotli -q 11' $$(brotli -q 11 -c $(WASM_OUT) | wc -c); fi; echo

# wasm/ only builds for wasip1. Every package it links is downloaded by every
# browser and edge worker: net, encoding/json, fmt, reflect, time and os stay
# out entirely (core/ has its own HTTP-date parser and a fastjson fork without
# fmt, third_party/fastjson/README.md).
wasm-vet:
	GOOS=wasip1 GOARCH=wasm $(GO) vet ./wasm/
	@! GOOS=wasip1 GOARCH=wasm $(GO) list -deps ./wasm/ | grep -E '^(net|net/http|encoding/json|fmt|reflect|time|os)$$' \
	  || (echo "wasm/ must not link net, encoding/json, fmt, reflect, time or os" >&2; exit 1)

# The size budget of issue 4: at most 800 KB gzipped (the Go runtime alone is
# 544 KB). A byte count, not a timing: deterministic for a given toolchain.
WASM_BUDGET_GZIP = 800000
wasm-budget: $(WASM_OUT)
	@n=$$(gzip -9 -c $(WASM_OUT) | wc -c); echo "tokensmith.wasm: $$n bytes gzip -9 (budget $(WASM_BUDGET_GZIP))"; \
	  test $$n -le $(WASM_BUDGET_GZIP) || (echo "tokensmith.wasm is over its size budget" >&2; exit 1)

# wazero cold start and per-step cost against the native core.
bench-wasm: $(WASM_OUT)
	$(GO) test -run='^$$' -bench=WASM -benchmem ./hostshim/wazero/

demo:
	$(GO) run ./cmd/tokensmith demo

# Every benchmark, six runs each, medians by benchstat (bench/run.sh).
bench: $(WASM_OUT)
	bash bench/run.sh

clean:
	rm -rf bin

