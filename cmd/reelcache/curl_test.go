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

// curl runs the real curl and returns the body and the response headers.
func curl(t *testing.T, args ...string) (body []byte, header string) {
	t.Helper()
	r := curlTime(t, args...)
	return r.body, r.header
}

// curlTimed is one download by the real curl: the body, the response
// headers, and how long curl itself says the transfer took (time_total,
// from before the connection to the last byte).
type curlTimed struct {
	body   []byte
	header string
	took   time.Duration
}

// curlTime runs the real curl with args, failing the test on an error
// status.
func curlTime(t *testing.T, args ...string) curlTimed {
	t.Helper()
	redistest.Require(t, "curl")
	dir := t.TempDir()
	hdr, out := filepath.Join(dir, "h"), filepath.Join(dir, "body")
	// --fail: a 4xx/5xx is a non-zero exit; -w prints only the timing.
	cmd := exec.Command("curl", append([]string{"-sS", "--fail", "-D", hdr, "-o", out,
		"-w", "%{time_total}"}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	w, err := cmd.Output()
	if err != nil {
		t.Fatalf("curl %v: %v\n%s", args, err, stderr.Bytes())
	}
	secs, err := strconv.ParseFloat(strings.TrimSpace(string(w)), 64)
	if err != nil {
		t.Fatalf("curl -w %%{time_total} printed %q: %v", w, err)
	}
	body, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	h, _ := os.ReadFile(hdr)
	return curlTimed{body: body, header: string(h), took: time.Duration(secs * float64(time.Second))}
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
