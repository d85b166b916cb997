package local

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func newTier(tb testing.TB, maxBytes, chunkSize int64) *Tier {
	tb.Helper()
	t, err := New(Options{Dir: tb.TempDir(), MaxBytes: maxBytes, ChunkSize: chunkSize})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { t.Close() })
	return t
}

// read returns what the tier holds at key, by the descriptor Open gives.
func read(tb testing.TB, t *Tier, key string) (string, bool) {
	tb.Helper()
	f, ok := t.Open(key)
	if !ok {
		return "", false
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b), true
}

func TestTierEvictsLeastRecentlyUsedByBytes(t *testing.T) {
	lt := newTier(t, 10, 4)
	lt.Add("a", []byte("aaaa"))
	lt.Add("b", []byte("bbbb"))
	if got, ok := read(t, lt, "a"); !ok || got != "aaaa" { // a is now more recent than b
		t.Fatalf("a = %q, %v", got, ok)
	}
	lt.Add("c", []byte("cccc")) // 12 bytes > 10: the least recent, b, goes
	lt.Add("a", []byte("aaaa")) // already held: not counted twice
	lt.Add("big", []byte(strings.Repeat("x", 11)))

	for _, tt := range []struct {
		key  string
		want bool
	}{{"a", true}, {"b", false}, {"c", true}, {"big", false}} {
		if got := lt.Has(tt.key); got != tt.want {
			t.Errorf("Has(%q) = %v, want %v", tt.key, got, tt.want)
		}
	}
	if n, chunks := lt.Size(); n != 8 || chunks != 2 {
		t.Errorf("Size = %d bytes, %d chunks; want 8, 2", n, chunks)
	}
	// What is held is on disk and nothing else is: evicted files are gone.
	files, _ := filepath.Glob(filepath.Join(lt.Dir(), "c*"))
	if len(files) != 2 {
		t.Errorf("%d chunk files in the tier's directory, want 2: %v", len(files), files)
	}
}

func TestTierOpenOutlivesEviction(t *testing.T) {
	lt := newTier(t, 4, 4)
	lt.Add("a", []byte("aaaa"))
	f, ok := lt.Open("a")
	if !ok {
		t.Fatal("a not held")
	}
	defer f.Close()
	lt.Add("b", []byte("bbbb")) // evicts a
	if lt.Has("a") {
		t.Fatal("a still held")
	}
	if b, err := io.ReadAll(f); err != nil || string(b) != "aaaa" {
		t.Fatalf("reading an evicted chunk through an open descriptor: %q, %v", b, err)
	}
}

func TestTierAdmitsWhatTwoRequestsWant(t *testing.T) {
	lt := newTier(t, 1<<20, 1<<20) // remembers 1024 keys
	steps := []struct {
		key  string
		req  uint64
		take bool // the caller can fetch the chunk whole now
		want bool
	}{
		{"k", 1, true, false}, // first sight
		{"k", 1, true, false}, // the same request again: a lone viewer
		{"k", 2, true, true},  // a second request
		{"k", 3, true, true},  // still wanted: not held yet (the fetch that took it may have been dropped)
		{"j", 1, false, false},
		{"j", 2, false, false}, // wanted twice, but not fetchable whole now
		{"j", 2, true, true},   // ... so the next fetch that can takes it
		{"i", 1, true, false},
		{"i", 1, false, false},
		{"i", 1, true, false}, // one request, however it asks
	}
	for i, s := range steps {
		if got := lt.Wanted(s.key, s.req, s.take); got != s.want {
			t.Errorf("step %d: Wanted(%q, %d, %v) = %v, want %v", i, s.key, s.req, s.take, got, s.want)
		}
	}
	// Once held, a chunk is no longer wanted; evicted, it starts afresh.
	if !lt.Add("k", []byte("kkkk")) || lt.Wanted("k", 4, true) {
		t.Error("a held chunk is still wanted")
	}
}

// TestTierRefusesValuesReadBeforeAPurge: a value read at one generation
// enters only while no purge has been applied since.
func TestTierRefusesValuesReadBeforeAPurge(t *testing.T) {
	lt := newTier(t, 1<<20, 4)
	for _, tt := range []struct {
		name  string
		purge func()
		want  bool
	}{
		{"no purge", func() {}, true},
		{"all", lt.PurgeAll, false},
		{"versions", func() { lt.PurgeVersions("p", []string{"other"}) }, false},
	} {
		gen := lt.Generation()
		tt.purge()
		key := "p:c:v:" + tt.name
		if got := lt.AddAt(gen, key, []byte("vvvv")); got != tt.want || lt.Has(key) != tt.want {
			t.Errorf("%s: AddAt = %v, held %v; want %v", tt.name, got, lt.Has(key), tt.want)
		}
	}
}

func TestTierPurgeVersionsDropsOnlyThose(t *testing.T) {
	lt := newTier(t, 1<<20, 4)
	for _, k := range []string{"p:c:v1:4:0", "p:c:v1:4:1", "p:c:v2:4:0", "p:c:v10:4:0"} {
		lt.Add(k, []byte(k))
	}
	lt.PurgeVersions("p", []string{"v1"})
	for k, want := range map[string]bool{"p:c:v1:4:0": false, "p:c:v1:4:1": false, "p:c:v2:4:0": true, "p:c:v10:4:0": true} {
		if lt.Has(k) != want {
			t.Errorf("after purging v1: Has(%q) = %v, want %v", k, !want, want)
		}
	}
	lt.PurgeAll()
	if n, c := lt.Size(); n != 0 || c != 0 {
		t.Errorf("after PurgeAll: %d bytes, %d chunks", n, c)
	}
}

// TestTierDirectories: a tier's directory is private, goes with Close, and
// one left behind by a process that died is removed by the next tier made
// in the same place, while a live tier's is not.
func TestTierDirectories(t *testing.T) {
	parent := t.TempDir()
	a, err := New(Options{Dir: parent, MaxBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(a.Dir())
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("tier directory mode %v, %v; want 0700", fi.Mode().Perm(), err)
	}
	a.Add("k", []byte("data"))
	// A dead process's directory: a lock file nobody holds.
	dead := filepath.Join(parent, "reelcache-tier-dead")
	os.Mkdir(dead, 0o700)
	os.WriteFile(filepath.Join(dead, lockName), nil, 0o600)
	os.WriteFile(filepath.Join(dead, "c1"), []byte("old"), 0o600)
	b, err := New(Options{Dir: parent, MaxBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dead); !os.IsNotExist(err) {
		t.Errorf("a dead tier's directory is still there: %v", err)
	}
	if got, ok := read(t, a, "k"); !ok || got != "data" {
		t.Errorf("a live tier lost its chunk to another's start: %q, %v", got, ok)
	}
	b.Close()
	a.Close()
	if left, _ := os.ReadDir(parent); len(left) != 0 {
		t.Errorf("Close left %d entries in the parent directory", len(left))
	}
	if bytes.Contains([]byte(a.Dir()), []byte(parent)) == false {
		t.Error("the tier's directory is not under Options.Dir")
	}
}
