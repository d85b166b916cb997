package certs

import (
	"context"
	"crypto/tls"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultPoll is how often File checks its files for a change.
const DefaultPoll = 5 * time.Second

// FileOptions configure a File.
type FileOptions struct {
	CertFile, KeyFile string
	// Poll is how often the files are checked for a change (size, mtime
	// or, through a symlink swap, inode). Default DefaultPoll.
	Poll   time.Duration
	Logger *slog.Logger // default slog.Default()
	// Now is the clock for expiry checks; default time.Now.
	Now func() time.Time
}

// File serves a certificate read from two PEM files and reloads it when
// they change or Reload is called (SIGHUP), without a restart: handshakes
// after a reload get the new certificate; connections already open, and
// the streams on them, keep theirs. A pair that fails to load (a renewal
// tool half way through writing it) is logged and the old one kept. File is
// safe for concurrent use.
type File struct {
	opts FileOptions
	cur  atomic.Pointer[tls.Certificate]

	mu    sync.Mutex // serializes reloads; protects stamp
	stamp [2]fileStamp
}

// fileStamp is what tells a changed file.
type fileStamp struct {
	size  int64
	mtime time.Time
	ino   uint64
}

// NewFile loads the pair; its error is LoadPair's.
func NewFile(opts FileOptions) (*File, error) {
	if opts.Poll <= 0 {
		opts.Poll = DefaultPoll
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	f := &File{opts: opts}
	if _, err := f.load(); err != nil {
		return nil, err
	}
	return f, nil
}

// GetCertificate fits tls.Config.GetCertificate.
func (f *File) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return f.cur.Load(), nil
}

// NotAfter is the end of the served certificate's validity.
func (f *File) NotAfter() time.Time { return f.cur.Load().Leaf.NotAfter }

// Reload reads the files again and serves them if they load; otherwise the
// old certificate stays and the error is returned.
func (f *File) Reload() error {
	changed, err := f.load()
	if err != nil {
		f.opts.Logger.Error("tls: certificate not reloaded; still serving the old one", "err", err)
		return err
	}
	if changed {
		f.opts.Logger.Info("tls: certificate reloaded", "cert_file", f.opts.CertFile, "not_after", f.NotAfter())
	}
	return nil
}

// load reads the pair, serves it and checks its expiry. changed is false
// when the served certificate was already these bytes.
func (f *File) load() (changed bool, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	st := f.stamps()
	c, err := LoadPair(f.opts.CertFile, f.opts.KeyFile)
	if err != nil {
		return false, err
	}
	old := f.cur.Load()
	changed = old == nil || !sameChain(old, c)
	f.cur.Store(c)
	f.stamp = st
	if changed {
		f.warnExpiry()
	}
	return changed, nil
}

// warnExpiry logs a certificate that is expired or expiring.
func (f *File) warnExpiry() {
	na := f.NotAfter()
	switch State(na, f.opts.Now()) {
	case StateExpired:
		f.opts.Logger.Error("tls: the certificate has expired: browsers will refuse it", "cert_file", f.opts.CertFile, "not_after", na)
	case StateExpiring:
		f.opts.Logger.Warn("tls: the certificate expires soon", "cert_file", f.opts.CertFile, "not_after", na)
	}
}

// Run reloads the pair when its files change or hup receives, until ctx
// ends. hup may be nil.
func (f *File) Run(ctx context.Context, hup <-chan os.Signal) {
	t := time.NewTicker(f.opts.Poll)
	defer t.Stop()
	day := time.NewTicker(24 * time.Hour)
	defer day.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			f.Reload()
		case <-day.C:
			f.mu.Lock()
			f.warnExpiry()
			f.mu.Unlock()
		case <-t.C:
			f.mu.Lock()
			changed := f.stamps() != f.stamp
			f.mu.Unlock()
			if changed {
				f.Reload()
			}
		}
	}
}

// stamps stats both files (through symlinks); a file that cannot be
// stat'ed has a zero stamp.
func (f *File) stamps() [2]fileStamp {
	var st [2]fileStamp
	for i, name := range []string{f.opts.CertFile, f.opts.KeyFile} {
		if fi, err := os.Stat(name); err == nil {
			st[i] = fileStamp{size: fi.Size(), mtime: fi.ModTime(), ino: inode(fi)}
		}
	}
	return st
}

// sameChain reports whether a and b hold the same DER certificates.
func sameChain(a, b *tls.Certificate) bool {
	if len(a.Certificate) != len(b.Certificate) {
		return false
	}
	for i := range a.Certificate {
		if string(a.Certificate[i]) != string(b.Certificate[i]) {
			return false
		}
	}
	return true
}
