package faststart

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/reelcache/reelcache/chunker"
	"github.com/reelcache/reelcache/internal/faststarttest"
)

// memFile is a File over bytes.
type memFile struct {
	*bytes.Reader
	version string
}

func (m memFile) WriteRange(w io.Writer, off, n int64) (int64, error) {
	return io.Copy(w, io.NewSectionReader(m.Reader, off, n))
}

func (m memFile) Version() string { return m.version }

func newMem(data []byte) memFile { return memFile{bytes.NewReader(data), "v1"} }

// readView returns all the bytes of v, by ReadAt and by WriteRange, failing
// when the two differ.
func readView(t *testing.T, v *View) []byte {
	t.Helper()
	a := make([]byte, v.Size())
	if n, err := v.ReadAt(a, 0); n != len(a) || (err != nil && err != io.EOF) {
		t.Fatalf("ReadAt: %d, %v", n, err)
	}
	var b bytes.Buffer
	if n, err := v.WriteRange(&b, 0, v.Size()); n != v.Size() || err != nil {
		t.Fatalf("WriteRange: %d, %v", n, err)
	}
	if !bytes.Equal(a, b.Bytes()) {
		t.Fatal("ReadAt and WriteRange disagree")
	}
	return a
}

// TestBuild: ffmpeg's moov-at-end MP4 and MOV get a view with the moov
// first that decodes to the same frames and equals the independent
// reference rewrite; files with nothing to move get no plan.
func TestBuild(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		args []string
		move bool
		co64 bool // with 64-bit chunk offsets
	}{
		{"end.mp4", nil, true, false},
		{"end.mov", nil, true, false},
		{"co64.mp4", nil, true, true},
		{"fast.mp4", []string{"-movflags", "+faststart"}, false, false},
		{"frag.mp4", []string{"-movflags", "+frag_keyframe+empty_moov"}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := faststarttest.Movie(t, dir, tt.name, 4, tt.args...)
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if tt.co64 {
				data = faststarttest.WithCo64(t, data)
				if !bytes.Contains(data, []byte("co64")) || bytes.Contains(data, []byte("stco")) {
					t.Fatal("WithCo64 left stco tables")
				}
				if err := os.WriteFile(path, data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			p, err := Build(t.Context(), newMem(data), int64(len(data)), DefaultMaxMoov)
			if err != nil {
				t.Fatalf("Build: %v", err)
			}
			if (p != nil) != tt.move {
				t.Fatalf("plan %v, want one: %v", p != nil, tt.move)
			}
			if !tt.move {
				return
			}
			got := readView(t, NewView(newMem(data), p, "e"))
			if len(got) != len(data) {
				t.Fatalf("view is %d bytes, the file %d", len(got), len(data))
			}
			if filepath.Ext(tt.name) == ".mp4" {
				if ref := faststarttest.Reference(t, data); !bytes.Equal(got, ref) {
					t.Fatal("view differs from the reference rewrite")
				}
			}
			out := filepath.Join(t.TempDir(), "view"+filepath.Ext(tt.name))
			if err := os.WriteFile(out, got, 0o644); err != nil {
				t.Fatal(err)
			}
			boxes := faststarttest.TopBoxes(t, out)
			if i, j := slices.Index(boxes, "moov"), slices.Index(boxes, "mdat"); i < 0 || j < 0 || i > j {
				t.Fatalf("view's top-level boxes %v: moov not before mdat", boxes)
			}
			if a, b := faststarttest.FrameHashes(t, path), faststarttest.FrameHashes(t, out); !slices.Equal(a, b) {
				t.Fatalf("view decodes to %d frames differing from the original's %d", len(b), len(a))
			}
		})
	}
}

// TestBuildRefuses: a moov over MaxMoov, a truncated file and garbage are
// served as they are (no plan), with the refusal said.
func TestBuildRefuses(t *testing.T) {
	path := faststarttest.Movie(t, t.TempDir(), "end.mp4", 2)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Build(t.Context(), newMem(data), int64(len(data)), 100)
	if p != nil || !errors.Is(err, ErrTooBig) {
		t.Errorf("small MaxMoov: plan %v, err %v; want ErrTooBig", p != nil, err)
	}
	for _, n := range []int{len(data) - 1, len(data) / 2, 7, 0} {
		p, err := Build(t.Context(), newMem(data[:n]), int64(n), DefaultMaxMoov)
		if p != nil || err != nil {
			t.Errorf("truncated to %d: plan %v, err %v; want none", n, p != nil, err)
		}
	}
	// A moov whose stco runs past its parent: malformed.
	bad := bytes.Clone(data)
	i := bytes.LastIndex(bad, []byte("stco"))
	bad[i-4] = 0x7f // the box size
	if p, err := Build(t.Context(), newMem(bad), int64(len(bad)), DefaultMaxMoov); p != nil || !errors.Is(err, ErrMalformed) {
		t.Errorf("damaged stco: plan %v, err %v; want ErrMalformed", p != nil, err)
	}
}

// metaMap is an in-memory Meta that counts its calls.
type metaMap struct {
	m          map[string][]byte
	gets, sets int
	down       bool
}

func (m *metaMap) Meta(_ context.Context, version, kind string) ([]byte, error) {
	m.gets++
	if m.down {
		return nil, chunker.ErrUnavailable
	}
	v, ok := m.m[version+":"+kind]
	if !ok {
		return nil, chunker.ErrNoMeta
	}
	return v, nil
}

func (m *metaMap) SetMeta(_ context.Context, version, kind string, val []byte) error {
	m.sets++
	if m.down {
		return chunker.ErrUnavailable
	}
	m.m[version+":"+kind] = bytes.Clone(val)
	return nil
}

// TestViewsShare: the plan one instance builds is stored and used by
// another instance without reading the moov; the ETag names the version
// and is not the file's.
func TestViewsShare(t *testing.T) {
	path := faststarttest.Movie(t, t.TempDir(), "end.mp4", 2)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	meta := &metaMap{m: map[string][]byte{}}
	a := New(Options{Meta: meta})
	va, err := a.View(t.Context(), newMem(data))
	if err != nil || va == nil {
		t.Fatalf("View: %v, %v", va, err)
	}
	if va.ETag() == "v1" || va.ETag() == "" {
		t.Errorf("ETag %q: want one of its own", va.ETag())
	}
	if meta.sets != 1 {
		t.Fatalf("%d SetMeta, want 1", meta.sets)
	}
	// The second instance's file has its moov zeroed: only the stored plan
	// can give the same view.
	blind := bytes.Clone(data)
	clear(blind[va.p.MoovAt+8 : va.p.MoovAt+int64(len(va.p.Moov))])
	b := New(Options{Meta: meta})
	vb, err := b.View(t.Context(), newMem(blind))
	if err != nil || vb == nil {
		t.Fatalf("View from the stored plan: %v, %v", vb, err)
	}
	if !bytes.Equal(readView(t, va), readView(t, vb)) {
		t.Error("views from the built and the stored plan differ")
	}
	// Redis down: each instance builds and keeps its own.
	meta.down = true
	c := New(Options{Meta: meta})
	if v, err := c.View(t.Context(), newMem(data)); err != nil || v == nil {
		t.Fatalf("View with the store down: %v, %v", v, err)
	}
	gets := meta.gets
	if v, err := c.View(t.Context(), newMem(data)); err != nil || v == nil || meta.gets != gets {
		t.Errorf("second View: %v, %v, %d more Meta calls; want the plan from memory", v, err, meta.gets-gets)
	}
}

// sparseFile is a File of size bytes, zero but for parts.
type sparseFile struct {
	size  int64
	parts map[int64][]byte // offset -> bytes
}

func (s sparseFile) Size() int64 { return s.size }

func (s sparseFile) ReadAt(p []byte, off int64) (int, error) {
	if off >= s.size {
		return 0, io.EOF
	}
	n := int(min(int64(len(p)), s.size-off))
	clear(p[:n])
	for at, b := range s.parts {
		lo, hi := max(at, off), min(at+int64(len(b)), off+int64(n))
		if lo < hi {
			copy(p[lo-off:hi-off], b[lo-at:hi-at])
		}
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (s sparseFile) WriteRange(w io.Writer, off, n int64) (int64, error) {
	return io.Copy(w, io.NewSectionReader(s, off, n))
}

// TestBuildRefusesOverflow: in a file past 4 GiB, a 32-bit chunk offset
// that moving the moov would push past 4 GiB refuses the rewrite.
func TestBuildRefusesOverflow(t *testing.T) {
	path := faststarttest.Movie(t, t.TempDir(), "end.mp4", 1)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	top, err := scan(t.Context(), newMem(data), int64(len(data)))
	if err != nil || top.moovAt < 0 {
		t.Fatalf("scan: %+v %v", top, err)
	}
	moov := bytes.Clone(data[top.moovAt : top.moovAt+top.moovSize])
	i := bytes.Index(moov, []byte("stco"))
	binary.BigEndian.PutUint32(moov[i+12:], math.MaxUint32-100) // the first entry, inside the mdat
	const moovAt = 5 << 30
	mdat := binary.BigEndian.AppendUint32(nil, 1)
	mdat = append(mdat, "mdat"...)
	mdat = binary.BigEndian.AppendUint64(mdat, uint64(moovAt-top.mdatAt))
	f := sparseFile{size: moovAt + int64(len(moov)), parts: map[int64][]byte{
		0: data[:top.mdatAt], top.mdatAt: mdat, moovAt: moov,
	}}
	p, err := Build(t.Context(), f, f.size, DefaultMaxMoov)
	if p != nil || !errors.Is(err, ErrUnsupported) {
		t.Fatalf("plan %v, err %v; want ErrUnsupported", p != nil, err)
	}
	// The same file with the entry in range is moved.
	binary.BigEndian.PutUint32(moov[i+12:], uint32(top.mdatAt+16))
	if p, err := Build(t.Context(), f, f.size, DefaultMaxMoov); p == nil || err != nil {
		t.Fatalf("in range: plan %v, err %v; want one", p != nil, err)
	}
}
