package clerktest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// send makes one request without following redirects.
func send(t *testing.T, method, target string, form url.Values, header map[string]string, cookies ...*http.Cookie) (*http.Response, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	for _, c := range cookies {
		req.AddCookie(c)
	}
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 5 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	return res, string(data)
}

func TestCookieSuffix(t *testing.T) {
	// Clerk's test vector.
	if got := cookieSuffix("pk_live_Y2xlcmsuZXhhbXBsZS5jb20k"); got != "naoXFJnI" {
		t.Errorf("cookieSuffix = %q, want naoXFJnI", got)
	}
}

// handshake asks the Frontend API for a handshake and returns its answer.
func handshake(t *testing.T, i *Instance, back, format string, extra url.Values, cookies ...*http.Cookie) *http.Response {
	t.Helper()
	q := url.Values{"redirect_url": {back}, "format": {format}, "__clerk_api_version": {"2026-05-12"}}
	for k, v := range extra {
		q[k] = v
	}
	res, _ := send(t, http.MethodGet, i.FrontendAPIURL()+FrontendHandshakePath+"?"+q.Encode(), nil, nil, cookies...)
	return res
}

func TestHandshakeDevelopment(t *testing.T) {
	i := Start(t, Options{Host: "clerk.app.test"})
	sfx := i.CookieSuffix()

	// A browser without a dev browser gets one, signed out, by nonce in
	// the URL; the nonce is redeemed once through the Backend API.
	res := handshake(t, i, "http://localhost:8080/p?x=1", "nonce", nil)
	if res.StatusCode != http.StatusTemporaryRedirect || res.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("handshake: %d %v", res.StatusCode, res.Header)
	}
	loc, _ := url.Parse(res.Header.Get("Location"))
	nonce := loc.Query().Get("__clerk_handshake_nonce")
	if loc.Host != "localhost:8080" || loc.Path != "/p" || loc.Query().Get("x") != "1" || nonce == "" {
		t.Fatalf("Location %s", loc)
	}
	directives := redeem(t, i, nonce)
	var dvb string
	for _, d := range directives {
		if v, ok := strings.CutPrefix(d, "__clerk_db_jwt="); ok {
			dvb, _, _ = strings.Cut(v, ";")
		}
	}
	want := []string{"__session=; Path=/; Max-Age=0; SameSite=Lax", "__session_" + sfx + "=; Path=/; Max-Age=0; SameSite=Lax",
		"__client_uat=0; Path=/; SameSite=Lax", "__client_uat_" + sfx + "=0; Path=/; SameSite=Lax",
		"__clerk_db_jwt=" + dvb + "; Path=/; SameSite=Lax", "__clerk_db_jwt_" + sfx + "=" + dvb + "; Path=/; SameSite=Lax"}
	if dvb == "" || !slices.Equal(directives, want) {
		t.Fatalf("directives\n%q\nwant\n%q", directives, want)
	}
	if res, _ := send(t, http.MethodGet, i.BackendAPIURL()+BackendHandshakePayloadPath+"?nonce="+nonce, nil,
		map[string]string{"Authorization": "Bearer " + i.SecretKey()}); res.StatusCode != http.StatusNotFound {
		t.Errorf("a nonce redeemed twice: %d", res.StatusCode)
	}

	// Signed in on the portal, the same dev browser gets a fresh session
	// token for its session, as a signed handshake token on request.
	client, ok := i.ClientByDevBrowser(dvb)
	if !ok {
		t.Fatal("unknown dev browser")
	}
	sid := client.SignIn("user_1", &Org{ID: "org_1", Role: "admin"})
	res = handshake(t, i, "http://localhost:8080/p", "token", url.Values{"__clerk_db_jwt": {dvb}})
	loc, _ = url.Parse(res.Header.Get("Location"))
	hs := loc.Query().Get("__clerk_handshake")
	claims, ok := i.verifySignature(hs)
	if !ok {
		t.Fatalf("handshake token %q does not verify", hs)
	}
	list, _ := claims["handshake"].([]any)
	if len(list) != 6 {
		t.Fatalf("handshake payload %v", claims)
	}
	session, _, _ := strings.Cut(strings.TrimPrefix(list[0].(string), "__session="), ";")
	sc, ok := i.verifySignature(session)
	if !ok || sc["sub"] != "user_1" || sc["sid"] != sid || sc["azp"] != "http://localhost:8080" {
		t.Errorf("session token claims %v", sc)
	}
	if uat := client.UAT(); uat == 0 || !strings.HasPrefix(list[2].(string), "__client_uat="+itoa(uat)+";") {
		t.Errorf("client_uat %d, directive %q", uat, list[2])
	}
	if i.HandshakeRequests() != 2 {
		t.Errorf("HandshakeRequests = %d", i.HandshakeRequests())
	}
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

func redeem(t *testing.T, i *Instance, nonce string) []string {
	t.Helper()
	res, body := send(t, http.MethodGet, i.BackendAPIURL()+BackendHandshakePayloadPath+"?nonce="+url.QueryEscape(nonce), nil,
		map[string]string{"Authorization": "Bearer " + i.SecretKey()})
	var payload struct{ Directives []string }
	if res.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &payload) != nil {
		t.Fatalf("handshake payload: %d %s", res.StatusCode, body)
	}
	return payload.Directives
}

func TestHandshakeProduction(t *testing.T) {
	i := Start(t, Options{Host: "clerk.app.test", Live: true, RefreshCookies: true})
	sfx := i.CookieSuffix()
	client := i.NewClient()
	client.SignIn("user_2", nil)

	// On the parent domain the nonce comes as a cookie for app.test, and
	// __client_uat too; the directives clear the nonce cookie.
	res := handshake(t, i, "https://app.test/p", "nonce", nil, client.Cookie())
	if got := res.Header.Get("Location"); got != "https://app.test/p" {
		t.Fatalf("Location %q", got)
	}
	var nonce string
	for _, c := range res.Cookies() {
		if c.Name == "__clerk_handshake_nonce" {
			nonce = c.Value
			if c.Domain != "app.test" {
				t.Errorf("nonce cookie domain %q", c.Domain)
			}
		}
	}
	directives := redeem(t, i, nonce)
	if len(directives) != 6 || !strings.HasSuffix(directives[2], "; Path=/; Domain=app.test; SameSite=Lax; Secure") ||
		!strings.HasPrefix(directives[4], "__refresh_"+sfx+"=rt_") || directives[5] != "__clerk_handshake_nonce=; Path=/; Domain=app.test; Max-Age=0; SameSite=Lax; Secure" {
		t.Errorf("directives %q", directives)
	}
	for _, d := range directives[:2] {
		if strings.Contains(d, "Domain=") {
			t.Errorf("the session cookie is the app's own: %q", d)
		}
	}

	// Elsewhere (loopback), in the URL; without a client, signed out.
	res = handshake(t, i, "http://127.0.0.1:9/p", "nonce", nil)
	loc, _ := url.Parse(res.Header.Get("Location"))
	if got := redeem(t, i, loc.Query().Get("__clerk_handshake_nonce")); !strings.HasPrefix(got[0], "__session=;") || got[2] != "__client_uat=0; Path=/; SameSite=Lax" {
		t.Errorf("signed-out directives %q", got)
	}
}

func TestHandshakeRejectsForeignRedirects(t *testing.T) {
	i := Start(t, Options{Host: "clerk.app.test"})
	for _, back := range []string{"https://evil.test/", "//evil.test/", "/relative", "javascript:alert(1)", "https://app.test.evil.test/",
		"https://user@app.test/", ""} {
		if res := handshake(t, i, back, "nonce", nil); res.StatusCode != http.StatusBadRequest {
			t.Errorf("redirect_url %q: %d %s", back, res.StatusCode, res.Header.Get("Location"))
		}
	}
	for _, back := range []string{"https://app.test/", "http://sub.app.test:8080/x", "http://localhost:1/", "http://[::1]:2/"} {
		if res := handshake(t, i, back, "nonce", nil); res.StatusCode != http.StatusTemporaryRedirect {
			t.Errorf("redirect_url %q: %d", back, res.StatusCode)
		}
	}
	only := Start(t, Options{AllowedOrigins: []string{"https://shop.example"}})
	if res := handshake(t, only, "https://shop.example/a", "nonce", nil); res.StatusCode != http.StatusTemporaryRedirect {
		t.Errorf("an allowed origin: %d", res.StatusCode)
	}
	if res := handshake(t, only, "http://localhost/", "nonce", nil); res.StatusCode != http.StatusBadRequest {
		t.Errorf("loopback when AllowedOrigins is set: %d", res.StatusCode)
	}
}

func TestPortal(t *testing.T) {
	i := Start(t, Options{Host: "clerk.app.test", Live: true, SignInUsers: []SignInUser{{ID: "user_a", Name: "Ada <admin>"}}})
	res, body := send(t, http.MethodGet, i.SignInURL()+"?redirect_url="+url.QueryEscape("https://app.test/d"), nil, nil)
	if res.StatusCode != http.StatusOK || !strings.Contains(body, "Ada &lt;admin&gt;") || !strings.Contains(body, `value="https://app.test/d"`) {
		t.Fatalf("sign-in page: %d %s", res.StatusCode, body)
	}
	if res, _ := send(t, http.MethodGet, i.SignInURL()+"?redirect_url=https%3A%2F%2Fevil.test%2F", nil, nil); res.StatusCode != http.StatusBadRequest {
		t.Errorf("sign-in page with a foreign redirect_url: %d", res.StatusCode)
	}

	// Signing in: a client cookie for the Frontend API, __client_uat for
	// the parent domain (the request's host is clerk.app.test), back to the app.
	form := url.Values{"user_id": {"user_a"}, "org_id": {"org_1"}, "org_role": {"admin"}, "org_permissions": {"org:a:read, org:b:write"},
		"redirect_url": {"https://app.test/d"}}
	req, _ := http.NewRequest(http.MethodPost, i.FrontendAPIURL()+FrontendSignInPath, strings.NewReader(form.Encode()))
	req.Host = "clerk.app.test"
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://accounts.app.test")
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "https://app.test/d" {
		t.Fatalf("sign-in: %d %v", resp.StatusCode, resp.Header)
	}
	var client *Client
	var uatDomain string
	for _, c := range resp.Cookies() {
		switch c.Name {
		case ClientCookie:
			client = &Client{i: i, id: c.Value}
			if !c.HttpOnly || c.Domain != "" {
				t.Errorf("client cookie %v", c)
			}
		case "__client_uat":
			uatDomain = c.Domain
		}
	}
	if client == nil || client.SessionID() == "" || uatDomain != "app.test" {
		t.Fatalf("after sign-in: client %v, __client_uat domain %q", client, uatDomain)
	}
	sid := client.SessionID()
	if st := i.SessionStatus(sid); st != "active" {
		t.Errorf("the Backend API sees the session as %q", st)
	}

	// A form from another site is refused.
	if res, _ := send(t, http.MethodPost, i.FrontendAPIURL()+FrontendSignOutPath, url.Values{}, map[string]string{"Origin": "https://evil.test"},
		client.Cookie()); res.StatusCode != http.StatusForbidden {
		t.Errorf("a foreign form: %d", res.StatusCode)
	}

	// Signing out ends the session, for the Backend API too.
	res, body = send(t, http.MethodPost, i.FrontendAPIURL()+FrontendSignOutPath, url.Values{}, nil, client.Cookie())
	if res.StatusCode != http.StatusOK || !strings.Contains(body, "Signed out.") || client.SessionID() != "" || client.UAT() != 0 {
		t.Fatalf("sign-out: %d %s", res.StatusCode, body)
	}
	if st := i.SessionStatus(sid); st != "ended" {
		t.Errorf("after sign-out the Backend API sees the session as %q", st)
	}
	if res, body := send(t, http.MethodGet, i.SignOutURL(), nil, nil); res.StatusCode != http.StatusOK || !strings.Contains(body, `id="sign-out"`) {
		t.Errorf("sign-out page: %d", res.StatusCode)
	}
	if res, body := send(t, http.MethodGet, i.SignInURL(), nil, nil); res.StatusCode != http.StatusOK ||
		!strings.Contains(body, `action="`+FrontendSignInPath+`"`) {
		t.Errorf("the form posts to the same origin when not on accounts.*: %s", body)
	}
}

func TestRefresh(t *testing.T) {
	i := Start(t, Options{Host: "clerk.app.test", Live: true})
	client := i.NewClient()
	sid := client.SignIn("user_r", nil)
	i.browser.mu.Lock()
	rt := i.browser.clients[client.ID()].session.refreshToken
	i.browser.mu.Unlock()
	past := time.Now().Add(-time.Hour)
	expired := i.Mint(Session{UserID: "user_r", SessionID: sid, IssuedAt: past, NotBefore: past, Expiry: past.Add(time.Minute)})
	refresh := func(sid string, body map[string]any, query string) (int, string) {
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest(http.MethodPost, i.BackendAPIURL()+"/v1/sessions/"+sid+"/refresh"+query, strings.NewReader(string(b)))
		req.Header.Set("Authorization", "Bearer "+i.SecretKey())
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		data, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(data)
	}
	ok := map[string]any{"format": "cookie", "expired_token": expired, "refresh_token": rt, "request_origin": "https://app.test"}
	status, body := refresh(sid, ok, "?suffixed_cookies=true")
	var answer struct {
		Object  string
		Cookies []string
	}
	if status != 200 || json.Unmarshal([]byte(body), &answer) != nil || answer.Object != "cookies" || len(answer.Cookies) != 2 ||
		!strings.HasPrefix(answer.Cookies[1], "__session_"+i.CookieSuffix()+"=") {
		t.Fatalf("refresh: %d %s", status, body)
	}
	bad := map[string]any{"format": "cookie", "expired_token": expired, "refresh_token": "rt_wrong"}
	if status, body := refresh(sid, bad, ""); status != 401 || !strings.Contains(body, "authentication_invalid") {
		t.Errorf("wrong refresh token: %d %s", status, body)
	}
	forged := map[string]any{"format": "cookie", "expired_token": Start(t, Options{}).Mint(Session{SessionID: sid}), "refresh_token": rt}
	if status, _ := refresh(sid, forged, ""); status != 401 {
		t.Errorf("a session token of another instance: %d", status)
	}
	client.SignOut()
	if status, body := refresh(sid, ok, ""); status != 404 || !strings.Contains(body, "resource_not_found") {
		t.Errorf("a signed-out session: %d %s", status, body)
	}
}
