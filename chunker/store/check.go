//go:build !reelcache_nocheck

package store

// checkTags says whether reads check the values' tags. Always, but in the
// benchmark's variant built with the tag reelcache_nocheck (check_off.go),
// which measures what the check costs.
const checkTags = true
