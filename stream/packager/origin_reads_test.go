package packager_test

import (
	"bytes"
	"encoding/binary"
	"net/http"
	"os"
	"path/filepath"
	"testing"
)

// TestIndexReads: indexing a moov-at-end file reads from the origin the
// chunks its moov lies in plus at most two more (the first, with the ftyp
// and the mdat's header), and nothing else of the mdat.
func TestIndexReads(t *testing.T) {
	dir := testMedia(t)
	b, err := os.ReadFile(filepath.Join(dir, "end.mp4"))
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.LastIndex(b, []byte("moov")) - 4
	moovOff, moovSize := int64(i), int64(binary.BigEndian.Uint32(b[i:]))
	const chunk = 64 << 10
	moovChunks := (moovOff+moovSize-1)/chunk - moovOff/chunk + 1
	if moovOff+moovSize != int64(len(b)) || int64(len(b))/chunk < 4*moovChunks {
		t.Fatalf("end.mp4 is not the file this test needs: moov at %d+%d of %d", moovOff, moovSize, len(b))
	}
	s := newServer(t, dir, serverOptions{})
	if code, body := get(t, s.srv.URL+"/hls/end.mp4/media.m3u8"); code != http.StatusOK {
		t.Fatalf("status %d: %s", code, body)
	}
	misses := s.cache.Stats().Misses
	if misses > moovChunks+2 {
		t.Errorf("indexing read %d chunks from the origin; the moov spans %d, so at most %d", misses, moovChunks, moovChunks+2)
	}
	t.Logf("indexing a %d-byte moov-at-end file read %d chunks of %d (moov: %d chunks)", len(b), misses, (len(b)+chunk-1)/chunk, moovChunks)
}
