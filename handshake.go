package caddyclerk

// The handshake: how Clerk refreshes a browser session whose short-lived
// session token is missing, expired or out of step with __client_uat.
//
// Out: an eligible page request is redirected (307) to the Frontend API's
// /v1/client/handshake with Clerk's parameters in Clerk's order. The Frontend
// API knows the browser by its own client cookie (or, on development
// instances, by the dev browser token), mints a fresh session token and
// sends the browser back with a handshake nonce (or a signed handshake
// token) in the URL or in a cookie.
//
// In: resolveHandshake turns the nonce (through the Backend API) or the
// token (verified with the instance's keys) into Set-Cookie directives,
// keeps only Clerk's own cookies, and verifies the session token they carry.

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"go.uber.org/zap"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

const (
	// handshakeMaxRedirects is Clerk's loop guard: with __clerk_redirect_count
	// at exactly this value the request is signed out instead of redirected.
	handshakeMaxRedirects = 3
	// handshakePath is the Frontend API endpoint, relative to its base URL.
	handshakePath = "v1/client/handshake"
	// maxHandshakeToken bounds an inbound handshake token: it carries a few
	// cookies, session tokens among them, and must fit a URL or a cookie.
	maxHandshakeToken = 64 << 10
	// maxDirectives and maxDirectiveLength bound what a handshake may set.
	maxDirectives      = 32
	maxDirectiveLength = 8 << 10
)

// Query parameters that belong to Clerk's handshake and never reach the
// upstream: the handshake itself, its nonce, the dev browser token and the
// debugging helper.
const (
	paramHandshakeHelp = "__clerk_help"
	paramRedirectURL   = "__clerk_redirect_url"
	paramLegacyDev     = "__dev_session"
)

// authResponse is what a request's authentication adds to the response the
// browser gets: cookies, and a redirect.
type authResponse struct {
	setCookies []string // Set-Cookie lines, each a checked Clerk cookie
	location   string   // the handshake redirect
	// cleanRedirect sends the browser back to this request's URL without the
	// handshake parameters, once the handshake that came in the URL is applied.
	cleanRedirect bool
	// devBrowser is the dev browser token a development instance's sign-in
	// redirect carries.
	devBrowser string
}

// handshaker is the outbound half: where the Frontend API's handshake lives
// and which payload format to ask for.
type handshaker struct {
	endpoint     *url.URL // <frontend_api>/v1/client/handshake
	frontendHost string   // host name of frontend_api, a known Clerk referer
	accounts     *url.URL // the accounts portal beside frontend_api, a known Clerk referer
	format       string   // "nonce" with a secret key, else "token"
	logger       *zap.Logger
}

// newHandshaker resolves the handshake endpoint against the Frontend API
// base the way Clerk's buildRedirectToHandshake does.
func newHandshaker(frontendAPI string, withSecretKey bool, logger *zap.Logger) (*handshaker, error) {
	base, err := url.Parse(strings.TrimRight(frontendAPI, "/") + "/")
	if err != nil {
		return nil, fmt.Errorf("frontend_api: %v", err)
	}
	h := &handshaker{
		endpoint:     base.ResolveReference(&url.URL{Path: handshakePath}),
		frontendHost: base.Hostname(),
		accounts:     &url.URL{Scheme: base.Scheme, Host: accountsHost(base.Hostname())},
		format:       "nonce",
		logger:       logger,
	}
	if p := base.Port(); p != "" {
		h.accounts.Host = net.JoinHostPort(h.accounts.Host, p)
	}
	if !withSecretKey {
		// A nonce is redeemed through the Backend API, which needs the
		// secret key; without it, ask for the signed token instead.
		h.format = "token"
	}
	return h, nil
}

// redirectURL is Clerk's buildRedirectToHandshake: the Frontend API's
// handshake with redirect_url, the API version, suffixed_cookies, the reason,
// the format, the session token and (development) the dev browser token, in
// that order and encoded as WHATWG's URLSearchParams encodes them.
func (h *handshaker) redirectURL(a *authenticator, q *authRequest, reason string) string {
	back := requestURL(q.r)
	back.RawQuery = formEncode(formDelete(formDecode(back.RawQuery), cookieDevBrowser, paramLegacyDev))
	params := [][2]string{
		{"redirect_url", back.String()},
		{"__clerk_api_version", clerkAPIVersion},
		{"suffixed_cookies", fmt.Sprint(a.cookiesRead(q))},
		{"__clerk_hs_reason", reason},
		{"format", h.format},
	}
	if s := a.sessionToken(q); s != "" {
		params = append(params, [2]string{cookieSession, s})
	}
	if a.inst != nil && !a.inst.production {
		if dvb := a.devBrowser(q); dvb != "" {
			params = append(params, [2]string{cookieDevBrowser, dvb})
		}
	}
	u := *h.endpoint
	u.RawQuery = formEncode(params)
	return u.String()
}

// cookiesRead reads the cookies and reports Clerk's usesSuffixedCookies().
func (a *authenticator) cookiesRead(q *authRequest) bool {
	a.cookies(q)
	return q.suffixed
}

// inboundHandshake is step 1 of Clerk's cookie path: a handshake nonce or
// token in the query or a cookie is resolved, and its outcome decides. A
// handshake that cannot be resolved signs the request out with a reason that
// says why, and sets nothing. ok is false when the request carries none.
func (a *authenticator) inboundHandshake(q *authRequest) (res authResult, ok bool) {
	p, c := q.query(), a.cookies(q)
	nonce, token := p.nonce, p.handshake
	if nonce == "" {
		nonce = c.handshakeNonce.val
	}
	if token == "" {
		token = c.handshake.val
	}
	var directives []string
	var reason string
	switch {
	case nonce != "":
		directives, reason = a.handshakePayload(q.r.Context(), nonce)
	case token != "":
		directives, reason = a.verifyHandshakeToken(q.r.Context(), token)
	default:
		return authResult{}, false
	}
	// A handshake in the URL is always answered with a redirect to the clean
	// URL (GET and HEAD): the address bar, the history and every log then
	// only ever see the URL without it.
	clean := (p.nonce != "" || p.handshake != "") && (q.r.Method == http.MethodGet || q.r.Method == http.MethodHead)
	sent := a.sessionCookie(q) != ""
	rejected := func(reason string) (authResult, bool) {
		res := signedOut(reason, sent)
		if clean {
			res.response = &authResponse{cleanRedirect: true}
		}
		return res, true
	}
	if reason != "" {
		// Forged, stale or replayed: the answer says why; debug only, as
		// anyone can send these.
		a.hs.logger.Debug("handshake rejected", zap.String("reason", reason))
		return rejected(reason)
	}
	setCookies, session := a.checkDirectives(directives)
	resp := &authResponse{setCookies: setCookies, cleanRedirect: clean}
	if session == "" {
		res = signedOut(reasonSessionTokenMissing, sent)
		res.response = resp
		return res, true
	}
	res, reason = a.handshakeSession(q.r.Context(), session)
	if reason != "" {
		// The Frontend API's own handshake carries a session that does not
		// verify: keys, issuer or authorized_parties do not match it.
		a.hs.logger.Warn("handshake rejected", zap.String("reason", reason))
		return rejected(reason)
	}
	res.response = resp
	return res, true
}

// handshakeSession verifies the session token a handshake carries, as
// Clerk's resolveHandshake does with verifyToken. reason is non-empty when
// it fails (Clerk's SDK throws there).
func (a *authenticator) handshakeSession(ctx context.Context, raw string) (authResult, string) {
	if s := a.verifier.cached(raw); s != nil {
		return sessionResult(s), ""
	}
	t, err := parseToken(raw)
	if err != nil {
		return authResult{}, reasonHandshakeSessionPrefix + reasonTokenInvalid
	}
	key, reason := a.verifier.verify(ctx, t)
	if reason != "" {
		return authResult{}, reasonHandshakeSessionPrefix + reason
	}
	s, err := newSession(t)
	if err != nil {
		return authResult{}, reasonHandshakeSessionPrefix + reasonUnexpectedError
	}
	a.verifier.remember(t, s, key)
	return sessionResult(s), ""
}

// handshakePayload redeems a nonce through the Backend API's
// /v1/clients/handshake_payload.
func (a *authenticator) handshakePayload(ctx context.Context, nonce string) ([]string, string) {
	if !plausibleNonce(nonce) {
		return nil, reasonHandshakeNonceUnknown // not worth asking
	}
	if a.api == nil || !a.api.nonces.allow(time.Now()) {
		return nil, reasonHandshakeNonceUnavailable
	}
	var out struct {
		Directives []json.RawMessage `json:"directives"`
	}
	status, _, err := a.api.call(ctx, http.MethodGet, "/v1/clients/handshake_payload?nonce="+url.QueryEscape(nonce), nil, &out)
	switch {
	case err != nil || status >= 500:
		return nil, reasonHandshakeNonceUnavailable
	case status >= 400:
		return nil, reasonHandshakeNonceUnknown
	}
	return jsonStrings(out.Directives), ""
}

// plausibleNonce accepts what a Frontend API nonce can look like: short,
// URL-safe. Anything else is refused without a Backend API call.
func plausibleNonce(n string) bool {
	if len(n) > 256 {
		return false
	}
	for i := 0; i < len(n); i++ {
		if c := n[i]; !(c == '-' || c == '_' || c == '.' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9')) {
			return false
		}
	}
	return true
}

// rateLimiter is a token bucket. Redeeming a nonce is a Backend API call
// that any anonymous request can cause; the bucket keeps a flood of made-up
// nonces from spending the instance's Backend API rate limit.
type rateLimiter struct {
	mu           sync.Mutex
	tokens, rate float64 // rate per second; the bucket holds rate tokens
	last         time.Time
}

func newRateLimiter(perSecond float64) *rateLimiter {
	return &rateLimiter{tokens: perSecond, rate: perSecond}
}

func (l *rateLimiter) allow(now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.last.IsZero() {
		l.tokens = min(l.rate, l.tokens+now.Sub(l.last).Seconds()*l.rate)
	}
	l.last = now
	if l.tokens < 1 {
		return false
	}
	l.tokens--
	return true
}

// verifyHandshakeToken is Clerk's verifyHandshakeToken: the key by kid, then
// the header `typ` (absent or JWT), `alg` (RS256/384/512) and `cat` (a
// session category or none), then the signature. No time claims: the token
// only carries cookies, and the session token among them is verified itself.
func (a *authenticator) verifyHandshakeToken(ctx context.Context, raw string) ([]string, string) {
	fail := func(reason string) ([]string, string) { return nil, reasonHandshakePrefix + reason }
	if len(raw) > maxHandshakeToken || strings.Count(raw, ".") != 2 {
		return fail(reasonTokenInvalid)
	}
	h, rest, _ := strings.Cut(raw, ".")
	p, s, _ := strings.Cut(rest, ".")
	var header jwtHeader
	headerJSON, err := decodeSegment(h)
	if err != nil || !isJSONObject(headerJSON) || unmarshalExact(headerJSON, &header) != nil {
		return fail(reasonTokenInvalid)
	}
	payloadJSON, err := decodeSegment(p)
	var payload struct {
		Handshake json.RawMessage `json:"handshake"`
	}
	if err != nil || !isJSONObject(payloadJSON) || unmarshalExact(payloadJSON, &payload) != nil {
		return fail(reasonTokenInvalid)
	}
	sig, err := decodeSegment(s)
	if err != nil {
		return fail(reasonTokenInvalid)
	}
	v := a.verifier
	key, reason := v.keys.key(ctx, header.Kid.str())
	if reason != "" {
		return fail(reason)
	}
	if header.Typ.present && header.Typ.str() != "JWT" {
		return fail(reasonTokenInvalid)
	}
	alg := header.Alg.str()
	hashID, ok := rsaHashes[alg]
	if !ok {
		return fail(reasonTokenInvalidAlgorithm)
	}
	t := parsedToken{header: header}
	if t.hasNonSessionCategory() {
		// A JWT template signed by the same key could carry its own
		// `handshake` claim; only session-category tokens are handshakes.
		return fail(reasonTokenInvalid)
	}
	if key.alg != "" && key.alg != alg {
		return fail(reasonTokenVerificationFails)
	}
	if rsa.VerifyPKCS1v15(key.pub, hashID, digest(hashID, raw[:len(h)+1+len(p)]), sig) != nil {
		return fail(reasonTokenInvalidSignature)
	}
	var list []json.RawMessage
	if json.Unmarshal(payload.Handshake, &list) != nil {
		return nil, "" // not an array: no directives, as in Clerk
	}
	return jsonStrings(list), ""
}

// jsonStrings keeps the JSON strings of a list.
func jsonStrings(list []json.RawMessage) []string {
	var out []string
	for _, raw := range list {
		var s string
		if len(raw) > 0 && raw[0] == '"' && json.Unmarshal(raw, &s) == nil {
			out = append(out, s)
		}
	}
	return out
}

// checkDirectives keeps the Set-Cookie directives that set Clerk's own
// cookies for this instance, and returns them with the session token they
// carry (the last __session directive's value, as Clerk takes it). Anything
// else is dropped: another cookie name, a malformed line, a handshake or
// redirect-counter cookie that does not clear itself.
func (a *authenticator) checkDirectives(directives []string) (keep []string, session string) {
	var dropped []string
	for i, d := range directives {
		name, value, ok := a.clerkDirective(d)
		if !ok || i >= maxDirectives {
			if name == "" {
				name = "(malformed)"
			}
			dropped = append(dropped, name)
			continue
		}
		keep = append(keep, d)
		if strings.HasPrefix(name, cookieSession) {
			session = value
		}
	}
	if len(dropped) > 0 && a.hs != nil {
		a.hs.logger.Warn("dropped handshake directives that do not set Clerk's cookies", zap.Strings("cookies", dropped))
	}
	return keep, session
}

// clerkDirective checks one Set-Cookie directive and returns its name and
// value (Clerk's getCookieValue: up to the next `=` or `;`).
func (a *authenticator) clerkDirective(d string) (name, value string, ok bool) {
	if len(d) > maxDirectiveLength {
		return "", "", false
	}
	for i := 0; i < len(d); i++ {
		if c := d[i]; (c < 0x20 && c != '\t') || c == 0x7f {
			return "", "", false
		}
	}
	ck, err := http.ParseSetCookie(d)
	if err != nil {
		return "", "", false
	}
	first, _, _ := strings.Cut(d, ";")
	name, value, _ = strings.Cut(first, "=")
	value, _, _ = strings.Cut(value, "=")
	name = ck.Name
	sfx := a.suffix()
	suffixed := func(base string) bool { return sfx != "" && name == base+"_"+sfx }
	switch {
	case name == cookieSession, name == cookieClientUAT, name == cookieDevBrowser,
		suffixed(cookieSession), suffixed(cookieClientUAT), suffixed(cookieRefresh), suffixed(cookieDevBrowser):
		return name, value, true
	case name == cookieHandshake, name == cookieHandshakeNonce, name == cookieRedirects:
		clears := ck.Value == "" || ck.MaxAge < 0 || (!ck.Expires.IsZero() && ck.Expires.Before(time.Now()))
		return name, value, clears
	}
	return name, value, false
}

// clerkParams are the query parameters authenticateRequest reads.
type clerkParams struct {
	handshake, nonce, devBrowser, redirectURL string // first values
	hasDevBrowser                             bool   // __clerk_db_jwt is present, even empty
}

// readClerkParams reads Clerk's query parameters as URLSearchParams does.
// Queries that cannot hold one are not parsed.
func readClerkParams(rawQuery string) clerkParams {
	var p clerkParams
	if !strings.Contains(rawQuery, "__clerk_") && !strings.Contains(rawQuery, "%") {
		return p
	}
	first := func(dst *string, v string) {
		if *dst == "" {
			*dst = v
		}
	}
	seen := map[string]bool{}
	for _, kv := range formDecode(rawQuery) {
		name, v := kv[0], kv[1]
		if seen[name] {
			continue // URLSearchParams.get returns the first value
		}
		seen[name] = true
		switch name {
		case cookieHandshake:
			first(&p.handshake, v)
		case cookieHandshakeNonce:
			first(&p.nonce, v)
		case cookieDevBrowser:
			p.hasDevBrowser = true
			first(&p.devBrowser, v)
		case paramRedirectURL:
			first(&p.redirectURL, v)
		}
	}
	return p
}

// formDecode parses application/x-www-form-urlencoded as WHATWG's URL
// standard does: `&`-separated, `+` is a space, invalid escapes stay as
// they are, invalid UTF-8 becomes U+FFFD.
func formDecode(s string) [][2]string {
	var out [][2]string
	for _, part := range strings.Split(s, "&") {
		if part == "" {
			continue
		}
		name, value, _ := strings.Cut(part, "=")
		out = append(out, [2]string{formUnescape(name), formUnescape(value)})
	}
	return out
}

func formUnescape(s string) string {
	if !strings.ContainsAny(s, "+%") {
		return strings.ToValidUTF8(s, "\uFFFD")
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '+':
			b = append(b, ' ')
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
		default:
			b = append(b, c)
		}
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

func isHex(c byte) bool {
	return ('0' <= c && c <= '9') || ('a' <= c && c <= 'f') || ('A' <= c && c <= 'F')
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}

// formDelete drops every pair with one of the names.
func formDelete(pairs [][2]string, names ...string) [][2]string {
	return slices.DeleteFunc(pairs, func(kv [2]string) bool { return slices.Contains(names, kv[0]) })
}

// formEncode serializes pairs as URLSearchParams does: alphanumerics and
// `*-._` stay, a space is `+`, every other byte is %XX.
func formEncode(pairs [][2]string) string {
	var b strings.Builder
	for i, kv := range pairs {
		if i > 0 {
			b.WriteByte('&')
		}
		formEscape(&b, kv[0])
		b.WriteByte('=')
		formEscape(&b, kv[1])
	}
	return b.String()
}

func formEscape(b *strings.Builder, s string) {
	const hex = "0123456789ABCDEF"
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '*', c == '-', c == '.', c == '_':
			b.WriteByte(c)
		case c == ' ':
			b.WriteByte('+')
		default:
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
}

// stripHandshake removes the handshake's query parameters (__clerk_handshake,
// __clerk_handshake_nonce, __clerk_db_jwt, __clerk_help) and cookies
// (__clerk_handshake, __clerk_handshake_nonce, __clerk_db_jwt[_<suffix>])
// from the request, so that neither the upstream nor anything after this
// handler (logs, error pages, redirect_url) sees them. Other parameters and
// cookies are kept byte for byte.
func stripHandshake(r *http.Request, suffix string) {
	if q, ok := stripQuery(r.URL.RawQuery); ok {
		r.URL.RawQuery = q
		r.RequestURI = r.URL.RequestURI()
	}
	if orig, ok := r.Context().Value(caddyhttp.OriginalRequestCtxKey).(http.Request); ok && orig.URL != nil {
		if q, ok := stripQuery(orig.URL.RawQuery); ok {
			orig.URL.RawQuery = q // the context holds the URL by pointer
		}
	}
	lines := r.Header["Cookie"]
	for i, line := range lines {
		if !strings.Contains(line, "__clerk_") {
			continue
		}
		var kept []string
		for _, pair := range strings.Split(line, ";") {
			name, _, _ := strings.Cut(pair, "=")
			switch name = trimSpaceTab(name); {
			case name == cookieHandshake, name == cookieHandshakeNonce, name == cookieDevBrowser,
				suffix != "" && name == cookieDevBrowser+"_"+suffix:
				continue
			}
			if p := strings.TrimLeft(pair, " \t"); p != "" {
				kept = append(kept, p)
			}
		}
		lines[i] = strings.Join(kept, "; ")
	}
	if len(lines) > 0 {
		lines = slices.DeleteFunc(lines, func(l string) bool { return strings.TrimSpace(l) == "" })
		if len(lines) == 0 {
			r.Header.Del("Cookie")
		} else {
			r.Header["Cookie"] = lines
		}
	}
}

// stripQuery drops the handshake parameters from a raw query, keeping the
// rest as it was written.
func stripQuery(raw string) (string, bool) {
	if raw == "" || (!strings.Contains(raw, "__clerk_") && !strings.Contains(raw, "%")) {
		return raw, false
	}
	parts := strings.Split(raw, "&")
	n := len(parts)
	kept := parts[:0]
	for _, part := range parts {
		name, _, _ := strings.Cut(part, "=")
		switch formUnescape(name) {
		case cookieHandshake, cookieHandshakeNonce, cookieDevBrowser, paramHandshakeHelp:
			continue
		}
		kept = append(kept, part)
	}
	if len(kept) == n {
		return raw, false
	}
	return strings.Join(kept, "&"), true
}

// browserAPI is what browser sessions ask the Backend API (handshake
// payloads and session refresh): one attempt of the shared client (bapi.go),
// since it runs on the request path, plus the nonce redemption limit.
type browserAPI struct {
	bapi   *bapiClient
	nonces *rateLimiter // handshake nonce redemptions
}

// nonceRedemptionsPerSecond bounds nonce redemptions per clerk_auth: one per
// handshake, so far above what returning browsers need.
const nonceRedemptionsPerSecond = 100

func newBrowserAPI(base, secretKey string) *browserAPI {
	return &browserAPI{bapi: newBAPIClient(base, secretKey), nonces: newRateLimiter(nonceRedemptionsPerSecond)}
}

// call sends one request. It returns the status (0 without an answer), the
// first Clerk error code of a failed answer, and an error when there was no
// answer at all or a successful answer could not be decoded into out.
func (b *browserAPI) call(ctx context.Context, method, pathAndQuery string, in, out any) (int, string, error) {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return 0, "", err
		}
	}
	err := b.bapi.once(ctx, method, pathAndQuery, body, out)
	var be *bapiError
	var de *decodeError
	switch {
	case err == nil:
		return http.StatusOK, "", nil
	case errors.As(err, &be):
		return be.Status, be.Code, nil
	case errors.As(err, &de):
		return http.StatusOK, "", err
	}
	return 0, "", errors.New("backend API unreachable")
}

func (b *browserAPI) close() { b.bapi.close() }

// provisionBrowserSessions sets up the handshake (on by default, with a
// publishable key) and the Backend API calls of browser sessions (with a
// secret key): handshake nonces and session refresh.
func (c *ClerkAuth) provisionBrowserSessions(inst *instance) error {
	if c.SecretKey != "" {
		apiURL := c.APIURL
		if apiURL == "" {
			apiURL = defaultAPIURL
		}
		c.auth.api = newBrowserAPI(apiURL, c.SecretKey)
	}
	if inst == nil || (c.Handshake != nil && !*c.Handshake) {
		return nil
	}
	fapi := c.FrontendAPI
	if fapi == "" {
		fapi = "https://" + inst.frontendHost
	}
	hs, err := newHandshaker(fapi, c.SecretKey != "", c.logger.Named("handshake"))
	if err != nil {
		return err
	}
	c.auth.hs = hs
	return nil
}

// stripHandshake removes the handshake's parameters and cookies from the
// request when this handler owns the handshake.
func (c *ClerkAuth) stripHandshake(r *http.Request) {
	if c.auth.hs != nil {
		stripHandshake(r, c.auth.suffix())
	}
}

// answerBrowser passes on to the browser what authentication adds to the
// response: cookies on every answer, the handshake redirect, and the
// redirect to the clean URL once a handshake that came in the URL is
// applied. It reports whether the response is complete. It also strips the
// handshake's parameters from the request: after this, nothing sees them.
func (c *ClerkAuth) answerBrowser(w http.ResponseWriter, r *http.Request, route routeClass, a *authResult) bool {
	if a.status == statusHandshake && route.api {
		// api_routes are never redirected: signed out, same reason.
		a.status, a.response = statusSignedOut, nil
	}
	if inst := c.auth.inst; inst != nil && !inst.production && !a.signedIn() && a.status != statusHandshake {
		// The sign-in redirect of a development instance carries the dev
		// browser token; read it before it is stripped.
		if dvb := c.auth.devBrowser(&authRequest{r: r}); dvb != "" {
			if a.response == nil {
				a.response = &authResponse{}
			}
			a.response.devBrowser = dvb
		}
	}
	c.stripHandshake(r)
	resp := a.response
	if resp == nil {
		return false
	}
	h := w.Header()
	for _, sc := range resp.setCookies {
		h.Add("Set-Cookie", sc)
	}
	var location string
	switch {
	case a.status == statusHandshake:
		location = resp.location
	case resp.cleanRedirect:
		location = requestURL(r).String()
	default:
		return false
	}
	if a.status != statusSignedIn {
		h.Set("X-Clerk-Auth-Status", a.status)
		h.Set("X-Clerk-Auth-Reason", a.reason)
	}
	h.Set("Location", location)
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusTemporaryRedirect)
	return true
}
