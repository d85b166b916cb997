package mp4index_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/reelcache/reelcache/stream/cmaf"
	"github.com/reelcache/reelcache/stream/mp4index"
)

// countingReader counts the reads of an io.ReaderAt and the chunks of
// chunkSize bytes they touch.
type countingReader struct {
	f      *os.File
	reads  int
	chunks map[int64]bool
}

const filmChunk = 1 << 20 // chunk.size's default

func (c *countingReader) ReadAt(p []byte, off int64) (int, error) {
	c.reads++
	for i := off / filmChunk; i <= (off+int64(len(p))-1)/filmChunk; i++ {
		c.chunks[i] = true
	}
	return c.f.ReadAt(p, off)
}

// TestFilmFigures reports what indexing a long film costs: set
// REELCACHE_FILM to its path (scripts/bench-packaging.sh FILM=1 makes a
// two-hour one). It checks that the index comes from the moov's chunks
// plus at most two.
func TestFilmFigures(t *testing.T) {
	p := os.Getenv("REELCACHE_FILM")
	if p == "" {
		t.Skip("REELCACHE_FILM is not set")
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	cr := &countingReader{f: f, chunks: map[int64]bool{}}
	t0 := time.Now()
	x, err := mp4index.Parse(context.Background(), cr, st.Size(), mp4index.Options{})
	if err != nil {
		t.Fatal(err)
	}
	parse := time.Since(t0)
	b, err := mp4index.Marshal(x)
	if err != nil {
		t.Fatal(err)
	}
	t0 = time.Now()
	y, err := mp4index.Unmarshal(b)
	if err != nil {
		t.Fatal(err)
	}
	unmarshal := time.Since(t0)
	t0 = time.Now()
	m := &mp4index.Media{Index: y}
	var samples, mem int
	for i := range y.Tracks {
		s, err := y.Tracks[i].Samples()
		if err != nil {
			t.Fatal(err)
		}
		m.Samples = append(m.Samples, s)
		samples += len(s.Off)
		mem += len(s.Off)*24 + len(s.Sync)*4
	}
	expand := time.Since(t0)
	t0 = time.Now()
	plan, err := cmaf.NewPlan(m, 0)
	if err != nil {
		t.Fatal(err)
	}
	planned := time.Since(t0)
	// The moov is the last box here (ffmpeg without faststart): besides
	// chunk 0 (ftyp, the mdat's header), the chunks read must be one run
	// ending at the last chunk, the moov's.
	last := (st.Size() - 1) / filmChunk
	first := last
	for first > 0 && cr.chunks[first-1] {
		first--
	}
	moovChunks := int(last - first + 1)
	t.Logf("%.0f s, %d samples: parsed in %v from %d reads touching %d chunks of 1 MiB; stored %d bytes, read back in %v; expanded %d bytes in %v; %d segments planned in %v",
		x.Duration, samples, parse, cr.reads, len(cr.chunks), len(b), unmarshal, mem, expand, len(plan.Segments), planned)
	if !cr.chunks[last] || len(cr.chunks) > moovChunks+2 {
		t.Errorf("indexing touched %d chunks; the moov's run is %d (to the last chunk: %v)", len(cr.chunks), moovChunks, cr.chunks[last])
	}
}
