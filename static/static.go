// Package static holds the player page, embedded in the binary.
package static

import (
	"embed"
	"io/fs"
)

//go:embed index.html app.js previews.js style.css
var files embed.FS

// FS returns the page's files: index.html, app.js and style.css.
func FS() fs.FS { return files }
