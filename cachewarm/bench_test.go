package cachewarm

import (
	"encoding/csv"
	"fmt"
	"log/slog"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/reelcache/reelcache/internal/redistest"
	"github.com/reelcache/reelcache/internal/testmedia"
)

// BenchmarkWarm measures warm's throughput into Redis (MB/s) on a 64 MiB
// file in 64 KiB and 1 MiB chunks (4 workers, 4 MiB a pipeline), against
// the ceiling
// redis-benchmark reaches writing values of the same size with 16
// pipelined SETs from 4 clients (warm runs 4 workers), on the same redis-server in the same run. The ratio is
// reported as "of-redis-benchmark".
func BenchmarkWarm(b *testing.B) {
	for _, cs := range []int64{64 << 10, 1 << 20} {
		b.Run(fmt.Sprintf("chunk=%dKiB", cs>>10), func(b *testing.B) { benchWarm(b, cs) })
	}
}

func benchWarm(b *testing.B, cs int64) {
	fx := newFixtureSize(b, cs, "maxmemory", "512mb", "maxmemory-policy", "allkeys-lru")
	const size = 64 << 20
	fx.write(b, "a.mp4", testmedia.Bytes(size, 1))
	names := []string{"a.mp4"}
	b.SetBytes(size)
	b.ResetTimer()
	for range b.N {
		rep, err := Warm(b.Context(), names, Options{Cache: fx.cache, Force: true, Logger: slog.New(slog.DiscardHandler)})
		if err != nil || rep.Written != size/cs {
			b.Fatalf("warm: %+v %v", rep, err)
		}
	}
	b.StopTimer()
	warmMBs := float64(size) * float64(b.N) / b.Elapsed().Seconds() / 1e6
	ceil := redisBenchmarkMBs(b, fx.redis, int(cs))
	b.ReportMetric(ceil, "redis-benchmark-MB/s")
	b.ReportMetric(warmMBs/ceil, "of-redis-benchmark")
}

// redisBenchmarkMBs runs redis-benchmark SET with values of size bytes, 16
// pipelined, and returns MB/s.
func redisBenchmarkMBs(b *testing.B, rs *redistest.Server, size int) float64 {
	redistest.Require(b, "redis-benchmark")
	host, port, _ := strings.Cut(rs.Addr(), ":")
	n := max(1000, (1<<30)/size)
	out, err := exec.Command("redis-benchmark", "-h", host, "-p", port, "-t", "set",
		"-d", strconv.Itoa(size), "-P", "16", "-c", "4", "-n", strconv.Itoa(n), "-r", "1000", "--csv").Output()
	if err != nil {
		b.Fatalf("redis-benchmark: %v", err)
	}
	recs, err := csv.NewReader(strings.NewReader(string(out))).ReadAll()
	if err != nil || len(recs) < 2 {
		b.Fatalf("redis-benchmark output %q: %v", out, err)
	}
	rps, err := strconv.ParseFloat(recs[1][1], 64)
	if err != nil {
		b.Fatalf("redis-benchmark rps %q: %v", recs[1][1], err)
	}
	return rps * float64(size) / 1e6
}
