// Package chunker splits media objects into fixed-size byte ranges
// ("chunks"), caches them in a local tier and in Redis shared by every
// instance, and reads any byte range of one version of an object through
// those tiers with a fallback to the origin. It knows nothing about HTTP
// or media formats: package stream turns a File into responses, and
// packagers and preview jobs read it as an io.ReaderAt.
//
// # Keys and values
//
// A chunk is stored under
//
//	<prefix>:c:<version>:<chunksize>:<index>
//
// where version names the object's bytes (see VersionOf; a remote origin
// uses its strong ETag), chunksize is the chunk size in bytes and index
// counts chunks from 0. Chunk i holds the bytes [i*chunksize,
// min((i+1)*chunksize, size)). Because the version changes whenever the
// object is replaced or modified, and the chunk size is part of the key,
// a cache entry can never be read back as bytes of another version or of
// another chunk layout. Each value carries a header of per-block tags bound
// to its key (store.Codec: CRC-32C, or HMAC-SHA256 under an integrity key),
// checked before a byte is used: a damaged, foreign, old-format or forged
// value is a miss.
//
// Small derived values bound to a version (an MP4 index, previews) live
// under <prefix>:m:<version>:<kind> (Cache.Meta).
//
// # A read, step by step
//
// Every reader goes through one loop, File.WriteRange (read.go); ReadAt and
// a prewarm (Cache.OpenWarm) are built on it. For each piece of the range:
//
//	read.go     WriteRange: the loop; writes each piece, sendfile for files
//	piece.go    piece: decides where the bytes at an offset come from:
//	              the flight the File reads from, the Redis window at hand,
//	              the local tier, a flight another request started,
//	              a new Redis window, or a miss
//	window.go   Redis windows: sizing to the client's pace, planning
//	              one piece per chunk
//	fetch.go    a window's one round trip (store.Read); chunks the tier
//	              wants fetched whole and written there
//	tierfill.go one such whole fetch a chunk at a time: other windows
//	              wanting it wait for it and read the tier
//	readahead.go  the next window, fetched while this one is written
//	hedge.go    a response's first window, from a local origin's file
//	              when Redis is queued and slower than Options.Hedge
//	local/      the local tier: chunk files in a private directory, LRU
//	              by bytes, sent with sendfile; a doorkeeper admits what
//	              two requests read
//	miss.go     a miss: share or start a flight (the chunk will be
//	              cached) or read directly (it will not)
//	flight.go   a flight: one chunk read from the origin once for every
//	              request that wants it, streamed as it arrives, from a
//	              seek's offset first
//	fill.go     after a flight: the chunk's value sealed and written to
//	              Redis off the viewer's path (async), or before (sync)
//	direct.go   bytes not cached: the local origin's file by sendfile, or
//	              a remote origin's ranged read
//	admit.go    cache.min_uses: which misses are cached
//	settle.go   the settle window: recently changed bytes are not cached
//	skip.go     a File leaving a slow Redis alone (and retrying a busy one)
//	budget.go   the in-flight budget bounding chunk bytes in memory
//	status.go   what a response will say (X-Cache), before its header:
//	              PrepareSources, and Begin for its first byte
//
// Range itself (which bytes a request wants) is decided in package stream,
// by http.ServeContent; chunker only reads the bytes it is asked for.
//
// # Packages
//
//	store/      the Redis store: reads and writes of chunk values with
//	              their checks (read.go, value.go), read into reused
//	              buffers (buffers.go), the breaker, fill and
//	              metadata leases, purges announced to every instance,
//	              probes and the operator's calls (admin.go)
//	local/      the local tier (above)
//	origin/     remote origins: HTTP and S3 (Dir, the local directory, is
//	              here in dir.go)
//
// The rest of this package: cache.go (Cache and its Options, with every
// default), file.go (File), origin.go (the Origin interface), geometry.go
// (chunk math), list.go and chunkmap.go (what the cache holds, for the API
// and the CLI), meta.go (metadata values), stats.go (counters).
package chunker
