package main

import (
	"context"

	"github.com/reelcache/reelcache/chunker"
	"github.com/reelcache/reelcache/config"
	"github.com/reelcache/reelcache/stream"
	"github.com/reelcache/reelcache/stream/faststart"
)

// views returns the fast-start views /media/ serves (media.faststart), or
// nil.
func views(cfg *config.Config, cache *chunker.Cache) stream.ViewFunc {
	if !cfg.Media.Faststart {
		return nil
	}
	fs := faststart.New(faststart.Options{Meta: cache})
	return func(ctx context.Context, f *chunker.File) (stream.View, error) {
		v, err := fs.View(ctx, f)
		if v == nil {
			return nil, err // not a typed nil
		}
		return v, err
	}
}
