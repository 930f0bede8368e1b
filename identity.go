package caddyclerk

import (
	"bytes"
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"strings"

	"go.uber.org/zap"
	"golang.org/x/net/http/httpguts"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// Auth statuses, as Clerk names them.
const (
	statusSignedIn  = "signed-in"
	statusSignedOut = "signed-out"
	statusHandshake = "handshake"
)

// tokenTypeSession is the token type of Clerk session tokens.
const tokenTypeSession = "session_token"

// identityVar is the request variable holding the request's *requestIdentity,
// where placeholders and the `clerk` matcher read it.
const identityVar = "clerk_auth"

// session is the identity carried by one verified session token. It is built
// once per verification and never changed, so it can be shared and cached.
type session struct {
	authFacts              // what has() decides on
	sessionID, status, azp string
	actorID, orgSlug       string
	orgPermissionsCSV      string
	payload                []byte // the claims JSON, for {clerk.claims.*}

	// What the cookie rules read from a token, kept for cached tokens.
	issuer   string
	iat, exp jsonNumber
}

// newSession builds the identity from verified claims the way Clerk's
// JWTPayloadToAuthObjectProperties does, v1 or v2. A v2 `fea` Clerk cannot
// parse fails, as Clerk's auth object construction fails.
func newSession(t *parsedToken) (*session, error) {
	c := &t.claims
	s := &session{
		authFacts: authFacts{UserID: c.Sub.str(), Features: c.Fea.str(), Plans: c.Pla.str()},
		sessionID: c.Sid.str(),
		status:    c.Sts.str(),
		azp:       c.Azp.str(),
		payload:   t.payload,
		issuer:    c.Iss.str(),
		iat:       c.Iat,
		exp:       c.Exp,
	}
	if len(c.Act) > 0 {
		var act struct {
			Sub jsonString `json:"sub"`
		}
		if isJSONObject(c.Act) && unmarshalExact(c.Act, &act) == nil {
			s.actorID = act.Sub.str()
		}
	}
	s.FVA, s.HasFVA = parseFVA(c.Fva)
	if c.V.isNum && c.V.val == 2 {
		if err := s.setV2Org(c); err != nil {
			return nil, err
		}
	} else {
		s.OrgID, s.OrgRole, s.orgSlug = c.OrgID.str(), c.OrgRole.str(), c.OrgSlug.str()
		var perms []json.RawMessage
		if json.Unmarshal(c.OrgPermissions, &perms) == nil {
			for _, p := range perms {
				var v string
				if len(p) > 0 && p[0] == '"' && json.Unmarshal(p, &v) == nil {
					s.OrgPermissions = append(s.OrgPermissions, v)
				}
			}
		}
	}
	s.orgPermissionsCSV = strings.Join(s.OrgPermissions, ",")
	return s, nil
}

// setV2Org reads the compact v2 organization claim `o` and decodes the
// organization permissions from fea/per/fpm.
func (s *session) setV2Org(c *sessionClaims) error {
	if len(c.O) == 0 || !isJSONObject(c.O) {
		return nil
	}
	var o struct {
		ID  jsonString `json:"id"`
		Slg jsonString `json:"slg"`
		Rol jsonString `json:"rol"`
		Per jsonString `json:"per"`
		Fpm jsonString `json:"fpm"`
	}
	if err := unmarshalExact(c.O, &o); err != nil {
		return err
	}
	s.OrgID, s.orgSlug = o.ID.str(), o.Slg.str()
	if rol := o.Rol.str(); rol != "" {
		s.OrgRole = "org:" + rol
	}
	perms, err := decodeOrgPermissions(c.Fea.str(), o.Per.str(), o.Fpm.str())
	if err != nil {
		return err
	}
	s.OrgPermissions = perms
	return nil
}

// parseFVA reads the `fva` pair of factor ages in minutes, mapped as
// authFacts.FVA documents: non-negative ages round down, -1 stays, anything
// else becomes -2 so that has() rejects it as Clerk does.
func parseFVA(raw json.RawMessage) ([2]int, bool) {
	var ages []jsonNumber
	if len(raw) == 0 || json.Unmarshal(raw, &ages) != nil || len(ages) != 2 {
		return [2]int{}, false
	}
	var fva [2]int
	for i, a := range ages {
		switch {
		case !a.isNum:
			return [2]int{}, false
		case a.val == -1:
			fva[i] = -1
		case a.val >= 0:
			fva[i] = int(min(a.val, math.MaxInt32)) // never fresh, still valid
		default:
			fva[i] = -2
		}
	}
	return fva, true
}

// noSession stands in for the identity of a request that is not signed in.
var noSession = &session{}

// authResult is the outcome of authenticating one request.
type authResult struct {
	status    string
	reason    string
	tokenType string
	session   *session      // the verified session; also set for a pending one
	tokenSent bool          // a session token came in the header or a cookie
	response  *authResponse // cookies and redirects for the browser (handshake.go), nil for none
	extra     *authExtra    // machine token, user profile (machine.go), nil for plain sessions
}

// signedIn reports whether the request carries an active, verified session.
func (a *authResult) signedIn() bool { return a.status == statusSignedIn }

// requestIdentity is the per-request holder behind the {clerk.*}
// placeholders. It is registered with the replacer once per request and
// updated in place if clerk_auth runs again for the same request.
type requestIdentity struct {
	authResult
}

// identityFor returns the request's identity holder, creating and
// registering it on first use.
func identityFor(r *http.Request, repl *caddy.Replacer) *requestIdentity {
	if id, ok := caddyhttp.GetVar(r.Context(), identityVar).(*requestIdentity); ok {
		return id
	}
	id := new(requestIdentity)
	caddyhttp.SetVar(r.Context(), identityVar, id)
	repl.Map(id.placeholder)
	return id
}

// active returns the session when signed in, nil otherwise (pending
// sessions are signed out for identity, as in Clerk's toAuth()).
func (id *requestIdentity) active() *session {
	if id.signedIn() {
		return id.session
	}
	return nil
}

// placeholder resolves {clerk.*} and {http.auth.user.id}. Every documented
// name resolves, to "" when there is no value.
func (id *requestIdentity) placeholder(key string) (any, bool) {
	if key == "http.auth.user.id" {
		if s := id.active(); s != nil {
			return s.UserID, true
		}
		if m := id.activeMachine(); m != nil {
			return m.logUser(), true
		}
		return "", true
	}
	name, ok := strings.CutPrefix(key, "clerk.")
	if !ok {
		return nil, false
	}
	switch name {
	case "auth_status":
		return id.status, true
	case "auth_reason":
		return id.reason, true
	case "token_type":
		return id.tokenType, true
	case "session_status":
		if id.session != nil {
			return id.session.status, true
		}
		return "", true
	}
	if v, ok := id.backendPlaceholder(name); ok {
		return v, true
	}
	s := id.active()
	if s == nil {
		s = noSession
	}
	switch name {
	case "user_id":
		return s.UserID, true
	case "session_id":
		return s.sessionID, true
	case "org_id":
		return s.OrgID, true
	case "org_role":
		return s.OrgRole, true
	case "org_slug":
		return s.orgSlug, true
	case "org_permissions":
		return s.orgPermissionsCSV, true
	case "actor_id":
		return s.actorID, true
	case "azp":
		return s.azp, true
	case "features":
		return s.Features, true
	case "plans":
		return s.Plans, true
	}
	if path, ok := strings.CutPrefix(name, "claims."); ok {
		return claimAt(s.payload, path), true
	}
	return nil, false
}

// claimAt looks a dotted path up in the claims JSON: strings as they are,
// numbers as written, arrays comma-joined, objects as JSON, "" when absent.
func claimAt(payload []byte, path string) string {
	if len(payload) == 0 {
		return ""
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return ""
	}
	return renderPath(v, path)
}

// renderPath follows a dotted path through decoded JSON objects and renders
// what it finds with claimString; "" when a step is missing or not an object.
func renderPath(v any, path string) string {
	for _, part := range strings.Split(path, ".") {
		obj, ok := v.(map[string]any)
		if !ok {
			return ""
		}
		if v, ok = obj[part]; !ok {
			return ""
		}
	}
	return claimString(v, true)
}

// claimString renders a decoded JSON value for a placeholder.
func claimString(v any, top bool) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case json.Number:
		return v.String()
	case bool:
		return strconv.FormatBool(v)
	case []any:
		if !top {
			b, _ := json.Marshal(v)
			return string(b)
		}
		parts := make([]string, len(v))
		for i, e := range v {
			parts[i] = claimString(e, false)
		}
		return strings.Join(parts, ",")
	default:
		b, _ := json.Marshal(v)
		return string(b)
	}
}

// stripClerkHeaders removes every inbound header whose name starts with
// X-Clerk-, so that a client can never forge identity.
func stripClerkHeaders(h http.Header) {
	for name := range h {
		if len(name) >= len("X-Clerk-") && strings.EqualFold(name[:len("X-Clerk-")], "X-Clerk-") {
			delete(h, name)
		}
	}
}

// setIdentityHeaders adds the identity of a signed-in request for the
// upstream; empty values, and values that are not valid in a header, are left
// out. The header values share one backing array, one allocation per request
// (never shared between requests, as later handlers may edit them in place).
func setIdentityHeaders(h http.Header, s *session) {
	fields := [...]struct{ name, val string }{
		{"X-Clerk-User-Id", s.UserID},
		{"X-Clerk-Session-Id", s.sessionID},
		{"X-Clerk-Org-Id", s.OrgID},
		{"X-Clerk-Org-Role", s.OrgRole},
		{"X-Clerk-Org-Slug", s.orgSlug},
		{"X-Clerk-Org-Permissions", s.orgPermissionsCSV},
	}
	vals := make([]string, len(fields))
	for i, f := range fields {
		if f.val != "" && httpguts.ValidHeaderFieldValue(f.val) {
			vals[i] = f.val
			h[f.name] = vals[i : i+1 : i+1]
		}
	}
}

// logIdentity adds the session, organization and reason to the access log.
func logIdentity(r *http.Request, a *authResult) {
	extra, ok := r.Context().Value(caddyhttp.ExtraLogFieldsCtxKey).(*caddyhttp.ExtraLogFields)
	if !ok {
		return
	}
	if s := a.session; s != nil && a.signedIn() {
		extra.Set(zap.String("clerk_session_id", s.sessionID))
		if s.OrgID != "" {
			extra.Set(zap.String("clerk_org_id", s.OrgID))
		}
	}
	if a.reason != "" {
		extra.Set(zap.String("clerk_auth_reason", a.reason))
	}
}
