package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"sync"
	"time"
)

// seekStormCommand measures what a player's seek storm waits for over
// HTTP/2 against HTTP/1.1 on the same HTTPS server: a storm is -ranges
// range requests issued at once (a player scrubbing), over one HTTP/2
// connection (multiplexed) or over six HTTP/1.1 connections (a browser's
// per-host limit; the rest queue). The time to first byte of each request
// counts from the start of its storm, so HTTP/1.1's queueing is in it.
// Storms alternate between the two (h2, h1, h2 ...), on connections opened
// beforehand; it prints p50 and p99 of each, and their ratio.
//
//	reelbench seekstorm -url https://127.0.0.1:8443/media/v.mp4 -cacert cert.pem -size N
func seekStormCommand(fs *flag.FlagSet) func(context.Context, io.Writer) error {
	url := fs.String("url", "", "https URL of one video")
	caFile := fs.String("cacert", "", "PEM roots that sign the server's certificate")
	size := fs.Int64("size", 0, "the video's size in bytes")
	storms := fs.Int("storms", 20, "storms per protocol")
	ranges := fs.Int("ranges", 32, "requests per storm")
	rangeLen := fs.Int64("range", 256<<10, "bytes per request")
	return func(ctx context.Context, out io.Writer) error {
		if *url == "" || *caFile == "" || *size <= *rangeLen {
			return errors.New("seekstorm: -url, -cacert and a -size larger than -range are required")
		}
		pem, err := os.ReadFile(*caFile)
		if err != nil {
			return err
		}
		roots := x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return fmt.Errorf("%s: no certificate", *caFile)
		}
		h2 := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}, ForceAttemptHTTP2: true}
		h1 := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, NextProtos: []string{"http/1.1"}},
			TLSNextProto: map[string]func(string, *tls.Conn) http.RoundTripper{}, MaxConnsPerHost: 6, MaxIdleConnsPerHost: 6}
		defer h2.CloseIdleConnections()
		defer h1.CloseIdleConnections()
		rng := rand.New(rand.NewPCG(1, 2))
		ttfb := map[string][]time.Duration{}
		for i := range *storms * 2 {
			name, rt, proto := "h2", http.RoundTripper(h2), 2
			if i%2 == 1 {
				name, rt, proto = "http/1.1", h1, 1
			}
			if i < 2 { // open the connections first (one h2, six HTTP/1.1): handshakes are not part of a seek
				if _, err := storm(ctx, rt, proto, *url, map[int]int{2: 1, 1: 6}[proto], *rangeLen, *size, rng); err != nil {
					return err
				}
			}
			d, err := storm(ctx, rt, proto, *url, *ranges, *rangeLen, *size, rng)
			if err != nil {
				return err
			}
			ttfb[name] = append(ttfb[name], d...)
		}
		p := func(name string, q float64) time.Duration {
			d := slices.Clone(ttfb[name])
			slices.Sort(d)
			return d[min(len(d)-1, int(q*float64(len(d))))]
		}
		fmt.Fprintf(out, "| protocol | connections | TTFB p50 | TTFB p99 |\n|---|---|---|---|\n")
		fmt.Fprintf(out, "| h2 | 1 | %v | %v |\n", p("h2", .5).Round(10*time.Microsecond), p("h2", .99).Round(10*time.Microsecond))
		fmt.Fprintf(out, "| http/1.1 | 6 | %v | %v |\n", p("http/1.1", .5).Round(10*time.Microsecond), p("http/1.1", .99).Round(10*time.Microsecond))
		fmt.Fprintf(out, "\nh2 / http/1.1: p50 %.2fx, p99 %.2fx (%d storms of %d ranges of %d bytes each)\n",
			float64(p("h2", .5))/float64(p("http/1.1", .5)), float64(p("h2", .99))/float64(p("http/1.1", .99)), *storms, *ranges, *rangeLen)
		return nil
	}
}

// storm issues n range requests at once and returns each one's time to
// first byte from the storm's start; every body must be whole and every
// response of protocol major version proto.
func storm(ctx context.Context, rt http.RoundTripper, proto int, url string, n int, rangeLen, size int64, rng *rand.Rand) ([]time.Duration, error) {
	offs := make([]int64, n)
	for i := range offs {
		offs[i] = rng.Int64N(size - rangeLen)
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		out  []time.Duration
		errs []error
	)
	start := time.Now()
	for _, off := range offs {
		wg.Go(func() {
			d, err := fetchRange(ctx, rt, proto, url, off, rangeLen, start)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			out = append(out, d)
		})
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

// fetchRange GETs one range and returns the time from start to its first
// body byte.
func fetchRange(ctx context.Context, rt http.RoundTripper, proto int, url string, off, n int64, start time.Time) (time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", off, off+n-1))
	res, err := rt.RoundTrip(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusPartialContent || res.ProtoMajor != proto {
		return 0, fmt.Errorf("range at %d: %s %s", off, res.Proto, res.Status)
	}
	var b [1]byte
	if _, err := io.ReadFull(res.Body, b[:]); err != nil {
		return 0, err
	}
	d := time.Since(start)
	m, err := io.Copy(io.Discard, res.Body)
	if err != nil || m+1 != n {
		return 0, fmt.Errorf("range at %d: %d bytes, %v", off, m+1, err)
	}
	return d, nil
}
