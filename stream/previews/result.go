package previews

import (
	"bytes"
	"encoding/gob"
	"fmt"
	"time"
)

// metaKind is the chunker metadata kind previews are stored under.
const metaKind = "previews"

// Result is what a job made of one file version: the tiles and their
// layout, or (Err set) why the file has none. Negative results are stored
// like positive ones, so a file ffmpeg cannot use is tried once per version,
// not once per request.
type Result struct {
	// Err, when set, says why there are no previews, in words fit for the
	// client (no paths, no ffmpeg output).
	Err string
	// Transient: the failure was not the file's (the origin, the machine);
	// never stored, remembered for a while by the instance that saw it.
	Transient bool

	Duration float64   // seconds, as ffprobe reads the container
	Interval float64   // seconds between tiles
	Tiles    int       // tiles, one per interval
	Width    int       // tile width in pixels
	Height   int       // tile height in pixels
	Cols     int       // tiles per sprite row
	Rows     int       // tile rows per sprite (the last sprite may be part blank)
	Keyframe bool      // tiles are the keyframes at or before each cue time (else every frame was decoded)
	Sprites  [][]byte  // the JPEG sprite sheets, in order
	Made     time.Time // when the job finished
	Took     time.Duration

	// Bytes the job read of the video, in all and from each cache tier
	// (the rest came from the origin).
	ReadBytes, RedisBytes, LocalBytes int64
}

// encode returns r as a stored value.
func (r *Result) encode() ([]byte, error) {
	var b bytes.Buffer
	if err := gob.NewEncoder(&b).Encode(r); err != nil {
		return nil, fmt.Errorf("encode previews: %w", err)
	}
	return b.Bytes(), nil
}

// decodeResult reads a stored value.
func decodeResult(val []byte) (*Result, error) {
	r := new(Result)
	if err := gob.NewDecoder(bytes.NewReader(val)).Decode(r); err != nil {
		return nil, fmt.Errorf("decode previews: %w", err)
	}
	if r.Err == "" && (r.Tiles <= 0 || r.Cols <= 0 || r.Rows <= 0 || r.Interval <= 0 ||
		len(r.Sprites) < (r.Tiles+r.Cols*r.Rows-1)/(r.Cols*r.Rows)) {
		return nil, fmt.Errorf("decode previews: inconsistent value (%d tiles, %d sprites)", r.Tiles, len(r.Sprites))
	}
	return r, nil
}
