# The JS package (js/, issue 9). `make build` prepares js/ for use from a
# checkout: the core's module copied beside the package (js/tokensmith.wasm,
# git-ignored) and the dev dependencies installed from the lockfile.
# `make test-js` runs its whole suite with Node's own runner (vectors in Node
# and in workerd, end to end against the emulator, the edge broker, npm pack);
# `make bench-js` prints its benchmarks.

NODE ?= node
NPM  ?= npm
JS_WASM = wasm/tokensmith.wasm

.PHONY: build test-js bench-js js-tools

TEST_TARGETS += test-js

build: js/tokensmith.wasm js/node_modules/.package-lock.json

js/tokensmith.wasm: $(JS_WASM)
	cp $(JS_WASM) $@

# npm ci writes node_modules/.package-lock.json: reinstall only when the
# lockfile changed or node_modules is missing.
js/node_modules/.package-lock.json: js/package-lock.json
	cd js && $(NPM) ci --no-audit --no-fund --loglevel=error
	@touch $@

# Go tools of the JS tests: the emulator with a control API (js/test/emuctl)
# and the native core's run of every vector, to compare with (js/test/vectordump).
js-tools:
	$(GO) build -o bin/emuctl ./js/test/emuctl
	$(GO) build -o bin/vectordump ./js/test/vectordump

test-js: build js-tools
	@rm -f js/test/.counts-*
	cd js && TOKENSMITH_EMUCTL=$(CURDIR)/bin/emuctl TOKENSMITH_VECTORDUMP=$(CURDIR)/bin/vectordump $(NODE) --test --test-concurrency=1 --test-reporter=spec test/*.test.js
	@cat js/test/.counts-node js/test/.counts-workerd js/test/.counts-chromium 2>/dev/null || true

bench-js: build js-tools
	cd js && TOKENSMITH_EMUCTL=$(CURDIR)/bin/emuctl $(NODE) bench/run.js
