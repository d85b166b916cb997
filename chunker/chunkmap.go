package chunker

import (
	"context"
	"fmt"
)

// ChunkMap reports, for the current version of name, which chunks are in
// Redis, asking in one pipeline. When the cache is off or Redis fails it
// returns the Entry with an error wrapping ErrUnavailable.
//
// It asks about every chunk, through the media path's breaker: it is for
// the operator's `cache status`. The HTTP API uses Summary.
func (c *Cache) ChunkMap(ctx context.Context, name string) (Entry, []bool, error) {
	f, err := c.Open(ctx, name)
	if err != nil {
		return Entry{}, nil, err
	}
	defer f.Close()
	e := Entry{Name: name, Size: f.Size(), ModTime: f.ModTime(), Version: f.version, ChunkSize: c.chunkSize, Chunks: f.geo.Count(), Cached: -1}
	if !c.Enabled() {
		return e, nil, ErrUnavailable
	}
	found, err := c.store.Exists(ctx, f.keys(0, e.Chunks-1))
	if err != nil {
		return e, nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	e.Cached = 0
	for _, ok := range found {
		if ok {
			e.Cached++
		}
	}
	return e, found, nil
}

// Cell is what the cache holds of the chunks one cell of a Summary covers.
type Cell uint8

const (
	CellNone Cell = iota // none of the chunks asked about is cached
	CellSome             // some are
	CellAll              // all are
)

// Summary is a bounded chunk map of one file: at most MaxSummaryKeys chunks
// are asked about, whatever the file's size.
type Summary struct {
	Entry // Cached is exact, or an estimate when Sampled; -1 when unknown

	// Cells cover the file in order, CellChunks chunks each (the last may
	// cover fewer). Nil when the cache state is unknown.
	Cells      []Cell
	CellChunks int64
	// Sampled is set when the file has more chunks than MaxSummaryKeys:
	// then each cell is judged by SummarySamples chunks spread over it,
	// and Cached is extrapolated from all the samples.
	Sampled bool
}

// Bounds of Summary.
const (
	// MaxSummaryKeys is the most chunks one Summary asks about. A file
	// with no more chunks gets one exact cell per chunk.
	MaxSummaryKeys = 4096
	// SummarySamples is how many chunks judge each cell of a larger file,
	// which gets MaxSummaryKeys/SummarySamples cells.
	SummarySamples = 4
)

// Summary reports what the cache (the local tier, then Redis) holds of the
// current version of name, bounded (issue 13 item 5): at most
// MaxSummaryKeys existence checks, asked with Store.Probe, which never
// counts toward the media path's breaker, has its own timeout and is
// skipped while the breaker is open. When the cache is off or Redis does
// not answer, it returns the Summary without cells and an error wrapping
// ErrUnavailable. Errors of Open are returned as they are.
func (c *Cache) Summary(ctx context.Context, name string) (Summary, error) {
	f, err := c.Open(ctx, name)
	if err != nil {
		return Summary{}, err
	}
	defer f.Close()
	n := f.geo.Count()
	s := Summary{
		Entry:      Entry{Name: name, Size: f.Size(), ModTime: f.ModTime(), Version: f.version, ChunkSize: c.chunkSize, Chunks: n, Cached: -1},
		CellChunks: 1,
	}
	perCell := 1
	if n > MaxSummaryKeys {
		s.Sampled, perCell = true, SummarySamples
		cells := int64(MaxSummaryKeys / SummarySamples)
		s.CellChunks = (n + cells - 1) / cells
	}
	if c.store == nil {
		return s, ErrUnavailable
	}
	var keys []string
	var owner []int // the cell each key judges
	for cell, first := 0, int64(0); first < n; cell, first = cell+1, first+s.CellChunks {
		for _, i := range sample(first, min(n, first+s.CellChunks), perCell) {
			keys, owner = append(keys, f.Key(i)), append(owner, cell)
		}
	}
	found, err := c.probeLocal(ctx, keys)
	if err != nil {
		return s, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	ncells := (n + s.CellChunks - 1) / s.CellChunks
	present := make([]int, ncells)
	asked := make([]int, ncells)
	hits := 0
	for k, ok := range found {
		asked[owner[k]]++
		if ok {
			present[owner[k]]++
			hits++
		}
	}
	s.Cells = make([]Cell, ncells)
	for i := range s.Cells {
		switch present[i] {
		case 0:
			s.Cells[i] = CellNone
		case asked[i]:
			s.Cells[i] = CellAll
		default:
			s.Cells[i] = CellSome
		}
	}
	s.Cached = int64(hits)
	if s.Sampled && len(keys) > 0 {
		s.Cached = (int64(hits)*n + int64(len(keys))/2) / int64(len(keys))
	}
	return s, nil
}
