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
	"testing"
	"time"

	"github.com/reelcache/reelcache/chunker/store"
	"github.com/reelcache/reelcache/internal/testmedia"
)

func TestReadThroughFillsThenHits(t *testing.T) {
	for _, mode := range []FillMode{FillSync, FillAsync} {
		fx := newFixture(t, true, Options{ChunkSize: 64 << 10, Fill: mode})
		want := testmedia.WriteRandom(t, fx.dir, "a.mp4", 300_001, 1) // 5 chunks, the last short

		got, st := readAll(t, fx.cache, "a.mp4")
		if !bytes.Equal(got, want) {
			t.Fatalf("fill %d: first read differs from the file", mode)
		}
		if st != Miss {
			t.Errorf("fill %d: first read status = %d, want Miss", mode, st)
		}
		fx.cache.Close() // flush async writes
		s := fx.cache.Stats()
		if s.Misses != 5 || s.Fills != 5 || s.DiskBytes != int64(len(want)) {
			t.Fatalf("fill %d: after first read %+v, want 5 misses, 5 fills, %d disk bytes", mode, s, len(want))
		}
		if keys := fx.redis.Keys(context.Background(), "reelcache:c:*:65536:*"); len(keys) != 5 {
			t.Fatalf("fill %d: %d chunk keys in redis, want 5: %v", mode, len(keys), keys)
		}

		got, st = readAll(t, fx.cache, "a.mp4")
		if !bytes.Equal(got, want) {
			t.Fatalf("fill %d: cached read differs from the file", mode)
		}
		if st != Hit {
			t.Errorf("fill %d: second read status = %d, want Hit", mode, st)
		}
		s2 := fx.cache.Stats()
		if s2.DiskBytes != s.DiskBytes || s2.RedisBytes != int64(len(want)) {
			t.Fatalf("fill %d: second read read %d disk bytes and %d redis bytes; want 0 and %d",
				mode, s2.DiskBytes-s.DiskBytes, s2.RedisBytes, len(want))
		}
	}
}

func TestRandomReadAtMatchesFile(t *testing.T) {
	fx := newFixture(t, true, Options{ChunkSize: 64 << 10, Fill: FillSync})
	want := testmedia.WriteRandom(t, fx.dir, "b.webm", 1_000_003, 2)
	r := rand.New(rand.NewPCG(3, 4))
	for i := range 200 {
		f, err := fx.cache.Open(context.Background(), "b.webm")
		if err != nil {
			t.Fatal(err)
		}
		off := r.Int64N(int64(len(want)))
		n := r.Int64N(300_000) + 1
		f.PrepareSources(off, n, true).Status()
		p := make([]byte, n)
		m, err := f.ReadAt(p, off)
		f.Close()
		end := min(off+n, int64(len(want)))
		if int64(m) != end-off {
			t.Fatalf("read %d: ReadAt(%d bytes at %d) = %d, %v; want %d bytes", i, n, off, m, err, end-off)
		}
		if (err == io.EOF) != (end-off < n) || (err != nil && err != io.EOF) {
			t.Fatalf("read %d: ReadAt err = %v with %d of %d bytes", i, err, m, n)
		}
		if !bytes.Equal(p[:m], want[off:end]) {
			t.Fatalf("read %d: bytes at %d differ", i, off)
		}
	}
}

func TestReplacedFileGetsNewVersion(t *testing.T) {
	fx := newFixture(t, true, Options{ChunkSize: 64 << 10, Fill: FillSync})
	old := testmedia.WriteRandom(t, fx.dir, "v.mp4", 200_000, 5)
	if got, _ := readAll(t, fx.cache, "v.mp4"); !bytes.Equal(got, old) {
		t.Fatal("first read differs")
	}
	// Same name, same size, other bytes, written the way deploy tools do.
	next := testmedia.WriteRandom(t, fx.dir, "v.mp4.tmp", 200_000, 6)
	if err := os.Rename(filepath.Join(fx.dir, "v.mp4.tmp"), filepath.Join(fx.dir, "v.mp4")); err != nil {
		t.Fatal(err)
	}
	got, st := readAll(t, fx.cache, "v.mp4")
	if !bytes.Equal(got, next) {
		t.Fatal("after replacing the file, reads returned old bytes")
	}
	if st != Miss {
		t.Errorf("replaced file status = %d, want Miss (new version)", st)
	}

	// Rewritten in place, same size, mtime set back to the old value: the
	// change time still tells.
	fi, _ := os.Stat(filepath.Join(fx.dir, "v.mp4"))
	third := testmedia.WriteRandom(t, fx.dir, "v.mp4", 200_000, 7)
	os.Chtimes(filepath.Join(fx.dir, "v.mp4"), fi.ModTime(), fi.ModTime())
	if got, _ := readAll(t, fx.cache, "v.mp4"); !bytes.Equal(got, third) {
		t.Fatal("after an in-place rewrite with the old mtime, reads returned old bytes")
	}
}

func TestChangedUnderReadFails(t *testing.T) {
	fx := newFixture(t, false, Options{ChunkSize: 64 << 10})
	testmedia.WriteRandom(t, fx.dir, "c.mp4", 200_000, 8)
	f, err := fx.cache.Open(context.Background(), "c.mp4")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p := make([]byte, 1000)
	if _, err := f.ReadAt(p, 0); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(filepath.Join(fx.dir, "c.mp4"), 100_000); err != nil {
		t.Fatal(err)
	}
	if _, err := f.ReadAt(p, 150_000); !errors.Is(err, ErrChanged) {
		t.Fatalf("ReadAt after truncation = %v, want ErrChanged", err)
	}
	os.Remove(filepath.Join(fx.dir, "c.mp4"))
	if _, err := f.ReadAt(p, 70_000); !errors.Is(err, ErrChanged) {
		t.Fatalf("ReadAt after removal = %v, want ErrChanged", err)
	}
}

func TestRedisDownFallsBackToDisk(t *testing.T) {
	fx := newFixture(t, true, Options{ChunkSize: 64 << 10, Fill: FillSync})
	want := testmedia.WriteRandom(t, fx.dir, "d.mp4", 500_000, 9)
	readAll(t, fx.cache, "d.mp4")
	fx.redis.Kill()
	for i := range 5 {
		got, st := readAll(t, fx.cache, "d.mp4")
		if !bytes.Equal(got, want) {
			t.Fatalf("read %d with redis down differs from the file", i)
		}
		if st != Bypass {
			t.Errorf("read %d with redis down: status %d, want Bypass", i, st)
		}
	}
	if fx.cache.Enabled() {
		t.Error("Enabled() = true after repeated failures, want the breaker open")
	}
}

func TestConcurrentMissesShareOneDiskRead(t *testing.T) {
	fx := newFixture(t, true, Options{ChunkSize: 256 << 10, Fill: FillAsync})
	want := testmedia.WriteRandom(t, fx.dir, "e.mp4", 1<<20, 10) // 4 chunks
	// Hold Redis so every reader misses at the same moment and stays in flight.
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make(chan error, 50)
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			f, err := fx.cache.Open(context.Background(), "e.mp4")
			if err != nil {
				errs <- err
				return
			}
			defer f.Close()
			got, err := io.ReadAll(io.NewSectionReader(f, 0, f.Size()))
			if err == nil && !bytes.Equal(got, want) {
				err = errors.New("bytes differ")
			}
			if err != nil {
				errs <- err
			}
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// Readers that come after a chunk's read find it pending or in Redis;
	// readers during it share it. Without coalescing this is near 200.
	s := fx.cache.Stats()
	t.Logf("50 readers, 4 chunks: %+v", s)
	if s.Misses != 4 {
		t.Fatalf("%d disk reads of a 4-chunk file by 50 concurrent readers: misses are not coalesced (%+v)", s.Misses, s)
	}
}

// TestWrongLengthValueIsAMiss: a value under a chunk's key that is not the
// chunk's length (damaged, truncated, written by something else) is never
// served; the chunk comes from disk.
func TestWrongLengthValueIsAMiss(t *testing.T) {
	fx := newFixture(t, true, Options{ChunkSize: 64 << 10, Fill: FillSync})
	want := testmedia.WriteRandom(t, fx.dir, "a.mp4", 100_000, 2) // chunks of 65536 and 34464
	f, err := fx.cache.Open(context.Background(), "a.mp4")
	if err != nil {
		t.Fatal(err)
	}
	k0, k1 := f.Key(0), f.Key(1)
	f.Close()
	rdb := fx.redis.Client()
	rdb.Set(context.Background(), k0, "", 0)
	rdb.Set(context.Background(), k1, string(want[65536:65536+100]), 0)
	got, st := readAll(t, fx.cache, "a.mp4")
	if !bytes.Equal(got, want) {
		t.Fatal("read with damaged values differs from the file")
	}
	if st == Hit {
		t.Error("status Hit for damaged values")
	}
	if s := fx.cache.Stats(); s.RedisBytes != 0 || s.Misses != 2 {
		t.Errorf("stats %+v: want both chunks from disk", s)
	}
}

// TestSharedVersionsAcrossCopies: with SharedVersions, two media roots
// holding copies of a file (other inodes, same name, size and mtime) use
// the same keys, so one fills what the other hits; other names never share.
func TestSharedVersionsAcrossCopies(t *testing.T) {
	a := newFixture(t, true, Options{ChunkSize: 64 << 10, Fill: FillSync})
	a.cache.origin = NewDir(a.root, DirOptions{SharedVersions: true})
	want := testmedia.WriteRandom(t, a.dir, "v.mp4", 200_000, 3)
	testmedia.WriteRandom(t, a.dir, "w.mp4", 200_000, 4)
	dirB := t.TempDir()
	fi, _ := os.Stat(filepath.Join(a.dir, "v.mp4"))
	os.WriteFile(filepath.Join(dirB, "v.mp4"), want, 0o644)
	os.Chtimes(filepath.Join(dirB, "v.mp4"), fi.ModTime(), fi.ModTime())
	rootB, _ := os.OpenRoot(dirB)
	defer rootB.Close()
	b, err := New(Options{Origin: NewDir(rootB, DirOptions{SharedVersions: true}), ChunkSize: 64 << 10, Settle: time.Nanosecond,
		Store: store.New(store.Options{Client: mustClient(t, a.redis.URL()), Timeout: 2 * time.Second})})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	readAll(t, a.cache, "v.mp4") // fills
	got, st := readAll(t, b, "v.mp4")
	if !bytes.Equal(got, want) || st != Hit {
		t.Fatalf("copy on another root: status %v, bytes equal %v; want Hit and the file", st, bytes.Equal(got, want))
	}
	fa, _ := a.cache.Open(context.Background(), "v.mp4")
	fw, _ := a.cache.Open(context.Background(), "w.mp4")
	defer fa.Close()
	defer fw.Close()
	if fa.Version() == fw.Version() {
		t.Error("two files of equal size share a version")
	}
}

// TestPrepareAsksRedisOnce: a seek (bytes=N- of a long file) fetches its
// first window and learns which of the following chunks are cached in one
// round trip, and X-Cache tells the truth about them.
func TestPrepareAsksRedisOnce(t *testing.T) {
	const cs = 64 << 10
	for _, tt := range []struct {
		name   string
		cached []int64 // chunks put in Redis
		want   Status
	}{
		{"all cached", []int64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, Hit},
		{"window cached, rest not", []int64{0, 1}, Partial},
		{"window not, rest cached", []int64{5, 6, 7, 8, 9}, Partial},
		{"none", nil, Miss},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fx := newFixture(t, true, Options{ChunkSize: cs, Fill: FillOff})
			data := testmedia.WriteRandom(t, fx.dir, "long.mp4", 10*cs, 11)
			calls := map[string]int{}
			var mu sync.Mutex
			store := store.New(store.Options{
				Client: mustClient(t, fx.redis.URL()), Timeout: 10 * time.Second,
				Observe: func(op string, _ time.Duration, _ error) { mu.Lock(); calls[op]++; mu.Unlock() },
			})
			c, err := New(Options{Origin: NewDir(fx.root, DirOptions{}), Store: store, ChunkSize: cs, Fill: FillOff, Settle: time.Nanosecond})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			f, err := c.Open(context.Background(), "long.mp4")
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			for _, i := range tt.cached {
				if err := store.Set(context.Background(), []string{f.Key(i)}, [][]byte{store.Codec().Sealed(f.Key(i), data[i*cs:(i+1)*cs])}); err != nil {
					t.Fatal(err)
				}
			}
			mu.Lock()
			clear(calls)
			mu.Unlock()

			if got := f.PrepareSources(0, 10*cs, true).Status(); got != tt.want {
				t.Errorf("Prepare = %v, want %v", got, tt.want)
			}
			mu.Lock()
			gets, exists := calls["get"], calls["exists"]
			mu.Unlock()
			// Read-ahead may have started a second fetch by now; the
			// prepare itself is the first, and there is no EXISTS.
			if exists != 0 || gets < 1 {
				t.Errorf("Redis calls: %d get, %d exists; want the window and the probe in one get", gets, exists)
			}
		})
	}
}
