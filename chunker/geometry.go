package chunker

// Geometry is the chunk layout of one file: chunk i covers the bytes
// [i*ChunkSize, min((i+1)*ChunkSize, Size)).
//
// The zero ChunkSize is invalid; callers build a Geometry from a validated
// chunk size.
type Geometry struct {
	Size      int64 // file size in bytes, >= 0
	ChunkSize int64 // chunk size in bytes, > 0
}

// Count returns the number of chunks; an empty file has none.
func (g Geometry) Count() int64 {
	if g.Size <= 0 {
		return 0
	}
	return (g.Size-1)/g.ChunkSize + 1
}

// Index returns the index of the chunk holding byte off. off must be in
// [0, Size).
func (g Geometry) Index(off int64) int64 {
	return off / g.ChunkSize
}

// Bounds returns the byte range [start, end) of chunk i.
func (g Geometry) Bounds(i int64) (start, end int64) {
	start = i * g.ChunkSize
	end = min(start+g.ChunkSize, g.Size)
	return start, end
}

// Span returns the first and last chunk indices that hold any of the n bytes
// starting at off, after clipping the range to the file. ok is false when
// the clipped range is empty.
func (g Geometry) Span(off, n int64) (first, last int64, ok bool) {
	if off < 0 {
		n += off
		off = 0
	}
	if n <= 0 || off >= g.Size {
		return 0, 0, false
	}
	end := g.Size // exclusive; written to avoid overflow of off+n
	if n < g.Size-off {
		end = off + n
	}
	return g.Index(off), g.Index(end - 1), true
}
