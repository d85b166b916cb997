package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/spf13/cobra"

	"github.com/reelcache/reelcache/chunker"
	"github.com/reelcache/reelcache/config"
	"github.com/reelcache/reelcache/static"
	"github.com/reelcache/reelcache/stream"
	"github.com/reelcache/reelcache/stream/packager"
	"github.com/reelcache/reelcache/stream/previews"
)

func serveCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the media root over HTTP",
		Args:  cobra.NoArgs,
	}
	// Hidden: for tests that stop the real binary mid-stream without
	// waiting the full grace period. Not a config key.
	grace := cmd.Flags().Duration("shutdown-grace", defaultShutdownGrace, "how long in-flight streams may run after SIGINT/SIGTERM")
	cmd.Flags().MarkHidden("shutdown-grace")
	return withConfig(cmd, func(cmd *cobra.Command, cfg *config.Config, _ []string) error {
		return serve(cmd.Context(), cfg, *grace, cmd.OutOrStdout(), cmd.ErrOrStderr())
	})
}

// app is the wired server: the cache and the HTTP handler over it.
type app struct {
	*backend
	echo  *echo.Echo
	admin *echo.Echo // /metrics and health on admin.listen; nil when not set
	cert  certClock  // the HTTPS certificate's expiry, for /readyz and /metrics
}

// minBudgetChunks is the fewest chunks cache.max_inflight_bytes should hold.
// A miss is cached only when a whole chunk fits in what the requests'
// windows leave of the budget: with a budget of one chunk (issue 13 item 7's
// configuration, 16 MiB chunks and budget) nothing was ever cached.
const minBudgetChunks = 4

// newApp opens the cache and builds the HTTP handler.
func newApp(ctx context.Context, cfg *config.Config, log *slog.Logger) (*app, error) {
	fill, err := chunker.ParseFillMode(cfg.Cache.Fill)
	if err != nil {
		return nil, usageError{err}
	}
	a := &app{}
	metrics := stream.NewMetrics(
		func() chunker.Stats { return a.cache.Stats() },
		func() bool { s := a.cache.Store(); return s != nil && !s.Available() },
	)
	a.backend, err = openCache(ctx, cfg, log, fill, 0, cacheHooks{observe: metrics.ObserveRedis, rejected: metrics.RejectedChunk})
	if err != nil {
		return nil, err
	}
	if a.cache.Store() != nil && cfg.Cache.MaxInflightBytes < minBudgetChunks*cfg.ChunkSize {
		log.Warn("cache.max_inflight_bytes leaves little room to read whole chunks: misses are served but seldom cached; give it several chunks",
			"cache.max_inflight_bytes", cfg.Cache.MaxInflightBytes, "chunk.size", cfg.ChunkSize, "at_least", minBudgetChunks*cfg.ChunkSize)
	}
	var signer *stream.Signer
	if len(cfg.Auth.SigningKeys) > 0 {
		if signer, err = stream.NewSigner(cfg.Auth.SigningKeys); err != nil {
			return nil, usageError{err}
		}
	}
	var packaged []string
	if cfg.Packaging.Enabled {
		packaged = packager.DefaultExtensions
	}
	h, err := stream.New(stream.Options{
		Files:               a.cache,
		Extensions:          cfg.Media.Extensions,
		Static:              static.FS(),
		HLSPlayer:           cfg.Packaging.HLSPlayerURL,
		MaxRanges:           cfg.HTTP.MaxRanges,
		MaxStreamsPerClient: cfg.HTTP.MaxStreamsPerClient,
		CORSOrigins:         cfg.HTTP.CORSAllowedOrigins,
		CacheControl:        cfg.HTTP.CacheControl,
		LimitRate:           cfg.HTTP.LimitRate,
		LimitRateAfter:      cfg.HTTP.LimitRateAfter,
		Signer:              signer,
		URLTTL:              cfg.Auth.URLTTL,
		Views:               views(cfg, a.cache),
		Metrics:             metrics,
		Packaged:            packaged,
		Logger:              log,
		Previews:            previews.VTTPath,
	})
	if err != nil {
		return nil, err
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	// The peer's address, not X-Forwarded-For, which any client can set:
	// per-client limits must not be dodged by a header.
	e.IPExtractor = echo.ExtractIPDirect()
	e.Logger.SetOutput(io.Discard)
	e.Use(middleware.RequestID(), stream.AccessLog(log), metrics.Middleware(), stream.NoStoreErrors(), middleware.Recover())
	var health stream.Health = a.cache
	if cfg.HTTP.TLS.On() {
		a.cert.Health, health = a.cache, &a.cert
		metrics.CertExpiry(&a.cert)
		if cfg.HTTP.HSTS > 0 {
			e.Use(stream.HSTS(cfg.HTTP.HSTS))
		}
	}
	if cfg.Admin.Listen == "" {
		// With signing on, nothing anonymous may reveal cache state
		// (SECURITY.md), and /metrics does: it stays off the public
		// listener. /healthz and /readyz stay for load balancers; /readyz
		// says only whether Redis and the origin are up.
		public := metrics
		if signer != nil {
			log.Warn("auth.signing_key is set and admin.listen is empty: /metrics is not served; set admin.listen to scrape it")
			public = nil
		}
		stream.RegisterOps(e, health, public)
	} else {
		stream.RegisterOps(e, health, nil)
		a.admin = echo.New()
		a.admin.HideBanner, a.admin.HidePort = true, true
		a.admin.Logger.SetOutput(io.Discard)
		stream.RegisterOps(a.admin, health, metrics)
	}
	if cfg.Packaging.Enabled {
		if err := registerPackager(e, h, a.cache, signer, cfg, log); err != nil {
			return nil, err
		}
	}
	h.Register(e)
	registerPreviews(ctx, e, cfg, a.cache, h, signer, metrics, log)
	a.echo = e
	return a, nil
}

// serve runs the HTTP server until ctx ends, then gives in-flight requests
// grace to finish (see shutdown).
func serve(ctx context.Context, cfg *config.Config, grace time.Duration, stdout, stderr io.Writer) error {
	log := newLogger(cfg, stderr)
	if os.Getenv("GOMEMLIMIT") == "" {
		// Chunk data in the heap is bounded by cache.max_inflight_bytes
		// (the local tier's chunks are files, in the page cache); a soft
		// limit a little above it makes the GC return garbage chunks
		// before the heap doubles. GOMEMLIMIT in the environment
		// overrides it.
		debug.SetMemoryLimit(cfg.Cache.MaxInflightBytes + cfg.Cache.MaxInflightBytes/2 + 64<<20)
	}
	if os.Getenv("GOGC") == "" {
		// GOGC 100, raised while the live heap is small so that the
		// goal is at least a quarter of the in-flight budget. GOGC in
		// the environment overrides it.
		stop := startHeapFloor(cfg.Cache.MaxInflightBytes/heapFloorFraction, 100)
		defer stop()
	}
	a, err := newApp(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return usageError{fmt.Errorf("listen: %w", err)}
	}
	// A response's header goes in the segment of its file's first
	// bytes (MSG_MORE, as nginx's tcp_nopush corks): stream/tcpmore_linux.go.
	ln = stream.MoreListener(ln)
	var conns activeConns
	srv := &http.Server{
		Handler:   a.echo,
		ConnState: conns.track,
		// Slow-header clients are cut off; streams are not: no
		// ReadTimeout or WriteTimeout, which would end a long video.
		ReadHeaderTimeout: 10 * time.Second,
		// The media handler waits for a slow client's socket to have
		// room before it fetches the next chunk data (stream/writable.go).
		ConnContext:    stream.ConnContext,
		IdleTimeout:    120 * time.Second,
		MaxHeaderBytes: 64 << 10,
		ErrorLog:       slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	errc := make(chan error, 3)
	https, err := startHTTPS(ctx, cfg, a.rdb, srv, ln, &a.cert, errc, log)
	if err != nil {
		ln.Close()
		return err
	}
	defer https.stop()
	// The listener's URL first: an http(s) origin's URL follows it.
	fmt.Fprintf(stdout, "reelcache %s at %s://%s/ serving %s\n", buildVersion(), https.scheme, ln.Addr(), mediaSource(cfg))
	log.Info("serving", "addr", ln.Addr().String(), "scheme", https.scheme, "media", mediaSource(cfg), "chunk_size", cfg.ChunkSize, "config", cfg.File)
	go func() { errc <- https.serve(srv, ln) }()
	if a.admin != nil {
		aln, err := net.Listen("tcp", cfg.Admin.Listen)
		if err != nil {
			srv.Close()
			return usageError{fmt.Errorf("admin.listen: %w", err)}
		}
		asrv := &http.Server{Handler: a.admin, ReadHeaderTimeout: 10 * time.Second}
		defer asrv.Close()
		go func() { errc <- asrv.Serve(aln) }()
		log.Info("admin endpoints", "addr", aln.Addr().String())
	}
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	if err := shutdown(srv, &conns, grace, log); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}
