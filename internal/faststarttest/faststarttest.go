// Package faststarttest helps the tests of fast-start views: test movies
// made by ffmpeg, their decoded frame hashes, their top-level boxes, and a
// reference rewrite built independently of package faststart.
package faststarttest

import (
	"bytes"
	"fmt"
	"math"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/Eyevinn/mp4ff/mp4"

	"github.com/reelcache/reelcache/internal/redistest"
)

// Movie makes a movie of secs seconds with ffmpeg in dir: a 320x180 test
// pattern in H.264 with B-frames (so edit lists and composition offsets
// are there) and AAC, with the moov at the end (ffmpeg's default) unless
// args say otherwise (e.g. "-movflags", "+faststart"). The extension of
// name picks the container (.mp4, .mov). It returns the file's path.
func Movie(tb testing.TB, dir, name string, secs int, args ...string) string {
	tb.Helper()
	redistest.Require(tb, "ffmpeg")
	out := filepath.Join(dir, name)
	cmd := []string{"-hide_banner", "-loglevel", "error", "-y",
		"-f", "lavfi", "-i", fmt.Sprintf("testsrc2=size=320x180:rate=24:duration=%d", secs),
		"-f", "lavfi", "-i", fmt.Sprintf("sine=frequency=440:beep_factor=4:sample_rate=48000:duration=%d", secs),
		"-threads", "1", "-c:v", "libx264", "-preset", "veryfast", "-profile:v", "main", "-bf", "2", "-g", "48", "-pix_fmt", "yuv420p",
		"-x264-params", "threads=1", "-c:a", "aac", "-b:a", "64k"}
	cmd = append(append(cmd, args...), out)
	if b, err := exec.Command("ffmpeg", cmd...).CombinedOutput(); err != nil {
		tb.Fatalf("ffmpeg %s: %v: %s", name, err, b)
	}
	return out
}

// FrameHashes returns the hashes of every decoded audio and video frame
// of input (a path or URL), in order, as ffmpeg's framemd5 lists them
// (stream index and hash only).
func FrameHashes(tb testing.TB, input string) []string {
	tb.Helper()
	redistest.Require(tb, "ffmpeg")
	out, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-i", input, "-f", "framemd5", "-").Output()
	if err != nil {
		tb.Fatalf("ffmpeg framemd5 %s: %v", input, err)
	}
	var hashes []string
	for line := range strings.SplitSeq(string(out), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, ",")
		hashes = append(hashes, strings.TrimSpace(f[0])+" "+strings.TrimSpace(f[len(f)-1]))
	}
	if len(hashes) == 0 {
		tb.Fatalf("ffmpeg framemd5 %s: no frames", input)
	}
	return hashes
}

// TopBoxes returns the types of the top-level boxes of an MP4 or MOV
// (a path or URL), in order, as ffprobe's trace reads them.
func TopBoxes(tb testing.TB, input string) []string {
	tb.Helper()
	redistest.Require(tb, "ffprobe")
	out, err := exec.Command("ffprobe", "-v", "trace", "-i", input).CombinedOutput()
	if err != nil {
		tb.Fatalf("ffprobe -v trace %s: %v", input, err)
	}
	var types []string
	for line := range strings.SplitSeq(string(out), "\n") {
		_, rest, ok := strings.Cut(line, "type:'")
		if !ok || !strings.Contains(rest, "parent:'root'") {
			continue
		}
		typ, _, _ := strings.Cut(rest, "'")
		types = append(types, typ)
	}
	return types
}

// Reference rewrites a moov-at-end MP4 with its moov first the way the
// feature promises, built apart from package faststart and with another
// library: mp4ff decodes the whole file; each track's stco/co64 table,
// found in the moov's bytes by its encoding, is replaced by the table with
// every entry at or past the first mdat moved by the moov's size; the moov
// goes just before the first mdat. (mp4ff cannot decode QuickTime sound
// descriptions: MP4 only.)
func Reference(tb testing.TB, data []byte) []byte {
	tb.Helper()
	f := decode(tb, data)
	var pos, firstMdat, moovAt uint64
	firstMdat = math.MaxUint64
	for _, b := range f.Children {
		switch b.Type() {
		case "mdat":
			firstMdat = min(firstMdat, pos)
		case "moov":
			moovAt = pos
		}
		pos += b.Size()
	}
	moovSize := f.Moov.Size()
	if firstMdat > moovAt || moovAt+moovSize != uint64(len(data)) {
		tb.Fatalf("reference: want ... mdat ... moov, have boxes up to %d, mdat %d, moov %d", pos, firstMdat, moovAt)
	}
	moov := bytes.Clone(data[moovAt:])
	replace := func(b mp4.Box, patch func()) {
		var old, neu bytes.Buffer
		b.Encode(&old)
		patch()
		b.Encode(&neu)
		if i := bytes.Index(moov, old.Bytes()); i < 0 || bytes.LastIndex(moov, old.Bytes()) != i || neu.Len() != old.Len() {
			tb.Fatalf("reference: %s not found once in the moov", b.Type())
		} else {
			copy(moov[i:], neu.Bytes())
		}
	}
	for _, trak := range f.Moov.Traks {
		stbl := trak.Mdia.Minf.Stbl
		if stco := stbl.Stco; stco != nil {
			replace(stco, func() {
				for i, o := range stco.ChunkOffset {
					if uint64(o) >= firstMdat {
						stco.ChunkOffset[i] = o + uint32(moovSize)
					}
				}
			})
		}
		if co64 := stbl.Co64; co64 != nil {
			replace(co64, func() {
				for i, o := range co64.ChunkOffset {
					if o >= firstMdat {
						co64.ChunkOffset[i] = o + moovSize
					}
				}
			})
		}
	}
	out := slices.Concat(data[:firstMdat], moov, data[firstMdat:moovAt])
	if len(out) != len(data) {
		tb.Fatalf("reference: %d bytes, the file has %d", len(out), len(data))
	}
	return out
}

// WithCo64 returns a moov-at-end MP4 with its stco tables written as
// co64 (64-bit) ones, as files past 4 GiB have them, with mp4ff: the moov,
// last in the file, grows and nothing before it moves.
func WithCo64(tb testing.TB, data []byte) []byte {
	tb.Helper()
	f := decode(tb, data)
	if f.Children[len(f.Children)-1].Type() != "moov" {
		tb.Fatal("WithCo64: the moov is not last")
	}
	for _, trak := range f.Moov.Traks {
		stbl := trak.Mdia.Minf.Stbl
		if stbl.Stco == nil {
			continue
		}
		co64 := &mp4.Co64Box{}
		for _, o := range stbl.Stco.ChunkOffset {
			co64.ChunkOffset = append(co64.ChunkOffset, uint64(o))
		}
		for i, c := range stbl.Children {
			if c == stbl.Stco {
				stbl.Children[i] = co64
			}
		}
		stbl.Stco, stbl.Co64 = nil, co64
	}
	var out bytes.Buffer
	for _, b := range f.Children {
		if err := b.Encode(&out); err != nil {
			tb.Fatalf("encode %s: %v", b.Type(), err)
		}
	}
	return out.Bytes()
}

// decode decodes a whole MP4 with mp4ff, failing the test if it cannot.
func decode(tb testing.TB, data []byte) *mp4.File {
	tb.Helper()
	f, err := mp4.DecodeFile(bytes.NewReader(data))
	if err != nil {
		tb.Fatalf("decode mp4: %v", err)
	}
	return f
}
