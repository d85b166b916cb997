package config

import (
	"strconv"
	"strings"

	"github.com/reelcache/reelcache/chunker"
	"github.com/reelcache/reelcache/chunker/store"
	"github.com/reelcache/reelcache/stream"
	"github.com/reelcache/reelcache/stream/faststart"

	"github.com/spf13/pflag"
)

// EnvPrefix starts every environment variable that sets a key: chunk.size is
// REELCACHE_CHUNK_SIZE.
const EnvPrefix = "REELCACHE_"

// configEnv names the config file, like --config.
const configEnv = EnvPrefix + "CONFIG"

// key describes one setting. def is written as a user would write it.
type key struct {
	name, def, usage string
}

// flag returns the command-line flag of k: its name with "-" for "." and
// "_" (chunk.size is --chunk-size).
func (k key) flag() string {
	return strings.NewReplacer(".", "-", "_", "-").Replace(k.name)
}

// keys lists every setting; reelcache.example.yaml documents each. A
// default that a constructor also applies comes from that package's
// Default constant, so the two cannot disagree.
var keys = append([]key{
	{"listen", "127.0.0.1:8080", "address to serve HTTP on (host:port)"},
	{"media.root", "./media", "directory of the videos served under /media/"},
	{"media.extensions", strings.Join(stream.DefaultExtensions, ","), "file extensions served (comma-separated)"},
	{"media.faststart", strconv.FormatBool(faststart.DefaultOn), "serve moov-at-end MP4/MOV files with the moov first (same size, own ETag); false: their own bytes"},
	{"chunk.size", sizeString(chunker.DefaultChunkSize), "bytes per cached chunk, 64KiB to 16MiB"},
	{"redis.url", "redis://127.0.0.1:6379/0", `Redis URL; "" disables the cache`},
	{"redis.key_prefix", store.DefaultPrefix, "prefix of every Redis key"},
	{"redis.timeout", store.DefaultTimeout.String(), "deadline of each Redis read; past it the bytes come from disk"},
	{"redis.hedge", chunker.DefaultHedge.String(), "how long a response's first bytes wait for Redis before a local media root's file sends them (0: wait up to redis.timeout)"},
	{"redis.mode", "single", "single, cluster or sentinel"},
	{"redis.addrs", "", "more cluster seed nodes or sentinels (host:port, comma-separated)"},
	{"redis.master_name", "", "the Sentinel master's name (redis.mode: sentinel)"},
	{"redis.tls_ca", "", "PEM file of CAs for a rediss:// server (default: the system's)"},
	{"redis.tls_cert", "", "PEM client certificate for rediss://"},
	{"redis.tls_key", "", "PEM key of redis.tls_cert"},
	{"cache.ttl", "24h", "expiry of cached chunks; 0 keeps them until evicted"},
	{"cache.fill", "async", "what a cache miss does: async, sync or off"},
	{"cache.versions", "local", "file versions: local (strictest, one host) or shared (several hosts share chunks)"},
	{"cache.readahead", strconv.Itoa(chunker.DefaultWindow), "chunks fetched per Redis round trip and ahead of a streaming reader"},
	{"cache.max_inflight_bytes", sizeString(chunker.DefaultMaxInflightBytes), "cap on chunk bytes held in memory by all requests"},
	{"cache.local_bytes", sizeString(chunker.DefaultLocalBytes), "local tier: chunk files in front of Redis for chunks several viewers read, sent with sendfile (0: off)"},
	{"cache.local_dir", "", "where the local tier keeps its chunk files (a private directory inside it; default: the system's temporary directory)"},
	{"cache.integrity_key", "", "key of the HMAC-SHA256 tags on cached chunks: whoever writes to Redis without it cannot change what viewers get (empty: CRC-32C checksums, which catch damage)"},
	{"cache.min_uses", strconv.Itoa(chunker.DefaultMinUses), "requests that must miss a chunk before it is cached (nginx's proxy_cache_min_uses); 1 caches every miss"},
	{"cache.settle", chunker.DefaultSettle.String(), "after a file changes, how long its bytes are served but not cached (an in-place write may still be running)"},
	{"http.max_ranges", strconv.Itoa(stream.DefaultMaxRanges), "ranges honoured in one request; more get the whole file"},
	{"http.max_streams_per_client", "0", "concurrent media requests per client IP (0: no limit)"},
	{"http.cors.allowed_origins", "", "origins whose pages may fetch media and the API (CORS), e.g. https://www.example.com, or *; empty: off"},
	{"http.cache_control", DefaultCacheControl, `Cache-Control of media responses; "" sends none`},
	{"http.limit_rate", "0", "bytes per second per media response, e.g. 2MiB (0: no limit)"},
	{"http.limit_rate_after", "0", "bytes of each media response sent at full speed before http.limit_rate applies"},
	{"auth.signing_key", "", "HMAC key for signed media URLs and page grants (one key; a YAML list gives several); empty: off"},
	{"auth.url_ttl", stream.DefaultURLTTL.String(), "longest life of the media URLs the API hands out"},
	{"admin.listen", "", "separate listener for /metrics, /healthz, /readyz (empty: the main one)"},
	{"log.level", "info", "debug, info, warn or error"},
	{"log.format", "text", "text or json"},
}, append(append(append(originKeys, tlsKeys...), packagingKeys...), previewKeys...)...)

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
		fs.String(k.flag(), k.def, k.usage)
	}
}

// sizeString writes n bytes the way a user would: "1MiB", "256KiB", "3GiB",
// or plain bytes.
func sizeString(n int64) string {
	for _, u := range []struct {
		shift uint
		name  string
	}{{30, "GiB"}, {20, "MiB"}, {10, "KiB"}} {
		if n > 0 && n%(1<<u.shift) == 0 {
			return strconv.FormatInt(n>>u.shift, 10) + u.name
		}
	}
	return strconv.FormatInt(n, 10)
}
