//go:build reelcache_nocheck

package store

// checkTags is off in this build: `make bench` builds it (go build -tags
// reelcache_nocheck) only to measure what checking cached values costs on
// the warm Redis path, against the default build in the same run. Never
// ship it: a value anyone wrote to Redis would be served.
const checkTags = false
