package store

import (
	"bytes"
	"log/slog"
	"math/rand/v2"
	"testing"

	"github.com/reelcache/reelcache/internal/redistest"
)

// TestReadReusesReleasedBuffers: Read's bytes land in a buffer that,
// released, the next Read of the same size fills again, and each Read
// returns the value's own bytes, whole or in blocks.
func TestReadReusesReleasedBuffers(t *testing.T) {
	rs := redistest.Start(t)
	s := New(Options{Client: rs.Client(), Logger: slog.New(slog.DiscardHandler)})
	const n = 3*BlockSize + 1000
	chunks := map[string][]byte{}
	for _, key := range []string{"rc:c:v:1:0", "rc:c:v:1:1"} {
		chunks[key] = make([]byte, n)
		for i := range chunks[key] {
			chunks[key][i] = byte(rand.N(256))
		}
		if err := rs.Client().Set(t.Context(), key, s.Codec().Sealed(key, chunks[key]), 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	var last *[]byte
	for round, tt := range []struct {
		key    string
		lo, hi int64
	}{
		{"rc:c:v:1:0", 0, n},
		{"rc:c:v:1:1", 0, n},
		{"rc:c:v:1:0", BlockSize + 5, 2*BlockSize + 9}, // two blocks
		{"rc:c:v:1:1", BlockSize + 5, 2*BlockSize + 9},
	} {
		got, _, err := s.Read(t.Context(), []Get{{Key: tt.key, Len: n, Lo: tt.lo, Hi: tt.hi}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		g := got[0]
		if want := chunks[tt.key][g.Start : g.Start+int64(len(g.Data))]; !g.Found() || g.Start > tt.lo || !bytes.Equal(g.Data, want) {
			t.Fatalf("read %d (%s [%d, %d)): not the value's bytes", round, tt.key, tt.lo, tt.hi)
		}
		if round%2 == 1 && g.Buffer.p != last {
			t.Errorf("read %d did not reuse the buffer the read before it released", round)
		}
		last = g.Buffer.p
		g.Buffer.Release()
	}
}
