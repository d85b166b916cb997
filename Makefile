# reelcache. `make run` serves the sample videos; `make test` runs every
# test, installing missing tools first when run as root.

GO       ?= go
# Fuzz budgets are execution counts, not durations: a duration races Go's
# fuzz coordinator at its deadline (golang/go#75804, unfixed in Go 1.26)
# and fails with "context deadline exceeded" and no crasher.
FUZZ_SPAN  ?= 150000x
FUZZ_RANGE ?= 20000x
FUZZ_PATH  ?= 100000x
FUZZ_FASTSTART ?= 50000x
FUZZ_MP4   ?= 100000x

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
	$(GO) test -run '^$$' -fuzz '^FuzzSpan$$' -fuzztime $(FUZZ_SPAN) ./chunker
	$(GO) test -run '^$$' -fuzz '^FuzzRangeHandler$$' -fuzztime $(FUZZ_RANGE) ./stream
	$(GO) test -run '^$$' -fuzz '^FuzzMediaPath$$' -fuzztime $(FUZZ_PATH) ./stream
	$(GO) test -run '^$$' -fuzz '^FuzzBuild$$' -fuzztime $(FUZZ_FASTSTART) ./stream/faststart
	$(GO) test -run '^$$' -fuzz '^FuzzPatch$$' -fuzztime $(FUZZ_FASTSTART) ./stream/faststart
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZ_MP4) ./stream/mp4index

# The Go benchmarks, then the scenarios against nginx and the other peers
# (scripts/bench.sh, which writes BENCHMARKS.md). A failed Go benchmark
# does not stop the scenarios; make still fails at the end.
bench:
	@status=0; $(MAKE) bench-go || status=$$?; scripts/bench.sh || status=$$?; exit $$status

bench-go:
	$(GO) test -run '^$$' -bench . -benchmem ./chunker ./stream ./cachewarm

clean:
	rm -rf bin

# The load test, bigger than in `make test`: browser-like seeks while Redis
# is killed and restarted; every byte checked.
loadtest:
	REELCACHE_LOAD_CLIENTS=$${CLIENTS:-100} REELCACHE_LOAD_DURATION=$${DURATION:-30s} \
		$(GO) test -count=1 -run '^TestLoadWithRedisOutage$$' -v -timeout 10m ./cmd/reelcache
