package caddyclerk

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/caddy-clerk/caddy-clerk/clerktest"
)

func TestHeaderToken(t *testing.T) {
	for _, tc := range []struct {
		in     string
		want   string
		wantOK bool
	}{
		{"", "", false},
		{"tok", "tok", true},
		{"eyJ.eyJ.sig", "eyJ.eyJ.sig", true},
		{"Bearer x", "x", true},
		{"bearer x", "x", true},
		{"BEARER x", "x", true},
		{"BeArEr x", "x", true},
		{"Bearer a b", "a", true},
		{"Bearer  tok", "Bearer", true},
		{"bearer  tok", "bearer", true},
		{"Bearer", "Bearer", true},
		{"Basic abc", "", false},
		{"Basic dXNlcjpwYXNz", "", false},
		{"Token x", "", false},
		{"Bearerx y", "", false},
		{" tok", "", false},
	} {
		got, ok := headerToken(tc.in)
		if got != tc.want || ok != tc.wantOK {
			t.Errorf("headerToken(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.wantOK)
		}
	}
}

// unitAuthEnv is an authenticator for a production instance, verifying with
// its PEM key at unitNow, for requests to https://app.example.test.
type unitAuthEnv struct {
	clerk *clerktest.Instance
	inst  *instance
	auth  *authenticator
}

func unitNewAuthEnv(t *testing.T) *unitAuthEnv {
	t.Helper()
	clerk := clerktest.Start(t, clerktest.Options{Live: true})
	inst, err := parsePublishableKey(clerk.PublishableKey())
	if err != nil {
		t.Fatal(err)
	}
	return &unitAuthEnv{clerk: clerk, inst: inst, auth: &authenticator{verifier: unitVerifier(t, clerk), inst: inst}}
}

// unitReq describes one request to authenticate.
type unitReq struct {
	method  string            // default GET
	target  string            // default https://app.example.test/dashboard
	authz   string            // Authorization header
	cookies []string          // name=value pairs, one Cookie line
	headers map[string]string // other headers
}

func (r unitReq) build() *http.Request {
	method, target := r.method, r.target
	if method == "" {
		method = http.MethodGet
	}
	if target == "" {
		target = "https://app.example.test/dashboard"
	}
	req := httptest.NewRequest(method, target, nil)
	if r.authz != "" {
		req.Header.Set("Authorization", r.authz)
	}
	if len(r.cookies) > 0 {
		req.Header.Set("Cookie", strings.Join(r.cookies, "; "))
	}
	for k, v := range r.headers {
		req.Header.Set(k, v)
	}
	return req
}

// unitWant is the expected authResult.
type unitWant struct {
	status    string
	reason    string
	tokenSent bool
	userID    string // of the session, when one is kept
	pending   bool   // the session is kept with sts pending
}

func (w unitWant) check(t *testing.T, got authResult) {
	t.Helper()
	if got.status != w.status || got.reason != w.reason || got.tokenSent != w.tokenSent {
		t.Errorf("authenticate() = {status %q, reason %q, tokenSent %v}, want {status %q, reason %q, tokenSent %v}",
			got.status, got.reason, got.tokenSent, w.status, w.reason, w.tokenSent)
		return
	}
	switch {
	case w.status == statusSignedIn:
		if got.session == nil || got.session.UserID != w.userID || got.tokenType != tokenTypeSession {
			t.Errorf("signed-in result has session %v, token type %q; want user %q", unitUserOf(got.session), got.tokenType, w.userID)
		}
	case w.pending:
		if got.session == nil || got.session.status != "pending" || got.session.UserID != w.userID || got.tokenType != tokenTypeSession {
			t.Errorf("pending result has session %v, token type %q; want the pending session kept", unitUserOf(got.session), got.tokenType)
		}
	default:
		if got.session != nil {
			t.Errorf("signed-out result carries session %v", unitUserOf(got.session))
		}
	}
}

// unitUserOf describes a session briefly for failure messages.
func unitUserOf(s *session) string {
	if s == nil {
		return "<nil>"
	}
	return "{user " + s.UserID + ", status " + s.status + "}"
}

// unitTokens are the tokens the request tests send, all of one instance.
type unitTokens struct {
	good, expired, nbf, iatFuture, pending, machine, atJWT, template, m2m string
	foreign, wrongIssuer, badFea, otherInstance                           string
	iat                                                                   int64
}

func unitMakeTokens(t *testing.T, env *unitAuthEnv) unitTokens {
	t.Helper()
	c := env.clerk
	pendingSession := unitBaseSession()
	pendingSession.Status = "pending"
	return unitTokens{
		good:        unitToken(t, c, nil, nil),
		expired:     unitToken(t, c, nil, map[string]any{"exp": unitSec(-time.Minute)}),
		nbf:         unitToken(t, c, nil, map[string]any{"nbf": unitSec(time.Minute)}),
		iatFuture:   unitToken(t, c, nil, map[string]any{"iat": unitSec(time.Minute)}),
		pending:     unitTokenFrom(t, c, pendingSession, nil, nil),
		machine:     unitToken(t, c, nil, map[string]any{"sub": "mch_1"}),
		atJWT:       unitToken(t, c, map[string]any{"typ": "at+jwt"}, nil),
		template:    unitToken(t, c, map[string]any{"cat": clerktest.CategoryJWTTemplate}, nil),
		m2m:         unitToken(t, c, map[string]any{"cat": clerktest.CategoryM2M}, nil),
		foreign:     c.MintWithKey(unitForeignKey(t), c.KeyID(), unitBaseSession()),
		wrongIssuer: unitToken(t, c, nil, map[string]any{"iss": "https://clerk.other.test"}),
		badFea: unitToken(t, c, nil, map[string]any{
			"v": 2, "fea": "o:a,premium", "o": map[string]any{"id": "org_1", "per": "x", "fpm": "1"},
		}),
		iat: int64(unitSec(-10 * time.Second)),
	}
}

func TestAuthenticateHeader(t *testing.T) {
	env := unitNewAuthEnv(t)
	tk := unitMakeTokens(t, env)
	sfx := env.inst.suffix
	uat := "__client_uat=" + strconv.FormatInt(tk.iat, 10)
	signedInAs := func(user string) unitWant { return unitWant{status: statusSignedIn, tokenSent: true, userID: user} }
	out := func(reason string, sent bool) unitWant {
		return unitWant{status: statusSignedOut, reason: reason, tokenSent: sent}
	}
	expiredPrefix := "session-token-expired-refresh-"

	for _, tc := range []struct {
		name string
		req  unitReq
		want unitWant
	}{
		{"valid", unitReq{authz: "Bearer " + tk.good}, signedInAs("user_1")},
		{"lower-case scheme", unitReq{authz: "bearer " + tk.good}, signedInAs("user_1")},
		{"upper-case scheme", unitReq{authz: "BEARER " + tk.good}, signedInAs("user_1")},
		{"raw token without scheme", unitReq{authz: tk.good}, signedInAs("user_1")},
		{"valid on POST", unitReq{method: http.MethodPost, authz: "Bearer " + tk.good}, signedInAs("user_1")},
		{"machine subject", unitReq{authz: "Bearer " + tk.machine}, out(reasonTokenTypeMismatch, true)},
		{"OAuth typ", unitReq{authz: "Bearer " + tk.atJWT}, out(reasonTokenTypeMismatch, true)},
		{"template category", unitReq{authz: "Bearer " + tk.template}, out(reasonTokenTypeMismatch, true)},
		{"m2m category", unitReq{authz: "Bearer " + tk.m2m}, out(reasonTokenTypeMismatch, true)},
		{"garbage", unitReq{authz: "Bearer abc"}, out(reasonTokenInvalid, true)},
		{"opaque machine token", unitReq{authz: "Bearer ak_123"}, out(reasonTokenInvalid, true)},
		{"two spaces: the token is Bearer", unitReq{authz: "Bearer  " + tk.good}, out(reasonTokenInvalid, true)},
		{"bad header token, good cookies: no fallback", unitReq{authz: "Bearer abc", cookies: []string{"__session=" + tk.good, uat}},
			out(reasonTokenInvalid, true)},
		{"expired header token, good cookies: no fallback", unitReq{authz: "Bearer " + tk.expired, cookies: []string{"__session=" + tk.good, uat}},
			out(expiredPrefix+reasonRefreshNonEligibleNoCookie, true)},
		{"expired GET, no refresh cookie", unitReq{authz: "Bearer " + tk.expired},
			out(expiredPrefix+reasonRefreshNonEligibleNoCookie, true)},
		{"expired POST", unitReq{method: http.MethodPost, authz: "Bearer " + tk.expired, cookies: []string{"__refresh_" + sfx + "=r"}},
			out(expiredPrefix+reasonRefreshNonEligibleNonGet, true)},
		{"expired HEAD", unitReq{method: http.MethodHead, authz: "Bearer " + tk.expired},
			out(expiredPrefix+reasonRefreshNonEligibleNonGet, true)},
		{"expired GET, suffixed refresh cookie", unitReq{authz: "Bearer " + tk.expired, cookies: []string{"__refresh_" + sfx + "=r"}},
			out(expiredPrefix+reasonRefreshMissingAPIClient, true)},
		{"expired GET, unsuffixed refresh cookie only", unitReq{authz: "Bearer " + tk.expired, cookies: []string{"__refresh=r"}},
			out(expiredPrefix+reasonRefreshNonEligibleNoCookie, true)},
		{"expired GET, empty suffixed refresh cookie", unitReq{authz: "Bearer " + tk.expired, cookies: []string{"__refresh_" + sfx + "="}},
			out(expiredPrefix+reasonRefreshNonEligibleNoCookie, true)},
		{"not active yet", unitReq{authz: "Bearer " + tk.nbf}, out(reasonSessionTokenNbf, true)},
		{"issued in the future", unitReq{authz: "Bearer " + tk.iatFuture}, out(reasonSessionTokenIatInTheFuture, true)},
		{"pending session", unitReq{authz: "Bearer " + tk.pending},
			unitWant{status: statusSignedOut, reason: reasonSessionPending, tokenSent: true, userID: "user_1", pending: true}},
		{"foreign signature", unitReq{authz: "Bearer " + tk.foreign}, out(reasonTokenInvalidSignature, true)},
		{"wrong issuer", unitReq{authz: "Bearer " + tk.wrongIssuer}, out(reasonTokenInvalidIssuer, true)},
		{"malformed v2 fea", unitReq{authz: "Bearer " + tk.badFea}, out(reasonUnexpectedError, true)},
		{"Basic scheme falls through to valid cookies", unitReq{authz: "Basic dXNlcjpwYXNz", cookies: []string{"__session=" + tk.good, uat}},
			signedInAs("user_1")},
		{"Basic scheme, no cookies", unitReq{authz: "Basic dXNlcjpwYXNz"}, out(reasonSessionTokenAndUATMissing, false)},
		{"token in the query is never read", unitReq{target: "https://app.example.test/?__session=" + tk.good + "&token=" + tk.good},
			out(reasonSessionTokenAndUATMissing, false)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.want.check(t, env.auth.authenticate(tc.req.build()))
		})
	}
}

func TestAuthenticateCookies(t *testing.T) {
	env := unitNewAuthEnv(t)
	tk := unitMakeTokens(t, env)
	sfx := env.inst.suffix
	iat := strconv.FormatInt(tk.iat, 10)
	good := []string{"__session=" + tk.good, "__client_uat=" + iat}
	withCookies := func(extra ...string) []string { return append(append([]string{}, good...), extra...) }
	session := func(tok string) []string { return []string{"__session=" + tok, "__client_uat=" + iat} }
	document := func(referer string) map[string]string {
		return map[string]string{"Sec-Fetch-Dest": "document", "Referer": referer}
	}
	signedIn := unitWant{status: statusSignedIn, tokenSent: true, userID: "user_1"}
	out := func(reason string, sent bool) unitWant {
		return unitWant{status: statusSignedOut, reason: reason, tokenSent: sent}
	}
	expiredPrefix := "session-token-expired-refresh-"
	foreignIss := unitToken(t, env.clerk, nil, map[string]any{"iss": "https://clerk.other.test"})

	for _, tc := range []struct {
		name string
		req  unitReq
		want unitWant
	}{
		// Clerk's order, steps 6 to 13.
		{"no cookies", unitReq{}, out(reasonSessionTokenAndUATMissing, false)},
		{"unrelated cookies", unitReq{cookies: []string{"a=1", "session=x"}}, out(reasonSessionTokenAndUATMissing, false)},
		{"empty session, no client_uat", unitReq{cookies: []string{"__session="}}, out(reasonSessionTokenAndUATMissing, false)},
		{"client_uat 0 only", unitReq{cookies: []string{"__client_uat=0"}}, out(reasonSessionTokenAndUATMissing, false)},
		{"session, no client_uat", unitReq{cookies: []string{"__session=" + tk.good}}, out(reasonSessionTokenButNoClientUAT, true)},
		{"session, client_uat 0", unitReq{cookies: []string{"__session=" + tk.good, "__client_uat=0"}}, out(reasonSessionTokenButNoClientUAT, true)},
		{"session, client_uat not a number", unitReq{cookies: []string{"__session=" + tk.good, "__client_uat=abc"}}, out(reasonSessionTokenButNoClientUAT, true)},
		{"session, empty client_uat", unitReq{cookies: []string{"__session=" + tk.good, "__client_uat="}}, out(reasonSessionTokenButNoClientUAT, true)},
		{"garbage session, no client_uat", unitReq{cookies: []string{"__session=garbage"}}, out(reasonSessionTokenButNoClientUAT, true)},
		{"client_uat, no session", unitReq{cookies: []string{"__client_uat=" + iat}}, out(reasonClientUATButNoSessionToken, false)},
		{"client_uat, empty session", unitReq{cookies: []string{"__session=", "__client_uat=" + iat}}, out(reasonClientUATButNoSessionToken, false)},
		{"garbage session", unitReq{cookies: session("garbage")}, out(reasonTokenInvalid, true)},
		{"four-part session", unitReq{cookies: session(tk.good + ".x")}, out(reasonTokenInvalid, true)},
		{"machine session cookie", unitReq{cookies: session(tk.machine)}, out(reasonTokenTypeMismatch, true)},
		{"OAuth session cookie", unitReq{cookies: session(tk.atJWT)}, out(reasonTokenTypeMismatch, true)},
		{"template session cookie", unitReq{cookies: session(tk.template)}, out(reasonTokenTypeMismatch, true)},
		{"iat before client_uat", unitReq{cookies: []string{"__session=" + tk.good, "__client_uat=" + strconv.FormatInt(tk.iat+1, 10)}},
			out(reasonSessionTokenIatBeforeUAT, true)},
		{"iat before client_uat beats a bad signature", unitReq{cookies: []string{"__session=" + tk.foreign, "__client_uat=" + strconv.FormatInt(tk.iat+1, 10)}},
			out(reasonSessionTokenIatBeforeUAT, true)},
		{"iat before a huge client_uat", unitReq{cookies: []string{"__session=" + tk.good, "__client_uat=99999999999999999999"}},
			out(reasonSessionTokenIatBeforeUAT, true)},
		{"valid", unitReq{cookies: good}, signedIn},
		{"valid, client_uat with trailing junk", unitReq{cookies: []string{"__session=" + tk.good, "__client_uat=" + iat + "abc"}}, signedIn},
		{"valid, negative client_uat", unitReq{cookies: []string{"__session=" + tk.good, "__client_uat=-5"}}, signedIn},
		{"valid, older client_uat", unitReq{cookies: []string{"__session=" + tk.good, "__client_uat=1"}}, signedIn},
		{"valid on POST", unitReq{method: http.MethodPost, cookies: good}, signedIn},
		{"first cookie wins", unitReq{cookies: []string{"__session=" + tk.good, "__session=garbage", "__client_uat=" + iat}}, signedIn},
		{"bad signature", unitReq{cookies: session(tk.foreign)}, out(reasonTokenInvalidSignature, true)},
		{"wrong issuer", unitReq{cookies: session(tk.wrongIssuer)}, out(reasonSessionTokenAndUATMissing, false)},
		{"expired, GET, no refresh cookie", unitReq{cookies: session(tk.expired)}, out(expiredPrefix+reasonRefreshNonEligibleNoCookie, true)},
		{"expired, GET, suffixed refresh cookie", unitReq{cookies: append(session(tk.expired), "__refresh_"+sfx+"=r")},
			out(expiredPrefix+reasonRefreshMissingAPIClient, true)},
		{"expired, POST", unitReq{method: http.MethodPost, cookies: append(session(tk.expired), "__refresh_"+sfx+"=r")},
			out(expiredPrefix+reasonRefreshNonEligibleNonGet, true)},
		{"not active yet", unitReq{cookies: session(tk.nbf)}, out(reasonSessionTokenNbf, true)},
		{"issued in the future", unitReq{cookies: []string{"__session=" + tk.iatFuture, "__client_uat=" + iat}}, out(reasonSessionTokenIatInTheFuture, true)},
		{"pending session", unitReq{cookies: session(tk.pending)},
			unitWant{status: statusSignedOut, reason: reasonSessionPending, tokenSent: true, userID: "user_1", pending: true}},
		{"malformed v2 fea", unitReq{cookies: session(tk.badFea)}, out(reasonUnexpectedError, true)},

		// Suffixed cookies, chosen as Clerk does.
		{"suffixed cookies only", unitReq{cookies: []string{"__session_" + sfx + "=" + tk.good, "__client_uat_" + sfx + "=" + iat}}, signedIn},
		{"suffixed session without suffixed client_uat", unitReq{cookies: []string{"__session_" + sfx + "=" + tk.good, "__client_uat=" + iat}},
			out(reasonClientUATButNoSessionToken, false)},
		{"other instance's session, no suffixed cookies", unitReq{cookies: []string{"__session=" + foreignIss, "__client_uat=" + iat}},
			out(reasonSessionTokenAndUATMissing, false)},
		{"other instance's session, suffixed cookies", unitReq{cookies: []string{"__session=" + foreignIss, "__client_uat=" + iat,
			"__session_" + sfx + "=" + tk.good, "__client_uat_" + sfx + "=" + iat}}, signedIn},
		{"suffixed signed out, unsuffixed signed in", unitReq{cookies: append(withCookies(), "__client_uat_"+sfx+"=0")}, signedIn},

		// primary-domain-cross-origin-sync.
		{"cross-origin referer, document GET", unitReq{cookies: good, headers: document("https://other.example/page")},
			out(reasonPrimaryDomainCrossOriginSync, true)},
		{"cross-origin referer, same host over http", unitReq{cookies: good, headers: document("http://app.example.test/")},
			out(reasonPrimaryDomainCrossOriginSync, true)},
		{"cross-origin referer, other port", unitReq{cookies: good, headers: document("https://app.example.test:8443/")},
			out(reasonPrimaryDomainCrossOriginSync, true)},
		{"same-origin referer", unitReq{cookies: good, headers: document("https://app.example.test/login?x=1")}, signedIn},
		// Origins compare with default ports normalised, as URL.origin does.
		{"same-origin referer with the default port", unitReq{cookies: good, headers: document("https://app.example.test:443/login")}, signedIn},
		{"same-origin referer, request URL with the default port", unitReq{target: "https://app.example.test:443/dashboard",
			cookies: good, headers: document("https://app.example.test/login")}, signedIn},
		{"same-origin referer in other case", unitReq{cookies: good, headers: document("HTTPS://APP.EXAMPLE.TEST/")}, signedIn},
		{"FAPI referer", unitReq{cookies: good, headers: document("https://clerk.example.test/v1/client")}, signedIn},
		{"FAPI referer over http", unitReq{cookies: good, headers: document("http://clerk.example.test/")}, signedIn},
		{"accounts portal referer", unitReq{cookies: good, headers: document("https://accounts.example.test/sign-in")}, signedIn},
		{"accounts portal referer over http", unitReq{cookies: good, headers: document("http://accounts.example.test/sign-in")},
			out(reasonPrimaryDomainCrossOriginSync, true)},
		{"look-alike FAPI referer", unitReq{cookies: good, headers: document("https://clerk.example.test.evil.example/")},
			out(reasonPrimaryDomainCrossOriginSync, true)},
		{"no referer", unitReq{cookies: good, headers: map[string]string{"Sec-Fetch-Dest": "document"}}, signedIn},
		{"unparsable referer", unitReq{cookies: good, headers: document("::not a url")}, signedIn},
		{"relative referer", unitReq{cookies: good, headers: document("/path")}, signedIn},
		{"cross-origin, not a document", unitReq{cookies: good, headers: map[string]string{"Sec-Fetch-Dest": "empty", "Referer": "https://other.example/"}}, signedIn},
		{"cross-origin, iframe", unitReq{cookies: good, headers: map[string]string{"Sec-Fetch-Dest": "iframe", "Referer": "https://other.example/"}}, signedIn},
		{"cross-origin, no Sec-Fetch-Dest", unitReq{cookies: good, headers: map[string]string{"Accept": "text/html", "Referer": "https://other.example/"}}, signedIn},
		{"cross-origin document POST", unitReq{method: http.MethodPost, cookies: good, headers: document("https://other.example/")}, signedIn},
		{"cross-origin document, redirect count 1", unitReq{cookies: withCookies("__clerk_redirect_count=1"), headers: document("https://other.example/")}, signedIn},
		{"cross-origin document, redirect count 0", unitReq{cookies: withCookies("__clerk_redirect_count=0"), headers: document("https://other.example/")},
			out(reasonPrimaryDomainCrossOriginSync, true)},
		{"cross-origin document, redirect count not a number", unitReq{cookies: withCookies("__clerk_redirect_count=x"), headers: document("https://other.example/")},
			out(reasonPrimaryDomainCrossOriginSync, true)},
		// Clerk reads the counter with Number(), not parseInt: "1x" is NaN, so 0.
		{"cross-origin document, redirect count 1x", unitReq{cookies: withCookies("__clerk_redirect_count=1x"), headers: document("https://other.example/")},
			out(reasonPrimaryDomainCrossOriginSync, true)},
		{"cross-origin document, expired token", unitReq{cookies: session(tk.expired), headers: document("https://other.example/")},
			out(expiredPrefix+reasonRefreshNonEligibleNoCookie, true)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.want.check(t, env.auth.authenticate(tc.req.build()))
		})
	}
}

func TestAuthenticateWithoutPublishableKey(t *testing.T) {
	// Without a publishable key there is no suffix and no FAPI host: only
	// the unsuffixed cookies count, and no referer is a known Clerk one.
	env := unitNewAuthEnv(t)
	tk := unitMakeTokens(t, env)
	a := &authenticator{verifier: env.auth.verifier}
	sfx := env.inst.suffix
	iat := strconv.FormatInt(tk.iat, 10)
	for _, tc := range []struct {
		name string
		req  unitReq
		want unitWant
	}{
		{"unsuffixed cookies", unitReq{cookies: []string{"__session=" + tk.good, "__client_uat=" + iat}},
			unitWant{status: statusSignedIn, tokenSent: true, userID: "user_1"}},
		{"suffixed cookies ignored", unitReq{cookies: []string{"__session_" + sfx + "=" + tk.good, "__client_uat_" + sfx + "=" + iat}},
			unitWant{status: statusSignedOut, reason: reasonSessionTokenAndUATMissing}},
		{"expired header token with a suffixed refresh cookie", unitReq{authz: "Bearer " + tk.expired, cookies: []string{"__refresh_" + sfx + "=r"}},
			unitWant{status: statusSignedOut, reason: "session-token-expired-refresh-" + reasonRefreshNonEligibleNoCookie, tokenSent: true}},
		{"FAPI referer is cross-origin", unitReq{cookies: []string{"__session=" + tk.good, "__client_uat=" + iat},
			headers: map[string]string{"Sec-Fetch-Dest": "document", "Referer": "https://clerk.example.test/"}},
			unitWant{status: statusSignedOut, reason: reasonPrimaryDomainCrossOriginSync, tokenSent: true}},
		{"header token", unitReq{authz: "Bearer " + tk.good}, unitWant{status: statusSignedIn, tokenSent: true, userID: "user_1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.want.check(t, a.authenticate(tc.req.build()))
		})
	}
}
