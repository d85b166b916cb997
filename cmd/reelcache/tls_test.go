package main

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/reelcache/reelcache/internal/redistest"
	"github.com/reelcache/reelcache/internal/testmedia"
)

// redirectAddr is the address the redirect listener logged.
func redirectAddr(t *testing.T, srv *running) string {
	t.Helper()
	m := regexp.MustCompile(`redirecting plain HTTP to HTTPS"? addr=(\S+)`).FindStringSubmatch(srv.stderr.String())
	if m == nil {
		t.Fatalf("no redirect listener in the log:\n%s", srv.stderr)
	}
	return m[1]
}

// readyz returns /readyz's body.
func readyz(t *testing.T, c *http.Client, base string) map[string]string {
	t.Helper()
	res, err := c.Get(base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body map[string]string
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	return body
}

// TestHTTPS: with a certificate file, curl gets HTTP/2 by ALPN (and
// HTTP/1.1 when it asks), ranges are the file's bytes, HSTS is sent, plain
// HTTP on the HTTPS port gets no media, the redirect listener sends plain
// HTTP to HTTPS, and /readyz and /metrics show the certificate's expiry.
func TestHTTPS(t *testing.T) {
	redistest.Require(t, "curl")
	media := testmedia.SamplesDir(t)
	want, err := os.ReadFile(filepath.Join(media, "sample-faststart.mp4"))
	if err != nil {
		t.Fatal(err)
	}
	ca := newTestCA(t)
	notAfter := time.Now().Add(90 * 24 * time.Hour).Truncate(time.Second)
	cert, key := ca.issue(t, t.TempDir(), "a", 2, notAfter)
	rs := redistest.Start(t)
	srv := startServe(t, "--media-root", media, "--redis-url", rs.URL(),
		"--http-tls-cert-file", cert, "--http-tls-key-file", key,
		"--http-redirect-listen", "127.0.0.1:0", "--http-hsts", "8760h")
	if !strings.HasPrefix(srv.url, "https://") {
		t.Fatalf("serve printed %s, want an https:// URL", srv.url)
	}
	url := srv.url + "/media/sample-faststart.mp4"

	for _, tt := range []struct{ flag, version string }{{"--http2", "2"}, {"--http1.1", "1.1"}} {
		for _, r := range [][2]int{{1000, 2000}, {0, 0}, {len(want) - 5000, len(want) - 1}} {
			body, hdr := curl(t, tt.flag, "--cacert", ca.file, "-w", "\n%{http_version}", "-r", fmt.Sprintf("%d-%d", r[0], r[1]), url)
			i := bytes.LastIndexByte(body, '\n')
			if v := string(body[i+1:]); v != tt.version {
				t.Errorf("curl %s: HTTP version %q, want %q (ALPN)", tt.flag, v, tt.version)
			}
			if !bytes.Equal(body[:i], want[r[0]:r[1]+1]) {
				t.Errorf("curl %s -r %d-%d: %d bytes, not the file's", tt.flag, r[0], r[1], i)
			}
			if !strings.Contains(strings.ToLower(hdr), "strict-transport-security: max-age=31536000") {
				t.Errorf("curl %s: no HSTS header in\n%s", tt.flag, hdr)
			}
		}
	}

	// Plain HTTP to the HTTPS port: never the media.
	plain := strings.Replace(url, "https://", "http://", 1)
	if res, err := http.Get(plain); err == nil {
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusBadRequest || bytes.Contains(b, want[:64]) {
			t.Errorf("plain HTTP on the HTTPS port: status %d", res.StatusCode)
		}
	}

	// The redirect listener: 308 to the same path and query over HTTPS.
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := noFollow.Get("http://" + redirectAddr(t, srv) + "/media/sample-faststart.mp4?x=1")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if loc := res.Header.Get("Location"); res.StatusCode != http.StatusPermanentRedirect || loc != url+"?x=1" {
		t.Errorf("redirect listener: %d Location %q, want 308 %q", res.StatusCode, loc, url+"?x=1")
	}

	c := ca.client()
	body := readyz(t, c, srv.url)
	if body["tls"] != "ok" || body["tls_not_after"] != notAfter.UTC().Format(time.RFC3339) || body["status"] != "ready" {
		t.Errorf("/readyz %v: want tls ok until %s", body, notAfter.UTC().Format(time.RFC3339))
	}
	m := metricVia(t, c, srv.url, "reelcache_tls_cert_expiry_timestamp_seconds")
	if int64(m) != notAfter.Unix() {
		t.Errorf("reelcache_tls_cert_expiry_timestamp_seconds %v, want %d", m, notAfter.Unix())
	}
}

// metricVia is metric through c.
func metricVia(t *testing.T, c *http.Client, base, sample string) float64 {
	t.Helper()
	res, err := c.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	for l := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, sample+" "); ok {
			var f float64
			fmt.Sscan(v, &f)
			return f
		}
	}
	t.Fatalf("no %s in /metrics", sample)
	return 0
}

// TestHTTPSCertReplacedMidDownload: the certificate files are replaced
// while a 20 MB download runs over HTTP/2; the download completes
// byte-exact on its old certificate, and the next connection gets the new
// one.
func TestHTTPSCertReplacedMidDownload(t *testing.T) {
	media := t.TempDir()
	data := make([]byte, 20<<20)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	if err := os.WriteFile(filepath.Join(media, "big.mp4"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	ca := newTestCA(t)
	dir := t.TempDir()
	cert, key := ca.issue(t, dir, "live", 100, time.Now().Add(48*time.Hour))
	srv := startServe(t, "--media-root", media, "--redis-url", "",
		"--http-tls-cert-file", cert, "--http-tls-key-file", key)

	c := ca.client()
	res, err := c.Get(srv.url + "/media/big.mp4")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.ProtoMajor != 2 || res.TLS.PeerCertificates[0].SerialNumber.Int64() != 100 {
		t.Fatalf("download over %s with certificate %v, want HTTP/2 with 100", res.Proto, res.TLS.PeerCertificates[0].SerialNumber)
	}
	got := make([]byte, 0, len(data))
	buf := make([]byte, 1<<20)
	n, _ := io.ReadFull(res.Body, buf)
	got = append(got, buf[:n]...)

	// A renewal tool's way: write new files beside, rename over.
	newCert, newKey := ca.issue(t, dir, "next", 200, time.Now().Add(72*time.Hour))
	if err := os.Rename(newKey, key); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(newCert, cert); err != nil {
		t.Fatal(err)
	}
	serial := func() int64 {
		conn, err := tls.Dial("tcp", strings.TrimPrefix(srv.url, "https://"), &tls.Config{RootCAs: ca.pool})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		return conn.ConnectionState().PeerCertificates[0].SerialNumber.Int64()
	}
	deadline := time.Now().Add(30 * time.Second) // polled every 5 s
	for serial() != 200 {
		if time.Now().After(deadline) {
			t.Fatalf("new connections still get the old certificate after 30 s; log:\n%s", srv.stderr)
		}
		time.Sleep(200 * time.Millisecond)
	}
	rest, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("download cut after the certificate changed: %v", err)
	}
	got = append(got, rest...)
	if !bytes.Equal(got, data) {
		t.Fatalf("download of %d bytes is not the file's %d", len(got), len(data))
	}
	if !strings.Contains(srv.stderr.String(), "certificate reloaded") {
		t.Errorf("no reload in the log:\n%s", srv.stderr)
	}
}

// TestHTTPSExpiry: an expired or soon-expiring certificate is served (the
// operator may have no other) but logged and shown in /readyz.
func TestHTTPSExpiry(t *testing.T) {
	for _, tt := range []struct {
		name     string
		notAfter time.Duration
		state    string
		status   string
		log      string
	}{
		{"expiring", 3 * 24 * time.Hour, "expiring", "ready", "expires soon"},
		{"expired", -time.Hour, "expired", "degraded", "has expired"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ca := newTestCA(t)
			cert, key := ca.issue(t, t.TempDir(), "a", 2, time.Now().Add(tt.notAfter))
			srv := startServe(t, "--media-root", testmedia.SamplesDir(t), "--redis-url", "",
				"--http-tls-cert-file", cert, "--http-tls-key-file", key)
			c := ca.client()
			// An expired certificate fails verification: look anyway.
			c.Transport.(*http.Transport).TLSClientConfig.InsecureSkipVerify = tt.state == "expired"
			body := readyz(t, c, srv.url)
			if body["tls"] != tt.state || body["status"] != tt.status {
				t.Errorf("/readyz %v: want tls %s, status %s", body, tt.state, tt.status)
			}
			if !strings.Contains(srv.stderr.String(), tt.log) {
				t.Errorf("log does not say %q:\n%s", tt.log, srv.stderr)
			}
		})
	}
}

// TestHTTPSConfigErrors: a certificate or key that cannot be served is a
// configuration error (exit 2) naming the key and the file.
func TestHTTPSConfigErrors(t *testing.T) {
	ca := newTestCA(t)
	dir := t.TempDir()
	certA, keyA := ca.issue(t, dir, "a", 2, time.Now().Add(time.Hour))
	_, keyB := ca.issue(t, dir, "b", 3, time.Now().Add(time.Hour))
	missing := filepath.Join(dir, "missing.pem")
	for _, tt := range []struct {
		name string
		args []string
		want []string
	}{
		{"mismatched key", []string{"--http-tls-cert-file", certA, "--http-tls-key-file", keyB}, []string{"http.tls.key_file", keyB, "does not match"}},
		{"unreadable cert", []string{"--http-tls-cert-file", missing, "--http-tls-key-file", keyA}, []string{"http.tls.cert_file", missing}},
		{"key as cert", []string{"--http-tls-cert-file", keyA, "--http-tls-key-file", keyA}, []string{"http.tls.cert_file", keyA, "no PEM CERTIFICATE"}},
		{"cert as key", []string{"--http-tls-cert-file", certA, "--http-tls-key-file", certA}, []string{"http.tls.key_file", certA, "no PEM PRIVATE KEY"}},
		{"cert without key", []string{"--http-tls-cert-file", certA}, []string{"http.tls.key_file", "required"}},
		{"redirect without TLS", []string{"--http-redirect-listen", ":0"}, []string{"http.redirect_listen", "only with HTTPS"}},
		{"ACME without storage key", []string{"--http-tls-acme-domains", "video.example.com"}, []string{"http.tls.acme.storage_key", "required"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			// A Redis URL nothing answers: the config is refused before
			// anything is dialled.
			serveRefuses(t, append([]string{"--redis-url", "redis://127.0.0.1:1/0", "--listen", "127.0.0.1:0"}, tt.args...), tt.want)
		})
	}
}
