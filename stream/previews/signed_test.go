package previews

import (
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/reelcache/reelcache/internal/redistest"
	"github.com/reelcache/reelcache/stream"
)

// TestSignedURLs: behind the media middleware with signing on, the WebVTT
// file needs a signed URL, and the sprite URLs in it are signed for the
// viewer until the same expiry; unsigned or tampered sprite URLs are 403.
// The sprites' Cache-Control is long (the version is in their URL), and the
// WebVTT file answers If-None-Match with 304.
func TestSignedURLs(t *testing.T) {
	dir := t.TempDir()
	makeVideo(t, filepath.Join(dir, "a b.mp4"), 20, 10)
	signer, err := stream.NewSigner([]string{"0123456789abcdef-test-key"})
	if err != nil {
		t.Fatal(err)
	}
	mw := []echo.MiddlewareFunc{stream.CacheControl("max-age=60"), stream.RequireSignature(signer)}
	in := newInstance(t, dir, redistest.Start(t), func(o *Options) { o.Signer, o.Middleware = signer, mw })

	if code, _, _ := in.get(t, "/previews/a%20b.mp4.vtt"); code != http.StatusForbidden {
		t.Fatalf("unsigned WebVTT URL: %d, want 403", code)
	}
	exp := time.Now().Add(time.Hour).Truncate(time.Second)
	code, hdr, body := in.get(t, signer.SignPath(VTTPath("a b.mp4"), exp))
	if code != http.StatusOK {
		t.Fatalf("signed WebVTT URL: %d %s", code, body)
	}
	cues := parseVTT(t, body)
	if len(cues) != 20 {
		t.Fatalf("%d cues, want 20", len(cues))
	}
	u, err := url.Parse(cues[0].url)
	if err != nil {
		t.Fatal(err)
	}
	if got := u.Query().Get("exp"); got != strconv.FormatInt(exp.Unix(), 10) {
		t.Errorf("sprite URL expires at %s, want the WebVTT URL's %d", got, exp.Unix())
	}
	code, shdr, _ := in.get(t, cues[0].url)
	if code != http.StatusOK {
		t.Fatalf("signed sprite URL %s: %d", cues[0].url, code)
	}
	if cc := shdr.Get("Cache-Control"); !strings.Contains(cc, "max-age=31536000") {
		t.Errorf("sprite Cache-Control %q, want a long max-age", cc)
	}
	if cc := hdr.Get("Cache-Control"); cc != "max-age=60" {
		t.Errorf("WebVTT Cache-Control %q, want the media routes' max-age=60", cc)
	}
	for _, bad := range []string{u.Path, strings.Replace(cues[0].url, "sprite-0", "sprite-1", 1), strings.Replace(cues[0].url, "sig=", "sig=A", 1)} {
		if code, _, _ := in.get(t, bad); code != http.StatusForbidden {
			t.Errorf("GET %s: %d, want 403", bad, code)
		}
	}
	req, _ := http.NewRequest("GET", in.srv.URL+signer.SignPath(VTTPath("a b.mp4"), exp), nil)
	req.Header.Set("If-None-Match", hdr.Get("ETag"))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNotModified || hdr.Get("ETag") == "" {
		t.Errorf("If-None-Match %s: %d, want 304", hdr.Get("ETag"), res.StatusCode)
	}
}
