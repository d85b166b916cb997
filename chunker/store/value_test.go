package store

import (
	"bytes"
	"errors"
	"testing"

	"github.com/reelcache/reelcache/internal/testmedia"
)

func sealed(c *Codec, key string, data []byte) []byte {
	buf := make([]byte, c.HeaderLen(int64(len(data)))+int64(len(data)))
	copy(buf[c.HeaderLen(int64(len(data))):], data)
	c.Seal(key, buf)
	return buf
}

func reason(err error) string {
	var re *RejectError
	if errors.As(err, &re) {
		return re.Reason
	}
	return ""
}

func TestCodecRoundTripAndRejects(t *testing.T) {
	for _, c := range []*Codec{NewCodec(nil), NewCodec([]byte("secret"))} {
		for _, n := range []int{0, 1, BlockSize - 1, BlockSize, BlockSize + 1, 8 * BlockSize, 8*BlockSize - 3} {
			data := testmedia.Bytes(n, uint64(n))
			val := sealed(c, "k:1", data)
			if got := int64(len(val)); got != c.ValueLen(int64(n)) {
				t.Fatalf("keyed=%v n=%d: value length %d, want %d", c.Keyed(), n, got, c.ValueLen(int64(n)))
			}
			got, err := c.Open("k:1", val, int64(n))
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("keyed=%v n=%d: Open = %v, equal %v", c.Keyed(), n, err, bytes.Equal(got, data))
			}
			if n == 0 {
				continue
			}
			flipped := bytes.Clone(val)
			flipped[len(flipped)-1] ^= 1
			for _, tt := range []struct {
				name, key string
				val       []byte
				n         int64
				want      string
			}{
				{"flipped byte", "k:1", flipped, int64(n), RejectDigest},
				{"other key", "k:2", val, int64(n), RejectDigest},
				{"cut short", "k:1", val[:len(val)-1], int64(n), RejectLength},
				{"raw bytes of the same length", "k:1", testmedia.Bytes(len(val), 9), int64(n), RejectFormat},
				{"old format: the bare chunk", "k:1", data, int64(n), bareReason(n)},
			} {
				if _, err := c.Open(tt.key, tt.val, tt.n); reason(err) != tt.want || !errors.Is(err, ErrRejected) {
					t.Errorf("keyed=%v n=%d %s: err = %v, want reason %s", c.Keyed(), n, tt.name, err, tt.want)
				}
			}
		}
	}
}

func TestCodecKeyMatters(t *testing.T) {
	data := testmedia.Bytes(3*BlockSize, 1)
	forged := sealed(NewCodec(nil), "k", data) // a forger who knows the format but not the key
	if _, err := NewCodec([]byte("secret")).Open("k", forged, int64(len(data))); reason(err) != RejectFormat {
		t.Errorf("CRC-sealed value under an HMAC codec: err = %v, want %s", err, RejectFormat)
	}
	other := sealed(NewCodec([]byte("guess")), "k", data)
	if _, err := NewCodec([]byte("secret")).Open("k", other, int64(len(data))); reason(err) != RejectDigest {
		t.Errorf("value sealed under another key: err = %v, want %s", err, RejectDigest)
	}
}

func TestCodecBlocks(t *testing.T) {
	c := NewCodec([]byte("k"))
	n := int64(5*BlockSize + 100)
	data := testmedia.Bytes(int(n), 2)
	val := sealed(c, "key", data)
	hl := c.HeaderLen(n)
	for _, tt := range []struct{ lo, hi int64 }{{0, 1}, {BlockSize - 1, BlockSize + 1}, {3 * BlockSize, n}, {n - 1, n}, {0, n}} {
		s, e := BlockSpan(tt.lo, tt.hi, n)
		if s > tt.lo || e < tt.hi || s%BlockSize != 0 || (e%BlockSize != 0 && e != n) {
			t.Fatalf("BlockSpan(%d, %d) = [%d, %d)", tt.lo, tt.hi, s, e)
		}
		got, err := c.OpenBlocks("key", val[:hl], n, s/BlockSize, val[hl+s:hl+e])
		if err != nil || !bytes.Equal(got, data[s:e]) {
			t.Fatalf("OpenBlocks [%d, %d): %v", s, e, err)
		}
	}
	// A block moved to another place does not pass there.
	b0 := val[hl : hl+BlockSize]
	if _, err := c.OpenBlocks("key", val[:hl], n, 1, b0); reason(err) != RejectDigest {
		t.Errorf("block 0 offered as block 1: err = %v", err)
	}
}

func FuzzOpenBlocks(f *testing.F) {
	c := NewCodec(nil)
	val := sealed(c, "k", testmedia.Bytes(2*BlockSize+7, 3))
	f.Add(val, int64(2*BlockSize+7), int64(0))
	f.Add(val[:40], int64(10), int64(3))
	f.Fuzz(func(t *testing.T, val []byte, n, first int64) {
		if n < 0 || n > 4*BlockSize || first < 0 || first > 8 {
			return
		}
		hl := c.HeaderLen(n)
		if int64(len(val)) < hl {
			c.Open("k", val, n) // must not panic
			return
		}
		c.OpenBlocks("k", val[:hl], n, first, val[hl:])
		c.Open("k", val, n)
	})
}

// bareReason is why a bare chunk of n bytes (the old format) is rejected:
// too short to hold a header, or not starting with one.
func bareReason(n int) string {
	if n < headerFixed {
		return RejectLength
	}
	return RejectFormat
}
