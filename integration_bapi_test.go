package caddyclerk

// Integration tests of the Backend API features through a real Caddy:
// machine tokens, user enrichment, webhooks with instant revocation, and
// session liveness, all against clerktest's Backend API.

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddy-clerk/caddy-clerk/clerktest"
)

// machineBody prints the identity of machine and session tokens.
const machineBody = `status={clerk.auth_status} reason={clerk.auth_reason} type={clerk.token_type} ` +
	`user={clerk.user_id} org={clerk.org_id} sid={clerk.session_id} machine={clerk.machine_id} ` +
	`client={clerk.client_id} scopes={clerk.scopes} name={clerk.api_key_name} tokenid={clerk.token_id} ` +
	`tier={clerk.claims.tier} authuser={http.auth.user.id}`

// loadMachineSite loads one site whose clerk_auth has the given extra
// subdirectives, with /echo/* proxied to the header-echoing upstream, two
// matcher routes, and a respond that prints machineBody.
func loadMachineSite(t *testing.T, ci *clerktest.Instance, extra string) {
	t.Helper()
	loadConfig(t, fmt.Sprintf(`http://localhost:9080 {
	clerk_auth {
		%s
		%s
	}
	@m2m clerk token_type m2m_token
	@readers clerk scope read
	handle /echo/* {
		reverse_proxy %s
	}
	handle /m2m-only {
		respond @m2m "machine route {clerk.machine_id}"
		respond "not a machine" 403
	}
	handle /readers {
		respond @readers "reader {clerk.token_type}"
		respond "no read scope" 403
	}
	respond "%s"
}`, clerkKeys(ci), extra, strings.TrimPrefix(itUpstream.URL, "http://"), machineBody))
}

func TestIntegrationMachineTokens(t *testing.T) {
	ci := clerktest.Start(t, clerktest.Options{Host: "clerk.machines.test"})
	loadMachineSite(t, ci, "accept session_token api_key m2m_token oauth_token\n\t\tpublic_routes /public")

	userKey := ci.CreateAPIKey(clerktest.APIKey{Name: "ci-deploy", Subject: "user_ak", Scopes: []string{"read", "write"},
		Claims: map[string]any{"tier": "gold"}})
	orgKey := ci.CreateAPIKey(clerktest.APIKey{Name: "org-key", Subject: "org_ak"})
	revokedKey := ci.CreateAPIKey(clerktest.APIKey{Subject: "user_rv"})
	ci.RevokeMachineToken(revokedKey)
	m2m := ci.CreateM2MToken(clerktest.M2MToken{MachineID: "mch_worker", Scopes: []string{"read"}})
	expiredM2M := ci.CreateM2MToken(clerktest.M2MToken{MachineID: "mch_old", Expiration: time.Now().Add(-time.Minute)})
	oauth := ci.CreateOAuthToken(clerktest.OAuthToken{UserID: "user_oa", ClientID: "client_app", Scopes: []string{"profile", "read"}})
	m2mJWT := ci.MintM2MJWT(clerktest.M2MToken{MachineID: "mch_jwt", Scopes: []string{"read", "jobs"}})
	oauthJWT := ci.MintOAuthJWT(clerktest.OAuthToken{UserID: "user_oj", ClientID: "client_jwt", Scopes: []string{"email"}})
	expiredM2MJWT := ci.MintM2MJWT(clerktest.M2MToken{MachineID: "mch_x", Expiration: time.Now().Add(-time.Minute)})
	otherKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	forgedM2MJWT := ci.MintWithKey(otherKey, ci.KeyID(), clerktest.Session{UserID: "mch_forged",
		Header: map[string]any{"cat": clerktest.CategoryM2M}})
	sessionCatM2M := ci.Mint(clerktest.Session{UserID: "mch_cat"}) // a session category on an M2M JWT
	session := ci.Mint(clerktest.Session{UserID: "user_s", SessionID: "sess_s"})

	runExchanges(t, []exchange{
		{name: "api key of a user", path: "/", header: bearer(userKey), wantStatus: 200,
			wantBody: []string{"status=signed-in reason= type=api_key user=user_ak org= sid= machine= client= scopes=read,write name=ci-deploy",
				"tier=gold authuser=user_ak"}},
		{name: "api key of an organization", path: "/", header: bearer(orgKey), wantStatus: 200,
			wantBody: []string{"type=api_key user= org=org_ak", "name=org-key", "authuser=org_ak"}},
		{name: "raw api key without a scheme", path: "/", header: map[string]string{"Authorization": userKey}, wantStatus: 200,
			wantBody: []string{"type=api_key"}},
		{name: "opaque m2m token", path: "/", header: bearer(m2m), wantStatus: 200,
			wantBody: []string{"type=m2m_token user= org= sid= machine=mch_worker client= scopes=read", "authuser=mch_worker"}},
		{name: "opaque oauth token", path: "/", header: bearer(oauth), wantStatus: 200,
			wantBody: []string{"type=oauth_token user=user_oa", "client=client_app scopes=profile,read"}},
		{name: "m2m JWT verified locally", path: "/", header: bearer(m2mJWT), wantStatus: 200,
			wantBody: []string{"type=m2m_token", "machine=mch_jwt", "scopes=read,jobs"}},
		{name: "oauth JWT verified locally", path: "/", header: bearer(oauthJWT), wantStatus: 200,
			wantBody: []string{"type=oauth_token user=user_oj", "client=client_jwt scopes=email"}},
		{name: "session token still accepted", path: "/", header: bearer(session), wantStatus: 200,
			wantBody: []string{"type=session_token user=user_s", "sid=sess_s machine= "}},
		{name: "unknown api key", path: "/", header: bearer("ak_doesnotexist"), wantStatus: 401,
			wantHeader: map[string]string{"X-Clerk-Auth-Reason": "token-invalid", "WWW-Authenticate": `Bearer error="invalid_token"`}},
		{name: "revoked api key", path: "/", header: bearer(revokedKey), wantStatus: 401,
			wantHeader: map[string]string{"X-Clerk-Auth-Reason": "token-invalid"}},
		{name: "expired opaque m2m", path: "/", header: bearer(expiredM2M), wantStatus: 401,
			wantHeader: map[string]string{"X-Clerk-Auth-Reason": "token-invalid"}},
		{name: "expired m2m JWT", path: "/", header: bearer(expiredM2MJWT), wantStatus: 401,
			wantHeader: map[string]string{"X-Clerk-Auth-Reason": "token-verification-failed"}},
		{name: "forged m2m JWT", path: "/", header: bearer(forgedM2MJWT), wantStatus: 401,
			wantHeader: map[string]string{"X-Clerk-Auth-Reason": "token-verification-failed"}},
		{name: "m2m JWT with a session category", path: "/", header: bearer(sessionCatM2M), wantStatus: 401,
			wantHeader: map[string]string{"X-Clerk-Auth-Reason": "token-invalid"}},
		{name: "public route with a bad machine token passes signed out", path: "/public", header: bearer("mt_nope"), wantStatus: 200,
			wantBody: []string{"status=signed-out reason=token-invalid type= user= org= sid= machine= "}},
		{name: "matcher token_type m2m", path: "/m2m-only", header: bearer(m2m), wantStatus: 200, wantBody: []string{"machine route mch_worker"}},
		{name: "matcher token_type not m2m", path: "/m2m-only", header: bearer(userKey), wantStatus: 403},
		{name: "matcher scope read", path: "/readers", header: bearer(userKey), wantStatus: 200, wantBody: []string{"reader api_key"}},
		{name: "matcher scope missing", path: "/readers", header: bearer(oauthJWT), wantStatus: 403},
		{name: "matcher scope on a session", path: "/readers", header: bearer(session), wantStatus: 403},
		{name: "machine identity headers reach the upstream", path: "/echo/x",
			header:     map[string]string{"Authorization": "Bearer " + userKey, "X-Clerk-Machine-Id": "mch_forged"},
			wantStatus: 200,
			wantBody: []string{"X-Clerk-Api-Key-Name: ci-deploy", "X-Clerk-Scopes: read,write", "X-Clerk-Token-Type: api_key",
				"X-Clerk-User-Id: user_ak"},
			notBody: []string{"mch_forged", "X-Clerk-Session-Id"}},
		{name: "m2m headers", path: "/echo/x", header: bearer(m2m), wantStatus: 200,
			wantBody: []string{"X-Clerk-Machine-Id: mch_worker", "X-Clerk-Token-Type: m2m_token"}, notBody: []string{"X-Clerk-User-Id"}},
	})

	t.Run("verified and not-found answers are cached", func(t *testing.T) {
		ci.ResetAPIRequests()
		for range 5 {
			runExchanges(t, []exchange{
				{name: "known", path: "/", header: bearer(userKey), wantStatus: 200},
				{name: "unknown", path: "/", header: bearer("ak_unknown_twice"), wantStatus: 401},
			})
		}
		if n := ci.APIRequests(clerktest.BackendAPIKeyVerifyPath); n != 1 {
			t.Errorf("%d verify calls for a cached key and a cached not-found, want 1 (the unknown one)", n)
		}
	})

	t.Run("concurrent requests with one new token make one call", func(t *testing.T) {
		fresh := ci.CreateAPIKey(clerktest.APIKey{Subject: "user_conc"})
		ci.ResetAPIRequests()
		var wg sync.WaitGroup
		var ok atomic.Int32
		for range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req, _ := http.NewRequest(http.MethodGet, siteURL+"/", nil)
				req.Header.Set("Authorization", "Bearer "+fresh)
				if resp, err := noRedirects.Do(req); err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode == 200 {
						ok.Add(1)
					}
				}
			}()
		}
		wg.Wait()
		if ok.Load() != 20 {
			t.Errorf("%d of 20 requests signed in", ok.Load())
		}
		if n := ci.APIRequests(clerktest.BackendAPIKeyVerifyPath); n != 1 {
			t.Errorf("%d verify calls for 20 concurrent requests, want 1", n)
		}
	})

	t.Run("BAPI down: machine tokens fail, session tokens do not depend on it", func(t *testing.T) {
		ci.SetAPIMode(clerktest.APIFail)
		defer ci.SetAPIMode(clerktest.APIOK)
		other := ci.CreateAPIKey(clerktest.APIKey{Subject: "user_down"})
		start := time.Now()
		runExchanges(t, []exchange{
			{name: "opaque token", path: "/", header: bearer(other), wantStatus: 401,
				wantHeader: map[string]string{"X-Clerk-Auth-Reason": "unexpected-error"}},
			{name: "JWT machine token", path: "/", header: bearer(ci.MintM2MJWT(clerktest.M2MToken{})), wantStatus: 200},
			{name: "session token", path: "/", header: bearer(ci.Mint(clerktest.Session{})), wantStatus: 200},
		})
		if d := time.Since(start); d > bapiCallTimeout {
			t.Errorf("took %v with the Backend API failing", d)
		}
	})
}

func TestIntegrationAcceptForms(t *testing.T) {
	ci := clerktest.Start(t, clerktest.Options{Host: "clerk.accept.test"})
	key := ci.CreateAPIKey(clerktest.APIKey{Subject: "user_1"})
	m2m := ci.CreateM2MToken(clerktest.M2MToken{})
	session := ci.Mint(clerktest.Session{UserID: "user_1"})

	loadMachineSite(t, ci, "accept api_key")
	runExchanges(t, []exchange{
		{name: "single type: its token", path: "/", header: bearer(key), wantStatus: 200, wantBody: []string{"type=api_key"}},
		{name: "single type: a session token", path: "/", header: bearer(session), wantStatus: 401,
			wantHeader: map[string]string{"X-Clerk-Auth-Reason": "token-type-mismatch"}},
		{name: "single type: another machine type", path: "/", header: bearer(m2m), wantStatus: 401,
			wantHeader: map[string]string{"X-Clerk-Auth-Reason": "token-type-mismatch"}},
		{name: "single type: no token, Clerk's literal reason", path: "/", wantStatus: 401,
			wantHeader: map[string]string{"X-Clerk-Auth-Reason": "No token in header", "WWW-Authenticate": "Bearer"}},
		{name: "machine tokens never come from cookies", path: "/", cookies: []*http.Cookie{{Name: "__session", Value: key}},
			wantStatus: 401, wantHeader: map[string]string{"X-Clerk-Auth-Reason": "No token in header"}},
	})

	loadMachineSite(t, ci, "accept api_key m2m_token")
	runExchanges(t, []exchange{
		{name: "list: no token", path: "/", wantStatus: 401, wantHeader: map[string]string{"X-Clerk-Auth-Reason": "token-type-mismatch"}},
		{name: "list: session cookie is not read", path: "/", cookies: ci.SessionCookies(session), wantStatus: 401,
			wantHeader: map[string]string{"X-Clerk-Auth-Reason": "token-type-mismatch"}},
		{name: "list: m2m", path: "/", header: bearer(m2m), wantStatus: 200},
	})

	loadMachineSite(t, ci, "")
	runExchanges(t, []exchange{
		{name: "default: an api key is just an invalid session token", path: "/", header: bearer(key), wantStatus: 401,
			wantHeader: map[string]string{"X-Clerk-Auth-Reason": "token-invalid"}},
		{name: "default: a machine JWT is a type mismatch", path: "/", header: bearer(ci.MintM2MJWT(clerktest.M2MToken{})), wantStatus: 401,
			wantHeader: map[string]string{"X-Clerk-Auth-Reason": "token-type-mismatch"}},
	})

	ci.ResetAPIRequests()
	loadConfig(t, fmt.Sprintf(`http://localhost:9080 {
	clerk_auth {
		publishable_key %s
		secret_key sk_test_wrong
		api_url %s
		accept api_key
	}
	respond "ok"
}`, ci.PublishableKey(), ci.BackendAPIURL()))
	fresh := ci.CreateAPIKey(clerktest.APIKey{Subject: "user_2"}) // never verified, so not in the instance's cache
	for range 2 {
		runExchanges(t, []exchange{{name: "wrong secret key", path: "/", header: bearer(fresh), wantStatus: 401,
			wantHeader: map[string]string{"X-Clerk-Auth-Reason": "secret-key-invalid"}}})
	}
	if n := ci.APIRequests(clerktest.BackendAPIKeyVerifyPath); n != 2 {
		t.Errorf("%d verify calls with a wrong secret key, want 2 (a 401 is never cached)", n)
	}
}

// webhookUpstream records what a webhook upstream receives.
type webhookUpstream struct {
	srv    *httptest.Server
	mu     sync.Mutex
	bodies [][]byte
	fail   atomic.Bool
}

func newWebhookUpstream(t *testing.T) *webhookUpstream {
	u := &webhookUpstream{}
	u.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		u.mu.Lock()
		u.bodies = append(u.bodies, b)
		u.mu.Unlock()
		if u.fail.Load() {
			http.Error(w, "down", http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, "got %s type=%s id=%s", r.URL.Path, r.Header.Get("X-Webhook-Type"), r.Header.Get("X-Webhook-Id"))
	}))
	t.Cleanup(u.srv.Close)
	return u
}

func (u *webhookUpstream) received() [][]byte {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([][]byte(nil), u.bodies...)
}

// postWebhook posts body with the given headers to the test Caddy.
func postWebhook(t *testing.T, path string, h http.Header, body []byte) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, siteURL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := noRedirects.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func signed(t *testing.T, secret, id string, ts time.Time, body []byte) http.Header {
	t.Helper()
	h, err := clerktest.SignWebhook(secret, id, ts, body)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// loadWebhookSite loads a site with a clerk_webhook on /webhooks/clerk that
// proxies to up, and two clerk_auth handlers of ci (on /other/* and
// everywhere else) that print the identity.
func loadWebhookSite(t *testing.T, ci *clerktest.Instance, secret, up, extra string) {
	t.Helper()
	loadConfig(t, fmt.Sprintf(`http://localhost:9080 {
	clerk_webhook /webhooks/clerk {
		secret %s
		publishable_key %s
		max_body 4KiB
	}
	handle /webhooks/clerk {
		reverse_proxy %s {
			header_up X-Webhook-Type {clerk.webhook.type}
			header_up X-Webhook-Id {clerk.webhook.id}
		}
	}
	route /other/* {
		clerk_auth {
			%s
		}
		respond "other user={clerk.user_id}"
	}
	clerk_auth {
		%s
		public_routes /webhooks/clerk /other/(.*)
		%s
	}
	respond "%s"
}`, secret, ci.PublishableKey(), strings.TrimPrefix(up, "http://"), clerkKeys(ci), clerkKeys(ci), extra, machineBody))
}

func TestIntegrationWebhookRevocation(t *testing.T) {
	ci := clerktest.Start(t, clerktest.Options{Host: "clerk.hooks.test"})
	secret := clerktest.NewWebhookSecret()
	up := newWebhookUpstream(t)
	loadWebhookSite(t, ci, secret, up.srv.URL, "accept session_token api_key")
	ci.AddWebhookEndpoint(siteURL+"/webhooks/clerk", secret)

	tokA := ci.Mint(clerktest.Session{UserID: "user_a", SessionID: "sess_a1"})
	tokA2 := ci.Mint(clerktest.Session{UserID: "user_a", SessionID: "sess_a2"})
	tokB := ci.Mint(clerktest.Session{UserID: "user_b", SessionID: "sess_b1"})
	keyB := ci.CreateAPIKey(clerktest.APIKey{Subject: "user_b"})
	ci.CreateUser(clerktest.User{ID: "user_b"})
	runExchanges(t, []exchange{
		{name: "before: session a1 (now in the token cache)", path: "/", header: bearer(tokA), wantStatus: 200, wantBody: []string{"user=user_a"}},
		{name: "before: other handler", path: "/other/x", header: bearer(tokA), wantStatus: 200},
		{name: "before: user b", path: "/", header: bearer(tokB), wantStatus: 200},
		{name: "before: user b's api key", path: "/", header: bearer(keyB), wantStatus: 200},
	})

	if err := ci.RevokeSession("sess_a1"); err != nil {
		t.Fatalf("delivering session.revoked: %v", err)
	}
	runExchanges(t, []exchange{
		{name: "revoked session's cached token is rejected at once", path: "/", header: bearer(tokA), wantStatus: 401,
			wantHeader: map[string]string{"X-Clerk-Auth-Reason": "session-revoked", "WWW-Authenticate": `Bearer error="invalid_token"`}},
		{name: "by every clerk_auth of the instance", path: "/other/x", header: bearer(tokA), wantStatus: 401,
			wantHeader: map[string]string{"X-Clerk-Auth-Reason": "session-revoked"}},
		{name: "also from a cookie", path: "/", wantStatus: 401,
			cookies:    append(ci.SessionCookies(tokA), &http.Cookie{Name: "__clerk_db_jwt", Value: "dvb_test"}), // a development instance
			wantHeader: map[string]string{"X-Clerk-Auth-Reason": "session-revoked"}},
		{name: "a new token of the revoked session", path: "/", header: bearer(ci.Mint(clerktest.Session{UserID: "user_a", SessionID: "sess_a1"})),
			wantStatus: 401, wantHeader: map[string]string{"X-Clerk-Auth-Reason": "session-revoked"}},
		{name: "the user's other session is fine", path: "/", header: bearer(tokA2), wantStatus: 200},
	})

	if err := ci.EndSession("sess_a2"); err != nil {
		t.Fatal(err)
	}
	runExchanges(t, []exchange{{name: "session.ended (sign-out) rejects too", path: "/", header: bearer(tokA2), wantStatus: 401,
		wantHeader: map[string]string{"X-Clerk-Auth-Reason": "session-revoked"}}})

	if err := ci.DeleteUser("user_b"); err != nil {
		t.Fatal(err)
	}
	runExchanges(t, []exchange{
		{name: "user.deleted rejects the user's sessions", path: "/", header: bearer(tokB), wantStatus: 401,
			wantHeader: map[string]string{"X-Clerk-Auth-Reason": "user-deleted"}},
		{name: "and the user's cached api key", path: "/", header: bearer(keyB), wantStatus: 401,
			wantHeader: map[string]string{"X-Clerk-Auth-Reason": "user-deleted"}},
	})

	t.Run("a reload keeps revocations", func(t *testing.T) {
		loadWebhookSite(t, ci, secret, up.srv.URL, "public_routes /open")
		runExchanges(t, []exchange{{name: "still revoked", path: "/", header: bearer(tokA), wantStatus: 401,
			wantHeader: map[string]string{"X-Clerk-Auth-Reason": "session-revoked"}}})
	})

	t.Run("unknown event types pass through, nothing revoked", func(t *testing.T) {
		tokC := ci.Mint(clerktest.Session{UserID: "user_c", SessionID: "sess_c"})
		body := ci.WebhookEvent("organization.created", map[string]any{"id": "sess_c", "object": "organization"})
		id := clerktest.NewWebhookID()
		status, resp, _ := postWebhook(t, "/webhooks/clerk", signed(t, secret, id, time.Now(), body), body)
		if status != 200 || !strings.Contains(resp, "got /webhooks/clerk type=organization.created id="+id) {
			t.Errorf("status %d body %q", status, resp)
		}
		got := up.received()
		if len(got) == 0 || !bytes.Equal(got[len(got)-1], body) {
			t.Error("the upstream did not receive the untouched body")
		}
		runExchanges(t, []exchange{{name: "still signed in", path: "/", header: bearer(tokC), wantStatus: 200}})
	})
}

func TestIntegrationWebhookRejections(t *testing.T) {
	ci := clerktest.Start(t, clerktest.Options{Host: "clerk.reject.test"})
	secret, oldSecret := clerktest.NewWebhookSecret(), clerktest.NewWebhookSecret()
	up := newWebhookUpstream(t)
	loadConfig(t, fmt.Sprintf(`http://localhost:9080 {
	clerk_webhook /webhooks/clerk {
		secret %s %s
		max_body 4KiB
	}
	reverse_proxy %s
}`, secret, oldSecret, strings.TrimPrefix(up.srv.URL, "http://")))

	tok := ci.Mint(clerktest.Session{SessionID: "sess_target"})
	body := ci.WebhookEvent("session.revoked", map[string]any{"id": "sess_target", "object": "session"})
	now := time.Now()
	good := func(id string) http.Header { return signed(t, secret, id, now, body) }
	with := func(h http.Header, k, v string) http.Header {
		h = h.Clone()
		if v == "" {
			h.Del(k)
		} else {
			h.Set(k, v)
		}
		return h
	}
	sig, _ := clerktest.WebhookSignature(secret, "msg_multi", now.Unix(), body)
	bodyBig := ci.WebhookEvent("user.updated", map[string]any{"id": "user_big", "pad": strings.Repeat("x", 5000)})

	for _, tc := range []struct {
		name   string
		header http.Header
		body   []byte
		status int
		reason string
	}{
		{"unsigned", http.Header{"Content-Type": {"application/json"}}, body, 400, "missing-svix-headers"},
		{"no signature header", with(good("msg_a"), "Svix-Signature", ""), body, 400, "missing-svix-headers"},
		{"malformed signature header", with(good("msg_b"), "Svix-Signature", "garbage"), body, 400, "malformed-signature"},
		{"wrong signature", with(good("msg_c"), "Svix-Signature", "v1,"+strings.Repeat("A", 43)+"="), body, 401, "invalid-signature"},
		{"body changed after signing", good("msg_d"), append(append([]byte{}, body...), ' '), 401, "invalid-signature"},
		{"signed with an unknown secret", signed(t, clerktest.NewWebhookSecret(), "msg_e", now, body), body, 401, "invalid-signature"},
		{"timestamp too old", signed(t, secret, "msg_f", now.Add(-6*time.Minute), body), body, 400, "timestamp-too-old"},
		{"timestamp too new", signed(t, secret, "msg_g", now.Add(6*time.Minute), body), body, 400, "timestamp-too-new"},
		{"malformed timestamp", with(good("msg_h"), "Svix-Timestamp", "yesterday"), body, 400, "malformed-timestamp"},
		{"oversized body", signed(t, secret, "msg_i", now, bodyBig), bodyBig, 413, "body-too-large"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(up.received())
			status, _, h := postWebhook(t, "/webhooks/clerk", tc.header, tc.body)
			if status != tc.status || h.Get("X-Clerk-Webhook-Reason") != tc.reason {
				t.Errorf("status %d reason %q, want %d %q", status, h.Get("X-Clerk-Webhook-Reason"), tc.status, tc.reason)
			}
			if len(up.received()) != before {
				t.Error("an unverified webhook reached the upstream")
			}
		})
	}

	t.Run("nothing was revoked by rejected webhooks", func(t *testing.T) {
		loadConfig(t, fmt.Sprintf(`http://localhost:9080 {
	clerk_webhook /webhooks/clerk {
		secret %s %s
	}
	handle /webhooks/clerk {
		reverse_proxy %s
	}
	clerk_auth {
		%s
		public_routes /webhooks/clerk
	}
	respond "user={clerk.user_id}"
}`, secret, oldSecret, strings.TrimPrefix(up.srv.URL, "http://"), clerkKeys(ci)))
		runExchanges(t, []exchange{{name: "signed in", path: "/", header: bearer(tok), wantStatus: 200}})
	})

	t.Run("one of several signatures, by the second secret", func(t *testing.T) {
		oldSig, _ := clerktest.WebhookSignature(oldSecret, "msg_multi", now.Unix(), body)
		h := with(good("msg_multi"), "Svix-Signature", "v1,"+strings.Repeat("B", 43)+"= v2,"+sig+" v1,"+oldSig)
		if status, _, hdr := postWebhook(t, "/webhooks/clerk", h, body); status != 200 {
			t.Fatalf("status %d (%s)", status, hdr.Get("X-Clerk-Webhook-Reason"))
		}
		runExchanges(t, []exchange{{name: "applied to every instance (no publishable_key)", path: "/", header: bearer(tok), wantStatus: 401,
			wantHeader: map[string]string{"X-Clerk-Auth-Reason": "session-revoked"}}})
		status, _, hdr := postWebhook(t, "/webhooks/clerk", h, body)
		if status != 409 || hdr.Get("X-Clerk-Webhook-Reason") != "replayed" {
			t.Errorf("replay: status %d reason %q, want 409 replayed", status, hdr.Get("X-Clerk-Webhook-Reason"))
		}
	})

	t.Run("a delivery that failed downstream can be retried with its id", func(t *testing.T) {
		up.fail.Store(true)
		b := ci.WebhookEvent("user.updated", map[string]any{"id": "user_retry"})
		h := signed(t, secret, "msg_retry", time.Now(), b)
		if status, _, _ := postWebhook(t, "/webhooks/clerk", h, b); status != 500 {
			t.Fatalf("status %d, want the upstream's 500", status)
		}
		up.fail.Store(false)
		if status, _, hdr := postWebhook(t, "/webhooks/clerk", h, b); status != 200 {
			t.Errorf("retry: status %d (%s), want 200", status, hdr.Get("X-Clerk-Webhook-Reason"))
		}
		if status, _, _ := postWebhook(t, "/webhooks/clerk", h, b); status != 409 {
			t.Errorf("replay after success: status %d, want 409", status)
		}
	})
}

func TestIntegrationUserEnrichment(t *testing.T) {
	setForTest(t, &bapiFailureTTL, 300*time.Millisecond)
	ci := clerktest.Start(t, clerktest.Options{Host: "clerk.users.test"})
	secret := clerktest.NewWebhookSecret()
	ci.CreateUser(clerktest.User{ID: "user_e", Email: "ada@example.test", Username: "ada", FirstName: "Ada", LastName: "Lovelace",
		ImageURL: "https://img.example.test/ada.png", PublicMetadata: map[string]any{"plan": "pro", "limits": map[string]any{"seats": 5}}})
	ci.CreateUser(clerktest.User{ID: "user_f", FirstName: "Fred"})
	fields := "user_fields email username first_name last_name image_url public_metadata.plan public_metadata.limits.seats"
	ci.AddWebhookEndpoint(siteURL+"/webhooks/clerk", secret)
	loadUserSite := func(extra string) {
		loadConfig(t, fmt.Sprintf(`http://localhost:9080 {
	clerk_webhook /webhooks/clerk {
		secret %s
		publishable_key %s
	}
	handle /webhooks/clerk {
		respond "ok"
	}
	clerk_auth {
		%s
		public_routes /webhooks/clerk /public
		%s
		%s
	}
	handle /echo/* {
		reverse_proxy %s
	}
	respond "email={clerk.user.email} first={clerk.user.first_name} plan={clerk.user.public_metadata.plan} seats={clerk.user.public_metadata.limits.seats} status={clerk.auth_status} reason={clerk.auth_reason}"
}`, secret, ci.PublishableKey(), clerkKeys(ci), fields, extra, strings.TrimPrefix(itUpstream.URL, "http://")))
	}
	loadUserSite("accept session_token api_key")

	tok := ci.Mint(clerktest.Session{UserID: "user_e"})
	ci.ResetAPIRequests()
	runExchanges(t, []exchange{
		{name: "placeholders", path: "/", header: bearer(tok), wantStatus: 200,
			wantBody: []string{"email=ada@example.test first=Ada plan=pro seats=5 status=signed-in"}},
		{name: "headers reach the upstream, forged ones do not", path: "/echo/x",
			header: map[string]string{"Authorization": "Bearer " + tok, "X-Clerk-User-Email": "evil@example.test"}, wantStatus: 200,
			wantBody: []string{"X-Clerk-User-Email: ada@example.test", "X-Clerk-User-First-Name: Ada", "X-Clerk-User-Last-Name: Lovelace",
				"X-Clerk-User-Username: ada", "X-Clerk-User-Image-Url: https://img.example.test/ada.png",
				"X-Clerk-User-Public-Metadata-Plan: pro", "X-Clerk-User-Public-Metadata-Limits-Seats: 5", "X-Clerk-User-Id: user_e"},
			notBody: []string{"evil@"}},
		{name: "an api key of the user is enriched too", path: "/", header: bearer(ci.CreateAPIKey(clerktest.APIKey{Subject: "user_e"})),
			wantStatus: 200, wantBody: []string{"email=ada@example.test"}},
		{name: "signed out: nothing", path: "/public", wantStatus: 200, wantBody: []string{"email= first= plan= seats= status=signed-out"}},
	})
	if n := ci.APIRequests("/v1/users/user_e"); n != 1 {
		t.Errorf("%d user fetches, want 1 (cached)", n)
	}

	t.Run("one fetch for concurrent requests", func(t *testing.T) {
		tokF := ci.Mint(clerktest.Session{UserID: "user_f"})
		var wg sync.WaitGroup
		for range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req, _ := http.NewRequest(http.MethodGet, siteURL+"/", nil)
				req.Header.Set("Authorization", "Bearer "+tokF)
				if resp, err := noRedirects.Do(req); err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}()
		}
		wg.Wait()
		if n := ci.APIRequests("/v1/users/user_f"); n != 1 {
			t.Errorf("%d fetches for 20 concurrent requests, want 1", n)
		}
	})

	t.Run("user.updated drops the cached user", func(t *testing.T) {
		u, _ := ci.User("user_e")
		u.PublicMetadata = map[string]any{"plan": "enterprise"}
		if err := ci.UpdateUser(u); err != nil {
			t.Fatal(err)
		}
		runExchanges(t, []exchange{{name: "fresh value", path: "/", header: bearer(tok), wantStatus: 200,
			wantBody: []string{"plan=enterprise"}}})
	})

	t.Run("BAPI failure: proceeds without enrichment", func(t *testing.T) {
		ci.CreateUser(clerktest.User{ID: "user_g", Email: "g@example.test"})
		ci.SetAPIMode(clerktest.APIFail)
		defer ci.SetAPIMode(clerktest.APIOK)
		tokG := ci.Mint(clerktest.Session{UserID: "user_g"})
		runExchanges(t, []exchange{
			{name: "no enrichment", path: "/", header: bearer(tokG), wantStatus: 200, wantBody: []string{"email= first= ", "status=signed-in"}},
			{name: "no headers", path: "/echo/x", header: bearer(tokG), wantStatus: 200, wantBody: []string{"X-Clerk-User-Id: user_g"},
				notBody: []string{"X-Clerk-User-Email"}},
		})
	})

	t.Run("user_fields_required: BAPI failure is 503", func(t *testing.T) {
		loadUserSite("user_fields_required")
		ci.CreateUser(clerktest.User{ID: "user_h", Email: "h@example.test"})
		tokH := ci.Mint(clerktest.Session{UserID: "user_h"})
		ci.SetAPIMode(clerktest.APIFail)
		runExchanges(t, []exchange{{name: "503", path: "/", header: bearer(tokH), wantStatus: 503,
			wantHeader: map[string]string{"X-Clerk-Auth-Reason": "user-fields-unavailable"}}})
		ci.SetAPIMode(clerktest.APIOK)
		time.Sleep(bapiFailureTTL + 50*time.Millisecond) // the failure is remembered this long
		runExchanges(t, []exchange{{name: "recovered", path: "/", header: bearer(tokH), wantStatus: 200,
			wantBody: []string{"email=h@example.test"}}})
	})
}

func TestIntegrationSessionLiveness(t *testing.T) {
	ci := clerktest.Start(t, clerktest.Options{Host: "clerk.live.test"})
	loadConfig(t, fmt.Sprintf(`http://localhost:9080 {
	route /admin/* {
		clerk_auth {
			%s
			session_liveness 300ms
		}
		respond "admin {clerk.user_id}"
	}
	route /public-admin/* {
		clerk_auth {
			%s
			session_liveness 300ms
			public_routes /public-admin/(.*)
		}
		respond "public {clerk.auth_status} {clerk.auth_reason}"
	}
	clerk_auth {
		%s
	}
	respond "app {clerk.user_id} {clerk.auth_reason}"
}`, clerkKeys(ci), clerkKeys(ci), clerkKeys(ci)))

	tok := ci.Mint(clerktest.Session{UserID: "user_l", SessionID: "sess_l"})
	ci.ResetAPIRequests()
	for range 3 {
		runExchanges(t, []exchange{{name: "active", path: "/admin/x", header: bearer(tok), wantStatus: 200, wantBody: []string{"admin user_l"}}})
	}
	if n := ci.APIRequests("/v1/sessions/sess_l"); n != 1 {
		t.Errorf("%d liveness calls within the TTL, want 1", n)
	}

	ci.SetSessionStatus("sess_l", "user_l", "revoked") // no webhook
	runExchanges(t, []exchange{{name: "without liveness the revocation is unknown", path: "/app", header: bearer(tok), wantStatus: 200}})
	time.Sleep(350 * time.Millisecond)
	runExchanges(t, []exchange{
		{name: "liveness catches the revocation", path: "/admin/x", header: bearer(tok), wantStatus: 401,
			wantHeader: map[string]string{"X-Clerk-Auth-Reason": "session-revoked"}},
		{name: "and every clerk_auth of the instance learns it", path: "/app", header: bearer(tok), wantStatus: 401,
			wantHeader: map[string]string{"X-Clerk-Auth-Reason": "session-revoked"}},
	})

	t.Run("BAPI down", func(t *testing.T) {
		tok2 := ci.Mint(clerktest.Session{UserID: "user_m", SessionID: "sess_m"})
		ci.SetAPIMode(clerktest.APIFail)
		defer ci.SetAPIMode(clerktest.APIOK)
		runExchanges(t, []exchange{
			{name: "protected route: 503", path: "/admin/x", header: bearer(tok2), wantStatus: 503,
				wantHeader: map[string]string{"X-Clerk-Auth-Reason": "session-liveness-unavailable"}},
			{name: "public route: passes signed out", path: "/public-admin/x", header: bearer(tok2), wantStatus: 200,
				wantBody: []string{"public signed-out session-liveness-unavailable"}},
			{name: "routes without liveness are unaffected", path: "/app", header: bearer(tok2), wantStatus: 200},
		})
	})

	t.Run("unknown session", func(t *testing.T) {
		ghost := ci.Sign(map[string]any{"alg": "RS256", "kid": ci.KeyID(), "typ": "JWT"}, map[string]any{
			"sub": "user_ghost", "sid": "sess_ghost", "iss": ci.Issuer(), "iat": time.Now().Unix(), "exp": time.Now().Add(time.Minute).Unix()})
		runExchanges(t, []exchange{{name: "a session the Backend API does not know", path: "/admin/x", header: bearer(ghost), wantStatus: 401,
			wantHeader: map[string]string{"X-Clerk-Auth-Reason": "session-revoked"}}})
	})
}

func TestIntegrationBackendConfigErrors(t *testing.T) {
	pk := clerktest.PublishableKeyFor("clerk.cfg.test", false)
	for name, tc := range map[string]struct{ block, want string }{
		"machine tokens need a secret key": {"clerk_auth {\n publishable_key " + pk + "\n accept api_key\n}", "accept api_key: needs secret_key"},
		"user_fields need a secret key":    {"clerk_auth {\n publishable_key " + pk + "\n user_fields email\n}", "user_fields: needs secret_key"},
		"liveness needs a secret key":      {"clerk_auth {\n publishable_key " + pk + "\n session_liveness 5s\n}", "session_liveness: needs secret_key"},
		"unknown user field":               {"clerk_auth {\n publishable_key " + pk + "\n user_fields password\n}", "unknown user field 'password'"},
		"required without fields":          {"clerk_auth {\n publishable_key " + pk + "\n secret_key sk_test_x\n user_fields_required\n}", "user_fields_required: needs user_fields"},
		"bad liveness":                     {"clerk_auth {\n publishable_key " + pk + "\n session_liveness soon\n}", "bad session_liveness value 'soon'"},
		"webhook without secret":           {"clerk_webhook {\n max_body 1KiB\n}", "at least one 'secret whsec_...' is required"},
		"webhook secret without prefix":    {"clerk_webhook {\n secret abc\n}", "secret: must start with whsec_"},
		"webhook secret not base64":        {"clerk_webhook {\n secret whsec_!!!\n}", "secret: the part after whsec_ is not base64"},
		"webhook bad max_body":             {"clerk_webhook {\n secret " + clerktest.NewWebhookSecret() + "\n max_body lots\n}", "bad max_body value 'lots'"},
		"webhook unknown subdirective":     {"clerk_webhook {\n secret " + clerktest.NewWebhookSecret() + "\n tolerance 1h\n}", "unrecognized clerk_webhook subdirective 'tolerance'"},
		"webhook bad publishable key":      {"clerk_webhook {\n secret " + clerktest.NewWebhookSecret() + "\n publishable_key pk_nope\n}", "publishable_key"},
	} {
		t.Run(name, func(t *testing.T) {
			assertLoadError(t, "http://localhost:9080 {\n\t"+tc.block+"\n}", tc.want)
		})
	}
}
