package stream

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reelcache/reelcache/chunker"
)

// referenceServer is the reference for Range behaviour: http.ServeContent
// on the *os.File, with the same Content-Type and ETag reelcache sends.
func referenceServer(tb testing.TB, dir string) *httptest.Server {
	tb.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, "/media/")
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.Header().Set("Content-Type", "video/mp4")
		w.Header().Set("ETag", `"`+chunker.VersionOf(fi)+`"`)
		http.ServeContent(w, r, "", fi.ModTime(), f)
	}))
	tb.Cleanup(srv.Close)
	return srv
}

// rangeGen makes Range headers of every kind ServeContent and reelcache
// must agree on: single, open, suffix, multi, overlapping, past the end and
// malformed. It leaves out the cases reelcache deliberately answers
// differently (TestRangeFixes covers those).
type rangeGen struct {
	r    *rand.Rand
	size int64
}

func (g rangeGen) pos() int64 {
	switch g.r.IntN(6) {
	case 0:
		return g.r.Int64N(g.size + 10) // anywhere, past the end too
	case 1:
		return g.size - 1 - g.r.Int64N(min(g.size, 4)) // near the end
	case 2:
		return g.r.Int64N(4) // near the start
	default:
		return g.r.Int64N(g.size)
	}
}

func (g rangeGen) spec() string {
	switch g.r.IntN(5) {
	case 0: // open
		return fmt.Sprintf("%d-", g.pos())
	case 1: // suffix, never -0
		return fmt.Sprintf("-%d", 1+g.r.Int64N(g.size+10))
	default: // closed, first <= last
		a := g.pos()
		return fmt.Sprintf("%d-%d", a, a+g.r.Int64N(300<<10))
	}
}

func (g rangeGen) header() string {
	switch k := g.r.IntN(20); {
	case k < 10:
		return "bytes=" + g.spec()
	case k < 16: // multi, possibly overlapping or out of order
		n := 2 + g.r.IntN(4)
		specs := make([]string, n)
		for i := range specs {
			specs[i] = g.spec()
		}
		return "bytes=" + strings.Join(specs, ", ")
	case k < 17: // last < first
		a := 1 + g.r.Int64N(g.size)
		return fmt.Sprintf("bytes=%d-%d", a, g.r.Int64N(a))
	default:
		malformed := []string{"bytes=", "bytes=abc", "bytes=5", "bytes=--3", "bytes 5-6", "bytes=1-2-3", "bytes=,", "bytes=0-1,x", "=0-1"}
		return malformed[g.r.IntN(len(malformed))]
	}
}

// TestDifferentialRanges compares reelcache with http.ServeContent on the
// same file for many Range headers, at two chunk sizes, on a file whose size
// is not a multiple of either. Both cold (chunks read from disk) and warm
// (from Redis) answers are compared, as requests fill the cache as they go.
func TestDifferentialRanges(t *testing.T) {
	for _, cs := range []int64{64 << 10, 1 << 20} {
		t.Run(fmt.Sprintf("chunk=%d", cs), func(t *testing.T) {
			t.Parallel()
			s := newServer(t, serverOptions{chunkSize: cs, fill: chunker.FillSync})
			differentialRanges(t, s, cs, http.DefaultTransport)
		})
	}
}

// TestDifferentialRangesHTTP2 is TestDifferentialRanges over HTTP/2 (TLS,
// ALPN h2): the same answers, byte for byte, and every one of them h2.
func TestDifferentialRangesHTTP2(t *testing.T) {
	for _, cs := range []int64{64 << 10, 1 << 20} {
		t.Run(fmt.Sprintf("chunk=%d", cs), func(t *testing.T) {
			t.Parallel()
			s := newServer(t, serverOptions{chunkSize: cs, fill: chunker.FillSync, h2: true})
			differentialRanges(t, s, cs, onlyH2{t, s.srv.Client().Transport})
		})
	}
}

// onlyH2 fails the test on a response that is not HTTP/2.
type onlyH2 struct {
	t  testing.TB
	rt http.RoundTripper
}

func (o onlyH2) RoundTrip(req *http.Request) (*http.Response, error) {
	res, err := o.rt.RoundTrip(req)
	if err == nil && res.ProtoMajor != 2 {
		o.t.Errorf("%s %s: answered over %s, want HTTP/2", req.Method, req.URL, res.Proto)
	}
	return res, err
}

// differentialRanges compares s, reached through rt, with http.ServeContent
// on the same file for many Range headers.
func differentialRanges(t *testing.T, s *server, cs int64, rt http.RoundTripper) {
	// Two 1 MiB chunks, twenty 64 KiB ones; the last one short. Kept
	// small because the race detector checks every byte copied.
	const size = 1<<20 + 3<<16 + 12345
	data := s.write(t, "v.mp4", size, uint64(cs))
	ref := referenceServer(t, s.dir)
	fi, err := os.Stat(filepath.Join(s.dir, "v.mp4"))
	if err != nil {
		t.Fatal(err)
	}
	etag := `"` + chunker.VersionOf(fi) + `"`
	lastMod := fi.ModTime().UTC().Format(http.TimeFormat)

	g := rangeGen{rand.New(rand.NewPCG(uint64(cs), 7)), size}
	xcache := map[string]int{}
	policy := 0
	for i := range 520 {
		header := []string{"Range: " + g.header()}
		// Conditional requests ride along on some: If-Range with
		// the right and a wrong validator, If-None-Match.
		switch i % 10 {
		case 7:
			header = append(header, "If-Range: "+etag)
		case 8:
			header = append(header, `If-Range: "other"`)
		case 9:
			header = append(header, "If-Range: "+lastMod)
		}
		if i%50 == 3 {
			header = append(header, "If-None-Match: "+etag)
		}
		got := getVia(t, rt, "GET", s.url("v.mp4"), header...)
		want := get(t, "GET", ref.URL+"/media/v.mp4", header...)
		if ignoredByPolicy(header[0], size) && want.status == http.StatusPartialContent {
			// reelcache's range policy: the whole file instead.
			if got.status != http.StatusOK || !bytes.Equal(got.body, data) {
				t.Fatalf("%q: status %d, want 200 and the whole file (more than two overlapping ranges)", header, got.status)
			}
			policy++
			continue
		}
		compare(t, header, got, want, data)
		xcache[got.header.Get("X-Cache")]++
	}
	t.Logf("X-Cache counts: %v; %d answered whole by the overlap policy", xcache, policy)
	if xcache["HIT"] == 0 || xcache["MISS"]+xcache["PARTIAL"] == 0 {
		t.Errorf("X-Cache counts %v: want both cached and uncached answers compared", xcache)
	}
}

// compare fails the test unless got and want are the same response.
func compare(t *testing.T, req []string, got, want response, data []byte) {
	t.Helper()
	if got.status != want.status {
		t.Fatalf("%q: status %d, want %d (body %.100q)", req, got.status, want.status, got.body)
	}
	for _, h := range []string{"Content-Range", "Content-Length", "Accept-Ranges", "ETag", "Last-Modified"} {
		if g, w := got.header.Get(h), want.header.Get(h); g != w {
			t.Errorf("%q: %s %q, want %q", req, h, g, w)
		}
	}
	if got.status >= 400 {
		return // error bodies are each server's own words
	}
	gct, gp, _ := mime.ParseMediaType(got.header.Get("Content-Type"))
	wct, wp, _ := mime.ParseMediaType(want.header.Get("Content-Type"))
	if gct != wct {
		t.Fatalf("%q: Content-Type %q, want %q", req, gct, wct)
	}
	if gct != "multipart/byteranges" {
		if !bytes.Equal(got.body, want.body) {
			t.Fatalf("%q: body of %d bytes differs from the reference's %d", req, len(got.body), len(want.body))
		}
		return
	}
	gparts := parts(t, got.body, gp["boundary"])
	wparts := parts(t, want.body, wp["boundary"])
	if len(gparts) != len(wparts) {
		t.Fatalf("%q: %d parts, want %d", req, len(gparts), len(wparts))
	}
	for i := range gparts {
		g, w := gparts[i], wparts[i]
		if g.header.Get("Content-Range") != w.header.Get("Content-Range") || g.header.Get("Content-Type") != w.header.Get("Content-Type") {
			t.Fatalf("%q: part %d headers %v, want %v", req, i, g.header, w.header)
		}
		if !bytes.Equal(g.body, w.body) {
			t.Fatalf("%q: part %d body differs", req, i)
		}
		// And against the file itself, not only the reference.
		start, end, ok := parseContentRange(g.header.Get("Content-Range"))
		if !ok || !bytes.Equal(g.body, data[start:end+1]) {
			t.Fatalf("%q: part %d (%s) is not the file's bytes", req, i, g.header.Get("Content-Range"))
		}
	}
}

type part struct {
	header http.Header
	body   []byte
}

func parts(t *testing.T, body []byte, boundary string) []part {
	t.Helper()
	var out []part
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("multipart: %v", err)
		}
		b, err := io.ReadAll(p)
		if err != nil {
			t.Fatalf("multipart part: %v", err)
		}
		out = append(out, part{http.Header(p.Header), b})
	}
}

// ignoredByPolicy reports whether reelcache ignores a generated Range header
// because more than two of its satisfiable ranges overlap (see fixRange).
// It parses the generator's own formats independently of fixRange.
func ignoredByPolicy(header string, size int64) bool {
	set, ok := strings.CutPrefix(header, "Range: bytes=")
	if !ok {
		return false
	}
	var rs [][2]int64
	for spec := range strings.SplitSeq(set, ",") {
		spec = strings.TrimSpace(spec)
		var a, b int64
		switch {
		case strings.HasPrefix(spec, "-"):
			if _, err := fmt.Sscanf(spec, "-%d", &b); err != nil || b == 0 {
				return false
			}
			rs = append(rs, [2]int64{max(0, size-b), size - 1})
		case strings.HasSuffix(spec, "-"):
			if _, err := fmt.Sscanf(spec, "%d-", &a); err != nil {
				return false
			}
			if a < size {
				rs = append(rs, [2]int64{a, size - 1})
			}
		default:
			if _, err := fmt.Sscanf(spec, "%d-%d", &a, &b); err != nil || b < a {
				return false
			}
			if a < size {
				rs = append(rs, [2]int64{a, min(b, size-1)})
			}
		}
	}
	n := 0
	for i := range rs {
		for j := range rs {
			if i != j && rs[i][0] <= rs[j][1] && rs[j][0] <= rs[i][1] {
				n++
				break
			}
		}
	}
	return n > 2
}
