package chunker

import "testing"

func TestGeometry(t *testing.T) {
	tests := []struct {
		size, chunk, off, n int64
		count               int64
		first, last         int64
		ok                  bool
	}{
		{size: 0, chunk: 10, off: 0, n: 5, count: 0},
		{size: 1, chunk: 10, off: 0, n: 1, count: 1, first: 0, last: 0, ok: true},
		{size: 10, chunk: 10, off: 0, n: 10, count: 1, first: 0, last: 0, ok: true},
		{size: 11, chunk: 10, off: 0, n: 11, count: 2, first: 0, last: 1, ok: true},
		{size: 25, chunk: 10, off: 9, n: 2, count: 3, first: 0, last: 1, ok: true},
		{size: 25, chunk: 10, off: 10, n: 10, count: 3, first: 1, last: 1, ok: true},
		{size: 25, chunk: 10, off: 20, n: 100, count: 3, first: 2, last: 2, ok: true},
		{size: 25, chunk: 10, off: 25, n: 1, count: 3},
		{size: 25, chunk: 10, off: 3, n: 0, count: 3},
		{size: 25, chunk: 10, off: -5, n: 6, count: 3, first: 0, last: 0, ok: true},
		{size: 1 << 40, chunk: 1 << 20, off: 1<<40 - 1, n: 1 << 62, count: 1 << 20, first: 1<<20 - 1, last: 1<<20 - 1, ok: true},
	}
	for _, tt := range tests {
		g := Geometry{Size: tt.size, ChunkSize: tt.chunk}
		if got := g.Count(); got != tt.count {
			t.Errorf("Geometry{%d,%d}.Count() = %d, want %d", tt.size, tt.chunk, got, tt.count)
		}
		first, last, ok := g.Span(tt.off, tt.n)
		if ok != tt.ok || (ok && (first != tt.first || last != tt.last)) {
			t.Errorf("Geometry{%d,%d}.Span(%d, %d) = %d, %d, %v; want %d, %d, %v",
				tt.size, tt.chunk, tt.off, tt.n, first, last, ok, tt.first, tt.last, tt.ok)
		}
	}
}

func TestBoundsTileTheFile(t *testing.T) {
	g := Geometry{Size: 1000003, ChunkSize: 65536}
	var next int64
	for i := range g.Count() {
		start, end := g.Bounds(i)
		if start != next || end <= start || end-start > g.ChunkSize {
			t.Fatalf("Bounds(%d) = [%d, %d), want start %d and 1..%d bytes", i, start, end, next, g.ChunkSize)
		}
		next = end
	}
	if next != g.Size {
		t.Fatalf("chunks end at %d, want %d", next, g.Size)
	}
}

// FuzzSpan checks that Span's chunks hold exactly the clipped range: the
// first chunk holds its first byte, the last chunk its last byte.
func FuzzSpan(f *testing.F) {
	f.Add(int64(25), int64(10), int64(9), int64(2))
	f.Add(int64(0), int64(1), int64(0), int64(1))
	f.Add(int64(1<<40), int64(1<<20), int64(1<<40-1), int64(1<<62))
	f.Add(int64(100), int64(7), int64(-50), int64(60))
	f.Fuzz(func(t *testing.T, size, chunk, off, n int64) {
		if size < 0 || chunk <= 0 || off < -1<<62 || n > 1<<62 || n < -1<<62 || off > 1<<62 {
			t.Skip()
		}
		g := Geometry{Size: size, ChunkSize: chunk}
		first, last, ok := g.Span(off, n)
		lo, hi := max(off, 0), min(off+n, size) // clipped [lo, hi)
		if ok != (lo < hi) {
			t.Fatalf("Span(%d, %d) ok = %v for clipped [%d, %d) of %d", off, n, ok, lo, hi, size)
		}
		if !ok {
			return
		}
		if first < 0 || first > last || last >= g.Count() {
			t.Fatalf("Span(%d, %d) = %d..%d, count %d", off, n, first, last, g.Count())
		}
		if s, e := g.Bounds(first); lo < s || lo >= e {
			t.Fatalf("first chunk %d = [%d, %d) does not hold byte %d", first, s, e, lo)
		}
		if s, e := g.Bounds(last); hi-1 < s || hi-1 >= e {
			t.Fatalf("last chunk %d = [%d, %d) does not hold byte %d", last, s, e, hi-1)
		}
	})
}
