package chunker

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
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
	if err := addTLSFiles(opts, tlsFiles); err != nil {
		return nil, err
	}
	opts.ContextTimeoutEnabled = true
	opts.MaxRetries = -1
	opts.DialerRetries = 1
	opts.DisableIdentity = true // no CLIENT SETINFO round trip per connection
	return redis.NewClient(opts), nil
}

// addTLSFiles loads a CA file and a client certificate into opts.TLSConfig.
func addTLSFiles(opts *redis.Options, files []string) error {
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
	if opts.TLSConfig == nil {
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
		opts.TLSConfig.RootCAs = pool
	}
	if cert != "" || key != "" {
		pair, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			return fmt.Errorf("redis tls client certificate: %w", err)
		}
		opts.TLSConfig.Certificates = []tls.Certificate{pair}
	}
	return nil
}
