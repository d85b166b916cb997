package main

import (
	"bytes"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestSeekStorm runs seekstorm against an HTTPS server that speaks h2 and
// HTTP/1.1 (http.ServeContent): it reports both protocols, and the server
// saw the requests of each on the connections the command says (one h2,
// at most six HTTP/1.1).
func TestSeekStorm(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	var (
		mu    sync.Mutex
		conns = map[string]map[string]bool{} // proto -> remote addresses
	)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		if conns[r.Proto] == nil {
			conns[r.Proto] = map[string]bool{}
		}
		conns[r.Proto][r.RemoteAddr] = true
		mu.Unlock()
		http.ServeContent(w, r, "v.mp4", time.Time{}, bytes.NewReader(data))
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644)

	var out bytes.Buffer
	err := run(t.Context(), []string{"seekstorm", "-url", srv.URL + "/v.mp4", "-cacert", ca, "-size", "1048576",
		"-storms", "3", "-ranges", "16", "-range", "65536"}, &out)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"| h2 | 1 |", "| http/1.1 | 6 |", "h2 / http/1.1: p50"} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("output lacks %q:\n%s", w, out.String())
		}
	}
	if n := len(conns["HTTP/2.0"]); n != 1 {
		t.Errorf("h2 storms came on %d connections, want 1", n)
	}
	if n := len(conns["HTTP/1.1"]); n < 2 || n > 6 {
		t.Errorf("HTTP/1.1 storms came on %d connections, want 2 to 6", n)
	}
}
