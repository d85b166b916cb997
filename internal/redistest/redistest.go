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
	"fmt"
	"net"
	"os"
	"os/exec"
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
	args := []string{
		"--port", strconv.Itoa(s.port),
		"--bind", "127.0.0.1",
		"--dir", s.dir,
		"--save", "",
		"--appendonly", "no",
		"--daemonize", "no",
		"--logfile", "redis.log",
	}
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
		if c, err := net.DialTimeout("tcp", s.Addr(), 100*time.Millisecond); err == nil {
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

func ping(c net.Conn) bool {
	c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return false
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && strings.HasPrefix(line, "+PONG")
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

// URL returns a redis:// URL for database 0.
func (s *Server) URL() string { return "redis://" + s.Addr() + "/0" }

// Client returns a go-redis client for the server, closed when the test ends.
func (s *Server) Client() *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: s.Addr()})
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
