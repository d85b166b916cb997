package certs

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"time"

	"github.com/caddyserver/certmagic"
	"github.com/mholt/acmez/v3"
	"github.com/mholt/acmez/v3/acme"
)

// DefaultCA is the ACME directory used when none is configured: Let's
// Encrypt's production CA.
const DefaultCA = certmagic.LetsEncryptProductionCA

// DefaultRenewCheckInterval is how often managed certificates are checked
// for renewal: certmagic's default.
const DefaultRenewCheckInterval = certmagic.DefaultRenewCheckInterval

// The ACME challenges NewACME can answer.
const (
	ChallengeHTTP    = acme.ChallengeTypeHTTP01
	ChallengeTLSALPN = acme.ChallengeTypeTLSALPN01
)

// ACMEOptions configure an ACME.
type ACMEOptions struct {
	Domains []string // names on the certificate; required
	Email   string   // the account's contact; "" registers none
	CA      string   // ACME directory URL; default DefaultCA
	// CARoot is a PEM file of the roots that sign the CA's own HTTPS
	// certificate (a test CA such as Pebble); "" uses the system's.
	CARoot string
	// Challenges are ChallengeHTTP and/or ChallengeTLSALPN; empty means
	// both.
	Challenges []string
	// Storage holds accounts, certificates and locks; a RedisStorage
	// shares them between instances. Required.
	Storage certmagic.Storage
	// ListenHost, HTTPPort and TLSPort are where this instance answers
	// challenges: its http.redirect_listen and listen. Zero ports mean the
	// standard ones (80, 443); a port nothing listens on gets a listener
	// of certmagic's while a challenge is open.
	ListenHost        string
	HTTPPort, TLSPort int
	// RenewCheckInterval is how often certificates are checked for
	// renewal; 0 means DefaultRenewCheckInterval. A certificate is renewed
	// once a third of its lifetime is left (certmagic's default ratio), or
	// at the time the CA's renewal info (ARI) suggests.
	RenewCheckInterval time.Duration
	// DisableARI ignores the CA's renewal info and renews by the lifetime
	// ratio alone. For tests against Pebble, whose ARI picks a random time
	// that certmagic refreshes only every few hours; production keeps ARI.
	DisableARI bool
	Logger     *slog.Logger // default slog.Default()
}

// ACME obtains and renews certificates with certmagic. With a shared
// Storage, one instance orders (under the storage's lock) and the others
// load what it stored; any instance answers a challenge another one
// started (certmagic's distributed solving reads it from the storage). A
// failed order or renewal is retried with backoff while the old
// certificate is served. It is safe for concurrent use.
type ACME struct {
	opts   ACMEOptions
	cache  *certmagic.Cache
	cfg    *certmagic.Config
	issuer *certmagic.ACMEIssuer
}

// NewACME sets up certificate management; Start begins it.
func NewACME(opts ACMEOptions) (*ACME, error) {
	if len(opts.Domains) == 0 {
		return nil, errors.New("acme: no domains")
	}
	if opts.Storage == nil {
		return nil, errors.New("acme: no storage")
	}
	if opts.CA == "" {
		opts.CA = DefaultCA
	}
	if len(opts.Challenges) == 0 {
		opts.Challenges = []string{ChallengeHTTP, ChallengeTLSALPN}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	var roots *x509.CertPool
	if opts.CARoot != "" {
		pem, err := os.ReadFile(opts.CARoot)
		if err != nil {
			return nil, fmt.Errorf("acme CA root: %w", err)
		}
		roots = x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("acme CA root %s: no PEM certificate in it", opts.CARoot)
		}
	}
	zl := zapLogger(opts.Logger.With("component", "acme"))
	a := &ACME{opts: opts}
	a.cache = certmagic.NewCache(certmagic.CacheOptions{
		GetConfigForCert:   func(certmagic.Certificate) (*certmagic.Config, error) { return a.cfg, nil },
		RenewCheckInterval: opts.RenewCheckInterval, // 0: certmagic's default
		Logger:             zl,
	})
	a.cfg = certmagic.New(a.cache, certmagic.Config{Storage: opts.Storage, DisableARI: opts.DisableARI, Logger: zl})
	a.issuer = certmagic.NewACMEIssuer(a.cfg, certmagic.ACMEIssuer{
		CA:                      opts.CA,
		Email:                   opts.Email,
		Agreed:                  true,
		TrustedRoots:            roots,
		DisableHTTPChallenge:    !slices.Contains(opts.Challenges, ChallengeHTTP),
		DisableTLSALPNChallenge: !slices.Contains(opts.Challenges, ChallengeTLSALPN),
		ListenHost:              opts.ListenHost,
		AltHTTPPort:             opts.HTTPPort,
		AltTLSALPNPort:          opts.TLSPort,
		Logger:                  zl,
	})
	a.cfg.Issuers = []certmagic.Issuer{a.issuer}
	return a, nil
}

// Start loads the domains' certificates from the storage (Redis, or its
// local copy while Redis is down) and begins obtaining missing ones and
// renewing, in the background until Stop. Handshakes for a name without a
// certificate fail: nothing is ever served without TLS.
func (a *ACME) Start(ctx context.Context) error {
	if err := a.cfg.ManageAsync(ctx, a.opts.Domains); err != nil {
		return fmt.Errorf("acme: %w", err)
	}
	return nil
}

// Stop ends renewals.
func (a *ACME) Stop() { a.cache.Stop() }

// GetCertificate fits tls.Config.GetCertificate; it also answers the
// TLS-ALPN-01 challenge.
func (a *ACME) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	return a.cfg.GetCertificate(hello)
}

// NextProtos are the ALPN protocols the listener must offer beyond h2 and
// http/1.1: acme-tls/1 for the TLS-ALPN-01 challenge.
func (a *ACME) NextProtos() []string {
	if a.issuer.DisableTLSALPNChallenge {
		return nil
	}
	return []string{acmez.ACMETLS1Protocol}
}

// HTTPChallenge wraps next (the redirect listener's handler) so that it
// answers HTTP-01 challenges, this instance's and, from the storage, the
// other instances'.
func (a *ACME) HTTPChallenge(next http.Handler) http.Handler {
	return a.issuer.HTTPChallengeHandler(next)
}

// NotAfter is the earliest end of validity among the domains' served
// certificates; zero while any domain has none yet.
func (a *ACME) NotAfter() time.Time {
	var first time.Time
	for _, d := range a.opts.Domains {
		certs := a.cache.AllMatchingCertificates(d)
		if len(certs) == 0 || certs[0].Leaf == nil {
			return time.Time{}
		}
		var last time.Time // the newest certificate of the name is the one served
		for _, c := range certs {
			if c.Leaf != nil && c.Leaf.NotAfter.After(last) {
				last = c.Leaf.NotAfter
			}
		}
		if first.IsZero() || last.Before(first) {
			first = last
		}
	}
	return first
}
