package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/reelcache/reelcache/chunker"
	"github.com/reelcache/reelcache/chunker/store"
	"github.com/reelcache/reelcache/internal/redistest"
	"github.com/reelcache/reelcache/internal/testmedia"
)

func TestSingleRange(t *testing.T) {
	tests := []struct {
		h          string
		size       int64
		start, end int64
		status     int
	}{
		{"bytes=0-99", 1000, 0, 99, 206},
		{"bytes=900-", 1000, 900, 999, 206},
		{"bytes=900-5000", 1000, 900, 999, 206},
		{"bytes=999-999", 1000, 999, 999, 206},
		{"bytes=1000-", 1000, 0, 0, 416},
		{"", 1000, 0, 999, 200},
		{"bytes=-100", 1000, 0, 999, 200},
		{"bytes=0-1,5-6", 1000, 0, 999, 200},
		{"bytes=5-4", 1000, 0, 999, 200},
		{"items=0-1", 1000, 0, 999, 200},
	}
	for _, tt := range tests {
		start, end, status := singleRange(tt.h, tt.size)
		if start != tt.start || end != tt.end || status != tt.status {
			t.Errorf("singleRange(%q, %d) = %d, %d, %d; want %d, %d, %d", tt.h, tt.size, start, end, status, tt.start, tt.end, tt.status)
		}
	}
}

// TestRedisPeerReadsWhatReelcacheWrote fills Redis through reelcache's own
// serving path, then asks the peer for ranges of it: the peer must find
// every chunk under reelcache's keys and versions, and send the file's
// bytes.
func TestRedisPeerReadsWhatReelcacheWrote(t *testing.T) {
	rs := redistest.Start(t)
	const mib = 1 << 20
	dir := testmedia.Dir(t, map[string]int{"a.mp4": 5*mib/2 + 12345, "cold.mp4": 3 * mib})
	rc := startReelcache(t, dir, rs, chunker.FillSync)
	res, err := http.Get(rc.URL + "/media/a.mp4")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if n := len(rs.Keys(t.Context(), "reelcache:c:*")); n != 3 {
		t.Fatalf("reelcache wrote %d chunks, want 3", n)
	}

	rdb := redis.NewClient(&redis.Options{Addr: rs.Addr()})
	defer rdb.Close()
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	peer := httptest.NewServer(&redisPeer{
		dir:    chunker.NewDir(root, chunker.DirOptions{}),
		store:  store.New(store.Options{Client: rdb, Timeout: 5 * time.Second}),
		chunk:  mib,
		window: 2 * mib,
	})
	defer peer.Close()
	file, _ := os.ReadFile(filepath.Join(dir, "a.mp4"))
	size := int64(len(file))
	tests := []struct {
		rng        string
		status     int
		start, end int64 // inclusive
	}{
		{"bytes=0-99", 206, 0, 99},
		{"bytes=1048000-1049000", 206, 1048000, 1049000},            // across chunks 0 and 1
		{"bytes=100-", 206, 100, size - 1},                          // more than one window
		{fmt.Sprintf("bytes=%d-", size-1), 206, size - 1, size - 1}, // the last byte
		{"", 200, 0, size - 1},
		{fmt.Sprintf("bytes=%d-", size), 416, 0, -1},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest("GET", peer.URL+"/media/a.mp4", nil)
		if tt.rng != "" {
			req.Header.Set("Range", tt.rng)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil || res.StatusCode != tt.status {
			t.Errorf("Range %q: status %d, err %v; want %d", tt.rng, res.StatusCode, err, tt.status)
			continue
		}
		if want := file[tt.start : tt.end+1]; !bytes.Equal(body, want) {
			t.Errorf("Range %q: %d bytes, want %d bytes of the file at %d", tt.rng, len(body), len(want), tt.start)
		}
	}

	// A file reelcache never read is not in Redis: the peer cuts the
	// response rather than read the disk.
	req, _ := http.NewRequest("GET", peer.URL+"/media/cold.mp4", nil)
	req.Header.Set("Range", "bytes=0-")
	res, err = http.DefaultClient.Do(req)
	if err == nil {
		_, err = io.ReadAll(res.Body)
		res.Body.Close()
	}
	if err == nil {
		t.Errorf("cold.mp4: got the whole body, want the response cut (not in Redis)")
	}
}
