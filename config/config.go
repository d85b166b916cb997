// Package config loads reelcache's settings from a YAML file, REELCACHE_*
// environment variables and command-line flags into a validated Config.
//
// Precedence, highest first: flags, environment, file, defaults. The file is
// --config FILE, else $REELCACHE_CONFIG, else the first reelcache.yaml found
// in ".", $XDG_CONFIG_HOME/reelcache and /etc/reelcache; running without one
// is fine. Unknown keys (in the file or as REELCACHE_* variables) and bad
// values are errors that name the key, the value and where it came from.
//
// This is the only package that touches viper, and it uses its own instance:
// everything else gets plain values.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/dustin/go-humanize"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"
)

// Config is reelcache's validated configuration.
type Config struct {
	Listen    string // address of the HTTP listener, host:port
	Media     Media  //
	ChunkSize int64  // bytes per chunk, 64 KiB to 16 MiB
	Redis     Redis  //
	Cache     Cache  //
	HTTP      HTTP   //
	Auth      Auth   //
	Admin     Admin  //
	Log       Log    //
	File      string // the config file read; "" when none
}

// Media says what is served.
type Media struct {
	Root       string   // directory served under /media/ when Origin.URL is empty
	Extensions []string // lower-case extensions without the dot, e.g. "mp4"
	Origin     Origin   // a remote origin instead of Root
}

// Redis says where the chunk cache lives.
type Redis struct {
	URL        string        // redis://, rediss:// or unix:// URL; "" disables the cache
	KeyPrefix  string        // first part of every key
	Timeout    time.Duration // deadline of each read from Redis
	TLSCA      string        // PEM file of CAs that sign the server's certificate (rediss://)
	TLSCert    string        // PEM client certificate, for servers that verify clients
	TLSKey     string        // PEM key of TLSCert
	Mode       string        // single, cluster or sentinel
	Addrs      []string      // more cluster seed nodes or sentinels
	MasterName string        // the Sentinel master's name
}

// Admin says where operators' endpoints listen.
type Admin struct {
	// Listen, when set, moves /metrics to its own listener (with /healthz
	// and /readyz); empty serves them on the main one.
	Listen string
}

// Cache says how the cache is used.
type Cache struct {
	TTL              time.Duration // expiry of written chunks; 0 means none
	Fill             string        // what a miss does: "async", "sync" or "off"
	Readahead        int           // chunks fetched per round trip, and ahead of the reader
	Versions         string        // "local" (device, inode, ctime too) or "shared" (name, size, mtime)
	MaxInflightBytes int64         // cap on chunk bytes held by all requests at once
	LocalBytes       int64         // in-process tier of chunks several requests read; 0: off
	Settle           time.Duration // after a file changes, how long its bytes are served but not cached
	MinUses          int           // requests that must miss a chunk before it is cached
}

// HTTP says what the HTTP edge allows and sends.
type HTTP struct {
	MaxRanges           int // ranges honoured in one request; more get the whole file (200)
	MaxStreamsPerClient int // concurrent media requests per client IP; 0 means no limit

	// CORSAllowedOrigins are the origins (scheme://host[:port], lower
	// case) whose pages may read media and the API, or just "*"; empty
	// turns CORS off.
	CORSAllowedOrigins []string
	// CacheControl is sent with media responses (200, 206, 304); "" sends
	// none.
	CacheControl string
	// LimitRate caps each media response at this many bytes per second
	// once LimitRateAfter bytes have been sent (nginx's limit_rate and
	// limit_rate_after); 0 means no limit.
	LimitRate      int64
	LimitRateAfter int64
}

// Auth turns on signed media URLs and page grants.
type Auth struct {
	// SigningKeys verify ?exp=&sig= on /media/ URLs and page grants; the
	// first signs new ones. Empty means nothing needs a signature. A YAML
	// list gives several keys; a string (file, environment or flag) is
	// exactly one key, commas included.
	SigningKeys []string
	// URLTTL is the longest life of a media URL the API hands out (never
	// past the grant it was asked with).
	URLTTL time.Duration
}

// Log says how the server logs.
type Log struct {
	Level  string // debug, info, warn or error
	Format string // text or json
}

// EnvPrefix starts every environment variable that sets a key: chunk.size is
// REELCACHE_CHUNK_SIZE.
const EnvPrefix = "REELCACHE_"

// configEnv names the config file, like --config.
const configEnv = EnvPrefix + "CONFIG"

// key describes one setting. def is written as a user would write it.
type key struct {
	name, def, flag, usage string
}

// keys lists every setting; reelcache.example.yaml documents each.
var keys = append([]key{
	{"listen", "127.0.0.1:8080", "listen", "address to serve HTTP on (host:port)"},
	{"media.root", "./media", "media-root", "directory of the videos served under /media/"},
	{"media.extensions", "mp4,m4v,mov,webm,mkv,ogv", "media-extensions", "file extensions served (comma-separated)"},
	{"chunk.size", "1MiB", "chunk-size", "bytes per cached chunk, 64KiB to 16MiB"},
	{"redis.url", "redis://127.0.0.1:6379/0", "redis-url", `Redis URL; "" disables the cache`},
	{"redis.key_prefix", "reelcache", "redis-key-prefix", "prefix of every Redis key"},
	{"redis.timeout", "500ms", "redis-timeout", "deadline of each Redis read; past it the bytes come from disk"},
	{"redis.mode", "single", "redis-mode", "single, cluster or sentinel"},
	{"redis.addrs", "", "redis-addrs", "more cluster seed nodes or sentinels (host:port, comma-separated)"},
	{"redis.master_name", "", "redis-master-name", "the Sentinel master's name (redis.mode: sentinel)"},
	{"redis.tls_ca", "", "redis-tls-ca", "PEM file of CAs for a rediss:// server (default: the system's)"},
	{"redis.tls_cert", "", "redis-tls-cert", "PEM client certificate for rediss://"},
	{"redis.tls_key", "", "redis-tls-key", "PEM key of redis.tls_cert"},
	{"cache.ttl", "24h", "cache-ttl", "expiry of cached chunks; 0 keeps them until evicted"},
	{"cache.fill", "async", "cache-fill", "what a cache miss does: async, sync or off"},
	{"cache.versions", "local", "cache-versions", "file versions: local (strictest, one host) or shared (several hosts share chunks)"},
	{"cache.readahead", "2", "cache-readahead", "chunks fetched per Redis round trip and ahead of a streaming reader"},
	{"cache.max_inflight_bytes", "256MiB", "cache-max-inflight-bytes", "cap on chunk bytes held in memory by all requests"},
	{"cache.local_bytes", "64MiB", "cache-local-bytes", "in-process tier in front of Redis for chunks several viewers read (0: off)"},
	{"cache.min_uses", "1", "cache-min-uses", "requests that must miss a chunk before it is cached (nginx's proxy_cache_min_uses); 1 caches every miss"},
	{"cache.settle", "2s", "cache-settle", "after a file changes, how long its bytes are served but not cached (an in-place write may still be running)"},
	{"http.max_ranges", "16", "http-max-ranges", "ranges honoured in one request; more get the whole file"},
	{"http.max_streams_per_client", "0", "http-max-streams-per-client", "concurrent media requests per client IP (0: no limit)"},
	{"http.cors.allowed_origins", "", "http-cors-allowed-origins", "origins whose pages may fetch media and the API (CORS), e.g. https://www.example.com, or *; empty: off"},
	{"http.cache_control", DefaultCacheControl, "http-cache-control", `Cache-Control of media responses; "" sends none`},
	{"http.limit_rate", "0", "http-limit-rate", "bytes per second per media response, e.g. 2MiB (0: no limit)"},
	{"http.limit_rate_after", "0", "http-limit-rate-after", "bytes of each media response sent at full speed before http.limit_rate applies"},
	{"auth.signing_key", "", "auth-signing-key", "HMAC key for signed media URLs and page grants (one key; a YAML list gives several); empty: off"},
	{"auth.url_ttl", "10m", "auth-url-ttl", "longest life of the media URLs the API hands out"},
	{"admin.listen", "", "admin-listen", "separate listener for /metrics, /healthz, /readyz (empty: the main one)"},
	{"log.level", "info", "log-level", "debug, info, warn or error"},
	{"log.format", "text", "log-format", "text or json"},
}, originKeys...)

// DefaultCacheControl is http.cache_control's default: browsers and CDNs
// may reuse media bytes for a minute, then must ask again (a 304 when the
// file is unchanged), so a file replaced under its name reaches viewers
// within a minute.
const DefaultCacheControl = "max-age=60, must-revalidate"

// Limits of chunk.size.
const (
	MinChunkSize = 64 << 10
	MaxChunkSize = 16 << 20
)

// envName returns the environment variable of a key.
func envName(name string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(name, ".", "_"))
}

// AddFlags defines --config and one flag per key on fs. Flags override the
// environment and the file only when given.
func AddFlags(fs *pflag.FlagSet) {
	fs.String("config", "", "config file (default: reelcache.yaml in ., $XDG_CONFIG_HOME/reelcache, /etc/reelcache)")
	for _, k := range keys {
		fs.String(k.flag, k.def, k.usage)
	}
}

// Options tell Load where to look. The zero value reads the environment and
// searches the default directories.
type Options struct {
	// Flags made with AddFlags; nil means none.
	Flags *pflag.FlagSet
	// SearchDirs replaces the directories searched for reelcache.yaml.
	SearchDirs []string
}

// Error is a bad setting.
type Error struct {
	Key    string // e.g. "chunk.size"
	Value  string // the value as given
	Source string // e.g. "config file /etc/reelcache/reelcache.yaml"
	Err    error
}

func (e *Error) Error() string {
	if e.Value == "" && e.Key == "" {
		return fmt.Sprintf("%s: %v", e.Source, e.Err)
	}
	return fmt.Sprintf("%s: %s %q: %v", e.Source, e.Key, e.Value, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// ErrUnknownKey is wrapped by the Error for a key reelcache does not have.
var ErrUnknownKey = errors.New("unknown key")

// Load reads the configuration.
func Load(opts Options) (*Config, error) {
	l := &loader{flags: opts.Flags, v: viper.New()}
	file, err := l.findFile(opts.SearchDirs)
	if err != nil {
		return nil, err
	}
	l.file = file
	if err := l.readFile(); err != nil {
		return nil, err
	}
	if err := checkEnv(); err != nil {
		return nil, err
	}
	l.v.AllowEmptyEnv(true) // REELCACHE_REDIS_URL= turns the cache off
	for _, k := range keys {
		l.v.SetDefault(k.name, k.def)
		l.v.BindEnv(k.name, envName(k.name))
		if l.flags != nil {
			if f := l.flags.Lookup(k.flag); f != nil {
				l.v.BindPFlag(k.name, f)
			}
		}
	}
	return l.config()
}

type loader struct {
	flags *pflag.FlagSet
	v     *viper.Viper // everything merged
	fv    *viper.Viper // the file alone, to tell where a value came from
	file  string
}

func (l *loader) findFile(dirs []string) (string, error) {
	if l.flags != nil {
		if f := l.flags.Lookup("config"); f != nil && f.Value.String() != "" {
			return f.Value.String(), nil
		}
	}
	if f := os.Getenv(configEnv); f != "" {
		return f, nil
	}
	if dirs == nil {
		dirs = []string{"."}
		if d, err := os.UserConfigDir(); err == nil {
			dirs = append(dirs, filepath.Join(d, "reelcache"))
		}
		dirs = append(dirs, "/etc/reelcache")
	}
	for _, d := range dirs {
		for _, name := range []string{"reelcache.yaml", "reelcache.yml"} {
			p := filepath.Join(d, name)
			if _, err := os.Stat(p); err == nil {
				return p, nil
			}
		}
	}
	return "", nil
}

func (l *loader) readFile() error {
	if l.file == "" {
		return nil
	}
	src := "config file " + l.file
	b, err := os.ReadFile(l.file)
	if err != nil {
		return &Error{Source: src, Err: err}
	}
	typ := strings.TrimPrefix(filepath.Ext(l.file), ".")
	if !slices.Contains([]string{"yaml", "yml", "json", "toml"}, typ) {
		typ = "yaml"
	}
	l.fv = viper.New()
	l.fv.SetConfigType(typ)
	if err := l.fv.ReadConfig(strings.NewReader(string(b))); err != nil {
		return &Error{Source: src, Err: err}
	}
	known := make(map[string]bool, len(keys))
	for _, k := range keys {
		known[k.name] = true
	}
	for _, k := range l.fv.AllKeys() {
		if !known[k] && !isMapSubKey(k) {
			return &Error{Source: src, Key: k, Value: fmt.Sprint(l.fv.Get(k)), Err: ErrUnknownKey}
		}
	}
	l.v.SetConfigType(typ)
	if err := l.v.ReadConfig(strings.NewReader(string(b))); err != nil {
		return &Error{Source: src, Err: err}
	}
	return nil
}

// checkEnv refuses REELCACHE_* variables that set no key: a typo there
// would otherwise be silently ignored.
func checkEnv() error {
	for _, kv := range os.Environ() {
		name, val, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, EnvPrefix) || name == configEnv {
			continue
		}
		if !slices.ContainsFunc(keys, func(k key) bool { return envName(k.name) == name }) {
			return &Error{Source: "environment variable " + name, Key: name, Value: val, Err: ErrUnknownKey}
		}
	}
	return nil
}

// source says where the value of k came from, for error messages.
func (l *loader) source(k key) string {
	if l.flags != nil {
		if f := l.flags.Lookup(k.flag); f != nil && f.Changed {
			return "flag --" + k.flag
		}
	}
	if _, ok := os.LookupEnv(envName(k.name)); ok {
		return "environment variable " + envName(k.name)
	}
	if l.fv != nil && l.fv.IsSet(k.name) {
		return "config file " + l.file
	}
	return "default"
}

func (l *loader) config() (*Config, error) {
	c := &Config{File: l.file}
	var errs []error
	for _, k := range keys {
		if k.name == "auth.signing_key" {
			sk, err := signingKeys(l.v.Get(k.name))
			if err != nil {
				errs = append(errs, &Error{Key: k.name, Value: "(secret, not shown)", Source: l.source(k), Err: err})
			}
			c.Auth.SigningKeys = sk
			continue
		}
		raw := l.raw(k.name)
		if err := parse(c, k.name, raw); err != nil {
			errs = append(errs, &Error{Key: k.name, Value: display(k.name, raw), Source: l.source(k), Err: err})
		}
	}
	if len(errs) == 0 {
		errs = l.checkOrigin(c)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}

// raw returns a key's value as a string; lists are joined with commas.
func (l *loader) raw(name string) string {
	switch v := l.v.Get(name).(type) {
	case []any:
		s := make([]string, len(v))
		for i, e := range v {
			s[i] = fmt.Sprint(e)
		}
		return strings.Join(s, ",")
	case []string:
		return strings.Join(v, ",")
	case map[string]any:
		return mapRaw(v)
	case nil:
		return ""
	default:
		return fmt.Sprint(v)
	}
}

// parse validates raw and stores it in c.
func parse(c *Config, name, raw string) error {
	switch name {
	case "listen":
		if _, _, err := net.SplitHostPort(raw); err != nil {
			return errors.New("want host:port, e.g. 127.0.0.1:8080 or :8080")
		}
		c.Listen = raw
	case "media.root":
		if strings.TrimSpace(raw) == "" {
			return errors.New("must name a directory")
		}
		c.Media.Root = raw
	case "media.extensions":
		exts := strings.FieldsFunc(strings.ToLower(raw), func(r rune) bool { return r == ',' || r == ' ' })
		if len(exts) == 0 {
			return errors.New("must list at least one extension")
		}
		for i, e := range exts {
			e = strings.TrimPrefix(e, ".")
			if e == "" || strings.ContainsAny(e, "./\\") {
				return fmt.Errorf("bad extension %q", exts[i])
			}
			exts[i] = e
		}
		c.Media.Extensions = exts
	case "chunk.size":
		n, err := humanize.ParseBytes(raw)
		if err != nil {
			return errors.New("want a size such as 1MiB, 256KiB or 1048576")
		}
		if n < MinChunkSize || n > MaxChunkSize {
			return fmt.Errorf("must be between 64KiB and 16MiB (got %d bytes)", n)
		}
		c.ChunkSize = int64(n)
	case "redis.url":
		if raw != "" {
			u, err := url.Parse(raw)
			if err != nil || !slices.Contains([]string{"redis", "rediss", "unix"}, u.Scheme) {
				return errors.New(`want redis://[user:password@]host:port/db, rediss://... or unix:///path; "" disables the cache`)
			}
		}
		c.Redis.URL = raw
	case "redis.key_prefix":
		// Glob characters (*?[]\) are fine: purge escapes them in SCAN
		// MATCH. Spaces and control characters are refused: they would
		// garble logs and redis-cli input, and no one means them.
		if raw == "" || !utf8.ValidString(raw) || strings.ContainsFunc(raw, func(r rune) bool { return unicode.IsSpace(r) || !unicode.IsPrint(r) }) {
			return errors.New("must be non-empty, printable UTF-8, without spaces")
		}
		c.Redis.KeyPrefix = raw
	case "redis.timeout":
		d, err := time.ParseDuration(raw)
		if err != nil || d <= 0 {
			return errors.New("want a positive duration such as 100ms")
		}
		c.Redis.Timeout = d
	case "redis.tls_ca", "redis.tls_cert", "redis.tls_key":
		if raw != "" {
			if _, err := os.Stat(raw); err != nil {
				return fmt.Errorf("cannot read the file: %w", errors.Unwrap(err))
			}
		}
		switch name {
		case "redis.tls_ca":
			c.Redis.TLSCA = raw
		case "redis.tls_cert":
			c.Redis.TLSCert = raw
		default:
			c.Redis.TLSKey = raw
		}
	case "redis.mode":
		if !slices.Contains([]string{"single", "cluster", "sentinel"}, raw) {
			return errors.New("want single, cluster or sentinel")
		}
		c.Redis.Mode = raw
	case "redis.addrs":
		c.Redis.Addrs = nil
		for a := range strings.SplitSeq(raw, ",") {
			if a = strings.TrimSpace(a); a == "" {
				continue
			}
			if _, _, err := net.SplitHostPort(a); err != nil {
				return fmt.Errorf("%q: want host:port", a)
			}
			c.Redis.Addrs = append(c.Redis.Addrs, a)
		}
	case "redis.master_name":
		c.Redis.MasterName = raw
	case "admin.listen":
		if raw != "" {
			if _, _, err := net.SplitHostPort(raw); err != nil {
				return errors.New("want host:port, or empty")
			}
		}
		c.Admin.Listen = raw
	case "cache.ttl":
		d, err := time.ParseDuration(raw)
		if err != nil || d < 0 {
			return errors.New("want a duration such as 24h, or 0 for no expiry")
		}
		c.Cache.TTL = d
	case "cache.fill":
		if !slices.Contains([]string{"async", "sync", "off"}, raw) {
			return errors.New("want async, sync or off")
		}
		c.Cache.Fill = raw
	case "cache.versions":
		if raw != "local" && raw != "shared" {
			return errors.New("want local or shared")
		}
		c.Cache.Versions = raw
	case "cache.readahead":
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 || n > 64 {
			return errors.New("want a number of chunks from 1 to 64")
		}
		c.Cache.Readahead = n
	case "cache.max_inflight_bytes":
		n, err := humanize.ParseBytes(raw)
		if err != nil || n < 1<<20 {
			return errors.New("want a size of at least 1MiB, such as 256MiB")
		}
		c.Cache.MaxInflightBytes = int64(n)
	case "cache.local_bytes":
		n, err := humanize.ParseBytes(raw)
		if err != nil || n > 1<<50 {
			return errors.New("want a size such as 512MiB, or 0 for off")
		}
		c.Cache.LocalBytes = int64(n)
	case "cache.min_uses":
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 || n > 100 {
			return errors.New("want a number of requests from 1 to 100")
		}
		c.Cache.MinUses = n
	case "cache.settle":
		d, err := time.ParseDuration(raw)
		if err != nil || d < 0 || d > time.Hour {
			return errors.New("want a duration such as 2s (0 caches at once; at most 1h)")
		}
		c.Cache.Settle = d
	case "http.max_ranges":
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 {
			return errors.New("want a positive number, e.g. 16")
		}
		c.HTTP.MaxRanges = n
	case "http.max_streams_per_client":
		n, err := strconv.Atoi(raw)
		if err != nil || n < 0 {
			return errors.New("want a number, 0 for no limit")
		}
		c.HTTP.MaxStreamsPerClient = n
	case "http.cors.allowed_origins":
		origins, err := corsOrigins(raw)
		if err != nil {
			return err
		}
		c.HTTP.CORSAllowedOrigins = origins
	case "http.cache_control":
		if strings.ContainsFunc(raw, func(r rune) bool { return r < ' ' || r == 0x7f }) {
			return errors.New("must be one header line, e.g. max-age=60, must-revalidate")
		}
		c.HTTP.CacheControl = strings.TrimSpace(raw)
	case "http.limit_rate", "http.limit_rate_after":
		n, err := humanize.ParseBytes(raw)
		if err != nil || n > 1<<40 {
			return errors.New("want a size such as 2MiB, or 0 for none")
		}
		if name == "http.limit_rate" {
			c.HTTP.LimitRate = int64(n)
		} else {
			c.HTTP.LimitRateAfter = int64(n)
		}
	case "auth.url_ttl":
		d, err := time.ParseDuration(raw)
		if err != nil || d < time.Second {
			return errors.New("want a duration of at least 1s, such as 10m")
		}
		c.Auth.URLTTL = d
	case "log.level":
		if !slices.Contains([]string{"debug", "info", "warn", "error"}, raw) {
			return errors.New("want debug, info, warn or error")
		}
		c.Log.Level = raw
	case "log.format":
		if !slices.Contains([]string{"text", "json"}, raw) {
			return errors.New("want text or json")
		}
		c.Log.Format = raw
	default:
		if ok, err := parseOrigin(c, name, raw); ok {
			return err
		}
		return ErrUnknownKey
	}
	return nil
}
