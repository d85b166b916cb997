package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/reelcache/reelcache/internal/redistest"
	"github.com/reelcache/reelcache/internal/testmedia"
)

// cacheCLI runs reelcache subcommands in-process against a real Redis and a
// media root, from a temp dir (no reelcache.yaml of the developer's), and
// returns what each printed on stdout.
func cacheCLI(t *testing.T, common ...string) func(args ...string) (string, error) {
	t.Chdir(t.TempDir())
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	return func(args ...string) (string, error) {
		var out bytes.Buffer
		err := run(t.Context(), append(args, common...), &out, io.Discard)
		return out.String(), err
	}
}

// TestPurgeAllSparesOtherApplications: `cache purge --yes` with a prefix
// holding glob characters deletes exactly its own chunks, on a real Redis
// where another application's keys match the unescaped glob (issue 13:
// "rc[1]" deleted "rc1:c:..." and left its own keys).
func TestPurgeAllSparesOtherApplications(t *testing.T) {
	rs := redistest.Start(t)
	cli := cacheCLI(t, "--media-root", testmedia.SamplesDir(t), "--redis-url", rs.URL(), "--redis-key-prefix", "rc[1]")
	if out, err := cli("warm", "sample.webm"); err != nil {
		t.Fatalf("warm: %v\n%s", err, out)
	}
	ctx := t.Context()
	own := rs.Keys(ctx, `rc\[1\]:*`)
	if len(own) != 2 {
		t.Fatalf("after warm, keys under rc[1]: %q, want 2", own)
	}
	others := []string{"rc1:c:0123456789abcdef:1048576:0", "rc1:session:7", "rc]:c:0123456789abcdef:1048576:0"}
	for _, k := range others {
		if err := rs.Client().Set(ctx, k, "another app's", 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	out, err := cli("cache", "purge", "--yes")
	if err != nil || !strings.Contains(out, "purged 2 chunks") {
		t.Fatalf("purge --yes: %v\n%s", err, out)
	}
	left := rs.Keys(ctx, "*")
	// Besides the other application's keys, the purge generation of this
	// prefix (it tells serving instances to empty their local tiers).
	want := append(others, "rc[1]:purge:gen")
	slices.Sort(left)
	slices.Sort(want)
	if !slices.Equal(left, want) {
		t.Errorf("keys after purge: %q, want exactly the other application's and the purge generation %q", left, want)
	}
}

// TestCacheStatusEscapesNames: `cache status` of a real file whose name
// holds an escape sequence and a newline prints one line per file and no
// control character (issue 13).
func TestCacheStatusEscapesNames(t *testing.T) {
	rs := redistest.Start(t)
	media := t.TempDir()
	const evil = "x\x1b]0;owned\x07\x1b[2Jfake\nline.mp4"
	for _, name := range []string{evil, "plain.mp4"} {
		if err := os.WriteFile(filepath.Join(media, name), bytes.Repeat([]byte("v"), 100_000), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cli := cacheCLI(t, "--media-root", media, "--redis-url", rs.URL())
	if out, err := cli("warm"); err != nil {
		t.Fatalf("warm: %v\n%s", err, out)
	}
	out, err := cli("cache", "status")
	if err != nil {
		t.Fatalf("cache status: %v\n%s", err, out)
	}
	if n := strings.Count(out, "\n"); n != 2 {
		t.Errorf("cache status printed %d lines for 2 files:\n%s", n, out)
	}
	if i := strings.IndexFunc(out, func(r rune) bool { return r < 0x20 && r != '\n' }); i >= 0 {
		t.Errorf("cache status printed control character %q: %q", out[i], out)
	}
	if want := `"x\x1b]0;owned\a\x1b[2Jfake\nline.mp4"`; !strings.Contains(out, want) {
		t.Errorf("cache status does not show the name as %s:\n%q", want, out)
	}
}

func TestErrorTextEscapesControlCharacters(t *testing.T) {
	err := errors.Join(fmt.Errorf("status of %s: %w", "a\x1b[2J.mp4", os.ErrNotExist), errors.New("second"))
	want := "status of a\\x1b[2J.mp4: file does not exist\nsecond"
	if got := errorText(err); got != want {
		t.Errorf("errorText = %q, want %q", got, want)
	}
}
