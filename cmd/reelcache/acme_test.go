package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/reelcache/reelcache/internal/redistest"
	"github.com/reelcache/reelcache/internal/testlog"
	"github.com/reelcache/reelcache/internal/testmedia"
	"github.com/reelcache/reelcache/internal/testproc"
)

// requireGoTool finds a program scripts/deps.sh installs with go install:
// in PATH or $(go env GOPATH)/bin.
func requireGoTool(t *testing.T, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		p := filepath.Join(strings.TrimSpace(string(out)), "bin", name)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return redistest.Require(t, name) // skips, or fails under CI=true
}

// pebble is Pebble, the ACME test CA, with pebble-challtestsrv answering
// DNS for every name with 127.0.0.1.
type pebble struct {
	dir    string         // ACME directory URL
	caFile string         // roots of Pebble's own HTTPS (http.tls.acme.ca_root)
	roots  *x509.CertPool // roots of the certificates it issues
	out    *testlog.Buffer
}

// startPebble runs Pebble validating http-01 and tls-alpn-01 through a
// relay to the address pick returns (see relay), and stops it when the
// test ends. validity > 0 makes its only profile issue certificates valid
// that long (whole seconds); 0 keeps Pebble's default (90 days).
func startPebble(t *testing.T, pick func() string, validity time.Duration) *pebble {
	t.Helper()
	relayLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	relay(t, relayLn, pick)
	relayPort := relayLn.Addr().(*net.TCPAddr).Port
	pebbleBin := requireGoTool(t, "pebble")
	chall := requireGoTool(t, "pebble-challtestsrv")
	dir := t.TempDir()
	dnsPort, mgmt := testproc.FreePort(t), testproc.FreePort(t)
	run := func(out io.Writer, env []string, name string, args ...string) {
		cmd := exec.Command(name, args...)
		cmd.Dir, cmd.Stdout, cmd.Stderr = dir, out, out
		cmd.Env = append(os.Environ(), env...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	}
	run(io.Discard, nil, chall, "-defaultIPv4", "127.0.0.1", "-defaultIPv6", "",
		"-dnsserver", fmt.Sprintf("127.0.0.1:%d", dnsPort), "-management", fmt.Sprintf("127.0.0.1:%d", testproc.FreePort(t)),
		"-http01", "", "-https01", "", "-tlsalpn01", "", "-doh", "")

	ca := newTestCA(t)
	cert, key := ca.issue(t, dir, "pebble", 2, time.Now().Add(24*time.Hour))
	acmePort := testproc.FreePort(t)
	cfg := map[string]any{"pebble": map[string]any{
		"listenAddress":           fmt.Sprintf("127.0.0.1:%d", acmePort),
		"managementListenAddress": fmt.Sprintf("127.0.0.1:%d", mgmt),
		"certificate":             cert, "privateKey": key,
		"httpPort": relayPort, "tlsPort": relayPort,
		"ocspResponderURL": "", "externalAccountBindingRequired": false,
	}}
	if validity > 0 {
		// The only profile: orders that name none get it.
		cfg["pebble"].(map[string]any)["profiles"] = map[string]any{
			"default": map[string]any{"description": "short-lived", "validityPeriod": int(validity / time.Second)},
		}
	}
	b, _ := json.Marshal(cfg)
	os.WriteFile(filepath.Join(dir, "pebble.json"), b, 0o644)
	p := &pebble{dir: fmt.Sprintf("https://127.0.0.1:%d/dir", acmePort), caFile: ca.file, out: &testlog.Buffer{}}
	// No random sleeps before validation, no deliberately rejected nonces.
	run(p.out, []string{"PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0"}, pebbleBin,
		"-config", "pebble.json", "-dnsserver", fmt.Sprintf("127.0.0.1:%d", dnsPort))

	c := ca.client()
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := c.Get(fmt.Sprintf("https://127.0.0.1:%d/roots/0", mgmt))
		if err == nil {
			pemRoot, _ := io.ReadAll(res.Body)
			res.Body.Close()
			p.roots = x509.NewCertPool()
			if res.StatusCode == 200 && p.roots.AppendCertsFromPEM(pemRoot) {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("pebble did not start: %v\n%s", err, p.out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// count is how many lines of Pebble's log match re.
func (p *pebble) count(re string) int {
	return len(regexp.MustCompile(re).FindAllString(p.out.String(), -1))
}

// orders returns how many orders Pebble has had and how many certificates
// it has issued.
func (p *pebble) orders() (orders, issued int) {
	return p.count(`There are now \d+ orders`), p.count(`Issued certificate serial`)
}

// acmeDomain is the name the ACME tests' instances get certificates for
// (pebble-challtestsrv resolves every name to 127.0.0.1).
const acmeDomain = "reel.test"

// acmeArgs returns the arguments of an instance that serves HTTPS on port
// and plain HTTP (redirects, http-01 answers) on httpPort, gets its
// certificate for acmeDomain from pb by challenge, shares it through the
// Redis at redisURL and keeps its local copy in dir.
func acmeArgs(t *testing.T, pb *pebble, redisURL, challenge string, port, httpPort int, dir string) []string {
	return []string{"--listen", fmt.Sprintf("127.0.0.1:%d", port), "--http-redirect-listen", fmt.Sprintf("127.0.0.1:%d", httpPort),
		"--media-root", testmedia.SamplesDir(t), "--redis-url", redisURL,
		"--http-tls-acme-domains", acmeDomain, "--http-tls-acme-email", "ops@reel.test",
		"--http-tls-acme-ca", pb.dir, "--http-tls-acme-ca-root", pb.caFile,
		"--http-tls-acme-challenges", challenge, "--http-tls-acme-storage-key", "test-storage-key-0123456789",
		"--http-tls-acme-dir", dir}
}

// instance is a reelcache binary serving HTTPS by ACME.
type instance struct {
	addr   string // host:port of the HTTPS listener
	stderr *testlog.Buffer
	cmd    *exec.Cmd
	exited chan struct{}
}

// startInstance runs bin serve with args until stop or the end of the
// test, its log going to stderr.
func startInstance(t *testing.T, bin string, stderr *testlog.Buffer, args ...string) *instance {
	t.Helper()
	in := &instance{stderr: stderr, exited: make(chan struct{})}
	in.cmd = exec.Command(bin, append([]string{"serve"}, args...)...)
	in.cmd.Dir = t.TempDir()
	in.cmd.Env = binaryEnv(t)
	in.cmd.Stderr = in.stderr
	stdout, err := in.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := in.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(in.stop)
	line, err := bufio.NewReader(stdout).ReadString('\n')
	go func() { io.Copy(io.Discard, stdout); in.cmd.Wait(); close(in.exited) }()
	if err != nil {
		t.Fatalf("serve printed no URL: %v; stderr:\n%s", err, in.stderr)
	}
	m := regexp.MustCompile(`https://(\S+)/`).FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("no https URL in %q", line)
	}
	in.addr = m[1]
	return in
}

func (in *instance) stop() {
	in.cmd.Process.Kill()
	<-in.exited
}

// certOf waits for the instance to serve a certificate for name that roots
// trust, and returns it.
func (in *instance) certOf(t *testing.T, name string, roots *x509.CertPool) *x509.Certificate {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		conn, err := tls.Dial("tcp", in.addr, &tls.Config{ServerName: name, RootCAs: roots, NextProtos: []string{"h2"}})
		if err == nil {
			defer conn.Close()
			return conn.ConnectionState().PeerCertificates[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s serves no certificate for %s after 90s: %v\n%s", in.addr, name, err, in.stderr)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// relay forwards each connection to ln to the address pick returns; while
// it returns "" (no backend chosen yet) the connection waits, as at a load
// balancer whose backends are not up yet, until the client gives up or the
// test ends.
func relay(t *testing.T, ln net.Listener, pick func() string) {
	done := make(chan struct{})
	t.Cleanup(func() { close(done); ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				addr := pick()
				for addr == "" {
					select {
					case <-done:
						return
					case <-time.After(10 * time.Millisecond):
					}
					addr = pick()
				}
				up, err := net.Dial("tcp", addr)
				if err != nil {
					return
				}
				defer up.Close()
				go io.Copy(up, c)
				io.Copy(c, up)
			}()
		}
	}()
}

// TestACMETwoInstancesOneOrder: two instances on one Redis, Pebble as the
// CA, each challenge type: they serve one certificate from one order
// between them, and the challenge is answered by the instance that did not
// order (from what the other put in Redis, as behind a load balancer); a
// restart of both orders nothing; an instance restarted with Redis down
// serves the certificate from its local copy.
func TestACMETwoInstancesOneOrder(t *testing.T) {
	bin := buildBinary(t)
	for _, challenge := range []string{"http-01", "tls-alpn-01"} {
		t.Run(challenge, func(t *testing.T) {
			rs := redistest.Start(t)
			portA, portB := testproc.FreePort(t), testproc.FreePort(t)
			httpA, httpB := testproc.FreePort(t), testproc.FreePort(t)
			// The logs of A and B, each set once its instance listens;
			// read by the relay.
			var logs [2]atomic.Pointer[testlog.Buffer]
			// Pebble validates through a relay to the instance that is
			// not ordering: it answers from what the other put in Redis
			// (certmagic's distributed solving). A orders as soon as it
			// starts, alone on the lock, often before B listens: the
			// relay holds Pebble's connections until both instances
			// listen and one of them has said it orders (a dial to B's
			// port before B listened was refused, the authz went invalid
			// and certmagic ordered again a minute later: 2 orders).
			other := func() string {
				la, lb := logs[0].Load(), logs[1].Load()
				if la == nil || lb == nil {
					return ""
				}
				port := [2]int{httpA, portA}
				switch {
				case strings.Contains(la.String(), "obtaining certificate"):
					port = [2]int{httpB, portB}
				case !strings.Contains(lb.String(), "obtaining certificate"):
					return ""
				}
				if challenge == "http-01" {
					return fmt.Sprintf("127.0.0.1:%d", port[0])
				}
				return fmt.Sprintf("127.0.0.1:%d", port[1])
			}
			pb := startPebble(t, other, 0)
			dirA, dirB := t.TempDir(), t.TempDir()
			start := func(port, httpPort int, dir string) *instance {
				l := &testlog.Buffer{}
				in := startInstance(t, bin, l, acmeArgs(t, pb, rs.URL(), challenge, port, httpPort, dir)...)
				i := 0
				if port == portB {
					i = 1
				}
				logs[i].Store(l)
				return in
			}
			a, b := start(portA, httpA, dirA), start(portB, httpB, dirB)
			ca, cb := a.certOf(t, acmeDomain, pb.roots), b.certOf(t, acmeDomain, pb.roots)
			orderer, answerer := a, b
			if !strings.Contains(a.stderr.String(), "obtaining certificate") {
				orderer, answerer = b, a
			}
			if strings.Contains(answerer.stderr.String(), "obtaining certificate") || !strings.Contains(answerer.stderr.String(), "distributed=true") {
				t.Errorf("want one instance ordering and the other answering the challenge from Redis; the orderer:\n%s\nthe other:\n%s", orderer.stderr, answerer.stderr)
			}
			if ca.SerialNumber.Cmp(cb.SerialNumber) != 0 {
				t.Errorf("the instances serve different certificates: %v and %v", ca.SerialNumber, cb.SerialNumber)
			}
			if orders, issued := pb.orders(); orders != 1 || issued != 1 {
				t.Errorf("%d orders, %d certificates issued; want 1 and 1\n%s", orders, issued, pb.out)
			}
			// Media over HTTPS with the ACME certificate.
			c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pb.roots}, ForceAttemptHTTP2: true,
				DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
					return (&net.Dialer{}).DialContext(ctx, network, b.addr)
				}}}
			res, err := c.Get("https://" + acmeDomain + "/media/sample-faststart.mp4")
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != 200 || res.ProtoMajor != 2 {
				t.Errorf("GET over the ACME certificate: %d %s", res.StatusCode, res.Proto)
			}

			// Restart both: nothing ordered.
			a.stop()
			b.stop()
			a, b = start(portA, httpA, dirA), start(portB, httpB, dirB)
			for _, in := range []*instance{a, b} {
				if got := in.certOf(t, acmeDomain, pb.roots); got.SerialNumber.Cmp(ca.SerialNumber) != 0 {
					t.Errorf("after a restart %s serves %v, want %v", in.addr, got.SerialNumber, ca.SerialNumber)
				}
			}
			if o, i := pb.orders(); o != 1 || i != 1 {
				t.Errorf("after a restart: %d orders, %d issued; want still 1 and 1", o, i)
			}

			// Redis down at start: B serves from its local copy, and only
			// over TLS.
			b.stop()
			rs.Kill()
			b = start(portB, httpB, dirB)
			if got := b.certOf(t, acmeDomain, pb.roots); got.SerialNumber.Cmp(ca.SerialNumber) != 0 {
				t.Errorf("with Redis down, B serves %v, want %v", got.SerialNumber, ca.SerialNumber)
			}
			if res, err := http.Get("http://" + b.addr + "/media/sample-faststart.mp4"); err == nil {
				res.Body.Close()
				if res.StatusCode != http.StatusBadRequest {
					t.Errorf("plain HTTP with Redis down: status %d", res.StatusCode)
				}
			}
		})
	}
}
