package defaults

import (
	"testing"
	"time"
)

func TestPositive(t *testing.T) {
	tests := []struct {
		name   string
		v, def time.Duration
		want   time.Duration
	}{
		{"set", 3 * time.Second, time.Second, 3 * time.Second},
		{"zero", 0, time.Second, time.Second},
		{"negative", -time.Second, time.Second, time.Second},
		{"smallest positive", 1, time.Second, 1},
	}
	for _, tt := range tests {
		if got := Positive(tt.v, tt.def); got != tt.want {
			t.Errorf("%s: Positive(%v, %v) = %v, want %v", tt.name, tt.v, tt.def, got, tt.want)
		}
	}
	if got := Positive(-1, 4); got != 4 {
		t.Errorf("Positive(-1, 4) = %d, want 4", got)
	}
	if got := Positive(0.5, 2.0); got != 0.5 {
		t.Errorf("Positive(0.5, 2.0) = %v, want 0.5", got)
	}
}
