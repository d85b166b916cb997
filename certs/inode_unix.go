//go:build unix

package certs

import (
	"io/fs"
	"syscall"
)

// inode is fi's inode number where the system has one, else 0: a symlink
// swapped to a new file of the same size and mtime is still a change.
func inode(fi fs.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Ino)
	}
	return 0
}
