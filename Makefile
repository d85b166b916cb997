# reelcache. `make run` serves the sample videos; `make test` runs every
# test, installing missing tools first when run as root.

GO       ?= go
FUZZTIME ?= 15s

.PHONY: all build run test deps vet fuzz bench bench-go loadtest clean

all: build

build:
	$(GO) build -o bin/reelcache ./cmd/reelcache

run:
	scripts/run.sh

deps:
	scripts/deps.sh

vet:
	@test -z "$$(gofmt -l .)" || { echo "gofmt needed:"; gofmt -l .; exit 1; }
	$(GO) vet ./...

test: deps vet
	$(GO) test -race -count=1 -timeout 15m ./...
	$(MAKE) fuzz

# Short runs of every fuzz target; the corpus seeds come from the tables.
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzSpan$$' -fuzztime $(FUZZTIME) ./chunker

bench: bench-go
	scripts/bench.sh

bench-go:
	$(GO) test -run '^$$' -bench . -benchmem ./chunker ./stream ./cachewarm

clean:
	rm -rf bin

# The load test, bigger than in `make test`: browser-like seeks while Redis
# is killed and restarted; every byte checked.
loadtest:
	REELCACHE_LOAD_CLIENTS=$${CLIENTS:-100} REELCACHE_LOAD_DURATION=$${DURATION:-30s} \
		$(GO) test -count=1 -run '^TestLoadWithRedisOutage$$' -v -timeout 10m ./cmd/reelcache
