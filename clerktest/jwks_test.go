package clerktest

import (
	"context"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
)

func TestJWKSServed(t *testing.T) {
	i := Start(t, Options{})
	for _, tt := range []struct {
		name    string
		url     string
		headers []string
	}{
		{"FAPI", i.FrontendAPIURL() + FrontendJWKSPath, nil},
		{"BAPI", i.BackendAPIURL() + BackendJWKSPath, []string{"Authorization: Bearer " + i.SecretKey()}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.HasPrefix(tt.url, "http://127.0.0.1:") {
				t.Errorf("URL %q is not on 127.0.0.1", tt.url)
			}
			res := get(t, tt.url, tt.headers...)
			if res.status != http.StatusOK {
				t.Fatalf("status %d: %s", res.status, res.body)
			}
			if ct := res.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			if string(res.body) != string(i.JWKS()) {
				t.Errorf("body differs from JWKS()")
			}
			// Exactly Clerk's fields.
			var raw struct {
				Keys []map[string]any `json:"keys"`
			}
			if err := json.Unmarshal(res.body, &raw); err != nil {
				t.Fatal(err)
			}
			if len(raw.Keys) != 1 {
				t.Fatalf("%d keys", len(raw.Keys))
			}
			var fields []string
			for k := range raw.Keys[0] {
				fields = append(fields, k)
			}
			if len(fields) != 6 {
				t.Errorf("key fields %v, want use kty kid alg n e", fields)
			}
			want := map[string]any{"use": "sig", "kty": "RSA", "kid": i.KeyID(), "alg": "RS256", "e": "AQAB"}
			for k, v := range want {
				if raw.Keys[0][k] != v {
					t.Errorf("%s = %v, want %v", k, raw.Keys[0][k], v)
				}
			}
			n, err := base64.RawURLEncoding.DecodeString(raw.Keys[0]["n"].(string))
			if err != nil || len(n) != 256 {
				t.Errorf("n decodes to %d bytes (%v)", len(n), err)
			}

			set, err := jwk.Parse(res.body)
			if err != nil {
				t.Fatalf("jwk.Parse: %v", err)
			}
			key, ok := set.LookupKeyID(i.KeyID())
			if !ok {
				t.Fatal("kid not found by jwx")
			}
			if key.KeyType() != "RSA" || key.Algorithm() != jwa.RS256 || key.KeyUsage() != "sig" {
				t.Errorf("jwx key kty=%v alg=%v use=%v", key.KeyType(), key.Algorithm(), key.KeyUsage())
			}
			var pub rsa.PublicKey
			if err := key.Raw(&pub); err != nil {
				t.Fatal(err)
			}
			if !pub.Equal(&i.PrivateKey().PublicKey) {
				t.Error("served key differs from the signing key")
			}
		})
	}
}

func TestBackendAuth(t *testing.T) {
	i := Start(t, Options{})
	url := i.BackendAPIURL() + BackendJWKSPath
	tests := []struct {
		name    string
		headers []string
		status  int
	}{
		{"no authorization", nil, 401},
		{"wrong key", []string{"Authorization: Bearer sk_test_wrong"}, 401},
		{"publishable key", []string{"Authorization: Bearer " + i.PublishableKey()}, 401},
		{"raw secret key", []string{"Authorization: " + i.SecretKey()}, 401},
		{"basic scheme", []string{"Authorization: Basic " + i.SecretKey()}, 401},
		{"secret key with suffix", []string{"Authorization: Bearer " + i.SecretKey() + "x"}, 401},
		{"correct", []string{"Authorization: Bearer " + i.SecretKey()}, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := get(t, url, tt.headers...)
			if res.status != tt.status {
				t.Fatalf("status %d, want %d: %s", res.status, tt.status, res.body)
			}
			if ct := res.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			if tt.status != 401 {
				return
			}
			var body struct {
				Errors []struct {
					Message     string `json:"message"`
					LongMessage string `json:"long_message"`
					Code        string `json:"code"`
				} `json:"errors"`
			}
			if err := json.Unmarshal(res.body, &body); err != nil {
				t.Fatalf("401 body %s: %v", res.body, err)
			}
			if len(body.Errors) != 1 || body.Errors[0].Code != "clerk_key_invalid" ||
				body.Errors[0].Message == "" || body.Errors[0].LongMessage == "" {
				t.Errorf("401 body %s", res.body)
			}
		})
	}
	// The FAPI needs no key and ignores one.
	if res := get(t, i.FrontendAPIURL()+FrontendJWKSPath); res.status != 200 {
		t.Errorf("FAPI without key: %d", res.status)
	}
	// Unknown paths are JSON 404s.
	if res := get(t, i.BackendAPIURL()+"/v1/nope", "Authorization: Bearer "+i.SecretKey()); res.status != 404 ||
		res.header.Get("Content-Type") != "application/json" {
		t.Errorf("unknown BAPI path: %d %s", res.status, res.body)
	}
}

func TestLastAPIVersion(t *testing.T) {
	i := Start(t, Options{})
	if v := i.LastAPIVersion(); v != "" {
		t.Errorf("initial LastAPIVersion() = %q", v)
	}
	auth := "Authorization: Bearer " + i.SecretKey()
	get(t, i.BackendAPIURL()+BackendJWKSPath, auth, "Clerk-API-Version: 2026-05-12")
	if v := i.LastAPIVersion(); v != "2026-05-12" {
		t.Errorf("LastAPIVersion() = %q", v)
	}
	// Recorded on 401s too.
	get(t, i.BackendAPIURL()+BackendJWKSPath, "Clerk-API-Version: 2025-01-01")
	if v := i.LastAPIVersion(); v != "2025-01-01" {
		t.Errorf("LastAPIVersion() = %q", v)
	}
	// FAPI requests do not touch it.
	get(t, i.FrontendAPIURL()+FrontendJWKSPath, "Clerk-API-Version: 1999-01-01")
	if v := i.LastAPIVersion(); v != "2025-01-01" {
		t.Errorf("LastAPIVersion() = %q after a FAPI request", v)
	}
	// A request without the header resets it.
	get(t, i.BackendAPIURL()+BackendJWKSPath, auth)
	if v := i.LastAPIVersion(); v != "" {
		t.Errorf("LastAPIVersion() = %q after a request without it", v)
	}
}

func TestJWKSModes(t *testing.T) {
	i := Start(t, Options{})
	type check func(t *testing.T, res response)
	jsonError := func(code string) check {
		return func(t *testing.T, res response) {
			var body struct {
				Errors []struct{ Code string } `json:"errors"`
			}
			if err := json.Unmarshal(res.body, &body); err != nil || len(body.Errors) != 1 || body.Errors[0].Code != code {
				t.Errorf("body %s, want error code %s", res.body, code)
			}
		}
	}
	tests := []struct {
		mode   JWKSMode
		status int
		check  check
	}{
		{JWKSOK, 200, func(t *testing.T, res response) {
			if set, err := jwk.Parse(res.body); err != nil || set.Len() != 1 {
				t.Errorf("JWKS %s: %v", res.body, err)
			}
		}},
		{JWKSFail, 500, jsonError("internal_clerk_error")},
		{JWKSGarbage, 200, func(t *testing.T, res response) {
			if json.Valid(res.body) {
				t.Errorf("garbage body is valid JSON: %s", res.body)
			}
			if _, err := jwk.Parse(res.body); err == nil {
				t.Error("jwk.Parse accepted the garbage body")
			}
		}},
		{JWKSEmpty, 200, func(t *testing.T, res response) {
			if string(res.body) != `{"keys":[]}` {
				t.Errorf("body %s", res.body)
			}
		}},
		{JWKSRateLimited, 429, func(t *testing.T, res response) {
			if ra := res.header.Get("Retry-After"); ra != "1" {
				t.Errorf("Retry-After %q", ra)
			}
			jsonError("too_many_requests")(t, res)
		}},
	}
	endpoints := []struct {
		name    string
		url     string
		headers []string
	}{
		{"FAPI", i.FrontendAPIURL() + FrontendJWKSPath, nil},
		{"BAPI", i.BackendAPIURL() + BackendJWKSPath, []string{"Authorization: Bearer " + i.SecretKey()}},
	}
	for _, tt := range tests {
		for _, ep := range endpoints {
			t.Run(tt.mode.String()+"/"+ep.name, func(t *testing.T) {
				i.SetJWKSMode(tt.mode)
				defer i.SetJWKSMode(JWKSOK)
				res := get(t, ep.url, ep.headers...)
				if res.status != tt.status {
					t.Fatalf("status %d, want %d", res.status, tt.status)
				}
				if ct := res.header.Get("Content-Type"); ct != "application/json" {
					t.Errorf("Content-Type %q", ct)
				}
				tt.check(t, res)
			})
		}
	}
	t.Run("BAPI checks the key first", func(t *testing.T) {
		i.SetJWKSMode(JWKSHang)
		defer i.SetJWKSMode(JWKSOK)
		if res := get(t, endpoints[1].url); res.status != 401 {
			t.Errorf("status %d, want 401", res.status)
		}
	})
	t.Run("Hang", func(t *testing.T) {
		i.SetJWKSMode(JWKSHang)
		defer i.SetJWKSMode(JWKSOK)
		for _, ep := range endpoints {
			start := time.Now()
			err := getErr(ep.url, 300*time.Millisecond, ep.headers...)
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("%s: err %v, want a deadline", ep.name, err)
			}
			if d := time.Since(start); d < 250*time.Millisecond {
				t.Errorf("%s: returned after %v", ep.name, d)
			}
		}
		// Handlers whose client went away return promptly.
		waitFor(t, "held handlers to return", func() bool {
			i.inflight.mu.Lock()
			defer i.inflight.mu.Unlock()
			return i.inflight.n == 0
		})
	})
	if got := JWKSMode(99).String(); got != "JWKSMode(99)" {
		t.Errorf("String() = %q", got)
	}
}

// getErr performs a GET that must fail and returns its error.
func getErr(url string, timeout time.Duration, headers ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	for _, h := range headers {
		name, value, _ := strings.Cut(h, ": ")
		req.Header.Set(name, value)
	}
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	res, err := (&http.Client{Transport: tr}).Do(req)
	if err == nil {
		res.Body.Close()
		return errors.New("request succeeded")
	}
	return err
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestCloseReleasesHangs(t *testing.T) {
	before := runtime.NumGoroutine()
	i, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	i.SetJWKSMode(JWKSHang)

	tr := &http.Transport{}
	client := &http.Client{Transport: tr}
	urls := []string{i.FrontendAPIURL() + FrontendJWKSPath, i.BackendAPIURL() + BackendJWKSPath}
	errs := make(chan error, len(urls))
	for _, u := range urls {
		go func() {
			req, _ := http.NewRequest(http.MethodGet, u, nil)
			req.Header.Set("Authorization", "Bearer "+i.SecretKey())
			res, err := client.Do(req)
			if err == nil {
				res.Body.Close()
				err = errors.New("got a response: " + res.Status)
			}
			errs <- err
		}()
	}
	waitFor(t, "both requests to be held", func() bool { return i.JWKSFetches() == 2 })

	start := time.Now()
	i.Close()
	if d := time.Since(start); d > closeTimeout {
		t.Errorf("Close took %v", d)
	}
	for range urls {
		select {
		case err := <-errs:
			if err == nil {
				t.Error("held request succeeded")
			}
		case <-time.After(3 * time.Second):
			t.Fatal("held request not released by Close")
		}
	}
	tr.CloseIdleConnections()
	i.Close() // idempotent

	// No handler of ours survives Close, and the goroutine count settles.
	buf := make([]byte, 1<<20)
	stacks := string(buf[:runtime.Stack(buf, true)])
	if strings.Contains(stacks, "clerktest.(*Instance).serveJWKS") {
		t.Errorf("a JWKS handler outlived Close:\n%s", stacks)
	}
	deadline := time.Now().Add(3 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<20)
		t.Errorf("%d goroutines after Close, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
	}

	// After Close nothing listens any more.
	if err := getErr(urls[0], time.Second); err == nil {
		t.Error("FAPI still answers after Close")
	}
}

func TestJWKSFetches(t *testing.T) {
	i := Start(t, Options{})
	fapi := i.FrontendAPIURL() + FrontendJWKSPath
	bapi := i.BackendAPIURL() + BackendJWKSPath
	auth := "Authorization: Bearer " + i.SecretKey()
	if n := i.JWKSFetches(); n != 0 {
		t.Fatalf("initial JWKSFetches() = %d", n)
	}
	steps := []struct {
		name string
		do   func()
		want int64
	}{
		{"FAPI", func() { get(t, fapi) }, 1},
		{"BAPI", func() { get(t, bapi, auth) }, 2},
		{"BAPI 401", func() { get(t, bapi) }, 3},
		{"failing", func() { i.SetJWKSMode(JWKSFail); get(t, fapi); i.SetJWKSMode(JWKSOK) }, 4},
		{"other path", func() { get(t, i.FrontendAPIURL()+"/v1/client") }, 4},
		{"reset", i.ResetJWKSFetches, 0},
		{"after reset", func() { get(t, bapi, auth); get(t, fapi) }, 2},
	}
	for _, s := range steps {
		s.do()
		if n := i.JWKSFetches(); n != s.want {
			t.Errorf("after %s: JWKSFetches() = %d, want %d", s.name, n, s.want)
		}
	}
}

func TestExtraHandlers(t *testing.T) {
	i := Start(t, Options{})
	i.HandleBackend("GET /v1/extra", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"directives": []string{"__session=" + r.URL.Query().Get("nonce")}})
	}))
	i.HandleFrontend("GET /v1/environment", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("env"))
	}))
	url := i.BackendAPIURL() + "/v1/extra?nonce=n1"
	if res := get(t, url); res.status != 401 {
		t.Errorf("extra BAPI handler without key: %d", res.status)
	}
	res := get(t, url, "Authorization: Bearer "+i.SecretKey())
	var body struct{ Directives []string }
	if err := json.Unmarshal(res.body, &body); err != nil || !reflect.DeepEqual(body.Directives, []string{"__session=n1"}) {
		t.Errorf("extra BAPI handler: %d %s", res.status, res.body)
	}
	if res := get(t, i.FrontendAPIURL()+"/v1/environment"); string(res.body) != "env" {
		t.Errorf("extra FAPI handler: %d %s", res.status, res.body)
	}
	if i.JWKSFetches() != 0 {
		t.Errorf("extra handlers counted as JWKS fetches")
	}
}

func TestNewListenError(t *testing.T) {
	a := Start(t, Options{})
	port := strings.TrimPrefix(a.BackendAPIURL(), "http://127.0.0.1:")
	if _, err := New(Options{BackendAddr: "127.0.0.1:" + port}); err == nil {
		t.Error("New succeeded on a port in use")
	}
	if _, err := New(Options{FrontendAddr: "127.0.0.1:" + port}); err == nil {
		t.Error("New succeeded on a port in use")
	}
}

func TestUnspecifiedAddress(t *testing.T) {
	i := Start(t, Options{FrontendAddr: "127.0.0.1:0", BackendAddr: "127.0.0.1:0"})
	if i.FrontendAPIURL() == i.BackendAPIURL() {
		t.Error("both servers on one URL")
	}
	for _, tt := range []struct{ in, want string }{
		{"0.0.0.0:80", "http://127.0.0.1:80"},
		{"[::]:81", "http://[::1]:81"},
		{"127.0.0.1:82", "http://127.0.0.1:82"},
		{"[::1]:83", "http://[::1]:83"},
	} {
		if got := baseURL(fakeAddr(tt.in)); got != tt.want {
			t.Errorf("baseURL(%s) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

type fakeAddr string

func (a fakeAddr) Network() string { return "tcp" }
func (a fakeAddr) String() string  { return string(a) }
