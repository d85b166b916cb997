package config

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// TestSigningKeys: a YAML list is several keys; a string, wherever it comes
// from, is exactly one key, commas included (issue 13 item 12). Errors name
// the key and the source but never print the secret.
func TestSigningKeys(t *testing.T) {
	const a, b = "first-key-0123456789", "second-key-0123456789"
	for _, tt := range []struct {
		name string
		yaml string
		env  map[string]string
		args []string
		want []string
	}{
		{"yaml list", "auth:\n  signing_key: [" + a + ", " + b + "]\n", nil, nil, []string{a, b}},
		{"yaml block list", "auth:\n  signing_key:\n    - " + a + "\n    - " + b + "\n", nil, nil, []string{a, b}},
		{"yaml string with a comma", "auth:\n  signing_key: \"" + a + "," + b + "\"\n", nil, nil, []string{a + "," + b}},
		{"env with a comma", "", map[string]string{"REELCACHE_AUTH_SIGNING_KEY": a + "," + b}, nil, []string{a + "," + b}},
		{"flag with a comma", "", nil, []string{"--auth-signing-key", a + "," + b}, []string{a + "," + b}},
		{"env over a yaml list", "auth:\n  signing_key: [" + a + "]\n", map[string]string{"REELCACHE_AUTH_SIGNING_KEY": b}, nil, []string{b}},
		{"short parts are fine inside one key", "", map[string]string{"REELCACHE_AUTH_SIGNING_KEY": "k1,k2,k3,k4,k5,k6"}, nil, []string{"k1,k2,k3,k4,k5,k6"}},
		{"empty", "", map[string]string{"REELCACHE_AUTH_SIGNING_KEY": ""}, nil, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := loadEnv(t, tt.yaml, tt.env, tt.args...)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(c.Auth.SigningKeys, tt.want) {
				t.Errorf("keys %q, want %q", c.Auth.SigningKeys, tt.want)
			}
		})
	}
	for _, tt := range []struct {
		name, yaml string
		env        map[string]string
		want       []string
	}{
		{"short key", "", map[string]string{"REELCACHE_AUTH_SIGNING_KEY": "tooshort"}, []string{"auth.signing_key", "REELCACHE_AUTH_SIGNING_KEY", "at least 16"}},
		{"short list item", "auth:\n  signing_key: [" + a + ", short]\n", nil, []string{"auth.signing_key", "key 2", "reelcache.yaml"}},
		{"not a string", "auth:\n  signing_key: {x: 1}\n", nil, []string{"auth.signing_key", "string"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := loadError(t, tt.yaml, tt.env, tt.want)
			for _, secret := range []string{"tooshort", "short]"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error %q shows the key", err)
				}
			}
		})
	}
}

// TestHTTPEdgeKeys: CORS origins, Cache-Control, rate shaping and the URL
// lifetime parse, normalise and refuse bad values with errors that name
// key, value and source.
func TestHTTPEdgeKeys(t *testing.T) {
	const file = `
http:
  cors:
    allowed_origins: [https://WWW.Example.com, "http://127.0.0.1:9000"]
  cache_control: no-cache
  limit_rate: 2MiB
  limit_rate_after: 4MiB
auth:
  url_ttl: 3s
`
	c, err := load(t, file)
	if err != nil {
		t.Fatal(err)
	}
	h := c.HTTP
	if !slices.Equal(h.CORSAllowedOrigins, []string{"https://www.example.com", "http://127.0.0.1:9000"}) ||
		h.CacheControl != "no-cache" || h.LimitRate != 2<<20 || h.LimitRateAfter != 4<<20 || c.Auth.URLTTL != 3*time.Second {
		t.Errorf("got %+v, url_ttl %v", h, c.Auth.URLTTL)
	}
	t.Setenv("REELCACHE_HTTP_CORS_ALLOWED_ORIGINS", "*")
	t.Setenv("REELCACHE_HTTP_CACHE_CONTROL", "")
	if c, err = load(t, file); err != nil || !slices.Equal(c.HTTP.CORSAllowedOrigins, []string{"*"}) || c.HTTP.CacheControl != "" {
		t.Errorf("env: %v %+v", err, c)
	}
}

func TestHTTPEdgeKeyErrors(t *testing.T) {
	for _, tt := range []struct {
		name, yaml string
		want       []string
	}{
		{"origin with a path", "http:\n  cors:\n    allowed_origins: [https://a.example/]\n", []string{"http.cors.allowed_origins", "https://a.example/", "no path", "reelcache.yaml"}},
		{"wildcard inside an origin", "http:\n  cors:\n    allowed_origins: [\"https://*.example.com\"]\n", []string{"http.cors.allowed_origins", "*.example.com"}},
		{"not an origin", "http:\n  cors:\n    allowed_origins: [example.com]\n", []string{"http.cors.allowed_origins", "example.com"}},
		{"star with others", "http:\n  cors:\n    allowed_origins: [\"*\", https://a.example]\n", []string{"http.cors.allowed_origins", "alone"}},
		{"bad rate", "http:\n  limit_rate: fast\n", []string{"http.limit_rate", `"fast"`, "2MiB"}},
		{"bad rate after", "http:\n  limit_rate_after: -1\n", []string{"http.limit_rate_after", `"-1"`}},
		{"url ttl too short", "auth:\n  url_ttl: 10ms\n", []string{"auth.url_ttl", `"10ms"`, "at least 1s"}},
		{"cache control with a newline", "http:\n  cache_control: \"max-age=1\\r\\nX-Evil: 1\"\n", []string{"http.cache_control", "one header line"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			loadError(t, tt.yaml, nil, tt.want)
		})
	}
}
