//go:build !linux

package stream

import (
	"context"
	"io"
	"net"
)

// MoreListener returns l: MSG_MORE is used on Linux only (tcpmore_linux.go).
func MoreListener(l net.Listener) net.Listener { return l }

func sendsFile(context.Context, io.Reader) (done func()) { return func() {} }
