package caddyclerk

import (
	"bufio"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/caddy-clerk/caddy-clerk/clerktest"
)

// scrapeMetrics reads Caddy's admin /metrics into series (name{labels}) and
// values.
func scrapeMetrics(t *testing.T) map[string]float64 {
	t.Helper()
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Get("http://localhost:" + itAdminPort + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: status %d", resp.StatusCode)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		out[line[:i]] = v
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// sumSeries adds up the series whose name{labels} starts with prefix.
func sumSeries(m map[string]float64, prefix string) float64 {
	var n float64
	for k, v := range m {
		if strings.HasPrefix(k, prefix) {
			n += v
		}
	}
	return n
}

func TestIntegrationMetrics(t *testing.T) {
	ci := clerktest.Start(t, clerktest.Options{Host: "clerk.metrics.test"})
	ci.CreateUser(clerktest.User{ID: "user_m", Email: "m@example.test"})
	loadConfig(t, fmt.Sprintf(`http://localhost:9080 {
	clerk_auth {
		%s
		public_routes /public
		api_routes /api/(.*)
		user_fields email
	}
	respond "status={clerk.auth_status} email={clerk.user.email}"
}`, clerkKeys(ci)))

	before := scrapeMetrics(t)
	tok := ci.Mint(clerktest.Session{UserID: "user_m"})
	runExchanges(t, []exchange{
		{name: "signed in", path: "/dashboard", header: bearer(tok), wantStatus: 200,
			wantBody: []string{"status=signed-in email=m@example.test"}},
		{name: "same token again: cache hit", path: "/dashboard", header: bearer(tok), wantStatus: 200},
		{name: "signed-out API request", path: "/api/things", header: map[string]string{"Accept": "application/json"}, wantStatus: 401},
		{name: "signed-out public page", path: "/public", wantStatus: 200, wantBody: []string{"status=signed-out"}},
	})
	after := scrapeMetrics(t)

	moved := func(series string, atLeast float64) {
		t.Helper()
		if d := sumSeries(after, series) - sumSeries(before, series); d < atLeast {
			t.Errorf("%s moved by %v, want at least %v", series, d, atLeast)
		}
	}
	moved(`caddy_clerk_decisions_total{outcome="signed_in",reason=""}`, 2)
	moved(`caddy_clerk_decisions_total{outcome="unauthenticated",`, 1)
	moved(`caddy_clerk_decisions_total{outcome="signed_out",`, 1)
	moved(`caddy_clerk_token_cache_lookups_total{result="hit"}`, 1)
	moved(`caddy_clerk_token_cache_lookups_total{result="miss"}`, 1)
	moved(`caddy_clerk_verification_seconds_count`, 1)
	moved(`caddy_clerk_backend_api_calls_total{operation="user",result="ok"}`, 1)

	// The JWKS is fetched in the background at provisioning, before the
	// first scrape.
	if n := after[`caddy_clerk_jwks_fetches_total{result="ok"}`]; n < 1 {
		t.Errorf("caddy_clerk_jwks_fetches_total{result=\"ok\"} = %v, want at least 1", n)
	}
	if n := after[`caddy_clerk_token_cache_entries`]; n < 1 {
		t.Errorf("caddy_clerk_token_cache_entries = %v, want at least 1", n)
	}
	jwksSeries := `caddy_clerk_jwks_keys{url="` + ci.BackendAPIURL() + `/v1/jwks"}`
	if n := after[jwksSeries]; n < 1 {
		t.Errorf("%s = %v, want at least 1", jwksSeries, n)
	}
	for _, name := range []string{"caddy_clerk_verification_seconds_bucket", "caddy_clerk_verification_seconds_sum"} {
		if sumSeries(after, name) == 0 {
			t.Errorf("no %s series", name)
		}
	}
}

// TestCountDecisionCollapsesRequire keeps custom require lines to one series.
func TestCountDecisionCollapsesRequire(t *testing.T) {
	c := metricDecisions.WithLabelValues(outcomeForbidden, "require")
	before := testCounterValue(t, c)
	countDecision(outcomeForbidden, "require role org:admin")
	countDecision(outcomeForbidden, "require permission org:x:y")
	if got := testCounterValue(t, c) - before; got != 2 {
		t.Errorf("require series moved by %v, want 2", got)
	}
}

func testCounterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}
