# Roombridge. `make run` starts the gateway with the embedded SFU and a demo
# room; `make test` runs every test, end-to-end ones included.
GO       ?= go
BIN      := bin/roombridge
CONFIG   ?= configs/roombridge.yaml
VERSION  := $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -X main.version=$(VERSION)
GOBIN    := $(shell $(GO) env GOPATH)/bin
GOLANGCI := $(GOBIN)/golangci-lint
GOLANGCI_VERSION := v2.15.0
# Race-enabled test binaries of pion and sqlite are large; one package at a
# time keeps the end-to-end tests from starving each other of the 2 cores.
TESTFLAGS ?= -race -timeout 30m
# npm packages of web/ (JsSIP, esbuild, ws), installed by npm ci.
WEB_DEPS := web/node_modules/.package-lock.json

.PHONY: run build deps deps-test test test-short lint fuzz fuzz-long bench perf clean web web-check

run: deps build
	@echo "Open the demo room: http://127.0.0.1:8080/r/demo?name=you&pin=1234  (admin: http://127.0.0.1:8080/admin, key devkey-change-me)"
	$(BIN) serve --config $(CONFIG)

build:
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/roombridge

deps:
	@bash deploy/install-deps.sh run

deps-test:
	@bash deploy/install-deps.sh test

# The media path's zero-allocation tests skip under the race detector
# (which allocates on its own account); this runs them without it.
ALLOCTESTS := -run 'ZeroAllocs|DoesNotAllocate' ./gateway/bridge/ ./gateway/rtp/ ./gateway/media/... ./sfu/

test: deps-test $(WEB_DEPS)
	$(GO) vet ./...
	$(GO) test -count=1 $(ALLOCTESTS)
	$(GO) test $(TESTFLAGS) ./...
	cd deploy/kubernetes/check && $(GO) test ./...

test-short:
	$(GO) test -short -race ./...

$(GOLANGCI):
	$(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_VERSION)

lint: $(GOLANGCI) web-check
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); echo "gofmt: files above need formatting"; exit 1)
	$(GO) vet ./...
	$(GOLANGCI) run --config .ci/golangci.yml --max-same-issues 0 --max-issues-per-linter 0 ./...

# The click-to-call page's JsSIP bundle (web/static/vendor/, committed) is
# built by esbuild from the npm packages pinned in web/package-lock.json:
# `make web` rebuilds it, `make web-check` (part of lint) fails when the
# committed files are not byte for byte what a rebuild gives.

$(WEB_DEPS): web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund

web: $(WEB_DEPS)
	cd web && node build.mjs

web-check: $(WEB_DEPS)
	cd web && node build.mjs --check

# Each fuzz target runs FUZZTIME (default 20s).
FUZZTIME ?= 20s
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

# Every fuzz target for 10 minutes (`make fuzz-long FUZZTIME=2m` for less):
# for a release, not for every change.
fuzz-long: FUZZTIME := 10m
fuzz-long: fuzz

bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 2s ./...

# The end-to-end load figure: a fresh non-race build, LEGS legs of
# continuous speech in rooms of ROOM_SIZE at RATE calls/s for HOLD, and a
# probe room (test/perf/perf.sh, which also reads MAX_CPU, MAX_MACHINE_CPU, MAX_LATE_TICKS
# and MAX_LEGS from the environment). BACKEND=livekit runs the same load
# against a gateway using a livekit-server the script starts.
LEGS      ?= 600
RATE      ?= 100
ROOM_SIZE ?= 10
HOLD      ?= 30s
BACKEND   ?= embedded
perf:
	LEGS=$(LEGS) RATE=$(RATE) ROOM_SIZE=$(ROOM_SIZE) HOLD=$(HOLD) BACKEND=$(BACKEND) GO=$(GO) bash test/perf/perf.sh

clean:
	rm -rf bin data
