package stream

import (
	"net/http"

	"github.com/reelcache/reelcache/chunker"
)

// setCacheHeaders says where a response's body comes from, twice: X-Cache,
// the one-word value players and CDN logs know, and Cache-Status (RFC 9211)
// with the detail. The same counts feed reelcache_served_bytes_total
// {source=redis|local|disk}:
//
//	X-Cache  Cache-Status                           body bytes from
//	HIT      reelcache; hit                         Redis
//	HIT      reelcache; hit; detail=local           this instance's local tier (cache.local_bytes)
//	HIT      reelcache; hit; detail=mixed           both tiers, none from the origin
//	PARTIAL  reelcache; fwd=partial                 a cache tier and the origin
//	MISS     reelcache; fwd=miss                    the origin (or no body: 416)
//	MISS     reelcache; fwd=miss; fwd-status=304    none: a 304, see below
//	BYPASS   reelcache; fwd=bypass                  the origin, cache off or unavailable
//
// PARTIAL uses RFC 9211's fwd=partial ("the cache was able to select a
// partial response for the request, but it did not contain all of the
// requested ranges"), which is exactly a range some of whose chunks are
// cached. A 304 is answered from the origin's current version (a stat of
// the file, or the remote origin's metadata), never from a stored
// response, so the request went forward (fwd=miss) and what came back was
// "not modified": fwd-status=304, the RFC's way to say a validation was
// answered by the next hop.
func setCacheHeaders(h http.Header, src chunker.Sources, status int) {
	x, cs := "MISS", "reelcache; fwd=miss"
	switch {
	case status == http.StatusNotModified && !src.Bypass:
		cs = "reelcache; fwd=miss; fwd-status=304"
	case src.Status() == chunker.Bypass:
		x, cs = "BYPASS", "reelcache; fwd=bypass"
	case src.Status() == chunker.Partial:
		x, cs = "PARTIAL", "reelcache; fwd=partial"
	case src.Status() == chunker.Hit:
		x = "HIT"
		switch {
		case src.Local == 0:
			cs = "reelcache; hit"
		case src.Redis == 0:
			cs = "reelcache; hit; detail=local"
		default:
			cs = "reelcache; hit; detail=mixed"
		}
	}
	h.Set("X-Cache", x)
	h.Set("Cache-Status", cs)
}

// SetCacheHeaders sets X-Cache and Cache-Status as /media/ responses carry
// them (see setCacheHeaders), for other packages' routes that serve cached
// bytes: the packager's segments.
func SetCacheHeaders(h http.Header, src chunker.Sources, status int) {
	setCacheHeaders(h, src, status)
}
