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
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Server is a running redis-server. Its methods are for the test goroutine.
type Server struct {
	tb   testing.TB
	dir  string
	port int
	args []string
	cmd  *exec.Cmd
	tls  *tls.Config // set for a TLS-only server: the client config that trusts it
}

// Require returns the path of the named program, skipping the test when it is
// missing, or failing it under CI=true.
func Require(tb testing.TB, name string) string {
	tb.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	msg := fmt.Sprintf("%s not found in PATH: run `make test` as root to install it (apt-get install redis-server ffmpeg chromium)", name)
	if os.Getenv("CI") == "true" {
		tb.Fatal(msg)
	}
	tb.Skip(msg)
	return ""
}

// Start runs a redis-server with no persistence on a free loopback port and
// stops it when the test ends. extra are more config directives, as
// "name value" pairs, e.g. "maxmemory", "2mb".
func Start(tb testing.TB, extra ...string) *Server {
	tb.Helper()
	Require(tb, "redis-server")
	s := &Server{tb: tb, dir: tb.TempDir(), args: extra}
	var err error
	for range 5 { // the free port can be taken between probe and bind
		s.port = freePort(tb)
		if err = s.start(); err == nil {
			tb.Cleanup(s.Kill)
			return s
		}
	}
	tb.Fatalf("start redis-server: %v", err)
	return nil
}

func freePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("find a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func (s *Server) start() error {
	port := []string{"--port", strconv.Itoa(s.port)}
	if s.tls != nil {
		port = []string{"--port", "0", "--tls-port", strconv.Itoa(s.port),
			"--tls-cert-file", "server.pem", "--tls-key-file", "server.key",
			"--tls-ca-cert-file", "ca.pem", "--tls-auth-clients", "no"}
	}
	args := append(port,
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
	cmd := exec.Command("redis-server", args...)
	cmd.Dir = s.dir
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return fmt.Errorf("redis-server exited: %v: %s", err, s.logTail())
		default:
		}
		if c, err := s.dial(); err == nil {
			ok := ping(c)
			c.Close()
			if ok {
				s.cmd = cmd
				return nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Kill()
	<-exited
	return fmt.Errorf("redis-server did not answer on %s: %s", s.Addr(), s.logTail())
}

func (s *Server) dial() (net.Conn, error) {
	d := &net.Dialer{Timeout: 100 * time.Millisecond}
	if s.tls != nil {
		return tls.DialWithDialer(d, "tcp", s.Addr(), s.tls)
	}
	return d.Dial("tcp", s.Addr())
}

// ping reports whether the server answers: PONG, or NOAUTH from a server
// with a password.
func ping(c net.Conn) bool {
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
	Require(tb, "redis-server")
	s := &Server{tb: tb, dir: tb.TempDir(), args: extra}
	caFile, err := writeCerts(s.dir)
	if err != nil {
		tb.Fatalf("make certificates: %v", err)
	}
	pool := x509.NewCertPool()
	pem, _ := os.ReadFile(caFile)
	pool.AppendCertsFromPEM(pem)
	s.tls = &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
	for range 5 {
		s.port = freePort(tb)
		if err = s.start(); err == nil {
			tb.Cleanup(s.Kill)
			return s, caFile
		}
	}
	tb.Fatalf("start redis-server with TLS: %v", err)
	return nil, ""
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

func (s *Server) logTail() string {
	b, _ := os.ReadFile(s.dir + "/redis.log")
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// Addr returns host:port.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

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

// Kill stops the server with SIGKILL, as a crash would. It is safe to call
// more than once.
func (s *Server) Kill() {
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGCONT) // a stopped process must run to die
	s.cmd.Process.Kill()
	s.cmd.Process.Wait()
	s.cmd = nil
}

// Pause stops the process with SIGSTOP: it keeps its port but answers
// nothing, as a hung server does. Resume undoes it.
func (s *Server) Pause() { s.cmd.Process.Signal(syscall.SIGSTOP) }

// Resume continues a paused server.
func (s *Server) Resume() { s.cmd.Process.Signal(syscall.SIGCONT) }

// Restart starts a killed server again on the same port, empty.
func (s *Server) Restart() {
	s.tb.Helper()
	s.Kill()
	if err := s.start(); err != nil {
		s.tb.Fatalf("restart redis-server: %v", err)
	}
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

// QuietRedisLogs silences go-redis's own log lines (a refused dial per
// pooled connection while a test has Redis down). Call it from TestMain.
func QuietRedisLogs() { redis.SetLogger(quietLogger{}) }
