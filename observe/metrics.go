package observe

import (
	"net/http"
	"strconv"
	"sync"

	"github.com/deskgate/deskgate/domain"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics is one registry of deskgate's Prometheus metrics: requests by
// protocol, method, route template and status, the Go runtime and the
// process, and whatever the wiring adds with GaugeFunc and CounterFunc.
type Metrics struct {
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	series   sync.Map // seriesKey → *series: one label lookup per series, not two per request
}

type seriesKey struct {
	protocol, method, route string
	status                  int
}

// series is one label combination's counter and histogram.
type series struct {
	requests prometheus.Counter
	latency  prometheus.Observer
}

// NewMetrics makes a registry of its own: nothing is registered globally.
func NewMetrics() *Metrics {
	labels := []string{"protocol", "method", "route", "status"}
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "deskgate_http_requests_total", Help: "API requests answered.",
		}, labels),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "deskgate_http_request_duration_seconds", Help: "Time from a request's arrival to its answer.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, labels),
	}
	m.registry.MustRegister(m.requests, m.latency,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// GaugeFunc registers a gauge read from f at every scrape.
func (m *Metrics) GaugeFunc(name, help string, labels prometheus.Labels, f func() float64) {
	m.registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help, ConstLabels: labels}, f))
}

// CounterFunc registers a counter read from f at every scrape.
func (m *Metrics) CounterFunc(name, help string, labels prometheus.Labels, f func() float64) {
	m.registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help, ConstLabels: labels}, f))
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}

// observe counts one answered request; a nil Metrics counts nothing.
func (m *Metrics) observe(rec domain.RequestRecord) {
	if m == nil {
		return
	}
	route, method := rec.Route, rec.Method
	if route == "" {
		// One series for every unmatched path, never the path itself, and
		// for every method no route serves.
		route = "(no route)"
		if !knownMethods[method] {
			method = "OTHER"
		}
	}
	key := seriesKey{string(rec.Protocol), method, route, rec.Status}
	s, ok := m.series.Load(key)
	if !ok {
		status := strconv.Itoa(key.status)
		s, _ = m.series.LoadOrStore(key, &series{
			requests: m.requests.WithLabelValues(key.protocol, key.method, key.route, status),
			latency:  m.latency.WithLabelValues(key.protocol, key.method, key.route, status),
		})
	}
	s.(*series).requests.Inc()
	s.(*series).latency.Observe(rec.Duration.Seconds())
}

var knownMethods = map[string]bool{
	http.MethodGet: true, http.MethodHead: true, http.MethodPost: true, http.MethodPut: true,
	http.MethodPatch: true, http.MethodDelete: true, http.MethodOptions: true,
}
