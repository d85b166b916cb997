package chunker

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/reelcache/reelcache/internal/poll"
	"github.com/reelcache/reelcache/internal/testmedia"
)

// gatedOrigin is a Dir whose ranged reads hand out their first step and
// then wait for the test to open the gate: a slow origin the test controls.
// Reads counts the ranged reads started.
type gatedOrigin struct {
	*Dir
	gate  chan struct{}
	mu    sync.Mutex
	reads int
}

func (g *gatedOrigin) ReadRange(ctx context.Context, name, version string, off, n int64) (io.ReadCloser, error) {
	g.mu.Lock()
	g.reads++
	g.mu.Unlock()
	rc, err := g.Dir.ReadRange(ctx, name, version, off, n)
	if err != nil {
		return nil, err
	}
	return &gatedReader{ReadCloser: rc, gate: g.gate}, nil
}

type gatedReader struct {
	io.ReadCloser
	gate  chan struct{}
	first bool
}

func (r *gatedReader) Read(p []byte) (int, error) {
	if r.first {
		<-r.gate
	}
	r.first = true
	return r.ReadCloser.Read(p)
}

// TestStreamWhileFilling: a miss hands its first bytes to the reader before
// the chunk is read whole; a second reader of the same chunk shares the one
// origin read; the whole chunk then lands in Redis once, and the in-flight
// budget is all returned.
func TestStreamWhileFilling(t *testing.T) {
	fx := newFixture(t, true, Options{ChunkSize: 1 << 20, Fill: FillAsync})
	want := testmedia.WriteRandom(t, fx.dir, "a.mp4", 1<<20, 7)
	g := &gatedOrigin{Dir: NewDir(fx.root, DirOptions{}), gate: make(chan struct{})}
	c, err := New(Options{Origin: g, Store: fx.cache.Store(), ChunkSize: 1 << 20, Fill: FillAsync, Settle: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	type result struct {
		off int64
		b   []byte
		err error
	}
	first := make(chan result, 2)
	for _, off := range []int64{0, 1000} {
		go func() {
			f, err := c.Open(t.Context(), "a.mp4")
			if err != nil {
				first <- result{err: err}
				return
			}
			defer f.Close()
			p := make([]byte, 4096)
			n, err := f.ReadAt(p, off)
			first <- result{off, p[:n], err}
		}()
	}
	// The gate is shut after the first 256 KiB step: both reads must
	// come back before it opens.
	for i := range 2 {
		select {
		case r := <-first:
			if r.err != nil {
				t.Fatal(r.err)
			}
			if !bytes.Equal(r.b, want[r.off:r.off+4096]) {
				t.Fatalf("reader %d got bytes that are not the file's", i)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a reader waited for the whole chunk: bytes were not streamed while filling")
		}
	}
	close(g.gate)

	// A reader of the whole chunk gets it all, and the origin was read once.
	f, err := c.Open(t.Context(), "a.mp4")
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(io.NewSectionReader(f, 0, f.Size()))
	f.Close()
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("whole read: err %v, equal %v", err, bytes.Equal(got, want))
	}
	c.Close()
	if g.reads != 1 {
		t.Errorf("%d ranged reads of the origin, want 1 (concurrent misses share a flight)", g.reads)
	}
	if keys := fx.redis.Keys(t.Context(), "reelcache:c:*"); len(keys) != 1 {
		t.Errorf("chunk keys in Redis: %v, want 1", keys)
	}
	if s := c.Stats(); s.Fills != 1 || s.DiskBytes != 1<<20 {
		t.Errorf("stats %+v: want 1 fill and %d origin bytes", s, 1<<20)
	}
	if u := c.used.Load(); u != 0 {
		t.Errorf("%d bytes of the in-flight budget still taken after every File closed", u)
	}
}

// TestUncachedChunksReadOnlyWhatIsAsked: with fill off and no local tier, a
// reader of a few small ranges of a big chunk costs the origin about those
// bytes, not a whole chunk each (issue 13, item 7).
func TestUncachedChunksReadOnlyWhatIsAsked(t *testing.T) {
	fx := newFixture(t, true, Options{ChunkSize: 16 << 20, Fill: FillOff})
	want := testmedia.WriteRandom(t, fx.dir, "a.mp4", 32<<20, 3)
	var served int64
	for _, off := range []int64{0, 5 << 20, 17 << 20, 31 << 20} {
		f, err := fx.cache.Open(t.Context(), "a.mp4")
		if err != nil {
			t.Fatal(err)
		}
		f.PrepareSources(off, 64<<10, true).Status()
		p := make([]byte, 64<<10)
		n, err := f.ReadAt(p, off)
		f.Close()
		if err != nil || !bytes.Equal(p[:n], want[off:off+int64(n)]) {
			t.Fatalf("read at %d: %v", off, err)
		}
		served += int64(n)
	}
	if got := fx.cache.Stats().DiskBytes; got > 2*served {
		t.Errorf("origin bytes %d for %d served: want at most 2x", got, served)
	}
}

// TestSettleWindow: a file changed a moment ago is served but not cached;
// once the window has passed, it is.
func TestSettleWindow(t *testing.T) {
	fx := newFixture(t, true, Options{ChunkSize: 64 << 10, Fill: FillSync, Settle: 700 * time.Millisecond})
	want := testmedia.WriteRandom(t, fx.dir, "a.mp4", 200_000, 5)
	got, _ := readAll(t, fx.cache, "a.mp4")
	if !bytes.Equal(got, want) {
		t.Fatal("fresh file: wrong bytes")
	}
	if keys := fx.redis.Keys(t.Context(), "reelcache:c:*"); len(keys) != 0 {
		t.Fatalf("a file changed %v ago was cached: %v", time.Millisecond, keys)
	}
	poll.Until(t, 10*time.Second, func() bool {
		got, _ = readAll(t, fx.cache, "a.mp4")
		if !bytes.Equal(got, want) {
			t.Fatal("settled file: wrong bytes")
		}
		return len(fx.redis.Keys(t.Context(), "reelcache:c:*")) == 4
	}, "settled file: its 4 chunks were not cached")
}

// TestFIFOIsNotOpened: a FIFO named like a video is refused at once rather
// than blocking open(2) until a writer comes (issue 13, item 10).
func TestFIFOIsNotOpened(t *testing.T) {
	fx := newFixture(t, false, Options{})
	if err := syscall.Mkfifo(filepath.Join(fx.dir, "pipe.mp4"), 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		f, err := fx.cache.Open(context.Background(), "pipe.mp4")
		if err == nil {
			f.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, ErrNotRegular) {
			t.Fatalf("open of a FIFO: %v, want ErrNotRegular", err)
		}
	case <-time.After(5 * time.Second):
		// Unblock the open so the goroutine ends.
		if w, err := os.OpenFile(filepath.Join(fx.dir, "pipe.mp4"), os.O_WRONLY, 0); err == nil {
			w.Close()
		}
		t.Fatal("open of a FIFO blocked")
	}
}

// TestInstancesShareAFill: two instances on one Redis miss the same chunk
// at the same moment; one reads the origin, the other waits for the chunk
// to land in Redis (the fill lease, lease.go), and both serve its bytes.
func TestInstancesShareAFill(t *testing.T) {
	fx := newFixture(t, true, Options{ChunkSize: 1 << 20, Fill: FillAsync})
	want := testmedia.WriteRandom(t, fx.dir, "a.mp4", 1<<20, 11)
	gate := make(chan struct{})
	origins := []*gatedOrigin{
		{Dir: NewDir(fx.root, DirOptions{}), gate: gate},
		{Dir: NewDir(fx.root, DirOptions{}), gate: gate},
	}
	var insts []*Cache
	for _, g := range origins {
		c, err := New(Options{Origin: g, Store: fx.cache.Store(), ChunkSize: 1 << 20, Fill: FillAsync, Settle: time.Nanosecond})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		insts = append(insts, c)
	}
	read := func(c *Cache) error {
		f, err := c.Open(t.Context(), "a.mp4")
		if err != nil {
			return err
		}
		defer f.Close()
		got, err := io.ReadAll(io.NewSectionReader(f, 0, f.Size()))
		if err == nil && !bytes.Equal(got, want) {
			err = errors.New("wrong bytes")
		}
		return err
	}
	errs := make(chan error, 2)
	go func() { errs <- read(insts[0]) }()
	// The first instance has taken the lease and started reading when its
	// origin sees a read.
	poll.Until(t, 5*time.Second, func() bool {
		origins[0].mu.Lock()
		defer origins[0].mu.Unlock()
		return origins[0].reads > 0
	}, "the first instance never read the origin")
	go func() { errs <- read(insts[1]) }()
	// The second instance misses and finds the lease taken: nothing outside
	// the cache shows when it has, so this is a wait in time.
	time.Sleep(100 * time.Millisecond)
	close(gate)
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if r0, r1 := origins[0].reads, origins[1].reads; r0+r1 != 1 {
		t.Errorf("origin reads: %d and %d, want 1 in all (the second instance waits for the first's fill)", r0, r1)
	}
}

// stallingWriter collects what is written and says, every few calls, that a
// write would block: a slow client's socket, as WriteRange sees it.
type stallingWriter struct {
	bytes.Buffer
	n, every int
}

func (w *stallingWriter) Writable() bool      { w.n++; return w.n%w.every != 0 }
func (w *stallingWriter) WaitWritable() error { return nil }

// TestWriteRangeToASlowClient: a client whose socket fills now and then
// gets exactly the bytes asked for, whatever was let go and fetched again,
// and no chunk data stays held once the responses are written.
func TestWriteRangeToASlowClient(t *testing.T) {
	fx := newFixture(t, true, Options{ChunkSize: 1 << 20, Fill: FillSync, LocalBytes: 8 << 20})
	want := testmedia.WriteRandom(t, fx.dir, "a.mp4", 6<<20+12345, 4)
	readAll(t, fx.cache, "a.mp4") // cached
	r := rand.New(rand.NewPCG(1, 1))
	for i := range 20 {
		off := r.Int64N(int64(len(want)))
		n := r.Int64N(int64(len(want))-off) + 1
		f, err := fx.cache.Open(t.Context(), "a.mp4")
		if err != nil {
			t.Fatal(err)
		}
		f.PrepareSources(off, n, true).Status()
		w := &stallingWriter{every: 2 + i%5}
		got, err := f.WriteRange(w, off, n)
		f.Close()
		if err != nil || got != n || !bytes.Equal(w.Bytes(), want[off:off+n]) {
			t.Fatalf("range %d+%d (a stall every %d writes): %d bytes, %v, equal %v", off, n, w.every, got, err, bytes.Equal(w.Bytes(), want[off:off+got]))
		}
	}
	// The local tier takes chunks just after their readers have the bytes:
	// their budget comes back then.
	waitIdle(t, fx.cache)
}

// TestMinUses: with MinUses 2 a chunk is cached only when a second request
// misses it, however many windows the first read it in; until then its
// bytes come straight from the origin.
func TestMinUses(t *testing.T) {
	fx := newFixture(t, true, Options{ChunkSize: 1 << 20, Fill: FillSync, MinUses: 2})
	want := testmedia.WriteRandom(t, fx.dir, "a.mp4", 3<<20, 8)
	keys := func() int { return len(fx.redis.Keys(t.Context(), "reelcache:c:*")) }
	for i, w := range []struct {
		keys   int
		status Status
	}{{0, Miss}, {3, Miss}, {3, Hit}} {
		got, st := readAll(t, fx.cache, "a.mp4")
		if !bytes.Equal(got, want) {
			t.Fatalf("request %d: wrong bytes", i+1)
		}
		if n := keys(); n != w.keys || st != w.status {
			t.Errorf("after request %d: %d chunks cached and status %v, want %d and %v", i+1, n, st, w.keys, w.status)
		}
	}
}
