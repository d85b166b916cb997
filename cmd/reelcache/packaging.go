package main

import (
	"context"
	"log/slog"
	"path"
	"slices"
	"strings"

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
		Count:  h.Count,

		AudioGroup: cfg.Packaging.HLSAudio == "group",
	})
	if err != nil {
		return err
	}
	p.Register(e, h.MediaMiddleware())
	return nil
}

// warmIndexes builds and stores the MP4 index of each packaged file among
// names that has none yet, so that the first /hls/ or /dash/ request of a
// warmed title reads no moov. A file that cannot be packaged (not an MP4,
// an unknown codec) is not an error here: /media/ still serves it.
func warmIndexes(ctx context.Context, cache *chunker.Cache, names []string, log *slog.Logger) int {
	loader := mp4index.NewLoader(cache, mp4index.LoaderOptions{})
	n := 0
	for _, name := range names {
		if !slices.Contains(packager.DefaultExtensions, strings.ToLower(path.Ext(name))) {
			continue
		}
		if ctx.Err() != nil {
			break
		}
		f, err := cache.Open(ctx, name)
		if err != nil {
			continue
		}
		if _, err := loader.Load(ctx, f); err != nil {
			log.Info("warm: not indexed for HLS/DASH", "path", name, "err", err)
		} else {
			n++
		}
		f.Close()
	}
	return n
}
