//go:build linux

package chunker

import (
	"io/fs"
	"syscall"
	"time"
)

// fileIdentity returns device, inode and change time (ns), which tell a
// replaced file from the original even when size and mtime were copied over.
func fileIdentity(fi fs.FileInfo) []uint64 {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	ctime := uint64(st.Ctim.Sec)*1e9 + uint64(st.Ctim.Nsec)
	return []uint64{uint64(st.Dev), uint64(st.Ino), ctime}
}

// changedAt returns the later of the file's modification and change times:
// when its bytes (or its identity) last changed.
func changedAt(fi fs.FileInfo) time.Time {
	t := fi.ModTime()
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		if c := time.Unix(st.Ctim.Sec, st.Ctim.Nsec); c.After(t) {
			t = c
		}
	}
	return t
}
