package origin

import (
	"bytes"
	"errors"
	"io/fs"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/reelcache/reelcache/chunker"
	"github.com/reelcache/reelcache/internal/s3test"
	"github.com/reelcache/reelcache/internal/testlog"
)

func newS3(t *testing.T, srv *s3test.Server, url string, o Options) (*Remote, *testlog.Buffer) {
	t.Helper()
	logs := &testlog.Buffer{}
	o.Logger = slog.New(slog.NewTextHandler(logs, nil))
	r, err := NewS3(t.Context(), S3Options{URL: url, Endpoint: srv.Endpoint(), PathStyle: true, Options: o})
	if err != nil {
		t.Fatal(err)
	}
	return r, logs
}

// TestS3Origin: against a real versitygw, objects under the prefix are
// listed (hidden and filtered names left out), read byte-exact by range,
// and an object replaced under its key fails the old version's read with
// ErrChanged, after which Open sees the new one.
func TestS3Origin(t *testing.T) {
	srv := s3test.Start(t)
	srv.Env(t)
	srv.Bucket("media")
	data := randomBytes(200<<10+5, 4)
	etag := srv.Put("media", "lib/a.mp4", data)
	srv.Put("media", "lib/sub/b.webm", []byte("webm"))
	srv.Put("media", "lib/.hidden/c.mp4", []byte("hidden"))
	srv.Put("media", "lib/notes.txt", []byte("txt"))
	srv.Put("media", "other/d.mp4", []byte("outside the prefix"))
	o, logs := newS3(t, srv, "s3://media/lib/", Options{TTL: time.Hour})
	ctx := t.Context()

	infos, err := o.List(ctx, func(n string) bool { return !strings.HasSuffix(n, ".txt") })
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, in := range infos {
		names = append(names, in.Name)
	}
	if strings.Join(names, " ") != "a.mp4 sub/b.webm" {
		t.Fatalf("listed %v, want a.mp4 sub/b.webm", names)
	}
	obj, err := o.Open(ctx, "a.mp4")
	if err != nil {
		t.Fatal(err)
	}
	info := obj.Info()
	if info.Size != int64(len(data)) || info.Version != infos[0].Version || info.ChangedAt.IsZero() {
		t.Fatalf("Open: %+v; List: %+v", info, infos[0])
	}
	if info.Version != (validators{etag: etag, size: info.Size}).version("a.mp4") {
		t.Errorf("version is not that of the ETag %s", etag)
	}
	for _, r := range [][2]int64{{0, 1}, {0, 64 << 10}, {12345, 100000}, {int64(len(data)) - 5, 5}} {
		got, err := readAll(ctx, o, "a.mp4", info.Version, r[0], r[1])
		if err != nil || !bytes.Equal(got, data[r[0]:r[0]+r[1]]) {
			t.Fatalf("ReadRange(%d, %d): %d bytes, %v", r[0], r[1], len(got), err)
		}
	}
	if err := obj.Changed(ctx); err != nil {
		t.Errorf("Changed before any change: %v", err)
	}

	data2 := randomBytes(len(data), 5)
	srv.Put("media", "lib/a.mp4", data2)
	if _, err := readAll(ctx, o, "a.mp4", info.Version, 0, 100); !errors.Is(err, chunker.ErrChanged) {
		t.Fatalf("read of the replaced version: %v, want ErrChanged", err)
	}
	if !strings.Contains(logs.String(), "object changed at the origin") {
		t.Errorf("log does not say the object changed:\n%s", logs)
	}
	obj2, err := o.Open(ctx, "a.mp4")
	if err != nil || obj2.Info().Version == info.Version {
		t.Fatalf("Open after the change: %v: want the new version within the TTL", err)
	}
	if err := obj.Changed(ctx); !errors.Is(err, chunker.ErrChanged) {
		t.Errorf("Changed of the old version: %v, want ErrChanged", err)
	}
	got, err := readAll(ctx, o, "a.mp4", obj2.Info().Version, 100, 1000)
	if err != nil || !bytes.Equal(got, data2[100:1100]) {
		t.Fatalf("read of the new version: %v", err)
	}
	if _, err := o.Open(ctx, "missing.mp4"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open of a missing key: %v, want fs.ErrNotExist", err)
	}
	if err := o.Check(ctx); err != nil {
		t.Errorf("Check: %v", err)
	}
	nobucket, _ := newS3(t, srv, "s3://no-such-bucket/", Options{})
	if err := nobucket.Check(ctx); !errors.Is(err, chunker.ErrOriginUnavailable) {
		t.Errorf("Check of a missing bucket: %v, want ErrOriginUnavailable", err)
	}
}

// TestS3OriginFailures: a wrong secret is ErrOriginDenied (and the secret
// is in no error or log line), a hung server ErrOriginTimeout within the
// timeout, a dead one ErrOriginUnavailable, and while it is dead an object
// already known keeps its version (stale-if-error).
func TestS3OriginFailures(t *testing.T) {
	srv := s3test.Start(t)
	srv.Env(t)
	srv.Bucket("media")
	srv.Put("media", "a.mp4", []byte("0123456789"))
	ctx := t.Context()

	t.Setenv("AWS_SECRET_ACCESS_KEY", "wrong-secret-key-0123456789")
	denied, logs := newS3(t, srv, "s3://media/", Options{})
	_, err := denied.Open(ctx, "a.mp4")
	if !errors.Is(err, chunker.ErrOriginDenied) {
		t.Fatalf("wrong secret: %v, want ErrOriginDenied", err)
	}
	if err := denied.Check(ctx); !errors.Is(err, chunker.ErrOriginDenied) {
		t.Errorf("Check with a wrong secret: %v, want ErrOriginDenied", err)
	}
	if text := err.Error() + logs.String(); strings.Contains(text, "wrong-secret") || !strings.Contains(logs.String(), "status 403") {
		t.Errorf("want the status and no secret in the log:\n%s", text)
	}
	t.Setenv("AWS_SECRET_ACCESS_KEY", s3test.SecretKey)

	const timeout = 600 * time.Millisecond
	o, logs := newS3(t, srv, "s3://media/", Options{TTL: 50 * time.Millisecond, Timeout: timeout})
	obj, err := o.Open(ctx, "a.mp4")
	if err != nil {
		t.Fatal(err)
	}
	srv.Pause()
	time.Sleep(60 * time.Millisecond) // past the TTL
	start := time.Now()
	_, err = readAll(ctx, o, "a.mp4", obj.Info().Version, 0, 5)
	if took := time.Since(start); !errors.Is(err, chunker.ErrOriginTimeout) || took > timeout+300*time.Millisecond {
		t.Errorf("hung origin: %v after %s, want ErrOriginTimeout within %s", err, took, timeout)
	}
	stale, err := o.Open(ctx, "a.mp4")
	if err != nil || stale.Info().Version != obj.Info().Version {
		t.Errorf("Open while the origin hangs: %v; want the version last seen", err)
	}
	if !strings.Contains(logs.String(), "origin timed out") {
		t.Errorf("log does not say the origin timed out:\n%s", logs)
	}
	srv.Resume()
	srv.Kill()
	if _, err := o.Open(ctx, "other.mp4"); !errors.Is(err, chunker.ErrOriginUnavailable) {
		t.Errorf("dead origin: %v, want ErrOriginUnavailable", err)
	}
	if err := o.Check(ctx); !errors.Is(err, chunker.ErrOriginUnavailable) {
		t.Errorf("Check of a dead origin: %v, want ErrOriginUnavailable", err)
	}
}

// TestS3EndpointWithSecretsRefused: an endpoint with user info or a query
// string is refused by NewS3, and the error shows neither (issue 21 item
// 1): the SDK would log it on every request.
func TestS3EndpointWithSecretsRefused(t *testing.T) {
	for _, ep := range []string{
		"https://me:hunter2@minio:9000",
		"https://minio:9000/?X-Amz-Signature=hunter2",
		"https://minio:9000/?",
	} {
		_, err := NewS3(t.Context(), S3Options{URL: "s3://bucket/", Endpoint: ep})
		if err == nil {
			t.Fatalf("%s: accepted", ep)
		}
		if strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), "minio:9000") {
			t.Fatalf("%s: error %q shows a secret or not the host", ep, err)
		}
	}
}
