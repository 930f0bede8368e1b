package caddyclerk

import (
	"context"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"
	"golang.org/x/net/http/httpguts"
)

// Machine token types, as Clerk names them.
const (
	tokenTypeAPIKey = "api_key"
	tokenTypeM2M    = "m2m_token"
	tokenTypeOAuth  = "oauth_token"
)

// How long machine-token answers are cached. A verified token is kept until
// it expires but never longer than machineCacheMaxTTL, so that a token
// revoked in Clerk stops working within that time even without a webhook;
// "not found" is kept briefly, so that a client retrying a bad token does not
// become a stream of Backend API calls.
const (
	machineCacheMaxTTL = time.Minute
	machineNotFoundTTL = 10 * time.Second
)

// machineAuth is the identity of a verified machine token, shaped like
// Clerk's machine auth objects (clerk-semantics d). It is immutable.
type machineAuth struct {
	tokenType string
	id        string // the token's id (API key id, M2M token id, jti)
	subject   string
	userID    string // api_key with a user_ subject; oauth_token's subject
	orgID     string // api_key with an org_ subject
	machineID string // m2m_token's subject
	clientID  string // oauth_token's OAuth application
	name      string // api_key's name
	scopes    []string
	scopesCSV string
	claims    []byte // JSON for {clerk.claims.*}: the custom claims, or the JWT payload
}

// logUser is what the access log records as the user: the user, else the
// machine or whatever the token's subject is.
func (m *machineAuth) logUser() string {
	if m.userID != "" {
		return m.userID
	}
	return m.subject
}

// machineAnswer is one cached verification outcome: an identity, or the
// reason the token was refused.
type machineAnswer struct {
	tokenType string
	auth      *machineAuth
	reason    string
	kid       string // JWT tokens: the key that verified them, re-checked on hits
	key       verificationKey
	jwt       bool
}

// machineVerifier authenticates machine tokens from the Authorization
// header for a clerk_auth whose `accept` goes beyond session tokens.
type machineVerifier struct {
	acceptSession bool
	accepted      []string  // the machine types accepted
	single        bool      // exactly one machine type and no session tokens (Clerk's string form)
	sessions      *verifier // the session verifier, for its cache
	keys          keySource
	skewMillis    int64
	now           func() time.Time
	backend       *backendFeatures
}

// machineTokenType is Clerk's getMachineTokenType, in its order: mt_ or a
// JWT with an mch_ subject is m2m_token; oat_ or a JWT with typ at+jwt is
// oauth_token; ak_ is api_key. "" is anything else (a session token, or
// garbage for the session path to refuse). The parsed JWT is returned when
// the token is JWT-shaped and decodes.
func machineTokenType(raw string) (string, *parsedToken) {
	var t *parsedToken
	if isJWTFormat(raw) {
		t, _ = parseToken(raw)
	}
	switch {
	case strings.HasPrefix(raw, "mt_") || (t != nil && strings.HasPrefix(t.claims.Sub.str(), "mch_")):
		return tokenTypeM2M, t
	case strings.HasPrefix(raw, "oat_") || (t != nil && isAccessTokenType(t.header.Typ.str())):
		return tokenTypeOAuth, t
	case strings.HasPrefix(raw, "ak_"):
		return tokenTypeAPIKey, nil
	}
	return "", t
}

func isAccessTokenType(typ string) bool { return typ == "at+jwt" || typ == "application/at+jwt" }

// isJWTFormat is Clerk's /^[a-zA-Z0-9\-_]+\.[a-zA-Z0-9\-_]+\.[a-zA-Z0-9\-_]+$/.
func isJWTFormat(raw string) bool {
	parts, seg := 0, 0
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case c == '.':
			if seg == 0 {
				return false
			}
			parts++
			seg = 0
		case c == '-' || c == '_' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'):
			seg++
		default:
			return false
		}
	}
	return parts == 2 && seg > 0
}

// authenticate decides a header token when machine tokens are configured.
// handled is false for a session-shaped token that the session path must
// decide.
func (m *machineVerifier) authenticate(r *http.Request, raw string) (res authResult, handled bool) {
	if m.acceptSession && m.sessions.cached(raw) != nil {
		return authResult{}, false // a session token seen before: no parsing here
	}
	typ, t := machineTokenType(raw)
	if typ == "" {
		if m.acceptSession {
			return authResult{}, false
		}
		return signedOut(reasonTokenTypeMismatch, true), true
	}
	if !slices.Contains(m.accepted, typ) {
		return signedOut(reasonTokenTypeMismatch, true), true
	}
	return m.verify(r.Context(), typ, raw, t), true
}

// noHeaderToken is the outcome of a request without a header token when
// session tokens are not accepted: Clerk answers a single machine type with
// its literal "No token in header", a list with token-type-mismatch.
func (m *machineVerifier) noHeaderToken() authResult {
	if m.single {
		return signedOut(reasonNoTokenInHeader, false)
	}
	return signedOut(reasonTokenTypeMismatch, false)
}

// machineResult is the outcome for a verified machine token.
func machineResult(a *machineAuth) authResult {
	return authResult{status: statusSignedIn, tokenType: a.tokenType, extra: &authExtra{machine: a}, tokenSent: true}
}

// authExtra is what the Backend API features add to an authResult. It is a
// separate allocation, made only when they are used, so that the request
// identity of a plain session stays small.
type authExtra struct {
	machine *machineAuth // the verified machine token
	profile *userProfile // the user's profile with user_fields (enrich.go)
}

// machineToken returns the verified machine token, nil for sessions.
func (a *authResult) machineToken() *machineAuth {
	if a.extra == nil {
		return nil
	}
	return a.extra.machine
}

// enrichment returns the user's profile, nil without user_fields.
func (a *authResult) enrichment() *userProfile {
	if a.extra == nil {
		return nil
	}
	return a.extra.profile
}

// setProfile attaches the user's profile.
func (a *authResult) setProfile(p *userProfile) {
	e := &authExtra{profile: p}
	if a.extra != nil {
		e.machine = a.extra.machine
	}
	a.extra = e
}

// verify checks a machine token, from the cache when it was answered
// before. Opaque tokens go to the Backend API, JWT tokens are verified
// locally with the instance's keys.
func (m *machineVerifier) verify(ctx context.Context, typ, raw string, t *parsedToken) authResult {
	if len(raw) > maxTokenLength {
		return signedOut(reasonTokenInvalid, true)
	}
	sum := sha256.Sum256([]byte(raw))
	now := m.now()
	cache := m.backend.state.machines
	if a, _, ok := cache.get(sum, now); ok && a.tokenType == typ && (!a.jwt || m.keys.current(a.kid, a.key)) {
		return a.result()
	}
	var a machineAnswer
	if t != nil && (typ == tokenTypeM2M && strings.HasPrefix(t.claims.Sub.str(), "mch_") || typ == tokenTypeOAuth && isAccessTokenType(t.header.Typ.str())) {
		a = m.verifyJWT(ctx, typ, t)
		if a.auth != nil {
			expires := time.UnixMilli(int64(min(t.claims.Exp.millis()+float64(m.skewMillis), math.MaxInt64/2)))
			cache.put(sum, a, now, minTime(expires, now.Add(machineCacheMaxTTL)))
		}
	} else {
		a = m.backend.verifyOpaque(ctx, typ, raw, sum)
	}
	return a.result()
}

func (a machineAnswer) result() authResult {
	if a.auth == nil {
		return signedOut(a.reason, true)
	}
	return machineResult(a.auth)
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// machineClaims are the claims of a JWT machine token.
type machineClaims struct {
	Sub      jsonString      `json:"sub"`
	Exp      jsonNumber      `json:"exp"`
	Nbf      jsonNumber      `json:"nbf"`
	Iat      jsonNumber      `json:"iat"`
	Jti      jsonString      `json:"jti"`
	Scopes   jsonString      `json:"scopes"`
	Scp      json.RawMessage `json:"scp"`
	Scope    jsonString      `json:"scope"`
	Aud      json.RawMessage `json:"aud"`
	ClientID jsonString      `json:"client_id"`
}

// verifyJWT is Clerk's verifyMachineJwt: an M2M JWT must carry no category
// but M2M's; both kinds are checked like any Clerk JWT (typ, RS256/384/512,
// signature, then sub, exp, nbf, iat with the skew), without azp or iss
// checks, as Clerk does; any failure is token-verification-failed.
func (m *machineVerifier) verifyJWT(ctx context.Context, typ string, t *parsedToken) machineAnswer {
	fail := machineAnswer{tokenType: typ, reason: reasonTokenVerificationFails}
	if typ == tokenTypeM2M {
		if cat := t.header.Cat; cat.present && cat.str() != categoryM2M {
			return machineAnswer{tokenType: typ, reason: reasonTokenInvalid}
		}
	}
	kid := t.header.Kid.str()
	key, reason := m.keys.key(ctx, kid)
	if reason != "" {
		return fail
	}
	switch typHeader := t.header.Typ; {
	case typ == tokenTypeOAuth && !isAccessTokenType(typHeader.str()):
		return fail
	case typ == tokenTypeM2M && typHeader.present && typHeader.str() != "JWT":
		return fail
	}
	alg := t.header.Alg.str()
	hashID, ok := rsaHashes[alg]
	if !ok || (key.alg != "" && key.alg != alg) {
		return fail
	}
	if rsa.VerifyPKCS1v15(key.pub, hashID, digest(hashID, t.signingInput), t.signature) != nil {
		return fail
	}
	var c machineClaims
	if unmarshalExact(t.payload, &c) != nil || !c.Sub.isStr || !c.Exp.isNum {
		return fail
	}
	nowMillis, skew := float64(m.now().UnixMilli()), float64(m.skewMillis)
	if c.Exp.millis() <= nowMillis-skew ||
		(c.Nbf.present && (!c.Nbf.isNum || c.Nbf.millis() > nowMillis+skew)) ||
		(c.Iat.present && (!c.Iat.isNum || c.Iat.millis() > nowMillis+skew)) {
		return fail
	}
	a := &machineAuth{tokenType: typ, id: c.Jti.str(), subject: c.Sub.str(), claims: t.payload}
	if typ == tokenTypeM2M {
		a.machineID = a.subject
		switch {
		case c.Scopes.isStr:
			a.scopes = strings.Fields(c.Scopes.val)
		default:
			a.scopes = stringList(c.Aud)
		}
	} else {
		a.userID, a.clientID = a.subject, c.ClientID.str()
		a.scopes = stringList(c.Scp)
		if len(a.scopes) == 0 && c.Scope.isStr {
			a.scopes = strings.Fields(c.Scope.val)
		}
	}
	a.scopesCSV = strings.Join(a.scopes, ",")
	return machineAnswer{tokenType: typ, auth: a, kid: kid, key: key, jwt: true}
}

// stringList reads a JSON string (space-separated) or array of strings.
func stringList(raw json.RawMessage) []string {
	if len(raw) == 0 {
		return nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return strings.Fields(s)
	}
	var list []any
	if json.Unmarshal(raw, &list) != nil {
		return nil
	}
	out := make([]string, 0, len(list))
	for _, v := range list {
		if s, ok := v.(string); ok && s != "" {
			out = append(out, s)
		}
	}
	return out
}

// machineTokenJSON is the Backend API's answer to a verify call, the union
// of the api_key, machine_to_machine_token and clerk_idp_oauth_access_token
// objects.
type machineTokenJSON struct {
	ID         string          `json:"id"`
	Name       string          `json:"name"`
	Subject    string          `json:"subject"`
	Scopes     []string        `json:"scopes"`
	Claims     json.RawMessage `json:"claims"`
	Revoked    bool            `json:"revoked"`
	Expired    bool            `json:"expired"`
	Expiration *float64        `json:"expiration"` // Unix milliseconds; null never expires
	ClientID   string          `json:"client_id"`
}

// verifyPaths are the Backend API endpoints and body fields of opaque
// verification (no /v1, as in Clerk's SDK).
var verifyPaths = map[string]struct{ path, field string }{
	tokenTypeAPIKey: {"/api_keys/verify", "secret"},
	tokenTypeM2M:    {"/m2m_tokens/verify", "token"},
	tokenTypeOAuth:  {"/oauth_applications/access_tokens/verify", "access_token"},
}

// verifyOpaque asks the Backend API about an opaque token, once for all
// concurrent requests carrying it; each request waits no longer than its own
// context.
func (b *backendFeatures) verifyOpaque(ctx context.Context, typ, raw string, sum [32]byte) machineAnswer {
	ch := b.state.flight.DoChan(b.flightPrefix+"machine\x00"+string(sum[:]), func() (any, error) {
		return b.callVerify(context.WithoutCancel(ctx), typ, raw, sum), nil
	})
	select {
	case res := <-ch:
		return res.Val.(machineAnswer)
	case <-ctx.Done():
		return machineAnswer{tokenType: typ, reason: reasonUnexpectedError}
	}
}

// callVerify performs the verify call and caches what may be cached:
// successes until they expire (at most machineCacheMaxTTL), not-found
// answers briefly, nothing else. Clerk's mapping of errors: 401 is
// secret-key-invalid, 404 token-invalid, anything else unexpected-error.
func (b *backendFeatures) callVerify(ctx context.Context, typ, raw string, sum [32]byte) machineAnswer {
	ep := verifyPaths[typ]
	var ans machineTokenJSON
	err := b.bapi.post(ctx, ep.path, map[string]string{ep.field: raw}, &ans)
	countBAPICall(typ, err) // metrics.go
	now := time.Now()
	cache := b.state.machines
	switch {
	case err == nil:
	case isKeyRejected(err):
		b.failed(typ, err)
		return machineAnswer{tokenType: typ, reason: reasonSecretKeyInvalid}
	case bapiStatus(err) == http.StatusNotFound:
		a := machineAnswer{tokenType: typ, reason: reasonTokenInvalid}
		cache.put(sum, a, now, now.Add(machineNotFoundTTL))
		return a
	default:
		b.failed(typ, err)
		return machineAnswer{tokenType: typ, reason: reasonUnexpectedError}
	}
	// Clerk's SDK leaves revoked and expired to the Backend API; we also
	// refuse an answer that says so itself.
	expires := now.Add(machineCacheMaxTTL)
	if ans.Expiration != nil {
		expires = minTime(expires, time.UnixMilli(int64(min(*ans.Expiration, math.MaxInt64/2))))
	}
	if ans.Revoked || ans.Expired || !now.Before(expires) || ans.Subject == "" {
		a := machineAnswer{tokenType: typ, reason: reasonTokenInvalid}
		cache.put(sum, a, now, now.Add(machineNotFoundTTL))
		return a
	}
	a := &machineAuth{tokenType: typ, id: ans.ID, subject: ans.Subject, scopes: ans.Scopes}
	if len(ans.Claims) > 0 && string(ans.Claims) != "null" {
		a.claims = ans.Claims
	}
	switch typ {
	case tokenTypeAPIKey:
		a.name = ans.Name
		switch {
		case strings.HasPrefix(a.subject, "user_"):
			a.userID = a.subject
		case strings.HasPrefix(a.subject, "org_"):
			a.orgID = a.subject
		}
	case tokenTypeM2M:
		a.machineID = a.subject
	case tokenTypeOAuth:
		a.userID, a.clientID = a.subject, ans.ClientID
	}
	a.scopesCSV = strings.Join(a.scopes, ",")
	answer := machineAnswer{tokenType: typ, auth: a}
	cache.put(sum, answer, now, expires)
	return answer
}

// failed logs and counts a Backend API failure. Neither the secret key nor
// any token ever reaches the log.
func (b *backendFeatures) failed(operation string, err error) {
	countFailure(operation, err)
	if ce := b.logger.Check(zap.WarnLevel, "Clerk Backend API call failed"); ce != nil {
		ce.Write(zap.String("operation", operation), zap.Error(err))
	}
}

// activeMachine returns the verified machine token of a signed-in request.
func (id *requestIdentity) activeMachine() *machineAuth {
	if id.signedIn() {
		return id.machineToken()
	}
	return nil
}

// userID returns the signed-in user, from a session or a machine token.
func (id *requestIdentity) userID() string {
	if s := id.active(); s != nil {
		return s.UserID
	}
	if m := id.activeMachine(); m != nil {
		return m.userID
	}
	return ""
}

// backendPlaceholder resolves the placeholders of the Backend API features:
// machine tokens ({clerk.machine_id}, {clerk.client_id}, {clerk.scopes},
// {clerk.api_key_name}, {clerk.token_id}, and {clerk.user_id},
// {clerk.org_id}, {clerk.claims.*} of a machine) and user enrichment
// ({clerk.user.<field>}). ok is false for names it leaves to the session.
func (id *requestIdentity) backendPlaceholder(name string) (any, bool) {
	m := id.activeMachine()
	switch name {
	case "machine_id", "client_id", "scopes", "api_key_name", "token_id":
		if m == nil {
			return "", true
		}
		switch name {
		case "machine_id":
			return m.machineID, true
		case "client_id":
			return m.clientID, true
		case "scopes":
			return m.scopesCSV, true
		case "api_key_name":
			return m.name, true
		}
		return m.id, true
	}
	if field, ok := strings.CutPrefix(name, "user."); ok {
		return id.enrichment().field(field), true
	}
	if m == nil {
		return nil, false
	}
	switch name {
	case "user_id":
		return m.userID, true
	case "org_id":
		return m.orgID, true
	}
	if path, ok := strings.CutPrefix(name, "claims."); ok {
		return claimAt(m.claims, path), true
	}
	return nil, false
}

// setMachineHeaders adds a machine token's identity for the upstream.
func setMachineHeaders(h http.Header, m *machineAuth) {
	for _, f := range [...]struct{ name, val string }{
		{"X-Clerk-Token-Type", m.tokenType},
		{"X-Clerk-User-Id", m.userID},
		{"X-Clerk-Org-Id", m.orgID},
		{"X-Clerk-Machine-Id", m.machineID},
		{"X-Clerk-Client-Id", m.clientID},
		{"X-Clerk-Api-Key-Name", m.name},
		{"X-Clerk-Scopes", m.scopesCSV},
		{"X-Clerk-Token-Id", m.id},
	} {
		if f.val != "" && httpguts.ValidHeaderFieldValue(f.val) {
			h[f.name] = []string{f.val}
		}
	}
}

// errNoSecretKey is reported for Backend API features without secret_key.
var errNoSecretKey = errors.New("needs secret_key (the Backend API)")
