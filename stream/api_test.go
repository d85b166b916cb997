package stream

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/reelcache/reelcache/chunker"
)

// TestAPIBoundedWork: the chunk map of a 512 GiB (sparse) file and the
// listing that holds it are answered with bounded work, their Redis calls
// never count toward the media path's breaker, and a cached file is still
// a HIT afterwards (issue 13 item 5: three such requests used to open the
// breaker for everyone). Redis's read deadline is the default 100 ms.
func TestAPIBoundedWork(t *testing.T) {
	s := newServer(t, serverOptions{chunkSize: 1 << 20, fill: chunker.FillSync, timeout: 100 * time.Millisecond})
	s.write(t, "v.mp4", 3<<20, 1)
	get(t, "GET", s.url("v.mp4"))
	if x := get(t, "GET", s.url("v.mp4")).header.Get("X-Cache"); x != "HIT" {
		t.Fatalf("before: X-Cache %q, want HIT", x)
	}
	huge := filepath.Join(s.dir, "huge.mp4")
	if err := os.WriteFile(huge, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(huge, 512<<30); err != nil {
		t.Fatal(err)
	}

	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Go(func() {
			path := "/api/chunks/huge.mp4"
			if i%2 == 1 {
				path = "/api/media"
			}
			start := time.Now()
			r := get(t, "GET", s.srv.URL+path)
			if r.status != 200 {
				errs <- fmt.Errorf("%s: status %d", path, r.status)
			}
			if d := time.Since(start); d > 5*time.Second {
				errs <- fmt.Errorf("%s took %v", path, d)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if !s.store.Available() {
		t.Fatal("the API opened the Redis breaker")
	}
	if x := get(t, "GET", s.url("v.mp4")).header.Get("X-Cache"); x != "HIT" {
		t.Errorf("after: X-Cache %q, want HIT", x)
	}

	var m chunkMap
	r := get(t, "GET", s.srv.URL+"/api/chunks/huge.mp4")
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatal(err)
	}
	cells := chunker.MaxSummaryKeys / chunker.SummarySamples
	if !m.Sampled || m.ChunksTotal != 512<<10 || len(m.Map) != cells || m.CellChunks != 512 || m.ChunksCached == nil || *m.ChunksCached != 0 {
		t.Errorf("huge chunk map: sampled %v, %d chunks, %d cells of %d, cached %v", m.Sampled, m.ChunksTotal, len(m.Map), m.CellChunks, m.ChunksCached)
	}
	r = get(t, "GET", s.srv.URL+"/api/chunks/v.mp4")
	if err := json.Unmarshal(r.body, &m); err != nil || m.Sampled || m.Map != "111" || *m.ChunksCached != 3 {
		t.Errorf("small chunk map: %s", r.body)
	}
	var items []mediaItem
	r = get(t, "GET", s.srv.URL+"/api/media")
	if err := json.Unmarshal(r.body, &items); err != nil || len(items) != 2 {
		t.Fatalf("listing: %s", r.body)
	}
	if it := items[0]; it.Path != "huge.mp4" || !it.Sampled || it.ChunksCached == nil || *it.ChunksCached != 0 {
		t.Errorf("huge listed as %+v", it)
	}
	if it := items[1]; it.Sampled || it.ChunksCached == nil || *it.ChunksCached != 3 {
		t.Errorf("v.mp4 listed as %+v", it)
	}
}
