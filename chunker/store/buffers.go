package store

import (
	"runtime"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Reads land in reusable memory. Chunk bytes fetched by Read are read by
// go-redis straight from the socket into a buffer taken here
// (redis.ZeroCopyStringCmd), instead of a new allocation per reply: a
// megabyte zeroed for every chunk read and left to the garbage collector
// (makeslice was 12% of a 500-viewer profile). The caller gives a Got's
// buffer back with Release once its bytes are written.
//
// A buffer is taken when the read is sent, not when its reply arrives, so
// the reads that may be in flight are bounded (Store.reading, at the
// client's connections): taken while reads queued for a connection, the
// buffers took a server's RSS from 92 to 238-280 MB with 64 clients
// reading 1 MiB ranges, and from 133 to 284 MB with 500 viewers.

// Size classes: a buffer of class k holds BlockSize<<k bytes and some
// slack (for a reply's two-byte trailer and a whole value's header), so
// that a read of one block up to a whole 64 MiB chunk each take one class.
// Each class keeps at most keptBytes of free buffers (at least two): what
// is kept is bounded whatever the peak was, unlike a sync.Pool's.
const (
	bufSlack   = 4 << 10
	bufClasses = 10 // BlockSize << 9 is 64 MiB; larger reads allocate
	keptBytes  = 4 << 20
)

// freeLists holds a Store's free buffers, a list a size class.
type freeLists [bufClasses]chan *[]byte

func newFreeLists() *freeLists {
	var f freeLists
	for k := range f {
		f[k] = make(chan *[]byte, max(2, keptBytes/(BlockSize<<k)))
	}
	return &f
}

// Buffer is memory a read filled. Its zero value holds nothing.
type Buffer struct {
	p    *[]byte
	from *freeLists
}

// Release gives the memory back for reuse. The bytes read into it must not
// be used after. Release of a zero Buffer does nothing; a Buffer must be
// released at most once.
func (b Buffer) Release() {
	if b.p == nil {
		return
	}
	for k := range bufClasses {
		if cap(*b.p) == BlockSize<<k+bufSlack {
			select {
			case b.from[k] <- b.p:
			default: // the list is full: the collector takes it
			}
			return
		}
	}
}

// get returns a buffer of n bytes, and what holds it.
func (f *freeLists) get(n int) (Buffer, []byte) {
	for k := range bufClasses {
		size := BlockSize<<k + bufSlack
		if n > size {
			continue
		}
		select {
		case p := <-f[k]:
			return Buffer{p, f}, (*p)[:n]
		default:
		}
		b := make([]byte, size)
		return Buffer{&b, f}, b[:n]
	}
	return Buffer{}, make([]byte, n)
}

// tooLong reports whether err is go-redis refusing a reply longer than the
// buffer it was to be read into (it drains the reply, so the connection is
// fine): a value longer than its chunk's, rejected like any of the wrong
// length. go-redis has no error value for it; TestCachedValuesAreChecked
// catches a change of its words.
func tooLong(err error) bool {
	return err != nil && strings.Contains(err.Error(), "buffer too small")
}

// readsInFlight is how many Reads may be in flight at once: as many as the
// client has connections (go-redis's default is 10 per CPU), so that a Read
// waits here, holding no buffer, rather than for a connection with its
// buffers taken. A Cluster's client has that many a node: up to 16 masters
// are allowed for.
func readsInFlight(c redis.UniversalClient) int {
	n := 10 * runtime.GOMAXPROCS(0)
	switch c := c.(type) {
	case *redis.Client:
		n = max(n, c.Options().PoolSize)
	case *redis.ClusterClient:
		n = max(n, c.Options().PoolSize) * 16
	}
	return n
}
