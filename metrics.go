package caddyclerk

import (
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics, in Caddy's metrics registry (served on the admin endpoint's
// /metrics). The collectors are package-level so that counts survive config
// reloads; each config's registry gets them registered once (see
// registerCollector). Label values are bounded: outcomes and results are
// fixed sets, reasons are Clerk's constants (or composites of them), custom
// require lines collapse to "require", and Backend API results are an HTTP
// status or "unavailable".

// Decision outcomes, the outcome label of caddy_clerk_decisions_total.
const (
	outcomeSignedIn        = "signed_in"       // passed on, signed in
	outcomeSignedOut       = "signed_out"      // passed on signed out (not a protected route)
	outcomeHandshake       = "handshake"       // answered with a handshake redirect (to the Frontend API, or back after applying one)
	outcomeUnauthenticated = "unauthenticated" // protected route, signed out: 401 or sign-in redirect
	outcomeForbidden       = "forbidden"       // signed in but a require line failed: 403 or unauthorized_url redirect
	outcomeUnavailable     = "unavailable"     // 503: session liveness or required user fields could not be checked
	outcomePreflight       = "preflight"       // CORS preflight, passed on without authentication
	outcomeBadRequest      = "bad_request"     // the request path could not be classified
)

var (
	metricDecisions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "caddy",
		Subsystem: "clerk",
		Name:      "decisions_total",
		Help:      "Requests decided by clerk_auth, by outcome and Clerk's reason (\"\" when none).",
	}, []string{"outcome", "reason"})

	metricVerification = prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: "caddy",
		Subsystem: "clerk",
		Name:      "verification_seconds",
		Help:      "Time to verify a session token not found in the token cache (key lookup, signature, claims).",
		Buckets:   []float64{.00005, .0001, .00025, .0005, .001, .0025, .005, .01, .05, .25, 1, 5},
	})

	metricTokenCacheLookups = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "caddy",
		Subsystem: "clerk",
		Name:      "token_cache_lookups_total",
		Help:      "Verified-token cache lookups, by result (hit or miss; a stale entry is a miss).",
	}, []string{"result"})

	metricJWKSFetches = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "caddy",
		Subsystem: "clerk",
		Name:      "jwks_fetches_total",
		Help:      "JWKS downloads (background refreshes and unknown-kid refetches), by result (ok or error).",
	}, []string{"result"})

	metricBAPICalls = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "caddy",
		Subsystem: "clerk",
		Name:      "backend_api_calls_total",
		Help:      "Clerk Backend API calls (retries included in one call), by operation and result (ok, the HTTP status, or unavailable).",
	}, []string{"operation", "result"})

	descTokenCacheEntries = prometheus.NewDesc("caddy_clerk_token_cache_entries",
		"Verified tokens held in the token caches of the loaded clerk_auth handlers.", nil, nil)
	descJWKSKeys = prometheus.NewDesc("caddy_clerk_jwks_keys",
		"Keys in the last good JWKS of each key source.", []string{"url"}, nil)

	// Children resolved once, so that the hot path only increments.
	decisionSignedIn  = metricDecisions.WithLabelValues(outcomeSignedIn, "")
	decisionSignedOut = metricDecisions.WithLabelValues(outcomeSignedOut, "")
	tokenCacheHits    = metricTokenCacheLookups.WithLabelValues("hit")
	tokenCacheMisses  = metricTokenCacheLookups.WithLabelValues("miss")
	jwksFetchOK       = metricJWKSFetches.WithLabelValues("ok")
	jwksFetchError    = metricJWKSFetches.WithLabelValues("error")
)

// stateCollector reports the sizes of the live caches at scrape time.
type stateCollector struct{}

var metricState stateCollector

func (stateCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descTokenCacheEntries
	ch <- descJWKSKeys
}

func (stateCollector) Collect(ch chan<- prometheus.Metric) {
	entries := 0
	liveTokenCaches.Range(func(k, _ any) bool {
		entries += k.(*tokenCache).len()
		return true
	})
	ch <- prometheus.MustNewConstMetric(descTokenCacheEntries, prometheus.GaugeValue, float64(entries))

	keys := map[string]int{}
	jwksSources.Range(func(_, v any) bool {
		if rk, ok := v.(*remoteKeys); ok {
			n := 0
			if snap := rk.snap.Load(); snap != nil {
				n = len(*snap)
			}
			keys[rk.url] += n
		}
		return true
	})
	for url, n := range keys {
		ch <- prometheus.MustNewConstMetric(descJWKSKeys, prometheus.GaugeValue, float64(n), url)
	}
}

// liveTokenCaches holds the token cache of every provisioned clerk_auth,
// for caddy_clerk_token_cache_entries.
var liveTokenCaches sync.Map // *tokenCache -> struct{}

// len counts the entries of all shards.
func (c *tokenCache) len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.RLock()
		n += len(s.entries)
		s.mu.RUnlock()
	}
	return n
}

// registerMetrics adds this package's collectors to a config's registry.
func registerMetrics(reg *prometheus.Registry) error {
	for _, c := range []prometheus.Collector{metricDecisions, metricVerification, metricTokenCacheLookups,
		metricJWKSFetches, metricBAPICalls, bapiFailures, metricState} {
		if err := registerCollector(reg, c); err != nil {
			return err
		}
	}
	return nil
}

// countDecision records how a request was decided.
func countDecision(outcome, reason string) {
	switch {
	case reason == "" && outcome == outcomeSignedIn:
		decisionSignedIn.Inc()
		return
	case reason == "" && outcome == outcomeSignedOut:
		decisionSignedOut.Inc()
		return
	case strings.HasPrefix(reason, "require "):
		reason = "require" // custom require lines: one series, not one per line
	}
	metricDecisions.WithLabelValues(outcome, reason).Inc()
}

// observeVerification records an uncached verification that began at start.
func observeVerification(start time.Time) {
	metricVerification.Observe(time.Since(start).Seconds())
}

// countBAPICall records one Backend API call's result.
func countBAPICall(operation string, err error) {
	result := "ok"
	if err != nil {
		result = "unavailable"
		if s := bapiStatus(err); s != 0 {
			result = strconv.Itoa(s)
		}
	}
	metricBAPICalls.WithLabelValues(operation, result).Inc()
}
