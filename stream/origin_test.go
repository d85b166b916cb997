package stream

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"mime"
	"mime/multipart"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/reelcache/reelcache/chunker"
)

// remoteLike is the media directory as a remote origin looks to the
// handler: its objects have no *os.File to send with sendfile.
type remoteLike struct{ chunker.Origin }

func (r remoteLike) Open(ctx context.Context, name string) (chunker.Object, error) {
	o, err := r.Origin.Open(ctx, name)
	if err != nil {
		return nil, err
	}
	return noFile{o}, nil
}

// noFile hides the Object's OSFile method.
type noFile struct{ chunker.Object }

func remoteOrigin(root *os.Root) chunker.Origin {
	return remoteLike{chunker.NewDir(root, chunker.DirOptions{})}
}

// failing is an origin whose every Open fails with err.
type failing struct {
	chunker.Origin
	err error
}

func (f failing) Open(context.Context, string) (chunker.Object, error) { return nil, f.err }

// TestNoLocalFile: with a remote origin (no *os.File) and the cache off or
// down, the handler serves through the chunk reader instead of sendfile:
// whole files, ranges and multipart, all BYPASS and byte-exact.
func TestNoLocalFile(t *testing.T) {
	s := newServer(t, serverOptions{chunkSize: 64 << 10, noRedis: true, origin: remoteOrigin})
	data := s.write(t, "v.mp4", 300_000, 5)
	r := get(t, "GET", s.url("v.mp4"))
	if r.status != 200 || !bytes.Equal(r.body, data) || r.header.Get("X-Cache") != "BYPASS" || r.header.Get("Cache-Status") != "reelcache; fwd=bypass" {
		t.Fatalf("whole file: %d, %d bytes, X-Cache %q, Cache-Status %q", r.status, len(r.body), r.header.Get("X-Cache"), r.header.Get("Cache-Status"))
	}
	r = get(t, "GET", s.url("v.mp4"), "Range: bytes=70000-200000")
	if r.status != 206 || !bytes.Equal(r.body, data[70000:200001]) {
		t.Fatalf("range: %d, %d bytes", r.status, len(r.body))
	}
	r = get(t, "GET", s.url("v.mp4"), "Range: bytes=0-9,100000-100009,299990-")
	_, params, _ := mime.ParseMediaType(r.header.Get("Content-Type"))
	mr := multipart.NewReader(bytes.NewReader(r.body), params["boundary"])
	parts := 0
	for p, err := mr.NextPart(); err == nil; p, err = mr.NextPart() {
		var b bytes.Buffer
		b.ReadFrom(p)
		checkPart(t, "multipart", p.Header.Get("Content-Range"), b.Bytes(), data)
		parts++
	}
	if r.status != 206 || parts != 3 {
		t.Fatalf("multipart: %d, %d parts", r.status, parts)
	}
	if r := get(t, "HEAD", s.url("v.mp4")); r.status != 200 || r.header.Get("Content-Length") != "300000" {
		t.Fatalf("HEAD: %d %v", r.status, r.header)
	}
}

// TestOpenErrors: each Open failure maps to one status in one place
// (openError); a CDN never sees 404 for a file that exists but cannot be
// opened now; logs keep the origin's status but never its URLs or
// credentials.
func TestOpenErrors(t *testing.T) {
	const leak = "https://user:secret@bucket.example/v.mp4?X-Amz-Signature=abc"
	for _, tt := range []struct {
		name       string
		err        error
		status     int
		retryAfter bool
	}{
		{"missing", fmt.Errorf("open v.mp4: %w", fs.ErrNotExist), 404, false},
		{"not regular", fmt.Errorf("open v.mp4: %w", chunker.ErrNotRegular), 404, false},
		{"permission", fmt.Errorf("open v.mp4: %w", fs.ErrPermission), 403, false},
		{"out of descriptors", &fs.PathError{Op: "openat", Path: "v.mp4", Err: syscall.EMFILE}, 503, true},
		{"system out of descriptors", &fs.PathError{Op: "openat", Path: "v.mp4", Err: syscall.ENFILE}, 503, true},
		{"origin denied", fmt.Errorf("GET %s: HTTP 403: %w", leak, chunker.ErrOriginDenied), 502, false},
		{"origin unavailable", fmt.Errorf("GET %s: HTTP 503: %w", leak, chunker.ErrOriginUnavailable), 502, false},
		{"origin timeout", fmt.Errorf("HEAD %s: %w", leak, chunker.ErrOriginTimeout), 504, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, serverOptions{noRedis: true, origin: func(root *os.Root) chunker.Origin {
				return failing{chunker.NewDir(root, chunker.DirOptions{}), tt.err}
			}})
			for range 20 {
				r := get(t, "GET", s.url("v.mp4"))
				if r.status != tt.status || (r.header.Get("Retry-After") != "") != tt.retryAfter {
					t.Fatalf("status %d, Retry-After %q; want %d, Retry-After %v", r.status, r.header.Get("Retry-After"), tt.status, tt.retryAfter)
				}
				if r.header.Get("Cache-Control") != "no-store" || bytes.Contains(r.body, []byte("example")) {
					t.Fatalf("Cache-Control %q, body %q", r.header.Get("Cache-Control"), r.body)
				}
			}
			logs := s.logs.String()
			if strings.Contains(logs, "secret") || strings.Contains(logs, "bucket.example") {
				t.Errorf("the log shows the origin's URL:\n%s", logs)
			}
			if tt.status >= 500 {
				if n := strings.Count(logs, "level=WARN"); n != 1 {
					t.Errorf("20 failures logged %d lines, want 1 (rate-limited):\n%s", n, logs)
				}
				if tt.name == "origin denied" && !strings.Contains(logs, "HTTP 403") {
					t.Errorf("the log does not keep the origin's status:\n%s", logs)
				}
			}
		})
	}
	if !errors.Is(&fs.PathError{Err: syscall.EMFILE}, syscall.EMFILE) {
		t.Fatal("errors.Is does not see EMFILE through a PathError")
	}
}
