package caddyclerk

// Integration tests of browser sessions through a real Caddy: every branch
// of Clerk's cookie path (clerk-semantics a.4), the handshake redirect (a.7),
// inbound handshakes (a.8) and refresh (a.9), against clerktest's Frontend
// and Backend APIs. One row per branch; each row names the reason it pins.

import (
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddytest"

	"github.com/caddy-clerk/caddy-clerk/clerktest"
)

// hsUpstream echoes what reaches the upstream: the request URI, the Cookie
// header and the user, so that tests can see what was stripped.
var hsUpstream = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	fmt.Fprintf(w, "upstream uri=%s cookie=%q user=%s", r.RequestURI, r.Header.Get("Cookie"), r.Header.Get("X-Clerk-User-Id"))
}))

// loadBrowserSite loads clerk_auth for ci with extra subdirectives; /echo/*
// goes to hsUpstream, everything else answers with the identity.
func loadBrowserSite(t *testing.T, ci *clerktest.Instance, extra, globalExtra string) {
	t.Helper()
	loadConfigGlobals(t, globalExtra, fmt.Sprintf(`http://localhost:9080 {
	clerk_auth {
		%s
		%s
	}
	handle /echo/* {
		reverse_proxy %s
	}
	respond "status={clerk.auth_status} reason={clerk.auth_reason} user={clerk.user_id} org={clerk.org_id} uri={http.request.uri}"
}`, clerkKeys(ci), extra, strings.TrimPrefix(hsUpstream.URL, "http://")))
}

// loadConfigGlobals is loadConfig with extra global options.
func loadConfigGlobals(t *testing.T, globalExtra, sites string) {
	t.Helper()
	if globalExtra == "" {
		loadConfig(t, sites)
		return
	}
	loadSiteRaw(t, testGlobals(globalExtra)+sites)
}

func loadSiteRaw(t *testing.T, config string) {
	t.Helper()
	caddytest.NewTester(t).InitServer(itPorts.Replace(config), "caddyfile")
}

// hsCase is one request and what must come back.
type hsCase struct {
	name    string
	method  string
	path    string
	header  map[string]string
	cookies []string // name=value, sent as they are

	status     int
	wantHeader map[string]string // exact values; "" means absent
	location   string            // exact Location; "" means absent
	setCookies []string          // exact Set-Cookie lines, in order; nil means none
	anyCookies bool              // do not check Set-Cookie
	body       []string
	notBody    []string
}

var document = map[string]string{"Sec-Fetch-Dest": "document", "Accept": "text/html,application/xhtml+xml"}

func withHeaders(base map[string]string, more ...string) map[string]string {
	out := map[string]string{}
	for k, v := range base {
		out[k] = v
	}
	for i := 0; i+1 < len(more); i += 2 {
		out[more[i]] = more[i+1]
	}
	return out
}

// doRequest sends one request without following redirects.
func doRequest(t *testing.T, method, target string, header map[string]string, cookies []string) (*http.Response, string) {
	t.Helper()
	if method == "" {
		method = http.MethodGet
	}
	req, err := http.NewRequest(method, target, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	if len(cookies) > 0 {
		req.Header.Set("Cookie", strings.Join(cookies, "; "))
	}
	resp, err := noRedirects.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func runHSCases(t *testing.T, cases []hsCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := doRequest(t, tc.method, siteURL+tc.path, tc.header, tc.cookies)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d; body %q; headers %v", resp.StatusCode, tc.status, body, resp.Header)
			}
			if got := resp.Header.Get("Location"); got != tc.location {
				t.Errorf("Location\n got %q\nwant %q", got, tc.location)
			}
			for k, want := range tc.wantHeader {
				if got := resp.Header.Get(k); got != want {
					t.Errorf("header %s = %q, want %q", k, got, want)
				}
			}
			if got := resp.Header.Values("Set-Cookie"); !tc.anyCookies && !slices.Equal(got, tc.setCookies) {
				t.Errorf("Set-Cookie\n got %q\nwant %q", got, tc.setCookies)
			}
			for _, s := range tc.body {
				if !strings.Contains(body, s) {
					t.Errorf("body %q does not contain %q", body, s)
				}
			}
			for _, s := range tc.notBody {
				if strings.Contains(body, s) {
					t.Errorf("body %q contains %q", body, s)
				}
			}
		})
	}
}

// handshakeLocation is the handshake redirect Clerk's SDK builds: the
// parameters in Clerk's order, form-encoded as URLSearchParams encodes them.
func handshakeLocation(ci *clerktest.Instance, path, reason string, suffixed bool, extra ...[2]string) string {
	params := [][2]string{
		{"redirect_url", siteURL + path},
		{"__clerk_api_version", "2026-05-12"},
		{"suffixed_cookies", strconv.FormatBool(suffixed)},
		{"__clerk_hs_reason", reason},
		{"format", "nonce"},
	}
	return ci.FrontendAPIURL() + "/v1/client/handshake?" + formEncode(append(params, extra...))
}

func sessionParam(tok string) [2]string { return [2]string{"__session", tok} }

const redirectCount1 = "__clerk_redirect_count=1; SameSite=Lax; HttpOnly; Max-Age=2"

// sessionCookies are a browser's __session and __client_uat.
func sessionCookies(tok string, uat int64) []string {
	return []string{"__session=" + tok, "__client_uat=" + strconv.FormatInt(uat, 10)}
}

func signedOutHeaders(reason string) map[string]string {
	return map[string]string{"X-Clerk-Auth-Status": "signed-out", "X-Clerk-Auth-Reason": reason}
}

func handshakeHeaders(reason string) map[string]string {
	return map[string]string{"X-Clerk-Auth-Status": "handshake", "X-Clerk-Auth-Reason": reason, "Cache-Control": "no-store"}
}

// TestIntegrationCookiePath has one row per step of Clerk's cookie path on
// a production instance (a.4, steps 6 to 13), each as an API request and,
// where Clerk hands over to the handshake, as a page.
func TestIntegrationCookiePath(t *testing.T) {
	loadBrowserSite(t, itClerk, "public_routes /public(.*)\n\t\tapi_routes /api/(.*)", "")
	now := time.Now()
	iat := now.Unix()
	good := itClerk.Mint(clerktest.Session{UserID: "user_cp", SessionID: "sess_cp", IssuedAt: now})
	expired := itClerk.Mint(clerktest.Session{UserID: "user_cp", SessionID: "sess_cp",
		IssuedAt: now.Add(-2 * time.Minute), NotBefore: now.Add(-2 * time.Minute), Expiry: now.Add(-time.Minute)})
	notYet := itClerk.Mint(clerktest.Session{UserID: "user_cp", NotBefore: now.Add(time.Minute)})
	future := itClerk.Mint(clerktest.Session{UserID: "user_cp", IssuedAt: now.Add(time.Minute)})
	template := itClerk.Mint(clerktest.Session{UserID: "user_cp", Header: map[string]any{"cat": clerktest.CategoryJWTTemplate}})
	sfx := itClerk.CookieSuffix()
	signIn := "https://accounts.app.test/sign-in?redirect_url="
	api := map[string]string{"Accept": "application/json"}
	hsPage := func(name, reason string, cookies []string, tok string) hsCase {
		extra := [][2]string{}
		if tok != "" {
			extra = append(extra, sessionParam(tok))
		}
		return hsCase{name: name, path: "/page", header: document, cookies: cookies, status: 307,
			location: handshakeLocation(itClerk, "/page", reason, false, extra...), wantHeader: handshakeHeaders(reason),
			setCookies: []string{redirectCount1}}
	}
	apiOut := func(name, reason string, cookies []string) hsCase {
		return hsCase{name: name, path: "/api/x", header: api, cookies: cookies, status: 401, wantHeader: signedOutHeaders(reason)}
	}

	runHSCases(t, []hsCase{
		// Step 6: no session, no client_uat: signed out, never a handshake.
		apiOut("6 session-token-and-uat-missing, API", "session-token-and-uat-missing", nil),
		{name: "6 session-token-and-uat-missing, page: sign-in, no handshake", path: "/page", header: document, status: 307,
			location: signIn + url.QueryEscape(siteURL+"/page"), wantHeader: signedOutHeaders("session-token-and-uat-missing")},
		{name: "6 __client_uat=0 counts as missing", path: "/page", header: document, cookies: []string{"__client_uat=0"}, status: 307,
			location: signIn + url.QueryEscape(siteURL+"/page"), wantHeader: signedOutHeaders("session-token-and-uat-missing")},
		// Step 7: a session without __client_uat.
		apiOut("7 session-token-but-no-client-uat, API", "session-token-but-no-client-uat", []string{"__session=" + good}),
		hsPage("7 session-token-but-no-client-uat, page", "session-token-but-no-client-uat", []string{"__session=" + good}, good),
		// Step 8: __client_uat without a session: the handshake brings one.
		apiOut("8 client-uat-but-no-session-token, API", "client-uat-but-no-session-token", []string{"__client_uat=" + strconv.FormatInt(iat, 10)}),
		hsPage("8 client-uat-but-no-session-token, page", "client-uat-but-no-session-token", []string{"__client_uat=" + strconv.FormatInt(iat, 10)}, ""),
		// Step 9: a session cookie that does not decode.
		apiOut("9 token-invalid", "token-invalid", sessionCookies("not.a.jwt", iat)),
		{name: "9 token-invalid, page: sign-in, no handshake", path: "/page", header: document, cookies: sessionCookies("not.a.jwt", iat),
			status: 307, location: signIn + url.QueryEscape(siteURL+"/page"), wantHeader: signedOutHeaders("token-invalid")},
		// Step 10: another kind of token in the session cookie.
		apiOut("10 token-type-mismatch", "token-type-mismatch", sessionCookies(template, iat)),
		// Step 11: a session issued before the client's last change.
		apiOut("11 session-token-iat-before-client-uat, API", "session-token-iat-before-client-uat", sessionCookies(good, iat+60)),
		hsPage("11 session-token-iat-before-client-uat, page", "session-token-iat-before-client-uat", sessionCookies(good, iat+60), good),
		// Step 12: verification; time failures hand over to the handshake.
		apiOut("12 expired, API, no refresh cookie", "session-token-expired-refresh-non-eligible-no-refresh-cookie", sessionCookies(expired, iat-120)),
		hsPage("12 expired, page", "session-token-expired-refresh-non-eligible-no-refresh-cookie", sessionCookies(expired, iat-120), expired),
		{name: "12 expired, POST: never a handshake", method: http.MethodPost, path: "/page", header: document, cookies: sessionCookies(expired, iat-120),
			status: 401, wantHeader: signedOutHeaders("session-token-expired-refresh-non-eligible-non-get")},
		hsPage("12 not active yet, page", "session-token-nbf", sessionCookies(notYet, iat), notYet),
		hsPage("12 issued in the future, page", "session-token-iat-in-the-future", sessionCookies(future, iat), future),
		apiOut("12 other verification failures: signed out", "token-invalid-signature",
			sessionCookies(itClerk.MintWithKey(hsForeignKey(t), itClerk.KeyID(), clerktest.Session{UserID: "user_evil"}), iat)),
		// Steps 14 and 16: the auth object; a pending session is signed out.
		apiOut("14 claims Clerk cannot read: unexpected-error", "unexpected-error", sessionCookies(itClerk.Mint(clerktest.Session{UserID: "user_cp",
			Claims: map[string]any{"fea": "o:a,premium", "o": map[string]any{"id": "org_1", "per": "x", "fpm": "1"}}}), iat)),
		apiOut("16 a pending session: session-pending", "session-pending", sessionCookies(itClerk.Mint(clerktest.Session{UserID: "user_cp", Status: "pending"}), iat)),
		// Step 13: signed in, unless a document comes from another origin.
		{name: "13 signed in", path: "/echo/page", cookies: sessionCookies(good, iat), status: 200, body: []string{"user=user_cp"}},
		{name: "13 signed in, same-origin page", path: "/page", header: withHeaders(document, "Referer", siteURL+"/other"),
			cookies: sessionCookies(good, iat), status: 200, body: []string{"status=signed-in"}},
		hsPageRef(hsPage("13 primary-domain-cross-origin-sync", "primary-domain-cross-origin-sync", sessionCookies(good, iat), good), "https://elsewhere.example/"),
		{name: "13 cross-origin page from the Frontend API host is known", path: "/page",
			header: withHeaders(document, "Referer", "https://clerk.app.test/v1/client"), cookies: sessionCookies(good, iat), status: 200},
		{name: "13 cross-origin page from the accounts portal is known", path: "/page",
			header: withHeaders(document, "Referer", "https://accounts.app.test/sign-in"), cookies: sessionCookies(good, iat), status: 200},
		{name: "13 cross-origin page inside a handshake round trip", path: "/page",
			header: withHeaders(document, "Referer", "https://elsewhere.example/"), cookies: append(sessionCookies(good, iat), "__clerk_redirect_count=1"), status: 200},
		// Suffixed cookies, chosen as Clerk chooses them.
		{name: "suffixed cookies sign in", path: "/echo/page", cookies: []string{"__session_" + sfx + "=" + good, "__client_uat_" + sfx + "=" + strconv.FormatInt(iat, 10)},
			status: 200, body: []string{"user=user_cp"}},
		{name: "suffixed cookies: the handshake says so", path: "/page", header: document,
			cookies: []string{"__session_" + sfx + "=" + expired, "__client_uat_" + sfx + "=" + strconv.FormatInt(iat-120, 10)}, status: 307,
			location:   handshakeLocation(itClerk, "/page", "session-token-expired-refresh-non-eligible-no-refresh-cookie", true, sessionParam(expired)),
			setCookies: []string{redirectCount1}, wantHeader: handshakeHeaders("session-token-expired-refresh-non-eligible-no-refresh-cookie")},
		// The header path hands over too: an expired Bearer token on a page.
		{name: "expired Bearer token on a page", path: "/page", header: withHeaders(document, "Authorization", "Bearer "+expired), status: 307,
			location:   handshakeLocation(itClerk, "/page", "session-token-expired-refresh-non-eligible-no-refresh-cookie", false, sessionParam(expired)),
			setCookies: []string{redirectCount1}},
	})
}

func hsPageRef(c hsCase, referer string) hsCase {
	c.header = withHeaders(c.header, "Referer", referer)
	return c
}

func hsForeignKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestIntegrationHandshakeRedirect pins the redirect itself (a.7): which
// requests get it, its exact URL, the loop guard, public and API routes,
// forwarded hosts, and `handshake off`.
func TestIntegrationHandshakeRedirect(t *testing.T) {
	loadBrowserSite(t, itClerk, "public_routes /public(.*)\n\t\tapi_routes /api/(.*)", "")
	uat := strconv.FormatInt(time.Now().Unix(), 10)
	noSession := []string{"__client_uat=" + uat}
	reason := "client-uat-but-no-session-token"
	loc := func(path string) string { return handshakeLocation(itClerk, path, reason, false) }
	hs := func(name, path string, header map[string]string, cookies []string, setCookie string) hsCase {
		return hsCase{name: name, path: path, header: header, cookies: cookies, status: 307, location: loc(path),
			wantHeader: handshakeHeaders(reason), setCookies: []string{setCookie}}
	}
	out := func(name, path string, header map[string]string, status int) hsCase {
		return hsCase{name: name, path: path, header: header, cookies: noSession, status: status, anyCookies: true,
			wantHeader: signedOutHeaders(reason)}
	}
	runHSCases(t, []hsCase{
		{name: "the exact URL", path: "/dash?tab=a%20b&x=~*", header: document, cookies: noSession, status: 307,
			location: itClerk.FrontendAPIURL() + "/v1/client/handshake?redirect_url=http%3A%2F%2Flocalhost%3A" + itHTTPPort +
				"%2Fdash%3Ftab%3Da%2Bb%26x%3D%257E*&__clerk_api_version=2026-05-12&suffixed_cookies=false" +
				"&__clerk_hs_reason=client-uat-but-no-session-token&format=nonce",
			setCookies: []string{redirectCount1}, wantHeader: handshakeHeaders(reason)},
		hs("Sec-Fetch-Dest iframe", "/p", map[string]string{"Sec-Fetch-Dest": "iframe"}, noSession, redirectCount1),
		hs("no Sec-Fetch-Dest, Accept starts with text/html", "/p", map[string]string{"Accept": "text/html"}, noSession, redirectCount1),
		{name: "Accept with text/html later: not eligible", path: "/p", header: map[string]string{"Accept": "application/xhtml+xml,text/html"},
			cookies: noSession, status: 307, location: "https://accounts.app.test/sign-in?redirect_url=" + url.QueryEscape(siteURL+"/p"),
			wantHeader: signedOutHeaders(reason)},
		out("Sec-Fetch-Dest empty: not eligible", "/p", map[string]string{"Sec-Fetch-Dest": "empty", "Accept": "text/html"}, 401),
		{name: "HEAD: not eligible", method: http.MethodHead, path: "/p", header: document, cookies: noSession, status: 307,
			location: "https://accounts.app.test/sign-in?redirect_url=" + url.QueryEscape(siteURL+"/p"), wantHeader: signedOutHeaders(reason)},
		{name: "POST: not eligible", method: http.MethodPost, path: "/p", header: document, cookies: noSession, status: 401,
			wantHeader: signedOutHeaders(reason)},
		hs("second round trip", "/p", document, append(noSession, "__clerk_redirect_count=1"), "__clerk_redirect_count=2; SameSite=Lax; HttpOnly; Max-Age=2"),
		hs("third round trip", "/p", document, append(noSession, "__clerk_redirect_count=2"), "__clerk_redirect_count=3; SameSite=Lax; HttpOnly; Max-Age=2"),
		{name: "loop guard: at 3 the page is signed out", path: "/p", header: document, cookies: append(noSession, "__clerk_redirect_count=3"),
			status: 307, location: "https://accounts.app.test/sign-in?redirect_url=" + url.QueryEscape(siteURL+"/p"), wantHeader: signedOutHeaders(reason)},
		{name: "loop guard on a public page: passes signed out", path: "/public", header: document, cookies: append(noSession, "__clerk_redirect_count=3"),
			status: 200, body: []string{"status=signed-out reason=" + reason}},
		hs("the guard is exactly 3, as in Clerk", "/p", document, append(noSession, "__clerk_redirect_count=4"), "__clerk_redirect_count=5; SameSite=Lax; HttpOnly; Max-Age=2"),
		hs("public pages hand over too", "/public", document, noSession, redirectCount1),
		{name: "api_routes are never redirected", path: "/api/x", header: document, cookies: noSession, status: 401,
			wantHeader: signedOutHeaders(reason)},
		{name: "an untrusted client cannot move redirect_url", path: "/p",
			header: withHeaders(document, "X-Forwarded-Host", "evil.test", "X-Forwarded-Proto", "https"), cookies: noSession, status: 307,
			location: loc("/p"), setCookies: []string{redirectCount1}},
		{name: "redirect_url drops __clerk_db_jwt, as Clerk does", path: "/p?__clerk_help=1&__clerk_db_jwt=x&keep=1",
			header: document, cookies: noSession, status: 307, location: loc("/p?__clerk_help=1&keep=1"), setCookies: []string{redirectCount1}},
	})

	loadBrowserSite(t, itClerk, "", `servers {
		trusted_proxies static 127.0.0.1/32 ::1/128
	}`)
	runHSCases(t, []hsCase{{name: "a trusted proxy's forwarded host", path: "/p",
		header: withHeaders(document, "X-Forwarded-Host", "app.example.com", "X-Forwarded-Proto", "https"), cookies: noSession, status: 307,
		location: itClerk.FrontendAPIURL() + "/v1/client/handshake?redirect_url=https%3A%2F%2Fapp.example.com%2Fp&__clerk_api_version=2026-05-12" +
			"&suffixed_cookies=false&__clerk_hs_reason=client-uat-but-no-session-token&format=nonce",
		setCookies: []string{redirectCount1}}})

	loadBrowserSite(t, itClerk, "handshake off\n\t\tpublic_routes /public(.*)", "")
	runHSCases(t, []hsCase{
		{name: "handshake off: signed out with the same reason", path: "/p", header: document, cookies: noSession, status: 307,
			location: "https://accounts.app.test/sign-in?redirect_url=" + url.QueryEscape(siteURL+"/p"), wantHeader: signedOutHeaders(reason)},
		{name: "handshake off: parameters pass through to the upstream", path: "/echo/x?__clerk_handshake=abc",
			header:  map[string]string{"Authorization": "Bearer " + itClerk.Mint(clerktest.Session{UserID: "user_off"})},
			cookies: []string{"__clerk_db_jwt=d"}, status: 200,
			body: []string{"uri=/echo/x?__clerk_handshake=abc", `cookie="__clerk_db_jwt=d"`}},
	})
}

// TestIntegrationDevInstance covers the development-instance rules (a.4,
// steps 3 to 5): the dev browser token, its sync, and a primary asked to
// answer a satellite.
func TestIntegrationDevInstance(t *testing.T) {
	dev := clerktest.Start(t, clerktest.Options{Host: "clerk.app.test"})
	loadBrowserSite(t, dev, "public_routes /public(.*)", "")
	now := time.Now()
	good := dev.Mint(clerktest.Session{UserID: "user_dev", IssuedAt: now})
	expired := dev.Mint(clerktest.Session{UserID: "user_dev", IssuedAt: now.Add(-2 * time.Minute),
		NotBefore: now.Add(-2 * time.Minute), Expiry: now.Add(-time.Minute)})
	session := sessionCookies(good, now.Unix())
	api := map[string]string{"Accept": "application/json"}
	sfx := dev.CookieSuffix()
	runHSCases(t, []hsCase{
		{name: "5 dev-browser-missing, API with a valid session", path: "/x", header: api, cookies: session, status: 401,
			wantHeader: signedOutHeaders("dev-browser-missing")},
		{name: "5 dev-browser-missing, no cookies", path: "/x", header: api, status: 401, wantHeader: signedOutHeaders("dev-browser-missing")},
		{name: "5 dev-browser-missing, page", path: "/x", header: document, status: 307,
			location: handshakeLocation(dev, "/x", "dev-browser-missing", false), setCookies: []string{redirectCount1},
			wantHeader: handshakeHeaders("dev-browser-missing")},
		{name: "5 dev-browser-missing, public page: a handshake too", path: "/public", header: document, status: 307,
			location: handshakeLocation(dev, "/public", "dev-browser-missing", false), setCookies: []string{redirectCount1}},
		{name: "5 a Bearer token needs no dev browser", path: "/x", header: map[string]string{"Authorization": "Bearer " + good},
			status: 200, body: []string{"user=user_dev"}},
		{name: "dev browser cookie: signed in", path: "/echo/x", cookies: append(session, "__clerk_db_jwt=dvb_1"), status: 200,
			body: []string{"user=user_dev", `cookie="__session=` + good}, notBody: []string{"dvb_1"}},
		{name: "suffixed dev browser cookie", path: "/x", cookies: []string{"__session_" + sfx + "=" + good,
			"__client_uat_" + sfx + "=" + strconv.FormatInt(now.Unix(), 10), "__clerk_db_jwt_" + sfx + "=dvb_1"}, status: 200, body: []string{"user=user_dev"}},
		{name: "4 dev-browser-sync, API", path: "/x?__clerk_db_jwt=dvb_2", header: api, cookies: append(session, "__clerk_db_jwt=dvb_1"),
			status: 401, wantHeader: signedOutHeaders("dev-browser-sync")},
		{name: "4 dev-browser-sync, page: the query's token goes to the handshake", path: "/x?__clerk_db_jwt=dvb_2&k=v", header: document,
			cookies: append(session, "__clerk_db_jwt=dvb_1"), status: 307,
			location:   handshakeLocation(dev, "/x?k=v", "dev-browser-sync", false, sessionParam(good), [2]string{"__clerk_db_jwt", "dvb_2"}),
			setCookies: []string{redirectCount1}},
		{name: "expired, page: the cookie's token goes to the handshake", path: "/x", header: document,
			cookies: append(sessionCookies(expired, now.Unix()-120), "__clerk_db_jwt=dvb_1"), status: 307,
			location: handshakeLocation(dev, "/x", "session-token-expired-refresh-non-eligible-no-refresh-cookie", false,
				sessionParam(expired), [2]string{"__clerk_db_jwt", "dvb_1"}),
			setCookies: []string{redirectCount1}},
		{name: "3 primary-responds-to-syncing: never redirects to a URL from the request", path: "/x?__clerk_redirect_url=https%3A%2F%2Fevil.test%2F",
			header: document, cookies: append(session, "__clerk_db_jwt=dvb_1"), status: 307,
			location: "https://accounts.app.test/sign-in?redirect_url=" + url.QueryEscape(siteURL+"/x?__clerk_redirect_url=https%3A%2F%2Fevil.test%2F") +
				"&__clerk_db_jwt=dvb_1",
			wantHeader: signedOutHeaders("primary-responds-to-syncing")},
		{name: "a development account portal referer is known", path: "/x",
			header:  withHeaders(document, "Referer", "https://happy-hippo-12.accounts.dev/sign-in"),
			cookies: append(session, "__clerk_db_jwt=dvb_1"), status: 200, body: []string{"user=user_dev"}},
		{name: "the sign-in redirect carries the dev browser token", path: "/x", header: document,
			cookies: []string{"__clerk_db_jwt=dvb_1"}, status: 307,
			location:   "https://accounts.app.test/sign-in?redirect_url=" + url.QueryEscape(siteURL+"/x") + "&__clerk_db_jwt=dvb_1",
			wantHeader: signedOutHeaders("session-token-and-uat-missing")},
	})
}

// TestIntegrationHandshakeResolve covers inbound handshakes (a.8): a nonce
// redeemed through the Backend API or a signed token, in the URL (applied,
// then a redirect to the clean URL) or in a cookie (applied, the request
// goes on signed in); and every kind of bad handshake, which sets nothing,
// reaches nothing and says why.
func TestIntegrationHandshakeResolve(t *testing.T) {
	loadBrowserSite(t, itClerk, "public_routes /echo/public(.*)", "")
	client := itClerk.NewClient()
	client.SignIn("user_hs", &clerktest.Org{ID: "org_hs", Role: "admin"})
	dirs, err := client.HandshakeDirectives(siteURL + "/")
	if err != nil {
		t.Fatal(err)
	}
	out := itClerk.NewClient()
	outDirs, _ := out.HandshakeDirectives(siteURL + "/")
	nonce := func(d ...string) string { return itClerk.AddHandshakeNonce(d...) }
	token := func(d ...string) string { return itClerk.HandshakeToken(nil, d...) }
	other := clerktest.Start(t, clerktest.Options{Host: "clerk.app.test", Live: true})
	expired := itClerk.Mint(clerktest.Session{UserID: "user_hs", IssuedAt: time.Now().Add(-2 * time.Minute),
		NotBefore: time.Now().Add(-2 * time.Minute), Expiry: time.Now().Add(-time.Minute)})
	clean := map[string]string{"Cache-Control": "no-store", "X-Clerk-Auth-Status": ""}
	nonceQ := nonce(dirs...)

	runHSCases(t, []hsCase{
		{name: "nonce in the URL: cookies set, back to the clean URL", path: "/echo/p?a=1&__clerk_handshake_nonce=" + nonceQ + "&b=%20",
			header: document, status: 307, location: siteURL + "/echo/p?a=1&b=%20", setCookies: dirs, wantHeader: clean},
		rejectedInURL("a nonce is redeemed once", "__clerk_handshake_nonce="+nonceQ, "handshake-nonce-unknown"),
		{name: "nonce in a cookie: cookies set, the request goes on signed in", path: "/echo/p",
			cookies: []string{"keep=1", "__clerk_handshake_nonce=" + nonce(dirs...)}, status: 200, setCookies: dirs,
			body: []string{"upstream uri=/echo/p ", `cookie="keep=1"`, "user=user_hs"}},
		{name: "token in the URL", path: "/echo/p?__clerk_handshake=" + token(dirs...), header: document, status: 307,
			location: siteURL + "/echo/p", setCookies: dirs, wantHeader: clean},
		{name: "token in a cookie", path: "/p", cookies: []string{"__clerk_handshake=" + token(dirs...)}, status: 200,
			setCookies: dirs, body: []string{"status=signed-in", "user=user_hs org=org_hs", "uri=/p"}},
		{name: "the nonce wins over a token", path: "/p?__clerk_handshake=garbage", cookies: []string{"__clerk_handshake_nonce=" + nonce(dirs...)},
			status: 307, location: siteURL + "/p", setCookies: dirs},
		{name: "a handshake that signs out: session-token-missing, cookies cleared", path: "/p",
			cookies: []string{"__clerk_handshake=" + token(outDirs...)}, status: 401, setCookies: outDirs,
			wantHeader: signedOutHeaders("session-token-missing")},
		{name: "only Clerk's cookies are set", path: "/p",
			cookies: []string{"__clerk_handshake=" + token(append([]string{"evil=1; Path=/", "__session_other=x; Path=/",
				"__clerk_handshake=again; Path=/", "__clerk_redirect_count=0; Path=/", "__session=x\r\nSet-Cookie: evil=2",
				"__clerk_handshake=; Path=/; Max-Age=0"}, dirs...)...)},
			status: 200, setCookies: append([]string{"__clerk_handshake=; Path=/; Max-Age=0"}, dirs...),
			body: []string{"status=signed-in", "user=user_hs"}},

		// Bad input: nothing set, nothing forwarded, a reason that says why.
		// A bad handshake in the URL also goes back to the clean URL.
		rejectedInURL("a nonce the Backend API does not know", "__clerk_handshake_nonce=hsn_unknown", "handshake-nonce-unknown"),
		rejectedInURL("something that cannot be a nonce", "__clerk_handshake_nonce=%3Cscript%3E", "handshake-nonce-unknown"),
		rejectedInURL("a token signed by another key", "__clerk_handshake="+other.HandshakeToken(map[string]any{"kid": itClerk.KeyID()}, dirs...),
			"handshake-token-invalid-signature"),
		rejectedInURL("an unsigned token", "__clerk_handshake="+itClerk.HandshakeToken(map[string]any{"alg": "none"}, dirs...),
			"handshake-token-invalid-algorithm"),
		rejectedInURL("an HMAC token keyed with the public key", "__clerk_handshake="+itClerk.HandshakeToken(map[string]any{"alg": "HS256"}, dirs...),
			"handshake-token-invalid-algorithm"),
		rejectedInURL("a JWT template is not a handshake", "__clerk_handshake="+itClerk.HandshakeToken(map[string]any{"cat": clerktest.CategoryJWTTemplate}, dirs...),
			"handshake-token-invalid"),
		rejectedInURL("garbage", "__clerk_handshake=abc", "handshake-token-invalid"),
		rejectedInURL("a token with another typ", "__clerk_handshake="+itClerk.HandshakeToken(map[string]any{"typ": "at+jwt"}, dirs...),
			"handshake-token-invalid"),
		rejectedInURL("a token with an unknown kid", "__clerk_handshake="+itClerk.HandshakeToken(map[string]any{"kid": "ins_unknown"}, dirs...),
			"handshake-jwk-kid-mismatch"),
		{name: "a bad handshake in the URL of a POST: signed out", method: http.MethodPost, path: "/echo/p?__clerk_handshake=abc",
			status: 401, wantHeader: signedOutHeaders("handshake-token-invalid")},
		{name: "a handshake with an expired session", path: "/echo/p", cookies: []string{"__clerk_handshake=" + token("__session="+expired+"; Path=/")},
			status: 401, wantHeader: signedOutHeaders("handshake-session-token-expired")},
		{name: "a handshake with a forged session", path: "/echo/p",
			cookies: []string{"__clerk_handshake=" + token("__session="+itClerk.MintWithKey(hsForeignKey(t), itClerk.KeyID(), clerktest.Session{UserID: "user_x"})+"; Path=/")},
			status:  401, wantHeader: signedOutHeaders("handshake-session-token-invalid-signature")},
		{name: "a bad handshake cookie on a public route: the upstream sees none of it", path: "/echo/public?x=1&__clerk_help=1&__clerk_db_jwt=d",
			cookies: []string{"a=1", "__clerk_handshake=abc", "__clerk_db_jwt=d", "b=2"}, status: 200,
			body: []string{"upstream uri=/echo/public?x=1 ", `cookie="a=1; b=2" user=`}, notBody: []string{"abc", "user=user"}},
	})
}

// rejectedInURL is a bad handshake in the URL of a GET: signed out with the
// reason, nothing set, back to the URL without it.
func rejectedInURL(name, query, reason string) hsCase {
	return hsCase{name: name, path: "/echo/p?" + query + "&keep=1", status: 307, location: siteURL + "/echo/p?keep=1",
		wantHeader: map[string]string{"X-Clerk-Auth-Status": "signed-out", "X-Clerk-Auth-Reason": reason, "Cache-Control": "no-store"}}
}

// TestIntegrationRefresh covers refreshing an expired session through the
// Backend API with the __refresh cookie (a.9), which also serves requests
// that cannot hand over to a handshake.
func TestIntegrationRefresh(t *testing.T) {
	rc := clerktest.Start(t, clerktest.Options{Host: "clerk.refresh.test", Live: true, RefreshCookies: true})
	loadBrowserSite(t, rc, "", "")
	sfx := rc.CookieSuffix()
	client := rc.NewClient()
	sid := client.SignIn("user_rf", nil)
	dirs, _ := client.HandshakeDirectives(siteURL + "/")
	var refresh string
	for _, d := range dirs {
		if v, ok := strings.CutPrefix(d, "__refresh_"+sfx+"="); ok {
			refresh, _, _ = strings.Cut(v, ";")
		}
	}
	if refresh == "" {
		t.Fatalf("no refresh cookie in %q", dirs)
	}
	past := time.Now().Add(-2 * time.Minute)
	expired := rc.Mint(clerktest.Session{UserID: "user_rf", SessionID: sid, IssuedAt: past, NotBefore: past, Expiry: past.Add(time.Minute)})
	cookies := func(refreshToken string) []string {
		return []string{"__session_" + sfx + "=" + expired, "__client_uat_" + sfx + "=" + strconv.FormatInt(past.Unix(), 10),
			"__refresh_" + sfx + "=" + refreshToken}
	}
	api := map[string]string{"Accept": "application/json"}
	runHSCases(t, []hsCase{
		{name: "an expired session is refreshed", path: "/echo/x", header: api, cookies: cookies(refresh), status: 200, anyCookies: true,
			body: []string{"user=user_rf"}},
		{name: "a wrong refresh token: the Backend API's code", path: "/x", header: api, cookies: cookies("rt_wrong"), status: 401,
			wantHeader: signedOutHeaders("session-token-expired-refresh-authentication_invalid")},
		{name: "a wrong refresh token on a page: the handshake says why", path: "/x", header: document, cookies: cookies("rt_wrong"), status: 307,
			anyCookies: true, location: handshakeLocation(rc, "/x", "session-token-expired-refresh-authentication_invalid", true, sessionParam(expired))},
		{name: "POST is never refreshed", method: http.MethodPost, path: "/x", header: api, cookies: cookies(refresh), status: 401,
			wantHeader: signedOutHeaders("session-token-expired-refresh-non-eligible-non-get")},
	})
	// The refreshed cookies are the Backend API's: a fresh __session for
	// the same session, suffixed as the request's cookies were.
	resp, _ := doRequest(t, "", siteURL+"/x", api, cookies(refresh))
	got := resp.Header.Values("Set-Cookie")
	if len(got) != 2 || !strings.HasPrefix(got[0], "__session=") || !strings.HasPrefix(got[1], "__session_"+sfx+"=") {
		t.Errorf("refresh Set-Cookie = %q", got)
	}

	client.SignOut()
	runHSCases(t, []hsCase{{name: "a signed-out session is not refreshed", path: "/x", header: api, cookies: cookies(refresh), status: 401,
		wantHeader: signedOutHeaders("session-token-expired-refresh-resource_not_found")}})
}

// TestIntegrationBrowserFlowDev walks a development instance's browser flow
// with a Go client and its cookie jar, through clerktest's Frontend API:
// first visit, sign-in, a page signed in, expiry and a refresh through the
// handshake without a loop, sign-out.
func TestIntegrationBrowserFlowDev(t *testing.T) {
	dev := clerktest.Start(t, clerktest.Options{Host: "clerk.app.test", TokenLifetime: time.Second})
	loadBrowserSite(t, dev, "clock_skew 0s\n\t\tsign_in_url "+dev.SignInURL(), "")
	b := newFlowBrowser(t, nil)

	// First visit: the handshake gives the browser a dev browser, then it
	// is signed out and sent to the account portal.
	hops := b.visit(siteURL + "/echo/dashboard")
	b.expectHops(hops, siteURL+"/echo/dashboard", "/v1/client/handshake", siteURL+"/echo/dashboard?__clerk_handshake_nonce=",
		siteURL+"/echo/dashboard", dev.SignInURL()+"?redirect_url=")
	dvb := b.cookie(siteURL, "__clerk_db_jwt")
	if dvb == "" || !strings.Contains(hops[len(hops)-1], "__clerk_db_jwt="+dvb) {
		t.Fatalf("the sign-in redirect lacks the dev browser token %q: %q", dvb, hops)
	}

	// Signing in on the portal brings the browser back, synced.
	client, ok := dev.ClientByDevBrowser(dvb)
	if !ok {
		t.Fatal("the dev browser is unknown to the Frontend API")
	}
	client.SignIn("user_flow", nil)
	hops = b.visit(siteURL + "/echo/dashboard?__clerk_db_jwt=" + dvb)
	b.expectHops(hops, siteURL+"/echo/dashboard?__clerk_db_jwt=", "/v1/client/handshake", "__clerk_handshake_nonce=", siteURL+"/echo/dashboard")
	if !strings.Contains(b.Body, "user=user_flow") {
		t.Fatalf("signed-in page: %q", b.Body)
	}

	// The token expires; the next page goes through one handshake.
	time.Sleep(2200 * time.Millisecond) // the token expires, and so does the loop counter
	before := dev.HandshakeRequests()
	hops = b.visit(siteURL + "/echo/dashboard")
	b.expectHops(hops, siteURL+"/echo/dashboard", "/v1/client/handshake", "__clerk_handshake_nonce=", siteURL+"/echo/dashboard")
	if n := dev.HandshakeRequests() - before; n != 1 || !strings.Contains(b.Body, "user=user_flow") {
		t.Fatalf("%d handshakes, body %q", n, b.Body)
	}

	// Signing out ends the session; the next page is sent to sign in.
	client.SignOut()
	time.Sleep(2200 * time.Millisecond) // the token expires, and so does the loop counter
	hops = b.visit(siteURL + "/echo/dashboard")
	b.expectHops(hops, siteURL+"/echo/dashboard", "/v1/client/handshake", "__clerk_handshake_nonce=", siteURL+"/echo/dashboard",
		dev.SignInURL()+"?redirect_url=")
}

// TestIntegrationBrowserFlowProduction walks a production instance's flow
// on real host names (app.test, clerk.app.test, dialled to loopback), where
// the Frontend API sets __client_uat and the handshake nonce for the parent
// domain, as Clerk does.
func TestIntegrationBrowserFlowProduction(t *testing.T) {
	prod := clerktest.Start(t, clerktest.Options{Host: "clerk.app.test", Live: true, TokenLifetime: time.Second})
	_, fapiPort, _ := net.SplitHostPort(strings.TrimPrefix(prod.FrontendAPIURL(), "http://"))
	fapi := "http://clerk.app.test:" + fapiPort
	app := "http://app.test:" + itHTTPPort
	loadSiteRaw(t, testGlobals("")+fmt.Sprintf(`http://app.test {
	clerk_auth {
		publishable_key %s
		secret_key %s
		api_url %s
		frontend_api %s
		sign_in_url http://accounts.app.test:%s/sign-in
		clock_skew 0s
	}
	respond "status={clerk.auth_status} reason={clerk.auth_reason} user={clerk.user_id}"
}`, prod.PublishableKey(), prod.SecretKey(), prod.BackendAPIURL(), fapi, fapiPort))
	b := newFlowBrowser(t, map[string]string{"app.test": "127.0.0.1", "clerk.app.test": "127.0.0.1", "accounts.app.test": "127.0.0.1"})

	// Not signed in: straight to the portal (no handshake without cookies).
	hops := b.visit(app + "/dashboard")
	b.expectHops(hops, app+"/dashboard", "http://accounts.app.test:"+fapiPort+"/sign-in?redirect_url=")

	// Sign in through the portal's form; the Frontend API sets __client
	// for itself and __client_uat for app.test, then the app hands over.
	before := prod.HandshakeRequests()
	hops = b.post(fapi+clerktest.FrontendSignInPath, url.Values{"user_id": {"user_prod"}, "redirect_url": {app + "/dashboard"}})
	b.expectHops(hops, fapi+clerktest.FrontendSignInPath, app+"/dashboard", fapi+"/v1/client/handshake", app+"/dashboard")
	if !strings.Contains(b.Body, "status=signed-in") || !strings.Contains(b.Body, "user=user_prod") || prod.HandshakeRequests()-before != 1 {
		t.Fatalf("after sign-in: %q, %d handshakes", b.Body, prod.HandshakeRequests()-before)
	}
	if b.cookie(app, "__clerk_handshake_nonce") != "" {
		t.Error("the handshake nonce cookie was not cleared")
	}

	// Expiry: one handshake, signed in again.
	time.Sleep(2200 * time.Millisecond) // the token expires, and so does the loop counter
	hops = b.visit(app + "/dashboard")
	b.expectHops(hops, app+"/dashboard", fapi+"/v1/client/handshake", app+"/dashboard")
	if !strings.Contains(b.Body, "user=user_prod") {
		t.Fatalf("after expiry: %q", b.Body)
	}

	// Sign out on the portal: __client_uat=0 on app.test, so the app's
	// still-valid session is dropped through a handshake.
	hops = b.post(fapi+clerktest.FrontendSignOutPath, url.Values{"redirect_url": {app + "/dashboard"}})
	b.expectHops(hops, fapi+clerktest.FrontendSignOutPath, app+"/dashboard", fapi+"/v1/client/handshake", app+"/dashboard",
		"http://accounts.app.test:"+fapiPort+"/sign-in?redirect_url=")
}

// flowBrowser walks navigations with clerktest.Browser and fails the test
// when one cannot finish.
type flowBrowser struct {
	*clerktest.Browser
	t *testing.T
}

func newFlowBrowser(t *testing.T, hosts map[string]string) *flowBrowser {
	b := &flowBrowser{Browser: clerktest.NewBrowser(hosts), t: t}
	t.Cleanup(b.Client.CloseIdleConnections)
	return b
}

// visit navigates to target and follows redirects like a browser, returning
// every URL requested; the last page is in Status and Body.
func (b *flowBrowser) visit(target string) []string {
	return b.navigate(http.MethodGet, target, nil)
}

// post submits a form and follows the redirects.
func (b *flowBrowser) post(target string, form url.Values) []string {
	return b.navigate(http.MethodPost, target, form)
}

func (b *flowBrowser) navigate(method, target string, form url.Values) []string {
	b.t.Helper()
	hops, err := b.Navigate(method, target, form)
	if err != nil {
		b.t.Fatal(err)
	}
	return hops
}

// expectHops checks each hop against a prefix (or, without a scheme, a
// substring).
func (b *flowBrowser) expectHops(hops []string, want ...string) {
	b.t.Helper()
	ok := len(hops) == len(want)
	for i := 0; ok && i < len(want); i++ {
		if strings.Contains(want[i], "://") {
			ok = strings.HasPrefix(hops[i], want[i])
		} else {
			ok = strings.Contains(hops[i], want[i])
		}
	}
	if !ok {
		b.t.Fatalf("navigation went\n  %s\nwant\n  %s", strings.Join(hops, "\n  "), strings.Join(want, "\n  "))
	}
}

// cookie returns the jar's cookie for a URL.
func (b *flowBrowser) cookie(rawURL, name string) string {
	u, _ := url.Parse(rawURL)
	for _, c := range b.Client.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}
