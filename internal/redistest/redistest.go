// Package redistest runs real redis-server processes for tests: each on a
// free loopback port, with its files in a temporary directory, killed when
// the test ends.
//
// When redis-server is not installed, tests skip with a message, except
// under CI=true, where a missing prerequisite fails the run.
package redistest

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/reelcache/reelcache/internal/testproc"
)

// Server is a running redis-server: Kill, Pause, Resume, Restart (empty, on
// the same port) and Addr are its process's. Its methods are for the test
// goroutine.
type Server struct {
	*testproc.Proc
	tb   testing.TB
	dir  string
	args []string
	tls  *tls.Config // set for a TLS-only server: the client config that trusts it
}

// Require is testproc.Require, kept here for the many tests that already
// import this package.
func Require(tb testing.TB, name string) string {
	tb.Helper()
	return testproc.Require(tb, name)
}

// Start runs a redis-server with no persistence on a free loopback port and
// stops it when the test ends. extra are more config directives, as
// "name value" pairs, e.g. "maxmemory", "2mb".
func Start(tb testing.TB, extra ...string) *Server {
	tb.Helper()
	s := &Server{tb: tb, dir: tb.TempDir(), args: extra}
	s.start()
	return s
}

func (s *Server) start() {
	s.tb.Helper()
	bin := Require(s.tb, "redis-server")
	s.Proc = testproc.Start(s.tb, testproc.Options{
		Name:    "redis-server",
		Command: func(port int) (*exec.Cmd, error) { return s.command(bin, port), nil },
		Ready:   s.ready,
		Log:     func() string { return testproc.Tail(filepath.Join(s.dir, "redis.log")) },
	})
}

func (s *Server) command(bin string, port int) *exec.Cmd {
	args := []string{"--port", strconv.Itoa(port)}
	if s.tls != nil {
		args = []string{"--port", "0", "--tls-port", strconv.Itoa(port),
			"--tls-cert-file", "server.pem", "--tls-key-file", "server.key",
			"--tls-ca-cert-file", "ca.pem", "--tls-auth-clients", "no"}
	}
	args = append(args,
		"--bind", "127.0.0.1",
		"--dir", s.dir,
		"--save", "",
		"--appendonly", "no",
		"--daemonize", "no",
		"--logfile", "redis.log",
	)
	for i := 0; i+1 < len(s.args); i += 2 {
		args = append(args, "--"+s.args[i], s.args[i+1])
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = s.dir
	return cmd
}

// ready reports whether the server at addr answers PING: PONG, or NOAUTH
// from a server with a password.
func (s *Server) ready(addr string) bool {
	d := &net.Dialer{Timeout: 100 * time.Millisecond}
	var c net.Conn
	var err error
	if s.tls != nil {
		c, err = tls.DialWithDialer(d, "tcp", addr, s.tls)
	} else {
		c, err = d.Dial("tcp", addr)
	}
	if err != nil {
		return false
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return false
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && (strings.HasPrefix(line, "+PONG") || strings.HasPrefix(line, "-NOAUTH"))
}

// StartTLS runs a redis-server that speaks only TLS, with a certificate for
// 127.0.0.1 from a CA made for the test, and returns it with the CA's PEM
// file. extra are as for Start.
func StartTLS(tb testing.TB, extra ...string) (*Server, string) {
	tb.Helper()
	s := &Server{tb: tb, dir: tb.TempDir(), args: extra}
	caFile, err := writeCerts(s.dir)
	if err != nil {
		tb.Fatalf("make certificates: %v", err)
	}
	pool := x509.NewCertPool()
	pem, _ := os.ReadFile(caFile)
	pool.AppendCertsFromPEM(pem)
	s.tls = &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
	s.start()
	return s, caFile
}

// writeCerts writes ca.pem, server.pem and server.key into dir.
func writeCerts(dir string) (string, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", err
	}
	now := time.Now()
	ca := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "redistest CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		return "", err
	}
	srvKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", err
	}
	srv := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:    x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	srvDER, err := x509.CreateCertificate(rand.Reader, srv, ca, &srvKey.PublicKey, caKey)
	if err != nil {
		return "", err
	}
	keyDER, err := x509.MarshalECPrivateKey(srvKey)
	if err != nil {
		return "", err
	}
	write := func(name, typ string, der []byte) error {
		return os.WriteFile(filepath.Join(dir, name), pemEncode(typ, der), 0o600)
	}
	if err := errors.Join(write("ca.pem", "CERTIFICATE", caDER), write("server.pem", "CERTIFICATE", srvDER),
		write("server.key", "EC PRIVATE KEY", keyDER)); err != nil {
		return "", err
	}
	return filepath.Join(dir, "ca.pem"), nil
}

func pemEncode(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

// URL returns a redis:// (or rediss://) URL for database 0.
func (s *Server) URL() string {
	if s.tls != nil {
		return "rediss://" + s.Addr() + "/0"
	}
	return "redis://" + s.Addr() + "/0"
}

// Client returns a go-redis client for the server, closed when the test ends.
func (s *Server) Client() *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: s.Addr(), TLSConfig: s.tls})
	s.tb.Cleanup(func() { c.Close() })
	return c
}

// Keys returns the keys matching pattern, for assertions.
func (s *Server) Keys(ctx context.Context, pattern string) []string {
	s.tb.Helper()
	var keys []string
	iter := s.Client().Scan(ctx, 0, pattern, 1000).Iterator()
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		s.tb.Fatalf("scan %q: %v", pattern, err)
	}
	return keys
}

type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}

// Main is TestMain for packages whose tests take Redis down: it silences
// go-redis's own log lines (a refused dial per pooled connection while
// Redis is down), runs the tests, then each of after, and exits with the
// tests' status. Use it as
// `func TestMain(m *testing.M) { redistest.Main(m) }`.
func Main(m *testing.M, after ...func()) {
	redis.SetLogger(quietLogger{})
	code := m.Run()
	for _, f := range after {
		f()
	}
	os.Exit(code)
}
