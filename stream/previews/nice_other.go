//go:build !unix

package previews

// lower does nothing where there is no nice(2).
func lower(int) {}
