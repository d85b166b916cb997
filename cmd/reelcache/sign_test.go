package main

import (
	"bytes"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reelcache/reelcache/stream"
)

// TestSignCommand: `reelcache sign` signs exactly the path it is given (a
// leading "media/" is a folder under the root, not the URL prefix), a
// signing key with commas is one key that an application signing with it
// can rely on, and `sign --page` prints a player link whose grant opens
// the API for its scope (issue 13 item 12, issue 16).
func TestSignCommand(t *testing.T) {
	dir := t.TempDir()
	files := map[string][]byte{"x.mp4": []byte("the file at the root"), "media/x.mp4": []byte("the file in media/"), "films/a.mp4": []byte("a film")}
	for name, b := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	const key = "first-part-0123456789,second-part-0123456789"
	t.Setenv("REELCACHE_AUTH_SIGNING_KEY", key)
	srv := startServe(t, "--media-root", dir, "--redis-url", "")
	sign := func(args ...string) (string, string, error) {
		var out, errOut bytes.Buffer
		err := run(t.Context(), append(append([]string{"sign"}, args...), "--media-root", dir, "--base", srv.url), &out, &errOut)
		return strings.TrimSpace(out.String()), errOut.String(), err
	}

	for _, name := range []string{"media/x.mp4", "x.mp4"} {
		u, _, err := sign(name)
		if err != nil {
			t.Fatalf("sign %s: %v", name, err)
		}
		if want := srv.url + "/media/" + name + "?"; !strings.HasPrefix(u, want) {
			t.Errorf("sign %s printed %s, want %s...", name, u, want)
		}
		body, _ := curl(t, u)
		if !bytes.Equal(body, files[name]) {
			t.Errorf("sign %s: served %q, want %q", name, body, files[name])
		}
	}

	// An application that signs with the configured key, commas and all.
	app, _ := stream.NewSigner([]string{key})
	body, _ := curl(t, srv.url+app.SignURL("x.mp4", time.Now().Add(time.Minute)))
	if !bytes.Equal(body, files["x.mp4"]) {
		t.Errorf("URL signed with the whole key: %q", body)
	}

	for _, bad := range []string{"/x.mp4", "../x.mp4", "a//x.mp4", ".", "films/"} {
		if _, _, err := sign(bad); exitCode(err) != 2 {
			t.Errorf("sign %q: %v, want a usage error", bad, err)
		}
	}
	if _, stderr, err := sign("nope.mp4"); err != nil || !strings.Contains(stderr, "warning: nope.mp4 is not under media.root") {
		t.Errorf("sign nope.mp4: %v, stderr %q; want a warning", err, stderr)
	}

	// Page links: the grant lists exactly its scope.
	for _, tt := range []struct {
		scope, hash string
		listed      []string
	}{
		{"films/", "", []string{"films/a.mp4"}},
		{"films/a.mp4", "#films/a.mp4", []string{"films/a.mp4"}},
		{"/", "", []string{"films/a.mp4", "media/x.mp4", "x.mp4"}},
	} {
		link, _, err := sign("--page", "--ttl", "4h", tt.scope)
		if err != nil {
			t.Fatalf("sign --page %s: %v", tt.scope, err)
		}
		u, err := url.Parse(link)
		hash := ""
		if err == nil && u.Fragment != "" {
			hash = "#" + u.Fragment
		}
		if err != nil || u.Path != "/" || hash != tt.hash || u.Query().Get("grant") == "" {
			t.Fatalf("sign --page %s printed %q", tt.scope, link)
		}
		body, _ := curl(t, srv.url+"/api/media?"+url.Values{"grant": {u.Query().Get("grant")}}.Encode())
		var items []struct{ Path, URL string }
		if err := json.Unmarshal(body, &items); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, it := range items {
			got = append(got, it.Path)
		}
		if strings.Join(got, " ") != strings.Join(tt.listed, " ") {
			t.Errorf("grant for %s lists %v, want %v", tt.scope, got, tt.listed)
		}
		if len(items) > 0 {
			b, _ := curl(t, srv.url+items[0].URL)
			if !bytes.Equal(b, files[items[0].Path]) {
				t.Errorf("listed URL %s: %q", items[0].URL, b)
			}
		}
	}
}
