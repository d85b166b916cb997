package chunker

import "testing"

// TestFillModeNames checks that ParseFillMode and String agree on each
// mode's name, that other names are errors, and that a value that is no
// mode prints as the default.
func TestFillModeNames(t *testing.T) {
	for m, name := range map[FillMode]string{FillAsync: "async", FillSync: "sync", FillOff: "off"} {
		if got := m.String(); got != name {
			t.Errorf("FillMode(%d).String() = %q, want %q", int(m), got, name)
		}
		if got, err := ParseFillMode(name); err != nil || got != m {
			t.Errorf("ParseFillMode(%q) = %v, %v; want %v", name, got, err, m)
		}
	}
	for _, s := range []string{"", "Sync", "never"} {
		if got, err := ParseFillMode(s); err == nil {
			t.Errorf("ParseFillMode(%q) = %v, want an error", s, got)
		}
	}
	for _, m := range []FillMode{-1, FillOff + 1} {
		if got := m.String(); got != "async" {
			t.Errorf("FillMode(%d).String() = %q, want async", int(m), got)
		}
	}
}
