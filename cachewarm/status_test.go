package cachewarm

import (
	"bytes"
	"strings"
	"testing"

	"github.com/reelcache/reelcache/internal/testmedia"
)

// TestStatusEscapesControlCharacters: `cache status` of a real file whose
// name holds an escape sequence and a newline, warmed into a real Redis,
// prints one line for it, without a raw control character, and with the
// name quoted (issue 13).
func TestStatusEscapesControlCharacters(t *testing.T) {
	fx := newFixture(t)
	const evil = "clip\x1b[2J\x1b[1;1Hfake\nwarmed.mp4"
	fx.write(t, evil, testmedia.Bytes(3*chunkSize, 1))
	fx.write(t, "plain.mp4", testmedia.Bytes(chunkSize, 2))
	fx.warm(t, Options{}) // the whole root: a name with "[" is not a pattern
	files, err := Status(t.Context(), fx.cache, []string{evil, "plain.mp4"})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := WriteStatus(&out, files, 40); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("status printed %d lines for 2 files:\n%s", len(lines), got)
	}
	if i := strings.IndexFunc(got, func(r rune) bool { return r < 0x20 && r != '\n' }); i >= 0 {
		t.Errorf("status output holds control character %q at %d: %q", got[i], i, got)
	}
	want := `"clip\x1b[2J\x1b[1;1Hfake\nwarmed.mp4"  `
	if !strings.HasPrefix(lines[0], want) || !strings.Contains(lines[0], " 3/3 ") {
		t.Errorf("line 0 = %q, want it to start %q and show 3/3 chunks", lines[0], want)
	}
	// The plain name is unquoted and padded to the same column.
	if !strings.HasPrefix(lines[1], "plain.mp4 ") || strings.Index(lines[1], "/") != strings.Index(lines[0], "/") {
		t.Errorf("line 1 = %q, not aligned with %q", lines[1], lines[0])
	}
}

func TestDisplayName(t *testing.T) {
	for _, tt := range []struct{ in, name, msg string }{
		{"movies/a.mp4", "movies/a.mp4", "movies/a.mp4"},
		{"films/été 1.mp4", "films/été 1.mp4", "films/été 1.mp4"},
		{`back\slash.mp4`, `back\slash.mp4`, `back\slash.mp4`},
		{"a\x1b[31mred.mp4", `"a\x1b[31mred.mp4"`, `a\x1b[31mred.mp4`},
		{"two\nlines.mp4", `"two\nlines.mp4"`, `two\nlines.mp4`},
		{"tab\there.mp4", `"tab\there.mp4"`, `tab\there.mp4`},
		{"bidi\u202egnp.mp4", `"bidi\u202egnp.mp4"`, `bidi\u202egnp.mp4`},
		{"bad\xffutf8.mp4", `"bad\xffutf8.mp4"`, `bad\xffutf8.mp4`},
		{"ok\uFFFD.mp4", "ok\uFFFD.mp4", "ok\uFFFD.mp4"},
		{`"quoted".mp4`, `"\"quoted\".mp4"`, `"quoted".mp4`},
	} {
		if got := DisplayName(tt.in); got != tt.name {
			t.Errorf("DisplayName(%q) = %s, want %s", tt.in, got, tt.name)
		}
		if got := EscapeControl(tt.in); got != tt.msg {
			t.Errorf("EscapeControl(%q) = %s, want %s", tt.in, got, tt.msg)
		}
	}
}
