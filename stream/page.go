package stream

import (
	"io/fs"
	"net/http"
)

// pageHandler serves the player page with a Content-Security-Policy that
// allows nothing but the page's own files and media.
func pageHandler(fsys fs.FS) http.Handler {
	files := http.FileServerFS(fsys)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; "+
			"img-src 'self' data:; media-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		// The page's URL may carry a grant: never send it on.
		h.Set("Referrer-Policy", "no-referrer")
		// Short-lived: a new release's page and script, and a link's
		// grant, are not kept by any cache.
		h.Set("Cache-Control", "no-store")
		files.ServeHTTP(w, r)
	})
}
