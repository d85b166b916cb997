package mp4index

import (
	"bytes"
	"encoding/gob"
	"fmt"
)

// Marshal returns the stored form of x: a format byte, then x in gob
// (whose varints keep the sample tables near their size in the file).
func Marshal(x *Index) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte(Format)
	if err := gob.NewEncoder(&buf).Encode(x); err != nil {
		return nil, fmt.Errorf("mp4index: encode: %w", err)
	}
	return buf.Bytes(), nil
}

// Unmarshal decodes what Marshal wrote. A value of another format is an
// error (the caller rebuilds the index).
func Unmarshal(b []byte) (*Index, error) {
	if len(b) == 0 || b[0] != Format {
		return nil, fmt.Errorf("mp4index: stored index of another format")
	}
	x := new(Index)
	if err := gob.NewDecoder(bytes.NewReader(b[1:])).Decode(x); err != nil {
		return nil, fmt.Errorf("mp4index: decode: %w", err)
	}
	return x, nil
}
