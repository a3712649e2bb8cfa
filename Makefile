# Parley build and test targets. `make test` is what CI runs (.ci/run).
GO        ?= go
BIN       := bin/parley
GOTESTFLAGS ?= -race -count=1 -timeout 15m
# An execution count, not a duration: Go 1.26's fuzz coordinator can fail a
# duration-bounded run with "context deadline exceeded" at its end on a
# loaded machine (golang/go#75804, fixed in Go 1.27).
FUZZTIME  ?= 30000x

.PHONY: all build run test ci-deps vet staticcheck gotest fuzz e2e e2e-deps bench bench-smoke clean

all: build

build:
	$(GO) build -o $(BIN) .

run:
	$(GO) run .

## test: everything CI checks (system packages when missing, vet, staticcheck, race tests, fuzz smoke, browser and load smoke).
test: ci-deps vet staticcheck gotest fuzz e2e bench-smoke

## ci-deps: system packages the tests need (Chromium, redis-server, PostgreSQL 15), installed when missing.
ci-deps:
	@./.ci/deps.sh

vet:
	$(GO) vet ./...

staticcheck:
	$(GO) tool staticcheck ./...

gotest:
	PARLEY_REQUIRE_SERVICES=1 $(GO) test $(GOTESTFLAGS) ./...

## fuzz: run each fuzz target for FUZZTIME executions (seeds live in testdata/fuzz).
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeEvent$$' -fuzztime $(FUZZTIME) ./internal/chat
	$(GO) test -run '^$$' -fuzz '^FuzzParseTicket$$' -fuzztime $(FUZZTIME) ./internal/auth
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeEvent$$' -fuzztime $(FUZZTIME) ./internal/cluster
	$(GO) test -run '^$$' -fuzz '^FuzzReader$$' -fuzztime $(FUZZTIME) ./internal/wsframe
	$(GO) test -run '^$$' -fuzz '^FuzzWSClient$$' -fuzztime $(FUZZTIME) ./bench/load

## e2e-deps: the browser tests' npm packages (playwright-core; no browser download), installed when missing or stale.
e2e-deps: e2e/node_modules/.package-lock.json

e2e/node_modules/.package-lock.json: e2e/package.json e2e/package-lock.json
	cd e2e && npm ci --no-audit --no-fund
	@touch $@

## e2e: browser tests: Playwright drives Debian's Chromium against bin/parley (screenshots in e2e/artifacts/).
e2e: build e2e-deps
	cd e2e && PARLEY_BIN="$(abspath $(BIN))" npm test

## bench-smoke: a seconds-long load run against a real Parley on 127.0.0.1 (temp data folder);
## fails on any lost, duplicated or missing delivery, or any error.
bench-smoke: build
	$(GO) build -o bin/parleyload ./bench/cmd/parleyload
	$(GO) build -o bin/plainchat ./bench/plainchat
	$(GO) build -o bin/benchcompare ./bench/cmd/benchcompare
	./bin/benchcompare -targets parley -runs 1 -scenarios fanout,connect -server-cpu "" -load-cpu "" \
		-rooms 2 -members 10 -rate 200 -duration 3s -connect-clients 50 -users 10 -run-timeout 60s -timeout 120s

clean:
	rm -rf bin e2e/artifacts
