package caddyclerk

// Integration tests: a real Caddy (in this test process, via caddytest) loads
// a real Caddyfile and is hit over loopback, against a local Clerk instance
// (clerktest) serving real RS256 JWKS and tokens. One Caddy serves the whole
// binary, so these tests never run in parallel; each InitServer is a reload.

import (
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddytest"

	"github.com/caddy-clerk/caddy-clerk/clerktest"
)

// The ports of the in-process Caddy. CADDYCLERK_IT_HTTP_PORT and
// CADDYCLERK_IT_ADMIN_PORT move them, so that two test runs on one machine
// do not share (and reconfigure) one Caddy. Configs in these tests are
// written for the defaults and rewritten by itPorts.
var (
	itHTTPPort  = envPort("CADDYCLERK_IT_HTTP_PORT", "9080")
	itAdminPort = envPort("CADDYCLERK_IT_ADMIN_PORT", "2999")
	itHTTPSPort = envPort("CADDYCLERK_IT_HTTPS_PORT", "9443")
	siteURL     = "http://localhost:" + itHTTPPort
	itPorts     = strings.NewReplacer("localhost:9080", "localhost:"+itHTTPPort, "localhost:2999", "localhost:"+itAdminPort,
		"http_port 9080", "http_port "+itHTTPPort, "https_port 9443", "https_port "+itHTTPSPort)
)

func envPort(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// Shared by every integration test: the local Clerk instance (a production
// instance: development instances add the dev browser rules, tested in
// integration_handshake_test.go) and an upstream that echoes the X-Clerk-*
// headers it receives.
var (
	itClerk    *clerktest.Instance
	itUpstream *httptest.Server
)

func TestMain(m *testing.M) {
	caddytest.Default.AdminPort, _ = strconv.Atoi(itAdminPort)
	var err error
	if itClerk, err = clerktest.New(clerktest.Options{Host: "clerk.app.test", Live: true}); err != nil {
		fmt.Fprintln(os.Stderr, "starting clerktest:", err)
		os.Exit(1)
	}
	itUpstream = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var lines []string
		for name, vals := range r.Header {
			if strings.HasPrefix(strings.ToLower(name), "x-clerk-") || strings.HasPrefix(name, "X-Custom") {
				lines = append(lines, name+": "+strings.Join(vals, ","))
			}
		}
		sort.Strings(lines)
		fmt.Fprintf(w, "upstream %s\n%s", r.URL.Path, strings.Join(lines, "\n"))
	}))
	code := m.Run()
	itUpstream.Close()
	itClerk.Close()
	os.Exit(code)
}

// identityBody prints every documented placeholder.
const identityBody = `status={clerk.auth_status} reason={clerk.auth_reason} type={clerk.token_type} ` +
	`user={clerk.user_id} sid={clerk.session_id} sts={clerk.session_status} ` +
	`org={clerk.org_id} role={clerk.org_role} slug={clerk.org_slug} perms={clerk.org_permissions} ` +
	`actor={clerk.actor_id} azp={clerk.azp} fea={clerk.features} pla={clerk.plans} ` +
	`email={clerk.claims.email} tier={clerk.claims.meta.tier} authuser={http.auth.user.id}`

// testGlobals is the global options block every integration config starts
// with: caddytest's admin port, test ports, no trust store changes.
func testGlobals(extra string) string {
	return `{
	skip_install_trust
	admin localhost:2999
	http_port 9080
	https_port 9443
	grace_period 1ns
	` + extra + `
}
`
}

// clerkKeys is the clerk_auth key configuration for a clerktest instance.
func clerkKeys(ci *clerktest.Instance) string {
	return fmt.Sprintf("publishable_key %s\n\t\tsecret_key %s\n\t\tapi_url %s\n\t\tfrontend_api %s",
		ci.PublishableKey(), ci.SecretKey(), ci.BackendAPIURL(), ci.FrontendAPIURL())
}

// loadConfig (re)loads Caddy with the test globals and the given sites.
func loadConfig(t *testing.T, sites string) {
	t.Helper()
	caddytest.NewTester(t).InitServer(itPorts.Replace(testGlobals("")+sites), "caddyfile")
}

// assertLoadError checks that Caddy refuses sites with an error holding want.
func assertLoadError(t *testing.T, sites, want string) {
	t.Helper()
	caddytest.AssertLoadError(t, itPorts.Replace(testGlobals("")+sites), "caddyfile", want)
}

// loadSite (re)loads Caddy with one site: clerk_auth for ci with extra
// subdirectives, an /echo/* route to the upstream, and a respond that prints
// the identity. globalExtra goes into the global options block.
func loadSite(t *testing.T, ci *clerktest.Instance, clerkExtra, globalExtra string) *caddytest.Tester {
	t.Helper()
	tester := caddytest.NewTester(t)
	tester.InitServer(itPorts.Replace(testGlobals(globalExtra)+fmt.Sprintf(`http://localhost:9080 {
	clerk_auth {
		%s
		%s
	}
	handle /echo/* {
		reverse_proxy %s {
			header_up X-Custom-User {clerk.user_id}
		}
	}
	respond "%s"
}`, clerkKeys(ci), clerkExtra, strings.TrimPrefix(itUpstream.URL, "http://"), strings.ReplaceAll(identityBody, `"`, `\"`))), "caddyfile")
	return tester
}

// exchange is one request and what must come back.
type exchange struct {
	name       string
	method     string
	path       string
	header     map[string]string
	cookies    []*http.Cookie
	wantStatus int
	wantBody   []string          // substrings of the body
	notBody    []string          // substrings the body must not hold
	wantHeader map[string]string // exact header values; "" means absent
}

// noRedirects is a loopback client that reports redirects instead of
// following them.
var noRedirects = &http.Client{
	Timeout:       10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

func runExchanges(t *testing.T, cases []exchange) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			method := tc.method
			if method == "" {
				method = http.MethodGet
			}
			req, err := http.NewRequest(method, siteURL+tc.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			for _, c := range tc.cookies {
				req.AddCookie(c)
			}
			resp, err := noRedirects.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status %d, want %d; body %q; headers %v", resp.StatusCode, tc.wantStatus, body, resp.Header)
			}
			for _, s := range tc.wantBody {
				if !strings.Contains(string(body), s) {
					t.Errorf("body %q does not contain %q", body, s)
				}
			}
			for _, s := range tc.notBody {
				if strings.Contains(string(body), s) {
					t.Errorf("body %q contains %q", body, s)
				}
			}
			for k, want := range tc.wantHeader {
				if got := resp.Header.Get(k); got != want {
					t.Errorf("header %s = %q, want %q", k, got, want)
				}
			}
		})
	}
}

func bearer(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }

func TestIntegrationResponses(t *testing.T) {
	loadSite(t, itClerk, `public_routes / /public(.*) /echo/public(.*)
		api_routes /api/(.*)`, "")

	good := itClerk.Mint(clerktest.Session{
		UserID: "user_1", SessionID: "sess_1", Actor: "user_admin", Plans: "u:pro",
		Org:    &clerktest.Org{ID: "org_1", Slug: "acme", Role: "admin", Permissions: []string{"org:invoices:read", "org:invoices:manage"}},
		Claims: map[string]any{"email": "a@example.test", "meta": map[string]any{"tier": "gold"}},
	})
	v1 := itClerk.Mint(clerktest.Session{UserID: "user_v1", Version: 1,
		Org: &clerktest.Org{ID: "org_v1", Slug: "old", Role: "member", Permissions: []string{"org:sys_memberships:manage"}}})
	pending := itClerk.Mint(clerktest.Session{UserID: "user_p", SessionID: "sess_p", Status: "pending"})
	expired := itClerk.Mint(clerktest.Session{UserID: "user_x", IssuedAt: time.Now().Add(-2 * time.Minute), NotBefore: time.Now().Add(-2 * time.Minute), Expiry: time.Now().Add(-time.Minute)})
	otherKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	forged := itClerk.MintWithKey(otherKey, itClerk.KeyID(), clerktest.Session{UserID: "user_evil"})
	page := map[string]string{"Accept": "text/html,application/xhtml+xml", "Sec-Fetch-Dest": "document"}
	withPage := func(h map[string]string) map[string]string {
		out := map[string]string{}
		for k, v := range page {
			out[k] = v
		}
		for k, v := range h {
			out[k] = v
		}
		return out
	}
	signInBase := "https://accounts.app.test/sign-in"

	runExchanges(t, []exchange{
		{
			name: "signed in with every placeholder", path: "/dashboard", header: bearer(good), wantStatus: 200,
			wantBody: []string{"status=signed-in reason= type=session_token", "user=user_1 sid=sess_1 sts=active",
				"org=org_1 role=org:admin slug=acme perms=org:invoices:read,org:invoices:manage",
				"actor=user_admin azp=https://app.example.test", "pla=u:pro", "email=a@example.test tier=gold", "authuser=user_1"},
			wantHeader: map[string]string{"X-Clerk-Auth-Status": ""},
		},
		{
			name: "v1 claims verbatim", path: "/dashboard", header: bearer(v1), wantStatus: 200,
			wantBody: []string{"user=user_v1", "org=org_v1 role=org:member slug=old perms=org:sys_memberships:manage"},
		},
		{
			name: "public route without a token", path: "/public/page", wantStatus: 200,
			wantBody: []string{"status=signed-out reason=session-token-and-uat-missing type= user= sid=", "authuser="},
		},
		{
			name: "public route with a token sets identity", path: "/", header: bearer(good), wantStatus: 200,
			wantBody: []string{"status=signed-in", "user=user_1"},
		},
		{
			name: "public route with a bad token passes signed out", path: "/public", header: bearer(forged), wantStatus: 200,
			wantBody: []string{"status=signed-out reason=token-invalid-signature", "user= "},
		},
		{
			name: "CORS preflight passes unauthenticated", method: http.MethodOptions, path: "/api/things",
			header: map[string]string{"Origin": "https://app.test", "Access-Control-Request-Method": "POST"}, wantStatus: 200,
			wantBody: []string{"status=signed-out", "user= "},
		},
		{
			name: "page without a session redirects to sign-in", path: "/dashboard?tab=1", header: page, wantStatus: 307,
			wantHeader: map[string]string{
				"Location":            signInBase + "?redirect_url=" + url.QueryEscape(siteURL+"/dashboard?tab=1"),
				"X-Clerk-Auth-Status": "signed-out", "X-Clerk-Auth-Reason": "session-token-and-uat-missing",
			},
		},
		{
			name: "page by Accept alone redirects", path: "/dashboard", header: map[string]string{"Accept": "text/html"}, wantStatus: 307,
		},
		{
			name: "HEAD page redirects", method: http.MethodHead, path: "/dashboard", header: page, wantStatus: 307,
		},
		{
			name: "pending session goes to sign-in tasks", path: "/dashboard", header: withPage(bearer(pending)), wantStatus: 307,
			wantHeader: map[string]string{
				"Location":            signInBase + "/tasks?redirect_url=" + url.QueryEscape(siteURL+"/dashboard"),
				"X-Clerk-Auth-Status": "signed-out", "X-Clerk-Auth-Reason": "session-pending",
			},
		},
		{
			name: "pending session on a public route is signed out", path: "/public", header: bearer(pending), wantStatus: 200,
			wantBody: []string{"status=signed-out reason=session-pending type=session_token user= sid= sts=pending"},
		},
		{
			name: "API without a token gets 401", path: "/api/things", wantStatus: 401,
			wantHeader: map[string]string{"WWW-Authenticate": "Bearer", "X-Clerk-Auth-Status": "signed-out",
				"X-Clerk-Auth-Reason": "session-token-and-uat-missing"},
		},
		{
			name: "API route is never redirected", path: "/api/things", header: page, wantStatus: 401,
		},
		{
			name: "non-page request gets 401", path: "/dashboard", header: map[string]string{"Accept": "application/json"}, wantStatus: 401,
		},
		{
			name: "POST form is not a page request", method: http.MethodPost, path: "/dashboard", header: page, wantStatus: 401,
		},
		{
			name: "forged token gets 401 invalid_token", path: "/api/things", header: bearer(forged), wantStatus: 401,
			wantHeader: map[string]string{"WWW-Authenticate": `Bearer error="invalid_token"`,
				"X-Clerk-Auth-Reason": "token-invalid-signature"},
		},
		{
			name: "expired token", path: "/api/things", header: bearer(expired), wantStatus: 401,
			wantHeader: map[string]string{"X-Clerk-Auth-Reason": "session-token-expired-refresh-non-eligible-no-refresh-cookie"},
		},
		{
			name: "garbage token", path: "/api/things", header: bearer("not.a.jwt"), wantStatus: 401,
			wantHeader: map[string]string{"X-Clerk-Auth-Reason": "token-invalid", "WWW-Authenticate": `Bearer error="invalid_token"`},
		},
		{
			name: "bad header token never falls back to a good cookie", path: "/api/things", header: bearer(forged),
			cookies: itClerk.SessionCookies(good), wantStatus: 401,
		},
		{
			name: "session cookie signs in", path: "/dashboard", cookies: itClerk.SessionCookies(good), wantStatus: 200,
			wantBody: []string{"status=signed-in", "user=user_1"},
		},
		{
			name: "session cookie without client_uat", path: "/api/x", cookies: []*http.Cookie{{Name: "__session", Value: good}}, wantStatus: 401,
			wantHeader: map[string]string{"X-Clerk-Auth-Reason": "session-token-but-no-client-uat", "WWW-Authenticate": `Bearer error="invalid_token"`},
		},
		{
			name: "client_uat without a session", path: "/api/x", cookies: []*http.Cookie{{Name: "__client_uat", Value: "1700000000"}}, wantStatus: 401,
			wantHeader: map[string]string{"X-Clerk-Auth-Reason": "client-uat-but-no-session-token", "WWW-Authenticate": "Bearer"},
		},
		{
			name: "session older than client_uat", path: "/api/x",
			cookies:    []*http.Cookie{{Name: "__session", Value: good}, {Name: "__client_uat", Value: fmt.Sprint(time.Now().Add(time.Hour).Unix())}},
			wantStatus: 401, wantHeader: map[string]string{"X-Clerk-Auth-Reason": "session-token-iat-before-client-uat"},
		},
		{
			name: "malformed path encoding gets 400", path: "/%c0%ae%c0%ae/admin", wantStatus: 400,
		},
		{
			name: "dot segments cannot reach past a public prefix", path: "/public/../admin", header: map[string]string{"Accept": "application/json"}, wantStatus: 401,
		},
		{
			name: "encoded slash is never public", path: "/public%2f..%2fadmin", wantStatus: 401,
		},
	})
}

func TestIntegrationIdentityHeaders(t *testing.T) {
	loadSite(t, itClerk, `public_routes /echo/public(.*)`, "")
	good := itClerk.Mint(clerktest.Session{UserID: "user_h", SessionID: "sess_h",
		Org: &clerktest.Org{ID: "org_h", Slug: "hs", Role: "admin", Permissions: []string{"org:a:read"}}})
	forge := map[string]string{"X-Clerk-User-Id": "user_forged", "x-clerk-org-role": "org:admin", "X-CLERK-EXTRA": "1"}
	withAuth := map[string]string{"Authorization": "Bearer " + good}
	for k, v := range forge {
		withAuth[k] = v
	}
	runExchanges(t, []exchange{
		{
			name: "forged headers stripped on a public route", path: "/echo/public", header: forge, wantStatus: 200,
			notBody: []string{"user_forged", "X-Clerk-Org-Role", "X-Clerk-Extra"},
		},
		{
			name: "signed in: real identity replaces forged", path: "/echo/private", header: withAuth, wantStatus: 200,
			wantBody: []string{"X-Clerk-Org-Id: org_h", "X-Clerk-Org-Permissions: org:a:read", "X-Clerk-Org-Role: org:admin",
				"X-Clerk-Org-Slug: hs", "X-Clerk-Session-Id: sess_h", "X-Clerk-User-Id: user_h", "X-Custom-User: user_h"},
			notBody: []string{"user_forged", "X-Clerk-Extra"},
		},
	})

	loadSite(t, itClerk, "identity_headers off", "")
	runExchanges(t, []exchange{{
		name: "identity_headers off keeps placeholders only", path: "/echo/x", header: withAuth, wantStatus: 200,
		wantBody: []string{"X-Custom-User: user_h"}, notBody: []string{"X-Clerk-User-Id", "user_forged"},
	}})
}

func TestIntegrationRouteModes(t *testing.T) {
	loadSite(t, itClerk, `protected_routes /admin(.*) /org/:slug`, "")
	runExchanges(t, []exchange{
		{name: "unprotected path passes", path: "/home", wantStatus: 200, wantBody: []string{"status=signed-out"}},
		{name: "protected prefix", path: "/ADMIN/users", wantStatus: 401},
		{name: "protected param", path: "/org/acme/", wantStatus: 401},
		{name: "param does not span segments", path: "/org/acme/members", wantStatus: 200},
		{name: "suspicious path counts as protected", path: "/home;x", wantStatus: 401},
		{name: "dot segments resolve into a protected path", path: "/home/../admin", wantStatus: 401},
	})

	loadSite(t, itClerk, "", "")
	runExchanges(t, []exchange{
		{name: "no route lists: everything is protected", path: "/", wantStatus: 401},
		{name: "no sign-in URL needed for API clients", path: "/x", header: map[string]string{"Accept": "*/*"}, wantStatus: 401},
	})
}

func TestIntegrationSignInURLAndProxies(t *testing.T) {
	loadSite(t, itClerk, "sign_in_url /login", `servers {
		trusted_proxies static 127.0.0.1/32 ::1/128
	}`)
	runExchanges(t, []exchange{
		{
			name: "relative sign-in URL, forwarded host from a trusted proxy", path: "/p?q=a%20b",
			header:     map[string]string{"Accept": "text/html", "X-Forwarded-Host": "app.example.com, evil.test", "X-Forwarded-Proto": "https"},
			wantStatus: 307,
			wantHeader: map[string]string{"Location": "https://app.example.com/login?redirect_url=" + url.QueryEscape("https://app.example.com/p?q=a%20b")},
		},
		{
			name: "a forwarded host that is not a host is ignored", path: "/p",
			header:     map[string]string{"Accept": "text/html", "X-Forwarded-Host": "evil.test/path"},
			wantStatus: 307,
			wantHeader: map[string]string{"Location": siteURL + "/login?redirect_url=" + url.QueryEscape(siteURL+"/p")},
		},
	})

	loadSite(t, itClerk, "sign_in_url https://login.example.com/in?x=1", "")
	runExchanges(t, []exchange{{
		name: "untrusted client cannot move the redirect_url", path: "/p",
		header:     map[string]string{"Accept": "text/html", "X-Forwarded-Host": "evil.test", "X-Forwarded-Proto": "https"},
		wantStatus: 307,
		wantHeader: map[string]string{"Location": "https://login.example.com/in?redirect_url=" + url.QueryEscape(siteURL+"/p") + "&x=1"},
	}})
}

func TestIntegrationHandleErrors(t *testing.T) {
	loadConfig(t, fmt.Sprintf(`http://localhost:9080 {
	clerk_auth {
		publishable_key %s
		frontend_api %s
	}
	respond "ok"
	handle_errors {
		respond "custom {err.status_code} reason={clerk.auth_reason}"
	}
}`, itClerk.PublishableKey(), itClerk.FrontendAPIURL()))
	runExchanges(t, []exchange{
		{
			name: "401 rendered by handle_errors", path: "/x", wantStatus: 401,
			wantBody:   []string{"custom 401 reason=session-token-and-uat-missing"},
			wantHeader: map[string]string{"X-Clerk-Auth-Reason": "session-token-and-uat-missing"},
		},
		{
			name: "FAPI JWKS verifies without a secret key", path: "/x", header: bearer(itClerk.Mint(clerktest.Session{UserID: "user_f"})),
			wantStatus: 200, wantBody: []string{"ok"},
		},
	})
}

func TestIntegrationKeys(t *testing.T) {
	setForTest(t, &jwksMinRefetch, 200*time.Millisecond)

	ci := clerktest.Start(t, clerktest.Options{Host: "clerk.keys.test"})
	loadSite(t, ci, "", "")
	tok := ci.Mint(clerktest.Session{UserID: "user_k"})
	runExchanges(t, []exchange{{name: "first key", path: "/", header: bearer(tok), wantStatus: 200, wantBody: []string{"user=user_k"}}})
	if v := ci.LastAPIVersion(); v != clerkAPIVersion {
		t.Errorf("BAPI saw Clerk-API-Version %q, want %q", v, clerkAPIVersion)
	}

	t.Run("rotation is picked up on the unknown kid", func(t *testing.T) {
		time.Sleep(250 * time.Millisecond)
		ci.RotateKey()
		rotated := ci.Mint(clerktest.Session{UserID: "user_rotated"})
		runExchanges(t, []exchange{
			{name: "new key", path: "/", header: bearer(rotated), wantStatus: 200, wantBody: []string{"user=user_rotated"}},
			{name: "old key still published", path: "/", header: bearer(tok), wantStatus: 200},
		})
	})

	t.Run("a flood of unknown kids is one fetch", func(t *testing.T) {
		time.Sleep(250 * time.Millisecond)
		ci.ResetJWKSFetches()
		for i := 0; i < 50; i++ {
			kid := fmt.Sprintf("ins_random_%d", i)
			fake := ci.Sign(map[string]any{"alg": "RS256", "kid": kid, "typ": "JWT"}, map[string]any{"sub": "user_1", "exp": time.Now().Add(time.Minute).Unix()})
			runExchanges(t, []exchange{{name: kid, path: "/", header: bearer(fake), wantStatus: 401,
				wantHeader: map[string]string{"X-Clerk-Auth-Reason": "jwk-kid-mismatch"}}})
		}
		if n := ci.JWKSFetches(); n < 1 || n > 3 {
			t.Errorf("%d JWKS fetches for 50 unknown kids in well under a second, want 1 (at most 3 windows)", n)
		}
	})

	t.Run("keys survive a JWKS outage", func(t *testing.T) {
		ci.SetJWKSMode(clerktest.JWKSFail)
		defer ci.SetJWKSMode(clerktest.JWKSOK)
		time.Sleep(250 * time.Millisecond)
		unknown := ci.Sign(map[string]any{"alg": "RS256", "kid": "ins_gone", "typ": "JWT"}, map[string]any{"sub": "u", "exp": time.Now().Add(time.Minute).Unix()})
		runExchanges(t, []exchange{
			{name: "failed refetch keeps keys", path: "/", header: bearer(unknown), wantStatus: 401},
			{name: "known key still verifies", path: "/", header: bearer(tok), wantStatus: 200},
		})
	})

	t.Run("a reload shares the key cache", func(t *testing.T) {
		ci.ResetJWKSFetches()
		loadSite(t, ci, "public_routes /open", "")
		runExchanges(t, []exchange{{name: "after reload", path: "/", header: bearer(tok), wantStatus: 200}})
		if n := ci.JWKSFetches(); n != 0 {
			t.Errorf("reload refetched the JWKS %d times, want 0", n)
		}
	})
}

func TestIntegrationJWKSDownAtStart(t *testing.T) {
	setForTest(t, &jwksMinRefetch, 200*time.Millisecond)

	ci := clerktest.Start(t, clerktest.Options{Host: "clerk.down.test"})
	ci.SetJWKSMode(clerktest.JWKSFail)
	loadSite(t, ci, "public_routes /open", "")
	tok := ci.Mint(clerktest.Session{UserID: "user_d"})
	runExchanges(t, []exchange{
		{name: "public route works", path: "/open", wantStatus: 200},
		{name: "protected fails closed", path: "/", header: bearer(tok), wantStatus: 401,
			wantHeader: map[string]string{"X-Clerk-Auth-Reason": "jwk-remote-failed-to-load"}},
	})
	ci.SetJWKSMode(clerktest.JWKSOK)
	time.Sleep(250 * time.Millisecond)
	runExchanges(t, []exchange{{name: "recovers", path: "/", header: bearer(tok), wantStatus: 200, wantBody: []string{"user=user_d"}}})
}

func TestIntegrationWrongSecretKey(t *testing.T) {
	loadConfig(t, fmt.Sprintf(`http://localhost:9080 {
	clerk_auth {
		publishable_key %s
		secret_key sk_test_wrong
		api_url %s
	}
	respond "ok"
}`, itClerk.PublishableKey(), itClerk.BackendAPIURL()))
	runExchanges(t, []exchange{{
		name: "secret-key-invalid", path: "/", header: bearer(itClerk.Mint(clerktest.Session{})), wantStatus: 401,
		wantHeader: map[string]string{"X-Clerk-Auth-Reason": "secret-key-invalid"},
	}})
}

func TestIntegrationJWTKeyNetworkless(t *testing.T) {
	dir := t.TempDir()
	pemPath := dir + "/clerk.pem"
	if err := os.WriteFile(pemPath, itClerk.PublicKeyPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	loadConfig(t, fmt.Sprintf(`http://localhost:9080 {
	clerk_auth {
		jwt_key %s
		issuer %s
		authorized_parties https://app.example.test
	}
	respond "user={clerk.user_id}"
}`, pemPath, itClerk.Issuer()))
	itClerk.ResetJWKSFetches()
	runExchanges(t, []exchange{
		{name: "verifies from the PEM file", path: "/", header: bearer(itClerk.Mint(clerktest.Session{UserID: "user_pem"})), wantStatus: 200, wantBody: []string{"user=user_pem"}},
		{name: "azp outside the allow-list", path: "/", header: bearer(itClerk.Mint(clerktest.Session{AuthorizedParty: "https://evil.test"})), wantStatus: 401,
			wantHeader: map[string]string{"X-Clerk-Auth-Reason": "token-invalid-authorized-parties"}},
		{name: "wrong issuer", path: "/", header: bearer(itClerk.Mint(clerktest.Session{Claims: map[string]any{"iss": "https://clerk.other.test"}})), wantStatus: 401,
			wantHeader: map[string]string{"X-Clerk-Auth-Reason": "token-invalid-issuer"}},
	})
	if n := itClerk.JWKSFetches(); n != 0 {
		t.Errorf("jwt_key mode fetched the JWKS %d times", n)
	}
}

func TestIntegrationConfigErrors(t *testing.T) {
	for name, tc := range map[string]struct{ block, want string }{
		"both route lists": {"publishable_key " + testPK + "\n public_routes /\n protected_routes /a", "cannot be used together"},
		"bad pattern":      {"publishable_key " + testPK + "\n public_routes /a(", "public_routes"},
		"no issuer":        {"jwks_url http://127.0.0.1:1/jwks", "issuer: required"},
		"missing PEM file": {"jwt_key /nonexistent/clerk.pem\n issuer off", "jwt_key"},
	} {
		t.Run(name, func(t *testing.T) {
			assertLoadError(t, "http://localhost:9080 {\n\tclerk_auth {\n\t\t"+tc.block+"\n\t}\n}", tc.want)
		})
	}
}

func TestIntegrationAccessLog(t *testing.T) {
	logPath := t.TempDir() + "/access.log"
	loadConfig(t, fmt.Sprintf(`http://localhost:9080 {
	log {
		output file %s
		format json
	}
	clerk_auth {
		%s
		public_routes /open
	}
	respond "ok"
}`, logPath, clerkKeys(itClerk)))
	tok := itClerk.Mint(clerktest.Session{UserID: "user_log", SessionID: "sess_log", Org: &clerktest.Org{ID: "org_log", Role: "admin"}})
	runExchanges(t, []exchange{
		{name: "signed in", path: "/in", header: bearer(tok), wantStatus: 200},
		{name: "signed out", path: "/open", wantStatus: 200},
	})
	var logs []byte
	for i := 0; i < 50 && !strings.Contains(string(logs), `"/open"`); i++ {
		time.Sleep(20 * time.Millisecond)
		logs, _ = os.ReadFile(logPath)
	}
	for _, want := range []string{`"user_id":"user_log"`, `"clerk_session_id":"sess_log"`, `"clerk_org_id":"org_log"`,
		`"clerk_auth_reason":"session-token-and-uat-missing"`} {
		if !strings.Contains(string(logs), want) {
			t.Errorf("access log lacks %s:\n%s", want, logs)
		}
	}
	if strings.Contains(string(logs), tok) {
		t.Error("the access log holds the raw token")
	}
}
