package chunker

import (
	"bytes"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/reelcache/reelcache/chunker/store"
	"github.com/reelcache/reelcache/internal/redistest"
	"github.com/reelcache/reelcache/internal/testmedia"
)

// cutProxy forwards TCP connections to a Redis. cut makes the connections
// that have carried a SUBSCRIBE go silent both ways without being closed,
// as when a NAT or firewall drops a connection; connections made later are
// forwarded.
type cutProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex // protects pairs
	pairs  []*proxyPair
}

// proxyPair is one proxied connection.
type proxyPair struct {
	client, server net.Conn
	subscriber     atomic.Bool // carried a SUBSCRIBE
	dead           atomic.Bool // cut: bytes are dropped
}

func newCutProxy(tb testing.TB, target string) *cutProxy {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	p := &cutProxy{ln: ln, target: target}
	tb.Cleanup(func() {
		ln.Close()
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, pp := range p.pairs {
			pp.client.Close()
			pp.server.Close()
		}
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			pp := &proxyPair{client: c, server: s}
			p.mu.Lock()
			p.pairs = append(p.pairs, pp)
			p.mu.Unlock()
			go pp.pipe(s, c, true)
			go pp.pipe(c, s, false)
		}
	}()
	return p
}

// pipe copies from src to dst until src fails, dropping the bytes once
// the pair is cut; fromClient notes a SUBSCRIBE.
func (pp *proxyPair) pipe(dst, src net.Conn, fromClient bool) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && !pp.dead.Load() {
			if fromClient && bytes.Contains(bytes.ToLower(buf[:n]), []byte("subscribe")) {
				pp.subscriber.Store(true)
			}
			dst.Write(buf[:n])
		}
		if err != nil {
			return
		}
	}
}

// cut silences the subscribers' connections and returns how many it cut.
func (p *cutProxy) cut() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, pp := range p.pairs {
		if pp.subscriber.Load() {
			pp.dead.Store(true)
			n++
		}
	}
	return n
}

// TestPurgeSubscriptionSilentlyDead: the purge subscription's connection
// goes silent without closing, and a purge is announced meanwhile (here:
// the generation moves, as a purge whose message is lost would leave it).
// go-redis's Receive would wait on that connection for ever; the watcher
// pings a quiet subscription, replaces one that does not answer, and the
// new subscription's generation check empties the tier (issue 13 items 1
// and 2).
func TestPurgeSubscriptionSilentlyDead(t *testing.T) {
	rs := redistest.Start(t)
	proxy := newCutProxy(t, rs.Addr())
	dir := t.TempDir()
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	log := slog.New(slog.DiscardHandler)
	st := store.New(store.Options{Client: mustClient(t, "redis://"+proxy.ln.Addr().String()), Logger: log,
		Timeout: 10 * time.Second, WriteTimeout: 10 * time.Second})
	c, err := New(Options{Origin: NewDir(root, DirOptions{}), Store: st, ChunkSize: 64 << 10, Fill: FillSync, LocalBytes: 4 << 20,
		Settle: time.Nanosecond, Logger: log, purgePing: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	testmedia.WriteRandom(t, dir, "a.mp4", 128<<10, 3)
	waitWatching(t, c)
	readAll(t, c, "a.mp4") // read from disk, filled into Redis
	readAll(t, c, "a.mp4") // a second request: the tier keeps it
	if got := tierHeld(c, 128<<10); got != 128<<10 {
		t.Fatalf("setup: tier holds %d bytes, want %d", got, 128<<10)
	}
	// A quiet subscription that answers its pings is kept, and so is the
	// tier.
	time.Sleep(500 * time.Millisecond)
	if got, _ := c.local.Size(); got != 128<<10 {
		t.Fatalf("a quiet, live subscription emptied the tier: %d bytes held", got)
	}
	if n := proxy.cut(); n != 1 {
		t.Fatalf("setup: cut %d subscriptions, want 1", n)
	}
	rdb := rs.Client()
	defer rdb.Close()
	if err := rdb.Incr(t.Context(), "reelcache:purge:gen").Err(); err != nil {
		t.Fatal(err)
	}
	if got := tierHeld(c, 0); got != 0 {
		t.Fatalf("tier holds %d bytes 5 s after its subscription went silent and a purge was missed", got)
	}
}
