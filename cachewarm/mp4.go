package cachewarm

import (
	"encoding/binary"
	"io"
	"path"
	"strings"
)

// isMP4 reports whether name is in the ISO base media file format family
// whose index (the moov box) a player needs before it can play or seek.
func isMP4(name string) bool {
	switch strings.ToLower(path.Ext(name)) {
	case ".mp4", ".m4v", ".mov", ".m4a":
		return true
	}
	return false
}

// maxBoxes bounds the walk over top-level boxes of a damaged or hostile file.
const maxBoxes = 1024

// lateMoov returns the byte range [off, off+n) of the top-level moov box of
// an MP4 file when it comes after the mdat box (a file not made with
// "faststart"); ok is false when moov comes first or the file cannot be
// read as MP4. It reads only the top-level box headers (ISO/IEC 14496-12
// §4.2): a few 16-byte reads, however large the file.
func lateMoov(r io.ReaderAt, size int64) (off, n int64, ok bool) {
	var hdr [16]byte
	sawMdat := false
	for pos, i := int64(0), 0; pos+8 <= size && i < maxBoxes; i++ {
		if _, err := r.ReadAt(hdr[:8], pos); err != nil {
			return 0, 0, false
		}
		boxSize := int64(binary.BigEndian.Uint32(hdr[:4]))
		typ := string(hdr[4:8])
		switch boxSize {
		case 0: // to the end of the file
			boxSize = size - pos
		case 1: // 64-bit size follows the type
			if _, err := r.ReadAt(hdr[8:16], pos+8); err != nil {
				return 0, 0, false
			}
			boxSize = int64(binary.BigEndian.Uint64(hdr[8:16]))
			if boxSize < 16 {
				return 0, 0, false
			}
		default:
			if boxSize < 8 {
				return 0, 0, false
			}
		}
		if boxSize > size-pos {
			boxSize = size - pos // truncated file: warm what is there
		}
		switch typ {
		case "mdat":
			sawMdat = true
		case "moov":
			return pos, boxSize, sawMdat
		}
		pos += boxSize
	}
	return 0, 0, false
}
