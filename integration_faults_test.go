package caddyclerk

// Fault injection through clerktest's switches, through a real Caddy: for
// each fault, the answer users get while it lasts (status and
// X-Clerk-Auth-Reason) and how long after it clears until they get the
// healthy answer again (logged, and summarised in SECURITY.md).
//
// Already covered elsewhere, and not repeated here: JWKS 500 at start and
// recovery (TestIntegrationJWKSDownAtStart), JWKS 500 after good keys
// (TestIntegrationKeys), a wrong secret key (TestIntegrationWrongSecretKey),
// and the Backend API answering 500 for user enrichment, machine tokens and
// session liveness (integration_bapi_test.go). The Backend API faults here
// are the ones those tests do not inject: hanging and 429.

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddy-clerk/caddy-clerk/clerktest"
)

// faultClient outlives the 10 s JWKS fetch timeout, unlike noRedirects.
var faultClient = &http.Client{
	Timeout:       20 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// faultAnswer is what one request got.
type faultAnswer struct {
	status int
	reason string
	body   string
	took   time.Duration
	err    error
}

func (a faultAnswer) String() string {
	if a.err != nil {
		return "error " + a.err.Error()
	}
	return fmt.Sprintf("%d reason=%q in %v body=%q", a.status, a.reason, a.took.Round(time.Millisecond), a.body)
}

// faultGet sends GET path with a bearer token (none if tok is empty).
func faultGet(path, tok string) faultAnswer {
	req, err := http.NewRequest(http.MethodGet, siteURL+path, nil)
	if err != nil {
		return faultAnswer{err: err}
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	start := time.Now()
	resp, err := faultClient.Do(req)
	if err != nil {
		return faultAnswer{err: err, took: time.Since(start)}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return faultAnswer{status: resp.StatusCode, reason: resp.Header.Get("X-Clerk-Auth-Reason"), body: string(body), took: time.Since(start)}
}

// expect checks one answer; wantBody may be empty.
func (a faultAnswer) expect(t *testing.T, what string, status int, reason, wantBody string) {
	t.Helper()
	if a.err != nil || a.status != status || a.reason != reason || !strings.Contains(a.body, wantBody) {
		t.Errorf("%s: got %v, want %d reason=%q body containing %q", what, a, status, reason, wantBody)
	}
}

// untilHealthy polls until healthy accepts an answer, and returns how long
// that took from start, or fails after limit.
func untilHealthy(t *testing.T, what string, start time.Time, limit time.Duration, get func() faultAnswer, healthy func(faultAnswer) bool) time.Duration {
	t.Helper()
	var last faultAnswer
	for time.Since(start) < limit {
		if last = get(); healthy(last) {
			return time.Since(start)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Errorf("%s: not recovered %v after the fault cleared; last answer %v", what, limit, last)
	return limit
}

func TestIntegrationFaultJWKS(t *testing.T) {
	setForTest(t, &jwksMinRefetch, 300*time.Millisecond)

	ci := clerktest.Start(t, clerktest.Options{Host: "clerk.faults.test"})
	loadSite(t, ci, "public_routes /open", "")
	faultGet("/", ci.Mint(clerktest.Session{UserID: "user_warm"})).expect(t, "good keys loaded", 200, "", "user=user_warm")

	for _, tc := range []struct {
		mode      clerktest.JWKSMode
		maxUnseen time.Duration // bound on the answer to an unknown kid during the fault
	}{
		{clerktest.JWKSFail, time.Second},
		{clerktest.JWKSGarbage, time.Second},
		{clerktest.JWKSEmpty, time.Second},
		{clerktest.JWKSRateLimited, time.Second},
		{clerktest.JWKSHang, jwksFetchTimeout + 2*time.Second},
	} {
		t.Run(tc.mode.String(), func(t *testing.T) {
			known := ci.Mint(clerktest.Session{UserID: "user_known"})
			faultGet("/", known).expect(t, "before the fault", 200, "", "user=user_known")
			time.Sleep(jwksMinRefetch + 50*time.Millisecond) // an unknown kid may fetch again
			ci.ResetJWKSFetches()
			ci.SetJWKSMode(tc.mode)
			defer ci.SetJWKSMode(clerktest.JWKSOK)
			ci.RotateKey() // tokens from now on carry a kid Caddy has not seen
			fresh := ci.Mint(clerktest.Session{UserID: "user_fresh"})

			// The unknown kid fetches (and, for JWKSHang, waits for the fetch)
			// while requests with known kids keep being answered.
			unseen := make(chan faultAnswer, 1)
			go func() { unseen <- faultGet("/", fresh) }()
			var slowestKnown time.Duration
			var knownAnswers int
			deadline := time.After(150 * time.Millisecond)
		known:
			for {
				select {
				case <-deadline:
					break known
				default:
				}
				a := faultGet("/", known)
				a.expect(t, "known kid during the fault", 200, "", "user=user_known")
				slowestKnown = max(slowestKnown, a.took)
				knownAnswers++
			}
			faultGet("/open", "").expect(t, "public route during the fault", 200, "", "status=signed-out")
			a := <-unseen
			a.expect(t, "unknown kid during the fault", 401, "jwk-kid-mismatch", "")
			if a.took > tc.maxUnseen {
				t.Errorf("unknown kid answered in %v, want < %v", a.took, tc.maxUnseen)
			}
			if slowestKnown > 500*time.Millisecond {
				t.Errorf("a known kid took %v during the fault", slowestKnown)
			}
			// More unknown kids inside the refetch window: no more fetches.
			if tc.mode != clerktest.JWKSHang {
				for range 5 {
					faultGet("/", fresh).expect(t, "unknown kid again", 401, "jwk-kid-mismatch", "")
				}
			}
			fetches := ci.JWKSFetches()
			if fetches != 1 {
				t.Errorf("%d JWKS fetches during the fault, want 1", fetches)
			}
			t.Logf("%v: unknown kid -> %d %s in %v; %d known-kid requests, slowest %v; %d JWKS fetch(es)",
				tc.mode, a.status, a.reason, a.took.Round(time.Millisecond), knownAnswers, slowestKnown.Round(time.Millisecond), fetches)

			ci.SetJWKSMode(clerktest.JWKSOK)
			cleared := time.Now()
			took := untilHealthy(t, "new key", cleared, 5*time.Second,
				func() faultAnswer { return faultGet("/", fresh) },
				func(a faultAnswer) bool { return a.status == 200 })
			faultGet("/", known).expect(t, "old key after recovery", 200, "", "user=user_known")
			t.Logf("%v: recovered %v after the fault cleared (refetch window %v)", tc.mode, took.Round(time.Millisecond), jwksMinRefetch)
		})
	}
}

// TestIntegrationFaultJWKSDownAtStartDefaults measures recovery from a JWKS
// that is down when the config loads, with the production timings: no key
// yet, so the background refresher's retry (2 s, then backing off) is what
// brings the keys.
func TestIntegrationFaultJWKSDownAtStartDefaults(t *testing.T) {
	ci := clerktest.Start(t, clerktest.Options{Host: "clerk.faultstart.test"})
	ci.SetJWKSMode(clerktest.JWKSFail)
	loaded := time.Now()
	loadSite(t, ci, "public_routes /open", "")
	tok := ci.Mint(clerktest.Session{UserID: "user_s"})
	faultGet("/", tok).expect(t, "protected while down", 401, "jwk-remote-failed-to-load", "")
	faultGet("/open", "").expect(t, "public while down", 200, "", "status=signed-out")
	time.Sleep(300 * time.Millisecond)
	ci.SetJWKSMode(clerktest.JWKSOK)
	cleared := time.Now()
	took := untilHealthy(t, "protected", cleared, 10*time.Second,
		func() faultAnswer { return faultGet("/", tok) },
		func(a faultAnswer) bool { return a.status == 200 })
	t.Logf("down at start (default timings): recovered %v after the fault cleared, %v after the config loaded",
		took.Round(time.Millisecond), time.Since(loaded).Round(time.Millisecond))
}

// TestIntegrationFaultRotationUnderLoad rotates the signing key three times
// while workers keep sending requests with tokens from the current key: no
// request may be rejected, and each new key costs exactly one JWKS fetch.
func TestIntegrationFaultRotationUnderLoad(t *testing.T) {
	setForTest(t, &jwksMinRefetch, 200*time.Millisecond)

	ci := clerktest.Start(t, clerktest.Options{Host: "clerk.rotate.test"})
	loadSite(t, ci, "", "")
	faultGet("/", ci.Mint(clerktest.Session{UserID: "user_r"})).expect(t, "warm", 200, "", "user=user_r")
	time.Sleep(jwksMinRefetch + 50*time.Millisecond)
	ci.ResetJWKSFetches()

	const workers, rotations = 8, 3
	var total, rejected atomic.Int64
	var slowest atomic.Int64
	var mu sync.Mutex
	var failures []string
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				a := faultGet("/", ci.Mint(clerktest.Session{UserID: "user_r"}))
				total.Add(1)
				for {
					s := slowest.Load()
					if int64(a.took) <= s || slowest.CompareAndSwap(s, int64(a.took)) {
						break
					}
				}
				if a.err != nil || a.status != 200 {
					rejected.Add(1)
					mu.Lock()
					failures = append(failures, a.String())
					mu.Unlock()
				}
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	for range rotations {
		ci.RotateKey()
		time.Sleep(400 * time.Millisecond) // longer than the refetch window
	}
	close(stop)
	wg.Wait()
	if n := rejected.Load(); n != 0 {
		t.Errorf("%d of %d requests rejected during rotation; first: %v", n, total.Load(), failures[0])
	}
	if n := ci.JWKSFetches(); n != rotations {
		t.Errorf("%d JWKS fetches for %d rotations, want one each", n, rotations)
	}
	t.Logf("rotation under load: %d requests from %d workers, %d rotations, %d rejected, %d JWKS fetches, slowest request %v",
		total.Load(), workers, rotations, rejected.Load(), ci.JWKSFetches(), time.Duration(slowest.Load()).Round(time.Millisecond))
}

// TestIntegrationFaultRotationInsideWindow documents the cost of the refetch
// rate limit: a key that starts signing less than jwksMinRefetch after the
// last JWKS fetch (a request's or the 5-minute background refresh's) is
// refused until the window has passed.
func TestIntegrationFaultRotationInsideWindow(t *testing.T) {
	setForTest(t, &jwksMinRefetch, time.Second)

	ci := clerktest.Start(t, clerktest.Options{Host: "clerk.window.test"})
	loadSite(t, ci, "", "")
	faultGet("/", ci.Mint(clerktest.Session{UserID: "user_w"})).expect(t, "warm", 200, "", "user=user_w")
	ci.RotateKey()
	fresh := ci.Mint(clerktest.Session{UserID: "user_w2"})
	faultGet("/", fresh).expect(t, "new key inside the window", 401, "jwk-kid-mismatch", "")
	rotated := time.Now()
	took := untilHealthy(t, "new key", rotated, 3*jwksMinRefetch,
		func() faultAnswer { return faultGet("/", fresh) },
		func(a faultAnswer) bool { return a.status == 200 })
	if took > jwksMinRefetch+200*time.Millisecond {
		t.Errorf("new key refused for %v, longer than the %v window", took, jwksMinRefetch)
	}
	t.Logf("rotation inside the refetch window (%v): new-key tokens refused for %v", jwksMinRefetch, took.Round(time.Millisecond))
}

// TestIntegrationFaultBAPI makes the Backend API hang, then answer 429, for
// every feature that calls it, all in flight at once: user enrichment
// (optional and required), session liveness (protected and public routes)
// and opaque machine tokens. Session tokens never call it.
func TestIntegrationFaultBAPI(t *testing.T) {
	setForTest(t, &bapiFailureTTL, time.Second)

	ci := clerktest.Start(t, clerktest.Options{Host: "clerk.bapifault.test"})
	keys := clerkKeys(ci)
	loadConfig(t, fmt.Sprintf(`http://localhost:9080 {
	route /enrich/* {
		clerk_auth {
			%s
			user_fields email
		}
		respond "enrich email={clerk.user.email} status={clerk.auth_status}"
	}
	route /required/* {
		clerk_auth {
			%s
			user_fields email
			user_fields_required
		}
		respond "required email={clerk.user.email}"
	}
	route /live/* {
		clerk_auth {
			%s
			session_liveness 300ms
		}
		respond "live {clerk.user_id}"
	}
	route /public-live/* {
		clerk_auth {
			%s
			session_liveness 300ms
			public_routes /public-live/(.*)
		}
		respond "public {clerk.auth_status} {clerk.auth_reason}"
	}
	clerk_auth {
		%s
		accept session_token api_key
	}
	respond "machine {clerk.token_type} {clerk.user_id}"
}`, keys, keys, keys, keys, keys))

	type probe struct {
		name, path   string
		tok          func(tag string) string
		status       int
		reason, body string
	}
	user := func(tag, kind string) string { return "user_" + tag + "_" + kind }
	ok200 := func(want string) func(faultAnswer) bool {
		return func(a faultAnswer) bool { return a.status == 200 && strings.Contains(a.body, want) }
	}
	probes := []probe{
		{name: "user enrichment", path: "/enrich/x", status: 200, body: "email= status=signed-in",
			tok: func(tag string) string { return ci.Mint(clerktest.Session{UserID: user(tag, "e")}) }},
		{name: "user_fields_required", path: "/required/x", status: 503, reason: "user-fields-unavailable",
			tok: func(tag string) string { return ci.Mint(clerktest.Session{UserID: user(tag, "r")}) }},
		{name: "liveness, protected", path: "/live/x", status: 503, reason: "session-liveness-unavailable",
			tok: func(tag string) string {
				return ci.Mint(clerktest.Session{UserID: user(tag, "l"), SessionID: "sess_" + tag + "_l"})
			}},
		{name: "liveness, public route", path: "/public-live/x", status: 200, body: "public signed-out session-liveness-unavailable",
			tok: func(tag string) string {
				return ci.Mint(clerktest.Session{UserID: user(tag, "p"), SessionID: "sess_" + tag + "_p"})
			}},
		{name: "opaque machine token", path: "/m", status: 401, reason: "unexpected-error",
			tok: func(tag string) string { return ci.CreateAPIKey(clerktest.APIKey{Subject: user(tag, "m")}) }},
		{name: "session token, no BAPI call", path: "/s", status: 200, body: "machine session_token",
			tok: func(tag string) string { return ci.Mint(clerktest.Session{UserID: user(tag, "s")}) }},
	}
	healthy := map[string]func(tag string) func(faultAnswer) bool{
		"user enrichment":             func(tag string) func(faultAnswer) bool { return ok200("email=" + tag + "e@example.test") },
		"user_fields_required":        func(tag string) func(faultAnswer) bool { return ok200("email=" + tag + "r@example.test") },
		"liveness, protected":         func(tag string) func(faultAnswer) bool { return ok200("live " + user(tag, "l")) },
		"liveness, public route":      func(string) func(faultAnswer) bool { return ok200("public signed-in ") },
		"opaque machine token":        func(tag string) func(faultAnswer) bool { return ok200("machine api_key " + user(tag, "m")) },
		"session token, no BAPI call": func(string) func(faultAnswer) bool { return ok200("machine session_token") },
	}

	for _, tc := range []struct {
		mode  clerktest.APIMode
		name  string
		bound time.Duration
	}{
		{clerktest.APIHang, "APIHang", bapiCallTimeout + time.Second},
		{clerktest.APIRateLimited, "APIRateLimited", bapiCallTimeout + time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tag := strings.ToLower(strings.TrimPrefix(tc.name, "API"))
			for _, kind := range []string{"e", "r"} {
				ci.CreateUser(clerktest.User{ID: user(tag, kind), Email: tag + kind + "@example.test"})
			}
			toks := make([]string, len(probes))
			for i, p := range probes {
				toks[i] = p.tok(tag)
			}
			ci.SetAPIMode(tc.mode)
			defer ci.SetAPIMode(clerktest.APIOK)
			answers := make([]faultAnswer, len(probes))
			var wg sync.WaitGroup
			for i, p := range probes {
				wg.Add(1)
				go func() {
					defer wg.Done()
					answers[i] = faultGet(p.path, toks[i])
				}()
			}
			wg.Wait()
			for i, p := range probes {
				answers[i].expect(t, p.name, p.status, p.reason, p.body)
				if answers[i].took > tc.bound {
					t.Errorf("%s: answered in %v, want < %v", p.name, answers[i].took, tc.bound)
				}
				t.Logf("%s, %s: %d %q in %v", tc.name, p.name, answers[i].status, answers[i].reason, answers[i].took.Round(time.Millisecond))
			}

			ci.SetAPIMode(clerktest.APIOK)
			cleared := time.Now()
			recovered := make([]time.Duration, len(probes))
			for i, p := range probes {
				wg.Add(1)
				go func() {
					defer wg.Done()
					recovered[i] = untilHealthy(t, p.name, cleared, 5*time.Second,
						func() faultAnswer { return faultGet(p.path, toks[i]) }, healthy[p.name](tag))
				}()
			}
			wg.Wait()
			for i, p := range probes {
				t.Logf("%s, %s: healthy again %v after the fault cleared", tc.name, p.name, recovered[i].Round(time.Millisecond))
			}
		})
	}
}
