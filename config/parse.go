package config

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/dustin/go-humanize"

	"github.com/reelcache/reelcache/stream"
)

// Upper bounds of values that have no natural one: a size or count past
// them is a typo, and past an int64 a number would wrap negative.
const (
	maxInflightBytes = 1 << 40 // cache.max_inflight_bytes
	maxMaxRanges     = 1000    // http.max_ranges (parsing stops past it)
)

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
		exts := strings.FieldsFunc(raw, func(r rune) bool { return r == ',' || r == ' ' })
		if len(exts) == 0 {
			return errors.New("must list at least one extension")
		}
		exts, err := stream.NormalizeExtensions(exts)
		if err != nil {
			return err
		}
		c.Media.Extensions = exts
	case "media.faststart":
		return setBool(&c.Media.Faststart, raw)
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
				return errors.New(`want redis://host:port/db (user:password@ before the host to log in), rediss://... or unix:///path; "" disables the cache`)
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
		return setPositive(&c.Redis.Timeout, raw, "100ms")
	case "redis.hedge":
		return set(&c.Redis.Hedge, raw, time.ParseDuration, 0, time.Minute, "want a duration such as 20ms (0 waits for Redis; at most 1m)")
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
		return setOneOf(&c.Redis.Mode, raw, "single", "cluster", "sentinel")
	case "redis.addrs":
		addrs, err := parseList(raw, func(a string) (string, error) {
			if _, _, err := net.SplitHostPort(a); err != nil {
				return "", fmt.Errorf("%q: want host:port", a)
			}
			return a, nil
		})
		if err != nil {
			return err
		}
		c.Redis.Addrs = addrs
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
		return set(&c.Cache.TTL, raw, time.ParseDuration, 0, forever, "want a duration such as 24h, or 0 for no expiry")
	case "cache.fill":
		return setOneOf(&c.Cache.Fill, raw, "async", "sync", "off")
	case "cache.versions":
		return setOneOf(&c.Cache.Versions, raw, "local", "shared")
	case "cache.readahead":
		return set(&c.Cache.Readahead, raw, strconv.Atoi, 1, 64, "want a number of chunks from 1 to 64")
	case "cache.max_inflight_bytes":
		// Past an int64, the budget would wrap negative and stop applying
		// (issue 21 item 10).
		return set(&c.Cache.MaxInflightBytes, raw, parseSize, 1<<20, maxInflightBytes, "want a size of at least 1MiB and at most 1TiB, such as 256MiB")
	case "cache.local_bytes":
		return set(&c.Cache.LocalBytes, raw, parseSize, 0, 1<<50, "want a size such as 512MiB, or 0 for off")
	case "cache.local_dir":
		c.Cache.LocalDir = raw
	case "cache.integrity_key":
		if raw != "" && len(raw) < 16 {
			return errors.New("want at least 16 bytes (a random string; every instance sharing the Redis needs the same)")
		}
		c.Cache.IntegrityKey = raw
	case "cache.min_uses":
		return set(&c.Cache.MinUses, raw, strconv.Atoi, 1, 100, "want a number of requests from 1 to 100")
	case "cache.settle":
		return set(&c.Cache.Settle, raw, time.ParseDuration, 0, time.Hour, "want a duration such as 2s (0 caches at once; at most 1h)")
	case "http.max_ranges":
		return set(&c.HTTP.MaxRanges, raw, strconv.Atoi, 1, maxMaxRanges, fmt.Sprintf("want a positive number, at most %d, e.g. 16", maxMaxRanges))
	case "http.max_streams_per_client":
		return set(&c.HTTP.MaxStreamsPerClient, raw, strconv.Atoi, 0, math.MaxInt, "want a number, 0 for no limit")
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
		dst := &c.HTTP.LimitRate
		if name == "http.limit_rate_after" {
			dst = &c.HTTP.LimitRateAfter
		}
		return set(dst, raw, parseSize, 0, 1<<40, "want a size such as 2MiB, or 0 for none")
	case "auth.url_ttl":
		return set(&c.Auth.URLTTL, raw, time.ParseDuration, time.Second, forever, "want a duration of at least 1s, such as 10m")
	case "log.level":
		return setOneOf(&c.Log.Level, raw, "debug", "info", "warn", "error")
	case "log.format":
		return setOneOf(&c.Log.Format, raw, "text", "json")
	default:
		if ok, err := parseOrigin(c, name, raw); ok {
			return err
		}
		if ok, err := parsePreviews(c, name, raw); ok {
			return err
		}
		if ok, err := parseTLS(c, name, raw); ok {
			return err
		}
		if ok, err := parsePackaging(c, name, raw); ok {
			return err
		}
		return ErrUnknownKey
	}
	return nil
}
