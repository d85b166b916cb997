package chunker

import (
	"encoding/binary"
	"encoding/hex"
	"hash/fnv"
	"io/fs"
)

// VersionOf returns the cache version of a file: a short hex hash of its
// identity (size, modification time in nanoseconds, change time, device and
// inode where the platform has them). Any write, truncation, or replacement
// of the file by another (an atomic rename included) changes the version,
// so its chunks get new keys.
//
// The version does not hash the file's bytes: that would mean reading whole
// files on every open. The cost is the usual one of mtime-based validators
// (nginx and net/http's ETags share it): a same-size rewrite within one tick
// of the file system's clock, that also restores the change time, is not
// noticed. Deploy media by writing a new file and renaming it into place.
func VersionOf(fi fs.FileInfo) string {
	h := fnv.New64a()
	var b [8]byte
	put := func(v uint64) {
		binary.LittleEndian.PutUint64(b[:], v)
		h.Write(b[:])
	}
	put(uint64(fi.Size()))
	put(uint64(fi.ModTime().UnixNano()))
	id := fileIdentity(fi)
	for _, v := range id {
		put(v)
	}
	if len(id) == 0 {
		// No inode on this platform: the name at least separates files
		// that share size and mtime.
		h.Write([]byte(fi.Name()))
	}
	return hex.EncodeToString(h.Sum(nil))
}
