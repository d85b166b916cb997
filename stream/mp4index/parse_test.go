package mp4index_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"reflect"
	"testing"

	"github.com/reelcache/reelcache/stream/cmaf"
	"github.com/reelcache/reelcache/stream/mp4index"
)

func readFile(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func parse(b []byte) (*mp4index.Index, error) {
	return mp4index.Parse(context.Background(), bytes.NewReader(b), int64(len(b)), mp4index.Options{})
}

// TestParse: testdata/tiny.mp4 (ffmpeg: 1 s of 32x32 H.264 with B-frames
// at 10 fps, AAC at 8 kHz) and its fragmented copy.
func TestParse(t *testing.T) {
	x, err := parse(readFile(t, "tiny.mp4"))
	if err != nil {
		t.Fatal(err)
	}
	if len(x.Tracks) != 2 {
		t.Fatalf("%d tracks, want 2", len(x.Tracks))
	}
	v, a := x.Track(mp4index.Video), x.Track(mp4index.Audio)
	if v == nil || a == nil {
		t.Fatal("want a video and an audio track")
	}
	for _, c := range []struct {
		what      string
		got, want any
	}{
		{"video codec prefix", v.Codec[:5], "avc1."},
		{"audio codec", a.Codec, "mp4a.40.2"},
		{"size", [2]uint32{v.Width, v.Height}, [2]uint32{32, 32}},
		{"video samples", v.Count, uint32(10)},
		{"audio rate", a.Timescale, uint32(8000)},
		{"B-frames (ctts)", len(v.Offsets) > 0, true},
		{"edit list", len(v.Edits) > 0, true},
		{"sync samples", v.Sync, []uint32{0, 5}},
	} {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s: got %v, want %v", c.what, c.got, c.want)
		}
	}
	b, err := mp4index.Marshal(x)
	if err != nil {
		t.Fatal(err)
	}
	y, err := mp4index.Unmarshal(b)
	if err != nil || !reflect.DeepEqual(x, y) {
		t.Errorf("Unmarshal(Marshal(x)) differs: %v", err)
	}
	if _, err := mp4index.Unmarshal(append([]byte{9}, b[1:]...)); err == nil {
		t.Error("an index of another format was read")
	}

	f, err := parse(readFile(t, "tiny-frag.mp4"))
	if err != nil {
		t.Fatal(err)
	}
	if !f.Fragmented || len(f.Fragments) != 2 || f.InitSize == 0 {
		t.Errorf("fragmented: %v, %d fragments (want 2), init %d", f.Fragmented, len(f.Fragments), f.InitSize)
	}
}

// TestParseBad: every way of being wrong is an error of the right kind,
// never a panic.
func TestParseBad(t *testing.T) {
	good := readFile(t, "tiny.mp4")
	webm := []byte{0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x86, 0x81, 0x01, 0x42, 0xf7, 0x81, 0x01, 0x42, 0xf2, 0x81}
	cases := []struct {
		name string
		b    []byte
		want error
	}{
		{"webm", webm, mp4index.ErrNotMP4},
		{"empty", nil, mp4index.ErrBad},
		{"header only", good[:8], mp4index.ErrBad},
		{"cut in the moov", good[:len(good)/4], mp4index.ErrBad},
		{"no moov", append([]byte{0, 0, 0, 8, 'f', 'r', 'e', 'e'}, 0, 0, 0, 8, 'm', 'd', 'a', 't'), mp4index.ErrBad},
	}
	for _, c := range cases {
		_, err := parse(c.b)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: err %v, want %v", c.name, err, c.want)
		}
	}
	// Every truncation fails cleanly, or parses (past the moov, the
	// samples it describes are checked against the size).
	for n := 0; n < len(good); n += 7 {
		if _, err := parse(good[:n]); err == nil {
			t.Errorf("cut to %d of %d bytes: parsed", n, len(good))
		}
	}
}

// FuzzParse: whatever the bytes, Parse returns an index or an error
// without panicking, and an index it returns is usable: its samples lie in
// the file, it survives Marshal/Unmarshal, and the segmenter plans and
// lays out its first segment without panicking.
func FuzzParse(f *testing.F) {
	f.Add(readFile(f, "tiny.mp4"))
	f.Add(readFile(f, "tiny-frag.mp4"))
	f.Add([]byte{0x1a, 0x45, 0xdf, 0xa3})
	f.Fuzz(func(t *testing.T, b []byte) {
		x, err := mp4index.Parse(context.Background(), bytes.NewReader(b), int64(len(b)), mp4index.Options{MaxMoovBytes: 1 << 20, MaxSamples: 1 << 16, MaxFragments: 1000})
		if err != nil {
			if !errors.Is(err, mp4index.ErrBad) && !errors.Is(err, mp4index.ErrUnsupported) && !errors.Is(err, mp4index.ErrNotMP4) {
				t.Fatalf("error of no kind: %v", err)
			}
			return
		}
		enc, err := mp4index.Marshal(x)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := mp4index.Unmarshal(enc); err != nil {
			t.Fatal(err)
		}
		m := &mp4index.Media{Index: x}
		for i := range x.Tracks {
			if x.Fragmented {
				break
			}
			s, err := x.Tracks[i].Samples()
			if err != nil {
				t.Fatalf("parsed, but the samples do not expand: %v", err)
			}
			for j := range s.Off {
				if s.Off[j] < 0 || s.Off[j]+int64(s.Size[j]) > int64(len(b)) {
					t.Fatalf("sample %d at %d+%d outside %d bytes", j, s.Off[j], s.Size[j], len(b))
				}
			}
			m.Samples = append(m.Samples, s)
		}
		if x.Fragmented {
			return
		}
		p, err := cmaf.NewPlan(m, 0)
		if err != nil {
			return
		}
		if _, err := cmaf.Init(m, []int{0}); err != nil {
			return
		}
		_, _ = cmaf.NewLayout(m, p, 0, []int{0})
	})
}
