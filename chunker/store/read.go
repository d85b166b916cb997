package store

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unsafe"

	"github.com/redis/go-redis/v9"
)

// Get asks Read for the bytes [Lo, Hi) of the chunk at Key, whose length
// is Len. Lo == 0 and Hi == Len asks for the whole value (one GET);
// anything less for the header and the blocks that hold [Lo, Hi) (two
// GETRANGEs), so that only those cross the network.
type Get struct {
	Key    string
	Len    int64
	Lo, Hi int64
}

// Got is Read's answer to one Get.
type Got struct {
	// Data are checked bytes of the chunk, starting at its byte Start:
	// the blocks that hold [Lo, Hi), or the whole chunk. Nil when the
	// value is missing or rejected.
	Data  []byte
	Start int64
	// Buffer holds Data: Release it once Data is no longer used (Data
	// is read into it from the socket, and reused by later reads).
	Buffer Buffer
	// Rejected is set when a value was there but failed its check (a
	// *RejectError): the caller treats it as a miss and refills it.
	Rejected error
}

// Found reports whether the Get was answered with checked bytes.
func (g Got) Found() bool { return g.Data != nil }

// Probe asks Read whether the chunk at Key, of length Len, is there with
// the length its value must have: what a response's X-Cache says of chunks
// it does not fetch yet. A value of the wrong length counts as absent; one
// of the right length whose bytes are damaged is caught when it is read.
type Probe struct {
	Key string
	Len int64
}

// Read fetches the gets and answers the probes in one pipeline, and checks
// every value it fetched (Codec). A rejected value is counted (Rejected,
// the log) and answered as a miss.
//
// On a Redis Cluster with a node down, the keys that node holds fail while
// the others are answered: those come back as missing and err is nil; err
// is set only when no key could be read at all.
func (s *Store) Read(ctx context.Context, gets []Get, probes []Probe) (got []Got, present []bool, err error) {
	got = make([]Got, len(gets))
	present = make([]bool, len(probes))
	if len(gets) == 0 && len(probes) == 0 {
		return got, present, nil
	}
	// Per get: one GET, or a header GETRANGE and a blocks GETRANGE; the
	// chunk bytes are read into buffers (buffers.go).
	type cmds struct {
		hdr   *redis.StringCmd
		data  *redis.ZeroCopyStringCmd // the whole value, or the blocks
		buf   Buffer
		whole bool
	}
	c := make([]cmds, len(gets))
	lens := make([]*redis.IntCmd, len(probes))
	var all []redis.Cmder
	err = s.call(ctx, s.timeout, "get", func(ctx context.Context) error {
		// The buffers are taken once the read may go: a read queued for
		// a connection holds none.
		select {
		case s.reading <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		defer func() { <-s.reading }()
		var err error
		all, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, g := range gets {
				hl := s.codec.HeaderLen(g.Len)
				if g.Lo == 0 && g.Hi == g.Len {
					var b []byte
					c[i].buf, b = s.bufs.get(int(hl + g.Len + 2))
					c[i].data = redis.NewZeroCopyStringCmd(ctx, b, "get", g.Key)
					c[i].whole = true
				} else {
					start, end := BlockSpan(g.Lo, g.Hi, g.Len)
					var b []byte
					c[i].buf, b = s.bufs.get(int(end - start + 2))
					c[i].hdr = p.GetRange(ctx, g.Key, 0, hl-1)
					c[i].data = redis.NewZeroCopyStringCmd(ctx, b, "getrange", g.Key, hl+start, hl+end-1)
				}
				_ = p.Process(ctx, c[i].data)
			}
			for i, pr := range probes {
				lens[i] = p.StrLen(ctx, pr.Key)
			}
			return nil
		})
		// A value too long for its buffer is answered, not failed.
		return partial(nilIfTooLong(err), len(all), func(i int) error { return nilIfTooLong(all[i].Err()) })
	})
	if err != nil {
		for i := range c {
			c[i].buf.Release()
		}
		return nil, nil, fmt.Errorf("read %d chunks: %w", len(gets), err)
	}
	for i, g := range gets {
		got[i] = s.open(g, c[i].whole, c[i].hdr, c[i].data)
		if got[i].Data != nil {
			got[i].Buffer = c[i].buf
		} else {
			c[i].buf.Release()
		}
	}
	for i, pr := range probes {
		present[i] = lens[i].Val() == s.codec.ValueLen(pr.Len)
	}
	return got, present, nil
}

// open checks the reply to one Get: the whole value, or the header and the
// blocks.
func (s *Store) open(g Get, whole bool, hdr *redis.StringCmd, data *redis.ZeroCopyStringCmd) Got {
	if _, err := data.Result(); err != nil {
		if tooLong(err) {
			err := reject(g.Key, RejectLength)
			s.reject(err)
			return Got{Rejected: err}
		}
		return Got{} // missing, or its node failed
	}
	if whole {
		v, err := s.codec.Open(g.Key, data.Bytes(), g.Len)
		if err != nil {
			s.reject(err)
			return Got{Rejected: err}
		}
		return Got{Data: v}
	}
	h, err := hdr.Result()
	b := data.Bytes()
	if err != nil || h == "" {
		return Got{} // GETRANGE of a missing key is "", not an error
	}
	start, _ := BlockSpan(g.Lo, g.Hi, g.Len)
	v, err := s.codec.OpenBlocks(g.Key, bytesOf(h), g.Len, start/BlockSize, b)
	if err != nil {
		s.reject(err)
		return Got{Rejected: err}
	}
	if int64(len(v)) < min(g.Hi, g.Len)-start {
		err := reject(g.Key, RejectLength) // the value ended before the blocks asked for
		s.reject(err)
		return Got{Rejected: err}
	}
	return Got{Data: v, Start: start}
}

// nilIfTooLong returns redis.Nil for a reply too long for its buffer
// (open rejects it), and err otherwise.
func nilIfTooLong(err error) error {
	if tooLong(err) {
		return redis.Nil
	}
	return err
}

// OpenValue checks a whole value of the chunk at key, of length n, fetched
// some other way (GetOrLease, WaitFilled), and returns the chunk's bytes. A
// value that fails is counted like one Read rejects.
func (s *Store) OpenValue(key, val string, n int64) ([]byte, error) {
	data, err := s.codec.Open(key, bytesOf(val), n)
	if err != nil {
		s.reject(err)
		return nil, err
	}
	return data, nil
}

// Codec returns the store's value codec, for callers that seal values
// before Set.
func (s *Store) Codec() *Codec { return s.codec }

// reject counts a rejected value and logs it, at most once a second.
func (s *Store) reject(err error) {
	var re *RejectError
	if !errors.As(err, &re) {
		return
	}
	if s.rejected != nil {
		s.rejected(re.Reason)
	}
	now := time.Now().UnixNano()
	last := s.lastLog.Load()
	if now-last < int64(time.Second) || !s.lastLog.CompareAndSwap(last, now) {
		return
	}
	s.log.Warn("a cached chunk failed its check: not served, refilled from the origin", "key", re.Key, "reason", re.Reason)
}

// bytesOf returns the bytes of a string go-redis decoded, without a copy.
// They must not be written.
func bytesOf(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }
