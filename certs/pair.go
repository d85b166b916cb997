package certs

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
)

// ErrMismatch is wrapped by LoadPair's error when the key is not the
// certificate's.
var ErrMismatch = errors.New("the private key does not match the certificate")

// PairError is a key pair that cannot be used. File is the one at fault
// (the key file on a mismatch); Which is "cert" or "key".
type PairError struct {
	Which string
	File  string
	Err   error
}

func (e *PairError) Error() string { return fmt.Sprintf("%s file %s: %v", e.Which, e.File, e.Err) }
func (e *PairError) Unwrap() error { return e.Err }

// LoadPair reads a PEM certificate chain and its private key. Its errors
// are *PairError naming the file at fault: unreadable, not PEM, or a key
// that is not the certificate's (ErrMismatch). The returned certificate has
// Leaf set.
func LoadPair(certFile, keyFile string) (*tls.Certificate, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, &PairError{"cert", certFile, fmt.Errorf("cannot read it: %w", errors.Unwrap(err))}
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, &PairError{"key", keyFile, fmt.Errorf("cannot read it: %w", errors.Unwrap(err))}
	}
	// X509KeyPair's own errors do not say which file is wrong: check each
	// file alone first.
	if _, err := parseFirst(certPEM); err != nil {
		return nil, &PairError{"cert", certFile, err}
	}
	if !hasKeyBlock(keyPEM) {
		return nil, &PairError{"key", keyFile, errors.New("no PEM PRIVATE KEY block in it")}
	}
	c, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, &PairError{"key", keyFile, fmt.Errorf("%w (%v)", ErrMismatch, err)}
	}
	return &c, nil
}

// parseFirst parses the first certificate of a PEM chain.
func parseFirst(certPEM []byte) (*x509.Certificate, error) {
	for {
		var b *pem.Block
		if b, certPEM = pem.Decode(certPEM); b == nil {
			return nil, errors.New("no PEM CERTIFICATE block in it")
		}
		if b.Type == "CERTIFICATE" {
			leaf, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				return nil, fmt.Errorf("its first certificate does not parse: %w", err)
			}
			return leaf, nil
		}
	}
}

// hasKeyBlock reports whether keyPEM holds a PEM private key block.
func hasKeyBlock(keyPEM []byte) bool {
	for {
		var b *pem.Block
		if b, keyPEM = pem.Decode(keyPEM); b == nil {
			return false
		}
		if strings.HasSuffix(b.Type, "PRIVATE KEY") {
			return true
		}
	}
}

// Expiry states of a certificate, for logs, /readyz and metrics.
const (
	StateOK       = "ok"
	StateExpiring = "expiring" // within DefaultWarnBefore of NotAfter
	StateExpired  = "expired"
)

// DefaultWarnBefore is how long before its NotAfter a certificate is
// reported as expiring. ACME renews at a third of the lifetime left (30
// days for Let's Encrypt's 90), so an ACME certificate in this window has
// failed to renew for weeks.
const DefaultWarnBefore = 14 * 24 * time.Hour

// State is the expiry state of a certificate valid until notAfter, at now.
func State(notAfter, now time.Time) string {
	switch {
	case !now.Before(notAfter):
		return StateExpired
	case notAfter.Sub(now) < DefaultWarnBefore:
		return StateExpiring
	}
	return StateOK
}
