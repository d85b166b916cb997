package poll

import (
	"fmt"
	"testing"
	"time"
)

func TestWait(t *testing.T) {
	tests := []struct {
		name    string
		trueAt  int // the call from which cond returns true; 0: never
		timeout time.Duration
		want    bool
	}{
		{"at once", 1, time.Second, true},
		{"after some calls", 5, 10 * time.Second, true},
		{"never", 0, 30 * time.Millisecond, false},
		{"at once with no time", 1, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			got := Wait(tt.timeout, func() bool {
				calls++
				return tt.trueAt > 0 && calls >= tt.trueAt
			})
			if got != tt.want {
				t.Fatalf("Wait = %v after %d calls, want %v", got, calls, tt.want)
			}
			if tt.want && calls != tt.trueAt {
				t.Errorf("cond called %d times, want %d: Wait went on after it held", calls, tt.trueAt)
			}
			if !tt.want && calls < 2 {
				t.Errorf("cond called %d times in %v: Wait gave up without retrying", calls, tt.timeout)
			}
		})
	}
}

// recorder is a testing.TB that records Fatalf instead of ending the test.
type recorder struct {
	testing.TB
	msg string
}

func (r *recorder) Helper() {}

func (r *recorder) Fatalf(format string, args ...any) { r.msg = fmt.Sprintf(format, args...) }

func TestUntil(t *testing.T) {
	r := &recorder{TB: t}
	Until(r, 10*time.Millisecond, func() bool { return true }, "never shown")
	if r.msg != "" {
		t.Fatalf("Until failed a condition that held: %q", r.msg)
	}
	Until(r, 10*time.Millisecond, func() bool { return false }, "no %s", "answer")
	if want := "after 10ms: no answer"; r.msg != want {
		t.Fatalf("Until's message %q, want %q", r.msg, want)
	}
}
