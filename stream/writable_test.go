package stream

import (
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/reelcache/reelcache/chunker"
	"github.com/reelcache/reelcache/internal/poll"
)

// TestStalledClientsHoldNoChunks: clients that ask for a big file and stop
// reading hold no chunk data once their sockets are full, read-ahead
// included: the reader waits for the socket before it fetches the next
// window (writable.go). Before, each held a window in its blocked write
// and another in its read-ahead: with 500 viewers at 8 Mbit/s that was
// most of the heap.
func TestStalledClientsHoldNoChunks(t *testing.T) {
	s := newServer(t, serverOptions{chunkSize: 1 << 20, fill: chunker.FillSync})
	s.write(t, "big.mp4", 32<<20, 3)
	// Fill Redis, so that every window is a Redis read.
	get(t, "GET", s.url("big.mp4"))

	const clients = 20
	var conns []net.Conn
	for i := range clients {
		c, err := net.Dial("tcp", s.srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		// A small receive buffer, so that the socket fills soon; the
		// client then never reads.
		c.(*net.TCPConn).SetReadBuffer(128 << 10)
		fmt.Fprintf(c, "GET /media/big.mp4 HTTP/1.1\r\nHost: x\r\nRange: bytes=%d-\r\n\r\n", i<<20)
		conns = append(conns, c)
	}
	var held int64
	poll.Wait(10*time.Second, func() bool {
		held = s.cache.Stats().Inflight
		return held == 0
	})
	if held != 0 {
		t.Errorf("%d stalled clients hold %d bytes of chunk data, want 0", clients, held)
	}
	// And they are served when they read again.
	buf := make([]byte, 64<<10)
	for _, c := range conns {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		total := 0
		for total < 1<<20 {
			n, err := c.Read(buf)
			total += n
			if err != nil {
				t.Fatalf("a stalled client read %d bytes when it came back: %v", total, err)
			}
		}
	}
}

// TestStalledClientsHoldNoScratch: bytes read straight from the origin (no
// Redis, a remote origin: no sendfile) are written out of a scratch buffer;
// a client whose socket is full holds none while it waits, so many slow
// viewers of an origin hold no memory for it (issue 15's 500 viewers).
func TestStalledClientsHoldNoScratch(t *testing.T) {
	s := newServer(t, serverOptions{chunkSize: 1 << 20, noRedis: true, origin: remoteOrigin})
	s.write(t, "big.mp4", 32<<20, 4)
	const clients = 20
	for i := range clients {
		c, err := net.Dial("tcp", s.srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.(*net.TCPConn).SetReadBuffer(128 << 10) // fills soon; never read
		fmt.Fprintf(c, "GET /media/big.mp4 HTTP/1.1\r\nHost: x\r\nRange: bytes=%d-\r\n\r\n", i<<20)
	}
	var held int64
	poll.Wait(10*time.Second, func() bool {
		st := s.cache.Stats()
		held = st.Scratch
		return held == 0 && st.DiskBytes >= clients*128<<10
	})
	if st := s.cache.Stats(); st.DiskBytes < clients*128<<10 {
		t.Fatalf("%d bytes read from the origin: the responses did not take the direct path", st.DiskBytes)
	}
	if held != 0 {
		t.Errorf("%d stalled clients hold %d bytes of scratch buffers, want 0", clients, held)
	}
}
