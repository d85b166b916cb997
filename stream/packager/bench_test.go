package packager_test

import (
	"io"
	"net/http"
	"strconv"
	"testing"
)

// BenchmarkSegment: warm HLS segments through the whole handler over a
// real Redis (the local tier off), as a player fetches them.
func BenchmarkSegment(b *testing.B) {
	dir := testMedia(b)
	s := newServer(b, dir, serverOptions{})
	base := s.srv.URL + "/hls/title/a.mp4/seg-"
	// segment GETs segment n and returns the length of its body.
	segment := func(n int) int64 {
		res, err := http.Get(base + strconv.Itoa(n) + ".m4s")
		if err != nil {
			b.Fatal(err)
		}
		size, _ := io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return size
	}
	for n := 1; n <= 4; n++ { // warm
		segment(n)
	}
	b.ResetTimer()
	var bytes int64
	for i := 0; b.Loop(); i++ {
		bytes += segment(i%3 + 1)
	}
	b.SetBytes(bytes / int64(max(b.N, 1)))
}
