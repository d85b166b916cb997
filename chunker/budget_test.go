package chunker

import (
	"bytes"
	"context"
	"testing"
	"time"
)

// TestFullBudgetSendsFromTheLocalFile: with the in-flight budget taken, a
// reader of a local file does not wait for room: the bytes a Redis window
// would have held are sent from the file (sendfile), which takes no
// memory. (Before, it waited until another request let go.)
func TestFullBudgetSendsFromTheLocalFile(t *testing.T) {
	const cs = 64 << 10
	fx := newFixture(t, true, Options{ChunkSize: cs, Fill: FillSync, MaxInflightBytes: 8 * cs, Settle: time.Nanosecond})
	want := writeRandom(t, fx.dir, "a.mp4", 4*cs, 11)
	if got, _ := readAll(t, fx.cache, "a.mp4"); !bytes.Equal(got, want) {
		t.Fatal("first read differs from the file")
	}
	waitIdle(t, fx.cache)
	held, err := fx.cache.acquire(context.Background(), fx.cache.memCap)
	if err != nil {
		t.Fatal(err)
	}
	defer fx.cache.release(held)
	before := fx.cache.Stats()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	f, err := fx.cache.Open(ctx, "a.mp4")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var buf bytes.Buffer
	if _, err := f.WriteRange(&buf, cs/2, 2*cs); err != nil {
		t.Fatalf("with the budget taken: %v", err)
	}
	if !bytes.Equal(buf.Bytes(), want[cs/2:cs/2+2*cs]) {
		t.Fatal("bytes differ from the file")
	}
	if after := fx.cache.Stats(); after.DiskBytes-before.DiskBytes != 2*cs {
		t.Fatalf("%d bytes from the file, want %d", after.DiskBytes-before.DiskBytes, 2*cs)
	}
}
