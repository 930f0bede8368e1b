package caddyclerk

import (
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// authenticator is Clerk's authenticateRequest for session tokens: the
// header path and the cookie path, each in Clerk's order, so that every
// outcome carries the reason Clerk would give.
type authenticator struct {
	verifier *verifier
	inst     *instance // nil without a publishable key: unsuffixed cookies only
}

// authenticate decides one request. A token in the Authorization header
// alone decides; cookies are read only when there is none.
func (a *authenticator) authenticate(r *http.Request) authResult {
	if tok, ok := headerToken(r.Header.Get("Authorization")); ok {
		return a.fromHeader(r, tok)
	}
	return a.fromCookies(r)
}

// headerToken extracts the header token. As in Clerk, a value without a
// space is a token in itself; the Bearer scheme is matched case-insensitively
// (RFC 6750) and its token ends at the next space. Another scheme yields
// no header token. "Bearer" followed by nothing yields the token "Bearer",
// which then fails as token-invalid, exactly as in Clerk.
func headerToken(v string) (string, bool) {
	if v == "" {
		return "", false
	}
	scheme, rest, ok := strings.Cut(v, " ")
	if !ok {
		return v, true
	}
	if !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok, _, _ := strings.Cut(rest, " ")
	if tok == "" {
		return scheme, true
	}
	return tok, true
}

// fromHeader is Clerk's authenticateRequestWithTokenInHeader.
func (a *authenticator) fromHeader(r *http.Request, raw string) authResult {
	if s := a.verifier.cached(raw); s != nil {
		return sessionResult(s)
	}
	t, err := parseToken(raw)
	if err != nil {
		return signedOut(reasonTokenInvalid, true)
	}
	if t.isMachineJWT() || t.hasNonSessionCategory() {
		return signedOut(reasonTokenTypeMismatch, true)
	}
	return a.verified(r, t, nil)
}

// fromCookies is Clerk's authenticateRequestWithTokenInCookie for a
// production instance without satellites (clerk-semantics a.4, steps 6–13).
func (a *authenticator) fromCookies(r *http.Request) authResult {
	c := readClerkCookies(r.Header, a.suffix())
	sessionCookie, uatCookie := c.session.val, c.clientUAT.val
	if a.inst != nil && a.inst.usesSuffixedCookies(&c, a.verifier.now().Unix(), a.peek) {
		sessionCookie, uatCookie = c.sessionSfx.val, c.clientUATSfx.val
	}
	clientUAT := parseClientUAT(uatCookie)
	sent := sessionCookie != ""
	switch {
	case clientUAT == 0 && !sent:
		return signedOut(reasonSessionTokenAndUATMissing, false)
	case clientUAT == 0:
		return a.handshakeCandidate(reasonSessionTokenButNoClientUAT, sent)
	case !sent:
		return a.handshakeCandidate(reasonClientUATButNoSessionToken, sent)
	}
	var res authResult
	if s := a.verifier.cached(sessionCookie); s != nil {
		if s.iat.isNum && s.iat.val < float64(clientUAT) {
			return a.handshakeCandidate(reasonSessionTokenIatBeforeUAT, sent)
		}
		res = sessionResult(s)
	} else {
		t, err := parseToken(sessionCookie)
		if err != nil {
			return signedOut(reasonTokenInvalid, sent)
		}
		if t.isMachineJWT() || t.hasNonSessionCategory() {
			return signedOut(reasonTokenTypeMismatch, sent)
		}
		if t.claims.Iat.isNum && t.claims.Iat.val < float64(clientUAT) {
			return a.handshakeCandidate(reasonSessionTokenIatBeforeUAT, sent)
		}
		res = a.verified(r, t, &c)
	}
	if res.signedIn() && a.crossOriginDocument(r, &c) {
		return a.handshakeCandidate(reasonPrimaryDomainCrossOriginSync, sent)
	}
	return res
}

// verified verifies a decoded token and builds its identity; pending
// sessions are signed out for protection and identity, as in Clerk's toAuth().
// c holds the request's Clerk cookies when they were read already.
func (a *authenticator) verified(r *http.Request, t *parsedToken, c *clerkCookies) authResult {
	key, reason := a.verifier.verify(r.Context(), t)
	if reason != "" {
		return a.tokenError(r, reason, c)
	}
	s, err := newSession(t)
	if err != nil {
		return signedOut(reasonUnexpectedError, true)
	}
	a.verifier.remember(t, s, key)
	return sessionResult(s)
}

// sessionResult is the outcome for a verified session: signed in, or
// signed out with session-pending while the session has pending tasks.
func sessionResult(s *session) authResult {
	res := authResult{status: statusSignedIn, tokenType: tokenTypeSession, session: s, tokenSent: true}
	if s.status == "pending" {
		res.status, res.reason = statusSignedOut, reasonSessionPending
	}
	return res
}

// peek returns the unverified claims the cookie rules read, from the cache
// when the token verified before.
func (a *authenticator) peek(raw string) *tokenFacts {
	if s := a.verifier.cached(raw); s != nil {
		return &tokenFacts{iss: s.issuer, iat: s.iat, exp: s.exp}
	}
	t, err := parseToken(raw)
	if err != nil {
		return nil
	}
	return &tokenFacts{iss: t.claims.Iss.str(), iat: t.claims.Iat, exp: t.claims.Exp}
}

// tokenError is Clerk's handleSessionTokenError: time-related failures
// become handshake candidates under their converted reasons, the rest are
// signed out with the verification reason itself.
func (a *authenticator) tokenError(r *http.Request, reason string, c *clerkCookies) authResult {
	switch reason {
	case reasonTokenExpired:
		return a.handshakeCandidate(reasonSessionTokenExpiredPrefix+"-refresh-"+a.refreshError(r, c), true)
	case reasonTokenNotActiveYet:
		return a.handshakeCandidate(reasonSessionTokenNbf, true)
	case reasonTokenIatInTheFuture:
		return a.handshakeCandidate(reasonSessionTokenIatInTheFuture, true)
	}
	return signedOut(reason, true)
}

// refreshError says why an expired token was not refreshed. Refreshing
// through the Backend API is not built yet, so an eligible request reports
// what Clerk's SDK reports without an API client.
func (a *authenticator) refreshError(r *http.Request, c *clerkCookies) string {
	if r.Method != http.MethodGet {
		return reasonRefreshNonEligibleNonGet
	}
	if c == nil {
		read := readClerkCookies(r.Header, a.suffix())
		c = &read
	}
	if c.refreshSfx.val == "" {
		return reasonRefreshNonEligibleNoCookie
	}
	return reasonRefreshMissingAPIClient
}

// handshakeCandidate is where Clerk would answer with a handshake for an
// eligible request. The handshake is not built yet, so every candidate is
// signed out with the reason Clerk gives.
func (a *authenticator) handshakeCandidate(reason string, sent bool) authResult {
	return signedOut(reason, sent)
}

// crossOriginDocument is Clerk's primary-domain-cross-origin-sync test: a
// document GET whose Referer comes from another origin that is not Clerk's.
// Origins compare as URL.origin does: scheme, host name and effective port.
func (a *authenticator) crossOriginDocument(r *http.Request, c *clerkCookies) bool {
	if r.Method != http.MethodGet || r.Header.Get("Sec-Fetch-Dest") != "document" {
		return false
	}
	ref := r.Header.Get("Referer")
	if ref == "" {
		return false
	}
	u, err := url.Parse(ref)
	if err != nil || u.Host == "" {
		return false
	}
	if sameURLOrigin(u, requestURL(r)) {
		return false
	}
	if a.inst != nil {
		accounts := &url.URL{Scheme: "https", Host: accountsHost(a.inst.frontendHost)}
		if strings.EqualFold(u.Hostname(), a.inst.frontendHost) || sameURLOrigin(u, accounts) {
			return false
		}
	}
	return jsNumberOrZero(c.redirectCount.val) == 0
}

// sameURLOrigin compares two URLs' origins: scheme, host name and port,
// with the scheme's default port made explicit.
func sameURLOrigin(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) && strings.EqualFold(a.Hostname(), b.Hostname()) &&
		effectivePort(a) == effectivePort(b)
}

func effectivePort(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if strings.EqualFold(u.Scheme, "https") {
		return "443"
	}
	return "80"
}

// jsNumberOrZero is JavaScript's `Number(v) || 0` for the cookie values Clerk
// reads that way: surrounding white space ignored, "" and anything that is
// not a number give 0, hex/octal/binary literals and exponents are numbers.
func jsNumberOrZero(v string) float64 {
	v = strings.TrimSpace(v)
	if len(v) > 2 && v[0] == '0' {
		if base, ok := map[byte]int{'x': 16, 'X': 16, 'o': 8, 'O': 8, 'b': 2, 'B': 2}[v[1]]; ok {
			n, err := strconv.ParseUint(v[2:], base, 64)
			if err != nil {
				return 0
			}
			return float64(n)
		}
	}
	if strings.TrimLeft(v, "+-") == "Infinity" {
		return math.Inf(1) // the sign does not matter to "|| 0"
	}
	if strings.Trim(v, "0123456789.eE+-") != "" {
		return 0 // not decimal syntax (Go would also read inf, nan, hex floats)
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return 0
	}
	return f
}

func (a *authenticator) suffix() string {
	if a.inst == nil {
		return ""
	}
	return a.inst.suffix
}

// signedOut is a signed-out result with Clerk's reason.
func signedOut(reason string, sent bool) authResult {
	return authResult{status: statusSignedOut, reason: reason, tokenSent: sent}
}
