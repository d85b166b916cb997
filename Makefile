# reelcache. `make run` serves the sample videos; `make test` runs every
# test, installing missing tools first when run as root.

GO       ?= go
FUZZTIME ?= 15s

.PHONY: all build run test deps vet fuzz bench clean

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

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./chunker ./stream ./cachewarm

clean:
	rm -rf bin
