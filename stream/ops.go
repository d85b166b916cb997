package stream

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/reelcache/reelcache/chunker"
)

// Health is what the readiness check needs to know.
type Health interface {
	// CheckOrigin reports whether the media origin can be read.
	CheckOrigin(ctx context.Context) error
	// CheckRedis reports "up", "down" or "off".
	CheckRedis(ctx context.Context) string
}

// Metrics are the server's Prometheus metrics, on a registry of their own
// (no global state). Create them with NewMetrics and pass them to the
// Handler, the middleware and the Store's Observe hook.
type Metrics struct {
	reg          *prometheus.Registry
	requests     *prometheus.CounterVec
	cut          *prometheus.CounterVec
	inflight     prometheus.Gauge
	redisLatency *prometheus.HistogramVec
	rejected     *prometheus.CounterVec
	servedRedis  atomic.Int64
	servedLocal  atomic.Int64
	servedDisk   atomic.Int64
}

// NewMetrics makes the metrics. stats and breakerOpen are read at scrape
// time; either may be nil.
func NewMetrics(stats func() chunker.Stats, breakerOpen func() bool) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "reelcache_http_requests_total", Help: "HTTP requests by route, method and status.",
	}, []string{"route", "method", "code"})
	m.cut = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "reelcache_http_responses_cut_total", Help: "Responses that ended before their last byte, by how: client-gone (the client left) or cut (the origin failed or the file changed mid-body).",
	}, []string{"end"})
	for _, e := range []string{endClientGone, endCut} {
		m.cut.WithLabelValues(e) // present at 0
	}
	m.inflight = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "reelcache_streams_in_flight", Help: "Media requests being answered.",
	})
	m.redisLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "reelcache_redis_call_seconds", Help: "Duration of calls to Redis by operation and result.",
		Buckets: []float64{.0002, .0005, .001, .002, .005, .01, .02, .05, .1, .2, .5, 1},
	}, []string{"op", "result"})
	m.rejected = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "reelcache_chunk_rejected_total", Help: "Cached chunk values that failed their check (not served; refilled from the origin), by reason: format, length or digest.",
	}, []string{"reason"})
	for _, r := range []string{"format", "length", "digest"} {
		m.rejected.WithLabelValues(r) // present at 0
	}
	m.reg.MustRegister(m.requests, m.cut, m.inflight, m.redisLatency, m.rejected,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	for source, n := range map[string]*atomic.Int64{"redis": &m.servedRedis, "local": &m.servedLocal, "disk": &m.servedDisk} {
		m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "reelcache_served_bytes_total", Help: "Media body bytes served, by source.", ConstLabels: prometheus.Labels{"source": source},
		}, func() float64 { return float64(n.Load()) }))
	}
	if stats != nil {
		for _, c := range []struct {
			name, help string
			get        func(chunker.Stats) int64
		}{
			{"reelcache_chunk_hits_total", "Chunks found in Redis.", func(s chunker.Stats) int64 { return s.Hits }},
			{"reelcache_chunk_misses_total", "Chunks read from disk.", func(s chunker.Stats) int64 { return s.Misses }},
			{"reelcache_local_hits_total", "Chunks found in the local tier (cache.local_bytes).", func(s chunker.Stats) int64 { return s.LocalHits }},
			{"reelcache_origin_bytes_total", "Bytes read from disk for chunks.", func(s chunker.Stats) int64 { return s.DiskBytes }},
			{"reelcache_fills_total", "Chunks written to Redis after a miss.", func(s chunker.Stats) int64 { return s.Fills }},
			{"reelcache_fill_errors_total", "Chunk writes that failed.", func(s chunker.Stats) int64 { return s.FillErrors }},
			{"reelcache_fill_dropped_total", "Chunks not cached because the write queue was full.", func(s chunker.Stats) int64 { return s.FillDropped }},
			{"reelcache_redis_hedged_total", "Responses whose first bytes came from the media root's file because Redis did not answer within redis.hedge.", func(s chunker.Stats) int64 { return s.Hedged }},
		} {
			m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: c.name, Help: c.help},
				func() float64 { return float64(c.get(stats())) }))
		}
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "reelcache_inflight_bytes", Help: "Chunk bytes requests hold now: windows and chunks being filled (bounded by cache.max_inflight_bytes).",
		}, func() float64 { return float64(stats().Inflight) }))
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "reelcache_local_bytes", Help: "Bytes of chunks the local tier holds as files (cache.local_bytes).",
		}, func() float64 { return float64(stats().LocalHeld) }))
	}
	if breakerOpen != nil {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "reelcache_redis_breaker_open", Help: "1 while the Redis circuit breaker is open (Redis left alone).",
		}, func() float64 {
			if breakerOpen() {
				return 1
			}
			return 0
		}))
	}
	return m
}

// Registerer returns the registry /metrics serves, for other packages'
// collectors (seek preview jobs).
func (m *Metrics) Registerer() prometheus.Registerer { return m.reg }

// RejectedChunk counts a cached value that failed its check; it fits
// store.Options.Rejected.
func (m *Metrics) RejectedChunk(reason string) { m.rejected.WithLabelValues(reason).Inc() }

// ObserveRedis records one Redis call; it fits store.Options.Observe.
func (m *Metrics) ObserveRedis(op string, d time.Duration, err error) {
	result := "ok"
	switch {
	case errors.Is(err, context.Canceled):
		// Given up by the caller (a viewer who left, a hedged fetch):
		// not Redis's failure.
		result = "canceled"
	case err != nil:
		result = "error"
	}
	m.redisLatency.WithLabelValues(op, result).Observe(d.Seconds())
}

// served adds a response's body bytes by source.
func (m *Metrics) served(redis, local, disk int64) {
	if m != nil {
		m.servedRedis.Add(redis)
		m.servedLocal.Add(local)
		m.servedDisk.Add(disk)
	}
}

// Middleware counts requests by route and status, responses that ended
// early by how, and media requests in flight. A handler's abort
// (http.ErrAbortHandler) is counted, then passed on.
func (m *Metrics) Middleware() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			media := c.Path() == "/media/*"
			if media {
				m.inflight.Inc()
				defer m.inflight.Dec()
			}
			p := serve(next, c)
			if end, _ := ending(c, p); end == endClientGone || end == endCut {
				m.cut.WithLabelValues(end).Inc()
			}
			route := c.Path()
			if route == "" {
				route = "unmatched"
			}
			m.requests.WithLabelValues(route, c.Request().Method, strconv.Itoa(c.Response().Status)).Inc()
			if p != nil {
				panic(p)
			}
			return nil
		}
	}
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// RegisterOps adds /healthz, /readyz and, when m is set, /metrics to e.
//
// /healthz says the process is alive. /readyz says whether it can serve:
// 503 only when the media root cannot be read. Redis being down, or a
// remote origin failing, leaves it degraded (serving from the origin, or
// what is cached); the body says which ("media": "denied", "timeout" or
// "unavailable" for a remote origin). The origin is asked in the
// background at most once every 2 s, and /readyz answers from the last
// answer (see originProbe); Redis, which is reelcache's own, is pinged per
// call. A Health that is a CertExpiry adds "tls" (ok, expiring, expired or
// none) and "tls_not_after"; an expired or missing certificate is degraded.
func RegisterOps(e *echo.Echo, h Health, m *Metrics) {
	probe := &originProbe{check: h.CheckOrigin, interval: readyInterval, timeout: readyTimeout}
	e.GET("/healthz", func(c echo.Context) error {
		return c.String(http.StatusOK, "ok\n")
	})
	e.GET("/readyz", func(c echo.Context) error {
		ctx, cancel := context.WithTimeout(c.Request().Context(), time.Second)
		defer cancel()
		redis := h.CheckRedis(ctx)
		body := map[string]string{"status": "ready", "media": "ok", "redis": redis}
		code := http.StatusOK
		if redis == "down" {
			body["status"] = "degraded"
		}
		if err := probe.get(ctx); err != nil {
			switch {
			// A remote origin that fails leaves what is cached servable.
			case errors.Is(err, chunker.ErrOriginDenied):
				body["status"], body["media"] = "degraded", "denied"
			case errors.Is(err, chunker.ErrOriginTimeout):
				body["status"], body["media"] = "degraded", "timeout"
			case errors.Is(err, chunker.ErrOriginUnavailable):
				body["status"], body["media"] = "degraded", "unavailable"
			default: // the media root cannot be read
				body["status"], body["media"] = "unready", "unreadable"
				code = http.StatusServiceUnavailable
			}
		}
		if ce, ok := h.(CertExpiry); ok {
			var degraded bool
			body["tls"], body["tls_not_after"], degraded = certDetail(ce, time.Now())
			if degraded && body["status"] == "ready" {
				body["status"] = "degraded"
			}
		}
		c.Response().Header().Set("Cache-Control", "no-store")
		return c.JSON(code, body)
	})
	if m != nil {
		e.GET("/metrics", echo.WrapHandler(m.Handler()))
	}
}
