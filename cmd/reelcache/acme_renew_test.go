package main

import (
	"crypto/x509"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/reelcache/reelcache/internal/redistest"
	"github.com/reelcache/reelcache/internal/testlog"
	"github.com/reelcache/reelcache/internal/testproc"
)

// TestACMERenewalOnce: two instances on one Redis, Pebble issuing
// certificates valid for 90 s. After the first certificate (one order),
// exactly one more order renews it before it expires, both instances serve
// the renewed certificate, and no further order follows while the renewed
// one is young. ARI is off (http.tls.acme.ari=false: Pebble's renewal info
// picks a random time that certmagic would refresh only every few hours),
// so renewal comes at certmagic's default ratio, with a third of the
// lifetime (30 s) left; renewals are checked every 2 s.
func TestACMERenewalOnce(t *testing.T) {
	const validity = 90 * time.Second
	bin := buildBinary(t)
	rs := redistest.Start(t)
	portA, portB := testproc.FreePort(t), testproc.FreePort(t)
	httpA, httpB := testproc.FreePort(t), testproc.FreePort(t)
	// Pebble validates through a relay to A once A listens: A answers its
	// own challenges and, from Redis, B's (certmagic's distributed
	// solving).
	var aUp atomic.Bool
	pb := startPebble(t, func() string {
		if !aUp.Load() {
			return ""
		}
		return fmt.Sprintf("127.0.0.1:%d", httpA)
	}, validity)
	start := func(port, httpPort int) *instance {
		return startInstance(t, bin, &testlog.Buffer{}, append(acmeArgs(t, pb, rs.URL(), "http-01", port, httpPort, t.TempDir()),
			"--http-tls-acme-renew-check-interval", "2s", "--http-tls-acme-ari=false")...)
	}
	a := start(portA, httpA)
	aUp.Store(true)
	b := start(portB, httpB)
	orders := pb.orders

	first := a.certOf(t, acmeDomain, pb.roots)
	if got := b.certOf(t, acmeDomain, pb.roots); got.SerialNumber.Cmp(first.SerialNumber) != 0 {
		t.Fatalf("the instances serve different certificates: %v and %v", first.SerialNumber, got.SerialNumber)
	}
	if life := first.NotAfter.Sub(first.NotBefore); life > validity {
		t.Fatalf("Pebble issued a certificate valid for %v, want <= %v", life, validity)
	}
	if o, i := orders(); o != 1 || i != 1 {
		t.Fatalf("first certificate: %d orders, %d issued; want 1 and 1\n%s", o, i, pb.out)
	}

	// Renewal: both instances serve a new certificate before the first
	// one expires.
	served := func(in *instance) *x509.Certificate { return in.certOf(t, acmeDomain, pb.roots) }
	var second [2]*x509.Certificate
	for {
		second = [2]*x509.Certificate{served(a), served(b)}
		if second[0].SerialNumber.Cmp(first.SerialNumber) != 0 && second[1].SerialNumber.Cmp(first.SerialNumber) != 0 {
			break
		}
		if time.Now().After(first.NotAfter) {
			t.Fatalf("not renewed before expiry (%v): A serves %v, B %v (first %v)\nA:\n%s\nB:\n%s\npebble:\n%s",
				first.NotAfter, second[0].SerialNumber, second[1].SerialNumber, first.SerialNumber, a.stderr, b.stderr, pb.out)
		}
		time.Sleep(500 * time.Millisecond)
	}
	if second[0].SerialNumber.Cmp(second[1].SerialNumber) != 0 {
		t.Errorf("after renewal the instances serve different certificates: %v and %v", second[0].SerialNumber, second[1].SerialNumber)
	}
	if !second[0].NotAfter.After(first.NotAfter) {
		t.Errorf("renewed certificate ends %v, not after the first's %v", second[0].NotAfter, first.NotAfter)
	}
	if o, i := orders(); o != 2 || i != 2 {
		t.Errorf("after renewal: %d orders, %d issued; want 2 and 2\n%s", o, i, pb.out)
	}
	renewers := 0
	for _, in := range []*instance{a, b} {
		if strings.Contains(in.stderr.String(), "renewing certificate") {
			renewers++
		}
	}
	if renewers != 1 {
		t.Errorf("%d instances renewed, want 1\nA:\n%s\nB:\n%s", renewers, a.stderr, b.stderr)
	}

	// No further order while the renewed certificate is young: its own
	// renewal is due 60 s after it was issued; wait 15 s (7 checks).
	time.Sleep(15 * time.Second)
	if o, i := orders(); o != 2 || i != 2 {
		t.Errorf("15s after renewal: %d orders, %d issued; want still 2 and 2\n%s", o, i, pb.out)
	}
	for _, in := range []*instance{a, b} {
		if got := served(in); got.SerialNumber.Cmp(second[0].SerialNumber) != 0 {
			t.Errorf("15s after renewal %s serves %v, want %v", in.addr, got.SerialNumber, second[0].SerialNumber)
		}
	}
}
