package cachewarm

import (
	"errors"
	"io/fs"
	"strings"
	"testing"
)

func TestResolveList(t *testing.T) {
	names := []string{"a.mp4", "movies/b.mp4", "movies/old/c.webm", "shows/d.mp4"}
	keep := func(n string) bool { return strings.HasSuffix(n, ".mp4") || strings.HasSuffix(n, ".webm") }
	for _, tt := range []struct {
		args []string
		want string // names joined by spaces, or the error's text
		err  error
	}{
		{nil, "a.mp4 movies/b.mp4 movies/old/c.webm shows/d.mp4", nil},
		{[]string{"."}, "a.mp4 movies/b.mp4 movies/old/c.webm shows/d.mp4", nil},
		{[]string{"movies"}, "movies/b.mp4 movies/old/c.webm", nil},
		{[]string{"movies/", "a.mp4", "a.mp4"}, "a.mp4 movies/b.mp4 movies/old/c.webm", nil},
		{[]string{"*"}, "a.mp4 movies/b.mp4 movies/old/c.webm shows/d.mp4", nil},
		{[]string{"movies/*.mp4"}, "movies/b.mp4", nil},
		{[]string{"s*"}, "shows/d.mp4", nil},
		{[]string{"x*"}, "x*: no file matches", nil},
		{[]string{"gone.mp4"}, "", fs.ErrNotExist},
		{[]string{"notes.txt"}, "not a media file", nil},
		{[]string{"../a.mp4"}, "relative to the origin", nil},
		{[]string{"/a.mp4"}, "relative to the origin", nil},
		{[]string{".hidden.mp4"}, "relative to the origin", nil},
		{[]string{"[x"}, "syntax error", nil},
	} {
		got, err := ResolveList(names, tt.args, keep)
		text := strings.Join(got, " ")
		if err != nil {
			text = err.Error()
		}
		if tt.err != nil {
			if !errors.Is(err, tt.err) {
				t.Errorf("ResolveList(%q): %v, want %v", tt.args, err, tt.err)
			}
			continue
		}
		if (err == nil && text != tt.want) || (err != nil && !strings.Contains(text, tt.want)) {
			t.Errorf("ResolveList(%q) = %q, want %q", tt.args, text, tt.want)
		}
	}
	if got, err := ResolvePlain([]string{"b.mp4", "a/c.mp4"}, keep); err != nil || strings.Join(got, " ") != "a/c.mp4 b.mp4" {
		t.Errorf("ResolvePlain: %v %v", got, err)
	}
	for _, args := range [][]string{nil, {"*.mp4"}, {"."}} {
		if _, err := ResolvePlain(args, keep); !errors.Is(err, ErrNoListing) {
			t.Errorf("ResolvePlain(%q): %v, want ErrNoListing", args, err)
		}
	}
}
