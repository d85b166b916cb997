package cachewarm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/dustin/go-humanize"

	"github.com/reelcache/reelcache/chunker"
	"github.com/reelcache/reelcache/chunker/store"
)

// FileStatus is what Redis holds of one file's current version.
type FileStatus struct {
	Name   string `json:"path"`
	Size   int64  `json:"size"`
	Chunks int64  `json:"chunks_total"`
	Cached int64  `json:"chunks_cached"`
	Map    []bool `json:"-"`
	// Previews says whether the version has seek previews ("yes (N
	// tiles)", "no", "none: why"); empty when not asked.
	Previews string `json:"previews,omitempty"`
}

// Status reports, per file, which chunks of its current version are cached.
// A file changed since it was warmed shows as uncached: its version, and so
// its keys, are new.
func Status(ctx context.Context, c *chunker.Cache, names []string) ([]FileStatus, error) {
	out := make([]FileStatus, 0, len(names))
	for _, name := range names {
		e, found, err := c.ChunkMap(ctx, name)
		if err != nil {
			return out, fmt.Errorf("status of %s: %w", name, err)
		}
		out = append(out, FileStatus{Name: name, Size: e.Size, Chunks: e.Chunks, Cached: e.Cached, Map: found})
	}
	return out, nil
}

// WriteStatus prints one line per file: cached/total chunks, bytes, and a
// chunk map of at most width cells, each '#' (all its chunks cached), '+'
// (some) or '.' (none). Names are printed as DisplayName shows them.
func WriteStatus(w io.Writer, files []FileStatus, width int) error {
	names := make([]string, len(files))
	nameW := 0
	for i, f := range files {
		names[i] = DisplayName(f.Name)
		nameW = max(nameW, utf8.RuneCountInString(names[i]))
	}
	for i, f := range files {
		pad := nameW - utf8.RuneCountInString(names[i])
		previews := ""
		if f.Previews != "" {
			previews = "  previews: " + f.Previews
		}
		_, err := fmt.Fprintf(w, "%s%*s  %5d/%-5d  %9s  [%s]%s\n", names[i], pad, "", f.Cached, f.Chunks,
			humanize.IBytes(uint64(f.Size)), ChunkMap(f.Map, width), previews)
		if err != nil {
			return err
		}
	}
	return nil
}

// DisplayName returns a file name as a terminal may show it: unchanged when
// every rune is printable, otherwise quoted as a Go string ("a\x1b[2J.mp4",
// "two\nlines.mp4"), so that a name cannot move the cursor, clear the
// screen, reorder text (bidi overrides) or forge lines of output (issue 13).
// A name starting with a double quote is quoted too, so a quoted name in
// the output is never a literal one.
func DisplayName(name string) string {
	if strings.HasPrefix(name, `"`) || !isPrintable(name) {
		return strconv.Quote(name)
	}
	return name
}

// EscapeControl returns s with each rune that is not printable (control
// and format characters, invalid UTF-8) written as a Go escape (\x1b, \n,
// \u202e) and the rest unchanged: for messages that may quote a file name.
func EscapeControl(s string) string {
	if isPrintable(s) {
		return s
	}
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == utf8.RuneError && !strings.HasPrefix(s[i:], string(utf8.RuneError)):
			fmt.Fprintf(&b, `\x%02x`, s[i]) // an invalid byte
		case strconv.IsPrint(r):
			b.WriteRune(r)
		default:
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		}
	}
	return b.String()
}

// isPrintable reports whether s is valid UTF-8 of printable runes (letters,
// marks, numbers, punctuation, symbols and the ASCII space).
func isPrintable(s string) bool {
	for _, r := range s {
		if !strconv.IsPrint(r) { // invalid UTF-8 decodes as U+FFFD, printable
			return false
		}
	}
	return utf8.ValidString(s)
}

// ChunkMap draws found in at most width cells.
func ChunkMap(found []bool, width int) string {
	n := len(found)
	if n == 0 || width <= 0 {
		return ""
	}
	cells := min(n, width)
	var b strings.Builder
	for c := range cells {
		lo, hi := c*n/cells, (c+1)*n/cells
		var k int
		for _, ok := range found[lo:hi] {
			if ok {
				k++
			}
		}
		switch {
		case k == hi-lo:
			b.WriteByte('#')
		case k > 0:
			b.WriteByte('+')
		default:
			b.WriteByte('.')
		}
	}
	return b.String()
}

// PurgeFiles deletes every chunk of the current version of each named file,
// tells every serving instance to drop those chunks from its local tier
// (see store.Store.AnnouncePurge), and returns how many keys existed. The
// announcement is made even when a deletion failed part way: what left
// Redis must not live on in a tier.
func PurgeFiles(ctx context.Context, c *chunker.Cache, names []string) (int64, error) {
	var versions []string
	total, err := purgeFiles(ctx, c, names, &versions)
	if len(versions) > 0 {
		if aerr := c.Store().AnnouncePurge(context.WithoutCancel(ctx), versions); aerr != nil {
			err = errors.Join(err, fmt.Errorf("chunks deleted, but instances' local tiers were not told: %w", aerr))
		}
	}
	return total, err
}

func purgeFiles(ctx context.Context, c *chunker.Cache, names []string, versions *[]string) (int64, error) {
	var total int64
	for _, name := range names {
		f, err := c.Open(ctx, name)
		if err != nil {
			return total, fmt.Errorf("purge %s: %w", name, err)
		}
		*versions = append(*versions, f.Version())
		// The file's metadata (an MP4 index, previews) goes with its
		// chunks.
		d, err := c.Store().PurgeMeta(ctx, []string{f.Version()})
		total += d
		if err != nil {
			f.Close()
			return total, fmt.Errorf("purge %s: %w", name, err)
		}
		n := f.Geometry().Count()
		keys := make([]string, 0, min(n, 1000))
		for i := range n {
			keys = append(keys, f.Key(i))
			if len(keys) == 1000 || i == n-1 {
				d, err := c.Store().Delete(ctx, keys)
				total += d
				if err != nil {
					f.Close()
					return total, fmt.Errorf("purge %s: %w", name, err)
				}
				keys = keys[:0]
			}
		}
		f.Close()
	}
	return total, nil
}

// PurgeAll deletes every chunk and metadata key under the store's prefix, found with SCAN
// on every master, tells every serving instance to empty its local tier, and
// returns how many keys it deleted.
func PurgeAll(ctx context.Context, s *store.Store) (int64, error) {
	var total int64
	err := s.Scan(ctx, func(keys []string) error {
		n, err := s.Delete(ctx, keys)
		total += n
		return err
	})
	if err == nil {
		var n int64
		n, err = s.PurgeMeta(ctx, nil)
		total += n
	}
	if aerr := s.AnnouncePurge(context.WithoutCancel(ctx), nil); aerr != nil {
		err = errors.Join(err, fmt.Errorf("chunks deleted, but instances' local tiers were not told: %w", aerr))
	}
	return total, err
}
