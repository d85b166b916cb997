package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// defaultShutdownGrace is how long in-flight streams may run after
// SIGINT/SIGTERM before they are cut.
const defaultShutdownGrace = 10 * time.Second

// activeConns counts a server's connections that are in the middle of a
// request (http.StateActive): at the end of the grace period, the streams
// about to be cut. Install its track method as http.Server.ConnState. It is
// safe for concurrent use.
type activeConns struct {
	mu     sync.Mutex
	active map[net.Conn]bool // protected by mu
}

func (a *activeConns) track(c net.Conn, s http.ConnState) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.active == nil {
		a.active = make(map[net.Conn]bool)
	}
	if s == http.StateActive {
		a.active[c] = true
	} else {
		delete(a.active, c)
	}
}

func (a *activeConns) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.active)
}

// shutdown stops srv: no new connections, idle ones closed, and requests in
// flight given grace to finish. Those still running then are cut (their
// connections closed) and logged with their number. Cutting them is the
// expected end of a stop, not a failure: shutdown returns nil, so that
// `systemctl stop` (SIGTERM) while a viewer watches a long video exits 0
// (issue 13). It returns an error only if closing the listener failed.
func shutdown(srv *http.Server, conns *activeConns, grace time.Duration, log *slog.Logger) error {
	log.Info("shutting down", "grace", grace)
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	err := srv.Shutdown(ctx)
	if err == nil {
		log.Info("stopped: every request finished")
		return nil
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		srv.Close()
		return err
	}
	n := conns.count()
	if err := srv.Close(); err != nil {
		return err
	}
	log.Warn("stopped: grace period over, streams cut", "streams_cut", n, "grace", grace)
	return nil
}
