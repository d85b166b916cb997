package faststart

import (
	"bytes"
	"context"
	"iter"
	"os"
	"testing"

	"github.com/reelcache/reelcache/internal/faststarttest"
)

// fuzzMaxMoov bounds the moov FuzzBuild rewrites, as MaxMoov does.
const fuzzMaxMoov = 1 << 20

// seedMovies yields the fuzzers' seeds by file name, in order: a
// moov-at-end MP4 and MOV, made by ffmpeg.
func seedMovies(f *testing.F) iter.Seq2[string, []byte] {
	dir := f.TempDir()
	return func(yield func(string, []byte) bool) {
		for _, name := range []string{"seed.mp4", "seed.mov"} {
			data, err := os.ReadFile(faststarttest.Movie(f, dir, name, 1))
			if err != nil {
				f.Fatal(err)
			}
			if !yield(name, data) {
				return
			}
		}
	}
}

// FuzzBuild feeds Build hostile and truncated files, seeded with an ffmpeg
// moov-at-end MP4 and MOV. It must never panic out of Build nor keep a moov
// over its bound; a plan it returns must fit the file, give a view as long
// as the file whose bytes outside the moov are the file's, read the same
// by ReadAt and WriteRange, and be final: the view itself needs no plan.
func FuzzBuild(f *testing.F) {
	for _, data := range seedMovies(f) {
		f.Add(data)
		f.Add(data[:len(data)-100])
	}
	f.Add([]byte("\x00\x00\x00\x08ftyp\x00\x00\x00\x08mdat\x00\x00\x00\x08moov"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ctx := context.Background()
		size := int64(len(data))
		p, err := Build(ctx, newMem(data), size, fuzzMaxMoov)
		if p == nil {
			return
		}
		if err != nil {
			t.Fatalf("a plan and an error: %v", err)
		}
		m := int64(len(p.Moov))
		if m > fuzzMaxMoov || p.At < 0 || p.At >= p.MoovAt || p.MoovAt+m > size {
			t.Fatalf("plan at %d, moov at %d+%d does not fit %d bytes", p.At, p.MoovAt, m, size)
		}
		v := NewView(newMem(data), p, "e")
		got := make([]byte, size)
		if n, err := v.ReadAt(got, 0); int64(n) != size || (err != nil && n != len(got)) {
			t.Fatalf("ReadAt: %d, %v", n, err)
		}
		var w bytes.Buffer
		if n, err := v.WriteRange(&w, 0, size); n != size || err != nil || !bytes.Equal(w.Bytes(), got) {
			t.Fatalf("WriteRange: %d, %v, equal to ReadAt %v", n, err, bytes.Equal(w.Bytes(), got))
		}
		if !bytes.Equal(got[:p.At], data[:p.At]) || !bytes.Equal(got[p.At+m:p.MoovAt+m], data[p.At:p.MoovAt]) ||
			!bytes.Equal(got[p.MoovAt+m:], data[p.MoovAt+m:]) {
			t.Fatal("the view's bytes outside the moov are not the file's")
		}
		if p2, err := Build(ctx, newMem(got), size, fuzzMaxMoov); p2 != nil || err != nil {
			t.Fatalf("the view needs a plan too: %v, %v", p2 != nil, err)
		}
		if d, err := decodePlan(encodePlan(p), size); err != nil || d.At != p.At || d.MoovAt != p.MoovAt || !bytes.Equal(d.Moov, p.Moov) {
			t.Fatalf("plan value does not round-trip: %v", err)
		}
	})
}

// FuzzPatch feeds patch hostile moovs directly (FuzzBuild's mutations
// seldom keep the boxes around a moov intact), seeded with the moovs of an
// ffmpeg MP4 and MOV. It must never panic; a moov it patches keeps its
// length and changes only inside chunk offset tables, so at least its
// header and its first child's stay.
func FuzzPatch(f *testing.F) {
	for name, data := range seedMovies(f) {
		top, err := scan(context.Background(), newMem(data), int64(len(data)))
		if err != nil || top.moovAt < 0 {
			f.Fatalf("seed %s: no moov (%v)", name, err)
		}
		f.Add(data[top.moovAt:top.moovAt+top.moovSize], top.mdatAt, top.moovAt)
	}
	f.Fuzz(func(t *testing.T, moov []byte, at, moovAt int64) {
		if at < 0 || moovAt < at || len(moov) > fuzzMaxMoov {
			return // Build never calls it so
		}
		out, err := patch(bytes.Clone(moov), at, moovAt)
		if err != nil {
			return
		}
		if len(out) != len(moov) {
			t.Fatalf("patched moov is %d bytes, was %d", len(out), len(moov))
		}
		if len(moov) >= 16 && !bytes.Equal(out[:16], moov[:16]) {
			t.Fatalf("patched moov's first 16 bytes changed: %q -> %q", moov[:16], out[:16])
		}
	})
}
