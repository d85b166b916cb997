package config

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// minKeyLen is the shortest signing key accepted.
const minKeyLen = 16

// signingKeys reads auth.signing_key as viper holds it: a list (from a YAML
// list) is several keys, the first of which signs; a string is exactly one
// key, commas and all, so that a key is never silently split in two
// (issue 13 item 12).
func signingKeys(v any) ([]string, error) {
	var keys []string
	switch v := v.(type) {
	case nil:
		return nil, nil
	case string:
		if v == "" {
			return nil, nil
		}
		keys = []string{v}
	case []string:
		keys = v
	case []any:
		for _, e := range v {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("list item %d is not a string (quote it)", len(keys)+1)
			}
			keys = append(keys, s)
		}
	default:
		return nil, fmt.Errorf("want a string, or a list of strings (got a %T)", v)
	}
	for i, k := range keys {
		if len(k) < minKeyLen {
			return nil, fmt.Errorf("key %d has %d characters; each key must have at least %d", i+1, len(k), minKeyLen)
		}
	}
	return keys, nil
}

// corsOrigins parses http.cors.allowed_origins: "*", or origins as a
// browser sends them in the Origin header (scheme://host[:port], no path),
// lower-cased. No wildcards inside an origin: Echo's CORS middleware would
// read "*" and "?" there as patterns.
func corsOrigins(raw string) ([]string, error) {
	var out []string
	for o := range strings.SplitSeq(raw, ",") {
		if o = strings.TrimSpace(o); o == "" {
			continue
		}
		if o == "*" {
			out = append(out, o)
			continue
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			u.User != nil || u.Path != "" || u.RawQuery != "" || u.Fragment != "" || strings.ContainsAny(o, "*?") {
			return nil, fmt.Errorf("%q: want * or an origin such as https://www.example.com (scheme://host[:port], no path)", o)
		}
		out = append(out, strings.ToLower(o))
	}
	if len(out) > 1 && slices.Contains(out, "*") {
		return nil, errors.New(`"*" allows every origin: list it alone`)
	}
	return out, nil
}
