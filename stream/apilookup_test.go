package stream

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/reelcache/reelcache/chunker"
	"github.com/reelcache/reelcache/chunker/origin"
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
