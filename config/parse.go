package config

import (
	"errors"
	"fmt"
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
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return errors.New("want true or false")
		}
		c.Media.Faststart = b
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
		if err != nil || n < 1<<20 || n > maxInflightBytes {
			// Past an int64, the budget would wrap negative and stop
			// applying (issue 21 item 10).
			return errors.New("want a size of at least 1MiB and at most 1TiB, such as 256MiB")
		}
		c.Cache.MaxInflightBytes = int64(n)
	case "cache.local_bytes":
		n, err := humanize.ParseBytes(raw)
		if err != nil || n > 1<<50 {
			return errors.New("want a size such as 512MiB, or 0 for off")
		}
		c.Cache.LocalBytes = int64(n)
	case "cache.local_dir":
		c.Cache.LocalDir = raw
	case "cache.integrity_key":
		if raw != "" && len(raw) < 16 {
			return errors.New("want at least 16 bytes (a random string; every instance sharing the Redis needs the same)")
		}
		c.Cache.IntegrityKey = raw
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
		if err != nil || n < 1 || n > maxMaxRanges {
			return fmt.Errorf("want a positive number, at most %d, e.g. 16", maxMaxRanges)
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
