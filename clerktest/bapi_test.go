package clerktest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestVerifyEndpoints(t *testing.T) {
	i := Start(t, Options{})
	auth := "Authorization: Bearer " + i.SecretKey()
	key := i.CreateAPIKey(APIKey{Name: "k", Subject: "org_1", Scopes: []string{"a"}, Claims: map[string]any{"x": 1}})
	m2m := i.CreateM2MToken(M2MToken{MachineID: "mch_1", Expiration: time.Now().Add(-time.Second)})
	oat := i.CreateOAuthToken(OAuthToken{UserID: "user_1", ClientID: "c"})
	if !strings.HasPrefix(key, "ak_") || !strings.HasPrefix(m2m, "mt_") || !strings.HasPrefix(oat, "oat_") {
		t.Fatalf("prefixes: %s %s %s", key, m2m, oat)
	}
	for _, tc := range []struct {
		path, body string
		status     int
		want       map[string]any
	}{
		{BackendAPIKeyVerifyPath, `{"secret":"` + key + `"}`, 200,
			map[string]any{"object": "api_key", "name": "k", "subject": "org_1", "revoked": false, "expired": false, "expiration": nil}},
		{BackendM2MVerifyPath, `{"token":"` + m2m + `"}`, 200,
			map[string]any{"object": "machine_to_machine_token", "subject": "mch_1", "expired": true}},
		{BackendOAuthVerifyPath, `{"access_token":"` + oat + `"}`, 200,
			map[string]any{"object": "clerk_idp_oauth_access_token", "subject": "user_1", "client_id": "c"}},
		{BackendAPIKeyVerifyPath, `{"secret":"` + m2m + `"}`, 404, nil}, // another type
		{BackendAPIKeyVerifyPath, `{"secret":"ak_unknown"}`, 404, nil},
		{BackendAPIKeyVerifyPath, `not json`, 404, nil},
	} {
		res := post(t, i.BackendAPIURL()+tc.path, tc.body, auth)
		if res.status != tc.status {
			t.Errorf("%s %s: status %d, body %s", tc.path, tc.body, res.status, res.body)
			continue
		}
		var got map[string]any
		_ = json.Unmarshal(res.body, &got)
		for k, v := range tc.want {
			if g, ok := got[k]; !ok || g != v {
				t.Errorf("%s: %s = %v, want %v", tc.path, k, g, v)
			}
		}
	}
	if res := post(t, i.BackendAPIURL()+BackendAPIKeyVerifyPath, `{"secret":"`+key+`"}`); res.status != 401 {
		t.Errorf("without the secret key: %d", res.status)
	}
	i.RevokeMachineToken(key)
	res := post(t, i.BackendAPIURL()+BackendAPIKeyVerifyPath, `{"secret":"`+key+`"}`, auth)
	if !bytes.Contains(res.body, []byte(`"revoked":true`)) {
		t.Errorf("revoked key: %s", res.body)
	}
	if n := i.APIRequests(BackendAPIKeyVerifyPath); n != 6 {
		t.Errorf("%d api key verify requests counted, want 6", n)
	}
}

func TestUsersAndSessions(t *testing.T) {
	i := Start(t, Options{})
	auth := "Authorization: Bearer " + i.SecretKey()
	u := i.CreateUser(User{Email: "a@x.test", FirstName: "A", PublicMetadata: map[string]any{"plan": "pro"}})
	res := get(t, i.BackendAPIURL()+BackendUsersPath+u.ID, auth)
	var obj map[string]any
	if err := json.Unmarshal(res.body, &obj); err != nil || res.status != 200 {
		t.Fatalf("user: %d %s", res.status, res.body)
	}
	if obj["first_name"] != "A" || obj["last_name"] != nil || obj["public_metadata"].(map[string]any)["plan"] != "pro" {
		t.Errorf("user object %v", obj)
	}
	primary := obj["primary_email_address_id"]
	found := false
	for _, e := range obj["email_addresses"].([]any) {
		e := e.(map[string]any)
		if e["id"] == primary && e["email_address"] == "a@x.test" {
			found = true
		}
	}
	if !found {
		t.Errorf("primary email not found in %v", obj["email_addresses"])
	}
	if res := get(t, i.BackendAPIURL()+BackendUsersPath+"user_nope", auth); res.status != 404 {
		t.Errorf("unknown user: %d", res.status)
	}

	i.Mint(Session{UserID: u.ID, SessionID: "sess_1"})
	i.Mint(Session{UserID: u.ID, SessionID: "sess_p", Status: "pending"})
	if s := i.SessionStatus("sess_1"); s != "active" {
		t.Errorf("minted session: %q", s)
	}
	if s := i.SessionStatus("sess_p"); s != "pending" {
		t.Errorf("pending session: %q", s)
	}
	res = post(t, i.BackendAPIURL()+BackendSessionsPath+"sess_1/revoke", "", auth)
	if res.status != 200 || !bytes.Contains(res.body, []byte(`"status":"revoked"`)) {
		t.Errorf("revoke: %d %s", res.status, res.body)
	}
	res = get(t, i.BackendAPIURL()+BackendSessionsPath+"sess_1", auth)
	if !bytes.Contains(res.body, []byte(`"status":"revoked"`)) {
		t.Errorf("session after revoke: %s", res.body)
	}
	if err := i.RevokeSession("sess_unknown"); err != ErrNotFound {
		t.Errorf("unknown session: %v", err)
	}
	if err := i.DeleteUser(u.ID); err != nil {
		t.Fatal(err)
	}
	if s := i.SessionStatus("sess_p"); s != "pending" {
		t.Errorf("a pending session of a deleted user: %q", s)
	}
}

func TestAPIModes(t *testing.T) {
	i := Start(t, Options{})
	auth := "Authorization: Bearer " + i.SecretKey()
	u := i.CreateUser(User{})
	url := i.BackendAPIURL() + BackendUsersPath + u.ID
	i.SetAPIMode(APIFail)
	if res := get(t, url, auth); res.status != 500 {
		t.Errorf("APIFail: %d", res.status)
	}
	i.SetAPIMode(APIRateLimited)
	if res := get(t, url, auth); res.status != 429 || res.header.Get("Retry-After") != "1" {
		t.Errorf("APIRateLimited: %d %v", res.status, res.header)
	}
	if res := get(t, i.BackendAPIURL()+BackendJWKSPath, auth); res.status != 200 {
		t.Errorf("the JWKS does not follow the API mode: %d", res.status)
	}
	i.SetAPIMode(APIOK)
	if res := get(t, url, auth); res.status != 200 {
		t.Errorf("APIOK: %d", res.status)
	}
	if n := i.APIRequests(BackendUsersPath + u.ID); n != 3 {
		t.Errorf("%d requests counted, want 3", n)
	}
}

func TestWebhookSigningMatchesSvix(t *testing.T) {
	// Svix's published example.
	sig, err := WebhookSignature("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
		[]byte(`{"test": 2432232314}`))
	if err != nil || sig != "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=" {
		t.Errorf("signature %q, %v", sig, err)
	}
	if _, err := SignWebhook("nope", "msg", time.Now(), nil); err == nil {
		t.Error("a secret without whsec_ was accepted")
	}
	if s := NewWebhookSecret(); !strings.HasPrefix(s, "whsec_") || len(s) < 30 {
		t.Errorf("secret %q", s)
	}
}

func TestWebhookDelivery(t *testing.T) {
	i := Start(t, Options{})
	secret := NewWebhookSecret()
	var mu sync.Mutex
	var got []http.Header
	var bodies [][]byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, r.Header.Clone())
		bodies = append(bodies, b)
		mu.Unlock()
	}))
	defer srv.Close()
	i.AddWebhookEndpoint(srv.URL, secret)
	i.Mint(Session{UserID: "user_1", SessionID: "sess_1"})
	if err := i.RevokeSession("sess_1"); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("%d deliveries", len(got))
	}
	var ev struct {
		Type string
		Data struct {
			ID     string `json:"id"`
			UserID string `json:"user_id"`
		}
	}
	if err := json.Unmarshal(bodies[0], &ev); err != nil || ev.Type != "session.revoked" || ev.Data.ID != "sess_1" || ev.Data.UserID != "user_1" {
		t.Errorf("event %s", bodies[0])
	}
	h := got[0]
	tsec, _ := strconv.ParseInt(h.Get("Svix-Timestamp"), 10, 64)
	want, _ := WebhookSignature(secret, h.Get("Svix-Id"), tsec, bodies[0])
	if h.Get("Svix-Signature") != "v1,"+want || !strings.HasPrefix(h.Get("Svix-Id"), "msg_") {
		t.Errorf("headers %v", h)
	}

	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }))
	defer failing.Close()
	i.AddWebhookEndpoint(failing.URL, secret)
	if err := i.SendWebhook("user.updated", map[string]any{"id": "user_1"}); err == nil {
		t.Error("a failed delivery is not reported")
	}
}
