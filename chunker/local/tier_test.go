package local

import (
	"strings"
	"testing"
)

func TestLocalTierEvictsLeastRecentlyUsedByBytes(t *testing.T) {
	lt := New(10, 4)
	lt.Add("a", "aaaa")
	lt.Add("b", "bbbb")
	if _, ok := lt.Get("a"); !ok { // a is now more recent than b
		t.Fatal("a missing")
	}
	lt.Add("c", "cccc") // 12 bytes > 10: the least recent, b, goes
	lt.Add("a", "aaaa") // already held: not counted twice
	lt.Add("big", strings.Repeat("x", 11))

	for _, tt := range []struct {
		key  string
		want bool
	}{{"a", true}, {"b", false}, {"c", true}, {"big", false}} {
		if got := lt.Has(tt.key); got != tt.want {
			t.Errorf("has(%q) = %v, want %v", tt.key, got, tt.want)
		}
	}
	if n, chunks := lt.Size(); n != 8 || chunks != 2 {
		t.Errorf("size = %d bytes, %d chunks; want 8, 2", n, chunks)
	}
}

func TestLocalTierAdmitsWhatTwoRequestsWant(t *testing.T) {
	lt := New(1<<20, 1<<20) // remembers 1024 keys
	steps := []struct {
		key  string
		req  uint64
		take bool // the caller can fetch the chunk whole now
		want bool
	}{
		{"k", 1, true, false}, // first sight
		{"k", 1, true, false}, // the same request again: a lone viewer
		{"k", 2, true, true},  // a second request
		{"k", 3, true, false}, // admitted once; remembered afresh
		{"j", 1, false, false},
		{"j", 2, false, false}, // wanted twice, but not fetchable whole now
		{"j", 2, true, true},   // ... so the next fetch that can takes it
		{"i", 1, true, false},
		{"i", 1, false, false},
		{"i", 1, true, false}, // one request, however it asks
	}
	for i, s := range steps {
		if got := lt.Wanted(s.key, s.req, s.take); got != s.want {
			t.Errorf("step %d: wanted(%q, %d, %v) = %v, want %v", i, s.key, s.req, s.take, got, s.want)
		}
	}
	// The doorkeeper is bounded: past seenMax keys it starts over.
	for i := range 2000 {
		lt.Wanted(string(rune('a'+i%26))+strings.Repeat("x", i), 9, true)
	}
	if n := len(lt.seen); n > lt.seenMax {
		t.Errorf("doorkeeper holds %d keys, bound %d", n, lt.seenMax)
	}
}

// TestLocalTierRefusesValuesReadBeforeAPurge: a value read at one
// generation enters only while no purge (clear or dropVersions) has been
// applied since.
func TestLocalTierRefusesValuesReadBeforeAPurge(t *testing.T) {
	lt := New(1<<20, 4)
	for _, tt := range []struct {
		name  string
		purge func()
		want  bool
	}{
		{"no purge", func() {}, true},
		{"clear", lt.PurgeAll, false},
		{"dropVersions", func() { lt.PurgeVersions("p", []string{"other"}) }, false},
	} {
		gen := lt.Generation()
		tt.purge()
		key := "p:c:v:" + tt.name
		if got := lt.AddAt(gen, key, "vvvv"); got != tt.want || lt.Has(key) != tt.want {
			t.Errorf("%s: addAt = %v, held %v; want %v", tt.name, got, lt.Has(key), tt.want)
		}
	}
}
