package config

import (
	"slices"
	"strings"
	"testing"
)

// TestTLSKeys: the README's ACME line loads (nested YAML, the secret from
// the environment), and the secret never appears in an error.
func TestTLSKeys(t *testing.T) {
	t.Setenv("REELCACHE_HTTP_TLS_ACME_STORAGE_KEY", "0123456789abcdef0123")
	c, err := load(t, `listen: ":443"
http: {redirect_listen: ":80", hsts: 8760h, tls: {acme: {domains: [Video.Example.com, cdn.example.com], email: ops@example.com}}}
`)
	if err != nil {
		t.Fatal(err)
	}
	a := c.HTTP.TLS.ACME
	if !c.HTTP.TLS.On() || !slices.Equal(a.Domains, []string{"video.example.com", "cdn.example.com"}) || a.Email != "ops@example.com" ||
		a.StorageKey != "0123456789abcdef0123" || c.HTTP.RedirectListen != ":80" || c.HTTP.HSTS.Hours() != 8760 {
		t.Fatalf("loaded %+v, redirect %q, hsts %v", c.HTTP.TLS, c.HTTP.RedirectListen, c.HTTP.HSTS)
	}
	t.Setenv("REELCACHE_HTTP_TLS_ACME_STORAGE_KEY", "short-secret")
	_, err = load(t, "http: {tls: {acme: {domains: [video.example.com]}}}\n")
	if err == nil || !strings.Contains(err.Error(), "http.tls.acme.storage_key") || strings.Contains(err.Error(), "short-secret") {
		t.Fatalf("a short storage key: %v; want an error naming the key, not the secret", err)
	}
}
