//go:build linux

package stream

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

// TestMoreConnHoldsTheHeaderForTheFile: a write marked by sendsFile leaves
// with MSG_MORE (the kernel holds it for what follows), the next write
// pushes both, and an unmarked write leaves at once. Small reads (a range
// of at most the 512 bytes net/http writes with the header) are not
// marked: nothing would follow to push them.
func TestMoreConnHoldsTheHeaderForTheFile(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ml := MoreListener(ln)
	defer ml.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ml.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- c
	}()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server, ok := <-accepted
	if !ok {
		t.Fatal("accept failed")
	}
	defer server.Close()
	ctx := ConnContext(context.Background(), server)

	// arrives reads what the client receives within d.
	arrives := func(d time.Duration) string {
		client.SetReadDeadline(time.Now().Add(d))
		buf := make([]byte, 4096)
		var got []byte
		for {
			n, err := client.Read(buf)
			got = append(got, buf[:n]...)
			if err != nil {
				if !errors.Is(err, os.ErrDeadlineExceeded) {
					t.Fatal(err)
				}
				return string(got)
			}
		}
	}

	if done := sendsFile(ctx, &io.LimitedReader{R: strings.NewReader(""), N: 512}); server.(*moreConn).more.Load() {
		t.Error("a read of 512 bytes marked the connection: nothing would push the header")
	} else {
		done()
	}

	done := sendsFile(ctx, &io.LimitedReader{R: strings.NewReader(""), N: 513})
	if _, err := server.Write([]byte("header")); err != nil {
		t.Fatal(err)
	}
	if got := arrives(100 * time.Millisecond); got != "" {
		t.Errorf("the marked write arrived alone (%q): it was not sent with MSG_MORE", got)
	}
	if _, err := server.Write([]byte("+body")); err != nil {
		t.Fatal(err)
	}
	done()
	if got := arrives(100 * time.Millisecond); got != "header+body" {
		t.Errorf("after the next write the client has %q, want %q", got, "header+body")
	}
	if _, err := server.Write([]byte("alone")); err != nil {
		t.Fatal(err)
	}
	if got := arrives(100 * time.Millisecond); got != "alone" {
		t.Errorf("an unmarked write: the client has %q, want it at once", got)
	}
}
