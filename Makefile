# payrun's interface: every target is listed by `make help`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

GO        ?= go
BIN       := bin/payrun
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X main.version=$(VERSION)
# The race detector on every package; RACE= turns it off.
RACE      ?= -race
# Database URL: the environment's, or the one `make db` wrote.
DB_URL     = $(or $(DATABASE_URL),$(shell cat .data/database_url 2>/dev/null))

.PHONY: help
help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  make %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: db
db: ## start (or reuse) a private Postgres under .data/, or use $DATABASE_URL; prints the URL, writes it to .data/database_url and ~/.config/payrun/config
	@scripts/db.sh start

.PHONY: db-stop
db-stop: ## stop the private Postgres (never any other); forgets its URL in ~/.config/payrun/config
	@scripts/db.sh stop

.PHONY: db-reset
db-reset: ## delete the private Postgres and start a new, empty one
	@scripts/db.sh reset

.PHONY: deps
deps: ## install, when missing, the outside tools the tests and bench use: xmllint, promtool, openpyxl, wrk, LibreOffice (headless), poppler, Carlito (apt-get), redocly (npm, into .tools/)
	@scripts/deps.sh

.PHONY: build
build: ## build bin/payrun
	@[ -x $(BIN) ] || echo "build: compiling bin/payrun; the first build in a new clone also downloads and compiles its dependencies (about a minute)"
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/payrun

.PHONY: install
install: build ## copy bin/payrun into $GOBIN, or ~/.local/bin when GOBIN is unset; says where, and whether it is on PATH
	@scripts/install.sh $(BIN)

.PHONY: lint
lint: ## gofmt and go vet
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.data/*')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

.PHONY: test
test: db deps lint ## every test (unit, database, end-to-end), with the race detector
	DATABASE_URL="$(DB_URL)" $(GO) test $(RACE) -count=1 -timeout 20m ./...

.PHONY: bench
bench: db deps build ## benchmark report: payrun vs the bare baseline, same run -> bench/results.json (BENCH_FLAGS=--help for sizes)
	DATABASE_URL="$(DB_URL)" $(GO) run ./bench --payrun $(BIN) $(BENCH_FLAGS)

.PHONY: demo
demo: db build ## run payrun on a seeded realistic month and show what happened
	@DATABASE_URL="$(DB_URL)" scripts/demo.sh

.PHONY: walkthrough
walkthrough: db build ## the README's admin API walk-through (docs/walkthrough.sh) on a fresh payrun_walkthrough database
	@DATABASE_URL="$(DB_URL)" PAYRUN=$(BIN) PAYRUN_DEV=1 bash docs/walkthrough.sh --fresh

.PHONY: sim-long
sim-long: db build ## long simulation sweep: 10 seeds x 24 months x 1000 publishers, crashes on (SEEDS=, PUBLISHERS=, MONTHS=)
	@DATABASE_URL="$(DB_URL)" scripts/sim-long.sh

.PHONY: clean
clean: ## remove build output and the demo's files (not the database)
	rm -rf bin out
