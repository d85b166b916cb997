package stream

import (
	"fmt"
	"io/fs"
	"path"
	"strings"
)

// Which paths are media: the extensions served, their Content-Type, and the
// checks a /media/ path passes before any file is opened.

// contentTypes are the media types of the extensions reelcache knows. An
// extension configured but not listed here is served as
// application/octet-stream; ServeContent never sniffs, because the type is
// set before it is called.
var contentTypes = map[string]string{
	".mp4":  "video/mp4",
	".m4v":  "video/mp4",
	".m4a":  "audio/mp4",
	".mov":  "video/quicktime",
	".webm": "video/webm",
	".mkv":  "video/x-matroska",
	".ogv":  "video/ogg",
	".ogg":  "audio/ogg",
	".mp3":  "audio/mpeg",
	".ts":   "video/mp2t",
}

// DefaultExtensions are served when Options.Extensions is empty.
var DefaultExtensions = []string{"mp4", "m4v", "mov", "webm", "mkv", "ogv"}

// NormalizeExtensions returns exts in lower case without a leading dot,
// or an error naming the first that cannot be an extension (empty, or
// holding a dot or a slash). The configuration and New both use it.
func NormalizeExtensions(exts []string) ([]string, error) {
	out := make([]string, 0, len(exts))
	for _, e := range exts {
		n := strings.ToLower(strings.TrimPrefix(e, "."))
		if n == "" || strings.ContainsAny(n, "./\\") {
			return nil, fmt.Errorf("bad extension %q", e)
		}
		out = append(out, n)
	}
	return out, nil
}

// mediaName returns the file name a /media/ request path asks for, or false
// when the path is not one the server could ever serve. The path is the
// decoded URL path, so "%2e%2e" has already become ".." here and is refused
// like any other spelling; a double-encoded "%252e" stays the literal name
// "%2e", which os.Root then fails to find.
func (h *Handler) mediaName(p string) (string, bool) {
	name, ok := strings.CutPrefix(p, "/media/")
	if !ok || name == "" {
		return "", false
	}
	// fs.ValidPath refuses "", ".", "..", empty elements and a leading or
	// trailing slash. Backslashes and NULs are refused on top, since some
	// systems (and some proxies) treat a backslash as a separator.
	if !fs.ValidPath(name) || strings.ContainsAny(name, "\\\x00") {
		return "", false
	}
	for el := range strings.SplitSeq(name, "/") {
		if strings.HasPrefix(el, ".") { // dotfiles and dot-directories
			return "", false
		}
	}
	if _, ok := h.exts[strings.ToLower(path.Ext(name))]; !ok {
		return "", false
	}
	return name, true
}
