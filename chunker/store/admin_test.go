package store

import (
	"slices"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/reelcache/reelcache/internal/redistest"
)

// TestScanFindsOnlyOwnChunkKeys: Scan (what `cache purge --yes` deletes)
// yields exactly the store's own chunk keys, whatever glob characters its
// prefix holds, on a real Redis that also holds other applications' keys
// (issue 13: the prefix "rc[1]" deleted another app's "rc1:c:..." key and
// left its own).
func TestScanFindsOnlyOwnChunkKeys(t *testing.T) {
	rs := redistest.Start(t)
	rdb := rs.Client()
	const v = "0123456789abcdef"
	// Every key in Redis during the test; each case's own keys are those
	// its Store would write.
	others := []string{
		"rc1:c:" + v + ":1048576:0", // matched by the glob rc[1]
		"rcx:c:" + v + ":1048576:0", // matched by rc? and rc*
		"rc:c:" + v + ":1048576:0",  // matched by rc* (and is the "rc" instance's own)
		`a\b:c:` + v + ":1048576:0",
		"ab:c:" + v + ":1048576:0",      // matched by the glob a\b (an escaped b)
		"rc:c:x:c:" + v + ":1048576:0",  // an instance whose prefix is rc:c:x
		"rc:c:" + v + ":1048576:0:copy", // not a chunk key's shape
		"rc:c:" + v + ":1MiB:0",         // nor this
		"rc:c::1048576:0",               // nor this (empty version)
		"rc:session:42",
	}
	for _, tt := range []struct {
		prefix string
		want   []string // the keys Scan must yield
	}{
		{"rc[1]", []string{"rc[1]:c:" + v + ":1048576:0", "rc[1]:c:" + v + ":65536:7"}},
		{"rc?", []string{"rc?:c:" + v + ":1048576:3"}},
		{"rc*", []string{"rc*:c:" + v + ":1048576:3"}},
		{`a\b`, []string{`a\b:c:` + v + ":1048576:0"}},
		{"rc", []string{"rc:c:" + v + ":1048576:0"}},
		{"rc:c:x", []string{"rc:c:x:c:" + v + ":1048576:0"}},
	} {
		t.Run(tt.prefix, func(t *testing.T) {
			ctx := t.Context()
			if err := rdb.FlushAll(ctx).Err(); err != nil {
				t.Fatal(err)
			}
			for _, k := range append(slices.Clone(others), tt.want...) {
				if err := rdb.Set(ctx, k, "x", 0).Err(); err != nil {
					t.Fatal(err)
				}
			}
			s := New(Options{Client: mustClient(t, rs.URL()), Prefix: tt.prefix})
			var got []string
			err := s.Scan(ctx, func(keys []string) error {
				got = append(got, keys...)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			slices.Sort(got)
			want := slices.Sorted(slices.Values(tt.want))
			if !slices.Equal(got, want) {
				t.Errorf("prefix %q: Scan yielded %q, want %q", tt.prefix, got, want)
			}
		})
	}
}

func TestEscapeGlob(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"reelcache", "reelcache"},
		{"rc[1]", `rc\[1\]`},
		{"a*b?c", `a\*b\?c`},
		{`a\b`, `a\\b`},
		{"app:rc-1^x", "app:rc-1^x"}, // special only inside brackets, which are escaped
	} {
		if got := escapeGlob(tt.in); got != tt.want {
			t.Errorf("escapeGlob(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func mustClient(tb testing.TB, url string) redis.UniversalClient {
	tb.Helper()
	c, err := NewRedisClient(url)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}
