package load

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reelcache/reelcache/internal/testmedia"
)

// library writes n files of random bytes, of sizes 100 KiB + i*37 KiB, into
// a temporary directory.
func library(t *testing.T, n int) (string, []File) {
	t.Helper()
	dir := t.TempDir()
	for i := range n {
		testmedia.WriteRandom(t, dir, "f"+string(rune('a'+i))+".mp4", 100<<10+i*37<<10, uint64(i))
	}
	files, err := FilesIn(dir)
	if err != nil || len(files) != n {
		t.Fatalf("FilesIn: %d files, %v; want %d", len(files), err, n)
	}
	return dir, files
}

// counting serves dir under /media/ with http.FileServer (Range and all)
// and counts requests by path and Range header.
type counting struct {
	mu   sync.Mutex
	reqs map[string][]string // path -> Range headers
	srv  *httptest.Server
}

func serve(t *testing.T, dir string) *counting {
	t.Helper()
	c := &counting{reqs: map[string][]string{}}
	fs := http.StripPrefix("/media/", http.FileServer(http.Dir(dir)))
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		c.reqs[r.URL.Path] = append(c.reqs[r.URL.Path], r.Header.Get("Range"))
		c.mu.Unlock()
		fs.ServeHTTP(w, r)
	}))
	t.Cleanup(c.srv.Close)
	return c
}

func (c *counting) total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, r := range c.reqs {
		n += len(r)
	}
	return n
}

func TestOnceReadsEachFileOnceWhole(t *testing.T) {
	dir, files := library(t, 7)
	srv := serve(t, dir)
	res, err := Run(context.Background(), Config{
		BaseURL: srv.srv.URL, Files: files, Scenario: Once, Clients: 3, Root: dir,
	})
	if err != nil {
		t.Fatal(err)
	}
	var want int64
	for _, f := range files {
		want += f.Size
		if got := srv.reqs["/media/"+f.Name]; len(got) != 1 || got[0] != "bytes=0-" {
			t.Errorf("%s: Range headers %q, want one bytes=0-", f.Name, got)
		}
	}
	if res.Requests != int64(len(files)) || res.Errors != 0 || res.WrongBytes != 0 || res.Bytes != want {
		t.Errorf("got %v (first error %q); want %d requests, %d bytes, no errors", res, res.FirstError, len(files), want)
	}
}

func TestMirrorsTakeTurns(t *testing.T) {
	dir, files := library(t, 3)
	srvs := []*counting{serve(t, dir), serve(t, dir), serve(t, dir)}
	tests := []struct {
		name     string
		clients  int
		requests int64
		each     int // requests each server must get; 0: at least one
	}{
		{"one client", 1, 30, 10},
		{"four clients", 4, 40, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := make([]int, len(srvs))
			for i, s := range srvs {
				before[i] = s.total()
			}
			res, err := Run(context.Background(), Config{
				BaseURL: srvs[0].srv.URL, Mirrors: []string{srvs[1].srv.URL, srvs[2].srv.URL},
				Files: files, Scenario: Ranges, RangeSize: 10 << 10, Clients: tt.clients,
				Requests: tt.requests, Root: dir, Seed: 3,
			})
			if err != nil {
				t.Fatal(err)
			}
			if res.Requests != tt.requests || res.Errors != 0 {
				t.Fatalf("got %v (first error %q), want %d requests and no errors", res, res.FirstError, tt.requests)
			}
			for i, s := range srvs {
				got := s.total() - before[i]
				if (tt.each > 0 && got != tt.each) || got == 0 {
					t.Errorf("server %d got %d requests, want %d (0: at least one)", i, got, tt.each)
				}
			}
		})
	}
}

func TestRunCountsBadBodiesAndStatus(t *testing.T) {
	dir, files := library(t, 2)
	tests := []struct {
		name    string
		handler http.HandlerFunc
		want    string // in FirstError
	}{
		{"not partial", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("x")) }, "status 200"},
		{"wrong bytes", func(w http.ResponseWriter, r *http.Request) {
			// The right headers and length, zeroed bytes.
			rec := httptest.NewRecorder()
			http.StripPrefix("/media/", http.FileServer(http.Dir(dir))).ServeHTTP(rec, r)
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.Code)
			w.Write(make([]byte, rec.Body.Len()))
		}, "wrong bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.handler)
			defer srv.Close()
			res, err := Run(context.Background(), Config{
				BaseURL: srv.URL, Files: files, Scenario: Seek, ReadBytes: 4 << 10, Clients: 1,
				Requests: 3, Duration: 5 * time.Second, Root: dir,
			})
			if err != nil {
				t.Fatal(err)
			}
			if res.Errors != 3 || !strings.Contains(res.FirstError, tt.want) {
				t.Errorf("got %d errors, first %q; want 3, containing %q", res.Errors, res.FirstError, tt.want)
			}
		})
	}
}
