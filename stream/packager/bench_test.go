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
	for n := 1; n <= 4; n++ { // warm
		res, err := http.Get(base + strconv.Itoa(n) + ".m4s")
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
	}
	b.ResetTimer()
	var bytes int64
	for i := 0; b.Loop(); i++ {
		res, err := http.Get(base + strconv.Itoa(i%3+1) + ".m4s")
		if err != nil {
			b.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, res.Body)
		res.Body.Close()
		bytes += n
	}
	b.SetBytes(bytes / int64(max(b.N, 1)))
}
