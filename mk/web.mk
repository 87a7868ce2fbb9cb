# The web demo and the browser tests (web/, issue 10).
# `make web` serves the demo page, the emulator and the edge broker together
# on loopback and prints the URL; Ctrl-C stops all three.
# `make test-web` runs the browser tests in Debian's chromium (installed here
# with apt-get when missing and we are root); `make bench-web` prints the
# browser benchmark.

NODE          ?= node
NPM           ?= npm
WEB_PORT      ?= 8080
WEB_DEVSERVER  = bin/devserver
WEB_ARTIFACTS  = $(CURDIR)/web/test/artifacts
CHROMIUM      ?= /usr/bin/chromium

.PHONY: web test-web bench-web web-deps web-chromium $(WEB_DEVSERVER)

TEST_TARGETS += test-web

# Go decides whether the binary is stale.
$(WEB_DEVSERVER):
	$(GO) build -o $@ ./web/devserver

web/node_modules/.package-lock.json: web/package-lock.json
	cd web && $(NPM) ci --no-audit --no-fund --loglevel=error
	@touch $@

web-deps: build web/node_modules/.package-lock.json $(WEB_DEVSERVER)

# playwright-core drives the system's chromium; it cannot download one here.
web-chromium:
	@if [ ! -x "$(CHROMIUM)" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "$(CHROMIUM) is missing: apt-get install -y chromium (as root)" >&2; exit 1; fi; \
	fi

web: web-deps
	TOKENSMITH_DEVSERVER=$(CURDIR)/$(WEB_DEVSERVER) $(NODE) web/serve.mjs --port $(WEB_PORT)

test-web: web-deps web-chromium
	rm -rf $(WEB_ARTIFACTS)
	cd web && CHROMIUM=$(CHROMIUM) TOKENSMITH_DEVSERVER=$(CURDIR)/$(WEB_DEVSERVER) TOKENSMITH_WEB_ARTIFACTS=$(WEB_ARTIFACTS) \
	  $(NODE) --test --test-concurrency=1 --test-reporter=spec test/*.test.mjs
	@cat web/test/.counts 2>/dev/null || true
	@echo "browser test screenshots: $(WEB_ARTIFACTS)"

bench-web: web-deps web-chromium
	cd web && CHROMIUM=$(CHROMIUM) TOKENSMITH_DEVSERVER=$(CURDIR)/$(WEB_DEVSERVER) $(NODE) bench/run.mjs
