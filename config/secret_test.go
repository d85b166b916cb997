package config

import "testing"

// TestErrorsNeverPrintSecrets: no config error prints a value under a key
// whose name could hold a secret (known or a near miss, in the file or the
// environment), nor a URL's user info or query string, whatever key it is
// under (issue 21 item 1). Each error still names the key and the source.
// The secret in every case contains "hunter2".
func TestErrorsNeverPrintSecrets(t *testing.T) {
	checkErrors(t, []errorCase{
		{"signing_key as a map", "auth:\n  signing_key:\n    current: hunter2-0123456789abcdef\n", nil, nil, []string{"auth.signing_key", "reelcache.yaml"}},
		{"signing_keys (near miss)", "auth:\n  signing_keys: hunter2-0123456789abcdef\n", nil, nil, []string{"auth.signing_keys", "unknown key"}},
		{"near miss in the environment", "", map[string]string{"REELCACHE_AUTH_SIGNINGKEY": "hunter2-0123456789abcdef"}, nil, []string{"REELCACHE_AUTH_SIGNINGKEY", "unknown key"}},
		{"integrity key near miss", "cache:\n  integrity: hunter2-0123456789abcdef\n", nil, nil, []string{"cache.integrity", "unknown key"}},
		{"header (near miss)", "media:\n  origin: http://h/\n  http:\n    header:\n      Authorization: Bearer hunter2\n", nil, nil, []string{"media.http.header", "unknown key"}},
		{"password (near miss)", "redis:\n  password: hunter2\n", nil, nil, []string{"redis.password", "unknown key"}},
		{"URL in an unknown key", "redis:\n  urls: redis://me:hunter2@h:6379/0?x=hunter2\n", nil, nil, []string{"redis.urls", "unknown key", "h:6379"}},
		{"redis.url bad scheme", "redis:\n  url: http://me:hunter2@h:6379/0\n", nil, nil, []string{"redis.url", "h:6379", "want redis://host:port/db (user:password@ before"}},
		{"redis.url bad escape", "redis:\n  url: redis://me:hunter2%zz@h:6379/0\n", nil, nil, []string{"redis.url", "reelcache.yaml"}},
		{"redis.url in the environment", "", map[string]string{"REELCACHE_REDIS_URL": "redis+tls://:hunter2@h:6379/0?a=hunter2"}, nil, []string{"redis.url", "REELCACHE_REDIS_URL"}},
		{"s3 endpoint with user info", "media:\n  origin: s3://bk1/\n  s3:\n    endpoint: https://me:hunter2@minio:9000\n", nil, nil, []string{"media.s3.endpoint", "minio:9000", "user info"}},
		{"s3 endpoint with a query", "media:\n  origin: s3://bk1/\n  s3:\n    endpoint: https://minio:9000/?X-Amz-Signature=hunter2\n", nil, nil, []string{"media.s3.endpoint", "minio:9000", "query"}},
	}, "hunter2")
}
