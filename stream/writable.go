package stream

import (
	"context"
	"io"
	"net"
	"syscall"

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
func ConnContext(ctx context.Context, c net.Conn) context.Context {
	return context.WithValue(ctx, connKey{}, c)
}

// writableWriter is the writer handed to the chunk reader: the response,
// and a way to wait for its connection.
type writableWriter struct {
	io.Writer
	conn syscall.RawConn // nil: do not wait
}

func newWritableWriter(ctx context.Context, w io.Writer) writableWriter {
	ww := writableWriter{Writer: w}
	if c, ok := ctx.Value(connKey{}).(syscall.Conn); ok {
		if rc, err := c.SyscallConn(); err == nil {
			ww.conn = rc
		}
	}
	return ww
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
