package main

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/reelcache/reelcache/internal/poll"
	"github.com/reelcache/reelcache/internal/redistest"
	"github.com/reelcache/reelcache/internal/testmedia"
)

// metricsOffWarning is what serve logs when signing is on and /metrics has
// no listener of its own.
const metricsOffWarning = "auth.signing_key is set and admin.listen is empty: /metrics is not served; set admin.listen to scrape it"

// TestMetricsNotPublicWithSigning: with auth.signing_key set, /metrics
// (cache state: hits, bytes held, the breaker) is not served anonymously
// on the public listener; with admin.listen empty serve says so once at
// start, and with admin.listen set it is served there. /healthz and
// /readyz stay public for load balancers. Without signing, /metrics is on
// the public listener as before (issue 13 item 4).
func TestMetricsNotPublicWithSigning(t *testing.T) {
	const key = "0123456789abcdef0123456789abcdef"
	rs := redistest.Start(t)
	common := []string{"--media-root", testmedia.SamplesDir(t), "--redis-url", rs.URL()}
	for _, tt := range []struct {
		name          string
		args          []string
		publicMetrics int  // status of /metrics on the public listener
		adminMetrics  bool // /metrics is served on admin.listen
		warnings      int  // of metricsOffWarning on stderr
	}{
		{"signing off", nil, 200, false, 0},
		{"signing on, admin.listen empty", []string{"--auth-signing-key", key}, 404, false, 1},
		{"signing on, admin.listen set", []string{"--auth-signing-key", key, "--admin-listen", "127.0.0.1:0"}, 404, true, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := startServe(t, append(common, tt.args...)...)
			if code, _, _ := httpGet(t, srv.url+"/metrics"); code != tt.publicMetrics {
				t.Errorf("public /metrics: %d, want %d", code, tt.publicMetrics)
			}
			for _, p := range []string{"/healthz", "/readyz"} {
				if code, _, _ := httpGet(t, srv.url+p); code != 200 {
					t.Errorf("public %s: %d, want 200", p, code)
				}
			}
			if tt.adminMetrics {
				re := regexp.MustCompile(`msg="admin endpoints" addr=(\S+)`)
				var addr string
				poll.Wait(5*time.Second, func() bool {
					if m := re.FindStringSubmatch(srv.stderr.String()); m != nil {
						addr = m[1]
					}
					return addr != ""
				})
				if addr == "" {
					t.Fatalf("serve logged no admin listener; stderr:\n%s", srv.stderr)
				}
				if code, _, body := httpGet(t, "http://"+addr+"/metrics"); code != 200 || !strings.Contains(string(body), "reelcache_chunk_hits_total") {
					t.Errorf("/metrics on admin.listen: %d", code)
				}
			}
			// Logged while the app is built, before the URL is printed.
			if n := strings.Count(srv.stderr.String(), metricsOffWarning); n != tt.warnings {
				t.Errorf("the warning was logged %d times, want %d; stderr:\n%s", n, tt.warnings, srv.stderr)
			}
		})
	}
}

// TestSmallBudgetWarns: an in-flight budget of fewer than minBudgetChunks
// chunks (with which misses are seldom cached) is worth a warning at start;
// the defaults are not.
func TestSmallBudgetWarns(t *testing.T) {
	const warning = "cache.max_inflight_bytes leaves little room to read whole chunks"
	rs := redistest.Start(t)
	for _, tt := range []struct {
		name string
		args []string
		warn bool
	}{
		{"defaults", nil, false},
		{"one chunk", []string{"--chunk-size", "16MiB", "--cache-max-inflight-bytes", "16MiB"}, true},
		{"four chunks", []string{"--chunk-size", "16MiB", "--cache-max-inflight-bytes", "64MiB"}, false},
		{"no Redis", []string{"--redis-url", "", "--chunk-size", "16MiB", "--cache-max-inflight-bytes", "16MiB"}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := startServe(t, append([]string{"--media-root", testmedia.SamplesDir(t), "--redis-url", rs.URL()}, tt.args...)...)
			if code, _, _ := httpGet(t, srv.url+"/healthz"); code != 200 {
				t.Fatalf("/healthz: %d", code)
			}
			if got := strings.Contains(srv.stderr.String(), warning); got != tt.warn {
				t.Errorf("warned %v, want %v; stderr:\n%s", got, tt.warn, srv.stderr)
			}
		})
	}
}
