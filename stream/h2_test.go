package stream

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/reelcache/reelcache/chunker"
)

// h2Get starts GET url over rt (HTTP/2) and returns the response once its
// headers are in; the test fails unless it is HTTP/2.
func h2Get(t *testing.T, ctx context.Context, rt http.RoundTripper, url string, header ...string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	if res.ProtoMajor != 2 {
		t.Fatalf("GET %s: %s, want HTTP/2", url, res.Proto)
	}
	return res
}

// TestHTTP2AbortsLeakNothing: on one HTTP/2 connection, many concurrent
// streams (cold and warm, some stalled by flow control for a while) are
// reset mid-body (RST_STREAM, the connection stays open): no goroutine is
// left behind, the in-flight budget is given back, and the same connection
// then serves many concurrent full reads byte-exact.
func TestHTTP2AbortsLeakNothing(t *testing.T) {
	s := newServer(t, serverOptions{chunkSize: 64 << 10, fill: chunker.FillAsync, h2: true})
	data := s.write(t, "v.mp4", 2<<20, 11)
	rt := s.srv.Client().Transport
	// The connection, and the Redis pool's first connection, before the
	// goroutine baseline.
	r := getVia(t, onlyH2{t, rt}, "GET", s.url("v.mp4"), "Range: bytes=0-0")
	if r.status != 206 {
		t.Fatalf("first request: status %d", r.status)
	}
	ignore := goleak.IgnoreCurrent()

	const streams = 48
	var wg sync.WaitGroup
	for i := range streams {
		wg.Go(func() {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			var hdr []string
			if i%2 == 0 {
				hdr = []string{"Range", "bytes=100000-"}
			}
			res := h2Get(t, ctx, rt, s.url("v.mp4"), hdr...)
			if i%3 == 0 {
				// Stalled: the stream's flow-control window fills and
				// the handler waits, while the others go on.
				time.Sleep(300 * time.Millisecond)
			}
			io.CopyN(io.Discard, res.Body, 50_000)
			cancel() // RST_STREAM
			res.Body.Close()
		})
	}
	wg.Wait()
	waitFor(t, func() bool { return s.cache.Stats().Inflight == 0 })
	// goleak retries while the server notices the resets.
	if err := goleak.Find(ignore); err != nil {
		t.Error(err)
	}

	// The same connection still serves, many streams at once.
	for range 32 {
		wg.Go(func() {
			res := h2Get(t, t.Context(), rt, s.url("v.mp4"))
			body, err := io.ReadAll(res.Body)
			res.Body.Close()
			if err != nil || !bytes.Equal(body, data) {
				t.Errorf("concurrent full read: %d bytes, %v", len(body), err)
			}
		})
	}
	wg.Wait()
	waitFor(t, func() bool { return s.cache.Stats().Inflight == 0 })
}

// TestHTTP2StreamsPerClient: the per-client limit counts HTTP/2 streams, not
// connections: a third stream on the one connection gets 429.
func TestHTTP2StreamsPerClient(t *testing.T) {
	s := newServer(t, serverOptions{chunkSize: 64 << 10, noRedis: true, h2: true, opts: func(o *Options) { o.MaxStreamsPerClient = 2 }})
	s.write(t, "v.mp4", 32<<20, 1)
	rt := s.srv.Client().Transport
	var open []*http.Response
	for range 2 { // held open: headers read, bodies not
		res := h2Get(t, t.Context(), rt, s.url("v.mp4"))
		if res.StatusCode != 200 {
			t.Fatalf("stream: status %d", res.StatusCode)
		}
		open = append(open, res)
	}
	r := getVia(t, onlyH2{t, rt}, "GET", s.url("v.mp4"))
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" {
		t.Errorf("third stream on the connection: status %d, want 429 with Retry-After", r.status)
	}
	for _, res := range open {
		res.Body.Close() // RST_STREAM: the streams end, the connection stays
	}
	waitFor(t, func() bool { return getVia(t, rt, "GET", s.url("v.mp4"), "Range: bytes=0-0").status == 206 })
}

// TestHTTP2RateShaping: limit_rate applies to each HTTP/2 stream, as to
// each HTTP/1.1 response: two streams on one connection each take at least
// the shaped time, with the file's bytes. (A lower bound only: a loaded
// machine is slower, never faster.)
func TestHTTP2RateShaping(t *testing.T) {
	const (
		size  = 6 << 20
		rate  = 2 << 20
		after = 2 << 20
		least = 1800 * time.Millisecond // (size-after)/rate = 2 s, less a margin for the clock
	)
	s := newServer(t, serverOptions{chunkSize: 1 << 20, fill: chunker.FillSync, h2: true,
		opts: func(o *Options) { o.LimitRate, o.LimitRateAfter = rate, after }})
	data := s.write(t, "v.mp4", size, 7)
	rt := s.srv.Client().Transport
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			start := time.Now()
			res := h2Get(t, t.Context(), rt, s.url("v.mp4"))
			body, err := io.ReadAll(res.Body)
			res.Body.Close()
			took := time.Since(start)
			if err != nil || !bytes.Equal(body, data) {
				t.Errorf("shaped stream: %d bytes, %v", len(body), err)
			}
			if took < least {
				t.Errorf("shaped stream took %v, want at least %v (%d bytes at %d B/s after %d)", took, least, size, rate, after)
			}
		})
	}
	wg.Wait()
}
