package origin

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reelcache/reelcache/chunker"
	"github.com/reelcache/reelcache/internal/nginxtest"
	"github.com/reelcache/reelcache/internal/poll"
	"github.com/reelcache/reelcache/internal/testlog"
	"github.com/reelcache/reelcache/internal/testmedia"
)

// writeOld writes data to dir/name with an mtime an hour back.
func writeOld(t *testing.T, dir, name string, data []byte, age time.Duration) {
	t.Helper()
	testmedia.Write(t, dir, name, data)
	p := filepath.Join(dir, filepath.FromSlash(name))
	old := time.Now().Add(-age)
	if err := os.Chtimes(p, old, old); err != nil {
		t.Fatal(err)
	}
}

// readAll reads n bytes at off of version through ReadRange.
func readAll(ctx context.Context, o chunker.Origin, name, version string, off, n int64) ([]byte, error) {
	rc, err := o.ReadRange(ctx, name, version, off, n)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

// settled returns the access log once it has at least want lines with
// substr, or after two seconds: nginx writes a line after the response.
func settled(ng *nginxtest.Server, substr string, want int) []string {
	var log []string
	poll.Wait(2*time.Second, func() bool {
		log = ng.AccessLog()
		return count(log, substr) >= want
	})
	return log
}

func count(lines []string, substr string) int {
	n := 0
	for _, l := range lines {
		if strings.Contains(l, substr) {
			n++
		}
	}
	return n
}

func newHTTP(t *testing.T, opts HTTPOptions) (*Remote, *testlog.Buffer) {
	t.Helper()
	logs := &testlog.Buffer{}
	opts.Logger = slog.New(slog.NewTextHandler(logs, nil))
	o, err := NewHTTP(opts)
	if err != nil {
		t.Fatal(err)
	}
	return o, logs
}

// TestHTTPOriginReadsRangesOfOneVersion: against a real nginx, Open costs
// one HEAD per TTL however many ask at once, ranges are byte-exact and
// conditional on the ETag, and an object replaced under its name fails the
// read of the old version with ErrChanged, after which Open sees the new one.
func TestHTTPOriginReadsRangesOfOneVersion(t *testing.T) {
	dir := t.TempDir()
	data := testmedia.Bytes(300<<10+17, 1)
	writeOld(t, dir, "v/a.mp4", data, time.Hour)
	ng := nginxtest.Start(t, nginxtest.Options{Root: dir})
	o, logs := newHTTP(t, HTTPOptions{URL: ng.URL() + "v", Options: Options{TTL: time.Hour}})
	ctx := t.Context()

	var wg sync.WaitGroup
	infos := make([]chunker.Info, 16)
	for i := range infos {
		wg.Go(func() {
			obj, err := o.Open(ctx, "a.mp4")
			if err != nil {
				t.Error(err)
				return
			}
			infos[i] = obj.Info()
		})
	}
	wg.Wait()
	if n := count(settled(ng, "HEAD /v/a.mp4", 1), "HEAD /v/a.mp4"); n != 1 {
		t.Errorf("16 concurrent Opens sent %d HEADs, want 1", n)
	}
	info := infos[0]
	if info.Size != int64(len(data)) || info.Version == "" || info.ContentType != "video/mp4" || info.ChangedAt.IsZero() || !info.ChangedAt.Equal(info.ModTime) {
		t.Fatalf("Info %+v", info)
	}
	for _, in := range infos {
		if in != info {
			t.Fatalf("Opens disagree: %+v and %+v", in, info)
		}
	}
	for _, r := range [][2]int64{{0, 1}, {0, 65536}, {1000, 70000}, {int64(len(data)) - 17, 17}, {0, int64(len(data))}} {
		got, err := readAll(ctx, o, "a.mp4", info.Version, r[0], r[1])
		if err != nil || !bytes.Equal(got, data[r[0]:r[0]+r[1]]) {
			t.Fatalf("ReadRange(%d, %d): %d bytes, %v", r[0], r[1], len(got), err)
		}
	}
	log := settled(ng, "GET ", 5)
	if n := count(log, `range="bytes=1000-70999" if_match=\x22`); n != 1 {
		t.Errorf("no conditional ranged GET in the access log:\n%s", strings.Join(log, "\n"))
	}
	if n := count(log, "HEAD "); n != 1 {
		t.Errorf("%d HEADs after reads within the TTL, want 1", n)
	}

	// Replaced under the same name (same size, another mtime: another ETag).
	data2 := testmedia.Bytes(len(data), 2)
	writeOld(t, dir, "v/a.mp4", data2, time.Minute)
	_, err := readAll(ctx, o, "a.mp4", info.Version, 0, 1000)
	if !errors.Is(err, chunker.ErrChanged) {
		t.Fatalf("read of the replaced version: %v, want ErrChanged", err)
	}
	if n := count(settled(ng, "status=412", 1), "status=412"); n != 1 {
		t.Errorf("the origin did not answer 412: %v", ng.AccessLog())
	}
	if !strings.Contains(logs.String(), "object changed at the origin") {
		t.Errorf("log does not say the object changed:\n%s", logs)
	}
	obj, err := o.Open(ctx, "a.mp4")
	if err != nil || obj.Info().Version == info.Version {
		t.Fatalf("Open after the change: %v, version %v (old %s): want the new version within the TTL", err, obj, info.Version)
	}
	got, err := readAll(ctx, o, "a.mp4", obj.Info().Version, 5, 5000)
	if err != nil || !bytes.Equal(got, data2[5:5005]) {
		t.Fatalf("read of the new version: %v", err)
	}
	if _, err := o.Open(ctx, "missing.mp4"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open of a missing object: %v, want fs.ErrNotExist", err)
	}
	os.Mkdir(filepath.Join(dir, "v", "d.mp4"), 0o755)
	if _, err := o.Open(ctx, "d.mp4"); !errors.Is(err, chunker.ErrNotRegular) {
		t.Errorf("Open of a directory: %v, want chunker.ErrNotRegular", err)
	}
	if err := o.Check(ctx); err != nil {
		t.Errorf("Check: %v", err)
	}
}

// TestHTTPOriginFailures: credentials refused, a server error, a hung
// server and a closed port each give the error the viewer's status comes
// from, within the timeout, after one retry; secrets appear nowhere.
func TestHTTPOriginFailures(t *testing.T) {
	dir := t.TempDir()
	writeOld(t, dir, "a.mp4", testmedia.Bytes(1000, 3), time.Hour)
	const token = "Bearer s3cr3t-t0ken"
	auth := nginxtest.Start(t, nginxtest.Options{Root: dir, Location: `if ($http_authorization != "` + token + `") { return 401; }`})
	broken := nginxtest.Start(t, nginxtest.Options{Root: dir, Location: "return 500;"})
	hung, err := net.Listen("tcp", "127.0.0.1:0") // accepts, never answers
	if err != nil {
		t.Fatal(err)
	}
	defer hung.Close()
	go func() {
		for {
			c, err := hung.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	closed, _ := net.Listen("tcp", "127.0.0.1:0")
	closedURL := "http://" + closed.Addr().String() + "/"
	closed.Close()

	const timeout = 600 * time.Millisecond
	for _, tt := range []struct {
		name    string
		url     string
		headers map[string]string
		want    error
		tries   func() int // requests the origin saw
	}{
		{"right token", auth.URL() + "?sig=presigned-secret", map[string]string{"Authorization": token}, nil, nil},
		{"wrong token", auth.URL() + "?sig=presigned-secret", map[string]string{"Authorization": "Bearer wrong-s3cr3t"}, chunker.ErrOriginDenied,
			func() int { return count(settled(auth, "status=401", 1), "status=401") }},
		{"server error", broken.URL(), nil, chunker.ErrOriginUnavailable, func() int { return count(settled(broken, "status=500", 2), "status=500") }},
		{"hung", "http://" + hung.Addr().String() + "/", nil, chunker.ErrOriginTimeout, nil},
		{"closed port", closedURL, nil, chunker.ErrOriginUnavailable, nil},
		{"password in URL", "http://user:pa55word@" + broken.Addr() + "/", nil, chunker.ErrOriginUnavailable, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			o, logs := newHTTP(t, HTTPOptions{URL: tt.url, Headers: tt.headers, Options: Options{Timeout: timeout}})
			start := time.Now()
			obj, err := o.Open(t.Context(), "a.mp4")
			took := time.Since(start)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				if _, err := readAll(t.Context(), o, "a.mp4", obj.Info().Version, 0, 10); err != nil {
					t.Fatalf("ReadRange: %v", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Open: %v, want %v", err, tt.want)
			}
			if took > timeout+300*time.Millisecond {
				t.Errorf("Open failed after %s, past the %s timeout", took, timeout)
			}
			if tt.tries != nil {
				want := 2 // one retry
				if tt.want == chunker.ErrOriginDenied {
					want = 1
				}
				if n := tt.tries(); n != want {
					t.Errorf("the origin saw %d requests, want %d", n, want)
				}
			}
			text := err.Error() + logs.String()
			for _, secret := range []string{"s3cr3t", "presigned-secret", "pa55word"} {
				if strings.Contains(text, secret) {
					t.Errorf("%q leaked into the error or the log:\n%s", secret, text)
				}
			}
			if !strings.Contains(logs.String(), "origin") {
				t.Errorf("nothing logged:\n%s", logs)
			}
			if tt.want == chunker.ErrOriginDenied && !strings.Contains(logs.String(), "status 401") {
				t.Errorf("log does not name the origin's status:\n%s", logs)
			}
			if c := o.Check(t.Context()); !errors.Is(c, tt.want) {
				t.Errorf("Check: %v, want %v", c, tt.want)
			}
		})
	}
}

// TestHTTPOriginManifest: with media.http.manifest, List reads a JSON list
// and describes each object it names that exists; without, it says listing
// is unsupported.
func TestHTTPOriginManifest(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"a.mp4", "d/b.webm", "c.txt", ".hidden.mp4"} {
		writeOld(t, dir, "m/"+n, []byte(n), time.Hour)
	}
	writeOld(t, dir, "list.json", []byte(`["a.mp4", {"name": "d/b.webm", "type": "file"}, "c.txt", ".hidden.mp4", "gone.mp4", {"name": "d", "type": "directory"}]`), time.Hour)
	ng := nginxtest.Start(t, nginxtest.Options{Root: dir})
	keep := func(n string) bool { return strings.HasSuffix(n, ".mp4") || strings.HasSuffix(n, ".webm") }

	o, _ := newHTTP(t, HTTPOptions{URL: ng.URL() + "m/", Manifest: "/list.json"})
	infos, err := o.List(t.Context(), keep)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, in := range infos {
		names = append(names, in.Name)
		if in.Size != int64(len(in.Name)) || in.Version == "" {
			t.Errorf("%+v", in)
		}
	}
	if strings.Join(names, " ") != "a.mp4 d/b.webm" {
		t.Errorf("listed %v, want a.mp4 d/b.webm", names)
	}
	obj, err := o.Open(t.Context(), "d/b.webm")
	if err != nil || obj.Info().Version != infos[1].Version {
		t.Errorf("Open's version %v differs from List's %s (%v)", obj, infos[1].Version, err)
	}

	off, _ := newHTTP(t, HTTPOptions{URL: ng.URL() + "m/"})
	if _, err := off.List(t.Context(), keep); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("List without a manifest: %v, want errors.ErrUnsupported", err)
	}
}
