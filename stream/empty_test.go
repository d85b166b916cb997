package stream

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"testing"

	"github.com/reelcache/reelcache/chunker"
	"github.com/reelcache/reelcache/chunker/origin"
	"github.com/reelcache/reelcache/internal/nginxtest"
	"github.com/reelcache/reelcache/internal/s3test"
)

// TestEmptyFileRanges extends the differential test to empty files (issue
// 21 item 9), on every path: Redis with the directory, the cache off
// (sendfile), a remote-like origin, real nginx and a real S3 store. It
// compares each answer with http.ServeContent on the same empty file,
// except where ServeContent itself is wrong: a suffix range on an empty
// file gets 206 with the invalid "Content-Range: bytes 0--1/0" from it;
// reelcache ignores the Range then and sends 200 with the empty body, as
// nginx does (RFC 9110 §14.1.1: a non-zero suffix is satisfiable, but no
// Content-Range can name an empty range).
func TestEmptyFileRanges(t *testing.T) {
	httpOrigin := func(t *testing.T) func(*os.Root) chunker.Origin {
		return func(root *os.Root) chunker.Origin { return nginxOrigin(t, root) }
	}
	s3Origin := func(t *testing.T) func(*os.Root) chunker.Origin {
		return func(*os.Root) chunker.Origin { return s3EmptyOrigin(t) }
	}
	setups := []struct {
		name string
		o    func(t *testing.T) serverOptions
	}{
		{"redis", func(*testing.T) serverOptions { return serverOptions{chunkSize: 64 << 10, fill: chunker.FillSync} }},
		{"cache off", func(*testing.T) serverOptions { return serverOptions{chunkSize: 64 << 10, noRedis: true} }},
		{"remote-like", func(*testing.T) serverOptions { return serverOptions{chunkSize: 64 << 10, origin: remoteOrigin} }},
		{"remote-like cache off", func(*testing.T) serverOptions {
			return serverOptions{chunkSize: 64 << 10, noRedis: true, origin: remoteOrigin}
		}},
		{"nginx", func(t *testing.T) serverOptions {
			return serverOptions{chunkSize: 64 << 10, fill: chunker.FillSync, origin: httpOrigin(t)}
		}},
		{"s3", func(t *testing.T) serverOptions {
			return serverOptions{chunkSize: 64 << 10, fill: chunker.FillSync, origin: s3Origin(t)}
		}},
	}
	headers := []string{
		"", "bytes=-1", "bytes=-500", "bytes=-5,0-5", "bytes=0-5,-5", "bytes=0-", "bytes=0-0",
		"bytes=0-5", "bytes=5-", "bytes=-0", "bytes=-0,-0", "BYTES=-3", "bytes=abc", "bytes=-1,x",
	}
	for _, st := range setups {
		t.Run(st.name, func(t *testing.T) {
			s := newServer(t, st.o(t))
			s.write(t, "e.mp4", 0, 1)
			ref := referenceServer(t, s.dir)
			for _, h := range headers {
				var hdr []string
				if h != "" {
					hdr = []string{"Range: " + h}
				}
				for _, method := range []string{"GET", "HEAD"} {
					got := get(t, method, s.url("e.mp4"), hdr...)
					want := get(t, method, ref.URL+"/media/e.mp4", hdr...)
					if method == "HEAD" { // Range is for GET only (§14.2; TestRangeFixes)
						want = get(t, method, ref.URL+"/media/e.mp4")
					}
					if want.status == http.StatusPartialContent || h == "BYTES=-3" {
						// (ServeContent answers any unit but a literal
						// "bytes" with 416; reelcache's is case-insensitive.)
						// ServeContent's "bytes 0--1/0": the fix is 200, empty.
						want = response{status: http.StatusOK, header: http.Header{"Content-Length": {"0"}}}
					}
					if got.status != want.status || (got.status < 400 && len(got.body) != 0) {
						t.Fatalf("%s %q: status %d with %d bytes, want %d (no body unless an error)", method, h, got.status, len(got.body), want.status)
					}
					for _, k := range []string{"Content-Range", "Content-Length"} {
						if g, w := got.header.Get(k), want.header.Get(k); g != w {
							t.Errorf("%s %q: %s %q, want %q", method, h, k, g, w)
						}
					}
				}
			}
		})
	}
}

// nginxOrigin is an HTTP origin: a real nginx serving root.
func nginxOrigin(t *testing.T, root *os.Root) chunker.Origin {
	t.Helper()
	ng := nginxtest.Start(t, nginxtest.Options{Root: root.Name()})
	o, err := origin.NewHTTP(origin.HTTPOptions{URL: ng.URL(), Options: origin.Options{Logger: slog.New(slog.DiscardHandler)}})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// s3EmptyOrigin is an S3 origin: a real versitygw holding an empty e.mp4.
func s3EmptyOrigin(t *testing.T) chunker.Origin {
	t.Helper()
	gw := s3test.Start(t)
	gw.Env(t)
	gw.Bucket("media")
	gw.Put("media", "e.mp4", nil)
	o, err := origin.NewS3(context.Background(), origin.S3Options{URL: "s3://media/", Endpoint: gw.Endpoint(), Region: s3test.Region, PathStyle: true,
		Options: origin.Options{Logger: slog.New(slog.DiscardHandler)}})
	if err != nil {
		t.Fatal(err)
	}
	return o
}
