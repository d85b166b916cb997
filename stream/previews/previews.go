package previews

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/reelcache/reelcache/chunker"
	"github.com/reelcache/reelcache/internal/defaults"
	"github.com/reelcache/reelcache/stream"
)

// Defaults of Options; the server's configuration (previews.*) takes its
// defaults from these.
const (
	DefaultWidth   = 160
	DefaultMaxJobs = 1
	DefaultWait    = 10 * time.Second
	DefaultTimeout = 10 * time.Minute
)

// Files is what a Handler needs from a chunker.Cache: files to read, and
// per-version metadata values with a lease to share the work.
type Files interface {
	Open(ctx context.Context, name string) (*chunker.File, error)
	Meta(ctx context.Context, version, kind string) ([]byte, error)
	SetMeta(ctx context.Context, version, kind string, val []byte) error
	MetaLease(ctx context.Context, version, kind string, ttl time.Duration) (ok bool, release func(), err error)
}

// Options configure a Handler. Zero values mean the defaults.
type Options struct {
	Files Files // required

	// Extensions are the media extensions served (as stream.Options);
	// previews are made only of files that have one. Default
	// stream.DefaultExtensions.
	Extensions []string

	Width    int           // tile width in pixels; default DefaultWidth
	Interval time.Duration // between tiles; 0 chooses from the duration (see Interval)
	MaxJobs  int           // ffmpeg jobs this instance runs at once; default DefaultMaxJobs
	Wait     time.Duration // how long a request waits for a job before 503; default DefaultWait
	Timeout  time.Duration // a job still running after this is killed; default DefaultTimeout

	// FFmpeg and FFprobe are the tools' paths or names looked up in
	// $PATH; default "ffmpeg" and "ffprobe".
	FFmpeg, FFprobe string

	// Signer, when set, signs the sprite URLs in a WebVTT file until the
	// WebVTT URL's own expiry (the routes' middleware checks them).
	Signer *stream.Signer

	// Middleware is put on the routes: (*stream.Handler).MediaMiddleware().
	Middleware []echo.MiddlewareFunc

	// Registerer, when set, gets the metrics (see metrics.go).
	Registerer prometheus.Registerer

	Logger *slog.Logger // default slog.Default()
}

// Handler serves seek previews and runs the jobs that make them. It is safe
// for concurrent use.
type Handler struct {
	opts    Options
	files   Files
	exts    map[string]bool // ".mp4" ...
	log     *slog.Logger
	ctx     context.Context // ends every job (the server's life)
	missing error           // why ffmpeg cannot run, or nil
	slots   chan struct{}   // one per running job (MaxJobs)
	metrics *metrics

	mu   sync.Mutex      // protects jobs and memo
	jobs map[string]*job // version -> the job this instance runs
	memo memo            // recent results, in front of Redis
}

// New returns a Handler whose jobs end with ctx. When ffmpeg or ffprobe
// cannot be found, it logs so once and the routes answer 501.
func New(ctx context.Context, opts Options) (*Handler, error) {
	if opts.Files == nil {
		return nil, errors.New("previews: Options.Files is required")
	}
	opts.Width = defaults.Positive(opts.Width, DefaultWidth)
	if opts.Width%2 == 1 {
		opts.Width++ // JPEG chroma subsampling wants even sizes
	}
	opts.MaxJobs = defaults.Positive(opts.MaxJobs, DefaultMaxJobs)
	opts.Wait = defaults.Positive(opts.Wait, DefaultWait)
	opts.Timeout = defaults.Positive(opts.Timeout, DefaultTimeout)
	opts.FFmpeg = cmp.Or(opts.FFmpeg, "ffmpeg")
	opts.FFprobe = cmp.Or(opts.FFprobe, "ffprobe")
	if len(opts.Extensions) == 0 {
		opts.Extensions = stream.DefaultExtensions
	}
	opts.Logger = cmp.Or(opts.Logger, slog.Default())
	h := &Handler{
		opts: opts, files: opts.Files, exts: make(map[string]bool), log: opts.Logger, ctx: ctx,
		slots: make(chan struct{}, opts.MaxJobs), jobs: make(map[string]*job),
		metrics: newMetrics(opts.Registerer),
	}
	for _, e := range opts.Extensions {
		h.exts["."+strings.ToLower(strings.TrimPrefix(e, "."))] = true
	}
	for _, tool := range []*string{&h.opts.FFmpeg, &h.opts.FFprobe} {
		p, err := exec.LookPath(*tool)
		if err != nil {
			h.missing = fmt.Errorf("%s not found: seek previews are off (/previews/ answers 501); install ffmpeg to have them", *tool)
			h.log.Warn(h.missing.Error())
			break
		}
		*tool = p
	}
	return h, nil
}

// Available reports whether ffmpeg and ffprobe were found.
func (h *Handler) Available() bool { return h.missing == nil }
