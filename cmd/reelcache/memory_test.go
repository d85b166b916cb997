package main

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/reelcache/reelcache/config"
	"github.com/reelcache/reelcache/internal/redistest"
)

// TestSlowViewersStayWithinTheBudget is issue 13's seventh item as it was
// found: 16 MiB chunks, a 16 MiB in-flight budget, and many viewers
// reading different chunks of a big file at 50 KB/s. The heap must stay
// within the budget plus a constant however many viewers there are, and
// the origin must not be read much more than what is sent: with fill off a
// chunk is read only as far as it is asked for, and with fill on a chunk
// read to be cached holds its share of the budget, the rest being read
// directly.
func TestSlowViewersStayWithinTheBudget(t *testing.T) {
	const (
		chunk   = 16 << 20
		budget  = 16 << 20
		viewers = 60
		rate    = 50 << 10 // bytes/s each
		watch   = 1500 * time.Millisecond
		// The heap may grow past the budget by the viewers' scratch
		// buffers (128 KiB each), HTTP and TLS-free connection buffers,
		// and garbage the GC has not collected yet.
		slack = 64 << 20
	)
	rs := redistest.Start(t)
	media := t.TempDir()
	sparseFile(t, filepath.Join(media, "big.mp4"), viewers*chunk)

	for _, fill := range []string{"off", "async"} {
		t.Run("fill="+fill, func(t *testing.T) {
			cfg := &config.Config{
				Media:     config.Media{Root: media, Extensions: []string{"mp4"}},
				ChunkSize: chunk,
				Redis:     config.Redis{URL: rs.URL(), KeyPrefix: "mem-" + fill, Timeout: 5 * time.Second, Mode: "single"},
				Cache:     config.Cache{Settle: time.Nanosecond, Fill: fill, Readahead: 2, MaxInflightBytes: budget},
			}
			a := testApp(t, cfg, slog.New(slog.DiscardHandler))
			var sent atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				cw := &countingWriter{ResponseWriter: w}
				a.echo.ServeHTTP(cw, r)
				sent.Add(cw.n)
			}))
			defer srv.Close()

			base := heapBytes()
			var peak atomic.Int64
			done := make(chan struct{})
			go func() {
				for {
					select {
					case <-done:
						return
					case <-time.After(10 * time.Millisecond):
						if h := heapBytes() - base; h > peak.Load() {
							peak.Store(h)
						}
					}
				}
			}()
			var wg sync.WaitGroup
			for v := range viewers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					req, _ := http.NewRequest("GET", srv.URL+"/media/big.mp4", nil)
					req.Header.Set("Range", fmt.Sprintf("bytes=%d-", int64(v)*chunk+12345))
					res, err := http.DefaultClient.Do(req)
					if err != nil {
						t.Error(err)
						return
					}
					defer res.Body.Close()
					readPaced(res.Body, rate, watch)
				}()
			}
			wg.Wait()
			close(done)
			srv.Close() // every handler has returned and counted its bytes
			origin := a.cache.Stats().DiskBytes
			t.Logf("%d viewers: heap peak %d MiB over the start, origin %d MiB for %d MiB sent",
				viewers, peak.Load()>>20, origin>>20, sent.Load()>>20)
			if p := peak.Load(); p > budget+slack {
				t.Errorf("heap grew by %d MiB with %d slow viewers: want at most the %d MiB budget plus %d MiB",
					p>>20, viewers, budget>>20, slack>>20)
			}
			if origin > 2*sent.Load()+chunk {
				t.Errorf("origin read %d bytes for %d sent: want at most 2x (plus the one chunk a fill may read whole)", origin, sent.Load())
			}
		})
	}
}

// heapBytes returns the bytes of live and not yet swept heap objects.
func heapBytes() int64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return int64(s[0].Value.Uint64())
}

// countingWriter counts the body bytes a handler writes.
type countingWriter struct {
	http.ResponseWriter
	n int64
}

func (w *countingWriter) Write(p []byte) (int, error) {
	n, err := w.ResponseWriter.Write(p)
	w.n += int64(n)
	return n, err
}

func (w *countingWriter) ReadFrom(r io.Reader) (int64, error) {
	n, err := io.Copy(struct{ io.Writer }{w.ResponseWriter}, r)
	w.n += n
	return n, err
}

func (w *countingWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// sparseFile makes a file of size zero bytes that takes no disk: reading
// it costs the origin nothing but the calls.
func sparseFile(t *testing.T, name string, size int64) {
	t.Helper()
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
}

// readPaced reads r as a viewer watching at rate bytes a second does, for
// watch, and returns how many bytes it read and the error that stopped it
// sooner, if any.
func readPaced(r io.Reader, rate int64, watch time.Duration) (int64, error) {
	buf := make([]byte, 4096)
	start := time.Now()
	var got int64
	for time.Since(start) < watch {
		n, err := r.Read(buf)
		got += int64(n)
		if err != nil {
			return got, err
		}
		if ahead := time.Duration(got*int64(time.Second)/rate) - time.Since(start); ahead > 0 {
			time.Sleep(ahead) // the viewer's pace, not a wait for an event
		}
	}
	return got, nil
}
