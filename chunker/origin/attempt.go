package origin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"sync"
	"time"

	"github.com/reelcache/reelcache/chunker"
)

// reply is an origin's answer to one request, whatever the protocol.
type reply struct {
	status int
	code   string // the S3 error code, e.g. AccessDenied; "" for plain HTTP
	val    validators
	// Of a GET: the Content-Range (start, end, total; ok when present and
	// well formed), the Content-Length (-1 when unknown), a Content-Encoding
	// other than identity, the Location of a redirect, and the body.
	crStart, crEnd, crTotal int64
	crOK                    bool
	length                  int64
	encoding                string
	location                string
	body                    io.ReadCloser
	// w is the watchdog of the attempt that got the reply: its context
	// lives as long as the body is read.
	w *watchdog
}

// close releases the reply's body and its attempt.
func (rep *reply) close() {
	if rep.body != nil {
		rep.body.Close()
	}
	if rep.w != nil {
		rep.w.stop()
	}
}

// watchdog cancels an attempt's context when the origin stays silent past
// its time: before the reply's header, or between two reads of its body.
type watchdog struct {
	ctx    context.Context
	cancel context.CancelFunc
	t      *time.Timer
	mu     sync.Mutex
	fired  bool
}

func newWatchdog(parent context.Context, d time.Duration) *watchdog {
	w := &watchdog{}
	w.ctx, w.cancel = context.WithCancel(parent)
	w.t = time.AfterFunc(d, func() {
		w.mu.Lock()
		w.fired = true
		w.mu.Unlock()
		w.cancel()
	})
	return w
}

// arm gives the origin d more before the attempt is cancelled; pause stops
// the clock while reelcache, not the origin, is the slow one.
func (w *watchdog) arm(d time.Duration) { w.t.Reset(d) }
func (w *watchdog) pause()              { w.t.Stop() }

func (w *watchdog) timedOut() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.fired
}

func (w *watchdog) stop() {
	w.t.Stop()
	w.cancel()
}

// attempts runs one request, and once more after a transient failure (no
// reply, 5xx or 429), all within the timeout: the first try gets half of
// it, so that a hung origin leaves time for the retry. It returns the reply
// with its watchdog paused (the caller arms it while reading a body, and
// closes the reply) or an error wrapping chunker's origin errors. The
// caller's ctx ending ends the attempts with ctx's error.
func (r *Remote) attempts(ctx context.Context, op, name string, do func(ctx context.Context) (reply, error)) (reply, error) {
	deadline := time.Now().Add(r.timeout)
	var last error
	for try := range 2 {
		budget := time.Until(deadline)
		if try == 0 {
			budget /= 2
		}
		if budget <= 0 {
			break
		}
		w := newWatchdog(ctx, budget)
		rep, err := do(w.ctx)
		if err != nil {
			w.stop()
			if ctx.Err() != nil {
				return reply{}, ctx.Err()
			}
			last = r.transportError(op, name, err, w.timedOut())
			if errors.Is(last, chunker.ErrOriginDenied) {
				break // no credentials: a retry would not find any
			}
			continue
		}
		w.pause()
		rep.w = w
		if rep.status == 0 { // no reply after all
			rep.close()
			last = fmt.Errorf("origin %s: %s %s: no status: %w", r.desc, op, name, chunker.ErrOriginUnavailable)
			continue
		}
		if rep.status >= 500 || rep.status == 429 {
			rep.close()
			last = r.statusError(op, name, rep)
			continue
		}
		return rep, nil
	}
	if last == nil {
		last = fmt.Errorf("origin %s: %s %s: no time left: %w", r.desc, op, name, chunker.ErrOriginTimeout)
	}
	r.logFailure(op, name, last)
	return reply{}, last
}

// transportError is the error of a request that got no reply. Its text is
// the innermost error's: a *url.Error would carry the request's URL, query
// string (a presigned signature, a token) included.
func (r *Remote) transportError(op, name string, err error, timedOut bool) error {
	var ue *url.Error
	for errors.As(err, &ue) {
		err = ue.Err
	}
	switch {
	case errors.Is(err, errNoCredentials):
		return fmt.Errorf("origin %s: %s %s: %v: %w", r.desc, op, name, err, chunker.ErrOriginDenied)
	case timedOut || errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("origin %s: %s %s: no answer within %s: %w", r.desc, op, name, r.timeout, chunker.ErrOriginTimeout)
	}
	return fmt.Errorf("origin %s: %s %s: %v: %w", r.desc, op, name, err, chunker.ErrOriginUnavailable)
}

// statusError is the error of a reply whose status is not what op needed.
func (r *Remote) statusError(op, name string, rep reply) error {
	what := fmt.Sprintf("origin %s: %s %s: status %d", r.desc, op, name, rep.status)
	if rep.code != "" {
		what += " " + rep.code
	}
	var err error
	switch {
	case rep.status == 404 || rep.status == 410:
		err = fmt.Errorf("%s: %w", what, fs.ErrNotExist)
	case rep.status == 401 || rep.status == 403:
		err = fmt.Errorf("%s: %w", what, chunker.ErrOriginDenied)
	case rep.status == 504:
		err = fmt.Errorf("%s: %w", what, chunker.ErrOriginTimeout)
	case rep.status >= 300 && rep.status < 400:
		err = fmt.Errorf("%s (a redirect: point media.origin at the final location): %w", what, chunker.ErrOriginUnavailable)
	default:
		err = fmt.Errorf("%s: %w", what, chunker.ErrOriginUnavailable)
	}
	if errors.Is(err, chunker.ErrOriginDenied) {
		r.logFailure(op, name, err)
	}
	return err
}

// classify turns a listing's error into one of chunker's.
func (r *Remote) classify(op, name string, err error) error {
	var se *statusErr
	if errors.As(err, &se) {
		return r.statusError(op, name, se.rep)
	}
	for _, known := range []error{chunker.ErrOriginDenied, chunker.ErrOriginUnavailable, chunker.ErrOriginTimeout, fs.ErrNotExist, errors.ErrUnsupported, context.Canceled} {
		if errors.Is(err, known) {
			return err
		}
	}
	return r.transportError(op, name, err, false)
}

// statusErr carries a reply's status out of a backend's listing.
type statusErr struct{ rep reply }

func (e *statusErr) Error() string { return fmt.Sprintf("status %d %s", e.rep.status, e.rep.code) }

// errNoCredentials marks a request that was never sent because no
// credentials were found.
var errNoCredentials = errors.New("no credentials found")

// logFailure logs an origin failure that viewers will see.
func (r *Remote) logFailure(op, name string, err error) {
	kind := "unavailable"
	msg := "origin unavailable"
	switch {
	case errors.Is(err, chunker.ErrOriginDenied):
		kind, msg = "denied", "origin refused access: check the credentials (media.http.headers, the AWS credentials)"
	case errors.Is(err, chunker.ErrOriginTimeout):
		kind, msg = "timeout", "origin timed out"
	}
	r.logf(kind, msg, "op", op, "object", name, "err", err)
}

// transient reports whether err may pass by itself: the origin failed or
// did not answer, as opposed to saying no.
func transient(err error) bool {
	return errors.Is(err, chunker.ErrOriginUnavailable) || errors.Is(err, chunker.ErrOriginTimeout)
}
