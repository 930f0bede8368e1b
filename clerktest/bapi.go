package clerktest

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"time"
)

// The Backend API resource paths the instance serves besides the JWKS. All
// need "Authorization: Bearer <secret key>". Machine-token verification has
// no /v1, as in Clerk.
const (
	BackendUsersPath         = "/v1/users/"    // GET /v1/users/{id}
	BackendSessionsPath      = "/v1/sessions/" // GET /v1/sessions/{id}, POST /v1/sessions/{id}/revoke
	BackendAPIKeyVerifyPath  = "/api_keys/verify"
	BackendM2MVerifyPath     = "/m2m_tokens/verify"
	BackendOAuthVerifyPath   = "/oauth_applications/access_tokens/verify"
	defaultMachineTokenLife  = time.Hour
	webhookDeliveryTimeout   = 5 * time.Second
	machineTokenSecretLength = 32
)

// APIMode selects how the Backend API resource endpoints (users, sessions,
// machine-token verification) answer; the JWKS endpoints follow JWKSMode.
// The secret key is checked before the mode applies.
type APIMode int32

// The API modes.
const (
	// APIOK answers normally (the default).
	APIOK APIMode = iota
	// APIFail answers 500 with a Clerk-style JSON error body.
	APIFail
	// APIHang never answers: the request is held until the client goes
	// away or the instance is closed.
	APIHang
	// APIRateLimited answers 429 with "Retry-After: 1".
	APIRateLimited
)

// bapiState is the Backend API's data: users, sessions, machine tokens and
// webhook endpoints.
type bapiState struct {
	mu        sync.Mutex
	mode      APIMode
	requests  map[string]int64 // by URL path
	users     map[string]User
	sessions  map[string]*sessionRecord
	machines  map[string]*machineToken // by token
	endpoints []webhookEndpoint
	instID    string
}

func (s *bapiState) init() {
	s.requests = map[string]int64{}
	s.users = map[string]User{}
	s.sessions = map[string]*sessionRecord{}
	s.machines = map[string]*machineToken{}
	s.instID = NewID("ins_")
}

// SetAPIMode changes how the resource endpoints answer from the next request
// on.
func (i *Instance) SetAPIMode(m APIMode) {
	i.bapi.mu.Lock()
	i.bapi.mode = m
	i.bapi.mu.Unlock()
}

// APIRequests returns how many requests the resource endpoints received for
// this URL path (for example "/v1/users/user_1" or "/api_keys/verify"),
// whatever they were answered, since the start or ResetAPIRequests.
func (i *Instance) APIRequests(path string) int64 {
	i.bapi.mu.Lock()
	defer i.bapi.mu.Unlock()
	return i.bapi.requests[path]
}

// ResetAPIRequests sets every APIRequests counter back to zero.
func (i *Instance) ResetAPIRequests() {
	i.bapi.mu.Lock()
	i.bapi.requests = map[string]int64{}
	i.bapi.mu.Unlock()
}

// mountBackendAPI registers the resource endpoints on the BAPI server.
func (i *Instance) mountBackendAPI() {
	i.bapi.init()
	for pattern, h := range map[string]http.HandlerFunc{
		"GET " + BackendUsersPath + "{id}":            i.serveUser,
		"GET " + BackendSessionsPath + "{id}":         i.serveSession,
		"POST " + BackendSessionsPath + "{id}/revoke": i.serveRevokeSession,
		"POST " + BackendAPIKeyVerifyPath:             i.serveVerify("api_key", "secret"),
		"POST " + BackendM2MVerifyPath:                i.serveVerify("m2m_token", "token"),
		"POST " + BackendOAuthVerifyPath:              i.serveVerify("oauth_token", "access_token"),
	} {
		i.backendMux.Handle(pattern, i.countAPI(i.requireSecretKey(i.applyAPIMode(h), false)))
	}
}

// countAPI counts every request by path.
func (i *Instance) countAPI(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i.bapi.mu.Lock()
		i.bapi.requests[r.URL.Path]++
		i.bapi.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

// applyAPIMode answers according to the APIMode before h runs.
func (i *Instance) applyAPIMode(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i.bapi.mu.Lock()
		mode := i.bapi.mode
		i.bapi.mu.Unlock()
		switch mode {
		case APIFail:
			writeClerkError(w, http.StatusInternalServerError, "internal_clerk_error",
				"Oops, an unexpected error occurred", "There was an internal error on our servers.")
		case APIHang:
			select {
			case <-r.Context().Done():
			case <-i.closing:
			}
			panic(http.ErrAbortHandler)
		case APIRateLimited:
			w.Header().Set("Retry-After", "1")
			writeClerkError(w, http.StatusTooManyRequests, "too_many_requests",
				"Too many requests", "Too many requests, please try again later.")
		default:
			h.ServeHTTP(w, r)
		}
	})
}

// APIKey describes an API key to create. Zero values get defaults.
type APIKey struct {
	// Name is the key's name; default "test key".
	Name string
	// Subject is the owner: a user (user_...) or an organization (org_...);
	// default a new user id.
	Subject string
	// Scopes are the key's scopes.
	Scopes []string
	// Claims are the key's custom claims; nil for none.
	Claims map[string]any
	// Expiration is when the key expires; zero never.
	Expiration time.Time
}

// M2MToken describes a machine-to-machine token to create or mint.
type M2MToken struct {
	// MachineID is the subject (mch_...); default a new machine id.
	MachineID string
	// Scopes are the token's scopes (in a minted JWT, the space-separated
	// "scopes" claim).
	Scopes []string
	// Claims are custom claims; nil for none.
	Claims map[string]any
	// Expiration is when the token expires; zero means never for opaque
	// tokens and in one hour for minted JWTs.
	Expiration time.Time
}

// OAuthToken describes an OAuth access token to create or mint.
type OAuthToken struct {
	// UserID is the subject; default a new user id.
	UserID string
	// ClientID is the OAuth application's client id; default a random one.
	ClientID string
	// Scopes are the granted scopes (in a minted JWT, the "scp" claim).
	Scopes []string
	// Expiration is when the token expires; zero means never for opaque
	// tokens and in one hour for minted JWTs.
	Expiration time.Time
}

// machineToken is one opaque machine token the instance issued.
type machineToken struct {
	typ        string
	id         string
	name       string
	subject    string
	clientID   string
	scopes     []string
	claims     map[string]any
	expiration time.Time
	revoked    bool
	created    time.Time
}

// CreateAPIKey issues an opaque API key ("ak_...") that the verify endpoint
// knows, and returns its secret.
func (i *Instance) CreateAPIKey(k APIKey) string {
	return i.issueMachineToken("ak_", &machineToken{typ: "api_key", id: NewID("ak_id_"),
		name: orDefault(k.Name, func() string { return "test key" }), subject: orDefault(k.Subject, func() string { return NewID("user_") }),
		scopes: k.Scopes, claims: k.Claims, expiration: k.Expiration})
}

// CreateM2MToken issues an opaque machine-to-machine token ("mt_...").
func (i *Instance) CreateM2MToken(t M2MToken) string {
	return i.issueMachineToken("mt_", &machineToken{typ: "m2m_token", id: NewID("mt_id_"),
		subject: orDefault(t.MachineID, func() string { return NewID("mch_") }),
		scopes:  t.Scopes, claims: t.Claims, expiration: t.Expiration})
}

// CreateOAuthToken issues an opaque OAuth access token ("oat_...").
func (i *Instance) CreateOAuthToken(t OAuthToken) string {
	return i.issueMachineToken("oat_", &machineToken{typ: "oauth_token", id: NewID("oat_id_"),
		subject:  orDefault(t.UserID, func() string { return NewID("user_") }),
		clientID: orDefault(t.ClientID, func() string { return randomBase62(16) }),
		scopes:   t.Scopes, expiration: t.Expiration})
}

func (i *Instance) issueMachineToken(prefix string, m *machineToken) string {
	token := prefix + randomBase62(machineTokenSecretLength)
	m.created = time.Now()
	i.bapi.mu.Lock()
	i.bapi.machines[token] = m
	i.bapi.mu.Unlock()
	return token
}

// RevokeMachineToken marks an opaque machine token revoked; the verify
// endpoint then answers it with "revoked": true. It reports whether the
// token was known.
func (i *Instance) RevokeMachineToken(token string) bool {
	i.bapi.mu.Lock()
	defer i.bapi.mu.Unlock()
	m, ok := i.bapi.machines[token]
	if ok {
		m.revoked = true
	}
	return ok
}

// MintM2MJWT returns a JWT-format M2M token signed with the current key:
// header {alg RS256, kid, typ JWT, cat cl_B7d4PD333AAA}, claims iss, sub
// (the machine id), jti, iat, nbf, exp, scopes (space-separated) and t.Claims.
func (i *Instance) MintM2MJWT(t M2MToken) string {
	now := time.Now()
	claims := map[string]any{
		"iss": i.Issuer(), "sub": orDefault(t.MachineID, func() string { return NewID("mch_") }),
		"jti": NewID("mt_"), "iat": now.Unix(), "nbf": now.Unix(),
		"exp": unixOr(t.Expiration, now.Add(defaultMachineTokenLife)),
	}
	if len(t.Scopes) > 0 {
		claims["scopes"] = strings.Join(t.Scopes, " ")
	}
	header := map[string]any{"alg": "RS256", "kid": i.KeyID(), "typ": "JWT", "cat": CategoryM2M}
	return i.Sign(header, merge(claims, t.Claims))
}

// MintOAuthJWT returns a JWT-format OAuth access token signed with the
// current key: header {alg RS256, kid, typ at+jwt}, claims iss, sub (the
// user), client_id, jti, iat, nbf, exp and scp (the scopes).
func (i *Instance) MintOAuthJWT(t OAuthToken) string {
	now := time.Now()
	claims := map[string]any{
		"iss": i.Issuer(), "sub": orDefault(t.UserID, func() string { return NewID("user_") }),
		"client_id": orDefault(t.ClientID, func() string { return randomBase62(16) }),
		"jti":       NewID("oat_"), "iat": now.Unix(), "nbf": now.Unix(),
		"exp": unixOr(t.Expiration, now.Add(defaultMachineTokenLife)),
	}
	if len(t.Scopes) > 0 {
		claims["scp"] = t.Scopes
	}
	return i.Sign(map[string]any{"alg": "RS256", "kid": i.KeyID(), "typ": "at+jwt"}, claims)
}

// serveVerify answers a verify call: the token's object, with its revoked
// and expired flags, or 404 for a token the instance never issued (or of
// another type). Whether Clerk answers revoked or expired tokens with an
// error instead is not known; clients should refuse either.
func (i *Instance) serveVerify(typ, field string) http.HandlerFunc {
	notFound := map[string]string{"api_key": "API key not found", "m2m_token": "Machine token not found",
		"oauth_token": "OAuth token not found"}[typ]
	return func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		_ = json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&body)
		token, _ := body[field].(string)
		i.bapi.mu.Lock()
		m, ok := i.bapi.machines[token]
		var obj map[string]any
		if ok && m.typ == typ {
			obj = m.object()
		}
		i.bapi.mu.Unlock()
		if obj == nil {
			writeClerkError(w, http.StatusNotFound, "resource_not_found", notFound, notFound+".")
			return
		}
		b, _ := json.Marshal(obj)
		writeJSON(w, http.StatusOK, b)
	}
}

// object renders the token as the verify endpoint does; i.bapi.mu is held.
func (m *machineToken) object() map[string]any {
	var expiration any
	expired := false
	if !m.expiration.IsZero() {
		expiration = m.expiration.UnixMilli()
		expired = !time.Now().Before(m.expiration)
	}
	var claims any
	if m.claims != nil {
		claims = m.claims
	}
	scopes := m.scopes
	if scopes == nil {
		scopes = []string{}
	}
	var revocationReason any
	if m.revoked {
		revocationReason = "revoked by test"
	}
	obj := map[string]any{
		"id": m.id, "subject": m.subject, "scopes": scopes, "revoked": m.revoked,
		"revocation_reason": revocationReason, "expired": expired, "expiration": expiration,
		"created_at": m.created.UnixMilli(), "updated_at": m.created.UnixMilli(),
	}
	switch m.typ {
	case "api_key":
		obj["object"], obj["type"], obj["name"], obj["claims"] = "api_key", "api_key", m.name, claims
		obj["description"], obj["created_by"], obj["last_used_at"] = nil, nil, nil
	case "m2m_token":
		obj["object"], obj["claims"] = "machine_to_machine_token", claims
	case "oauth_token":
		obj["object"], obj["type"], obj["client_id"] = "clerk_idp_oauth_access_token", "oauth:access_token", m.clientID
	}
	return obj
}
