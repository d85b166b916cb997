package cachewarm

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestResolve(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"a.mp4", "b.webm", "x.txt", "d/c.mp4", "d/e/f.mp4", ".h/g.mp4", "d/.i.mp4"} {
		p := filepath.Join(dir, n)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte("x"), 0o644)
	}
	keep := func(n string) bool { return !strings.HasSuffix(n, ".txt") }
	root, _ := os.OpenRoot(dir)
	defer root.Close()
	for _, tt := range []struct {
		args    []string
		want    []string
		wantErr string
	}{
		{nil, []string{"a.mp4", "b.webm", "d/c.mp4", "d/e/f.mp4"}, ""},
		{[]string{"d"}, []string{"d/c.mp4", "d/e/f.mp4"}, ""},
		{[]string{"d/c.mp4", "a.mp4", "d/c.mp4"}, []string{"a.mp4", "d/c.mp4"}, ""},
		{[]string{filepath.Join(dir, "d", "e")}, []string{"d/e/f.mp4"}, ""},
		{[]string{"*.mp4"}, []string{"a.mp4"}, ""},
		{[]string{"d/*/*.mp4"}, []string{"d/e/f.mp4"}, ""},
		{[]string{"../x.mp4"}, nil, "outside the media root"},
		{[]string{"/etc/passwd"}, nil, "outside the media root"},
		{[]string{filepath.Dir(dir)}, nil, "outside the media root"},
		{[]string{"x.txt"}, nil, "not a media file"},
		{[]string{"nope.mp4"}, nil, "no such file"},
		{[]string{"*.mov"}, nil, "no file matches"},
	} {
		got, err := Resolve(root.FS(), dir, tt.args, keep)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Resolve(%q): err %v, want %q", tt.args, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("Resolve(%q) = %q, %v; want %q", tt.args, got, err, tt.want)
		}
	}
}

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
