package store

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	neturl "net/url"
	"os"

	"github.com/redis/go-redis/v9"
)

// NewRedisClient returns a client for the Redis at url (redis://, rediss://
// or unix://, with user, password and database as go-redis's ParseURL reads
// them), set up for a cache that must fail fast: deadlines come from each
// call's context, and neither commands nor dials are retried, because a
// viewer is better served by the disk than by a second try.
//
// tlsFiles are, for a rediss:// URL, an optional CA file (PEM) that replaces
// the system's roots, and an optional client certificate and key (PEM).
func NewRedisClient(url string, tlsFiles ...string) (redis.UniversalClient, error) {
	opts, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("redis url: %w", err)
	}
	if err := addTLSFiles(opts.TLSConfig, tlsFiles); err != nil {
		return nil, err
	}
	opts.ContextTimeoutEnabled = true
	opts.MaxRetries = -1
	opts.DialerRetries = 1
	opts.DisableIdentity = true // no CLIENT SETINFO round trip per connection
	return redis.NewClient(opts), nil
}

// addTLSFiles loads a CA file and a client certificate into cfg, the TLS
// config of a rediss:// URL (nil for any other URL).
func addTLSFiles(cfg *tls.Config, files []string) error {
	var ca, cert, key string
	switch len(files) {
	case 0:
		return nil
	case 3:
		ca, cert, key = files[0], files[1], files[2]
	default:
		return fmt.Errorf("redis tls: want CA, cert and key files (each may be empty), got %d", len(files))
	}
	if ca == "" && cert == "" && key == "" {
		return nil
	}
	if cfg == nil {
		return errors.New("redis tls: files given for a URL that is not rediss://")
	}
	if ca != "" {
		pem, err := os.ReadFile(ca)
		if err != nil {
			return fmt.Errorf("redis tls ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return fmt.Errorf("redis tls ca %s: no PEM certificates", ca)
		}
		cfg.RootCAs = pool
	}
	if cert != "" || key != "" {
		pair, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			return fmt.Errorf("redis tls client certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return nil
}

// RedisOptions describe a Redis deployment: one server, a Cluster, or a
// master watched by Sentinels.
type RedisOptions struct {
	// URL is redis://[user:password@]host:port/db (rediss:// for TLS). For
	// a Cluster it is one seed node; for Sentinel, one sentinel, with the
	// sentinels' credentials.
	URL string
	// Mode is "single" (default), "cluster" or "sentinel".
	Mode string
	// Addrs are more cluster seed nodes or sentinels (host:port).
	Addrs []string
	// MasterName is the Sentinel master's name.
	MasterName string
	// TLS files, as for NewRedisClient.
	TLSCA, TLSCert, TLSKey string
}

// DialRedis returns a client for o, set up like NewRedisClient: deadlines
// from each call's context, no retries. It does not connect yet.
func DialRedis(o RedisOptions) (redis.UniversalClient, error) {
	switch o.Mode {
	case "", "single":
		return NewRedisClient(o.URL, o.tlsFiles()...)
	case "cluster":
		opts, err := parseAddrs(o, "", "cluster", redis.ParseClusterURL,
			func(c *redis.ClusterOptions) *tls.Config { return c.TLSConfig })
		if err != nil {
			return nil, err
		}
		opts.ContextTimeoutEnabled = true
		opts.MaxRetries = -1
		opts.MaxRedirects = 2 // follow a MOVED after a failover, no more
		opts.DialerRetries = 1
		opts.DisableIdentity = true
		return redis.NewClusterClient(opts), nil
	case "sentinel":
		if o.MasterName == "" {
			return nil, errors.New("redis sentinel: redis.master_name is required")
		}
		opts, err := parseAddrs(o, o.MasterName, "sentinel", redis.ParseFailoverURL,
			func(f *redis.FailoverOptions) *tls.Config { return f.TLSConfig })
		if err != nil {
			return nil, err
		}
		opts.ContextTimeoutEnabled = true
		opts.MaxRetries = -1
		opts.DialerRetries = 1
		opts.DisableIdentity = true
		return redis.NewFailoverClient(opts), nil
	}
	return nil, fmt.Errorf("redis mode %q: want single, cluster or sentinel", o.Mode)
}

// tlsFiles are o's TLS files in the order NewRedisClient takes them.
func (o RedisOptions) tlsFiles() []string { return []string{o.TLSCA, o.TLSCert, o.TLSKey} }

// parseAddrs reads the URL of a Cluster or of Sentinels (mode names it in
// errors): o.URL with o.Addrs, and master when it is not "", added as
// go-redis's parse (ParseClusterURL, ParseFailoverURL) reads them. It loads
// o's TLS files into the TLS config that tlsOf picks out of the options.
func parseAddrs[T any](o RedisOptions, master, mode string, parse func(string) (*T, error), tlsOf func(*T) *tls.Config) (*T, error) {
	u, err := withAddrs(o.URL, o.Addrs, master)
	if err != nil {
		return nil, err
	}
	opts, err := parse(u)
	if err != nil {
		return nil, fmt.Errorf("redis %s url: %w", mode, err)
	}
	if err := addTLSFiles(tlsOf(opts), o.tlsFiles()); err != nil {
		return nil, err
	}
	return opts, nil
}

// withAddrs adds addr= (and master_name=) parameters to a Redis URL, the
// form go-redis's ParseClusterURL and ParseFailoverURL read.
func withAddrs(raw string, addrs []string, master string) (string, error) {
	u, err := neturl.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("redis url: %w", err)
	}
	q := u.Query()
	for _, a := range addrs {
		q.Add("addr", a)
	}
	if master != "" {
		q.Set("master_name", master)
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}
