# tokensmith: `make demo` runs the main job on the built-in emulator,
# `make test` runs every test. Both work on a fresh clone.
GO      ?= go
GOFLAGS ?=
export GOFLAGS

.PHONY: all test demo vet check-core-wasm bench fuzz-smoke clean

all: test

test: vet check-core-wasm
	$(GO) test -race -count=1 ./...

vet:
	$(GO) vet ./...

# core/ must stay I/O-free and build for WebAssembly unchanged.
check-core-wasm:
	GOOS=wasip1 GOARCH=wasm $(GO) build ./core/
	@! $(GO) list -f '{{join .Imports "\n"}}' ./core/ | grep -E '^(net|net/.*|os|io/fs|fmt|encoding/json|reflect)$$' \
	  || (echo "core/ must not import net, os, io/fs, fmt, encoding/json or reflect" >&2; exit 1)
	@! GOOS=wasip1 GOARCH=wasm $(GO) list -deps ./core/ | grep -E '^(net|net/http|encoding/json)$$' \
	  || (echo "core/ must not depend on net or encoding/json, even indirectly" >&2; exit 1)
	@! grep -rn --include='*.go' --exclude='*_test.go' -E 'time\.Now|go func|go [a-zA-Z_.]+\(' core/ \
	  || (echo "core/ must not read the clock or start goroutines" >&2; exit 1)

demo:
	$(GO) run ./cmd/tokensmith demo

bench:
	$(GO) test -run='^$$' -bench=. -benchmem ./core/...

clean:
	rm -rf bin
