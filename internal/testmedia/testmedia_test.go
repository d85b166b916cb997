package testmedia

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestBytes(t *testing.T) {
	for _, n := range []int{0, 1, 7, 8, 9, 1000} {
		a, b, c := Bytes(n, 1), Bytes(n, 1), Bytes(n, 2)
		if len(a) != n || cap(a) != n {
			t.Fatalf("Bytes(%d): len %d cap %d", n, len(a), cap(a))
		}
		if !bytes.Equal(a, b) {
			t.Errorf("Bytes(%d, 1) differs between calls", n)
		}
		if n >= 8 && bytes.Equal(a, c) {
			t.Errorf("Bytes(%d, 1) = Bytes(%d, 2)", n, n)
		}
	}
	if b := Bytes(1<<16, 3); bytes.Count(b, []byte{0}) > 1<<10 {
		t.Errorf("Bytes(64 KiB) has %d zero bytes: not random", bytes.Count(b, []byte{0}))
	}
}

func TestDirAndWrite(t *testing.T) {
	dir := Dir(t, map[string]int{"a.mp4": 100, "sub/b.mp4": 100})
	a, errA := os.ReadFile(filepath.Join(dir, "a.mp4"))
	b, errB := os.ReadFile(filepath.Join(dir, "sub", "b.mp4"))
	if errA != nil || errB != nil || len(a) != 100 || len(b) != 100 {
		t.Fatalf("Dir's files: %d bytes (%v), %d bytes (%v); want 100 each", len(a), errA, len(b), errB)
	}
	if bytes.Equal(a, b) {
		t.Error("two files of Dir have the same bytes")
	}
}

func TestSamples(t *testing.T) {
	for _, name := range SampleNames() {
		if b := Sample(t, name); len(b) < 1000 {
			t.Errorf("sample %s: %d bytes", name, len(b))
		}
	}
	if !filepath.IsAbs(SamplesDir(t)) {
		t.Errorf("SamplesDir %q is not absolute", SamplesDir(t))
	}
}
