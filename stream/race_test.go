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
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/reelcache/reelcache/chunker"
	"github.com/reelcache/reelcache/internal/redistest"
)

// slowOrigin is the media directory with a delay on every range read, as a
// remote origin has: a reader spends its time inside ReadAt.
type slowOrigin struct{ chunker.Origin }

func (o slowOrigin) ReadRange(ctx context.Context, name, version string, off, n int64) (io.ReadCloser, error) {
	select {
	case <-time.After(5 * time.Millisecond):
	case <-ctx.Done():
	}
	return o.Origin.ReadRange(ctx, name, version, off, n)
}

// TestMultipartAbortsRace: 32 clients ask for multipart ranges of a file
// that is not cached and comes from a slow origin, and three in four hang
// up mid-body, six rounds each. Run under -race (make test does):
// ServeContent's multipart goroutine can still be inside ReadAt when the
// handler looks at the read error, which was a data race (issue 13 item
// 8); the guardedReader makes the handler wait for it. The clients that
// read to the end must get the file's bytes, part by part.
func TestMultipartAbortsRace(t *testing.T) {
	dir := t.TempDir()
	const size = 2 << 20
	data := randomBytes(size, 31)
	if err := os.WriteFile(filepath.Join(dir, "v.mp4"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	rs := redistest.Start(t)
	rdb, err := chunker.NewRedisClient(rs.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	log := slog.New(slog.DiscardHandler)
	cache, err := chunker.New(chunker.Options{
		Origin:    slowOrigin{chunker.NewDir(root, chunker.DirOptions{})},
		Store:     chunker.NewStore(chunker.StoreOptions{Client: rdb, Timeout: 10 * time.Second, Logger: log}),
		ChunkSize: 64 << 10, Fill: chunker.FillOff, Logger: log,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer cache.Close()
	h, err := New(Options{Files: cache, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	h.Register(e)
	srv := httptest.NewServer(e)
	defer srv.Close()
	url := srv.URL + "/media/v.mp4"

	ranges := []string{
		"bytes=0-99,1000000-1199999,1500000-1799999",
		"bytes=100-200,65536-300000,1900000-",
		"bytes=-200000,0-0,1500000-1600000",
		"bytes=200000-300000,400000-500000,600000-700000,800000-900000",
	}
	tr := &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 32}
	defer tr.CloseIdleConnections()
	const rounds = 6
	var wg sync.WaitGroup
	errs := make(chan error, 32*rounds)
	for i := range 32 {
		wg.Go(func() {
			for j := range rounds {
				rng := ranges[(i+j)%len(ranges)]
				abort := (i+j)%4 != 0
				if err := multipartGet(tr, url, rng, abort, int64(10_000+i*2000), data); err != nil {
					errs <- fmt.Errorf("client %d round %d (%s, abort %v): %w", i, j, rng, abort, err)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if r := get(t, "GET", url, "Range: bytes=5-9"); r.status != 206 || !bytes.Equal(r.body, data[5:10]) {
		t.Fatalf("after the aborts: status %d", r.status)
	}
}

// multipartGet asks for rng; with abort it reads keep bytes and hangs up,
// otherwise it checks every part against data.
func multipartGet(tr *http.Transport, url, rng string, abort bool, keep int64, data []byte) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	req.Header.Set("Range", rng)
	res, err := tr.RoundTrip(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusPartialContent {
		return fmt.Errorf("status %d", res.StatusCode)
	}
	if abort {
		io.CopyN(io.Discard, res.Body, keep)
		cancel()
		return nil
	}
	_, params, err := mime.ParseMediaType(res.Header.Get("Content-Type"))
	if err != nil {
		return err
	}
	mr := multipart.NewReader(res.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		b, err := io.ReadAll(p)
		if err != nil {
			return err
		}
		start, end, ok := parseContentRange(p.Header.Get("Content-Range"))
		if !ok || end >= int64(len(data)) || !bytes.Equal(b, data[start:end+1]) {
			return fmt.Errorf("part %q is not the file's bytes", p.Header.Get("Content-Range"))
		}
	}
}
