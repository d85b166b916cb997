// Package chunker splits media files into fixed-size byte ranges ("chunks"),
// caches them in Redis and reads them back with a fallback to the file on
// disk.
//
// # Keys
//
// A chunk is stored under
//
//	<prefix>:c:<version>:<chunksize>:<index>
//
// where version is a hash of the file's identity (see [VersionOf]), chunksize
// is the chunk size in bytes and index counts chunks from 0. Chunk i holds
// the bytes [i*chunksize, min((i+1)*chunksize, size)) of the file. Because
// the version changes whenever the file is replaced or modified, and the chunk
// size is part of the key, a cache entry can never be read back as bytes of
// another file version or of another chunk layout: old entries simply stop
// being asked for and age out by TTL or LRU eviction.
//
// Keys carry no hash tag, so in a Redis Cluster the chunks of one file spread
// over all shards.
//
// # Tiers
//
// A read looks in the local tier (Options.LocalBytes, off by default: whole
// chunks in process memory, keyed like Redis), then in Redis, then reads
// the file. Both tiers are keyed by version, so neither needs invalidating.
//
// chunker knows nothing about HTTP; package stream turns a [File] into
// responses.
package chunker
