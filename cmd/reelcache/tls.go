package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/caddyserver/certmagic"
	"github.com/redis/go-redis/v9"

	"github.com/reelcache/reelcache/certs"
	"github.com/reelcache/reelcache/config"
	"github.com/reelcache/reelcache/stream"
)

// certClock tells /readyz and /metrics when the served certificate
// expires; serve sets its source once the certificate source is open.
type certClock struct {
	stream.Health
	notAfter atomic.Pointer[func() time.Time]
}

// CertNotAfter fits stream.CertExpiry.
func (c *certClock) CertNotAfter() (time.Time, bool) {
	f := c.notAfter.Load()
	if f == nil {
		return time.Time{}, false
	}
	na := (*f)()
	return na, !na.IsZero()
}

// httpsSource is where the HTTPS listener gets its certificates: files or
// ACME.
type httpsSource struct {
	getCert  func(*tls.ClientHelloInfo) (*tls.Certificate, error)
	protos   []string                        // ALPN protocols beyond h2 and http/1.1
	notAfter func() time.Time                // expiry of the served certificate
	redirect func(http.Handler) http.Handler // wraps the redirect listener's handler
	run      func(ctx context.Context)       // reloads or renews until ctx ends
	stop     func()
}

// openHTTPS opens the certificate source of cfg. addr and redirectAddr are
// the listeners' addresses (redirectAddr nil without one): ACME answers its
// challenges on them.
func openHTTPS(ctx context.Context, cfg *config.Config, rdb redis.UniversalClient, addr, redirectAddr net.Addr, log *slog.Logger) (*httpsSource, error) {
	t := cfg.HTTP.TLS
	if t.CertFile != "" {
		f, err := certs.NewFile(certs.FileOptions{CertFile: t.CertFile, KeyFile: t.KeyFile, Logger: log})
		if err != nil {
			var pe *certs.PairError
			if errors.As(err, &pe) {
				return nil, usageError{fmt.Errorf("http.tls.%s_file %s: %w", pe.Which, pe.File, pe.Err)}
			}
			return nil, err
		}
		hup := make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		return &httpsSource{
			getCert: f.GetCertificate, notAfter: f.NotAfter,
			redirect: func(h http.Handler) http.Handler { return h },
			run:      func(ctx context.Context) { f.Run(ctx, hup) },
			stop:     func() { signal.Stop(hup) },
		}, nil
	}
	dir := t.ACME.Dir
	if dir == "" {
		dir = certs.DefaultDir()
	}
	var st certmagic.Storage = &certmagic.FileStorage{Path: dir}
	if rdb != nil {
		rs, err := certs.NewRedisStorage(certs.RedisStorageOptions{
			Client: rdb, Prefix: cfg.Redis.KeyPrefix, StorageKey: t.ACME.StorageKey, Dir: dir, Logger: log,
		})
		if err != nil {
			return nil, usageError{fmt.Errorf("http.tls.acme.storage_key: %w", err)}
		}
		st = rs
	}
	host, tlsPort := splitAddr(addr)
	var httpPort int
	if redirectAddr != nil {
		_, httpPort = splitAddr(redirectAddr)
	}
	a, err := certs.NewACME(certs.ACMEOptions{
		Domains: t.ACME.Domains, Email: t.ACME.Email, CA: t.ACME.CA, CARoot: t.ACME.CARoot,
		Challenges: t.ACME.Challenges, Storage: st,
		RenewCheckInterval: t.ACME.RenewCheck, DisableARI: !t.ACME.ARI,
		ListenHost: host, HTTPPort: httpPort, TLSPort: tlsPort, Logger: log,
	})
	if err != nil {
		return nil, usageError{err}
	}
	if err := a.Start(ctx); err != nil {
		a.Stop()
		return nil, err
	}
	log.Info("tls: ACME", "domains", t.ACME.Domains, "ca", t.ACME.CA, "storage", fmt.Sprint(st), "local_copy", dir)
	return &httpsSource{
		getCert: a.GetCertificate, protos: a.NextProtos(), notAfter: a.NotAfter,
		redirect: a.HTTPChallenge,
		run: func(ctx context.Context) {
			// ACME renews by itself; the expiry is checked daily for the log.
			for t := time.NewTicker(24 * time.Hour); ; {
				select {
				case <-ctx.Done():
					t.Stop()
					return
				case <-t.C:
					if na := a.NotAfter(); !na.IsZero() && certs.State(na, time.Now()) != certs.StateOK {
						log.Warn("tls: the ACME certificate is not being renewed", "not_after", na, "state", certs.State(na, time.Now()))
					}
				}
			}
		},
		stop: a.Stop,
	}, nil
}

// splitAddr is a TCP address's host and port.
func splitAddr(a net.Addr) (string, int) {
	host, port, _ := net.SplitHostPort(a.String())
	n, _ := strconv.Atoi(port)
	return host, n
}

// maxStreamsPerConn is the most concurrent HTTP/2 streams one connection
// may have: with windows of up to two 1 MiB chunks, 32 streams hold at
// most a quarter of the default cache.max_inflight_bytes.
const maxStreamsPerConn = 32

// httpsServing is what startHTTPS started.
type httpsServing struct {
	scheme string // "https", or "http" with TLS off
	stop   func()
}

// serve serves srv on ln: ServeTLS (certificates from
// TLSConfig.GetCertificate) when TLS is on.
func (h httpsServing) serve(srv *http.Server, ln net.Listener) error {
	if srv.TLSConfig != nil {
		return srv.ServeTLS(ln, "", "")
	}
	return srv.Serve(ln)
}

// startHTTPS turns srv into an HTTPS server on ln when cfg asks for TLS
// (srv.TLSConfig set), starts the certificate reloads or renewals, and the
// redirect listener, whose errors go to errc. clock gets the certificate's
// expiry. stop undoes it all. With TLS off it does nothing.
func startHTTPS(ctx context.Context, cfg *config.Config, rdb redis.UniversalClient, srv *http.Server, ln net.Listener, clock *certClock, errc chan<- error, log *slog.Logger) (httpsServing, error) {
	if !cfg.HTTP.TLS.On() {
		return httpsServing{scheme: "http", stop: func() {}}, nil
	}
	var (
		rln   net.Listener
		raddr net.Addr
		err   error
	)
	if cfg.HTTP.RedirectListen != "" {
		if rln, err = net.Listen("tcp", cfg.HTTP.RedirectListen); err != nil {
			return httpsServing{}, usageError{fmt.Errorf("http.redirect_listen: %w", err)}
		}
		raddr = rln.Addr()
	}
	src, err := openHTTPS(ctx, cfg, rdb, ln.Addr(), raddr, log)
	if err != nil {
		if rln != nil {
			rln.Close()
		}
		return httpsServing{}, err
	}
	clock.notAfter.Store(&src.notAfter)
	// A stalled HTTP/2 stream holds its chunk window (SECURITY.md, known
	// limits): fewer streams per connection than Go's default (100 or more), so
	// that one connection cannot hold the default budget. A player uses a
	// few at a time.
	srv.HTTP2 = &http.HTTP2Config{MaxConcurrentStreams: maxStreamsPerConn}
	srv.TLSConfig = &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: src.getCert,
		NextProtos:     append([]string{"h2", "http/1.1"}, src.protos...),
	}
	rctx, cancel := context.WithCancel(ctx)
	go src.run(rctx)
	var rsrv *http.Server
	if rln != nil {
		_, port, _ := net.SplitHostPort(ln.Addr().String())
		rsrv = &http.Server{Handler: src.redirect(certs.Redirect(port)), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 30 * time.Second}
		go func() {
			if err := rsrv.Serve(rln); !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("http.redirect_listen: %w", err)
			}
		}()
		log.Info("redirecting plain HTTP to HTTPS", "addr", rln.Addr().String())
	}
	return httpsServing{scheme: "https", stop: func() {
		cancel()
		if rsrv != nil {
			rsrv.Close()
		}
		src.stop()
	}}, nil
}
