package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"time"
)

// metricsPath is where slowproxy answers with its own counters instead of
// passing the request on; no media name starts with a dot.
const metricsPath = "/.reelbench/metrics"

func slowProxyCommand(fs *flag.FlagSet) func(context.Context, io.Writer) error {
	upstream := fs.String("upstream", "", "origin base URL, e.g. http://127.0.0.1:8081/")
	serveOn := listenFlag(fs)
	lf := addLinkFlags(fs, 10*time.Millisecond, "added before each response", "responses")
	return func(ctx context.Context, out io.Writer) error {
		up, err := url.Parse(*upstream)
		if err != nil || (up.Scheme != "http" && up.Scheme != "https") || up.Host == "" {
			return fmt.Errorf("slowproxy: -upstream %q: want an http:// or https:// URL", *upstream)
		}
		l, err := lf.link()
		if err != nil {
			return fmt.Errorf("slowproxy: %w", err)
		}
		return serveOn(ctx, newSlowProxy(up, l), out)
	}
}

// newSlowProxy returns a reverse proxy to up that adds l's latency before
// each response and paces and counts response bodies through l: a slow
// remote origin. Requests and headers (Range, If-Match...) pass unchanged;
// GET metricsPath answers with l's counters.
func newSlowProxy(up *url.URL, l *link) http.Handler {
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(up)
			pr.Out.Host = up.Host
		},
		Transport: &http.Transport{
			Proxy: nil, DisableCompression: true, MaxIdleConnsPerHost: 256,
			DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		},
		ModifyResponse: func(res *http.Response) error {
			res.Body = &pacedBody{ctx: res.Request.Context(), rc: res.Body, l: l}
			return nil
		},
		ErrorLog: log.New(os.Stderr, "slowproxy: ", 0),
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if !errors.Is(err, context.Canceled) {
				fmt.Fprintf(os.Stderr, "slowproxy: %s %s: %v\n", r.Method, r.URL.Path, err)
			}
			w.WriteHeader(http.StatusBadGateway)
		},
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == metricsPath {
			l.ServeHTTP(w, r)
			return
		}
		if err := l.request(r.Context()); err != nil {
			return // the client left
		}
		rp.ServeHTTP(w, r)
	})
}

// pacedBody reads a response body through a link, at most 64 KiB at a
// time so that the pacing is smooth.
type pacedBody struct {
	ctx context.Context // the request's: a client who leaves stops waiting
	rc  io.ReadCloser
	l   *link
}

func (b *pacedBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p[:min(len(p), 64<<10)])
	if n > 0 {
		if werr := b.l.transfer(b.ctx, n); werr != nil && err == nil {
			err = werr
		}
	}
	return n, err
}

func (b *pacedBody) Close() error { return b.rc.Close() }
