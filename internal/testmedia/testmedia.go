// Package testmedia makes the media that tests serve: pseudo-random bytes
// that a seed determines, files of them in a media directory, and the
// committed sample videos in testdata/media. It also reads pictures back
// for tests to compare: a video's frame, a rectangle of an image, and how
// close two are (picture.go).
package testmedia

import (
	"encoding/binary"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// Bytes returns n pseudo-random bytes; the same seed gives the same bytes.
// It draws eight bytes at a time, so that it stays fast under -race.
func Bytes(n int, seed uint64) []byte {
	b := make([]byte, n+7)
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	for i := 0; i < n; i += 8 {
		binary.LittleEndian.PutUint64(b[i:], r.Uint64())
	}
	return b[:n:n]
}

// Write writes data as name (slash-separated, relative) under dir, making
// the directories it needs.
func Write(tb testing.TB, dir, name string, data []byte) {
	tb.Helper()
	p := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		tb.Fatal(err)
	}
}

// WriteRandom writes Bytes(n, seed) as name under dir and returns them.
func WriteRandom(tb testing.TB, dir, name string, n int, seed uint64) []byte {
	tb.Helper()
	b := Bytes(n, seed)
	Write(tb, dir, name, b)
	return b
}

// Dir returns a new temporary directory holding a file of random bytes
// for each name and size in sizes; each file has its own bytes.
func Dir(tb testing.TB, sizes map[string]int) string {
	tb.Helper()
	dir := tb.TempDir()
	seed := uint64(1)
	for name, n := range sizes {
		WriteRandom(tb, dir, name, n, seed)
		seed++
	}
	return dir
}

// SampleNames returns the names of the committed sample videos in
// SamplesDir (made by testdata/make-samples.sh).
func SampleNames() []string {
	return []string{"sample-faststart.mp4", "sample-moov-at-end.mp4", "sample.webm"}
}

// SamplesDir returns the absolute path of testdata/media, the directory of
// the sample videos, from any package's tests.
func SamplesDir(tb testing.TB) string {
	tb.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		tb.Fatal("testmedia: no source path to find testdata/media from")
	}
	return filepath.Join(filepath.Dir(file), "..", "..", "testdata", "media")
}

// Sample returns the bytes of the named sample video.
func Sample(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(SamplesDir(tb), name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}
