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

// SharedVersionOf returns a version that every host sees alike for the
// same file contents deployed the same way: a hash of the file's name
// (relative to the media root), size and modification time in nanoseconds,
// without the device, inode and change time that differ from host to host.
// Several instances on several machines, each with its own copy of the
// media (rsync -t, a shared NFS mount), then share one cache. The name is
// hashed so that two files of equal size and mtime never share keys. The
// price: a same-size rewrite that restores the mtime is not noticed.
func SharedVersionOf(name string, fi fs.FileInfo) string {
	h := fnv.New64a()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(fi.Size()))
	h.Write(b[:])
	binary.LittleEndian.PutUint64(b[:], uint64(fi.ModTime().UnixNano()))
	h.Write(b[:])
	h.Write([]byte(name))
	return hex.EncodeToString(h.Sum(nil))
}
