package main

import (
	"context"
	"net/url"
)

// quietRedisLogger drops go-redis's internal log lines (a refused dial per
// pooled connection); the store's breaker logs outages once instead.
type quietRedisLogger struct{}

func (quietRedisLogger) Printf(context.Context, string, ...any) {}

// redactURL hides the password in a Redis URL for logs.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable)"
	}
	return u.Redacted()
}
