package main

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"

	"github.com/reelcache/reelcache/internal/poll"
)

func TestGCPercentForKeepsTheFloor(t *testing.T) {
	const MiB = 1 << 20
	for _, tt := range []struct {
		live, floor, base int64
		want              int
	}{
		{8 * MiB, 64 * MiB, 100, 700},    // goal 8*8 = 64 MiB
		{4 * MiB, 64 * MiB, 100, 1500},   // goal 4*16 = 64 MiB
		{32 * MiB, 64 * MiB, 100, 100},   // at the floor: base
		{200 * MiB, 64 * MiB, 100, 100},  // above it: base
		{200 * MiB, 64 * MiB, 33, 33},    // a tier's lower base stays
		{0, 64 * MiB, 100, 6300},         // before the first GC: as if 1 MiB live
		{100, 1 << 40, 100, 10000},       // capped
		{16 * MiB, 64 * MiB, 1000, 1000}, // base above what the floor needs
	} {
		if got := gcPercentFor(tt.live, tt.floor, tt.base); got != tt.want {
			t.Errorf("gcPercentFor(%d, %d, %d) = %d, want %d", tt.live, tt.floor, tt.base, got, tt.want)
		}
	}
}

// TestHeapFloorRaisesTheGoal runs the floor in this process: after a
// collection with a small live heap, the GC's goal is at least the floor;
// after stop, GOGC is the base again and stays there.
func TestHeapFloorRaisesTheGoal(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	const floor = 256 << 20 // far above this test binary's live heap
	read := func() (gogc, goal uint64) {
		s := []metrics.Sample{{Name: "/gc/gogc:percent"}, {Name: "/gc/heap/goal:bytes"}}
		metrics.Read(s)
		return s[0].Value.Uint64(), s[1].Value.Uint64()
	}
	stop := startHeapFloor(floor, 100)
	// The floor is set by a finalizer that runs after a collection, on its
	// own goroutine.
	poll.Wait(5*time.Second, func() bool {
		runtime.GC()
		_, goal := read()
		return goal >= floor
	})
	if gogc, goal := read(); goal < floor || gogc <= 100 {
		t.Errorf("with a floor of %d: GOGC %d, heap goal %d", floor, gogc, goal)
	}
	stop()
	// Nothing shows that a finalizer did not run: give it a few collections.
	for range 3 {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	if gogc, goal := read(); gogc != 100 || goal >= floor {
		t.Errorf("after stop: GOGC %d, heap goal %d, want 100 and the default goal", gogc, goal)
	}
}
