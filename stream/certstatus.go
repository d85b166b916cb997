package stream

import (
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"
)

// CertExpiry is a Health that serves HTTPS: /readyz shows its certificate's
// expiry. ok is false while there is no certificate yet (ACME ordering).
type CertExpiry interface {
	CertNotAfter() (notAfter time.Time, ok bool)
}

// certWarnBefore mirrors certs.DefaultWarnBefore (stream does not import
// certs, which is a Redis client): a certificate this close to its end is
// "expiring" in /readyz.
const certWarnBefore = 14 * 24 * time.Hour

// certDetail is the "tls" and "tls_not_after" fields of /readyz, and
// whether the server is degraded by its certificate (missing or expired).
func certDetail(ce CertExpiry, now time.Time) (state, notAfter string, degraded bool) {
	na, ok := ce.CertNotAfter()
	switch {
	case !ok:
		return "none", "", true
	case !now.Before(na):
		return "expired", na.UTC().Format(time.RFC3339), true
	case na.Sub(now) < certWarnBefore:
		return "expiring", na.UTC().Format(time.RFC3339), false
	}
	return "ok", na.UTC().Format(time.RFC3339), false
}

// CertExpiry adds the reelcache_tls_cert_expiry_timestamp_seconds gauge:
// the Unix time the served certificate expires (0 while there is none).
func (m *Metrics) CertExpiry(ce CertExpiry) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "reelcache_tls_cert_expiry_timestamp_seconds",
		Help: "When the served TLS certificate expires (Unix time; 0: none yet). Alert when it nears time().",
	}, func() float64 {
		na, ok := ce.CertNotAfter()
		if !ok {
			return 0
		}
		return float64(na.Unix())
	}))
}

// HSTS returns middleware that sends Strict-Transport-Security with
// max-age on HTTPS responses (Echo's Secure middleware, its other headers
// off). Sub-domains are left out: the header binds only this host.
func HSTS(maxAge time.Duration) echo.MiddlewareFunc {
	return middleware.SecureWithConfig(middleware.SecureConfig{
		HSTSMaxAge:            int(maxAge.Seconds()),
		HSTSExcludeSubdomains: true,
	})
}
