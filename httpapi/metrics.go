package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sessioning/sessioning"
)

// outcome classifies a reply for the request counter.
type outcome int

const (
	outcomeOK           outcome = iota // 2xx with a result
	outcomeFailure                     // 200 {"error"}: an ordinary failure
	outcomeInvalid                     // 400
	outcomeTooLarge                    // 413
	outcomeUnauthorized                // 401
	outcomeForbidden                   // 403
	outcomeNoRoute                     // 404
	outcomeMethod                      // 405
	outcomeUnavailable                 // 503
	numOutcomes
)

var outcomeNames = [numOutcomes]string{
	"ok", "failure", "invalid", "too_large", "unauthorized", "forbidden",
	"no_route", "method_not_allowed", "unavailable",
}

func outcomeOf(status int) outcome {
	switch status {
	case http.StatusOK:
		return outcomeFailure
	case http.StatusBadRequest:
		return outcomeInvalid
	case http.StatusRequestEntityTooLarge:
		return outcomeTooLarge
	case http.StatusUnauthorized:
		return outcomeUnauthorized
	case http.StatusForbidden:
		return outcomeForbidden
	case http.StatusNotFound:
		return outcomeNoRoute
	case http.StatusMethodNotAllowed:
		return outcomeMethod
	default:
		return outcomeUnavailable
	}
}

// metrics are the handler's Prometheus series, on a registry of its own.
// Labels are route names from a fixed set and outcome names: never a
// token, a user or anything else a client sends.
type metrics struct {
	handler     http.Handler
	requests    map[string]*[numOutcomes]prometheus.Counter
	durations   map[string]prometheus.Observer
	storeErrors prometheus.Counter
	swept       prometheus.Counter
}

func newMetrics(m *sessioning.Manager) *metrics {
	reg := prometheus.NewRegistry()
	reqs := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sessiond_http_requests_total",
		Help: "HTTP requests by route (concept name or endpoint) and outcome.",
	}, []string{"route", "outcome"})
	durs := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "sessiond_http_request_duration_seconds",
		Help:    "Time to answer a concept request, by route.",
		Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
	}, []string{"route"})
	mt := &metrics{
		requests:  make(map[string]*[numOutcomes]prometheus.Counter),
		durations: make(map[string]prometheus.Observer),
		storeErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sessiond_store_errors_total",
			Help: "Store operations that failed (answered 503, failed readiness or sweep, failed count).",
		}),
		swept: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sessiond_swept_sessions_total",
			Help: "Expired sessions removed by the background sweep.",
		}),
	}
	labels := []string{"other", "healthz", "readyz", "metrics", "openapi"}
	for _, r := range routes {
		labels = append(labels, r.name)
		mt.durations[r.name] = durs.WithLabelValues(r.name)
	}
	for _, l := range labels {
		var cs [numOutcomes]prometheus.Counter
		for o := range cs {
			cs[o] = reqs.WithLabelValues(l, outcomeNames[o])
		}
		mt.requests[l] = &cs
	}
	reg.MustRegister(reqs, durs, mt.storeErrors, mt.swept,
		&liveSessions{m: m, errs: mt.storeErrors},
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mt.handler = promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	return mt
}

func (mt *metrics) observe(route string, o outcome) {
	if cs := mt.requests[route]; cs != nil {
		cs[o].Inc()
	}
}

func (mt *metrics) latency(route string, d time.Duration) {
	if h := mt.durations[route]; h != nil {
		h.Observe(d.Seconds())
	}
}

// liveSessions reports the store's session count at scrape time.
type liveSessions struct {
	m    *sessioning.Manager
	errs prometheus.Counter
}

var liveDesc = prometheus.NewDesc("sessiond_sessions",
	"Sessions held by the store, including expired ones not yet swept (may be an estimate).", nil, nil)

func (l *liveSessions) Describe(ch chan<- *prometheus.Desc) { ch <- liveDesc }

func (l *liveSessions) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	n, err := l.m.Count(ctx)
	if err != nil {
		l.errs.Inc()
		return
	}
	ch <- prometheus.MustNewConstMetric(liveDesc, prometheus.GaugeValue, float64(n))
}
