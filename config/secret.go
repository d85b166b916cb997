package config

import (
	"regexp"
	"strings"
)

// notShown replaces a secret value in errors.
const notShown = "(secret, not shown)"

// secretKeys are the known keys whose values are secrets. (The values of
// media.http.headers are hidden by display, which still names the
// headers.)
var secretKeys = map[string]bool{"auth.signing_key": true, "cache.integrity_key": true}

// secretWords are parts of a name that could hold a secret: an unknown key
// or REELCACHE_* variable with one of them (a near miss such as
// auth.signing_keys, REELCACHE_AUTH_SIGNINGKEY or media.http.header) never
// has its value printed.
var secretWords = []string{"key", "secret", "token", "pass", "pwd", "auth", "cred", "header", "sig", "cookie", "session", "private", "cert", "integrity"}

// secretName reports whether a value under name (a key, a key's sub-key or
// an environment variable's name) must not be printed (issue 21 item 1).
func secretName(name string) bool {
	n := strings.ToLower(name)
	if secretKeys[n] {
		return true
	}
	for _, k := range keys {
		if k.name == n || envName(k.name) == name {
			return false // a known key: display hides what it must
		}
	}
	for _, w := range secretWords {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

// urlLike matches what looks like a URL in a value or a message.
var urlLike = regexp.MustCompile(`[A-Za-z][A-Za-z0-9+.-]*://[^\s"'<>]*`)

// redactURLs returns s with the user info and query string of every URL in
// it removed (a query becomes "?REDACTED"), whether the URL parses or not:
// a bad escape or scheme must not bring a password into an error.
func redactURLs(s string) string {
	return urlLike.ReplaceAllStringFunc(s, func(u string) string {
		scheme, rest, _ := strings.Cut(u, "://")
		if i := strings.IndexAny(rest, "?#"); i >= 0 {
			q := rest[i]
			rest = rest[:i]
			if q == '?' {
				rest += "?REDACTED"
			}
		}
		// Everything up to the last '@' is user info, even a password
		// with an unescaped '/' in it.
		if i := strings.LastIndexByte(rest, '@'); i >= 0 {
			rest = rest[i+1:]
		}
		return scheme + "://" + rest
	})
}
