package config

import (
	"maps"
	"testing"
	"time"
)

func TestOriginKeys(t *testing.T) {
	tests := []struct {
		name  string
		yaml  string
		env   map[string]string
		args  []string
		check func(o Origin) bool
	}{
		{"default is the directory", "", nil, nil, func(o Origin) bool {
			return o.Kind() == "dir" && o.TTL == 10*time.Second && o.Timeout == 10*time.Second && len(o.HTTPHeaders) == 0
		}},
		{"s3 from the file", "media:\n  origin: s3://videos/lib/\n  origin_ttl: 30s\n  s3:\n    endpoint: http://127.0.0.1:7070\n    region: eu-west-1\n    path_style: true\n", nil, nil, func(o Origin) bool {
			return o.Kind() == "s3" && o.URL == "s3://videos/lib/" && o.TTL == 30*time.Second && o.S3Endpoint == "http://127.0.0.1:7070" && o.S3Region == "eu-west-1" && o.S3PathStyle
		}},
		{"http headers as a YAML map", "media:\n  origin: https://cdn.example/v/\n  http:\n    headers:\n      Authorization: Bearer abc=\n      X-Api-Key: k1\n    manifest: /v/list.json\n", nil, nil, func(o Origin) bool {
			return o.Kind() == "http" && maps.Equal(o.HTTPHeaders, map[string]string{"authorization": "Bearer abc=", "x-api-key": "k1"}) && o.HTTPManifest == "/v/list.json"
		}},
		{"http headers from the environment", "", map[string]string{"REELCACHE_MEDIA_ORIGIN": "http://h/", "REELCACHE_MEDIA_HTTP_HEADERS": "Authorization=Basic dXNlcjpwYXNz=, X-Token: a:b"}, nil, func(o Origin) bool {
			return maps.Equal(o.HTTPHeaders, map[string]string{"Authorization": "Basic dXNlcjpwYXNz=", "X-Token": "a:b"})
		}},
		{"http headers as a JSON flag", "", nil, []string{"--media-origin", "http://h/", "--media-http-headers", `{"X-A": "1"}`}, func(o Origin) bool {
			return maps.Equal(o.HTTPHeaders, map[string]string{"X-A": "1"})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := loadEnv(t, tt.yaml, tt.env, tt.args...)
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(c.Media.Origin) {
				t.Errorf("got %+v", c.Media.Origin)
			}
		})
	}
}

func TestOriginErrorsNameKeyAndHideSecrets(t *testing.T) {
	checkErrors(t, []errorCase{
		{"unknown scheme", "media:\n  origin: ftp://h/x/\n", nil, nil, []string{"media.origin", `"ftp://h/x/"`, "reelcache.yaml", `unknown scheme "ftp"`}},
		{"a path", "media:\n  origin: /srv/media\n", nil, nil, []string{"media.origin", "media.root"}},
		{"bucket missing", "", map[string]string{"REELCACHE_MEDIA_ORIGIN": "s3:///prefix/"}, nil, []string{"media.origin", "REELCACHE_MEDIA_ORIGIN", "bucket is missing"}},
		{"endpoint not a URL", "media:\n  origin: s3://bk1/\n  s3:\n    endpoint: minio:9000\n", nil, nil, []string{"media.s3.endpoint", `"minio:9000"`, "not a URL"}},
		{"path_style not a bool", "media:\n  origin: s3://bk1/\n  s3:\n    path_style: maybe\n", nil, nil, []string{"media.s3.path_style", "true or false"}},
		{"ttl", "media:\n  origin_ttl: -1s\n", nil, nil, []string{"media.origin_ttl", `"-1s"`, "positive duration"}},
		{"timeout", "", map[string]string{"REELCACHE_MEDIA_ORIGIN_TIMEOUT": "soon"}, nil, []string{"media.origin_timeout", `"soon"`, "REELCACHE_MEDIA_ORIGIN_TIMEOUT"}},
		{"header name", "media:\n  origin: http://h/\n  http:\n    headers:\n      \"Bad Name\": hunter2-secret\n", nil, nil, []string{"media.http.headers", "reelcache.yaml", "not a valid token"}},
		{"header value", "", map[string]string{"REELCACHE_MEDIA_ORIGIN": "http://h/", "REELCACHE_MEDIA_HTTP_HEADERS": "X-Key=hunter2-secret\x01"}, nil, []string{"media.http.headers", "REELCACHE_MEDIA_HTTP_HEADERS", "control characters"}},
		{"header pair", "", map[string]string{"REELCACHE_MEDIA_ORIGIN": "http://h/", "REELCACHE_MEDIA_HTTP_HEADERS": "hunter2-secret"}, nil, []string{"media.http.headers", "Name=Value"}},
		{"headers for s3", "media:\n  origin: s3://bk1/\n  http:\n    headers:\n      Authorization: hunter2-secret\n", nil, nil, []string{"media.http.headers", "only for an http", "authorization: ***"}},
		{"s3 keys for a directory", "media:\n  s3:\n    region: eu-west-1\n", nil, nil, []string{"media.s3.region", "only for an s3://"}},
		{"credentials in a bad origin", "media:\n  origin: http://user:hunter2-secret@/x?sig=hunter2-secret\n", nil, nil, []string{"media.origin", "no host"}},
	}, "hunter2")
}
