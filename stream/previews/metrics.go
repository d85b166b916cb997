package previews

import "github.com/prometheus/client_golang/prometheus"

// metrics of preview jobs:
//
//	reelcache_preview_jobs_total{result}   jobs ended: ok, bad_input, timeout, error
//	reelcache_preview_job_seconds          duration of successful jobs
//	reelcache_preview_read_bytes_total{source}  video bytes jobs read: redis, local, origin
type metrics struct {
	jobs    *prometheus.CounterVec
	seconds prometheus.Histogram
	bytes   *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		jobs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "reelcache_preview_jobs_total", Help: "Seek preview jobs ended, by result: ok, bad_input (a negative result is stored), timeout, error.",
		}, []string{"result"}),
		seconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "reelcache_preview_job_seconds", Help: "Duration of successful seek preview jobs.",
			Buckets: prometheus.ExponentialBuckets(0.25, 2, 12),
		}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "reelcache_preview_read_bytes_total", Help: "Video bytes read by successful seek preview jobs, by source: redis, local, origin.",
		}, []string{"source"}),
	}
	for _, r := range []string{"ok", "bad_input", "timeout", "error"} {
		m.jobs.WithLabelValues(r)
	}
	if reg != nil {
		reg.MustRegister(m.jobs, m.seconds, m.bytes)
	}
	return m
}

// job counts a job that ended with result; res is set for "ok".
func (m *metrics) job(result string, res *Result) {
	m.jobs.WithLabelValues(result).Inc()
	if res != nil {
		m.seconds.Observe(res.Took.Seconds())
		m.bytes.WithLabelValues("redis").Add(float64(res.RedisBytes))
		m.bytes.WithLabelValues("local").Add(float64(res.LocalBytes))
		m.bytes.WithLabelValues("origin").Add(float64(res.ReadBytes - res.RedisBytes - res.LocalBytes))
	}
}
