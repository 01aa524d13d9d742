# wuzapi-manager: `make run` starts the whole system locally, `make test` runs every test.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

# A few aws-sdk-go-v2 service modules pulled in by kumo have no checksum
# database entry here; go.sum (committed) pins them.
export GONOSUMDB := github.com/aws/aws-sdk-go-v2/*

FUNCTIONS := api campaign-worker import-worker report-worker scheduler
LOCAL_BIN := .build/local
AWS_BIN   := .build/aws
GO_TEST_FLAGS ?=

.PHONY: help
help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_%-]+:.*## / {printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: run
run: services build-local web-build ## Run the whole system locally: API on http://127.0.0.1:8080 (starts Postgres and Redis when they are not running)
	@go run ./infra/local/cmd/local-run -bin $(LOCAL_BIN) -template template.yaml -web web/dist

.PHONY: build-local
build-local: ## Build every function for this machine into .build/local/<function>/bootstrap
	@for fn in $(FUNCTIONS); do CGO_ENABLED=0 go build -trimpath -tags lambda.norpc -o $(LOCAL_BIN)/$$fn/bootstrap ./functions/$$fn; done

.PHONY: build
build: ## Build every function for AWS Lambda (linux/arm64) into .build/aws/<function>/bootstrap
	@for fn in $(FUNCTIONS); do CGO_ENABLED=0 GOOS=linux GOARCH=arm64 go build -trimpath -tags lambda.norpc -ldflags '-s -w' -o $(AWS_BIN)/$$fn/bootstrap ./functions/$$fn; done

# SAM's `BuildMethod: makefile` calls build-<LogicalId> with ARTIFACTS_DIR set.
build-ApiFunction:            ; $(call sam_build,api)
build-CampaignWorkerFunction: ; $(call sam_build,campaign-worker)
build-ImportWorkerFunction:   ; $(call sam_build,import-worker)
build-ReportWorkerFunction:   ; $(call sam_build,report-worker)
build-SchedulerFunction:      ; $(call sam_build,scheduler)
define sam_build
CGO_ENABLED=0 GOOS=linux GOARCH=arm64 go build -trimpath -tags lambda.norpc -ldflags '-s -w' -o $(ARTIFACTS_DIR)/bootstrap ./functions/$(1)
endef

.PHONY: test
test: services pgbouncer ## Run every test with -race (gotestsum) against the local Postgres, Redis and the embedded AWS emulator, then the dashboard's; ends with "total: N passed, N failed"
	@mkdir -p .build
	@status=0; bash infra/testsum/gotest.sh .build -- -race -count=1 -timeout 15m $(GO_TEST_FLAGS) ./... | tee .build/go-summary.txt || status=1; \
	echo "third_party/phonenumbers (its own module, the fork's upstream tests):"; \
	(cd third_party/phonenumbers && go test -race -count=1 ./...) || status=1; \
	$(MAKE) --no-print-directory web-test || status=1; \
	{ tail -n 1 .build/go-summary.txt; cat web/test-results/summary.txt; } 2>/dev/null \
	  | awk '/^(web: )?[0-9]+ passed, [0-9]+ failed/ { sub(/^web: /, ""); p += $$1; f += $$3 } END { printf "total: %d passed, %d failed\n", p, f }'; \
	exit $$status

# --- dashboard (web/) ---
WEB_STAMP := web/node_modules/.installed

$(WEB_STAMP): web/package.json web/package-lock.json web/tools/openapi-types/package.json
	@cd web && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

.PHONY: web-install
web-install: $(WEB_STAMP) ## Install the dashboard's packages from web/package-lock.json (npm ci)

.PHONY: web-types
web-types: web-install ## Write the dashboard's API types (web/src/lib/api.gen.ts) from internal/httpapi/openapi.json; web-build does it too
	@cd web && npm run --silent gen:types

.PHONY: web-build
web-build: web-install ## Build the dashboard into web/dist (type check, bundle, service worker)
	@cd web && npm run --silent build && { node scripts/budget.mjs | sed -n 1p || true; }

.PHONY: demo
demo: build-local web-build ## Like run, plus a fake WuzAPI and a demo tenant and instance on it (prints the keys)
	@node web/scripts/demo.mjs

.PHONY: services
services: ## Make sure PostgreSQL (127.0.0.1:5432) and Redis (127.0.0.1:6379) run: a no-op when both answer; installs (apt-get) and starts them as root; without root prints the one command to run
	@go run ./infra/cmd/services

.PHONY: chromium
chromium: ## Install Debian's Chromium for the browser tests when missing (needs root)
	@test -x /usr/bin/chromium || { apt-get update -qq && apt-get install -y -qq chromium > /dev/null; }

.PHONY: pgbouncer
pgbouncer: ## Install Debian's pgbouncer for the pooler tests when missing (needs root)
	@test -x /usr/sbin/pgbouncer || { apt-get update -qq && apt-get install -y -qq pgbouncer > /dev/null; }

.PHONY: test-pgbouncer
test-pgbouncer: pgbouncer ## The API and the campaign worker end to end through pgbouncer in transaction mode, and the queries that use transaction state through it
	@go test -race -count=1 -timeout 15m -run 'TestThroughPgbouncer|TestThroughTransactionPooler' ./functions/campaign-worker/ ./internal/postgres/

.PHONY: web-test
web-test: web-build chromium build-local ## Dashboard tests: Vitest, bundle budget, Chromium on the real platform; prints "web: N passed, N failed"
	@mkdir -p web/test-results && rm -f web/test-results/vitest.json web/test-results/e2e-summary.json
	@cd web && { npx vitest run --reporter=dot --reporter=json --outputFile.json=test-results/vitest.json || true; } \
	  && { node scripts/budget.mjs; echo $$? > test-results/budget.rc; } \
	  && { node e2e/run.mjs || true; } \
	  && node scripts/summary.mjs "$$(cat test-results/budget.rc)" | tee test-results/summary.txt

.PHONY: faults
faults: ## Fault-and-load suite, long form (~9 min): kills, Redis and Postgres restarts, WuzAPI 5xx/hang/reset under load; prints the table (docs/faults.md)
	@go test -race -count=1 -tags faults -run 'TestFaults$$' -v -timeout 40m ./infra/faults/ | grep -vE '^(=== (RUN|PAUSE|CONT)|--- PASS)'

.PHONY: bench
bench: ## Run the benchmarks and print their figures, but BenchmarkPlatform and BenchmarkOrigin (minutes each, with their own stores and processes): make bench-platform and make bench-origin run those
	@go test -run '^$$' -bench . -skip '^Benchmark(Platform|Origin)$$' -benchmem -count 1 -timeout 30m ./...

.PHONY: bench-audience
bench-audience: ## Audience preview on a generated tenant of 1,000,000 contacts: prints ms per preview (count and sample) for typical filters; target under 200 ms
	@go test -run '^$$' -bench BenchmarkAudiencePreview -benchtime 20x -count 1 -timeout 30m ./internal/postgres/ | grep -E '^(Benchmark|ok|FAIL|---|panic)'

.PHONY: bench-import
bench-import: ## Import worker in its own process: 100,000 and 1,000,000 generated rows against the machine's Postgres (pg=machine) and a throwaway one with RDS db.t4g.medium's PostgreSQL 15 defaults (pg=rds-t4g-medium: shared_buffers 1GB, max_wal_size 2GB, fsync on), and a 30,000-column CSV (fails cleanly); prints rows/s, CPU, peak RSS and load
	@go test -run '^$$' -bench BenchmarkImportProcess -benchtime 1x -count 1 -timeout 30m ./internal/importer/ | grep -E '^(Benchmark|ok|FAIL|---|panic)'

.PHONY: bench-safety
bench-safety: ## Sending-safety simulator: 1,000 recipients over 5 numbers with the defaults and with 100 messages a minute and no new-contact budget or checks; prints locks, bans, sends, simulated hours
	@go test -run '^$$' -bench BenchmarkSendingSafety -benchtime 1x -count 1 -timeout 150m ./internal/wuzapitest/safetybench/ | grep -E '^(FIGURES|ok|FAIL|---|panic)'

# Make's $(or) splits its arguments at commas: the phases' default is a
# variable of its own.
BENCH_PHASES ?= send,status,safe,init

.PHONY: bench-platform
bench-platform: ## The real binaries on the local platform (BENCH_ENV=NAME=value,... sets function variables; BENCH_PHASES=status,init runs some phases): 100 campaigns x 200 sends (fake WuzAPI at 0 ms), 4,000 status requests and 120 sends at safe pacing (each its own invocation); prints CPU per send and per request (from /proc), durations, the api's context switches and duration tail a request, init and cold starts, Postgres and Redis counts, and the statements (pg_stat_statements) and Redis commands of each phase
	@go test -run '^$$' -bench BenchmarkPlatform -benchtime 1x -count 1 -timeout 40m ./infra/benchplatform/ -args -platform.env='$(BENCH_ENV)' -platform.phases='$(BENCH_PHASES)' | grep -E '^(PLATFORM|ok|FAIL|---|panic|\s+\w+_test\.go)'

# The origin design's Node stack (infra/benchorigin/node), its packages
# from the lockfile.
ORIGIN_NODE  := infra/benchorigin/node
ORIGIN_STAMP := $(ORIGIN_NODE)/node_modules/.installed

$(ORIGIN_STAMP): $(ORIGIN_NODE)/package.json $(ORIGIN_NODE)/package-lock.json
	@cd $(ORIGIN_NODE) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

.PHONY: bench-origin
bench-origin: $(ORIGIN_STAMP) ## The origin design's Node stack (Express, express-rate-limit on Redis, prom-client, BullMQ; npm ci from infra/benchorigin/node's lockfile) under bench-platform's loads (BENCH_PHASES=send,status): 100 jobs x 200 sends (fake WuzAPI at 0 ms) and 4,000 status requests; prints sends per worker CPU-second and requests per node CPU-second (from /proc), with and without Redis
	@go test -run '^$$' -bench BenchmarkOrigin -benchtime 1x -count 1 -timeout 20m ./infra/benchorigin/ -args -origin.phases='$(BENCH_PHASES)' | grep -E '^(ORIGIN|ok|FAIL|---|panic|\s+\w+_test\.go)'

.PHONY: lint
lint: ## gofmt, go vet and golangci-lint (.golangci.yml; pinned in tools/golangci-lint.mod, cache in ~/.cache/golangci-lint)
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: files above need formatting"; exit 1; }
	@go vet ./...
	@nice go tool -modfile=tools/golangci-lint.mod golangci-lint run ./...

.PHONY: clean
clean: ## Remove build output
	@rm -rf .build .aws-sam
