package previews

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/reelcache/reelcache/chunker"
)

// source serves one version of a file to ffmpeg at a private loopback URL,
// so that ffmpeg reads the video through the cache (local tier, Redis, then
// the origin, chunk-aligned) with Range requests it already knows how to
// make, and seeks (a moov at the end) cost a request, not a copy. The URL
// holds a random token: another local user guessing the port gets 404.
//
// Each request reads its own chunker.File, as each /media/ request does: a
// File serialises its calls, and ffmpeg leaves a connection unread while it
// reads another (the start, then the moov at the end), so one File shared
// by both would wait on the first connection forever.
type source struct {
	URL string
	srv *http.Server

	mu                 sync.Mutex // protects the fields below
	err                error      // the first read error that was not EOF
	read, redis, local int64      // bytes read, in all and from each cache tier (File.Served)
}

// sndBuf is each loopback connection's send buffer. ffmpeg asks for
// open-ended ranges (bytes=N-) and drops the connection when it seeks;
// what sits in socket buffers by then was read for nothing, so they are
// kept small (ffmpeg's receive buffer too: -recv_buffer_size).
const sndBuf = 64 << 10

// serveFile starts a source for the version of name that f is, opening a
// File for each request with open. Close it when the job ends.
func serveFile(f *chunker.File, open func(ctx context.Context) (*chunker.File, error)) (*source, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	tok := make([]byte, 16)
	rand.Read(tok)
	path := "/" + hex.EncodeToString(tok) + "/video"
	s := &source{URL: "http://" + ln.Addr().String() + path}
	version, size, mod := f.Version(), f.Size(), f.ModTime()
	s.srv = &http.Server{
		ReadHeaderTimeout: 10 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != path {
				http.NotFound(w, r)
				return
			}
			rf, err := open(r.Context())
			if err == nil && rf.Version() != version {
				rf.Close()
				err = errChanged
			}
			if err != nil {
				s.fail(r.Context(), err)
				http.Error(w, "unavailable", http.StatusServiceUnavailable)
				return
			}
			defer s.count(rf)
			w.Header().Set("Content-Type", "application/octet-stream")
			http.ServeContent(rangeWriter{w, rf, s, r.Context()}, r, "", mod, io.NewSectionReader(readerAt{rf, s, r.Context()}, 0, size))
		}),
	}
	go s.srv.Serve(smallBuffers{ln})
	return s, nil
}

// count adds what f read to the source's counters and closes f.
func (s *source) count(f *chunker.File) {
	total, redis, local := f.Served()
	f.Close()
	s.mu.Lock()
	s.read += total
	s.redis += redis
	s.local += local
	s.mu.Unlock()
}

// Served returns the bytes the source read, in all and from Redis and the
// local tier (the rest came from the origin).
func (s *source) Served() (total, redis, local int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.read, s.redis, s.local
}

// Err returns the first error reading the file (not EOF), if any: a job
// whose ffmpeg failed after one says nothing about the file itself.
func (s *source) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Close stops serving, waiting a little for requests in progress to end
// (and count what they read): after ffmpeg has exited they end at once.
func (s *source) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.srv.Shutdown(ctx); err != nil {
		return s.srv.Close()
	}
	return nil
}

// rangeWriter turns ServeContent's copy of a range (io.CopyN: an
// *io.LimitedReader over the *io.SectionReader it was given) into one
// File.WriteRange, which reads windows of chunks in one round trip and
// sends local bytes with sendfile, rather than a ReadAt per 32 KiB (a
// warm 240 MB film took 3.6x as long as ffmpeg reading the file itself
// that way, and the server's RSS grew by 230 MiB of windows read again).
type rangeWriter struct {
	http.ResponseWriter
	f   *chunker.File
	s   *source
	ctx context.Context // the request's: done when ffmpeg hangs up
}

func (w rangeWriter) ReadFrom(r io.Reader) (int64, error) {
	lr, ok := r.(*io.LimitedReader)
	if !ok {
		return io.Copy(struct{ io.Writer }{w.ResponseWriter}, r)
	}
	sr, ok := lr.R.(*io.SectionReader)
	if !ok {
		return io.Copy(struct{ io.Writer }{w.ResponseWriter}, r)
	}
	pos, _ := sr.Seek(0, io.SeekCurrent)
	_, base, _ := sr.Outer()
	n, err := w.f.WriteRange(w.ResponseWriter, base+pos, min(lr.N, sr.Size()-pos))
	lr.N -= n
	sr.Seek(n, io.SeekCurrent)
	w.s.fail(w.ctx, err)
	return n, err
}

// fail records err as the source's first read error, unless it is none:
// EOF, or a failure to write to ffmpeg, or any error once ffmpeg has hung
// up (ctx done), which it does whenever it seeks or has read enough.
func (s *source) fail(ctx context.Context, err error) {
	if err == nil || errors.Is(err, io.EOF) || errors.Is(err, chunker.ErrWrite) || ctx.Err() != nil {
		return
	}
	s.mu.Lock()
	if s.err == nil {
		s.err = err
	}
	s.mu.Unlock()
}

// readerAt records the source's first read error.
type readerAt struct {
	f   *chunker.File
	s   *source
	ctx context.Context
}

func (r readerAt) ReadAt(p []byte, off int64) (int, error) {
	n, err := r.f.ReadAt(p, off)
	r.s.fail(r.ctx, err)
	return n, err
}

// smallBuffers sets each accepted connection's send buffer to sndBuf.
type smallBuffers struct{ net.Listener }

func (l smallBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetWriteBuffer(sndBuf)
	}
	return c, err
}
