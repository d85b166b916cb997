package main

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/reelcache/reelcache/internal/testlog"
)

// buildBinary builds bin/reelcache into a temp dir once per test.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "reelcache")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// requireNoRace fails the test when bin was built with -race: what the
// test measures (RSS, pace) would not be the product's.
func requireNoRace(t *testing.T, bin string) {
	t.Helper()
	if out, err := exec.Command("go", "version", "-m", bin).Output(); err != nil {
		t.Fatalf("go version -m %s: %v", bin, err)
	} else if bytes.Contains(out, []byte("-race=true")) {
		t.Fatalf("%s was built with -race (GOFLAGS=%q?): what this test measures would not be the product's", bin, os.Getenv("GOFLAGS"))
	}
}

// binaryEnv is the environment without REELCACHE_* variables, so that the
// developer's settings do not reach the binary under test.
func binaryEnv(t *testing.T) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "REELCACHE_") {
			env = append(env, kv)
		}
	}
	return append(env, "XDG_CONFIG_HOME="+t.TempDir())
}

// serveProc is a `serve` process that a test started.
type serveProc struct {
	url    string // base URL, without the trailing slash
	cmd    *exec.Cmd
	stderr *testlog.Buffer
	exited chan error // cmd.Wait's result; whoever takes it puts it back
}

// startServeBinary runs `bin serve args...` on a free port in a temp dir
// without REELCACHE_* variables (binaryEnv), so no setting of the
// developer's reaches it, and kills it when the test ends.
func startServeBinary(t *testing.T, bin string, args ...string) *serveProc {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"serve", "--listen", "127.0.0.1:0"}, args...)...)
	cmd.Dir = t.TempDir()
	cmd.Env = binaryEnv(t)
	p := startServeProc(t, cmd)
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		p.wait(time.Hour)
	})
	return p
}

// startServeProc starts cmd, a `serve --listen 127.0.0.1:0` of some
// binary, and waits for the URL it prints first. The caller stops it.
func startServeProc(t *testing.T, cmd *exec.Cmd) *serveProc {
	t.Helper()
	p := &serveProc{cmd: cmd, stderr: &testlog.Buffer{}, exited: make(chan error, 1)}
	cmd.Stderr = p.stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(stdout)
	line, err := r.ReadString('\n')
	go func() { io.Copy(io.Discard, r); p.exited <- cmd.Wait() }()
	p.url = servedURL(t, line, err, p.stderr)
	return p
}

// wait waits up to d for the process to exit and returns whether it did
// and its Wait error.
func (p *serveProc) wait(d time.Duration) (exited bool, err error) {
	select {
	case err = <-p.exited:
		p.exited <- err
		return true, err
	case <-time.After(d):
		return false, nil
	}
}

// servedURL returns the base URL (without the trailing slash) in line,
// the first line `serve` printed, or fails the test showing stderr.
func servedURL(t *testing.T, line string, err error, stderr *testlog.Buffer) string {
	t.Helper()
	if err != nil {
		t.Fatalf("serve printed no URL: %v; stderr:\n%s", err, stderr)
	}
	m := regexp.MustCompile(`https?://\S+/`).FindString(line)
	if m == "" {
		t.Fatalf("no URL in %q; stderr:\n%s", line, stderr)
	}
	return strings.TrimSuffix(m, "/")
}
