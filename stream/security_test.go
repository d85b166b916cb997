package stream

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/reelcache/reelcache/chunker"
	"github.com/reelcache/reelcache/internal/poll"
)

// secret is the content of a file just outside the media root; no response
// may ever contain it.
const secret = "TOP-SECRET-OUTSIDE-THE-ROOT"

// hostileServer is a media root with one good file, and secrets beside and
// above it.
func hostileServer(t testing.TB) (*server, string) {
	s := newServer(t, serverOptions{chunkSize: 64 << 10, fill: chunker.FillSync})
	s.write(t, "ok.mp4", 1000, 1)
	s.write(t, "sub/ok.webm", 1000, 2)
	s.write(t, ".env.mp4", 10, 3)
	s.write(t, ".git/config.mp4", 10, 3)
	parent := filepath.Dir(s.dir)
	base := filepath.Base(s.dir)
	for _, p := range []string{filepath.Join(parent, base+"-secret.mp4"), filepath.Join(parent, "secret.mp4")} {
		if err := os.WriteFile(p, []byte(secret), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Remove(p) })
	}
	os.Symlink(filepath.Join(parent, "secret.mp4"), filepath.Join(s.dir, "link-out.mp4"))
	os.Symlink("/etc/passwd", filepath.Join(s.dir, "passwd.mp4"))
	os.Symlink("ok.mp4", filepath.Join(s.dir, "link-in.mp4"))
	os.Symlink("..", filepath.Join(s.dir, "up"))
	return s, base
}

// rawGet sends path exactly as written, without the client cleaning it.
func rawGet(t testing.TB, base, path string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", base, nil)
	req.URL.Opaque = path
	res, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

// TestHostilePaths: path tricks get 404 (or 400 where the HTTP server
// refuses the request line), never a byte from outside the root, never a
// file-system path in the body.
func TestHostilePaths(t *testing.T) {
	s, base := hostileServer(t)
	hostile := []string{
		"/media/../secret.mp4",
		"/media/../" + base + "-secret.mp4",
		"/media/%2e%2e/secret.mp4",
		"/media/%2E%2E/secret.mp4",
		"/media/..%2fsecret.mp4",
		"/media/..%2Fsecret.mp4",
		"/media/%2e%2e%2fsecret.mp4",
		"/media/%252e%252e/secret.mp4",
		"/media/%252e%252e%252fsecret.mp4",
		"/media/..%5csecret.mp4",
		"/media/..%5Csecret.mp4",
		"/media/sub/../../secret.mp4",
		"/media/sub/%2e%2e/%2e%2e/secret.mp4",
		"/media/./ok.mp4",
		"/media//ok.mp4",
		"/media/sub//ok.webm",
		"/media/%2fetc/passwd.mp4",
		"/media/%2Fetc%2Fpasswd",
		"/media/ok.mp4%00",
		"/media/ok.mp4%00.mp4",
		"/media/.env.mp4",
		"/media/.git/config.mp4",
		"/media/%2egit/config.mp4",
		"/media/link-out.mp4",
		"/media/passwd.mp4",
		"/media/up/secret.mp4",
		"/media/up/" + base + "-secret.mp4",
		"/media/sub",
		"/media/sub/",
		"/media/",
		"/media/ok.txt",
		"/media/ok.mp4/",
		"/media/ok.mp4/..",
		"/media/ok.MP4.exe",
		"/media/..",
		"/media/...",
		"/media/....//secret.mp4",
		"/media/%c0%ae%c0%ae/secret.mp4",
		"/media/\\..\\secret.mp4",
		"/media/C:%5cWindows%5cwin.ini.mp4",
	}
	before := s.cache.Stats().DiskBytes
	for _, p := range hostile {
		status, body := rawGet(t, s.srv.URL, p)
		if status != http.StatusNotFound && status != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 404 or 400", p, status)
		}
		if bytes.Contains(body, []byte(secret)) || bytes.Contains(body, []byte(s.dir)) || bytes.Contains(body, []byte("root:")) {
			t.Errorf("%s: body leaks: %q", p, body)
		}
	}
	if d := s.cache.Stats().DiskBytes - before; d != 0 {
		t.Errorf("hostile requests read %d bytes from disk", d)
	}
	// Inside the root, links work and the good files are served.
	for _, p := range []string{"/media/ok.mp4", "/media/link-in.mp4", "/media/sub/ok.webm"} {
		if status, body := rawGet(t, s.srv.URL, p); status != 200 || len(body) != 1000 {
			t.Errorf("%s: status %d, %d bytes", p, status, len(body))
		}
	}
	if len(hostile) < 30 {
		t.Fatalf("only %d hostile paths", len(hostile))
	}
}

// TestSignedURLs: with a signing key, media needs a valid, unexpired
// signature, checked before the path is looked at; rotated keys are
// accepted; neither a grant nor its signature opens a media URL.
func TestSignedURLs(t *testing.T) {
	newKey, oldKey := "new-key-0123456789abcdef", "old-key-0123456789abcdef"
	signer, _ := NewSigner([]string{newKey, oldKey})
	old, _ := NewSigner([]string{oldKey})
	other, _ := NewSigner([]string{"someone-elses-key-0123456789"})
	s := newServer(t, serverOptions{chunkSize: 64 << 10, noRedis: true, opts: func(o *Options) { o.Signer = signer }})
	s.write(t, "a b.mp4", 1000, 1)

	future := time.Now().Add(time.Hour)
	good := signer.SignURL("a b.mp4", future)
	grant := signer.SignGrant("a b.mp4", future)
	exp, sig, _ := strings.Cut(grant, ".")
	sig, _, _ = strings.Cut(sig, ".")
	for _, tt := range []struct {
		name, url string
		status    int
	}{
		{"signed", good, 200},
		{"signed with the old key", old.SignURL("a b.mp4", future), 200},
		{"unsigned", MediaURL("a b.mp4"), 403},
		{"expired", signer.SignURL("a b.mp4", time.Now().Add(-time.Minute)), 403},
		{"forged", other.SignURL("a b.mp4", future), 403},
		{"other path", strings.Replace(good, "a%20b.mp4", "c.mp4", 1), 403},
		{"later expiry", strings.Replace(good, fmt.Sprint(future.Unix()), fmt.Sprint(future.Unix()+3600), 1), 403},
		{"garbage sig", MediaURL("a b.mp4") + "?exp=99999999999&sig=%%%", 403},
		{"signed exp", MediaURL("a b.mp4") + "?exp=+" + fmt.Sprint(future.Unix()) + "&sig=x", 403},
		{"a grant's signature", MediaURL("a b.mp4") + "?exp=" + exp + "&sig=" + sig, 403},
		{"a grant", MediaURL("a b.mp4") + "?grant=" + url.QueryEscape(grant), 403},
		{"unsigned and missing says nothing", MediaURL("nope.mp4"), 403},
		{"not found stays 404", signer.SignURL("nope.mp4", future), 404},
	} {
		r := get(t, "GET", s.srv.URL+tt.url)
		if r.status != tt.status {
			t.Errorf("%s (%s): status %d, want %d", tt.name, tt.url, r.status, tt.status)
		}
		if tt.status == 403 && (r.header.Get("X-Cache") != "" || r.header.Get("ETag") != "") {
			t.Errorf("%s: a 403 says X-Cache %q, ETag %q", tt.name, r.header.Get("X-Cache"), r.header.Get("ETag"))
		}
	}
}

// TestStreamsPerClient: past the per-client limit, 429; others unaffected.
func TestStreamsPerClient(t *testing.T) {
	s := newServer(t, serverOptions{chunkSize: 64 << 10, noRedis: true,
		opts: func(o *Options) { o.MaxStreamsPerClient = 2 }})
	s.write(t, "v.mp4", 32<<20, 1)
	srv := s.srv
	// Two streams held open (headers read, bodies not).
	var open []*http.Response
	for range 2 {
		tr := &http.Transport{}
		defer tr.CloseIdleConnections()
		req, _ := http.NewRequest("GET", srv.URL+"/media/v.mp4", nil)
		res, err := tr.RoundTrip(req)
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("stream: %v", err)
		}
		open = append(open, res)
	}
	r := get(t, "GET", srv.URL+"/media/v.mp4", "X-Forwarded-For: 10.9.8.7")
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" {
		t.Errorf("third stream: status %d, want 429 with Retry-After (X-Forwarded-For must not dodge it)", r.status)
	}
	for _, res := range open {
		res.Body.Close()
	}
	poll.Until(t, 10*time.Second, func() bool { return get(t, "GET", srv.URL+"/media/v.mp4", "Range: bytes=0-0").status == 206 },
		"no stream served once the two held open were closed")
}

// FuzzRangeHandler serves a small file through the whole handler, from
// Redis chunks of 7 bytes, with any Range and If-Range header: never a
// panic, always a valid status, and a 206 body is always the file's bytes
// at the stated Content-Range (part by part for multipart).
func FuzzRangeHandler(f *testing.F) {
	for _, seed := range []string{"bytes=0-0", "bytes=-0", "bytes=-5", "bytes=5-", "bytes=0-1,3-4", "bytes=99-", "items=1-2",
		"bytes=1-2,1-2,1-2", "bytes=+1-2", "bytes=18446744073709551616-", "bytes=3-2", "bytes= 1 - 2 ,, 4-", "Bytes=0-"} {
		f.Add(seed, false)
	}
	s := newServer(f, serverOptions{chunkSize: 7, fill: chunker.FillSync})
	data := s.write(f, "v.mp4", 100, 9)
	etag := get(f, "GET", s.url("v.mp4")).header.Get("ETag")
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	f.Fuzz(func(t *testing.T, rng string, ifRange bool) {
		req, err := http.NewRequestWithContext(context.Background(), "GET", s.url("v.mp4"), nil)
		if err != nil {
			return
		}
		for _, c := range []byte(rng) {
			if (c < ' ' && c != '\t') || c == 0x7f {
				return // not a valid header field value; the client refuses it
			}
		}
		req.Header.Set("Range", rng)
		if ifRange {
			req.Header.Set("If-Range", etag)
		}
		res, err := client.Do(req)
		if err != nil {
			t.Fatalf("Range %q: %v", rng, err)
		}
		body, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil {
			t.Fatalf("Range %q: body: %v", rng, err)
		}
		switch res.StatusCode {
		case 200:
			if !bytes.Equal(body, data) {
				t.Fatalf("Range %q: 200 body is not the file", rng)
			}
		case 416:
		case 206:
			ct, params, _ := mime.ParseMediaType(res.Header.Get("Content-Type"))
			if ct != "multipart/byteranges" {
				checkPart(t, rng, res.Header.Get("Content-Range"), body, data)
				return
			}
			mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
			for {
				p, err := mr.NextPart()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("Range %q: multipart: %v", rng, err)
				}
				b, _ := io.ReadAll(p)
				checkPart(t, rng, p.Header.Get("Content-Range"), b, data)
			}
		default:
			t.Fatalf("Range %q: status %d", rng, res.StatusCode)
		}
	})
}

func checkPart(t *testing.T, rng, cr string, body, data []byte) {
	t.Helper()
	start, end, ok := parseContentRange(cr)
	if !ok || start < 0 || end < start || end >= int64(len(data)) || !strings.HasSuffix(cr, fmt.Sprintf("/%d", len(data))) {
		t.Fatalf("Range %q: bad Content-Range %q", rng, cr)
	}
	if !bytes.Equal(body, data[start:end+1]) {
		t.Fatalf("Range %q: body for %q is not the file's bytes", rng, cr)
	}
}

// FuzzMediaPath: no request path, however spelled, gets bytes from outside
// the media root.
func FuzzMediaPath(f *testing.F) {
	for _, seed := range []string{"ok.mp4", "../secret.mp4", "%2e%2e/secret.mp4", "link-out.mp4", "up/secret.mp4", "sub/ok.webm", "..%2f..%2fsecret.mp4", "%00"} {
		f.Add(seed)
	}
	s, _ := hostileServer(f)
	h, _ := New(Options{Files: s.cache, Logger: slog.New(slog.DiscardHandler)})
	e := echo.New()
	h.Register(e)
	f.Fuzz(func(t *testing.T, p string) {
		u, err := url.Parse("/media/" + p)
		if err != nil {
			return
		}
		req := httptest.NewRequest("GET", "/", nil)
		req.URL = u
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		if bytes.Contains(rec.Body.Bytes(), []byte(secret)) {
			t.Fatalf("path %q served the secret outside the root", u.Path)
		}
		if rec.Code == 200 && rec.Body.Len() != 1000 {
			t.Fatalf("path %q: 200 with %d bytes, which is no file in the root", u.Path, rec.Body.Len())
		}
	})
}
