package main

import (
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/reelcache/reelcache/internal/load"
	"github.com/reelcache/reelcache/internal/testmedia"
	"github.com/reelcache/reelcache/internal/testproc"
)

func TestParseWrk(t *testing.T) {
	for _, tt := range []struct {
		name, out string
		want      *load.Result // nil: an error
	}{
		{"result", "Running 1s test\nRESULT 10 10485760 1000000 1500 9000 0 0\n",
			&load.Result{Requests: 10, Bytes: 10 << 20, Elapsed: time.Second,
				TTFB:  load.Percentiles{P50: 1500 * time.Microsecond, P99: 9 * time.Millisecond},
				Total: load.Percentiles{P50: 1500 * time.Microsecond, P99: 9 * time.Millisecond}}},
		{"errors counted", "RESULT 10 100 1000000 1 2 3 4\n",
			&load.Result{Requests: 10, Bytes: 100, Elapsed: time.Second, Errors: 7,
				TTFB:       load.Percentiles{P50: time.Microsecond, P99: 2 * time.Microsecond},
				Total:      load.Percentiles{P50: time.Microsecond, P99: 2 * time.Microsecond},
				FirstError: "wrk: 3 answers >= 400, 4 socket errors"}},
		{"no result line", "Running 1s test\n", nil},
		{"bad number", "RESULT 10 x 1 1 1 0 0\n", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseWrk(tt.out)
			if tt.want == nil {
				if err == nil {
					t.Fatalf("got %+v, want an error", got)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

// TestWrkMakesRangeRequests runs the real wrk against a server that
// checks each request is a range of the configured size in a listed file.
func TestWrkMakesRangeRequests(t *testing.T) {
	testproc.Require(t, "wrk")
	dir := testmedia.Dir(t, map[string]int{"a b.mp4": 3 << 20, "c.mp4": 1 << 20})
	var bad, good atomic.Int64
	srv := httptest.NewServer(http.StripPrefix("/media/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rg := r.Header.Get("Range"); !strings.HasPrefix(rg, "bytes=") || (r.URL.Path != "a b.mp4" && r.URL.Path != "c.mp4") {
			bad.Add(1)
		} else {
			good.Add(1)
		}
		http.ServeFile(w, r, dir+"/"+r.URL.Path)
	})))
	defer srv.Close()
	files, err := load.FilesIn(dir)
	if err != nil {
		t.Fatal(err)
	}
	res, err := wrkRun(t.Context(), load.Config{BaseURL: srv.URL, Files: files, Scenario: load.Ranges,
		Clients: 2, Duration: time.Second, RangeSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	// wrk counts the responses it read; the server may have seen one more
	// per connection, cut off at the end.
	if g := good.Load(); res.Requests == 0 || g < res.Requests || g > res.Requests+2 || bad.Load() != 0 || res.Errors != 0 {
		t.Fatalf("wrk: %+v; the server saw %d good and %d bad requests", res, good.Load(), bad.Load())
	}
	// Every body is 1 MiB (the files are at least that big), plus headers.
	if per := res.Bytes / res.Requests; per < 1<<20 || per > 1<<20+1024 {
		t.Fatalf("%d bytes per response, want 1 MiB and its headers", per)
	}
}
