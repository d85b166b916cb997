package stream

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"syscall"

	"github.com/labstack/echo/v4"
	"golang.org/x/sys/unix"
)

// A slow viewer's bytes wait somewhere: in the socket's send buffer, which
// the kernel sizes and which is not the process's memory, or in a window of
// chunk data held by a write that blocks because that buffer is full. With
// hundreds of viewers at a few Mbit/s, the second costs a window each
// (500 viewers kept over 100 MB of windows alive). So before the chunk
// reader fetches a window, it waits until the client's connection can take
// bytes without blocking (chunker.File.WriteRange asks the writer through
// WaitWritable); the window is then written at once and let go. The
// socket's buffer is the read-ahead of a slow client.

type connKey struct{}

// ConnContext records each connection in its requests' context, so that
// the handler can wait for the socket to be writable. Set it as
// http.Server.ConnContext; without it the handler does not wait.
//
// Over TLS the socket under the *tls.Conn is the one waited on: a TLS
// connection's writes (HTTP/1.1 or, through the HTTP/2 framer, every
// stream's) end up there.
func ConnContext(ctx context.Context, c net.Conn) context.Context {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	return context.WithValue(ctx, connKey{}, c)
}

// writableWriter is the writer handed to the chunk reader: the response,
// its ReadFrom (which reaches the socket, so that bytes the chunk reader
// holds in files go by sendfile), and a way to wait for its connection.
type writableWriter struct {
	res  *echo.Response
	conn syscall.RawConn // nil: do not wait
	ctx  context.Context
}

func newWritableWriter(ctx context.Context, res *echo.Response) writableWriter {
	ww := writableWriter{res: res, ctx: ctx}
	if c, ok := ctx.Value(connKey{}).(syscall.Conn); ok {
		if rc, err := c.SyscallConn(); err == nil {
			ww.conn = rc
		}
	}
	return ww
}

func (w writableWriter) Write(p []byte) (int, error) { return w.res.Write(p) }

// ReadFrom sends r through the response writer's own ReadFrom: for a file
// behind an io.LimitedReader over plain HTTP/1.1, the kernel's sendfile.
// echo.Response has no ReadFrom, which would hide it from io.Copy.
func (w writableWriter) ReadFrom(r io.Reader) (int64, error) {
	rf, ok := w.res.Writer.(io.ReaderFrom)
	if !ok {
		return io.Copy(struct{ io.Writer }{w.res}, r)
	}
	if !w.res.Committed {
		w.res.WriteHeader(http.StatusOK)
	}
	return sendFrom(w.ctx, w.res, rf, r)
}

// Writable reports whether the connection's send buffer has room now.
func (w writableWriter) Writable() bool {
	if w.conn == nil {
		return true
	}
	ok := true
	w.conn.Control(func(fd uintptr) { ok = pollOut(fd) })
	return ok
}

// pollOut reports whether fd is writable (or failed) now.
func pollOut(fd uintptr) bool {
	p := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
	n, err := unix.Poll(p, 0)
	return err != nil || n > 0
}

// WaitWritable returns when the connection's send buffer has room (Linux
// reports a TCP socket writable once at least a third of it is free), or
// when the connection has failed: the write that follows then reports it.
// Like a blocked write, it waits as long as the client neither reads nor
// goes away.
func (w writableWriter) WaitWritable() error {
	if w.conn == nil {
		return nil
	}
	// The poller waits for the next edge; a socket that is writable now
	// would never give one, so look first.
	return w.conn.Write(pollOut)
}
