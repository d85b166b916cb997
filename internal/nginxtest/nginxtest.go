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
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reelcache/reelcache/internal/testproc"
)

// Server is a running nginx: Kill and Addr are its process's. Its methods
// are for the test goroutine.
type Server struct {
	*testproc.Proc
	dir string
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
	testproc.Missing(tb, "nginx not found: run `make deps` as root to install it (apt-get install nginx-light)")
	return ""
}

// Start runs nginx serving opts.Root and stops it when the test ends. It
// runs as one process (master_process off), as the test's user, so that it
// can read the test's temporary directories. The access log records method,
// Range, If-Match, status and bytes sent of every request (AccessLog).
func Start(tb testing.TB, opts Options) *Server {
	tb.Helper()
	bin := Find(tb)
	s := &Server{dir: tb.TempDir()}
	s.Proc = testproc.Start(tb, testproc.Options{
		Name:    "nginx",
		Command: func(port int) (*exec.Cmd, error) { return s.command(bin, port, opts) },
		Log:     func() string { return testproc.Tail(filepath.Join(s.dir, "error.log")) },
	})
	return s
}

// command writes nginx.conf for port and returns the command that runs it.
func (s *Server) command(bin string, port int, opts Options) (*exec.Cmd, error) {
	d := s.dir
	text := fmt.Sprintf(`daemon off;
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
`, d, port, opts.Root, opts.Location)
	conf := filepath.Join(d, "nginx.conf")
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "-p", d, "-c", conf, "-e", filepath.Join(d, "error.log"))
	cmd.Dir = d
	return cmd, nil
}

// URL returns http://host:port/.
func (s *Server) URL() string { return "http://" + s.Addr() + "/" }

// AccessLog returns the access log's lines so far, as
// `METHOD URI range="..." if_match=... status=N sent=N`.
func (s *Server) AccessLog() []string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "access.log"))
	return strings.FieldsFunc(string(b), func(r rune) bool { return r == '\n' })
}
