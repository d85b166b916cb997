package main

import (
	"net/url"
	"strings"

	"github.com/reelcache/reelcache/chunker/origin"
	"github.com/reelcache/reelcache/config"
)

// redisDesc names, for logs and errors, the Redis servers a configuration
// actually uses, never a password, user name or query string: the URL for
// one server; the seed nodes for a Cluster (the URL's host and
// redis.addrs); the master's name and the sentinels for Sentinel (issue 21:
// "redis connected redis=redis://127.0.0.1:6379/0" was logged in those
// modes, a URL they do not use).
func redisDesc(r config.Redis) string {
	if r.Mode != "cluster" && r.Mode != "sentinel" {
		return origin.Redact(r.URL)
	}
	var addrs []string
	if u, err := url.Parse(r.URL); err == nil && u.Host != "" {
		addrs = append(addrs, u.Host)
	}
	addrs = append(addrs, r.Addrs...)
	if r.Mode == "cluster" {
		return "cluster seeds " + strings.Join(addrs, ",")
	}
	return "sentinel master " + r.MasterName + " via " + strings.Join(addrs, ",")
}
