package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/reelcache/reelcache/internal/redistest"
)

// curl runs the real curl with args, failing the test on an error status
// (--fail), and returns what it wrote to stdout (the body, and what -w
// adds) and the response headers.
func curl(t *testing.T, args ...string) (stdout []byte, header string) {
	t.Helper()
	redistest.Require(t, "curl")
	hdr := filepath.Join(t.TempDir(), "h")
	cmd := exec.Command("curl", append([]string{"-sS", "--fail", "-D", hdr}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("curl %v: %v\n%s", args, err, stderr.Bytes())
	}
	h, _ := os.ReadFile(hdr)
	return out, string(h)
}

// curlTimed is one download by the real curl: the body, the response
// headers, and how long curl itself says the transfer took (time_total,
// from before the connection to the last byte).
type curlTimed struct {
	body   []byte
	header string
	took   time.Duration
}

// curlTime is curl with the body written to a file and the timing read
// from -w.
func curlTime(t *testing.T, args ...string) curlTimed {
	t.Helper()
	out := filepath.Join(t.TempDir(), "body")
	w, header := curl(t, append([]string{"-o", out, "-w", "%{time_total}"}, args...)...)
	secs, err := strconv.ParseFloat(strings.TrimSpace(string(w)), 64)
	if err != nil {
		t.Fatalf("curl -w %%{time_total} printed %q: %v", w, err)
	}
	body, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return curlTimed{body: body, header: header, took: time.Duration(secs * float64(time.Second))}
}

// headerValue returns the value of the named header in curl's -D output.
func headerValue(raw, name string) string {
	for line := range strings.Lines(raw) {
		k, v, ok := strings.Cut(line, ":")
		if ok && strings.EqualFold(k, name) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
