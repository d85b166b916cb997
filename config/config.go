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
	"time"
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
	Packaging Packaging
	Previews  Previews
	File      string // the config file read; "" when none
}

// Media says what is served.
type Media struct {
	Root       string   // directory served under /media/ when Origin.URL is empty
	Extensions []string // lower-case extensions without the dot, e.g. "mp4"
	Faststart  bool     // serve moov-at-end MP4/MOV with the moov first (stream/faststart)
	Origin     Origin   // a remote origin instead of Root
}

// Redis says where the chunk cache lives.
type Redis struct {
	URL        string        // redis://, rediss:// or unix:// URL; "" disables the cache
	KeyPrefix  string        // first part of every key
	Timeout    time.Duration // deadline of each read from Redis
	Hedge      time.Duration // how long a response's first bytes wait for Redis before a local origin file sends them; 0: wait
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
	LocalBytes       int64         // local tier of chunk files for chunks several requests read; 0: off
	LocalDir         string        // where the local tier makes its directory; "": the system's temporary directory
	IntegrityKey     string        // HMAC key of cached chunks' tags; "": CRC-32C (secret: never printed)
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

	TLS            TLS           // HTTPS on Listen; off when neither files nor ACME are set
	RedirectListen string        // plain-HTTP listener redirecting to HTTPS; "": none
	HSTS           time.Duration // Strict-Transport-Security max-age; 0: none
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
