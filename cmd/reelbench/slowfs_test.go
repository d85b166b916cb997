package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/reelcache/reelcache/internal/redistest"
	"github.com/reelcache/reelcache/internal/testmedia"
)

// requireFUSE skips the test (fails it under CI=true) without /dev/fuse
// and fusermount3.
func requireFUSE(t *testing.T) {
	t.Helper()
	redistest.Require(t, "fusermount3")
	if _, err := os.Stat("/dev/fuse"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("/dev/fuse:", err)
		}
		t.Skip("/dev/fuse:", err)
	}
}

func TestSlowFS(t *testing.T) {
	requireFUSE(t)
	const mib = 1 << 20
	src := testmedia.Dir(t, map[string]int{"a.mp4": 3*mib + 100})
	if err := os.Mkdir(filepath.Join(src, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "sub", "b.mp4"), []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	mnt := t.TempDir()
	l := &link{latency: 20 * time.Millisecond, rate: 50e6}
	srv, err := mountSlowFS(src, mnt, l, mib)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Unmount() })

	want, _ := os.ReadFile(filepath.Join(src, "a.mp4"))
	f, err := os.Open(filepath.Join(mnt, "a.mp4"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// One read of 1 MiB is one read of the slow storage: the latency
	// once, and the bytes at the rate.
	buf := make([]byte, mib)
	start := time.Now()
	n, err := f.ReadAt(buf, mib+7)
	took := time.Since(start)
	if err != nil || n != mib || !bytes.Equal(buf, want[mib+7:2*mib+7]) {
		t.Fatalf("ReadAt 1 MiB at %d: %d bytes, %v; want the file's bytes", mib+7, n, err)
	}
	if least := l.latency + time.Duration(float64(mib)/l.rate*1e9); took < least-2*time.Millisecond {
		t.Errorf("1 MiB read in %v, want at least %v (latency + bytes/rate)", took, least)
	}
	if r, b := l.requests.Load(), l.bytes.Load(); r != 1 || b != mib {
		t.Errorf("after one 1 MiB read: %d reads, %d bytes of the slow storage; want 1, %d", r, b, mib)
	}

	// Direct I/O: reading the same bytes again reads the storage again
	// (no page cache), and the whole file is exact.
	all, err := os.ReadFile(filepath.Join(mnt, "a.mp4"))
	if err != nil || !bytes.Equal(all, want) {
		t.Fatalf("ReadFile: %d bytes, %v; want the file", len(all), err)
	}
	if b := l.bytes.Load(); b != mib+int64(len(want)) {
		t.Errorf("slow storage bytes %d, want %d (nothing served from the page cache)", b, mib+len(want))
	}
	if b, err := os.ReadFile(filepath.Join(mnt, "sub", "b.mp4")); err != nil || string(b) != "hello" {
		t.Errorf("sub/b.mp4: %q, %v", b, err)
	}
	// Read-only.
	if err := os.WriteFile(filepath.Join(mnt, "a.mp4"), []byte("x"), 0o644); !errors.Is(err, syscall.EROFS) && !errors.Is(err, syscall.EACCES) {
		t.Errorf("write through the mount: %v, want EROFS", err)
	}
}
