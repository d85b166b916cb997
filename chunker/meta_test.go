package chunker

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/reelcache/reelcache/internal/poll"
)

func TestMetaBoundToVersion(t *testing.T) {
	fx := newFixture(t, true, Options{})
	ctx := context.Background()
	c := fx.cache
	if _, err := c.Meta(ctx, "v1", "index"); !errors.Is(err, ErrNoMeta) {
		t.Fatalf("Meta before SetMeta: err = %v, want ErrNoMeta", err)
	}
	if err := c.SetMeta(ctx, "v1", "index", []byte("one\x00two")); err != nil {
		t.Fatal(err)
	}
	got, err := c.Meta(ctx, "v1", "index")
	if err != nil || string(got) != "one\x00two" {
		t.Fatalf("Meta = %q, %v; want %q", got, err, "one\x00two")
	}
	if _, err := c.Meta(ctx, "v2", "index"); !errors.Is(err, ErrNoMeta) {
		t.Fatalf("Meta of another version: err = %v, want ErrNoMeta", err)
	}
	// A damaged or forged value reads as absent.
	rdb := fx.redis.Client()
	defer rdb.Close()
	rdb.Set(ctx, "reelcache:m:v1:forged", "one\x00two", 0)
	if _, err := c.Meta(ctx, "v1", "forged"); !errors.Is(err, ErrNoMeta) {
		t.Fatalf("Meta of an unsealed value: err = %v, want ErrNoMeta", err)
	}
	for _, bad := range []string{"", "a:b", "a b", "\x1b"} {
		if err := c.SetMeta(ctx, "v1", bad, nil); err == nil {
			t.Errorf("SetMeta kind %q: no error", bad)
		}
	}

	// A purge of the version removes its values and leases, and nothing of
	// another version.
	c.SetMeta(ctx, "v2", "index", []byte("x"))
	ok, _, err := c.MetaLease(ctx, "v1", "previews", time.Minute)
	if err != nil || !ok {
		t.Fatalf("MetaLease = %v, %v", ok, err)
	}
	n, err := c.Store().PurgeMeta(ctx, []string{"v1"})
	if err != nil || n != 3 {
		t.Fatalf("PurgeMeta(v1) = %d, %v; want 3 keys", n, err)
	}
	if _, err := c.Meta(ctx, "v1", "index"); !errors.Is(err, ErrNoMeta) {
		t.Fatalf("Meta after purge: err = %v", err)
	}
	rdb.Set(ctx, "other:m:v9:index", "keep", 0)
	if n, err := c.Store().PurgeMeta(ctx, nil); err != nil || n != 1 {
		t.Fatalf("PurgeMeta(all) = %d, %v; want 1 key", n, err)
	}
	if v, _ := rdb.Get(ctx, "other:m:v9:index").Result(); v != "keep" {
		t.Fatal("PurgeMeta(all) deleted another prefix's key")
	}
}

func TestMetaLeaseIsExclusive(t *testing.T) {
	fx := newFixture(t, true, Options{})
	ctx := context.Background()
	c := fx.cache
	ok1, release1, err := c.MetaLease(ctx, "v", "previews", time.Minute)
	if err != nil || !ok1 {
		t.Fatalf("first lease = %v, %v", ok1, err)
	}
	ok2, _, err := c.MetaLease(ctx, "v", "previews", time.Minute)
	if err != nil || ok2 {
		t.Fatalf("second lease while held = %v, %v; want false", ok2, err)
	}
	release1()
	ok3, release3, err := c.MetaLease(ctx, "v", "previews", time.Minute)
	if err != nil || !ok3 {
		t.Fatalf("lease after release = %v, %v", ok3, err)
	}
	release3()
	// A holder whose lease expired must not release its successor's.
	okA, releaseA, _ := c.MetaLease(ctx, "w", "previews", 50*time.Millisecond)
	if !okA {
		t.Fatal("lease on w refused")
	}
	poll.Until(t, 5*time.Second, func() bool {
		ok, _, err := c.MetaLease(ctx, "w", "previews", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}, "expired lease never went")
	releaseA()
	if ok, _, _ := c.MetaLease(ctx, "w", "previews", time.Minute); ok {
		t.Fatal("an expired holder's release removed its successor's lease")
	}
}

// TestMetaMissKeepsRedis: asking for a metadata value that is not there is
// an answer, not a failure. Before the fix, each miss counted toward the
// breaker, and three (a preview request polling for its job) switched the
// cache off for every viewer.
func TestMetaMissKeepsRedis(t *testing.T) {
	fx := newFixture(t, true, Options{})
	ctx := context.Background()
	for i := range 10 {
		if _, err := fx.cache.Meta(ctx, "v1", "previews"); !errors.Is(err, ErrNoMeta) {
			t.Fatalf("Meta %d: err = %v, want ErrNoMeta", i, err)
		}
	}
	if !fx.cache.Store().Available() {
		t.Fatal("the breaker opened after metadata misses")
	}
}
