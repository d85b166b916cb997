package config

import (
	"strings"
	"testing"
)

// TestErrorsNeverPrintSecrets: no config error prints a value under a key
// whose name could hold a secret (known or a near miss, in the file or the
// environment), nor a URL's user info or query string, whatever key it is
// under (issue 21 item 1). Each error still names the key and the source.
// The secret in every case contains "hunter2".
func TestErrorsNeverPrintSecrets(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		env  map[string]string
		want []string // substrings of the error
	}{
		{"signing_key as a map", "auth:\n  signing_key:\n    current: hunter2-0123456789abcdef\n", nil, []string{"auth.signing_key", "reelcache.yaml"}},
		{"signing_keys (near miss)", "auth:\n  signing_keys: hunter2-0123456789abcdef\n", nil, []string{"auth.signing_keys", "unknown key"}},
		{"near miss in the environment", "", map[string]string{"REELCACHE_AUTH_SIGNINGKEY": "hunter2-0123456789abcdef"}, []string{"REELCACHE_AUTH_SIGNINGKEY", "unknown key"}},
		{"integrity key near miss", "cache:\n  integrity: hunter2-0123456789abcdef\n", nil, []string{"cache.integrity", "unknown key"}},
		{"header (near miss)", "media:\n  origin: http://h/\n  http:\n    header:\n      Authorization: Bearer hunter2\n", nil, []string{"media.http.header", "unknown key"}},
		{"password (near miss)", "redis:\n  password: hunter2\n", nil, []string{"redis.password", "unknown key"}},
		{"URL in an unknown key", "redis:\n  urls: redis://me:hunter2@h:6379/0?x=hunter2\n", nil, []string{"redis.urls", "unknown key", "h:6379"}},
		{"redis.url bad scheme", "redis:\n  url: http://me:hunter2@h:6379/0\n", nil, []string{"redis.url", "h:6379"}},
		{"redis.url bad escape", "redis:\n  url: redis://me:hunter2%zz@h:6379/0\n", nil, []string{"redis.url", "reelcache.yaml"}},
		{"redis.url in the environment", "", map[string]string{"REELCACHE_REDIS_URL": "redis+tls://:hunter2@h:6379/0?a=hunter2"}, []string{"redis.url", "REELCACHE_REDIS_URL"}},
		{"s3 endpoint with user info", "media:\n  origin: s3://bk1/\n  s3:\n    endpoint: https://me:hunter2@minio:9000\n", nil, []string{"media.s3.endpoint", "minio:9000", "user info"}},
		{"s3 endpoint with a query", "media:\n  origin: s3://bk1/\n  s3:\n    endpoint: https://minio:9000/?X-Amz-Signature=hunter2\n", nil, []string{"media.s3.endpoint", "minio:9000", "query"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			_, err := load(t, tt.yaml)
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error %q shows a secret", err)
			}
		})
	}
}
