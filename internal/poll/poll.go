// Package poll lets tests wait for a condition instead of for a time: a
// sleep long enough for a loaded machine is too long everywhere else, and
// still too short on the next slower one.
package poll

import (
	"testing"
	"time"
)

// Wait calls cond until it returns true or timeout has passed, and reports
// whether it returned true. It sleeps between calls, 1ms at first, doubling
// up to 50ms, so that a condition met at once costs almost nothing and a
// slow one does not spin.
func Wait(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for pause := time.Millisecond; ; pause = min(2*pause, 50*time.Millisecond) {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(pause)
	}
}

// Until is Wait that fails the test, with the message format and args
// format as for fmt.Sprintf, when cond has not returned true within
// timeout. It must be called from the test's goroutine.
func Until(tb testing.TB, timeout time.Duration, cond func() bool, format string, args ...any) {
	tb.Helper()
	if !Wait(timeout, cond) {
		tb.Fatalf("after %v: "+format, append([]any{timeout}, args...)...)
	}
}
