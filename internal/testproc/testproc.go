// Package testproc starts the real servers that tests run (redis-server,
// nginx, versitygw, a Redis sentinel): each on a free loopback port, tried
// again on another port when the one found is taken before the server binds
// it, ready when a condition says so, and killed when the test ends.
//
// When a program is not installed, tests skip with a message, except under
// CI=true, where a missing prerequisite fails the run.
package testproc

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/reelcache/reelcache/internal/poll"
)

// Missing ends the test for a missing prerequisite: it skips it with msg,
// or fails it under CI=true.
func Missing(tb testing.TB, msg string) {
	tb.Helper()
	if os.Getenv("CI") == "true" {
		tb.Fatal(msg)
	}
	tb.Skip(msg)
}

// Require returns the path of the named program, or ends the test as
// Missing does when it is not in PATH.
func Require(tb testing.TB, name string) string {
	tb.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		Missing(tb, fmt.Sprintf("%s not found in PATH: run `make deps` as root to install it (scripts/deps.sh)", name))
	}
	return path
}

// FreePort returns a loopback TCP port that was free when it was asked
// for, below the kernel's ephemeral range (32768 and up on Linux), as
// scripts/bench-lib.sh's free_port does: a port from ":0" is an ephemeral
// one, which any client socket's source port may take before the caller
// binds it (an ACME test's redirect listener found its port taken that
// way). Another process may still take it: Start tries again on another.
func FreePort(tb testing.TB) int {
	tb.Helper()
	for range 100 {
		p := 10000 + rand.IntN(32000-10000)
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err == nil {
			l.Close()
			return p
		}
	}
	tb.Fatal("find a free port: 100 ports below 32000 were taken")
	return 0
}

// Options say how to run one server.
type Options struct {
	// Name names the server in messages, e.g. "redis-server". Required.
	Name string
	// Command returns the (not yet started) command that serves on
	// 127.0.0.1:port. It is called for each attempt. Required.
	Command func(port int) (*exec.Cmd, error)
	// Ready reports whether the server answers on addr. Default: it
	// accepts a TCP connection.
	Ready func(addr string) bool
	// Log returns the server's log (or its end), for error messages.
	// Default: none.
	Log func() string
	// Timeout is how long one attempt waits for Ready. Default 10s.
	Timeout time.Duration
}

// Proc is a running server. Its methods are for the test goroutine.
type Proc struct {
	tb     testing.TB
	opts   Options
	port   int
	cmd    *exec.Cmd  // nil once killed
	exited chan error // receives cmd.Wait's result
}

// Start runs the server on a free port, up to five times on as many ports,
// waits until it is ready, and kills it when the test ends. It fails the
// test when no attempt gets ready.
func Start(tb testing.TB, opts Options) *Proc {
	tb.Helper()
	p, err := start(tb, opts)
	if err != nil {
		tb.Fatalf("start %s: %v", opts.Name, err)
	}
	tb.Cleanup(p.Kill)
	return p
}

// start is Start up to the first attempt that gets ready, or the last
// attempt's error.
func start(tb testing.TB, opts Options) (*Proc, error) {
	tb.Helper()
	if opts.Ready == nil {
		opts.Ready = acceptsTCP
	}
	if opts.Log == nil {
		opts.Log = func() string { return "" }
	}
	if opts.Timeout == 0 {
		opts.Timeout = 10 * time.Second
	}
	p := &Proc{tb: tb, opts: opts}
	var err error
	for range 5 {
		p.port = FreePort(tb)
		if err = p.start(); err == nil {
			return p, nil
		}
	}
	return nil, err
}

func acceptsTCP(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
	if err == nil {
		c.Close()
	}
	return err == nil
}

func (p *Proc) start() error {
	cmd, err := p.opts.Command(p.port)
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	var exitErr error
	gone := false
	ready := poll.Wait(p.opts.Timeout, func() bool {
		select {
		case exitErr = <-exited:
			gone = true
			return true
		default:
			return p.opts.Ready(p.Addr())
		}
	})
	switch {
	case gone:
		return fmt.Errorf("%s exited: %v: %s", p.opts.Name, exitErr, p.opts.Log())
	case ready:
		p.cmd, p.exited = cmd, exited
		return nil
	}
	cmd.Process.Kill()
	<-exited
	return fmt.Errorf("%s did not answer on %s within %v: %s", p.opts.Name, p.Addr(), p.opts.Timeout, p.opts.Log())
}

// Port returns the port the server listens on.
func (p *Proc) Port() int { return p.port }

// Addr returns 127.0.0.1:port.
func (p *Proc) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(p.port)) }

// Kill stops the server with SIGKILL, as a crash would, and waits for it to
// exit. It is safe to call more than once.
func (p *Proc) Kill() {
	if p.cmd == nil {
		return
	}
	p.cmd.Process.Signal(syscall.SIGCONT) // a stopped process must run to die
	p.cmd.Process.Kill()
	<-p.exited
	p.cmd = nil
}

// Pause stops the process with SIGSTOP: it keeps its port and the kernel
// still accepts connections, but it answers nothing, as a hung server does.
// It returns once every thread has stopped (on Linux, as /proc shows): the
// signal alone leaves a thread that is running at that moment free to
// answer one more request. Resume undoes it.
func (p *Proc) Pause() {
	p.tb.Helper()
	p.cmd.Process.Signal(syscall.SIGSTOP)
	if runtime.GOOS == "linux" && !poll.Wait(5*time.Second, func() bool { return stopped(p.cmd.Process.Pid) }) {
		p.tb.Fatalf("%s did not stop within 5s of SIGSTOP", p.opts.Name)
	}
}

// stopped reports whether every thread of the process pid is stopped, from
// the state field of /proc/pid/task/*/stat.
func stopped(pid int) bool {
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/stat", pid))
	if err != nil || len(tasks) == 0 {
		return false
	}
	for _, f := range tasks {
		b, err := os.ReadFile(f)
		if err != nil {
			return false
		}
		// The state follows the ")" that ends the command name.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 || i+2 >= len(b) || (b[i+2] != 'T' && b[i+2] != 't') {
			return false
		}
	}
	return true
}

// Resume continues a paused server.
func (p *Proc) Resume() { p.cmd.Process.Signal(syscall.SIGCONT) }

// Restart kills the server (if it runs) and starts it again on the same
// port, with a new Command. It fails the test when it does not get ready.
func (p *Proc) Restart() {
	p.tb.Helper()
	p.Kill()
	if err := p.start(); err != nil {
		p.tb.Fatalf("restart %s: %v", p.opts.Name, err)
	}
}

// Tail returns the last 2000 bytes of the file at path (nothing when it
// cannot be read), for a Log function.
func Tail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}
