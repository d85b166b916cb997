package stream

import (
	"errors"
	"io"
	"sync"

	"github.com/reelcache/reelcache/chunker"
)

// errFinished is what a guardedReader returns once the response it served
// is over.
var errFinished = errors.New("stream: response finished")

// guardedReader is the io.ReaderAt handed to http.ServeContent. It
// remembers the first read error, because ServeContent discards copy
// errors, and it lets the handler end all use of the chunker.File before
// closing it.
//
// Both matter because of ServeContent's multipart/byteranges answer: the
// parts are read by a goroutine that writes into an io.Pipe, and when the
// client goes away ServeContent returns while that goroutine may still be
// inside ReadAt (issue 13 item 8: the handler read the error field while
// the goroutine wrote it, a data race; and the File could be closed under
// a read). finish waits for reads in progress and refuses later ones, so
// that what it returns is final and the File is no longer used.
//
// It is safe for concurrent use.
type guardedReader struct {
	r io.ReaderAt

	mu       sync.Mutex // protects err, done and refusing, and orders active.Add against active.Wait
	err      error      // the first read error other than io.EOF
	done     bool       // finish was called: no more reads
	refusing bool       // the response became an error: reads fail with err
	active   sync.WaitGroup
}

// enter admits a read, unless the response is finished or refused (then
// it returns the error to fail with). The caller must call g.active.Done()
// after an admitted read.
func (g *guardedReader) enter() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case g.refusing:
		return g.err
	case g.done:
		return errFinished
	}
	g.active.Add(1)
	return nil
}

// refuse makes every later read fail with err, without touching the File:
// the response became an error before its body (see serveChunks).
func (g *guardedReader) refuse(err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.err, g.refusing = err, true
}

// refused reports whether refuse was called.
func (g *guardedReader) refused() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.refusing
}

// fail remembers err, when it is the first that matters.
func (g *guardedReader) fail(err error) {
	if err == nil || err == io.EOF || errors.Is(err, chunker.ErrWrite) {
		return
	}
	g.mu.Lock()
	if g.err == nil {
		g.err = err
	}
	g.mu.Unlock()
}

// finish refuses further reads, waits for those in progress and returns
// the first read error.
func (g *guardedReader) finish() error {
	g.mu.Lock()
	g.done = true
	g.mu.Unlock()
	g.active.Wait()
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.err
}

func (g *guardedReader) ReadAt(p []byte, off int64) (int, error) {
	if err := g.enter(); err != nil {
		return 0, err
	}
	defer g.active.Done()
	n, err := g.r.ReadAt(p, off)
	g.fail(err)
	return n, err
}

// WriteRange writes straight from the chunks (see responseWriter.ReadFrom),
// remembering read errors as ReadAt does; w's errors (the client left) wrap
// chunker.ErrWrite and are not remembered.
func (g *guardedReader) WriteRange(w io.Writer, off, n int64) (int64, error) {
	if err := g.enter(); err != nil {
		return 0, err
	}
	defer g.active.Done()
	rw, ok := g.r.(rangeWriter)
	if !ok {
		return io.Copy(w, io.NewSectionReader(g.r, off, n))
	}
	written, err := rw.WriteRange(w, off, n)
	g.fail(err)
	return written, err
}
