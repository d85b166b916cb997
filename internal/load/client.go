package load

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"time"
)

// One simulated player: the requests it makes and what it measures of each.

type client struct {
	cfg   *Config
	tr    *http.Transport
	files map[string]*os.File
	r     *rand.Rand
	turn  int // requests so far plus the client's number: picks the server
}

// server returns the base URL of the next request: the client's servers
// in turn, starting at a different one for each client.
func (c *client) server() string {
	n := 1 + len(c.cfg.Mirrors)
	i := c.turn % n
	c.turn++
	if i == 0 {
		return c.cfg.BaseURL
	}
	return c.cfg.Mirrors[i-1]
}

type outcome struct {
	desc        string
	n           int64
	ttfb, total time.Duration
	stalls      int64
	wrong       bool
	err         error
}

// one makes one request of the scenario, of file fi or, when fi < 0, of a
// random file.
func (c *client) one(ctx context.Context, fi int) outcome {
	if fi < 0 {
		fi = c.r.IntN(len(c.cfg.Files))
	}
	f := c.cfg.Files[fi]
	var off, want int64 // want < 0: to the end
	var rng string
	switch c.cfg.Scenario {
	case Ranges:
		n := min(c.cfg.RangeSize, f.Size)
		off = c.r.Int64N(f.Size - n + 1)
		want = n
		rng = fmt.Sprintf("bytes=%d-%d", off, off+n-1)
	case Seek:
		off = c.r.Int64N(f.Size)
		want = min(c.cfg.ReadBytes, f.Size-off)
		rng = fmt.Sprintf("bytes=%d-", off)
	case Viewers:
		off = c.r.Int64N(f.Size)
		want = f.Size - off
		rng = fmt.Sprintf("bytes=%d-", off)
	case Once:
		want = f.Size
		rng = "bytes=0-"
	default:
		return outcome{err: fmt.Errorf("unknown scenario %q", c.cfg.Scenario)}
	}
	base := c.server()
	o := outcome{desc: fmt.Sprintf("GET %s %s", f.Name, rng)}
	if len(c.cfg.Mirrors) > 0 {
		o.desc = fmt.Sprintf("GET %s/media/%s %s", base, f.Name, rng)
	}
	if c.cfg.OnRead != nil {
		defer func() { c.cfg.OnRead(f.Name, off, o.n) }()
	}
	req, err := http.NewRequestWithContext(ctx, "GET", base+(&url.URL{Path: "/media/" + f.Name}).EscapedPath(), nil)
	if err != nil {
		o.err = err
		return o
	}
	req.Header.Set("Range", rng)
	start := time.Now()
	res, err := c.tr.RoundTrip(req)
	if err != nil {
		o.err = err
		return o
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusPartialContent {
		o.err = fmt.Errorf("status %d", res.StatusCode)
		return o
	}
	end := f.Size - 1
	if c.cfg.Scenario == Ranges {
		end = off + want - 1
	}
	if cr := res.Header.Get("Content-Range"); cr != fmt.Sprintf("bytes %d-%d/%d", off, end, f.Size) {
		o.err = fmt.Errorf("Content-Range %q", cr)
		return o
	}
	buf := make([]byte, 64<<10)
	var exp []byte
	if c.files != nil {
		exp = make([]byte, len(buf))
	}
	// Viewers read one second of video a second, in quarter-second steps.
	step := int64(len(buf))
	var tick time.Duration
	if c.cfg.Scenario == Viewers {
		step = max(1, c.cfg.Bitrate/8/4)
		tick = 250 * time.Millisecond
	}
	next := time.Now()
	for o.n < want {
		n, err := io.ReadFull(res.Body, buf[:min(int64(len(buf)), step, want-o.n)])
		if o.n == 0 && n > 0 {
			o.ttfb = time.Since(start)
		}
		if c.files != nil && n > 0 {
			if _, err := c.files[f.Name].ReadAt(exp[:n], off+o.n); err != nil && err != io.EOF {
				o.err = err
				return o
			}
			if !bytes.Equal(buf[:n], exp[:n]) {
				o.wrong = true
				return o
			}
		}
		o.n += int64(n)
		if err != nil {
			if ctx.Err() != nil {
				o.err = ctx.Err()
			} else {
				o.err = fmt.Errorf("after %d of %d bytes: %w", o.n, want, err)
			}
			return o
		}
		if tick > 0 {
			next = next.Add(tick * time.Duration(n) / time.Duration(step))
			if d := time.Until(next); d > 0 {
				select {
				case <-time.After(d):
				case <-ctx.Done():
					o.total = time.Since(start)
					return o // a viewer still watching when the run ends is fine
				}
			} else if d < -time.Second {
				o.stalls++ // more than a second behind the bitrate
				next = time.Now()
			}
		}
	}
	o.total = time.Since(start)
	return o
}
