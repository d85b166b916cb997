// Package origin holds the remote origins of reelcache's chunk cache: media
// behind any HTTP server that answers Range requests (NewHTTP), and media in
// an S3 bucket (NewS3). Both return a *Remote, which implements
// chunker.Origin; the local directory is chunker.Dir.
//
// A Remote trusts what the origin said of an object (size, ETag,
// Last-Modified, content type) for a TTL, so that a seek within it costs no
// round trip, and asks once for all concurrent callers. It reads one
// version of an object with conditional ranged GETs and checks every reply
// against that version: an object replaced at the origin is never mixed
// into bytes of the old one (the read fails with chunker.ErrChanged and the
// next Open sees the new version). Failures map to chunker's errors:
// missing objects wrap fs.ErrNotExist, refused credentials
// chunker.ErrOriginDenied, and an origin that fails or does not answer,
// after one retry within the timeout, chunker.ErrOriginUnavailable or
// chunker.ErrOriginTimeout. Errors and logs never carry credentials,
// presigned query strings or header values.
//
// This package, not chunker, imports net/http and the AWS SDK: chunker
// declares the Origin interface where it uses it and stays free of both.
package origin

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/reelcache/reelcache/chunker"
	"github.com/reelcache/reelcache/internal/defaults"
)

// Defaults of Options.
const (
	DefaultTTL     = 10 * time.Second
	DefaultTimeout = 10 * time.Second
)

// Options are what every remote origin takes. The zero value of each field
// means its default.
type Options struct {
	// TTL is how long what the origin said of an object (size, ETag,
	// Last-Modified, content type) is trusted before the next Open asks
	// again (media.origin_ttl). Default 10s.
	TTL time.Duration
	// Timeout bounds each request to the origin, its one retry included,
	// until the reply's header; a body that stalls this long is given up
	// too (media.origin_timeout). Default 10s.
	Timeout time.Duration
	// Logger receives the origin's failures, at most one line a second of
	// each kind. Default slog.Default().
	Logger *slog.Logger
}

func (o *Options) defaults() {
	o.TTL = defaults.Positive(o.TTL, DefaultTTL)
	o.Timeout = defaults.Positive(o.Timeout, DefaultTimeout)
	o.Logger = cmp.Or(o.Logger, slog.Default())
}

// backend is one protocol's requests: one attempt each, no retries, no
// caching. A reply with any HTTP status is a reply; err is for a request
// that got none (refused, reset, timed out).
type backend interface {
	head(ctx context.Context, name string) (reply, error)
	get(ctx context.Context, name string, off, n int64, c conditions) (reply, error)
	list(ctx context.Context, keep func(name string) bool) ([]listed, error)
	check(ctx context.Context) (reply, error)
}

// listed is one object of a listing: described by it (S3), or only named
// (an HTTP manifest), in which case Remote asks about it.
type listed struct {
	name      string
	val       validators
	described bool
}

// conditions make a ranged GET fail (412) rather than return bytes of
// another version.
type conditions struct {
	ifMatch           string    // a strong ETag
	ifUnmodifiedSince time.Time // when there is no strong ETag
}

// Remote is an Origin reached over the network. It is safe for concurrent
// use.
type Remote struct {
	b       backend
	desc    string // the origin for logs and errors, without secrets
	meta    *metaCache
	lists   listCache
	timeout time.Duration
	log     *slog.Logger

	logMu   sync.Mutex // protects logged
	logged  map[string]time.Time
	noValid sync.Once // warns once about an origin without validators
}

func newRemote(b backend, desc string, opts Options) *Remote {
	opts.defaults()
	return &Remote{
		b: b, desc: desc, meta: newMetaCache(opts.TTL), lists: listCache{ttl: opts.TTL}, timeout: opts.Timeout,
		log: opts.Logger, logged: make(map[string]time.Time),
	}
}

// String returns the origin's URL without credentials or query string.
func (r *Remote) String() string { return r.desc }

var _ chunker.Origin = (*Remote)(nil)

// Open returns the object as the origin last described it, asking it again
// once the TTL has passed. While the origin fails, an object already known
// stays served (stale-if-error) and the origin is asked again a TTL later.
func (r *Remote) Open(ctx context.Context, name string) (chunker.Object, error) {
	e, err := r.stat(ctx, name)
	if err != nil {
		return nil, err
	}
	return &object{r: r, info: e.info}, nil
}

func (r *Remote) stat(ctx context.Context, name string) (entry, error) {
	return r.meta.stat(ctx, name, r.head, transient, func(err error) bool { return errors.Is(err, fs.ErrNotExist) })
}

// head asks the origin about name, with one retry, detached from any
// viewer.
func (r *Remote) head(name string) (validators, error) {
	rep, err := r.attempts(context.Background(), "HEAD", name, func(ctx context.Context) (reply, error) {
		return r.b.head(ctx, name)
	})
	if err != nil {
		if transient(err) {
			if _, ok := r.meta.get(name); ok {
				r.logf("stale", "origin failing; serving what is cached of the version last seen", "object", name, "err", err)
			}
		}
		return validators{}, err
	}
	rep.close()
	if rep.status >= 300 && rep.status < 400 && strings.HasSuffix(rep.location, "/"+path.Base(name)+"/") {
		// A server's redirect from a directory's name to the name with a
		// slash (nginx does so): not an object a viewer may read.
		return validators{}, fmt.Errorf("origin %s: HEAD %s: a directory: %w", r.desc, name, chunker.ErrNotRegular)
	}
	if rep.status != http.StatusOK {
		return validators{}, r.statusError("HEAD", name, rep)
	}
	if rep.val.etag == "" && rep.val.lastMod.IsZero() {
		r.noValid.Do(func() {
			r.log.Warn("origin sends neither ETag nor Last-Modified: a change that keeps an object's size goes unnoticed",
				"origin", r.desc, "object", name)
		})
	}
	return rep.val, nil
}

// object is one version of one remote object.
type object struct {
	r    *Remote
	info chunker.Info
}

func (o *object) Info() chunker.Info { return o.info }
func (o *object) Close() error       { return nil }

// Changed reports ErrChanged when the origin, asked at most once a TTL,
// describes another version or no object. When the origin cannot be asked
// it says nothing changed: nothing says so.
func (o *object) Changed(ctx context.Context) error {
	e, err := o.r.stat(ctx, o.info.Name)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%s: removed at the origin: %w", o.info.Name, chunker.ErrChanged)
	case err != nil:
		return nil
	case e.info.Version != o.info.Version:
		return fmt.Errorf("%s: replaced at the origin: %w", o.info.Name, chunker.ErrChanged)
	}
	return nil
}

// Check reports whether the origin answers, with an error wrapping
// ErrOriginDenied, ErrOriginUnavailable or ErrOriginTimeout when it does
// not.
func (r *Remote) Check(ctx context.Context) error {
	rep, err := r.attempts(ctx, "CHECK", "", r.b.check)
	switch {
	case errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, chunker.ErrOriginTimeout):
		return fmt.Errorf("origin %s: no answer in time: %w", r.desc, chunker.ErrOriginTimeout)
	case err != nil && !transient(err) && !errors.Is(err, chunker.ErrOriginDenied):
		return fmt.Errorf("origin %s: %w (%w)", r.desc, err, chunker.ErrOriginUnavailable)
	case err != nil:
		return err
	}
	rep.close()
	if rep.status >= 300 {
		err := r.statusError("CHECK", "", rep)
		if !errors.Is(err, chunker.ErrOriginDenied) && !errors.Is(err, chunker.ErrOriginTimeout) {
			err = fmt.Errorf("%w (%w)", err, chunker.ErrOriginUnavailable)
		}
		return err
	}
	return nil
}

// hidden reports whether any element of name starts with a dot.
func hidden(name string) bool {
	for i := 0; i < len(name); i++ {
		if name[i] == '.' && (i == 0 || name[i-1] == '/') {
			return true
		}
	}
	return false
}

// logf logs msg at most once a second per kind, so that an outage does not
// write a line per request.
func (r *Remote) logf(kind, msg string, args ...any) {
	now := time.Now()
	r.logMu.Lock()
	last, ok := r.logged[kind]
	if ok && now.Sub(last) < time.Second {
		r.logMu.Unlock()
		return
	}
	r.logged[kind] = now
	r.logMu.Unlock()
	r.log.Warn(msg, append([]any{"origin", r.desc}, args...)...)
}
