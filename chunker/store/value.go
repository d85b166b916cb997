package store

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
)

// A chunk value in Redis is a header followed by the chunk's bytes:
//
//	offset  size  field
//	0       4     magic "rcv1" (the value format's version)
//	4       1     algorithm: 1 CRC-32C, 2 HMAC-SHA256 truncated to 128 bits
//	5       1     log2 of the block size (17: 128 KiB)
//	6       2     zero
//	8       8     the chunk's length in bytes, big endian
//	16      n*t   one tag per block of the chunk (t: 4 bytes for CRC-32C,
//	              16 for HMAC), in block order
//	16+n*t        the chunk's bytes
//
// Each block's tag covers the chunk's key, the block's index, the chunk's
// length and the block's bytes, so a block is accepted only at its own
// place in its own chunk of its own file version: a value copied from
// another key, blocks moved within a chunk, or a value cut short all fail.
// With an integrity key the tags are HMACs, and whoever can write to Redis
// but lacks the key cannot make a value that passes; without one they are
// CRC-32Cs, which catch damage (a value overwritten by something else, cut,
// or flipped) but not a forger who knows the format.
//
// Tags per block, not per chunk, let a reader fetch and check only the
// blocks it needs (GETRANGE of the header and of those blocks), so a slow
// viewer holds a window of a chunk, not all of it.
//
// A value without this header (written by an older reelcache, or by
// anything else) is rejected like a damaged one: a miss, never an error.

// Value format constants.
const (
	valueMagic   = "rcv1"
	headerFixed  = 16
	blockShift   = 17
	BlockSize    = 1 << blockShift // bytes covered by one tag
	algCRC32C    = 1
	algHMAC      = 2
	crcTagSize   = 4
	hmacTagSize  = 16
	maxChunkSize = 1 << 30 // a header claiming more is not a chunk of ours
)

// Reasons a value is rejected, for the rejected-chunks counter.
const (
	RejectFormat = "format" // no header, another format, or another algorithm
	RejectLength = "length" // the value's length is not the chunk's
	RejectDigest = "digest" // a tag does not match its block
)

// ErrRejected is wrapped by Codec's errors for a value that fails its
// check; errors.As with *RejectError gives the reason.
var ErrRejected = errors.New("store: cached value rejected")

// RejectError says why a value was rejected.
type RejectError struct {
	Key    string
	Reason string // RejectFormat, RejectLength or RejectDigest
}

func (e *RejectError) Error() string {
	return fmt.Sprintf("cached value of %s rejected (%s)", e.Key, e.Reason)
}

func (e *RejectError) Unwrap() error { return ErrRejected }

func reject(key, reason string) error { return &RejectError{Key: key, Reason: reason} }

// Codec seals chunk values and checks them. It is safe for concurrent use.
type Codec struct {
	key []byte // nil: CRC-32C
}

// NewCodec returns a Codec that tags with HMAC-SHA256 under key, or with
// CRC-32C when key is empty.
func NewCodec(key []byte) *Codec {
	if len(key) == 0 {
		return &Codec{}
	}
	return &Codec{key: append([]byte(nil), key...)}
}

// Keyed reports whether the codec authenticates (HMAC) rather than only
// checksums.
func (c *Codec) Keyed() bool { return c.key != nil }

func (c *Codec) alg() byte {
	if c.key != nil {
		return algHMAC
	}
	return algCRC32C
}

func (c *Codec) tagSize() int {
	if c.key != nil {
		return hmacTagSize
	}
	return crcTagSize
}

// blocks returns how many blocks a chunk of n bytes has.
func blocks(n int64) int64 { return (n + BlockSize - 1) / BlockSize }

// HeaderLen returns the length of the header of a chunk of n bytes.
func (c *Codec) HeaderLen(n int64) int64 {
	return headerFixed + blocks(n)*int64(c.tagSize())
}

// ValueLen returns the length of the whole value of a chunk of n bytes.
func (c *Codec) ValueLen(n int64) int64 { return c.HeaderLen(n) + n }

// Seal writes the header of the chunk stored at key into buf, whose
// length is HeaderLen(n) + n and whose bytes after the header are the
// chunk: buf is then the value to store. Callers allocate the header's
// room in front of the chunk so that sealing copies nothing.
func (c *Codec) Seal(key string, buf []byte) {
	hl := c.headerLenOfValue(int64(len(buf)))
	data := buf[hl:]
	copy(buf, valueMagic)
	buf[4] = c.alg()
	buf[5] = blockShift
	buf[6], buf[7] = 0, 0
	binary.BigEndian.PutUint64(buf[8:16], uint64(len(data)))
	ts := c.tagSize()
	var h hash.Hash
	if c.key != nil {
		h = hmac.New(sha256.New, c.key)
	}
	for b := int64(0); b < blocks(int64(len(data))); b++ {
		lo := b * BlockSize
		hi := min(int64(len(data)), lo+BlockSize)
		c.tag(h, buf[headerFixed+b*int64(ts):headerFixed+(b+1)*int64(ts)], key, b, int64(len(data)), data[lo:hi])
	}
}

// headerLenOfValue returns the header length of a value of total length
// v: the n with HeaderLen(n) + n == v.
func (c *Codec) headerLenOfValue(v int64) int64 {
	// HeaderLen grows by tagSize per BlockSize of data, so n is v minus
	// the fixed part minus one tag per (BlockSize + tagSize) bytes, rounded
	// up.
	ts := int64(c.tagSize())
	rest := v - headerFixed
	nb := (rest + BlockSize + ts - 1) / (BlockSize + ts)
	return headerFixed + nb*ts
}

// tag writes the tag of one block into dst.
func (c *Codec) tag(h hash.Hash, dst []byte, key string, block, n int64, data []byte) {
	var meta [16]byte
	binary.BigEndian.PutUint64(meta[:8], uint64(block))
	binary.BigEndian.PutUint64(meta[8:], uint64(n))
	if h == nil {
		crc := crc32.Update(0, castagnoli, []byte(key))
		crc = crc32.Update(crc, castagnoli, meta[:])
		crc = crc32.Update(crc, castagnoli, data)
		binary.BigEndian.PutUint32(dst, crc)
		return
	}
	h.Reset()
	h.Write([]byte(key))
	h.Write(meta[:])
	h.Write(data)
	var sum [sha256.Size]byte
	copy(dst, h.Sum(sum[:0]))
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Open checks a whole value read from key, the value of a chunk of n
// bytes, and returns the chunk's bytes (a slice of val). A value that
// fails fails with a *RejectError.
func (c *Codec) Open(key string, val []byte, n int64) ([]byte, error) {
	if len(val) >= headerFixed && (string(val[:4]) != valueMagic || val[4] != c.alg() || val[5] != blockShift) {
		return nil, reject(key, RejectFormat)
	}
	hl := c.HeaderLen(n)
	if int64(len(val)) != hl+n {
		return nil, reject(key, RejectLength)
	}
	return c.OpenBlocks(key, val[:hl], n, 0, val[hl:])
}

// OpenBlocks checks blocks of the chunk of n bytes stored at key: hdr is
// the value's header (its first HeaderLen(n) bytes) and data the bytes of
// blocks first, first+1, ... (the last block of the chunk may be short;
// every other must be whole). It returns data when every block passes.
func (c *Codec) OpenBlocks(key string, hdr []byte, n int64, first int64, data []byte) ([]byte, error) {
	if int64(len(hdr)) != c.HeaderLen(n) || string(hdr[:4]) != valueMagic || hdr[4] != c.alg() || hdr[5] != blockShift {
		return nil, reject(key, RejectFormat)
	}
	if int64(binary.BigEndian.Uint64(hdr[8:16])) != n {
		return nil, reject(key, RejectLength)
	}
	ts := int64(c.tagSize())
	var h hash.Hash
	if c.key != nil {
		h = hmac.New(sha256.New, c.key)
	}
	var want [hmacTagSize]byte
	for off := int64(0); off < int64(len(data)); {
		b := first + off/BlockSize
		lo := b * BlockSize
		hi := min(n, lo+BlockSize)
		if lo >= n || off+(hi-lo) > int64(len(data)) {
			return nil, reject(key, RejectLength)
		}
		if checkTags {
			c.tag(h, want[:ts], key, b, n, data[off:off+hi-lo])
			if !hmac.Equal(want[:ts], hdr[headerFixed+b*ts:headerFixed+(b+1)*ts]) {
				return nil, reject(key, RejectDigest)
			}
		}
		off += hi - lo
	}
	return data, nil
}

// BlockSpan returns the blocks that hold the bytes [lo, hi) of a chunk of
// n bytes, as the byte range [start, end) of the chunk they cover: what a
// reader of those bytes must fetch and check.
func BlockSpan(lo, hi, n int64) (start, end int64) {
	start = lo / BlockSize * BlockSize
	end = min(n, (hi+BlockSize-1)/BlockSize*BlockSize)
	return start, end
}

// Sealed returns the value of the chunk data stored at key: a copy of data
// with its header in front. Seal does the same without a copy, in a buffer
// that has room for the header.
func (c *Codec) Sealed(key string, data []byte) []byte {
	hl := c.HeaderLen(int64(len(data)))
	buf := make([]byte, hl+int64(len(data)))
	copy(buf[hl:], data)
	c.Seal(key, buf)
	return buf
}

// OpenSized checks a whole value read from key whose length is not known
// ahead (a metadata value): the header's own length field is taken, and
// must agree with the value's. It fails like Open.
func (c *Codec) OpenSized(key string, val []byte) ([]byte, error) {
	if len(val) < headerFixed {
		return nil, reject(key, RejectLength)
	}
	n := int64(binary.BigEndian.Uint64(val[8:16]))
	if n < 0 || n > int64(len(val)) {
		return nil, reject(key, RejectLength)
	}
	return c.Open(key, val, n)
}
