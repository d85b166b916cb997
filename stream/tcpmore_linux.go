//go:build linux

package stream

import (
	"context"
	"io"
	"net"
	"sync/atomic"
	"syscall"
)

// A response's header in the segment of its body's first bytes. net/http
// writes a response's header (with the body's first 512 bytes) in one
// write and the rest of a file by sendfile; with TCP_NODELAY, which Go
// sets, the header leaves as a small segment of its own. nginx corks the
// socket around a response (tcp_nopush) so that header and body share
// full segments. Here the header's write carries MSG_MORE when a sendfile
// follows it at once: the kernel holds it for the file's first bytes, and
// the sendfile's end pushes everything. No setsockopt per response, and
// nothing held once the file is sent.

// MoreListener wraps l's TCP connections so that the media handler can
// send a response's header with MSG_MORE (see SendsFile). Use it with
// ConnContext.
func MoreListener(l net.Listener) net.Listener { return moreListener{l} }

type moreListener struct{ net.Listener }

func (l moreListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok && err == nil {
		rc, rerr := tc.SyscallConn()
		if rerr == nil {
			return &moreConn{TCPConn: tc, rc: rc}, nil
		}
	}
	return c, err
}

// moreConn is a TCP connection whose next write, when more is set, is sent
// with MSG_MORE. It keeps *net.TCPConn's ReadFrom (sendfile), CloseWrite
// and SyscallConn.
type moreConn struct {
	*net.TCPConn
	rc   syscall.RawConn
	more atomic.Bool
}

func (c *moreConn) Write(p []byte) (int, error) {
	if !c.more.Swap(false) {
		return c.TCPConn.Write(p)
	}
	var n int
	var serr error
	err := c.rc.Write(func(fd uintptr) bool {
		for n < len(p) {
			m, err := syscall.SendmsgN(int(fd), p[n:], nil, nil, syscall.MSG_MORE|syscall.MSG_NOSIGNAL)
			if err == syscall.EAGAIN {
				return false
			}
			if err == syscall.EINTR {
				continue
			}
			if err != nil {
				serr = err
				return true
			}
			n += m
		}
		return true
	})
	if serr != nil {
		err = &net.OpError{Op: "write", Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: serr}
	}
	return n, err
}

// sniffLen is how much of a body net/http's ReadFrom writes with the header
// before it hands the rest to sendfile.
const sniffLen = 512

// sendsFile marks the connection of ctx, when it is a moreConn, so that
// its next write (net/http's flush of the header before its sendfile) goes
// with MSG_MORE, and returns the function that clears the mark once the
// sendfile has returned. Only when more than the 512 bytes net/http writes
// with the header are to be sent: then a sendfile follows and pushes.
func sendsFile(ctx context.Context, r io.Reader) (done func()) {
	mc, _ := ctx.Value(connKey{}).(*moreConn)
	lr, ok := r.(*io.LimitedReader)
	if mc == nil || !ok || lr.N <= sniffLen {
		return func() {}
	}
	mc.more.Store(true)
	return func() { mc.more.Store(false) }
}
