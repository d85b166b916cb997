// Package certs gives the HTTPS listener its certificates: a key pair read
// from files and reloaded when they change (File), or certificates obtained
// and renewed by ACME with certmagic (NewACME), shared by every instance
// through the Redis they already use (RedisStorage).
//
// It is a top-level package, not part of stream: stream is the Echo handlers
// and must not import go-redis or know a key format (STYLE.md), while the
// certificate store is a Redis client of its own; and nothing here reads or
// writes a response. cmd/reelcache is its only importer.
//
// Every value RedisStorage writes is sealed with AES-256-GCM under a key
// derived from http.tls.acme.storage_key (config, never Redis), with the
// Redis key as additional data: reading Redis gives neither the account key
// nor a certificate's private key, and a value cannot be changed or moved to
// another name without the storage key. The same sealed bytes are mirrored
// to a local directory, which is used while Redis is unreachable.
package certs
