// Package nginxtest runs real nginx processes for tests: each serving a
// directory on a free loopback port, with its configuration, logs and
// temporary files in a temporary directory, killed when the test ends.
//
// When nginx is not installed, tests skip with a message, except under
// CI=true, where a missing prerequisite fails the run (scripts/deps.sh
// installs it).
package nginxtest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Server is a running nginx. Its methods are for the test goroutine.
type Server struct {
	tb   testing.TB
	dir  string
	port int
	cmd  *exec.Cmd
	conf string
}

// Options say what the server serves.
type Options struct {
	// Root is the directory served at /. Required.
	Root string
	// Location is more directives for `location / { ... }`, e.g.
	// `if ($http_authorization != "Bearer t") { return 401; }` or
	// `return 500;`.
	Location string
}

// Find returns nginx's path, skipping the test when it is missing, or
// failing it under CI=true.
func Find(tb testing.TB) string {
	tb.Helper()
	for _, p := range []string{"nginx", "/usr/sbin/nginx"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	msg := "nginx not found: run `make deps` as root to install it (apt-get install nginx-light)"
	if os.Getenv("CI") == "true" {
		tb.Fatal(msg)
	}
	tb.Skip(msg)
	return ""
}

// Start runs nginx serving opts.Root and stops it when the test ends. It
// runs as one process (master_process off), as the test's user, so that it
// can read the test's temporary directories. The access log records method,
// Range, If-Match, status and bytes sent of every request (AccessLog).
func Start(tb testing.TB, opts Options) *Server {
	tb.Helper()
	bin := Find(tb)
	s := &Server{tb: tb, dir: tb.TempDir()}
	var err error
	for range 5 { // the free port can be taken between probe and bind
		s.port = freePort(tb)
		if err = s.start(bin, opts); err == nil {
			tb.Cleanup(s.Kill)
			return s
		}
	}
	tb.Fatalf("start nginx: %v", err)
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

func (s *Server) start(bin string, opts Options) error {
	d := s.dir
	s.conf = fmt.Sprintf(`daemon off;
master_process off;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
events { worker_connections 256; }
http {
	log_format origin '$request_method $uri range="$http_range" if_match=$http_if_match status=$status sent=$body_bytes_sent';
	access_log %[1]s/access.log origin;
	client_body_temp_path %[1]s/tmp-body;
	proxy_temp_path %[1]s/tmp-proxy;
	fastcgi_temp_path %[1]s/tmp-fastcgi;
	uwsgi_temp_path %[1]s/tmp-uwsgi;
	scgi_temp_path %[1]s/tmp-scgi;
	types { video/mp4 mp4; video/webm webm; application/json json; }
	default_type application/octet-stream;
	sendfile on;
	keepalive_requests 100000;
	server {
		listen 127.0.0.1:%[2]d;
		root %[3]s;
		location / {
			%[4]s
		}
	}
}
`, d, s.port, opts.Root, opts.Location)
	conf := filepath.Join(d, "nginx.conf")
	if err := os.WriteFile(conf, []byte(s.conf), 0o644); err != nil {
		return err
	}
	cmd := exec.Command(bin, "-p", d, "-c", conf, "-e", filepath.Join(d, "error.log"))
	cmd.Dir = d
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return fmt.Errorf("nginx exited: %v: %s", err, s.errorLog())
		default:
		}
		if c, err := net.DialTimeout("tcp", s.Addr(), 100*time.Millisecond); err == nil {
			c.Close()
			s.cmd = cmd
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Kill()
	<-exited
	return fmt.Errorf("nginx did not listen on %s: %s", s.Addr(), s.errorLog())
}

func (s *Server) errorLog() string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "error.log"))
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// Addr returns host:port.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// URL returns http://host:port/.
func (s *Server) URL() string { return "http://" + s.Addr() + "/" }

// AccessLog returns the access log's lines so far, as
// `METHOD URI range="..." if_match=... status=N sent=N`.
func (s *Server) AccessLog() []string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "access.log"))
	return strings.FieldsFunc(string(b), func(r rune) bool { return r == '\n' })
}

// Kill stops nginx with SIGKILL. It is safe to call more than once.
func (s *Server) Kill() {
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGCONT)
	s.cmd.Process.Kill()
	s.cmd.Process.Wait()
	s.cmd = nil
}
