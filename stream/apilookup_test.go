package stream

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/reelcache/reelcache/chunker"
	"github.com/reelcache/reelcache/chunker/origin"
	"github.com/reelcache/reelcache/internal/s3test"
)

// TestAPIMediaBoundedOriginWork: /api/media costs the origin bounded work
// whatever the library (issue 21 item 2): a single-path lookup
// (?path=NAME, what the page asks whenever it renews a URL) is one HEAD,
// never a listing, and none again within media.origin_ttl; whole listings
// read the manifest once per TTL and HEAD each object once.
func TestAPIMediaBoundedOriginWork(t *testing.T) {
	const n = 300
	var mu sync.Mutex
	reqs := map[string]int{} // "METHOD path" -> count
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("v%03d.mp4", i)
	}
	manifest, _ := json.Marshal(names)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		reqs[r.Method+" "+r.URL.Path]++
		mu.Unlock()
		if r.URL.Path == "/list.json" {
			w.Write(manifest)
			return
		}
		var i int
		if _, err := fmt.Sscanf(r.URL.Path, "/v%03d.mp4", &i); err != nil || i >= n {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("ETag", `"e`+strconv.Itoa(i)+`"`)
		w.Header().Set("Content-Length", strconv.Itoa(1000+i))
		w.Header().Set("Last-Modified", time.Unix(1e9, 0).UTC().Format(http.TimeFormat))
	}))
	t.Cleanup(ts.Close)
	remote := func(*os.Root) chunker.Origin {
		o, err := origin.NewHTTP(origin.HTTPOptions{URL: ts.URL + "/", Manifest: "/list.json",
			Options: origin.Options{Logger: slog.New(slog.DiscardHandler), TTL: time.Hour}})
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	s := newServer(t, serverOptions{chunkSize: 64 << 10, origin: remote})
	total := func() (all, heads, lists int) {
		mu.Lock()
		defer mu.Unlock()
		for k, v := range reqs {
			all += v
			if k[:5] == "HEAD " {
				heads += v
			}
		}
		return all, heads, reqs["GET /list.json"]
	}
	list := func(query string) []mediaItem {
		r := get(t, "GET", s.srv.URL+"/api/media"+query)
		var items []mediaItem
		if r.status != 200 || json.Unmarshal(r.body, &items) != nil {
			t.Fatalf("/api/media%s: %d %s", query, r.status, r.body)
		}
		return items
	}

	for range 3 {
		items := list("?path=v123.mp4")
		if len(items) != 1 || items[0].Path != "v123.mp4" || items[0].Size != 1123 || items[0].URL != "/media/v123.mp4" || items[0].ChunksTotal != 1 {
			t.Fatalf("?path=v123.mp4: %+v", items)
		}
	}
	if all, heads, lists := total(); all != 1 || heads != 1 || lists != 0 {
		t.Fatalf("3 single-path lookups: %d origin requests (%d HEADs, %d manifest reads), want 1 HEAD", all, heads, lists)
	}
	for _, q := range []string{"?path=nothere.mp4", "?path=.hidden.mp4", "?path=../x.mp4", "?path=v001.txt"} {
		if items := list(q); len(items) != 0 {
			t.Errorf("%s: %+v, want []", q, items)
		}
	}
	for range 3 {
		if items := list(""); len(items) != n {
			t.Fatalf("listing: %d items, want %d", len(items), n)
		}
	}
	if _, heads, lists := total(); heads != n+1 || lists != 1 { // +1: nothere.mp4
		t.Fatalf("3 listings of %d objects: %d HEADs, %d manifest reads; want %d and 1", n, heads, lists, n+1)
	}
	// An origin that fails a lookup is a 502, as for media.
	ts.Close()
	if r := get(t, "GET", s.srv.URL+"/api/media?path=v299.mp4x"); r.status != 200 {
		t.Fatalf("a name with another extension: %d, want 200 []", r.status)
	}
	if r := get(t, "GET", s.srv.URL+"/api/media?path=never-seen.mp4"); r.status != http.StatusBadGateway {
		t.Fatalf("lookup on a dead origin: %d %s, want 502", r.status, r.body)
	}
}

// TestAPIMediaBoundedS3Work is TestAPIMediaBoundedOriginWork on a real S3
// store (versitygw behind a counting proxy): a single-path lookup is one
// HeadObject, never a ListObjectsV2 of the bucket, and three listings are
// one ListObjectsV2.
func TestAPIMediaBoundedS3Work(t *testing.T) {
	gw := s3test.Start(t)
	gw.Env(t)
	gw.Bucket("media")
	for i := range 30 {
		gw.Put("media", fmt.Sprintf("v%02d.mp4", i), []byte("x"))
	}
	var mu sync.Mutex
	var heads, lists int
	target, _ := url.Parse(gw.Endpoint())
	rp := httputil.NewSingleHostReverseProxy(target)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		switch {
		case r.Method == "HEAD":
			heads++
		case r.URL.Query().Has("list-type"):
			lists++
		}
		mu.Unlock()
		rp.ServeHTTP(w, r) // the Host header stays the proxy's, as signed
	}))
	t.Cleanup(proxy.Close)
	remote := func(*os.Root) chunker.Origin {
		o, err := origin.NewS3(t.Context(), origin.S3Options{URL: "s3://media/", Endpoint: proxy.URL, Region: s3test.Region, PathStyle: true,
			Options: origin.Options{Logger: slog.New(slog.DiscardHandler), TTL: time.Hour}})
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	s := newServer(t, serverOptions{chunkSize: 64 << 10, origin: remote})
	count := func(query string) int {
		r := get(t, "GET", s.srv.URL+"/api/media"+query)
		var items []mediaItem
		if r.status != 200 || json.Unmarshal(r.body, &items) != nil {
			t.Fatalf("/api/media%s: %d %s", query, r.status, r.body)
		}
		return len(items)
	}
	for range 3 {
		if n := count("?path=v07.mp4"); n != 1 {
			t.Fatalf("?path=v07.mp4: %d items", n)
		}
	}
	mu.Lock()
	h, l := heads, lists
	mu.Unlock()
	if h != 1 || l != 0 {
		t.Fatalf("3 single-path lookups: %d HeadObject and %d ListObjectsV2, want 1 and 0", h, l)
	}
	for range 3 {
		if n := count(""); n != 30 {
			t.Fatalf("listing: %d items, want 30", n)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if lists != 1 {
		t.Fatalf("3 listings: %d ListObjectsV2, want 1", lists)
	}
}
