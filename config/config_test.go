package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

// load writes yaml (if not empty) to a temp reelcache.yaml and loads it with
// the given command-line arguments.
func load(t *testing.T, yaml string, args ...string) (*Config, error) {
	t.Helper()
	dir := t.TempDir()
	if yaml != "" {
		if err := os.WriteFile(filepath.Join(dir, "reelcache.yaml"), []byte(yaml), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	AddFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return Load(Options{Flags: fs, SearchDirs: []string{dir}})
}

// loadEnv is load with the environment variables env set for the rest of
// the test.
func loadEnv(t *testing.T, yaml string, env map[string]string, args ...string) (*Config, error) {
	t.Helper()
	for k, v := range env {
		t.Setenv(k, v)
	}
	return load(t, yaml, args...)
}

// loadError is loadEnv that fails the test unless Load fails with an error
// that says each of want, and returns the error.
func loadError(t *testing.T, yaml string, env map[string]string, want []string, args ...string) error {
	t.Helper()
	_, err := loadEnv(t, yaml, env, args...)
	if err == nil {
		t.Fatal("Load succeeded, want an error")
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err, w)
		}
	}
	return err
}

// errorCase is a configuration, as a file's text, environment variables and
// flags, that Load must refuse with an error saying each of want.
type errorCase struct {
	name string
	yaml string
	env  map[string]string
	args []string
	want []string // substrings of the error
}

// checkErrors runs each case as a subtest (loadError); with hide set, an
// error that contains hide fails it too.
func checkErrors(t *testing.T, tests []errorCase, hide string) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := loadError(t, tt.yaml, tt.env, tt.want, tt.args...)
			if hide != "" && strings.Contains(err.Error(), hide) {
				t.Errorf("error %q shows a secret", err)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	c, err := load(t, "")
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		Listen:    "127.0.0.1:8080",
		Media:     Media{Root: "./media", Extensions: []string{"mp4", "m4v", "mov", "webm", "mkv", "ogv"}},
		ChunkSize: 1 << 20,
		Redis:     Redis{URL: "redis://127.0.0.1:6379/0", KeyPrefix: "reelcache", Timeout: 500 * time.Millisecond, Hedge: 20 * time.Millisecond, Mode: "single"},
		Cache:     Cache{TTL: 24 * time.Hour, Fill: "async", Readahead: 2, MaxInflightBytes: 256 << 20, LocalBytes: 1 << 30, Versions: "local", Settle: 2 * time.Second, MinUses: 2},
		HTTP: HTTP{MaxRanges: 16, CacheControl: "max-age=60, must-revalidate",
			TLS: TLS{ACME: ACME{CA: "https://acme-v02.api.letsencrypt.org/directory", Challenges: []string{"http-01", "tls-alpn-01"}, RenewCheck: 10 * time.Minute, ARI: true}}},
		Auth: Auth{URLTTL: 10 * time.Minute},
		Log:  Log{Level: "info", Format: "text"},
	}
	if got := *c; !equal(got, want) {
		t.Fatalf("defaults:\n got %+v\nwant %+v", got, want)
	}
}

func equal(a, b Config) bool {
	return a.Listen == b.Listen && a.Media.Root == b.Media.Root &&
		strings.Join(a.Media.Extensions, ",") == strings.Join(b.Media.Extensions, ",") &&
		a.ChunkSize == b.ChunkSize && redisEqual(a.Redis, b.Redis) && a.Admin == b.Admin && a.Cache == b.Cache && a.Log == b.Log &&
		fmt.Sprint(a.HTTP) == fmt.Sprint(b.HTTP) && fmt.Sprintf("%q", a.Auth) == fmt.Sprintf("%q", b.Auth)
}

func TestPrecedence(t *testing.T) {
	const file = `
listen: 127.0.0.1:9000
media:
  root: /srv/videos
  extensions: [MP4, .webm]
chunk:
  size: 256KiB
redis:
  url: redis://10.0.0.1:6379/2
cache:
  ttl: 1h
  fill: sync
`
	tests := []struct {
		name  string
		env   map[string]string
		args  []string
		check func(*Config) string
	}{
		{"file", nil, nil, func(c *Config) string {
			if c.Listen != "127.0.0.1:9000" || c.Media.Root != "/srv/videos" || c.ChunkSize != 256<<10 ||
				c.Cache.TTL != time.Hour || c.Cache.Fill != "sync" || strings.Join(c.Media.Extensions, ",") != "mp4,webm" {
				return "file values not applied"
			}
			return ""
		}},
		{"env over file", map[string]string{"REELCACHE_CHUNK_SIZE": "2MiB", "REELCACHE_LISTEN": ":7000"}, nil, func(c *Config) string {
			if c.ChunkSize != 2<<20 || c.Listen != ":7000" || c.Media.Root != "/srv/videos" {
				return "env did not override the file"
			}
			return ""
		}},
		{"flag over env", map[string]string{"REELCACHE_CHUNK_SIZE": "2MiB"}, []string{"--chunk-size", "4MiB"}, func(c *Config) string {
			if c.ChunkSize != 4<<20 {
				return "flag did not override env"
			}
			return ""
		}},
		{"empty env disables redis", map[string]string{"REELCACHE_REDIS_URL": ""}, nil, func(c *Config) string {
			if c.Redis.URL != "" {
				return "REELCACHE_REDIS_URL= did not disable the cache"
			}
			return ""
		}},
		{"plain byte count", map[string]string{"REELCACHE_CHUNK_SIZE": "1048576"}, nil, func(c *Config) string {
			if c.ChunkSize != 1<<20 {
				return "plain byte count not accepted"
			}
			return ""
		}},
		{"local tier", map[string]string{"REELCACHE_CACHE_LOCAL_BYTES": "512MiB"}, nil, func(c *Config) string {
			if c.Cache.LocalBytes != 512<<20 {
				return "cache.local_bytes not applied"
			}
			return ""
		}},
		{"ttl zero", nil, []string{"--cache-ttl", "0"}, func(c *Config) string {
			if c.Cache.TTL != 0 {
				return "cache.ttl 0 not accepted"
			}
			return ""
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := loadEnv(t, file, tt.env, tt.args...)
			if err != nil {
				t.Fatal(err)
			}
			if msg := tt.check(c); msg != "" {
				t.Fatalf("%s: %+v", msg, c)
			}
		})
	}
}

func TestBadInputNamesKeyValueAndSource(t *testing.T) {
	checkErrors(t, []errorCase{
		{"unknown key in file", "chunk:\n  sise: 1MiB\n", nil, nil, []string{"chunk.sise", "unknown key", "reelcache.yaml"}},
		{"unknown section", "cahce:\n  ttl: 1h\n", nil, nil, []string{"cahce.ttl", "unknown key"}},
		{"chunk too small", "chunk:\n  size: 3KB\n", nil, nil, []string{"chunk.size", `"3KB"`, "reelcache.yaml", "64KiB"}},
		{"chunk too big", "", map[string]string{"REELCACHE_CHUNK_SIZE": "1GiB"}, nil, []string{"chunk.size", "REELCACHE_CHUNK_SIZE", "16MiB"}},
		{"chunk not a size", "", nil, []string{"--chunk-size", "lots"}, []string{"chunk.size", `"lots"`, "flag --chunk-size"}},
		{"bad fill", "cache:\n  fill: maybe\n", nil, nil, []string{"cache.fill", `"maybe"`, "async, sync or off"}},
		{"bad ttl", "cache:\n  ttl: 3600\n", nil, nil, []string{"cache.ttl", `"3600"`}},
		{"bad local tier", "cache:\n  local_bytes: half\n", nil, nil, []string{"cache.local_bytes", `"half"`, "reelcache.yaml", "512MiB"}},
		{"bad url", "redis:\n  url: http://x\n", nil, nil, []string{"redis.url", `"http://x"`}},
		{"prefix with a space", "redis:\n  key_prefix: a b\n", nil, nil, []string{"redis.key_prefix", `"a b"`, "reelcache.yaml", "without spaces"}},
		{"prefix with a control character", "", map[string]string{"REELCACHE_REDIS_KEY_PREFIX": "rc\x1b[2J"}, nil, []string{"redis.key_prefix", `"rc\x1b[2J"`, "REELCACHE_REDIS_KEY_PREFIX", "printable"}},
		{"empty prefix", "", nil, []string{"--redis-key-prefix", ""}, []string{"redis.key_prefix", "flag --redis-key-prefix", "non-empty"}},
		{"negative hedge", "redis:\n  hedge: -5ms\n", nil, nil, []string{"redis.hedge", `"-5ms"`, "reelcache.yaml", "0 waits for Redis"}},
		{"hedge not a duration", "", map[string]string{"REELCACHE_REDIS_HEDGE": "fast"}, nil, []string{"redis.hedge", `"fast"`, "REELCACHE_REDIS_HEDGE", "such as 20ms"}},
		{"bad listen", "listen: 8080\n", nil, nil, []string{"listen", `"8080"`, "host:port"}},
		{"unknown env", "", map[string]string{"REELCACHE_CHUNKSIZE": "1MiB"}, nil, []string{"REELCACHE_CHUNKSIZE", "unknown key"}},
		{"bad yaml", "chunk: [\n", nil, nil, []string{"reelcache.yaml"}},
	}, "")
}

func TestUnknownKeyIsTyped(t *testing.T) {
	_, err := load(t, "nope: 1\n")
	if !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("err = %v, want ErrUnknownKey", err)
	}
	var ce *Error
	if !errors.As(err, &ce) || ce.Key != "nope" {
		t.Fatalf("err = %#v, want *Error with Key nope", err)
	}
}

func TestExplicitConfigFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "other.yaml")
	os.WriteFile(p, []byte("listen: 127.0.0.1:1234\n"), 0o644)
	c, err := load(t, "listen: 127.0.0.1:9999\n", "--config", p)
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:1234" || c.File != p {
		t.Fatalf("--config not used: listen %s, file %s", c.Listen, c.File)
	}
	if _, err := load(t, "", "--config", filepath.Join(t.TempDir(), "missing.yaml")); err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Fatalf("missing --config file: err = %v, want one naming the file", err)
	}
}

// TestExampleFileDocumentsEveryKey keeps reelcache.example.yaml complete
// and loadable.
func TestExampleFileDocumentsEveryKey(t *testing.T) {
	b, err := os.ReadFile("../reelcache.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := load(t, string(b)); err != nil {
		t.Fatalf("example file does not load: %v", err)
	}
	for _, k := range keys {
		leaf := k.name[strings.LastIndex(k.name, ".")+1:]
		if !strings.Contains(string(b), leaf+":") {
			t.Errorf("reelcache.example.yaml does not document %s", k.name)
		}
	}
}

func redisEqual(a, b Redis) bool {
	aa, ba := strings.Join(a.Addrs, ","), strings.Join(b.Addrs, ",")
	a.Addrs, b.Addrs = nil, nil
	return aa == ba && fmt.Sprint(a) == fmt.Sprint(b)
}

// TestKeyPrefixMayHoldGlobCharacters: glob characters in redis.key_prefix
// are accepted (purge escapes them in SCAN MATCH), and kept as given.
func TestKeyPrefixMayHoldGlobCharacters(t *testing.T) {
	for _, p := range []string{"rc[1]", "rc*", "rc?", `a\b`, "app:reelcache"} {
		c, err := load(t, "", "--redis-key-prefix", p)
		if err != nil {
			t.Errorf("prefix %q: %v", p, err)
			continue
		}
		if c.Redis.KeyPrefix != p {
			t.Errorf("prefix %q loaded as %q", p, c.Redis.KeyPrefix)
		}
	}
}
