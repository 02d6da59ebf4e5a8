# Parley's tasks. `make help` lists them.
GO        ?= go
BIN       ?= bin/parley
GOFILES    = $(shell git ls-files '*.go' 2>/dev/null)

.DEFAULT_GOAL := help

.PHONY: help
help: ## List the tasks
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  \033[1m%-14s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: run
run: ## Run Parley on http://localhost:8080 with a demo workspace (data in ./data)
	$(GO) run ./cmd/parley serve --demo --signup

.PHONY: build
build: ## Build the static parley binary into bin/
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags="-s -w" -o $(BIN) ./cmd/parley

.PHONY: test
test: ## Run every test (the browser test needs chromium; .ci/run installs it)
	$(GO) test -count=1 ./...

.PHONY: fuzz
fuzz: ## Run every fuzz target (signature checks, provider parsers) for FUZZTIME each (default 5s)
	@set -e; for f in $$(grep -rl --include='*_test.go' '^func Fuzz' .); do \
		pkg=$$(dirname $$f); \
		for name in $$(grep -o '^func Fuzz[A-Za-z0-9_]*' $$f | cut -d' ' -f2); do \
			echo "fuzz $$pkg $$name"; \
			$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $${FUZZTIME:-5s} $$pkg >/dev/null || \
				{ echo "fuzz $$name failed: run go test -run '^$$' -fuzz '^$$name\$$' $$pkg"; exit 1; }; \
		done; \
	done

.PHONY: security
security: ## go vet, govulncheck, gosec and every fuzz target (FUZZTIME each): fails on any finding (scripts/security.sh)
	@GO=$(GO) MAKE=$(MAKE) scripts/security.sh

.PHONY: sqlmap
sqlmap: ## sqlmap against every form and API parameter of a demo server, signed in (slow: not in CI; scripts/sqlmap.sh)
	scripts/sqlmap.sh

.PHONY: generate
generate: ## Regenerate templ components
	$(GO) tool templ generate

.PHONY: lint
lint: ## gofmt, go vet, and check generated files are in sync
	@out=$$(gofmt -l $(GOFILES)); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	@before=$$(cat $$(find views -name '*_templ.go' | sort) | sha256sum); \
	$(GO) tool templ generate >/dev/null 2>&1; \
	after=$$(cat $$(find views -name '*_templ.go' | sort) | sha256sum); \
	if [ "$$before" != "$$after" ]; then echo "generated templ files were stale: regenerated them, commit the result"; exit 1; fi

.PHONY: bench
bench: ## Load and scale run on generated data (1,000 tenants, a 100,000-client tenant): writes BENCHMARKS.md
	$(GO) run ./cmd/parley-bench all

.PHONY: bench-quick
bench-quick: ## The same on small data, under 3 minutes once cached: writes .cache/bench/quick/BENCHMARKS.md
	$(GO) run ./cmd/parley-bench all --quick

.PHONY: soak
soak: ## Mixed load with replication on for SOAK (default 10m): samples memory, WALs, lag, leaks; fails on a FAIL verdict
	$(GO) run ./cmd/parley-bench soak --duration $${SOAK:-10m}

.PHONY: bench-foundation
bench-foundation: ## Run the foundation benchmarks (tenant cold open, signed-in page)
	$(GO) test -run '^$$' -bench 'TenantColdOpen|SignedInPage' -benchmem -count=5 ./tenantdb ./app/web

.PHONY: bench-clients
bench-clients: ## Benchmark clients on a generated 100,000-client tenant (cached in .cache/bench)
	$(GO) test -run '^$$' -bench 'Client|Search' -benchtime=2000x -count=1 -timeout=60m ./tenantdb ./app/web

.PHONY: bench-chats
bench-chats: ## Benchmark chats on the 100,000-client tenant with 2,000,000 messages (cached in .cache/bench) and SSE fan-out
	$(GO) test -run '^$$' -bench 'Chat' -benchtime=2000x -count=1 -timeout=120m ./tenantdb
	$(GO) test -run '^$$' -bench 'ChatLiveFanOut' -benchtime=200x -count=1 -timeout=60m ./app/web

.PHONY: bench-channels
bench-channels: ## Benchmark each provider's webhook ingest and paced sends against fake provider APIs
	$(GO) test -run '^$$' -bench 'ChannelIngest|ChannelSend' -benchtime=200x -count=1 ./cmd/parley

.PHONY: bench-help
bench-help: ## Benchmark the help center (article page, search, front page) over 1,000 published articles: p50/p99
	$(GO) test -run '^$$' -bench 'HelpCenter' -benchtime=2000x -count=1 ./app/web
