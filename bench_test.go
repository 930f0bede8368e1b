package caddyclerk

// Benchmarks of the request path. Run with
//
//	go test -run '^$' -bench . -benchmem
//
// The first two are reference points measured in the same run: the RSA
// signature check alone, and a minimal standard-library decode and verify of
// the same token, the floor for any verifying gateway.

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/caddy-clerk/caddy-clerk/clerktest"
)

// benchFixture is a signed Clerk token and a verifier for it.
type benchFixture struct {
	token    string
	pub      *rsa.PublicKey
	pem      []byte
	verifier *verifier
}

func newBenchFixture(b *testing.B) *benchFixture {
	b.Helper()
	ci := clerktest.Start(b, clerktest.Options{Host: "clerk.bench.test", TokenLifetime: time.Hour})
	token := ci.Mint(clerktest.Session{UserID: "user_bench", SessionID: "sess_bench",
		Org: &clerktest.Org{ID: "org_1", Slug: "acme", Role: "admin", Permissions: []string{"org:a:read", "org:a:write", "org:b:read"}}})
	pub := &ci.PrivateKey().PublicKey
	return &benchFixture{
		token: token,
		pub:   pub,
		pem:   ci.PublicKeyPEM(),
		verifier: &verifier{keys: staticKey{verificationKey{pub: pub}}, issuer: ci.Issuer(),
			skewMillis: defaultClockSkew.Milliseconds(), now: time.Now},
	}
}

// BenchmarkRSAVerifyFloor is the RSA PKCS#1 v1.5 check alone.
func BenchmarkRSAVerifyFloor(b *testing.B) {
	f := newBenchFixture(b)
	dot := strings.LastIndexByte(f.token, '.')
	sig, _ := base64.RawURLEncoding.DecodeString(f.token[dot+1:])
	sum := sha256.Sum256([]byte(f.token[:dot]))
	b.ReportAllocs()
	for b.Loop() {
		if rsa.VerifyPKCS1v15(f.pub, crypto.SHA256, sum[:], sig) != nil {
			b.Fatal("bad signature")
		}
	}
}

// BenchmarkStdlibDecodeVerifyFloor decodes and verifies the token with the
// standard library only: split, base64, RSA, JSON claims into a small struct.
func BenchmarkStdlibDecodeVerifyFloor(b *testing.B) {
	f := newBenchFixture(b)
	b.ReportAllocs()
	for b.Loop() {
		parts := strings.Split(f.token, ".")
		hdr, _ := base64.RawURLEncoding.DecodeString(parts[0])
		var h struct{ Alg, Kid string }
		if json.Unmarshal(hdr, &h) != nil {
			b.Fatal("header")
		}
		payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
		sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
		sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
		if rsa.VerifyPKCS1v15(f.pub, crypto.SHA256, sum[:], sig) != nil {
			b.Fatal("bad signature")
		}
		var c struct {
			Sub, Sid, Iss string
			Exp, Iat, Nbf int64
		}
		if json.Unmarshal(payload, &c) != nil || c.Exp < time.Now().Unix() {
			b.Fatal("claims")
		}
	}
}

// BenchmarkVerifyUncached is our full verification of a token never seen
// before: parse, checks in Clerk's order, signature, identity.
func BenchmarkVerifyUncached(b *testing.B) {
	f := newBenchFixture(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		t, err := parseToken(f.token)
		if err != nil {
			b.Fatal(err)
		}
		if _, reason := f.verifier.verify(ctx, t); reason != "" {
			b.Fatal(reason)
		}
		if _, err := newSession(t); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyCacheHit is a token that verified before.
func BenchmarkVerifyCacheHit(b *testing.B) {
	f := newBenchFixture(b)
	f.verifier.cache = newTokenCache(defaultTokenCacheSize)
	a := authenticator{verifier: f.verifier}
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	if res := a.fromHeader(&authRequest{r: req, headerToken: f.token}); !res.signedIn() {
		b.Fatal(res.reason)
	}
	b.ReportAllocs()
	for b.Loop() {
		if f.verifier.cached(f.token) == nil {
			b.Fatal("miss")
		}
	}
}

// BenchmarkNewSession decodes claims and v2 organization permissions.
func BenchmarkNewSession(b *testing.B) {
	f := newBenchFixture(b)
	t, err := parseToken(f.token)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := newSession(t); err != nil {
			b.Fatal(err)
		}
	}
}

// benchHandler is a provisioned clerk_auth with a static key and the usual
// route lists.
func benchHandler(b *testing.B, f *benchFixture) *ClerkAuth {
	b.Helper()
	h := &ClerkAuth{
		PublishableKey: clerktest.PublishableKeyFor("clerk.bench.test", true), // production: no dev browser rules
		JWTKey:         string(f.pem),
		PublicRoutes:   []string{"/", "/sign-in(.*)", "/pricing(.*)", "/api/webhooks(.*)"},
		APIRoutes:      []string{"/api/(.*)"},
	}
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	b.Cleanup(cancel)
	if err := h.Provision(ctx); err != nil {
		b.Fatal(err)
	}
	h.logger = zap.NewNop()
	return h
}

// serveBench runs ServeHTTP on requests prepared like Caddy's (a replacer
// and a vars table in the context). Preparing them is left out of the
// timings and allocation counts, so the figures are the handler's own.
func serveBench(b *testing.B, h *ClerkAuth, path string, header http.Header, wantErr bool) {
	b.Helper()
	next := caddyhttp.HandlerFunc(func(http.ResponseWriter, *http.Request) error { return nil })
	w := httptest.NewRecorder()
	const batch = 256
	reqs := make([]*http.Request, batch)
	b.ReportAllocs()
	b.ResetTimer()
	for done := 0; done < b.N; {
		b.StopTimer()
		n := min(batch, b.N-done)
		for i := range n {
			req := httptest.NewRequest(http.MethodGet, path, nil)
			for k, v := range header {
				req.Header[k] = v
			}
			ctx := context.WithValue(req.Context(), caddy.ReplacerCtxKey, caddy.NewReplacer())
			reqs[i] = req.WithContext(context.WithValue(ctx, caddyhttp.VarsCtxKey, map[string]any{}))
		}
		b.StartTimer()
		for _, req := range reqs[:n] {
			if err := h.ServeHTTP(w, req, next); (err != nil) != wantErr {
				b.Fatalf("err = %v", err)
			}
		}
		done += n
	}
}

// BenchmarkServeHTTPCachedToken is a signed-in request with a reused token.
func BenchmarkServeHTTPCachedToken(b *testing.B) {
	f := newBenchFixture(b)
	h := benchHandler(b, f)
	serveBench(b, h, "/dashboard", http.Header{"Authorization": {"Bearer " + f.token}}, false)
}

// BenchmarkServeHTTPUnauthenticatedAPI is an API request without a token.
func BenchmarkServeHTTPUnauthenticatedAPI(b *testing.B) {
	h := benchHandler(b, newBenchFixture(b))
	serveBench(b, h, "/api/things", http.Header{"Accept": {"application/json"}}, true)
}

// BenchmarkServeHTTPPublicRoute is a public page without a token.
func BenchmarkServeHTTPPublicRoute(b *testing.B) {
	h := benchHandler(b, newBenchFixture(b))
	serveBench(b, h, "/pricing/teams", http.Header{"Accept": {"text/html"}}, false)
}
