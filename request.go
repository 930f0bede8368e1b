package caddyclerk

import (
	"encoding/json"
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
	inst     *instance        // nil without a publishable key: unsuffixed cookies only
	hs       *handshaker      // nil when handshakes are off: candidates are signed out
	api      *browserAPI      // nil without a secret key: no nonce, no refresh
	machines *machineVerifier // nil unless accept names machine token types (machine.go)
}

// authRequest is one request as authenticateRequest reads it. Cookies and
// query parameters are read once, on first use: a header token needs them
// only to hand over to a handshake or to refresh.
type authRequest struct {
	r           *http.Request
	headerToken string

	cookiesRead bool
	c           clerkCookies
	suffixed    bool // Clerk's usesSuffixedCookies()

	paramsRead bool
	params     clerkParams
}

// authenticate decides one request. A token in the Authorization header
// alone decides; cookies are read only when there is none.
func (a *authenticator) authenticate(r *http.Request) authResult {
	q := &authRequest{r: r}
	if tok, ok := headerToken(r.Header.Get("Authorization")); ok {
		q.headerToken = tok
		if a.machines != nil {
			if res, handled := a.machines.authenticate(r, tok); handled {
				return res
			}
		}
		return a.fromHeader(q)
	}
	if a.machines != nil && !a.machines.acceptSession {
		return a.machines.noHeaderToken() // machine tokens never come from cookies
	}
	return a.fromCookies(q)
}

// cookies reads the request's Clerk cookies and decides, as Clerk does,
// whether the suffixed ones count.
func (a *authenticator) cookies(q *authRequest) *clerkCookies {
	if !q.cookiesRead {
		q.cookiesRead = true
		q.c = readClerkCookies(q.r.Header, a.suffix())
		q.suffixed = a.inst != nil && a.inst.usesSuffixedCookies(&q.c, a.verifier.now().Unix(), a.peek)
	}
	return &q.c
}

// sessionCookie, uatCookie and devBrowserCookie are the cookies Clerk reads
// suffixed or unsuffixed, as usesSuffixedCookies chose.
func (a *authenticator) sessionCookie(q *authRequest) string {
	if c := a.cookies(q); q.suffixed {
		return c.sessionSfx.val
	} else {
		return c.session.val
	}
}

func (a *authenticator) uatCookie(q *authRequest) string {
	if c := a.cookies(q); q.suffixed {
		return c.clientUATSfx.val
	} else {
		return c.clientUAT.val
	}
}

// devBrowser is Clerk's devBrowserToken: the __clerk_db_jwt query
// parameter, else the (suffixed or unsuffixed) cookie.
func (a *authenticator) devBrowser(q *authRequest) string {
	if v := q.query().devBrowser; v != "" {
		return v
	}
	if c := a.cookies(q); q.suffixed {
		return c.devBrowserSfx.val
	} else {
		return c.devBrowser.val
	}
}

// sessionToken is Clerk's authenticateContext.sessionToken: the session
// cookie, else the header token.
func (a *authenticator) sessionToken(q *authRequest) string {
	if s := a.sessionCookie(q); s != "" {
		return s
	}
	return q.headerToken
}

// query returns the Clerk query parameters of the request.
func (q *authRequest) query() *clerkParams {
	if !q.paramsRead {
		q.paramsRead = true
		q.params = readClerkParams(q.r.URL.RawQuery)
	}
	return &q.params
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
	tok, _, _ := strings.Cut(rest, " ")
	if tok == "" {
		return scheme, true // "Basic  x" too: the scheme is the token
	}
	if !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	return tok, true
}

// fromHeader is Clerk's authenticateRequestWithTokenInHeader.
func (a *authenticator) fromHeader(q *authRequest) authResult {
	raw := q.headerToken
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
	return a.verified(q, t)
}

// fromCookies is Clerk's authenticateRequestWithTokenInCookie without
// satellites and organization sync (clerk-semantics a.4): an inbound
// handshake first, then the development-instance rules, then the session
// and __client_uat cookies.
func (a *authenticator) fromCookies(q *authRequest) authResult {
	if a.hs != nil {
		if res, ok := a.inboundHandshake(q); ok {
			return res
		}
	}
	sessionCookie := a.sessionCookie(q)
	sent := sessionCookie != ""
	if a.inst != nil && !a.inst.production {
		p := q.query()
		switch {
		case p.redirectURL != "":
			// A primary answering a satellite's sync: Clerk redirects to
			// that URL with the dev browser token. We have no satellites
			// and never redirect to a URL taken from the request.
			return signedOut(reasonPrimaryRespondsToSyncing, sent)
		case p.hasDevBrowser:
			return a.handshakeCandidate(q, reasonDevBrowserSync, sent)
		case a.devBrowser(q) == "":
			return a.handshakeCandidate(q, reasonDevBrowserMissing, sent)
		}
	}
	clientUAT := parseClientUAT(a.uatCookie(q))
	switch {
	case clientUAT == 0 && !sent:
		return signedOut(reasonSessionTokenAndUATMissing, false)
	case clientUAT == 0:
		return a.handshakeCandidate(q, reasonSessionTokenButNoClientUAT, sent)
	case !sent:
		return a.handshakeCandidate(q, reasonClientUATButNoSessionToken, sent)
	}
	if s := a.verifier.cached(sessionCookie); s != nil {
		if s.iat.isNum && s.iat.val < float64(clientUAT) {
			return a.handshakeCandidate(q, reasonSessionTokenIatBeforeUAT, sent)
		}
		if a.crossOriginDocument(q) {
			return a.handshakeCandidate(q, reasonPrimaryDomainCrossOriginSync, sent)
		}
		return sessionResult(s)
	}
	t, err := parseToken(sessionCookie)
	if err != nil {
		return signedOut(reasonTokenInvalid, sent)
	}
	if t.isMachineJWT() || t.hasNonSessionCategory() {
		return signedOut(reasonTokenTypeMismatch, sent)
	}
	if claimFacts(t).iat.num < float64(clientUAT) { // NaN compares false
		return a.handshakeCandidate(q, reasonSessionTokenIatBeforeUAT, sent)
	}
	key, reason := a.verifier.verify(q.r.Context(), t)
	if reason != "" {
		return a.tokenError(q, reason)
	}
	// Clerk checks the referer on the verified token, before it builds the
	// auth object: a pending session or claims it cannot read still hand over.
	if a.crossOriginDocument(q) {
		return a.handshakeCandidate(q, reasonPrimaryDomainCrossOriginSync, sent)
	}
	return a.session(t, key)
}

// verified verifies a decoded token and builds its identity; pending
// sessions are signed out for protection and identity, as in Clerk's toAuth().
func (a *authenticator) verified(q *authRequest, t *parsedToken) authResult {
	key, reason := a.verifier.verify(q.r.Context(), t)
	if reason != "" {
		return a.tokenError(q, reason)
	}
	return a.session(t, key)
}

// session builds the identity of a verified token (Clerk's toAuth(), which
// fails on claims it cannot read) and remembers it.
func (a *authenticator) session(t *parsedToken, key verificationKey) authResult {
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
		return &tokenFacts{iss: s.issuer, issTruthy: s.issuer != "", issString: true,
			iat: jsNumberClaim(s.iat), exp: jsNumberClaim(s.exp)}
	}
	t, err := parseToken(raw)
	if err != nil {
		return nil
	}
	return claimFacts(t)
}

// claimFacts reads iss, iat and exp of an unverified token the way
// JavaScript does: claims of another type than expected (a numeric iss, a
// null or string iat) are rare, and only then is the payload read again.
func claimFacts(t *parsedToken) *tokenFacts {
	c := &t.claims
	f := &tokenFacts{iss: c.Iss.str(), issTruthy: c.Iss.str() != "", issString: c.Iss.isStr,
		iat: jsNumberClaim(c.Iat), exp: jsNumberClaim(c.Exp)}
	if (c.Iss.present && !c.Iss.isStr) || (c.Iat.present && !c.Iat.isNum) || (c.Exp.present && !c.Exp.isNum) {
		var raw struct {
			Iss json.RawMessage `json:"iss"`
			Iat json.RawMessage `json:"iat"`
			Exp json.RawMessage `json:"exp"`
		}
		if unmarshalExact(t.payload, &raw) == nil {
			if c.Iss.present && !c.Iss.isStr {
				f.issTruthy = jsValueOf(raw.Iss).truthy
			}
			if c.Iat.present && !c.Iat.isNum {
				f.iat = jsValueOf(raw.Iat)
			}
			if c.Exp.present && !c.Exp.isNum {
				f.exp = jsValueOf(raw.Exp)
			}
		}
	}
	return f
}

// jsValue is a claim as JavaScript compares it: its Number() conversion
// (NaN for none, and for an absent claim) and whether it is truthy.
type jsValue struct {
	num    float64
	truthy bool
}

// jsNumberClaim is a numeric claim, absent or not a finite number being
// undefined.
func jsNumberClaim(n jsonNumber) jsValue {
	if !n.isNum {
		return jsValue{num: math.NaN()}
	}
	return jsValue{num: n.val, truthy: n.val != 0}
}

// jsValueOf converts a raw JSON value as JavaScript's relational operators
// and truthiness do: null is 0 and falsy, booleans are 0 and 1, strings go
// through Number(), arrays through their joined string, objects are NaN.
func jsValueOf(raw json.RawMessage) jsValue {
	var v any
	if len(raw) == 0 || json.Unmarshal(raw, &v) != nil {
		return jsValue{num: math.NaN()}
	}
	switch v := v.(type) {
	case nil:
		return jsValue{num: 0}
	case bool:
		if v {
			return jsValue{num: 1, truthy: true}
		}
		return jsValue{num: 0}
	case float64:
		return jsValue{num: v, truthy: v != 0}
	case string:
		return jsValue{num: jsNumber(v), truthy: v != ""}
	case []any:
		if len(v) == 0 {
			return jsValue{num: 0, truthy: true}
		}
		if len(v) == 1 {
			inner := jsValue{num: math.NaN()}
			switch e := v[0].(type) {
			case nil:
				inner.num = 0 // String([null]) is ""
			case string:
				inner.num = jsNumber(e)
			case float64:
				inner.num = e
			case bool:
				inner.num = jsNumber(strconv.FormatBool(e))
			case []any:
				b, _ := json.Marshal(e)
				inner = jsValueOf(b)
			}
			return jsValue{num: inner.num, truthy: true}
		}
		return jsValue{num: math.NaN(), truthy: true}
	}
	return jsValue{num: math.NaN(), truthy: true} // an object
}

// jsNumber is JavaScript's Number(string): white space trimmed, "" is 0,
// decimal, hexadecimal, octal and binary literals and Infinity, else NaN.
func jsNumber(v string) float64 {
	if strings.TrimSpace(v) == "" {
		return 0
	}
	n := jsNumberOrZero(v)
	if n == 0 && !isJSZero(strings.TrimSpace(v)) {
		return math.NaN()
	}
	return n
}

// isJSZero reports whether a trimmed numeric string is a zero literal.
func isJSZero(v string) bool {
	v = strings.TrimLeft(v, "+-")
	if len(v) > 2 && v[0] == '0' && strings.ContainsRune("xXoObB", rune(v[1])) {
		return strings.Trim(v[2:], "0") == ""
	}
	mant, _, _ := strings.Cut(strings.ToLower(v), "e")
	return mant != "" && mant != "." && strings.Trim(mant, "0.") == "" && strings.Count(mant, ".") <= 1
}

// tokenError is Clerk's handleSessionTokenError: an expired token is
// refreshed through the Backend API when the request allows it; time-related
// failures become handshake candidates under their converted reasons, the
// rest are signed out with the verification reason itself.
func (a *authenticator) tokenError(q *authRequest, reason string) authResult {
	switch reason {
	case reasonTokenExpired:
		cause := a.refreshIneligible(q)
		if cause == "" {
			var res authResult
			if res, cause = a.refresh(q); cause == "" {
				return res
			}
		}
		return a.handshakeCandidate(q, reasonSessionTokenExpiredPrefix+"-refresh-"+cause, true)
	case reasonTokenNotActiveYet:
		return a.handshakeCandidate(q, reasonSessionTokenNbf, true)
	case reasonTokenIatInTheFuture:
		return a.handshakeCandidate(q, reasonSessionTokenIatInTheFuture, true)
	}
	return signedOut(reason, true)
}

// refreshIneligible says why an expired token cannot be refreshed, "" when
// it can: only GET requests with the suffixed __refresh cookie.
func (a *authenticator) refreshIneligible(q *authRequest) string {
	if q.r.Method != http.MethodGet {
		return reasonRefreshNonEligibleNonGet
	}
	if a.cookies(q).refreshSfx.val == "" {
		return reasonRefreshNonEligibleNoCookie
	}
	return ""
}

// handshakeEligible is Clerk's isRequestEligibleForHandshake: a GET that is
// probably a document, by Sec-Fetch-Dest, or without it by an Accept that
// starts with text/html.
func handshakeEligible(r *http.Request) bool {
	if r.Method != http.MethodGet {
		return false
	}
	switch strings.Join(r.Header.Values("Sec-Fetch-Dest"), ", ") {
	case "document", "iframe":
		return true
	case "":
		return strings.HasPrefix(r.Header.Get("Accept"), "text/html")
	}
	return false
}

// handshakeCandidate is Clerk's handleMaybeHandshakeStatus: an eligible
// request is handed to the Frontend API's handshake unless the redirect
// loop guard stops it; anything else is signed out with the same reason.
func (a *authenticator) handshakeCandidate(q *authRequest, reason string, sent bool) authResult {
	res := signedOut(reason, sent)
	if a.hs == nil || !handshakeEligible(q.r) {
		return res
	}
	count := jsNumberOrZero(a.cookies(q).redirectCount.val)
	if count == handshakeMaxRedirects {
		return res
	}
	res.status = statusHandshake
	res.response = &authResponse{
		location:   a.hs.redirectURL(a, q, reason),
		setCookies: []string{cookieRedirects + "=" + jsNumberString(count+1) + "; SameSite=Lax; HttpOnly; Max-Age=2"},
	}
	return res
}

// crossOriginDocument is Clerk's primary-domain-cross-origin-sync test: a
// document GET whose Referer comes from another origin that is not Clerk's.
// Origins compare as URL.origin does: scheme, host name and effective port.
func (a *authenticator) crossOriginDocument(q *authRequest) bool {
	r := q.r
	if r.Method != http.MethodGet || r.Header.Get("Sec-Fetch-Dest") != "document" {
		return false
	}
	ref := r.Header.Get("Referer")
	if ref == "" {
		return false
	}
	u, err := url.Parse(ref)
	if err != nil || u.Scheme == "" {
		return false // new URL(referer) throws: not cross-origin for Clerk
	}
	special := isSpecialScheme(u.Scheme)
	if special && u.Host == "" {
		return false // http: without a host does not parse either
	}
	// Other schemes (android-app:, mailto:) have an opaque origin, which
	// differs from every http origin.
	if special && sameURLOrigin(u, requestURL(r)) {
		return false
	}
	if a.knownClerkReferer(u) {
		return false
	}
	return jsNumberOrZero(a.cookies(q).redirectCount.val) == 0
}

// knownClerkReferer is Clerk's isKnownClerkReferrer: the Frontend API host
// and the accounts portal origin derived from it (for the publishable key's
// host and for frontend_api), and on development instances the development
// account portal domains.
func (a *authenticator) knownClerkReferer(u *url.URL) bool {
	if a.inst == nil {
		return false
	}
	host := u.Hostname()
	if strings.EqualFold(host, a.inst.frontendHost) {
		return true
	}
	if a.hs != nil && (strings.EqualFold(host, a.hs.frontendHost) || sameURLOrigin(u, a.hs.accounts)) {
		return true
	}
	if !a.inst.production && isDevAccountPortalHost(host) {
		return true
	}
	accounts := &url.URL{Scheme: "https", Host: accountsHost(a.inst.frontendHost)}
	return sameURLOrigin(u, accounts)
}

// isDevAccountPortalHost is @clerk/shared's isLegacyDevAccountPortalOrigin
// and isCurrentDevAccountPortalOrigin: the account portals of development
// instances, which anyone can obtain and so count only for development.
func isDevAccountPortalHost(host string) bool {
	for _, sfx := range []string{".lcl.dev", ".lclstage.dev", ".lclclerk.com"} {
		if strings.HasPrefix(host, "accounts.") && strings.HasSuffix(host, sfx) {
			return true
		}
	}
	for _, sfx := range []string{".accounts.dev", ".accountsstage.dev", ".accounts.lclclerk.com"} {
		if strings.HasSuffix(host, sfx) && !strings.HasSuffix(host, ".clerk"+sfx) {
			return true
		}
	}
	return false
}

// isSpecialScheme reports the WHATWG URL "special" schemes, whose URLs have
// a host and a tuple origin.
func isSpecialScheme(s string) bool {
	switch strings.ToLower(s) {
	case "http", "https", "ws", "wss", "ftp":
		return true
	}
	return false
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
	if t := strings.TrimLeft(v, "+-"); t == "Infinity" {
		if strings.HasPrefix(v, "-") {
			return math.Inf(-1)
		}
		return math.Inf(1)
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

// jsNumberString is JavaScript's String(n) for the values the redirect
// counter can take.
func jsNumberString(n float64) string {
	switch {
	case math.IsInf(n, 1):
		return "Infinity"
	case math.IsInf(n, -1):
		return "-Infinity"
	case n == 0:
		return "0"
	case math.Abs(n) >= 1e21 || math.Abs(n) < 1e-6:
		s := strconv.FormatFloat(n, 'e', -1, 64)
		mant, exp, _ := strings.Cut(s, "e")
		if exp[0] == '+' {
			return mant + "e+" + strings.TrimLeft(exp[1:], "0")
		}
		return mant + "e-" + strings.TrimLeft(exp[1:], "0")
	}
	return strconv.FormatFloat(n, 'f', -1, 64)
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
