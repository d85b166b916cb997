package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/labstack/echo/v4"

	"github.com/reelcache/reelcache/cachewarm"
	"github.com/reelcache/reelcache/chunker"
	"github.com/reelcache/reelcache/config"
	"github.com/reelcache/reelcache/stream"
	"github.com/reelcache/reelcache/stream/previews"
)

// previewOptions are the previews.Options of cfg over cache.
func previewOptions(cfg *config.Config, cache *chunker.Cache, log *slog.Logger) previews.Options {
	p := cfg.Previews
	return previews.Options{
		Files: cache, Extensions: cfg.Media.Extensions, Width: p.Width, Interval: p.Interval,
		MaxJobs: p.MaxJobs, Wait: p.Wait, Timeout: p.Timeout, Logger: log,
	}
}

// registerPreviews adds /previews/ to e, behind h's media middleware; its
// jobs end with ctx. Without ffmpeg, previews.New logs so once and the
// routes answer 501.
func registerPreviews(ctx context.Context, e *echo.Echo, cfg *config.Config, cache *chunker.Cache, h *stream.Handler, signer *stream.Signer, m *stream.Metrics, log *slog.Logger) {
	o := previewOptions(cfg, cache, log)
	o.Signer, o.Middleware, o.Registerer = signer, h.MediaMiddleware(), m.Registerer()
	p, err := previews.New(ctx, o)
	if err != nil {
		log.Error("seek previews off", "err", err)
		return
	}
	p.Register(e)
}

// warmPreviews makes the seek previews of names (warm --previews), one after
// the other, and prints a line per file. It returns how many failed.
func warmPreviews(ctx context.Context, cfg *config.Config, cache *chunker.Cache, names []string, w io.Writer, log *slog.Logger) (int, error) {
	p, err := previews.New(ctx, previewOptions(cfg, cache, log))
	if err != nil {
		return 0, err
	}
	failed := 0
	for _, name := range names {
		start := time.Now()
		r, err := p.Make(ctx, name)
		if ctx.Err() != nil {
			return failed, ctx.Err()
		}
		switch {
		case err != nil:
			failed++
			fmt.Fprintf(w, "previews: %s: %s\n", cachewarm.DisplayName(name), cachewarm.EscapeControl(err.Error()))
		case r.Err != "":
			failed++
			fmt.Fprintf(w, "previews: %s: none: %s\n", cachewarm.DisplayName(name), r.Err)
		default:
			fmt.Fprintf(w, "previews: %s: %d tiles every %gs, %s read (%s from the origin), in %s\n", cachewarm.DisplayName(name),
				r.Tiles, r.Interval, humanize.IBytes(uint64(r.ReadBytes)),
				humanize.IBytes(uint64(r.ReadBytes-r.RedisBytes-r.LocalBytes)), time.Since(start).Round(time.Millisecond))
		}
	}
	return failed, nil
}

// previewStatus fills in, for cache status, whether each file's current
// version has previews.
func previewStatus(ctx context.Context, cache *chunker.Cache, files []cachewarm.FileStatus) {
	for i := range files {
		r, err := previews.Stored(ctx, cache, files[i].Name)
		switch {
		case err != nil:
			files[i].Previews = "unknown"
		case r == nil:
			files[i].Previews = "no"
		case r.Err != "":
			files[i].Previews = "none: " + r.Err
		default:
			files[i].Previews = fmt.Sprintf("yes (%d tiles)", r.Tiles)
		}
	}
}
