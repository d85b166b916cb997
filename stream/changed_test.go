package stream

import (
	"bytes"
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

// splitOrigin is a controllable HTTP origin: it describes an object on
// HEAD and serves its ranged GETs as a test says, like two nginx nodes
// behind a balancer that disagree (a HEAD answered by one, the GET by the
// other).
type splitOrigin struct {
	mu       sync.Mutex // protects the fields below
	data     []byte     // what HEAD and a good GET describe
	etag     string
	getETag  string // the ETag of the object a GET reaches; "" means etag
	getTotal int64  // the Content-Range total a GET says; 0 means len(data)
	failFrom int64  // when > 0, a GET of a range starting there or later gets 412
}

func (o *splitOrigin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	o.mu.Lock()
	data, etag, getETag, total, failFrom := o.data, o.etag, o.getETag, o.getTotal, o.failFrom
	o.mu.Unlock()
	w.Header().Set("Last-Modified", time.Unix(1e9, 0).UTC().Format(http.TimeFormat))
	if r.Method == http.MethodHead {
		w.Header().Set("ETag", etag)
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		return
	}
	if getETag == "" {
		getETag = etag
	}
	if total == 0 {
		total = int64(len(data))
	}
	w.Header().Set("ETag", getETag)
	if m := r.Header.Get("If-Match"); m != "" && m != getETag {
		w.WriteHeader(http.StatusPreconditionFailed)
		return
	}
	var a, b int64
	if _, err := fmt.Sscanf(r.Header.Get("Range"), "bytes=%d-%d", &a, &b); err != nil || b >= int64(len(data)) {
		http.Error(w, "bad range", http.StatusRequestedRangeNotSatisfiable)
		return
	}
	if failFrom > 0 && a >= failFrom {
		w.WriteHeader(http.StatusPreconditionFailed)
		return
	}
	w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", a, b, total))
	w.Header().Set("Content-Length", strconv.FormatInt(b-a+1, 10))
	w.WriteHeader(http.StatusPartialContent)
	w.Write(data[a : b+1])
}

// TestOriginDisagrees: an origin whose ranged GET answers 412 while its
// HEAD answers 200 (another node, another ETag), or whose Content-Range
// total is not its HEAD's size, gets the viewer a 502 with a JSON body,
// never a connection closed before any status line (issue 21 item 4); and
// once the origin agrees with itself again, the next request is served the
// object it now describes.
func TestOriginDisagrees(t *testing.T) {
	cases := []struct {
		name   string
		break_ func(o *splitOrigin)
	}{
		{"412 on GET", func(o *splitOrigin) { o.getETag = `"other-node"` }},
		{"Content-Range total", func(o *splitOrigin) { o.getTotal = int64(len(o.data)) + 1000 }},
	}
	for _, tc := range cases {
		for _, cacheOn := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/cache=%v", tc.name, cacheOn), func(t *testing.T) {
				org := &splitOrigin{data: randomBytes(200_000, 3), etag: `"v1"`}
				tc.break_(org)
				ts := httptest.NewServer(org)
				t.Cleanup(ts.Close)
				remote := func(*os.Root) chunker.Origin {
					o, err := origin.NewHTTP(origin.HTTPOptions{URL: ts.URL + "/", Options: origin.Options{
						Logger: slog.New(slog.DiscardHandler), TTL: time.Hour}})
					if err != nil {
						t.Fatal(err)
					}
					return o
				}
				s := newServer(t, serverOptions{chunkSize: 64 << 10, fill: chunker.FillSync, noRedis: !cacheOn, origin: remote})
				for _, rng := range []string{"", "Range: bytes=70000-70999", "Range: bytes=0-9,150000-150009"} {
					var hdr []string
					if rng != "" {
						hdr = append(hdr, rng)
					}
					for i := range 2 { // and again: still an answer, never an empty reply
						r := get(t, "GET", s.url("v.mp4"), hdr...)
						if r.status != http.StatusBadGateway || r.header.Get("Content-Type") != "application/json" ||
							r.header.Get("Cache-Control") != "no-store" || r.header.Get("Content-Range") != "" {
							t.Fatalf("%q, try %d: status %d, Content-Type %q, Cache-Control %q, Content-Range %q; want a 502 JSON error, not stored",
								rng, i, r.status, r.header.Get("Content-Type"), r.header.Get("Cache-Control"), r.header.Get("Content-Range"))
						}
					}
				}
				// The origin agrees with itself again, on a new object: the
				// next request sees it, although the TTL is an hour (what
				// was known of the name was dropped).
				want := randomBytes(150_000, 4)
				org.mu.Lock()
				org.data, org.etag, org.getETag, org.getTotal = want, `"v2"`, "", 0
				org.mu.Unlock()
				if r := get(t, "GET", s.url("v.mp4")); r.status != 200 || !bytes.Equal(r.body, want) {
					t.Fatalf("after the origin agrees again: status %d, %d bytes; want 200 and the new object", r.status, len(r.body))
				}
				if r := get(t, "GET", s.url("v.mp4"), "Range: bytes=100000-100099"); r.status != 206 || !bytes.Equal(r.body, want[100000:100100]) {
					t.Fatalf("range after the origin agrees again: status %d, %d bytes", r.status, len(r.body))
				}
			})
		}
	}
}
