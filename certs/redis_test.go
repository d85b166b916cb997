package certs

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/reelcache/reelcache/internal/redistest"
)

func TestMain(m *testing.M) {
	redistest.QuietRedisLogs()
	os.Exit(m.Run())
}

const testKey = "0123456789abcdef-test-storage-key"

func newStorage(t *testing.T, rdb redis.UniversalClient, secret, dir string) *RedisStorage {
	t.Helper()
	s, err := NewRedisStorage(RedisStorageOptions{Client: rdb, Prefix: "rc", StorageKey: secret, Dir: dir,
		LockTTL: 900 * time.Millisecond, Timeout: time.Second, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// keyPEM is what a certificate key looks like to certmagic.
var keyPEM = []byte("-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBzdm3l4Y0Jk5K2y6Z0J0sample\n-----END EC PRIVATE KEY-----\n")

// TestRedisStorageSealsValues: what Redis holds is neither the value nor
// usable without the storage key; another key, or a value moved to
// another name, does not open.
func TestRedisStorageSealsValues(t *testing.T) {
	rs := redistest.Start(t)
	rdb := rs.Client()
	ctx := t.Context()
	s := newStorage(t, rdb, testKey, "")
	name := "certificates/acme/video.example.com/video.example.com.key"
	if err := s.Store(ctx, name, keyPEM); err != nil {
		t.Fatal(err)
	}
	raw, err := rdb.Get(ctx, "rc:tls:v:"+name).Bytes()
	if err != nil {
		t.Fatalf("no value under rc:tls:v:%s: %v", name, err)
	}
	if bytes.Contains(raw, []byte("PRIVATE KEY")) || bytes.Contains(raw, keyPEM[30:60]) {
		t.Fatal("Redis holds the private key in the clear")
	}
	got, err := s.Load(ctx, name)
	if err != nil || !bytes.Equal(got, keyPEM) {
		t.Fatalf("Load: %q, %v", got, err)
	}
	other := newStorage(t, rdb, "another-key-of-16-bytes-or-more", "")
	if _, err := other.Load(ctx, name); !errors.Is(err, ErrSealed) {
		t.Errorf("Load with another storage key: %v, want ErrSealed", err)
	}
	rdb.Set(ctx, "rc:tls:v:moved.key", raw, 0)
	if _, err := s.Load(ctx, "moved.key"); !errors.Is(err, ErrSealed) {
		t.Errorf("a value moved to another name: %v, want ErrSealed", err)
	}
	if _, err := s.Load(ctx, "absent"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load of a missing name: %v, want fs.ErrNotExist", err)
	}
}

// TestRedisStorageListStatDelete: the certmagic.Storage contract on names
// that look like certmagic's.
func TestRedisStorageListStatDelete(t *testing.T) {
	rs := redistest.Start(t)
	ctx := t.Context()
	s := newStorage(t, rs.Client(), testKey, "")
	names := []string{"acme/ca/users/a@b/a.json", "acme/ca/users/a@b/a.key", "certificates/ca/x.com/x.com.crt", "certificates/ca/x.com/x.com.key"}
	before := time.Now()
	for _, n := range names {
		if err := s.Store(ctx, n, []byte(n)); err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range []struct {
		dir       string
		recursive bool
		want      []string
	}{
		{"certificates", false, []string{"certificates/ca"}},
		{"certificates/ca/x.com", false, []string{"certificates/ca/x.com/x.com.crt", "certificates/ca/x.com/x.com.key"}},
		{"acme", true, []string{"acme/ca/users/a@b/a.json", "acme/ca/users/a@b/a.key"}},
		{"", false, []string{"acme", "certificates"}},
	} {
		got, err := s.List(ctx, tt.dir, tt.recursive)
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("List(%q, %v) = %v, %v; want %v", tt.dir, tt.recursive, got, err, tt.want)
		}
	}
	ki, err := s.Stat(ctx, names[2])
	if err != nil || !ki.IsTerminal || ki.Size != int64(len(names[2])) || ki.Modified.Before(before.Add(-time.Second)) {
		t.Errorf("Stat(%s) = %+v, %v", names[2], ki, err)
	}
	if ki, err := s.Stat(ctx, "certificates/ca"); err != nil || ki.IsTerminal {
		t.Errorf("Stat of a directory = %+v, %v; want a non-terminal key", ki, err)
	}
	if !s.Exists(ctx, "certificates/ca/x.com") || s.Exists(ctx, "certificates/ca/y.com") {
		t.Error("Exists is wrong about a directory")
	}
	if err := s.Delete(ctx, "certificates/ca/x.com"); err != nil {
		t.Fatal(err)
	}
	for _, n := range names[2:] {
		if s.Exists(ctx, n) {
			t.Errorf("%s exists after its directory was deleted", n)
		}
	}
	if !s.Exists(ctx, names[0]) {
		t.Error("Delete took another directory's value")
	}
}

// TestRedisStorageLocalCopy: while Redis is down, values come from the
// local copy (still sealed on disk); a value Redis lost is put back from it.
func TestRedisStorageLocalCopy(t *testing.T) {
	rs := redistest.Start(t)
	ctx := t.Context()
	dir := t.TempDir()
	s := newStorage(t, rs.Client(), testKey, dir)
	name := "certificates/ca/x.com/x.com.key"
	if err := s.Store(ctx, name, keyPEM); err != nil {
		t.Fatal(err)
	}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if b, _ := os.ReadFile(p); bytes.Contains(b, []byte("PRIVATE KEY")) {
				t.Errorf("%s holds the key in the clear", p)
			}
		}
		return nil
	})
	// Lost by Redis (eviction): put back.
	rs.Client().Del(ctx, "rc:tls:v:"+name)
	if got, err := s.Load(ctx, name); err != nil || !bytes.Equal(got, keyPEM) {
		t.Fatalf("Load after Redis lost it: %q, %v", got, err)
	}
	if n, _ := rs.Client().Exists(ctx, "rc:tls:v:"+name).Result(); n != 1 {
		t.Error("the lost value was not put back in Redis")
	}
	// Redis down: a new instance (a restart) reads the local copy.
	rs.Kill()
	s2 := newStorage(t, redis.NewClient(&redis.Options{Addr: rs.Addr(), MaxRetries: -1}), testKey, dir)
	if got, err := s2.Load(ctx, name); err != nil || !bytes.Equal(got, keyPEM) {
		t.Fatalf("Load with Redis down: %q, %v", got, err)
	}
	if err := s2.Store(ctx, "x", []byte("y")); err == nil {
		t.Error("Store with Redis down succeeded: the instances would disagree")
	}
	if err := s2.Lock(ctx, "x"); err == nil {
		t.Error("Lock with Redis down succeeded")
	}
}

// TestRedisStorageLock: two instances' storages exclude each other; a lock
// whose holder died frees itself after LockTTL, and a held lock is kept
// alive past it.
func TestRedisStorageLock(t *testing.T) {
	rs := redistest.Start(t)
	ctx := t.Context()
	a := newStorage(t, rs.Client(), testKey, "")
	b := newStorage(t, rs.Client(), testKey, "")
	if err := a.Lock(ctx, "issue_cert_x.com"); err != nil {
		t.Fatal(err)
	}
	// Held past its TTL (refreshed): b waits.
	short, cancel := context.WithTimeout(ctx, 2*time.Second)
	err := b.Lock(short, "issue_cert_x.com")
	cancel()
	if err == nil {
		t.Fatal("b took a lock a holds")
	}
	var (
		mu    sync.Mutex
		order []string
		wg    sync.WaitGroup
	)
	wg.Go(func() {
		if err := b.Lock(ctx, "issue_cert_x.com"); err != nil {
			t.Error(err)
			return
		}
		mu.Lock()
		order = append(order, "b")
		mu.Unlock()
		b.Unlock(ctx, "issue_cert_x.com")
	})
	time.Sleep(300 * time.Millisecond)
	mu.Lock()
	order = append(order, "a done")
	mu.Unlock()
	if err := a.Unlock(ctx, "issue_cert_x.com"); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if strings.Join(order, ",") != "a done,b" {
		t.Fatalf("order %v: b held the lock while a did", order)
	}
	// A holder that died (its refresher gone, the key left): free after TTL.
	rs.Client().Set(ctx, "rc:tls:lock:dead", "someone-else", 900*time.Millisecond)
	wait, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := b.Lock(wait, "dead"); err != nil {
		t.Fatalf("a dead holder's lock was not freed: %v", err)
	}
	b.Unlock(ctx, "dead")
}
