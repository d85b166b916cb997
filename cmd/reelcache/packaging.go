package main

import (
	"log/slog"

	"github.com/labstack/echo/v4"

	"github.com/reelcache/reelcache/chunker"
	"github.com/reelcache/reelcache/config"
	"github.com/reelcache/reelcache/stream"
	"github.com/reelcache/reelcache/stream/mp4index"
	"github.com/reelcache/reelcache/stream/packager"
)

// registerPackager adds /hls/ and /dash/ to e, with the media route's
// middleware.
func registerPackager(e *echo.Echo, h *stream.Handler, cache *chunker.Cache, signer *stream.Signer, cfg *config.Config, log *slog.Logger) error {
	p, err := packager.New(packager.Options{
		Files:  cache,
		Loader: mp4index.NewLoader(cache, mp4index.LoaderOptions{}),
		Signer: signer,
		Target: cfg.Packaging.SegmentDuration,
		Logger: log,
	})
	if err != nil {
		return err
	}
	p.Register(e, h.MediaMiddleware())
	return nil
}
