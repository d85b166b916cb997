package chunker

import (
	"context"
	"errors"
	"io"
	"time"
)

// Errors of remote origins, for callers to map to HTTP with errors.Is. A
// missing object wraps fs.ErrNotExist, whatever the origin.
var (
	// ErrOriginDenied: the origin refused reelcache's credentials (HTTP
	// 401 or 403 from it). An operator's problem, not the viewer's.
	ErrOriginDenied = errors.New("chunker: origin refused access")
	// ErrOriginUnavailable: the origin could not be reached or failed
	// (connection refused or reset, HTTP 5xx), after one retry.
	ErrOriginUnavailable = errors.New("chunker: origin unavailable")
	// ErrOriginTimeout: the origin did not answer within its timeout.
	ErrOriginTimeout = errors.New("chunker: origin timed out")
)

// Origin is where media lives: the source of truth the chunk cache sits in
// front of. It is declared here, where the cache uses it, and is as small as
// the cache needs: the current version of an object, a byte range of one
// version, and a listing. Everything else (metadata caching, retries,
// signing requests) stays inside an implementation.
//
// Implementations are safe for concurrent use.
type Origin interface {
	// Open returns the object name (a slash-separated path relative to the
	// origin, already checked by the caller) as it is now. Errors wrap
	// fs.ErrNotExist when there is no such object and ErrNotRegular when
	// it is not one a viewer may read (a directory, a device).
	Open(ctx context.Context, name string) (Object, error)

	// ReadRange returns the n bytes at off of the given version of name.
	// It never yields bytes of another version: when the object is not,
	// or stops being, that version, a Read fails with an error wrapping
	// ErrChanged (at the latest in place of the final io.EOF). The caller
	// reads until io.EOF and closes the reader.
	ReadRange(ctx context.Context, name, version string, off, n int64) (io.ReadCloser, error)

	// List returns the objects whose names keep accepts, in lexical order.
	// Hidden names (an element starting with ".") are never listed.
	List(ctx context.Context, keep func(name string) bool) ([]Info, error)

	// Check reports whether the origin can be read now (readiness).
	Check(ctx context.Context) error
}

// Info describes one version of one object.
type Info struct {
	Name    string    // slash-separated path relative to the origin
	Size    int64     // bytes
	ModTime time.Time // Last-Modified
	// Version names these bytes: it changes whenever they may have
	// changed. Cache keys carry it.
	Version string
	// ChangedAt is when the bytes last changed as far as the origin can
	// tell (a local file: the later of its mtime and ctime; a remote
	// object: Last-Modified), zero when unknown. Bytes read too soon
	// after it may be those of an in-place rewrite still in progress, so
	// the cache serves them but does not keep them.
	ChangedAt time.Time
	// ContentType is the origin's media type for the object, "" when it
	// has none to say.
	ContentType string
}

// Object is one version of one object, open for one request. Its Info does
// not change; Changed reports whether the origin has moved on.
type Object interface {
	// Info describes the version that was opened.
	Info() Info
	// Changed returns an error wrapping ErrChanged when the object at its
	// name is no longer the version opened: rewritten, replaced or
	// removed.
	Changed(ctx context.Context) error
	// Close releases what Open acquired.
	Close() error
}
