package config

import (
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/reelcache/reelcache/certs"
)

// TLS says how the listener serves HTTPS: from files, by ACME, or not at
// all (both empty).
type TLS struct {
	CertFile string // PEM chain; with KeyFile, serve HTTPS from files
	KeyFile  string // PEM private key of CertFile
	ACME     ACME   //
}

// On reports whether the listener serves HTTPS.
func (t TLS) On() bool { return t.CertFile != "" || t.ACME.On() }

// ACME says how certificates are obtained automatically.
type ACME struct {
	Domains    []string // names to get certificates for; empty: ACME off
	Email      string   // account contact; may be empty
	CA         string   // directory URL
	CARoot     string   // PEM roots of the CA's own HTTPS (test CAs); "": the system's
	Challenges []string // "http-01", "tls-alpn-01"
	StorageKey string   // seals what is stored in Redis and on disk (secret: never printed)
	Dir        string   // local copy of the stored values; "": certs.DefaultDir()
	// RenewCheck is how often certificates are checked for renewal.
	RenewCheck time.Duration
	ARI        bool // follow the CA's renewal info (off only for tests)
}

// On reports whether ACME is configured.
func (a ACME) On() bool { return len(a.Domains) > 0 }

// tlsKeys are the keys of HTTPS; reelcache.example.yaml documents each.
var tlsKeys = []key{
	{"http.tls.cert_file", "", "PEM certificate chain: serve HTTPS (HTTP/2 and HTTP/1.1) on listen; reloaded when the file changes and on SIGHUP"},
	{"http.tls.key_file", "", "PEM private key of http.tls.cert_file"},
	{"http.tls.acme.domains", "", "names to obtain certificates for by ACME (comma-separated): serve HTTPS on listen; empty: off"},
	{"http.tls.acme.email", "", "contact address of the ACME account"},
	{"http.tls.acme.ca", certs.DefaultCA, "ACME directory URL (default: Let's Encrypt)"},
	{"http.tls.acme.ca_root", "", "PEM file of roots for the ACME server's own HTTPS (a test CA); empty: the system's"},
	{"http.tls.acme.challenges", certs.ChallengeHTTP + "," + certs.ChallengeTLSALPN, "ACME challenges to answer: http-01 (on http.redirect_listen, else :80) and/or tls-alpn-01 (on listen)"},
	{"http.tls.acme.storage_key", "", "secret (16+ bytes, the same on every instance) that encrypts the ACME account and certificate keys in Redis and on disk; required with redis.url"},
	{"http.tls.acme.dir", "", "local copy of the certificates, used while Redis is down (default: $STATE_DIRECTORY, else ~/.local/share/reelcache/acme)"},
	{"http.tls.acme.renew_check_interval", certs.DefaultRenewCheckInterval.String(), "how often certificates are checked for renewal (renewed with a third of their lifetime left, or when the CA's ARI says)"},
	{"http.tls.acme.ari", "true", "follow the CA's ACME Renewal Info; false renews by lifetime alone (for tests with short-lived certificates)"},
	{"http.redirect_listen", "", "plain-HTTP listener that redirects to HTTPS and answers ACME http-01 (e.g. :80); empty: none"},
	{"http.hsts", "0", "Strict-Transport-Security max-age sent over HTTPS, e.g. 8760h (0: none)"},
}

// parseTLS validates a key of tlsKeys; ok is false for other keys.
func parseTLS(c *Config, name, raw string) (ok bool, err error) {
	t := &c.HTTP.TLS
	switch name {
	case "http.tls.cert_file":
		t.CertFile = raw
	case "http.tls.key_file":
		t.KeyFile = raw
	case "http.tls.acme.domains":
		domains, err := parseList(raw, func(d string) (string, error) {
			d = strings.ToLower(d)
			if strings.ContainsAny(d, "/: ") || net.ParseIP(d) != nil && !strings.Contains(d, ".") {
				return "", fmt.Errorf("%q: want a DNS name such as video.example.com", d)
			}
			return d, nil
		})
		if err != nil {
			return true, err
		}
		t.ACME.Domains = domains
	case "http.tls.acme.email":
		if raw != "" && !strings.Contains(raw, "@") {
			return true, errors.New("want an email address")
		}
		t.ACME.Email = raw
	case "http.tls.acme.ca":
		if !strings.HasPrefix(raw, "https://") {
			return true, errors.New("want the https:// URL of an ACME directory")
		}
		t.ACME.CA = raw
	case "http.tls.acme.ca_root", "http.tls.acme.dir":
		if name == "http.tls.acme.ca_root" {
			if raw != "" {
				if _, err := os.ReadFile(raw); err != nil {
					return true, fmt.Errorf("cannot read the file: %w", errors.Unwrap(err))
				}
			}
			t.ACME.CARoot = raw
		} else {
			t.ACME.Dir = raw
		}
	case "http.tls.acme.challenges":
		challenges, err := parseList(raw, func(ch string) (string, error) {
			if ch != certs.ChallengeHTTP && ch != certs.ChallengeTLSALPN {
				return "", fmt.Errorf("%q: want http-01 and/or tls-alpn-01", ch)
			}
			return ch, nil
		})
		if err != nil {
			return true, err
		}
		if len(challenges) == 0 {
			return true, errors.New("want http-01 and/or tls-alpn-01")
		}
		t.ACME.Challenges = challenges
	case "http.tls.acme.storage_key":
		if raw != "" && len(raw) < certs.MinStorageKey {
			return true, fmt.Errorf("want at least %d bytes (a random string; every instance needs the same)", certs.MinStorageKey)
		}
		t.ACME.StorageKey = raw
	case "http.tls.acme.renew_check_interval":
		return true, set(&t.ACME.RenewCheck, raw, time.ParseDuration, time.Second, forever, "want a duration of at least 1s such as 10m")
	case "http.tls.acme.ari":
		return true, setBool(&t.ACME.ARI, raw)
	case "http.redirect_listen":
		if raw != "" {
			if _, _, err := net.SplitHostPort(raw); err != nil {
				return true, errors.New("want host:port such as :80, or empty")
			}
		}
		c.HTTP.RedirectListen = raw
	case "http.hsts":
		return true, set(&c.HTTP.HSTS, raw, time.ParseDuration, 0, forever, "want a duration such as 8760h, or 0 for none")
	default:
		return false, nil
	}
	return true, nil
}

// checkTLS refuses HTTPS settings that do not fit together, and a
// certificate and key that cannot be served, naming the key and file.
func (l *loader) checkTLS(c *Config) []error {
	t := c.HTTP.TLS
	bad := func(name, value string, err error) error {
		i := slices.IndexFunc(tlsKeys, func(k key) bool { return k.name == name })
		return &Error{Key: name, Value: value, Source: l.source(tlsKeys[i]), Err: err}
	}
	var errs []error
	switch {
	case t.CertFile != "" && t.KeyFile == "":
		errs = append(errs, bad("http.tls.key_file", "", errors.New("required with http.tls.cert_file")))
	case t.CertFile == "" && t.KeyFile != "":
		errs = append(errs, bad("http.tls.cert_file", "", errors.New("required with http.tls.key_file")))
	case t.CertFile != "" && t.ACME.On():
		errs = append(errs, bad("http.tls.acme.domains", strings.Join(t.ACME.Domains, ","), errors.New("set either http.tls.cert_file or ACME, not both")))
	case t.CertFile != "":
		if _, err := certs.LoadPair(t.CertFile, t.KeyFile); err != nil {
			var pe *certs.PairError
			if errors.As(err, &pe) {
				errs = append(errs, bad("http.tls."+pe.Which+"_file", pe.File, pe.Err))
			} else {
				errs = append(errs, bad("http.tls.cert_file", t.CertFile, err))
			}
		}
	}
	if t.ACME.On() && t.ACME.StorageKey == "" && c.Redis.URL != "" {
		errs = append(errs, bad("http.tls.acme.storage_key", "", errors.New("required with ACME and redis.url: it encrypts the account and certificate keys in Redis and on disk (a random string of 16+ bytes, the same on every instance)")))
	}
	if !t.On() {
		if c.HTTP.RedirectListen != "" {
			errs = append(errs, bad("http.redirect_listen", c.HTTP.RedirectListen, errors.New("only with HTTPS (http.tls.cert_file or http.tls.acme.domains)")))
		}
		if c.HTTP.HSTS != 0 {
			errs = append(errs, bad("http.hsts", c.HTTP.HSTS.String(), errors.New("only with HTTPS (http.tls.cert_file or http.tls.acme.domains)")))
		}
	}
	return errs
}
