package stream

import (
	"bytes"
	"html"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// playerMeta is the <meta> of index.html through which the page learns
// where to load hls.js from (Options.HLSPlayer); empty loads none.
const playerMeta = `<meta name="reelcache-hls-player" content="">`

// pageHandler serves the player page with a Content-Security-Policy that
// allows nothing but the page's own files and media and, when hlsPlayer is
// set, that one script, the blob: media and worker hls.js makes; index.html
// then carries hlsPlayer, HTML-escaped, in its playerMeta.
func pageHandler(fsys fs.FS, hlsPlayer string) http.Handler {
	files := http.FileServerFS(fsys)
	script, media, worker := "'self'", "'self'", ""
	var index []byte
	if hlsPlayer != "" {
		if src := cspSource(hlsPlayer); src != "" {
			script += " " + src
		}
		media += " blob:"
		worker = "worker-src blob:; "
		if b, err := fs.ReadFile(fsys, "index.html"); err == nil && bytes.Contains(b, []byte(playerMeta)) {
			index = bytes.Replace(b, []byte(playerMeta),
				[]byte(`<meta name="reelcache-hls-player" content="`+html.EscapeString(hlsPlayer)+`">`), 1)
		}
	}
	csp := "default-src 'none'; script-src " + script + "; style-src 'self'; " + worker +
		"img-src 'self' data:; media-src " + media + "; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		// The page's URL may carry a grant: never send it on.
		h.Set("Referrer-Policy", "no-referrer")
		// Short-lived: a new release's page and script, and a link's
		// grant, are not kept by any cache.
		h.Set("Cache-Control", "no-store")
		if index != nil && r.URL.Path == "/" {
			h.Set("Content-Type", "text/html; charset=utf-8")
			http.ServeContent(w, r, "index.html", time.Time{}, bytes.NewReader(index))
			return
		}
		files.ServeHTTP(w, r)
	})
}

// cspSource returns the CSP source expression allowing exactly the script
// at an absolute URL (scheme, host and path; CSP has no query), or "" for
// a path on this server, which 'self' covers.
func cspSource(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || strings.HasPrefix(raw, "/") {
		return ""
	}
	return u.Scheme + "://" + u.Host + u.EscapedPath()
}
