package previews

import (
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

// source serves one chunker.File to ffmpeg at a private loopback URL, so
// that ffmpeg reads the video through the cache (local tier, Redis, then the
// origin, chunk-aligned) with Range requests it already knows how to make,
// and seeks (a moov at the end) cost a request, not a copy. The URL holds a
// random token: another local user guessing the port gets 404.
type source struct {
	URL string
	srv *http.Server

	mu  sync.Mutex // protects err
	err error      // the first read error that was not EOF
}

// sndBuf is each loopback connection's send buffer. ffmpeg asks for
// open-ended ranges (bytes=N-) and drops the connection when it seeks;
// what sits in socket buffers by then was read for nothing, so they are
// kept small (ffmpeg's receive buffer too: -recv_buffer_size).
const sndBuf = 64 << 10

// serveFile starts a source for f. Close it when the job ends.
func serveFile(f *chunker.File) (*source, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	tok := make([]byte, 16)
	rand.Read(tok)
	path := "/" + hex.EncodeToString(tok) + "/video"
	s := &source{URL: "http://" + ln.Addr().String() + path}
	body := io.NewSectionReader(readerAt{f, s}, 0, f.Size())
	s.srv = &http.Server{
		ReadHeaderTimeout: 10 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != path {
				http.NotFound(w, r)
				return
			}
			w.Header().Set("Content-Type", "application/octet-stream")
			http.ServeContent(w, r, "", f.ModTime(), io.NewSectionReader(body, 0, f.Size()))
		}),
	}
	go s.srv.Serve(smallBuffers{ln})
	return s, nil
}

// Err returns the first error reading the file (not EOF), if any: a job
// whose ffmpeg failed after one says nothing about the file itself.
func (s *source) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Close stops serving.
func (s *source) Close() error { return s.srv.Close() }

// readerAt records the source's first read error.
type readerAt struct {
	f *chunker.File
	s *source
}

func (r readerAt) ReadAt(p []byte, off int64) (int, error) {
	n, err := r.f.ReadAt(p, off)
	if err != nil && !errors.Is(err, io.EOF) {
		r.s.mu.Lock()
		if r.s.err == nil {
			r.s.err = err
		}
		r.s.mu.Unlock()
	}
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
