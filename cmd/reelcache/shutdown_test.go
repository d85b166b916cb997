package main

import (
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSIGTERMExitsZeroAndCountsCutStreams runs the real binary, opens
// streams that outlast the grace period (clients that stop reading a
// 64 MiB file), sends SIGTERM and checks that it exits 0 once the grace
// period is over, logging how many streams it cut (issue 13: it exited 1
// with "shutdown: context deadline exceeded", so systemd marked every stop
// failed). The grace period is the hidden --shutdown-grace flag, 300ms
// here instead of 10s.
func TestSIGTERMExitsZeroAndCountsCutStreams(t *testing.T) {
	bin := buildBinary(t)
	media := t.TempDir()
	if err := os.WriteFile(filepath.Join(media, "big.mp4"), make([]byte, 64<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	const grace = 300 * time.Millisecond
	for _, tt := range []struct {
		name    string
		streams int
		want    string // in the log
	}{
		{"no streams", 0, "stopped: every request finished"},
		{"one stalled stream", 1, "streams_cut=1"},
		{"three stalled streams", 3, "streams_cut=3"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := startServeBinary(t, bin, "--media-root", media, "--redis-url", "", "--shutdown-grace", grace.String())
			base, stderr := srv.url, srv.stderr

			var bodies []io.ReadCloser
			for range tt.streams {
				resp, err := http.Get(base + "/media/big.mp4")
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				if _, err := io.ReadFull(resp.Body, make([]byte, 64<<10)); err != nil {
					t.Fatal(err)
				}
				bodies = append(bodies, resp.Body) // and read no more: the stream stalls
			}
			start := time.Now()
			if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			exited, err := srv.wait(10 * time.Second)
			if !exited {
				t.Fatalf("serve still running 10s after SIGTERM (grace %v); stderr:\n%s", grace, stderr)
			}
			took := time.Since(start)
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				t.Errorf("exit status %d after SIGTERM, want 0; stderr:\n%s", ee.ExitCode(), stderr)
			} else if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("log does not say %q:\n%s", tt.want, stderr)
			}
			if tt.streams > 0 && took < grace {
				t.Errorf("exited %v after SIGTERM, before the grace period of %v", took, grace)
			}
			// The stalled clients were cut: their bodies end short of 64 MiB.
			for i, b := range bodies {
				n, _ := io.Copy(io.Discard, b)
				if n+64<<10 >= 64<<20 {
					t.Errorf("stream %d got the whole file after the server stopped", i)
				}
			}
		})
	}
}
