package origin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"strings"

	"github.com/reelcache/reelcache/chunker"
)

// ReadRange returns the n bytes at off of the given version of name with one
// ranged GET, conditional on that version (If-Match with a strong ETag,
// else If-Unmodified-Since), and checks the reply against it: a 412, or a
// 206 whose ETag, Last-Modified, Content-Range or total length is not the
// version's, means the object changed at the origin. Then the read fails
// with an error wrapping chunker.ErrChanged and what is known of name is
// dropped, so that the next Open sees the new version (self-healing, as
// Apache Traffic Server's slice plugin does since its PR 6691). A body that
// ends short fails with ErrChanged when the origin now describes another
// version, else with ErrOriginUnavailable. Bytes of another version are
// never returned.
func (r *Remote) ReadRange(ctx context.Context, name, version string, off, n int64) (io.ReadCloser, error) {
	e, err := r.versionOf(ctx, name, version)
	if err != nil {
		return nil, err
	}
	if off < 0 || n < 0 || off+n > e.val.size {
		return nil, fmt.Errorf("read %s: range %d+%d outside its %d bytes", name, off, n, e.val.size)
	}
	if n == 0 {
		return io.NopCloser(strings.NewReader("")), nil
	}
	var c conditions
	if e.val.strong() {
		c.ifMatch = e.val.etag
	} else {
		c.ifUnmodifiedSince = e.val.lastMod
	}
	rep, err := r.attempts(ctx, "GET", name, func(ctx context.Context) (reply, error) {
		return r.b.get(ctx, name, off, n, c)
	})
	if err != nil {
		return nil, err
	}
	if err := r.checkReply(name, e.val, off, n, rep); err != nil {
		rep.close()
		if errors.Is(err, chunker.ErrChanged) {
			r.meta.forget(name, version)
			r.logf("changed", "object changed at the origin; the next request gets the new version", "object", name, "why", err)
		}
		return nil, err
	}
	return &rangeBody{r: r, ctx: ctx, name: name, version: version, rep: rep, left: n}, nil
}

// versionOf returns what is known of version of name: the cached entry when
// it is of that version, else what the origin says now, which fails with
// ErrChanged when it is another.
func (r *Remote) versionOf(ctx context.Context, name, version string) (entry, error) {
	e, ok := r.meta.get(name)
	if !ok {
		var err error
		if e, err = r.stat(ctx, name); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return entry{}, fmt.Errorf("read %s: removed at the origin: %w", name, chunker.ErrChanged)
			}
			return entry{}, err
		}
	}
	if e.info.Version != version {
		return entry{}, fmt.Errorf("read %s: the origin has another version: %w", name, chunker.ErrChanged)
	}
	return e, nil
}

// checkReply checks a ranged GET's reply against the version asked for: nil
// when its body is the n bytes at off of that version.
func (r *Remote) checkReply(name string, want validators, off, n int64, rep reply) error {
	changed := func(why string, args ...any) error {
		return fmt.Errorf("read %s: %s: %w", name, fmt.Sprintf(why, args...), chunker.ErrChanged)
	}
	switch rep.status {
	case http.StatusPartialContent:
		if !rep.crOK {
			return fmt.Errorf("read %s: 206 without a valid Content-Range: %w", name, chunker.ErrOriginUnavailable)
		}
		if rep.crTotal != want.size {
			return changed("Content-Range total %d, was %d", rep.crTotal, want.size)
		}
		if rep.crStart != off || rep.crEnd != off+n-1 {
			return fmt.Errorf("read %s: asked bytes %d-%d, got %d-%d: %w", name, off, off+n-1, rep.crStart, rep.crEnd, chunker.ErrOriginUnavailable)
		}
		if rep.length >= 0 && rep.length != n {
			return fmt.Errorf("read %s: Content-Length %d for %d bytes: %w", name, rep.length, n, chunker.ErrOriginUnavailable)
		}
	case http.StatusOK:
		// Some servers answer a range that is the whole object with 200.
		if off != 0 || n != want.size || (rep.length >= 0 && rep.length != n) {
			return fmt.Errorf("read %s: the origin ignored the Range header (status 200): %w", name, chunker.ErrOriginUnavailable)
		}
	case http.StatusPreconditionFailed:
		return changed("status 412: no longer the version being served")
	case http.StatusRequestedRangeNotSatisfiable:
		return changed("status 416: shorter than the version being served")
	case http.StatusNotFound, http.StatusGone:
		return changed("status %d: removed", rep.status)
	default:
		return r.statusError("GET", name, rep)
	}
	if rep.encoding != "" {
		return fmt.Errorf("read %s: the origin sent Content-Encoding %q: %w", name, rep.encoding, chunker.ErrOriginUnavailable)
	}
	// The validators, when the reply has them, must be the version's (as
	// ATS's slice plugin compares each block's with the first's).
	if rep.val.etag != "" && want.etag != "" && rep.val.etag != want.etag {
		return changed("ETag %s, was %s", rep.val.etag, want.etag)
	}
	if !rep.val.lastMod.IsZero() && !want.lastMod.IsZero() && !rep.val.lastMod.Equal(want.lastMod) {
		return changed("Last-Modified %s, was %s", rep.val.lastMod.UTC().Format(http.TimeFormat), want.lastMod.UTC().Format(http.TimeFormat))
	}
	return nil
}

// rangeBody is the body of a checked ranged GET: exactly the bytes asked
// for, or an error. Each read must make progress within the timeout.
type rangeBody struct {
	r             *Remote
	ctx           context.Context // the caller's
	name, version string
	rep           reply
	left          int64
	err           error // sticky
}

func (b *rangeBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if b.left == 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	b.rep.w.arm(b.r.timeout)
	m, err := b.rep.body.Read(p)
	b.rep.w.pause()
	b.left -= int64(m)
	switch {
	case b.left == 0:
		return m, nil // the next Read says io.EOF
	case err == nil:
		return m, nil
	case b.ctx.Err() != nil:
		b.err = b.ctx.Err()
	case b.rep.w.timedOut():
		b.err = fmt.Errorf("origin %s: GET %s: body stalled for %s: %w", b.r.desc, b.name, b.r.timeout, chunker.ErrOriginTimeout)
		b.r.logFailure("GET", b.name, b.err)
	default:
		b.err = b.r.short(b.ctx, b.name, b.version, b.left, err)
	}
	return m, b.err
}

func (b *rangeBody) Close() error {
	b.rep.close()
	return nil
}

// short is the error of a body that ended left bytes early: ErrChanged when
// the origin now describes another version of name (or none), else
// ErrOriginUnavailable.
func (r *Remote) short(ctx context.Context, name, version string, left int64, cause error) error {
	r.meta.forget(name, version)
	e, err := r.stat(ctx, name)
	if errors.Is(err, fs.ErrNotExist) || (err == nil && e.info.Version != version) {
		r.logf("changed", "object changed at the origin while being read", "object", name)
		return fmt.Errorf("read %s: body ended %d bytes short, and the object changed: %w", name, left, chunker.ErrChanged)
	}
	cause = r.transportError("GET", name, cause, false)
	r.logFailure("GET", name, cause)
	return fmt.Errorf("read %s: body ended %d bytes short: %w", name, left, cause)
}
