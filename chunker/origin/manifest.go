package origin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"slices"
	"strings"
)

// maxManifest bounds the manifest's size: a million names of 64 bytes.
const maxManifest = 64 << 20

// list reads the manifest and returns the names it holds that keep
// accepts, sorted, without describing them: Remote asks about each through
// its metadata cache (see Remote.listing).
func (h *httpBackend) list(ctx context.Context, keep func(name string) bool) ([]listed, error) {
	if h.manifest == nil {
		return nil, fmt.Errorf("an http origin lists its objects only with media.http.manifest: %w", errors.ErrUnsupported)
	}
	names, err := h.readManifest(ctx)
	if err != nil {
		return nil, err
	}
	var kept []string
	for _, n := range names {
		if fs.ValidPath(n) && n != "." && keep(n) {
			kept = append(kept, n)
		}
	}
	slices.Sort(kept)
	kept = slices.Compact(kept)
	out := make([]listed, len(kept))
	for i, name := range kept {
		out[i] = listed{name: name}
	}
	return out, nil
}

// readManifest fetches the manifest: a JSON array of names, as strings or
// as objects with a "name" and an optional "type" (entries whose type is
// "directory" are skipped, as nginx's autoindex_format json writes them).
func (h *httpBackend) readManifest(ctx context.Context) ([]string, error) {
	req, err := h.request(ctx, http.MethodGet, h.manifest)
	if err != nil {
		return nil, err
	}
	res, err := h.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, &statusErr{reply{status: res.StatusCode}}
	}
	b, err := io.ReadAll(io.LimitReader(res.Body, maxManifest+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxManifest {
		return nil, fmt.Errorf("manifest larger than %d bytes", maxManifest)
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("manifest: want a JSON array of names: %v", err)
	}
	names := make([]string, 0, len(raw))
	for _, m := range raw {
		var s string
		if json.Unmarshal(m, &s) == nil {
			names = append(names, strings.TrimPrefix(s, "/"))
			continue
		}
		var o struct{ Name, Type string }
		if err := json.Unmarshal(m, &o); err != nil || o.Name == "" {
			return nil, fmt.Errorf("manifest: entry %.40s is neither a name nor an object with a name", m)
		}
		if o.Type != "directory" {
			names = append(names, strings.TrimPrefix(o.Name, "/"))
		}
	}
	return names, nil
}
