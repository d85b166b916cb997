package previews

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/reelcache/reelcache/chunker"
)

// One job per file version: a request looks in this instance's memo, then
// Redis; when neither has the previews it starts a job (if this instance
// has a free slot and gets the version's lease) or waits for another
// instance's, polling Redis, up to its wait.

// errPending: the previews are being made; ask again later (503).
var errPending = errors.New("previews: being made")

const (
	pollEvery    = 250 * time.Millisecond // how often a waiting request asks Redis again
	leaseSlack   = 30 * time.Second       // a lease outlives its job's timeout by this much
	transientFor = 30 * time.Second       // how long a failure that was not the file's is remembered
	memoSize     = 8                      // results this instance keeps in memory
	storeTimeout = 10 * time.Second       // for writing a result to Redis
)

// job is one job this instance runs; done is closed when it ends.
type job struct {
	done chan struct{}
	err  error // errChanged, or nil (the result is in the memo)
}

// memo keeps the last memoSize results by version, oldest dropped first.
// Results of failures that were not the file's fault expire.
type memo struct {
	order []string
	m     map[string]memoEntry
}

type memoEntry struct {
	res   *Result
	until time.Time // zero: kept until dropped
}

func (m *memo) get(version string) *Result {
	e, ok := m.m[version]
	if !ok || (!e.until.IsZero() && time.Now().After(e.until)) {
		return nil
	}
	return e.res
}

func (m *memo) put(version string, res *Result, until time.Time) {
	if m.m == nil {
		m.m = make(map[string]memoEntry)
	}
	if _, ok := m.m[version]; !ok {
		m.order = append(m.order, version)
		if len(m.order) > memoSize {
			delete(m.m, m.order[0])
			m.order = m.order[1:]
		}
	}
	m.m[version] = memoEntry{res, until}
}

// lookup returns the stored result of version, or nil.
func (h *Handler) lookup(ctx context.Context, version string) *Result {
	h.mu.Lock()
	res := h.memo.get(version)
	h.mu.Unlock()
	if res != nil {
		return res
	}
	val, err := h.files.Meta(ctx, version, metaKind)
	if err != nil {
		if !errors.Is(err, chunker.ErrNoMeta) && !errors.Is(err, chunker.ErrUnavailable) {
			h.log.Debug("previews: reading the stored value", "version", version, "err", err)
		}
		return nil
	}
	if res, err = decodeResult(val); err != nil {
		h.log.Warn("previews: stored value unreadable; making them again", "version", version, "err", err)
		return nil
	}
	h.mu.Lock()
	h.memo.put(version, res, time.Time{})
	h.mu.Unlock()
	return res
}

// await returns the previews of version of name, starting or waiting for the
// job that makes them for up to wait. It fails with errPending when they
// are not ready by then, and with errChanged when the file is no longer
// that version.
func (h *Handler) await(ctx context.Context, name, version string, wait time.Duration) (*Result, error) {
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for {
		if res := h.lookup(ctx, version); res != nil {
			return res, nil
		}
		var done <-chan struct{}
		j := h.start(name, version)
		if j != nil {
			done = j.done
		}
		select {
		case <-done:
			if j.err != nil {
				return nil, j.err
			}
		case <-time.After(pollEvery):
		case <-deadline.C:
			return nil, errPending
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// start returns the job making version, starting it when this instance has
// a free slot and gets the lease; nil when another instance holds the lease
// or every slot is busy.
func (h *Handler) start(name, version string) *job {
	h.mu.Lock()
	if j := h.jobs[version]; j != nil {
		h.mu.Unlock()
		return j
	}
	select {
	case h.slots <- struct{}{}:
	default:
		h.mu.Unlock()
		return nil
	}
	j := &job{done: make(chan struct{})}
	h.jobs[version] = j
	h.mu.Unlock()
	end := func() {
		h.mu.Lock()
		delete(h.jobs, version)
		h.mu.Unlock()
		<-h.slots
		close(j.done)
	}
	ok, release, err := h.files.MetaLease(h.ctx, version, metaKind, h.opts.Timeout+leaseSlack)
	if err != nil {
		// Redis failing: make them here rather than not at all (this
		// instance still runs one job per version).
		h.log.Debug("previews: no lease (making them anyway)", "err", err)
		ok, release = true, func() {}
	}
	if !ok {
		end()
		return nil
	}
	go func() {
		defer end()
		defer release()
		// Another instance may have stored the value and let the lease go
		// between this request's look and its lease: look again.
		if h.lookup(h.ctx, version) != nil {
			return
		}
		j.err = h.finish(name, version)
	}()
	return j
}

// finish runs the job and keeps its result: stored in Redis and the memo,
// except failures that were not the file's (remembered here for a while).
func (h *Handler) finish(name, version string) error {
	ctx, cancel := context.WithTimeout(h.ctx, h.opts.Timeout)
	res, err := h.run(ctx, name, version)
	timedOut := errors.Is(ctx.Err(), context.DeadlineExceeded)
	cancel()
	var bad *badInput
	until := time.Time{}
	switch {
	case err == nil:
		h.metrics.job("ok", res)
		h.log.Info("previews made", "file", name, "tiles", res.Tiles, "interval_s", res.Interval, "keyframes", res.Keyframe,
			"took", res.Took.Round(time.Millisecond), "read_bytes", res.ReadBytes, "redis_bytes", res.RedisBytes, "local_bytes", res.LocalBytes)
	case errors.Is(err, errChanged):
		return err
	case timedOut:
		h.metrics.job("timeout", nil)
		h.log.Warn("previews: job killed at previews.timeout", "file", name, "timeout", h.opts.Timeout)
		res = &Result{Err: fmt.Sprintf("making previews of this file took longer than %s", h.opts.Timeout)}
	case errors.As(err, &bad):
		h.metrics.job("bad_input", nil)
		h.log.Info("previews: file unusable", "file", name, "reason", bad.msg, "err", err)
		res = &Result{Err: bad.msg}
	case h.ctx.Err() != nil:
		return h.ctx.Err() // shutting down
	default:
		h.metrics.job("error", nil)
		h.log.Warn("previews: job failed", "file", name, "err", err)
		res = &Result{Err: "previews could not be made just now; try again later", Transient: true}
		until = time.Now().Add(transientFor)
	}
	if until.IsZero() {
		if val, err := res.encode(); err == nil {
			sctx, cancel := context.WithTimeout(context.WithoutCancel(h.ctx), storeTimeout)
			if err := h.files.SetMeta(sctx, version, metaKind, val); err != nil && !errors.Is(err, chunker.ErrUnavailable) {
				h.log.Warn("previews: storing them in Redis (kept in this instance only)", "file", name, "err", err)
			}
			cancel()
		}
	}
	h.mu.Lock()
	h.memo.put(version, res, until)
	h.mu.Unlock()
	return nil
}

// Make returns the previews of the current version of name, making them
// now if no instance has (for `reelcache warm --previews`): it waits for
// the job, whoever runs it, up to the job's timeout.
func (h *Handler) Make(ctx context.Context, name string) (*Result, error) {
	if h.missing != nil {
		return nil, h.missing
	}
	f, err := h.files.Open(ctx, name)
	if err != nil {
		return nil, err
	}
	ver := f.Version()
	f.Close()
	return h.await(ctx, name, ver, h.opts.Timeout+leaseSlack)
}

// Stored returns the previews stored in Redis for the current version of
// name, or nil when there are none (for `reelcache cache status`).
func Stored(ctx context.Context, files Files, name string) (*Result, error) {
	f, err := files.Open(ctx, name)
	if err != nil {
		return nil, err
	}
	ver := f.Version()
	f.Close()
	val, err := files.Meta(ctx, ver, metaKind)
	if errors.Is(err, chunker.ErrNoMeta) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return decodeResult(val)
}
