package caddyclerk

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-clerk/caddy-clerk/clerktest"
)

// jwtOf builds an unsigned compact JWS with these header and payload JSON.
func jwtOf(header, payload string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(header)) + "." + enc([]byte(payload)) + ".c2ln"
}

// TestMachineTokenType is clerk-semantics e "Recognition", in Clerk's order.
func TestMachineTokenType(t *testing.T) {
	for _, tc := range []struct {
		name, token, want string
	}{
		{"mt_ prefix", "mt_abc", tokenTypeM2M},
		{"oat_ prefix", "oat_abc", tokenTypeOAuth},
		{"ak_ prefix", "ak_abc", tokenTypeAPIKey},
		{"JWT with an mch_ subject", jwtOf(`{"alg":"RS256"}`, `{"sub":"mch_1"}`), tokenTypeM2M},
		{"JWT with typ at+jwt", jwtOf(`{"alg":"RS256","typ":"at+jwt"}`, `{"sub":"user_1"}`), tokenTypeOAuth},
		{"JWT with typ application/at+jwt", jwtOf(`{"typ":"application/at+jwt"}`, `{"sub":"user_1"}`), tokenTypeOAuth},
		{"both: M2M first, as Clerk", jwtOf(`{"typ":"at+jwt"}`, `{"sub":"mch_1"}`), tokenTypeM2M},
		{"session JWT", jwtOf(`{"alg":"RS256","typ":"JWT"}`, `{"sub":"user_1"}`), ""},
		{"prefix is case-sensitive", "AK_abc", ""},
		{"prefix must lead", "x_ak_abc", ""},
		{"JWT shape with a bad character", jwtOf(`{}`, `{"sub":"mch_1"}`) + "=", ""},
		{"garbage", "hello", ""},
		{"empty", "", ""},
	} {
		if got, _ := machineTokenType(tc.token); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestIsJWTFormat(t *testing.T) {
	for in, want := range map[string]bool{
		"a.b.c": true, "A-_.9.z": true, "a.b": false, "a.b.c.d": false, ".b.c": false, "a..c": false,
		"a.b.": false, "a.b.c=": false, "a.b+.c": false, "": false,
	} {
		if got := isJWTFormat(in); got != want {
			t.Errorf("isJWTFormat(%q) = %v", in, got)
		}
	}
}

func TestStringList(t *testing.T) {
	for in, want := range map[string][]string{
		`"a b  c"`:         {"a", "b", "c"},
		`["a","b",1,""]`:   {"a", "b"},
		`null`:             nil,
		`{"x":1}`:          nil,
		``:                 nil,
		`["only"]`:         {"only"},
		`"single"`:         {"single"},
		`["read","write"]`: {"read", "write"},
	} {
		if got := stringList(json.RawMessage(in)); !slices.Equal(got, want) {
			t.Errorf("stringList(%s) = %v, want %v", in, got, want)
		}
	}
}

// machineFixture is a machine verifier against a clerktest instance.
type machineFixture struct {
	ci    *clerktest.Instance
	m     *machineVerifier
	state *instanceState
}

func newMachineFixture(t *testing.T, accept ...string) *machineFixture {
	t.Helper()
	ci := clerktest.Start(t, clerktest.Options{Host: "clerk.machine-unit.test"})
	key := "test:" + t.Name()
	st, err := acquireInstance(key)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { releaseInstance(key) })
	b := &backendFeatures{state: st, bapi: newBAPIClient(ci.BackendAPIURL(), ci.SecretKey()), logger: zap.NewNop()}
	t.Cleanup(b.bapi.close)
	v := &verifier{keys: staticKey{verificationKey{pub: &ci.PrivateKey().PublicKey}}, skewMillis: 5000, now: time.Now,
		cache: newTokenCache(100)}
	m := &machineVerifier{accepted: accept, keys: v.keys, skewMillis: 5000, now: time.Now, sessions: v, backend: b}
	return &machineFixture{ci: ci, m: m, state: st}
}

func (f *machineFixture) auth(t *testing.T, token string) (authResult, bool) {
	t.Helper()
	return f.m.authenticate(httptest.NewRequest(http.MethodGet, "/", nil), token)
}

func TestMachineVerifierJWT(t *testing.T) {
	f := newMachineFixture(t, tokenTypeM2M, tokenTypeOAuth)
	now := time.Now()
	for _, tc := range []struct {
		name   string
		token  string
		reason string
		check  func(*machineAuth) bool
	}{
		{"m2m with scopes", f.ci.MintM2MJWT(clerktest.M2MToken{MachineID: "mch_1", Scopes: []string{"a", "b"}}), "",
			func(m *machineAuth) bool {
				return m.machineID == "mch_1" && m.scopesCSV == "a,b" && m.id != "" && m.userID == ""
			}},
		{"m2m scopes from aud", f.ci.MintM2MJWT(clerktest.M2MToken{Claims: map[string]any{"aud": []string{"x", "y"}}}), "",
			func(m *machineAuth) bool { return m.scopesCSV == "x,y" }},
		{"oauth scp", f.ci.MintOAuthJWT(clerktest.OAuthToken{UserID: "user_9", ClientID: "c1", Scopes: []string{"email"}}), "",
			func(m *machineAuth) bool { return m.userID == "user_9" && m.clientID == "c1" && m.scopesCSV == "email" }},
		{"oauth scope string", f.ci.Sign(map[string]any{"alg": "RS256", "typ": "at+jwt"},
			map[string]any{"sub": "user_1", "scope": "p q", "exp": now.Add(time.Minute).Unix()}), "",
			func(m *machineAuth) bool { return m.scopesCSV == "p,q" }},
		{"m2m expired", f.ci.MintM2MJWT(clerktest.M2MToken{Expiration: now.Add(-10 * time.Second)}), reasonTokenVerificationFails, nil},
		{"m2m within the skew", f.ci.MintM2MJWT(clerktest.M2MToken{Expiration: now.Add(-3 * time.Second)}), "", nil},
		{"m2m not yet valid", f.ci.Sign(map[string]any{"alg": "RS256"},
			map[string]any{"sub": "mch_1", "nbf": now.Add(time.Hour).Unix(), "exp": now.Add(2 * time.Hour).Unix()}), reasonTokenVerificationFails, nil},
		{"m2m without exp", f.ci.Sign(map[string]any{"alg": "RS256"}, map[string]any{"sub": "mch_1"}), reasonTokenVerificationFails, nil},
		{"m2m typ other than JWT", f.ci.Sign(map[string]any{"alg": "RS256", "typ": "jwt+other"},
			map[string]any{"sub": "mch_1", "exp": now.Add(time.Minute).Unix()}), reasonTokenVerificationFails, nil},
		{"m2m with a template category", f.ci.Sign(map[string]any{"alg": "RS256", "cat": clerktest.CategoryJWTTemplate},
			map[string]any{"sub": "mch_1", "exp": now.Add(time.Minute).Unix()}), reasonTokenInvalid, nil},
		{"alg none", jwtOf(`{"alg":"none"}`, `{"sub":"mch_1","exp":9999999999}`), reasonTokenVerificationFails, nil},
		{"HS256 with the public key", f.ci.Sign(map[string]any{"alg": "HS256"},
			map[string]any{"sub": "mch_1", "exp": now.Add(time.Minute).Unix()}), reasonTokenVerificationFails, nil},
		{"bad signature", func() string { tok := f.ci.MintM2MJWT(clerktest.M2MToken{}); return tok[:len(tok)-4] + "AAAA" }(),
			reasonTokenVerificationFails, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, handled := f.auth(t, tc.token)
			if !handled {
				t.Fatal("not handled")
			}
			if res.reason != tc.reason {
				t.Fatalf("reason %q, want %q", res.reason, tc.reason)
			}
			if tc.check != nil && (res.machineToken() == nil || !tc.check(res.machineToken())) {
				t.Errorf("identity %+v", res.machineToken())
			}
		})
	}
	if n := f.ci.APIRequests(clerktest.BackendM2MVerifyPath); n != 0 {
		t.Errorf("JWT machine tokens made %d Backend API calls", n)
	}
}

func TestMachineVerifierAcceptance(t *testing.T) {
	f := newMachineFixture(t, tokenTypeAPIKey)
	session := f.ci.Mint(clerktest.Session{})
	f.m.acceptSession = true
	if _, handled := f.auth(t, session); handled {
		t.Error("a session token must be left to the session path")
	}
	if res, _ := f.auth(t, f.ci.MintM2MJWT(clerktest.M2MToken{})); res.reason != reasonTokenTypeMismatch {
		t.Errorf("m2m not accepted: %q", res.reason)
	}
	f.m.acceptSession = false
	if res, handled := f.auth(t, session); !handled || res.reason != reasonTokenTypeMismatch {
		t.Errorf("session token when not accepted: %v %q", handled, res.reason)
	}
	f.m.single = true
	if res := f.m.noHeaderToken(); res.reason != reasonNoTokenInHeader || res.tokenSent {
		t.Errorf("single type, no token: %+v", res)
	}
	f.m.single = false
	if res := f.m.noHeaderToken(); res.reason != reasonTokenTypeMismatch {
		t.Errorf("list, no token: %+v", res)
	}
	if res, _ := f.auth(t, "ak_"+strings.Repeat("x", maxTokenLength)); res.reason != reasonTokenInvalid {
		t.Errorf("oversized token: %q", res.reason)
	}
}

func TestMachineVerifierOpaque(t *testing.T) {
	f := newMachineFixture(t, tokenTypeAPIKey, tokenTypeM2M, tokenTypeOAuth)
	key := f.ci.CreateAPIKey(clerktest.APIKey{Name: "n", Subject: "org_1", Scopes: []string{"s"}, Claims: map[string]any{"k": "v"}})
	res, _ := f.auth(t, key)
	if m := res.machineToken(); !res.signedIn() || m.orgID != "org_1" || m.userID != "" || m.name != "n" || string(m.claims) != `{"k":"v"}` {
		t.Fatalf("api key: %+v %+v", res, res.machineToken())
	}
	short := f.ci.CreateM2MToken(clerktest.M2MToken{Expiration: time.Now().Add(200 * time.Millisecond)})
	if res, _ := f.auth(t, short); !res.signedIn() {
		t.Fatalf("short-lived token: %q", res.reason)
	}
	f.ci.ResetAPIRequests()
	if res, _ := f.auth(t, short); !res.signedIn() || f.ci.APIRequests(clerktest.BackendM2MVerifyPath) != 0 {
		t.Fatal("the cached answer was not used")
	}
	time.Sleep(250 * time.Millisecond)
	if res, _ := f.auth(t, short); res.reason != reasonTokenInvalid {
		t.Errorf("after its expiration: %q, want token-invalid (the cache entry expired with the token)", res.reason)
	}

	f.ci.SetAPIMode(clerktest.APIRateLimited)
	fresh := f.ci.CreateOAuthToken(clerktest.OAuthToken{})
	f.m.backend.bapi.sleep = (&fakeSleeps{}).sleep
	if res, _ := f.auth(t, fresh); res.reason != reasonUnexpectedError {
		t.Errorf("rate limited: %q", res.reason)
	}
	f.ci.SetAPIMode(clerktest.APIOK)
	if res, _ := f.auth(t, fresh); !res.signedIn() {
		t.Errorf("after the rate limit (errors are not cached): %q", res.reason)
	}
}

func TestMachineVerifierWaitIsBoundedByTheRequest(t *testing.T) {
	f := newMachineFixture(t, tokenTypeAPIKey)
	f.ci.SetAPIMode(clerktest.APIHang)
	defer f.ci.SetAPIMode(clerktest.APIOK)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	res, _ := f.m.authenticate(httptest.NewRequest(http.MethodGet, "/", nil).WithContext(ctx), f.ci.CreateAPIKey(clerktest.APIKey{}))
	if d := time.Since(start); d > time.Second || res.reason != reasonUnexpectedError {
		t.Errorf("%v, reason %q", d, res.reason)
	}
}
