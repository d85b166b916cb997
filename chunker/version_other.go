//go:build !linux

package chunker

import (
	"io/fs"
	"time"
)

func fileIdentity(fs.FileInfo) []uint64 { return nil }

func changedAt(fi fs.FileInfo) time.Time { return fi.ModTime() }
