# Go host (hostshim, hostshim/wazero, cmd/tokensmith). Its tests run in
# test-go (go test -race ./...).

.PHONY: demo-wasm native-size

# The demo with the core as WebAssembly in wazero.
demo-wasm:
	$(GO) run ./cmd/tokensmith demo --runtime wasm

# Stripped size of the smallest native-only program: it must link neither
# wazero nor the module (hostshim's TestNativeLinksNoWazero checks the graph).
native-size:
	@$(GO) build -trimpath -ldflags='-s -w' -o bin/nativesize ./bench/nativesize
	@echo "native-only program (bench/nativesize), stripped: $$(wc -c < bin/nativesize) bytes"
