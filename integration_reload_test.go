package caddyclerk

import (
	"fmt"
	"io"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddytest"

	"github.com/caddy-clerk/caddy-clerk/clerktest"
)

// TestIntegrationReloadUnderLoad reloads Caddy's config repeatedly while
// signed-in traffic runs: no request may get a wrong answer or fail after
// the usual single retry of a keep-alive connection closed by the old
// server, the shared key cache must not refetch, and goroutines must come
// back to their baseline afterwards.
func TestIntegrationReloadUnderLoad(t *testing.T) {
	config := func(public string) string {
		return itPorts.Replace(`{
	skip_install_trust
	admin localhost:2999
	http_port 9080
	https_port 9443
	grace_period 5s
}
http://localhost:9080 {
	clerk_auth {
		` + clerkKeys(itClerk) + `
		public_routes ` + public + `
	}
	respond "user={clerk.user_id}"
}`)
	}
	tester := caddytest.NewTester(t)
	tester.InitServer(config("/open-0"), "caddyfile")
	token := itClerk.Mint(clerktest.Session{UserID: "user_reload"})
	runExchanges(t, []exchange{{name: "warm", path: "/", header: bearer(token), wantStatus: 200}})
	time.Sleep(200 * time.Millisecond)
	baseline := runtime.NumGoroutine()
	itClerk.ResetJWKSFetches()

	var served, failed, retried atomic.Int64
	var firstFailure atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 10 * time.Second}
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				req, _ := http.NewRequest(http.MethodGet, siteURL+"/dashboard", nil)
				req.Header.Set("Authorization", "Bearer "+token)
				resp, err := client.Do(req)
				if err != nil {
					// A keep-alive connection the old server closed just as
					// the request went out ends in EOF; any HTTP client
					// retries that once on a new connection, and so do we.
					retried.Add(1)
					resp, err = client.Do(req)
				}
				if err != nil {
					failed.Add(1)
					firstFailure.CompareAndSwap(nil, err.Error())
					continue
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK || string(body) != "user=user_reload" {
					failed.Add(1)
					firstFailure.CompareAndSwap(nil, fmt.Sprintf("%d %q", resp.StatusCode, body))
					continue
				}
				served.Add(1)
			}
		}()
	}
	const reloads = 8
	for i := 1; i <= reloads; i++ {
		time.Sleep(150 * time.Millisecond)
		tester.InitServer(config(fmt.Sprintf("/open-%d", i)), "caddyfile")
	}
	time.Sleep(150 * time.Millisecond)
	close(stop)
	wg.Wait()
	client.CloseIdleConnections()

	t.Logf("%d requests served across %d reloads, %d retried on a new connection, %d failed",
		served.Load(), reloads, retried.Load(), failed.Load())
	if failed.Load() != 0 {
		t.Errorf("%d requests failed during reloads; first: %v", failed.Load(), firstFailure.Load())
	}
	if served.Load() < reloads {
		t.Errorf("only %d requests were served", served.Load())
	}
	if n := itClerk.JWKSFetches(); n != 0 {
		t.Errorf("reloads refetched the JWKS %d times; the key cache must be shared", n)
	}

	// Old servers drain within the grace period; their goroutines must go.
	var now int
	for deadline := time.Now().Add(8 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if now = runtime.NumGoroutine(); now <= baseline+5 {
			break
		}
	}
	if now > baseline+5 {
		buf := make([]byte, 1<<16)
		t.Errorf("goroutines: %d after the reloads, baseline %d\n%s", now, baseline, buf[:runtime.Stack(buf, true)])
	}
}
