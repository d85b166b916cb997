package dash

import (
	"reflect"
	"testing"
)

func TestTimeline(t *testing.T) {
	cases := []struct {
		starts []uint64
		end    uint64
		want   []S
	}{
		{[]uint64{0, 6, 12, 18}, 20, []S{{0, 6, 2}, {18, 2, 0}}},
		{[]uint64{0}, 5, []S{{0, 5, 0}}},
		{[]uint64{0, 4, 10, 16, 22}, 24, []S{{0, 4, 0}, {4, 6, 2}, {22, 2, 0}}},
	}
	for _, c := range cases {
		if got := Timeline(c.starts, c.end); !reflect.DeepEqual(got, c.want) {
			t.Errorf("Timeline(%v, %d) = %v, want %v", c.starts, c.end, got, c.want)
		}
	}
}
