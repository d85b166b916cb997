package stream

import (
	"context"
	"io"
	"net/http"
	"testing"

	"go.uber.org/goleak"

	"github.com/reelcache/reelcache/chunker"
)

// TestAbortedRequestsLeakNothing: clients that hang up mid-stream, cold and
// warm, leave no goroutine behind once their connections are gone.
func TestAbortedRequestsLeakNothing(t *testing.T) {
	s := newServer(t, serverOptions{chunkSize: 64 << 10, fill: chunker.FillAsync})
	s.write(t, "v.mp4", 2<<20, 11)
	get(t, "GET", s.url("v.mp4"), "Range: bytes=0-0") // the Redis pool's first connection
	tr := &http.Transport{}
	client := &http.Client{Transport: tr}
	defer tr.CloseIdleConnections()
	ignore := goleak.IgnoreCurrent()

	for i := range 60 {
		ctx, cancel := context.WithCancel(t.Context())
		req, _ := http.NewRequestWithContext(ctx, "GET", s.url("v.mp4"), nil)
		if i%2 == 0 {
			req.Header.Set("Range", "bytes=100000-")
		}
		res, err := client.Do(req)
		if err != nil {
			cancel()
			t.Fatal(err)
		}
		io.CopyN(io.Discard, res.Body, 50_000) // part of the body, then hang up
		cancel()
		res.Body.Close()
	}
	tr.CloseIdleConnections()
	// The server notices closed connections asynchronously; goleak retries.
	if err := goleak.Find(ignore); err != nil {
		t.Error(err)
	}
	// And the server still answers.
	if r := get(t, "GET", s.url("v.mp4"), "Range: bytes=5-9"); r.status != 206 {
		t.Fatalf("after aborts: status %d", r.status)
	}
}
