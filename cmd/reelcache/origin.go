package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/reelcache/reelcache/cachewarm"
	"github.com/reelcache/reelcache/chunker"
	"github.com/reelcache/reelcache/chunker/origin"
	"github.com/reelcache/reelcache/config"
)

// openOrigin returns the remote origin media.origin names, or nil for the
// media.root directory. It sends nothing before it returns: whether the
// origin answers is checked in the background and logged, so that an
// origin down at start does not stop serve (/readyz says degraded).
func openOrigin(ctx context.Context, cfg *config.Config, log *slog.Logger) (*origin.Remote, error) {
	o := cfg.Media.Origin
	opts := origin.Options{TTL: o.TTL, Timeout: o.Timeout, Logger: log}
	var (
		r   *origin.Remote
		err error
	)
	switch o.Kind() {
	case "dir":
		return nil, nil
	case "http":
		r, err = origin.NewHTTP(origin.HTTPOptions{Options: opts, URL: o.URL, Headers: o.HTTPHeaders, Manifest: o.HTTPManifest})
	case "s3":
		r, err = origin.NewS3(ctx, origin.S3Options{Options: opts, URL: o.URL, Endpoint: o.S3Endpoint, Region: o.S3Region, PathStyle: o.S3PathStyle})
	}
	if err != nil {
		return nil, usageError{fmt.Errorf("media.origin: %w", err)}
	}
	go func() {
		if err := r.Check(context.WithoutCancel(ctx)); err != nil {
			log.Warn("origin unreachable: serving only what is cached until it answers", "origin", r.String(), "err", err)
			return
		}
		log.Info("origin connected", "origin", r.String())
	}()
	return r, nil
}

// mediaSource names where the media lives, for the log and the banner.
func mediaSource(cfg *config.Config) string {
	if cfg.Media.Origin.URL == "" {
		return cfg.Media.Root
	}
	return origin.Redact(cfg.Media.Origin.URL)
}

// resolveRemote turns PATH|GLOB arguments into media names from a remote
// origin's listing; an origin that cannot list takes names only.
func resolveRemote(ctx context.Context, cfg *config.Config, cache *chunker.Cache, args []string) ([]string, error) {
	keep := mediaFilter(cfg.Media.Extensions)
	// An argument may be the object's whole URL.
	base := strings.TrimSuffix(cfg.Media.Origin.URL, "/") + "/"
	for i, a := range args {
		if rest, ok := strings.CutPrefix(a, base); ok && rest != "" {
			args[i] = rest
		}
	}
	entries, err := cache.List(ctx, keep)
	if errors.Is(err, errors.ErrUnsupported) {
		names, err := cachewarm.ResolvePlain(args, keep)
		if err != nil {
			return nil, usageError{fmt.Errorf("%w (set media.http.manifest to list %s)", err, mediaSource(cfg))}
		}
		return names, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", mediaSource(cfg), err)
	}
	names := make([]string, len(entries))
	for i, e := range entries {
		names[i] = e.Name
	}
	names, err = cachewarm.ResolveList(names, args, keep)
	if err != nil {
		return nil, usageError{err}
	}
	return names, nil
}
