package faststart

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// A plan's metadata value: format byte 1, then either nothing (no plan:
// the file is served as it is) or At and MoovAt as big-endian uint64s and
// the patched moov.
const metaFormat = 1

// errBadMeta: a stored value that is not a plan of this file.
var errBadMeta = errors.New("faststart: bad plan value")

func encodePlan(p *Plan) []byte {
	if p == nil {
		return []byte{metaFormat}
	}
	b := make([]byte, 0, 17+len(p.Moov))
	b = append(b, metaFormat)
	b = binary.BigEndian.AppendUint64(b, uint64(p.At))
	b = binary.BigEndian.AppendUint64(b, uint64(p.MoovAt))
	return append(b, p.Moov...)
}

// decodePlan decodes a value of encodePlan for a file of size bytes,
// checking that the plan fits it. The store checks values (sealed like
// chunks); this catches a format change or a value of another file.
func decodePlan(b []byte, size int64) (*Plan, error) {
	if len(b) == 0 || b[0] != metaFormat {
		return nil, errBadMeta
	}
	if len(b) == 1 {
		return nil, nil
	}
	if len(b) < 17+8 {
		return nil, errBadMeta
	}
	at, moovAt := binary.BigEndian.Uint64(b[1:]), binary.BigEndian.Uint64(b[9:])
	moov := b[17:]
	m := uint64(len(moov))
	if at >= moovAt || moovAt > uint64(size) || m > uint64(size)-moovAt ||
		uint64(binary.BigEndian.Uint32(moov)) != m || string(moov[4:8]) != "moov" {
		return nil, fmt.Errorf("%w: does not fit a file of %d bytes", errBadMeta, size)
	}
	return &Plan{At: int64(at), MoovAt: int64(moovAt), Moov: moov}, nil
}
