package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/reelcache/reelcache/cachewarm"
	"github.com/reelcache/reelcache/chunker"
	"github.com/reelcache/reelcache/config"
)

// adminTimeout is the Redis read deadline of operator commands.
const adminTimeout = 2 * time.Second

// mediaFilter returns whether a name has one of the served extensions.
func mediaFilter(exts []string) func(string) bool {
	set := make(map[string]bool, len(exts))
	for _, e := range exts {
		set["."+strings.ToLower(strings.TrimPrefix(e, "."))] = true
	}
	return func(name string) bool { return set[strings.ToLower(path.Ext(name))] }
}

// adminCache opens the cache for warm, status and purge: Redis must answer.
func adminCache(ctx context.Context, cfg *config.Config, log *slog.Logger) (*chunker.Cache, func(), error) {
	if cfg.Redis.URL == "" {
		return nil, nil, usageError{errors.New("redis.url is empty: there is no cache to work on")}
	}
	b, err := openCache(ctx, cfg, log, chunker.FillOff, adminTimeout, cacheHooks{})
	if err != nil {
		return nil, nil, err
	}
	cache := b.cache
	closer := func() { b.Close() }
	if err := cache.Store().Ping(ctx); err != nil {
		closer()
		return nil, nil, fmt.Errorf("redis %s: %w", redisDesc(cfg.Redis), err)
	}
	return cache, closer, nil
}

// adminFiles is adminCache and resolveArgs in one, for the commands that
// work on the files args name; the caller calls closer when done, unless
// err is set.
func adminFiles(ctx context.Context, cfg *config.Config, log *slog.Logger, args []string) (*chunker.Cache, []string, func(), error) {
	cache, closer, err := adminCache(ctx, cfg, log)
	if err != nil {
		return nil, nil, nil, err
	}
	names, err := resolveArgs(ctx, cfg, cache, args)
	if err != nil {
		closer()
		return nil, nil, nil, err
	}
	return cache, names, closer, nil
}

// resolveArgs turns PATH|GLOB arguments into media names: under media.root,
// or from a remote origin's listing.
func resolveArgs(ctx context.Context, cfg *config.Config, cache *chunker.Cache, args []string) ([]string, error) {
	if cfg.Media.Origin.URL != "" {
		return resolveRemote(ctx, cfg, cache, args)
	}
	root, err := os.OpenRoot(cfg.Media.Root)
	if err != nil {
		return nil, fmt.Errorf("media root: %w", err)
	}
	defer root.Close()
	names, err := cachewarm.Resolve(root.FS(), cfg.Media.Root, args, mediaFilter(cfg.Media.Extensions))
	if err != nil {
		return nil, usageError{err}
	}
	return names, nil
}

// isTerminal reports whether w is a terminal, and its width.
func isTerminal(w io.Writer) (bool, int) {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return false, 0
	}
	width, _, err := term.GetSize(int(f.Fd()))
	if err != nil {
		width = 80
	}
	return true, width
}

func warmCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "warm [PATH|GLOB ...]",
		Short: "Fill Redis with the chunks of media files ahead of viewers",
		Long: `Warm reads media files and stores their chunks in Redis, under the keys the
server reads, so that viewers hit the cache from their first request.

PATH is relative to media.root, as in /media/ URLs, or absolute inside it; a
directory stands for the files under it; GLOB is a path.Match pattern. With
no arguments the whole media root is warmed.

Peak memory is about --concurrency x --depth x chunk.size: 4 workers x 4 MiB
= 16 MiB by default.

Exit status: 0 all warmed, 1 some chunks failed (each is named), 2 usage or
configuration error.`,
	}
	mode := cmd.Flags().String("mode", "full", "what to warm: full, head or edges (head and tail)")
	head := cmd.Flags().String("head", "8MiB", "bytes warmed at each end in head and edges modes")
	force := cmd.Flags().Bool("force", false, "rewrite chunks that are already cached")
	dry := cmd.Flags().Bool("dry-run", false, "print the plan and write nothing")
	conc := cmd.Flags().Int("concurrency", 4, "files read and written at once")
	depth := cmd.Flags().Int("depth", 0, "chunks per pipelined write (default: 4 MiB worth)")
	asJSON := cmd.Flags().Bool("json", false, "print the summary as JSON")
	withPreviews := cmd.Flags().Bool("previews", false, "also make each file's seek previews (needs ffmpeg)")
	metricsAddr := cmd.Flags().String("metrics-listen", "", "serve warm progress at http://ADDR/metrics while warming (Prometheus)")

	return withConfig(cmd, func(cmd *cobra.Command, cfg *config.Config, args []string) error {
		m, err := cachewarm.ParseMode(*mode)
		if err != nil {
			return usageError{fmt.Errorf("--mode: %w", err)}
		}
		headBytes, err := humanize.ParseBytes(*head)
		if err != nil || headBytes == 0 {
			return usageError{fmt.Errorf("--head %q: want a size such as 8MiB", *head)}
		}
		if *conc < 1 || *depth < 0 {
			return usageError{errors.New("--concurrency must be at least 1 and --depth not negative")}
		}
		stdout, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
		log := newLogger(cfg, stderr)
		ctx := cmd.Context()
		cache, names, closer, err := adminFiles(ctx, cfg, log, args)
		if err != nil {
			return err
		}
		defer closer()
		progress, stop := progressReporter(stderr, log)
		if *metricsAddr != "" {
			observe, stopMetrics, err := warmMetrics(*metricsAddr, log)
			if err != nil {
				return usageError{err}
			}
			defer stopMetrics()
			show := progress
			progress = func(p cachewarm.Progress) { observe(p); show(p) }
		}
		rep, err := cachewarm.Warm(ctx, names, cachewarm.Options{
			Cache: cache, Mode: m, Head: int64(headBytes), Force: *force, DryRun: *dry,
			Concurrency: *conc, Depth: *depth, Progress: progress, Logger: log,
		})
		stop()
		if err != nil {
			return err
		}
		if cfg.Packaging.Enabled && !*dry && !rep.Interrupted {
			if n := warmIndexes(ctx, cache, names, log); n > 0 {
				log.Info("warm: MP4 indexes stored for HLS/DASH", "files", n)
			}
		}
		if *asJSON {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			if err := enc.Encode(rep); err != nil {
				return err
			}
		} else {
			writeSummary(stdout, rep)
		}
		if *withPreviews && !*dry && !rep.Interrupted {
			if n, err := warmPreviews(ctx, cfg, cache, names, stdout, log); err != nil {
				return err
			} else if n > 0 {
				return fmt.Errorf("%d files have no previews", n)
			}
		}
		switch {
		case rep.Interrupted:
			return errors.New("interrupted")
		case len(rep.Failures) > 0:
			return fmt.Errorf("%d chunks failed to warm", max(rep.Failed, int64(len(rep.Failures))))
		}
		return nil
	})
}

// progressReporter returns a Progress callback: a bar with bytes/s and ETA
// on a terminal, a log line every few seconds otherwise. stop ends it.
func progressReporter(stderr io.Writer, log *slog.Logger) (func(cachewarm.Progress), func()) {
	if tty, _ := isTerminal(stderr); tty {
		var (
			once sync.Once
			mu   sync.Mutex
			bar  *progressbar.ProgressBar
		)
		report := func(p cachewarm.Progress) {
			once.Do(func() {
				bar = progressbar.NewOptions64(p.Bytes,
					progressbar.OptionSetWriter(stderr),
					progressbar.OptionShowBytes(true),
					progressbar.OptionSetDescription("warming"),
					progressbar.OptionShowCount(),
					progressbar.OptionSetPredictTime(true),
					progressbar.OptionThrottle(100*time.Millisecond),
					progressbar.OptionClearOnFinish(),
				)
			})
			mu.Lock()
			bar.Set64(p.BytesDone)
			mu.Unlock()
		}
		return report, func() {
			mu.Lock()
			defer mu.Unlock()
			if bar != nil {
				bar.Finish()
			}
		}
	}
	var (
		mu   sync.Mutex
		last cachewarm.Progress
	)
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(2 * time.Second)
		defer t.Stop()
		start := time.Now()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				mu.Lock()
				p := last
				mu.Unlock()
				if p.Chunks == 0 {
					continue
				}
				rate := float64(p.BytesDone) / time.Since(start).Seconds()
				log.Info("warming", "chunks", fmt.Sprintf("%d/%d", p.ChunksDone, p.Chunks),
					"bytes", humanize.IBytes(uint64(p.BytesDone)), "rate", humanize.IBytes(uint64(rate))+"/s")
			}
		}
	}()
	return func(p cachewarm.Progress) {
			mu.Lock()
			last = p
			mu.Unlock()
		}, func() {
			close(done)
			<-stopped
		}
}

func writeSummary(w io.Writer, r *cachewarm.Report) {
	verb := "warmed"
	if r.DryRun {
		verb = "plan (dry run, nothing written)"
	}
	if r.Interrupted {
		verb = "interrupted"
	}
	fmt.Fprintf(w, "%s: %d files, %d chunks selected, %d already cached\n", verb, r.Files, r.Chunks, r.Cached)
	if r.DryRun {
		fmt.Fprintf(w, "would write %d chunks, %s\n", r.Chunks-r.Skipped, humanize.IBytes(uint64(r.Bytes)))
	} else {
		fmt.Fprintf(w, "written %d, skipped %d, failed %d; %s in %s (%s/s)\n", r.Written, r.Skipped, r.Failed,
			humanize.IBytes(uint64(r.BytesDone)), r.Duration.Round(time.Millisecond), humanize.IBytes(uint64(r.Throughput)))
	}
	for _, f := range r.Failures {
		name, msg := cachewarm.DisplayName(f.File), cachewarm.EscapeControl(f.Err)
		if f.Chunk < 0 {
			fmt.Fprintf(w, "failed: %s: %s\n", name, msg)
		} else {
			fmt.Fprintf(w, "failed: %s chunk %d: %s\n", name, f.Chunk, msg)
		}
	}
}

// warmMetrics serves warm's progress as Prometheus gauges on addr while it
// runs, for a scrape or a dashboard during a long prewarm.
func warmMetrics(addr string, log *slog.Logger) (func(cachewarm.Progress), func(), error) {
	reg := prometheus.NewRegistry()
	gauge := func(name, help string) prometheus.Gauge {
		g := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help})
		reg.MustRegister(g)
		return g
	}
	chunks := gauge("reelcache_warm_chunks", "Chunks this warm is to write.")
	chunksDone := gauge("reelcache_warm_chunks_done", "Chunks written or failed so far.")
	bytes := gauge("reelcache_warm_bytes", "Bytes this warm is to write.")
	bytesDone := gauge("reelcache_warm_bytes_done", "Bytes written so far.")
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("--metrics-listen: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	log.Info("warm progress metrics", "url", "http://"+ln.Addr().String()+"/metrics")
	observe := func(p cachewarm.Progress) {
		chunks.Set(float64(p.Chunks))
		chunksDone.Set(float64(p.ChunksDone))
		bytes.Set(float64(p.Bytes))
		bytesDone.Set(float64(p.BytesDone))
	}
	return observe, func() { srv.Close() }, nil
}
