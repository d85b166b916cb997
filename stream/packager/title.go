package packager

import (
	"context"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/reelcache/reelcache/chunker"
	"github.com/reelcache/reelcache/stream/cmaf"
	"github.com/reelcache/reelcache/stream/mp4index"
)

// maxRenditions bounds the renditions of a directory title.
const maxRenditions = 16

// rendition is one file of a title, indexed and planned.
type rendition struct {
	name string // relative to the media root
	rel  string // relative to the title ("" for a file title)
	m    *mp4index.Media
	plan *cmaf.Plan // nil for a fragmented source

	version string
}

// base is the prefix of r's URLs in its title's manifest, relative to the
// manifest: "" for a file title, "./REL/" (REL escaped) for a rendition of
// a directory.
func (r *rendition) base() string {
	if r.rel == "" {
		return ""
	}
	return "./" + escape(r.rel) + "/"
}

// plan returns the segmentation of r, made once per version.
func (h *Handler) plan(r *rendition) (*cmaf.Plan, error) {
	if p, ok := h.plans.get(r.version); ok {
		return p, nil
	}
	p, err := cmaf.NewPlan(r.m, h.target)
	if err != nil {
		return nil, err
	}
	h.plans.put(r.version, p, int64(len(p.Segments))*int64(16*len(r.m.Tracks)+40)+64)
	return p, nil
}

// layout returns segment n of r for the given tracks, laid out once.
func (h *Handler) layout(r *rendition, n int, tracks []int) (*cmaf.Layout, error) {
	key := fmt.Sprint(r.version, "/", n, "/", tracks)
	if l, ok := h.layouts.get(key); ok {
		return l, nil
	}
	l, err := cmaf.NewLayout(r.m, r.plan, n, tracks)
	if err != nil {
		return nil, err
	}
	h.layouts.put(key, l, int64(len(l.Header)+16*len(l.Spans)+64))
	return l, nil
}

// open opens name and loads its index. The caller closes the File.
func (h *Handler) open(ctx context.Context, name string) (*chunker.File, *rendition, error) {
	f, err := h.files.Open(ctx, name)
	if err != nil {
		return nil, nil, err
	}
	m, err := h.loader.Load(ctx, f)
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	r := &rendition{name: name, m: m, version: f.Version()}
	if !m.Fragmented {
		if r.plan, err = h.plan(r); err != nil {
			f.Close()
			return nil, nil, err
		}
	}
	return f, r, nil
}

// renditions returns the renditions of a title: the file itself, or the
// packaged files directly in the directory, in name order. A directory
// file that cannot be packaged is left out (and logged); none at all is
// the first one's error, or fs.ErrNotExist.
func (h *Handler) renditions(ctx context.Context, title string, file bool) ([]*rendition, error) {
	if file {
		f, r, err := h.open(ctx, title)
		if err != nil {
			return nil, err
		}
		f.Close()
		return []*rendition{r}, nil
	}
	if otherMedia[strings.ToLower(path.Ext(title))] {
		// A video of another kind (clip.webm): say so, not 404. Only
		// media extensions: whether some other file exists is no one's
		// business.
		if f, err := h.files.Open(ctx, title); err == nil {
			f.Close()
			return nil, fmt.Errorf("%s: %w", path.Ext(title), mp4index.ErrNotMP4)
		}
	}
	entries, err := h.files.List(ctx, func(name string) bool {
		return path.Dir(name) == title && h.isFile(name) && !strings.HasPrefix(path.Base(name), ".")
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name < entries[j].Name })
	if len(entries) > maxRenditions {
		entries = entries[:maxRenditions]
	}
	var (
		out   []*rendition
		first error
	)
	for _, e := range entries {
		f, r, err := h.open(ctx, e.Name)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			first = cmp(first, fmt.Errorf("%s: %w", path.Base(e.Name), err))
			h.log.Warn("packager: rendition left out", "path", e.Name, "err", err)
			continue
		}
		f.Close()
		r.rel = path.Base(e.Name)
		out = append(out, r)
	}
	if len(out) == 0 {
		if first == nil {
			first = fmt.Errorf("packager: no renditions in %q: %w", title, errNoTitle)
		}
		return nil, first
	}
	return out, nil
}

var errNoTitle = errors.New("no such title")

// otherMedia are the extensions of media files the packager does not carry.
var otherMedia = map[string]bool{".webm": true, ".mkv": true, ".ogv": true, ".ogg": true, ".ts": true, ".avi": true, ".flv": true, ".wmv": true, ".mp3": true}

func cmp(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// stats are a rendition's figures for a master playlist or an MPD.
type stats struct {
	peak, avg int64   // bits per second: the largest segment's rate, and the whole file's
	fps       float64 // video frames per second, 0 without video
	codecs    string  // video codec first
	width     uint32
	height    uint32
	trackBits []int64 // per track: average bits per second
}

func statsOf(r *rendition) stats {
	m := r.m
	var st stats
	var codecs []string
	for i, t := range m.Tracks {
		if t.Kind == mp4index.Video {
			codecs = append([]string{t.Codec}, codecs...)
			st.width, st.height = t.Width, t.Height
		} else {
			codecs = append(codecs, t.Codec)
		}
		if len(m.Samples) > i {
			s := m.Samples[i]
			var total int64
			for _, z := range s.Size {
				total += int64(z)
			}
			d := float64(s.End) / float64(t.Timescale)
			if d > 0 {
				st.trackBits = append(st.trackBits, int64(float64(total)*8/d))
				if t.Kind == mp4index.Video && st.fps == 0 {
					st.fps = float64(len(s.Size)) / d
				}
			} else {
				st.trackBits = append(st.trackBits, 0)
			}
		}
	}
	st.codecs = strings.Join(codecs, ",")
	st.avg = m.Bandwidth()
	st.peak = st.avg
	if r.plan != nil {
		for _, seg := range r.plan.Segments {
			var n int64
			for i := range m.Tracks {
				for j := seg.First[i]; j < seg.Last[i]; j++ {
					n += int64(m.Samples[i].Size[j])
				}
			}
			if seg.Dur > 0 {
				st.peak = max(st.peak, int64(float64(n)*8/seg.Dur))
			}
		}
	}
	return st
}
