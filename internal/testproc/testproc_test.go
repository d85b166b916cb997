package testproc

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestMain doubles as the server the tests start: the test binary run with
// TESTPROC_SERVE=port answers "hi" to every connection on that port;
// with TESTPROC_FAIL set it writes it to stderr and exits 3.
func TestMain(m *testing.M) {
	if msg := os.Getenv("TESTPROC_FAIL"); msg != "" {
		fmt.Fprintln(os.Stderr, msg)
		os.Exit(3)
	}
	if port := os.Getenv("TESTPROC_SERVE"); port != "" {
		l, err := net.Listen("tcp", "127.0.0.1:"+port)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		for {
			c, err := l.Accept()
			if err != nil {
				os.Exit(1)
			}
			fmt.Fprintln(c, "hi")
			c.Close()
		}
	}
	os.Exit(m.Run())
}

func serve(port int) (*exec.Cmd, error) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "TESTPROC_SERVE="+strconv.Itoa(port))
	return cmd, nil
}

// hi reports whether the server at addr says hi within a second.
func hi(addr string) bool { return hiWithin(addr, time.Second) }

// hiWithin reports whether the server at addr says hi within d.
func hiWithin(addr string, d time.Duration) bool {
	c, err := net.DialTimeout("tcp", addr, d)
	if err != nil {
		return false
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(d))
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && line == "hi\n"
}

func TestStartKillPauseRestart(t *testing.T) {
	p := Start(t, Options{Name: "hi", Command: serve, Ready: hi})
	if !hi(p.Addr()) {
		t.Fatal("started, but does not answer")
	}
	p.Pause()
	if hi(p.Addr()) {
		t.Fatal("paused, but answers")
	}
	p.Resume()
	if !hi(p.Addr()) {
		t.Fatal("resumed, but does not answer")
	}
	port := p.Port()
	p.Kill()
	if c, err := net.DialTimeout("tcp", p.Addr(), time.Second); err == nil {
		c.Close()
		t.Fatal("killed, but its port accepts connections")
	}
	p.Kill() // a second Kill does nothing
	p.Restart()
	if p.Port() != port || !hi(p.Addr()) {
		t.Fatalf("restarted on port %d, does it answer: %v; want port %d", p.Port(), hi(p.Addr()), port)
	}
}

// TestPauseStopsAtOnce: a request made as soon as Pause returns is never
// answered (a signal alone left a running thread free to answer one, about
// one time in thirty under load).
func TestPauseStopsAtOnce(t *testing.T) {
	p := Start(t, Options{Name: "hi", Command: serve, Ready: hi})
	for i := range 20 {
		p.Pause()
		if hiWithin(p.Addr(), 100*time.Millisecond) {
			t.Fatalf("round %d: answered right after Pause", i)
		}
		p.Resume()
		if !hi(p.Addr()) {
			t.Fatalf("round %d: no answer after Resume", i)
		}
	}
}

func TestStartFails(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want []string // in the error
	}{
		{"exits", Options{Name: "failing", Command: func(int) (*exec.Cmd, error) {
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), "TESTPROC_FAIL=no such thing")
			return cmd, nil
		}, Log: func() string { return "its log" }}, []string{"failing exited", "exit status 3", "its log"}},
		{"never ready", Options{Name: "mute", Command: serve, Ready: func(string) bool { return false },
			Timeout: 50 * time.Millisecond}, []string{"mute did not answer"}},
		{"no command", Options{Name: "none", Command: func(int) (*exec.Cmd, error) {
			return exec.Command("/nonexistent/testproc"), nil
		}}, []string{"/nonexistent/testproc"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := start(t, tt.opts)
			if err == nil {
				p.Kill()
				t.Fatalf("started a server at %s", p.Addr())
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}
