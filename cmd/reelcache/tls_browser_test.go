package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/reelcache/reelcache/internal/redistest"
)

// trustingHome makes a home directory whose NSS database (the one
// Chromium on Linux reads, ~/.pki/nssdb) trusts the CA in caFile to
// identify servers. Nothing else is trusted any differently: no
// certificate-error flags.
func trustingHome(t *testing.T, caFile string) string {
	t.Helper()
	certutil := redistest.Require(t, "certutil")
	home := t.TempDir()
	db := filepath.Join(home, ".pki", "nssdb")
	if err := os.MkdirAll(db, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"-d", "sql:" + db, "-N", "--empty-password"},
		{"-d", "sql:" + db, "-A", "-t", "C,,", "-n", "reelcache test CA", "-i", caFile},
	} {
		if out, err := exec.Command(certutil, args...).CombinedOutput(); err != nil {
			t.Fatalf("certutil %v: %v\n%s", args, err, out)
		}
	}
	return home
}

// TestBrowserHTTPS: headless Chromium, trusting the test CA through its
// NSS database, loads the page over HTTP/2 and plays and seeks each
// sample over HTTPS; without the CA it refuses the page (so the trust is
// the CA's, not a flag's).
func TestBrowserHTTPS(t *testing.T) {
	ca := newTestCA(t)
	cert, key := ca.issue(t, t.TempDir(), "srv", 2, time.Now().Add(24*time.Hour))
	rs := redistest.Start(t)
	srv := startServe(t, "--media-root", samples(t), "--redis-url", rs.URL(),
		"--http-tls-cert-file", cert, "--http-tls-key-file", key)

	bctx := newBrowserWith(t, chromedp.Env("HOME="+trustingHome(t, ca.file)))
	for _, name := range sampleNames {
		res := playInBrowser(t, bctx, srv.url, name, "")
		t.Logf("%s over HTTPS: duration %.1fs, seeks %v ms", name, res.Duration, seekTimes(res))
	}
	// The page's own connection: h2 by ALPN (the media requests share it).
	ctx, cancel := chromedp.NewContext(bctx)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.url+"/")); err != nil {
		t.Fatal(err)
	}
	proto, err := chromedp.Run(ctx, chromedp.Evaluate[string](`performance.getEntriesByType("navigation")[0].nextHopProtocol`))
	if err != nil {
		t.Fatal(err)
	}
	if proto != "h2" {
		t.Errorf("the page came over %q, want h2", proto)
	}
	var ranged int
	for _, l := range strings.Split(srv.stderr.String(), "\n") {
		if strings.Contains(l, "path=/media/") && strings.Contains(l, "status=206") {
			ranged++
		}
	}
	if ranged == 0 {
		t.Errorf("no 206 media responses in the log:\n%s", srv.stderr)
	}

	// A browser without the CA refuses the server.
	untrusting := newBrowserWith(t, chromedp.Env("HOME="+t.TempDir()))
	uctx, cancel := context.WithTimeout(untrusting, 30*time.Second)
	defer cancel()
	err = chromedp.Do(uctx, chromedp.Navigate(srv.url+"/"))
	if err == nil || !strings.Contains(err.Error(), "CERT") {
		title, _ := chromedp.Run(uctx, chromedp.Title())
		t.Errorf("a browser without the test CA opened the page (title %q, err %v)", title, err)
	}
}
