package main

import (
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/reelcache/reelcache/internal/poll"
)

// TestProcReaders: rssMB and cpuSeconds read this process's own /proc
// files, and count a process that is gone as nothing.
func TestProcReaders(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	self := strconv.Itoa(os.Getpid())
	if rss := rssMB([]string{self}); rss <= 1 || rss > 1<<20 {
		t.Errorf("rssMB of this process = %v MB", rss)
	}
	// The kernel counts CPU time in ticks (10 ms): spin until one is ours.
	poll.Until(t, 10*time.Second, func() bool {
		for end := time.Now().Add(5 * time.Millisecond); time.Now().Before(end); {
		}
		return cpuSeconds([]string{self}) > 0
	}, "cpuSeconds of this busy process stays 0")
	if rss, cpu := rssMB([]string{"0"}), cpuSeconds([]string{"0"}); rss != 0 || cpu != 0 {
		t.Errorf("a process that does not exist: %v MB, %v s", rss, cpu)
	}
	if two, one := rssMB([]string{self, self}), rssMB([]string{self}); two < 1.5*one {
		t.Errorf("rssMB of the same process twice = %v, once %v: not summed", two, one)
	}
}
