package chunker

import (
	"bytes"
	"context"
	"crypto/rand"
	"sync"
	"testing"
	"time"

	"github.com/reelcache/reelcache/chunker/store"
	"github.com/reelcache/reelcache/internal/poll"
	"github.com/reelcache/reelcache/internal/testmedia"
)

// TestCachedValuesAreChecked: whatever sits under a chunk's key is served
// only if it passes its check (issue 20 item 3). A forged value of the same
// length, a value of the wrong length, a bare chunk in the old format and
// random bytes are each never served: the bytes come from the origin, the
// chunk is refilled (so the next read is a hit), and the rejection is
// counted by reason. With an integrity key, a value sealed by someone who
// knows the format but not the key (the CRC a forger can compute) is
// rejected too.
func TestCachedValuesAreChecked(t *testing.T) {
	const cs = 64 << 10
	for _, tt := range []struct {
		name   string
		key    []byte
		forge  func(s *store.Store, key string, chunk []byte) []byte
		reason string
	}{
		{"random bytes of the value's length", nil, func(s *store.Store, key string, chunk []byte) []byte {
			v := make([]byte, s.Codec().ValueLen(int64(len(chunk))))
			rand.Read(v)
			return v
		}, store.RejectFormat},
		{"a bare chunk (the old format)", nil, func(_ *store.Store, _ string, chunk []byte) []byte { return chunk }, store.RejectFormat},
		{"a value of the wrong length", nil, func(s *store.Store, key string, chunk []byte) []byte {
			return s.Codec().Sealed(key, chunk[:len(chunk)-1])
		}, store.RejectLength},
		{"a value one byte too long", nil, func(s *store.Store, key string, chunk []byte) []byte {
			return append(s.Codec().Sealed(key, chunk), 0)
		}, store.RejectLength},
		{"a value twice too long", nil, func(s *store.Store, key string, chunk []byte) []byte {
			v := s.Codec().Sealed(key, chunk)
			return append(v, v...)
		}, store.RejectLength},
		{"a byte changed", nil, func(s *store.Store, key string, chunk []byte) []byte {
			v := s.Codec().Sealed(key, chunk)
			v[len(v)-1] ^= 0xff
			return v
		}, store.RejectDigest},
		{"another chunk's value", nil, func(s *store.Store, key string, chunk []byte) []byte {
			return s.Codec().Sealed(key+"0", chunk)
		}, store.RejectDigest},
		{"keyed: forged with the unkeyed format", []byte("0123456789abcdef"), func(_ *store.Store, key string, chunk []byte) []byte {
			forged := bytes.Repeat([]byte{'F'}, len(chunk))
			return store.NewCodec(nil).Sealed(key, forged)
		}, store.RejectFormat},
		{"keyed: forged under a guessed key", []byte("0123456789abcdef"), func(_ *store.Store, key string, chunk []byte) []byte {
			forged := bytes.Repeat([]byte{'F'}, len(chunk))
			return store.NewCodec([]byte("guessed-key-0000")).Sealed(key, forged)
		}, store.RejectDigest},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			rejected := map[string]int{}
			fx := newFixtureStore(t, Options{ChunkSize: cs, Fill: FillSync}, store.Options{
				IntegrityKey: tt.key,
				Rejected:     func(r string) { mu.Lock(); rejected[r]++; mu.Unlock() },
			})
			want := testmedia.WriteRandom(t, fx.dir, "a.mp4", 3*cs, 21)
			fx.setChunk(t, "a.mp4", 1, func(key string) []byte { return tt.forge(fx.cache.Store(), key, want[cs:2*cs]) })
			got, st := readRange(t, fx.cache, "a.mp4", cs, cs)
			if !bytes.Equal(got, want[cs:2*cs]) {
				t.Fatal("the damaged value's bytes were served")
			}
			if st == Hit {
				t.Error("status Hit for a value that fails its check")
			}
			mu.Lock()
			n := rejected[tt.reason]
			mu.Unlock()
			if n == 0 {
				t.Errorf("rejections %v, want at least one %q", rejected, tt.reason)
			}
			// The miss refilled the chunk: the next read is a hit, of the
			// file's bytes.
			got, st = readRange(t, fx.cache, "a.mp4", cs, cs)
			if !bytes.Equal(got, want[cs:2*cs]) || st != Hit {
				t.Errorf("after the refill: status %v, bytes equal %v; want Hit and the file", st, bytes.Equal(got, want[cs:2*cs]))
			}
		})
	}
}

// TestFutureTimestampSettlesFromFirstSight: a file dated an hour ahead
// (clock skew between hosts) is cached once the settle window has passed
// since this Cache first saw its version, not an hour later (issue 21 item
// 3), and a prewarm does not wait for the hour.
func TestFutureTimestampSettlesFromFirstSight(t *testing.T) {
	const settle = 300 * time.Millisecond
	fx := newFixture(t, true, Options{ChunkSize: 64 << 10, Fill: FillSync, Settle: settle})
	want := testmedia.WriteRandom(t, fx.dir, "a.mp4", 100_000, 22)
	future := time.Now().Add(time.Hour)
	if err := chtimes(fx.dir, "a.mp4", future); err != nil {
		t.Fatal(err)
	}
	f, err := fx.cache.OpenWarm(context.Background(), "a.mp4", false)
	if err != nil {
		t.Fatal(err)
	}
	if d := f.Unsettled(); d <= 0 || d > settle {
		t.Errorf("first sight of a file dated an hour ahead: unsettled for %v, want (0, %v]", d, settle)
	}
	f.Close()
	if got, _ := readAll(t, fx.cache, "a.mp4"); !bytes.Equal(got, want) {
		t.Fatal("wrong bytes")
	}
	if keys := fx.redis.Keys(t.Context(), "reelcache:c:*"); len(keys) != 0 {
		t.Fatalf("cached within the settle window: %v", keys)
	}
	poll.Until(t, 10*settle, func() bool {
		readAll(t, fx.cache, "a.mp4")
		return len(fx.redis.Keys(t.Context(), "reelcache:c:*")) == 2
	}, "a file dated an hour ahead was not cached after it was first seen")
}
