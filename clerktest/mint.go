package clerktest

import (
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// SessionCategory is the cat header of Clerk session tokens. The other
// categories Clerk's SDK knows are CategoryJWTTemplate, CategoryM2M and
// CategoryIgnore.
const SessionCategory = "cl_B7d4PD111AAA"

// Token categories (header cat) other than SessionCategory.
const (
	// CategoryJWTTemplate marks tokens from JWT templates.
	CategoryJWTTemplate = "cl_B7d4PD222AAA"
	// CategoryM2M marks machine-to-machine tokens.
	CategoryM2M = "cl_B7d4PD333AAA"
	// CategoryIgnore is a category Clerk's SDK accepts like a session.
	CategoryIgnore = "cl_I7d4PD111III"
)

// Session describes a session token to mint. Zero values get Clerk-like
// defaults.
type Session struct {
	// UserID is the sub claim; default "user_" + 27 random base62
	// characters.
	UserID string
	// SessionID is the sid claim; default "sess_" + 27 random base62
	// characters.
	SessionID string
	// Status is the sts claim: "active" (the default) or "pending"; "-"
	// omits the claim.
	Status string
	// Version selects the claim layout. 0 and 2 mint v2 claims (v:2, fea,
	// pla, and o{id,slg,rol,per,fpm} for an active organization). 1 mints
	// v1 claims (no v; org_id, org_slug, org_role, org_permissions). Any
	// other value mints v2-shaped claims with v set to that number.
	Version int
	// Org is the active organization, nil for none.
	Org *Org
	// UserFeatures are user-scoped features, each minted into fea with
	// the "u:" scope ("premium" becomes "u:premium").
	UserFeatures []string
	// Plans is the raw pla claim, for example "u:pro,o:team"; empty omits
	// it.
	Plans string
	// Actor is act.sub (impersonation); empty for none.
	Actor string
	// FVA is the fva claim: [first factor age, second factor age] in
	// minutes, -1 for a factor that is not enabled; nil omits it.
	FVA *[2]int
	// AuthorizedParty is the azp claim; default DefaultAuthorizedParty
	// ("https://app.example.test"); "-" omits the claim.
	AuthorizedParty string
	// IssuedAt (iat), NotBefore (nbf) and Expiry (exp) default to now, now
	// and now + the instance's TokenLifetime, each independently. They are
	// minted as whole Unix seconds.
	IssuedAt, NotBefore, Expiry time.Time
	// Claims are extra claims merged last, overriding anything above; a
	// nil value deletes the claim.
	Claims map[string]any
	// Header holds header overrides merged over
	// {"alg":"RS256","kid":<key id>,"typ":"JWT","cat":"cl_B7d4PD111AAA"};
	// a nil value deletes the entry. "alg" decides how the token is signed
	// (see Instance.Sign).
	Header map[string]any
}

// Org is the active organization of a Session.
type Org struct {
	// ID is o.id (v2) or org_id (v1); default "org_" + 27 random base62
	// characters.
	ID string
	// Slug is o.slg (v2) or org_slug (v1); empty omits it.
	Slug string
	// Role is the role without the "org:" prefix (a leading "org:" is
	// stripped): v2 mints o.rol = Role, v1 mints org_role = "org:" + Role.
	// Empty omits it.
	Role string
	// Permissions are full permission keys such as "org:invoices:read".
	// v2 encodes them into fea ("o:invoices"), o.per and o.fpm exactly as
	// Clerk does (see EncodeOrgPermissions); v1 puts them verbatim into
	// org_permissions.
	Permissions []string
	// Features are extra organization features without permissions,
	// minted into fea as "o:<name>" (v2 and v1).
	Features []string
}

// Mint returns a compact JWS session token for s, signed with the current
// key (RS256 unless s.Header says otherwise). It never panics.
func (i *Instance) Mint(s Session) string {
	kid := i.KeyID()
	claims := i.SessionClaims(s)
	i.noteSession(claims) // the Backend API now knows the session (users.go)
	return i.Sign(sessionHeader(kid, s.Header), claims)
}

// MintWithKey is Mint signed with a foreign key, for forged tokens: the
// header's kid is kid (omitted when kid is empty) unless s.Header overrides
// it. A nil key yields a token with an empty signature. HS256/HS384/HS512
// in s.Header are keyed with key's public key PEM.
func (i *Instance) MintWithKey(key *rsa.PrivateKey, kid string, s Session) string {
	var pub *rsa.PublicKey
	if key != nil {
		pub = &key.PublicKey
	}
	return signJWS(sessionHeader(kid, s.Header), i.SessionClaims(s), key, publicKeyPEM(pub))
}

func sessionHeader(kid string, overrides map[string]any) map[string]any {
	h := map[string]any{"alg": "RS256", "typ": "JWT", "cat": SessionCategory}
	if kid != "" {
		h["kid"] = kid
	}
	return merge(h, overrides)
}

// merge copies src over dst, deleting keys whose value is nil.
func merge(dst, src map[string]any) map[string]any {
	for k, v := range src {
		if v == nil {
			delete(dst, k)
		} else {
			dst[k] = v
		}
	}
	return dst
}

// SessionClaims returns the claims Mint would sign for s (with fresh random
// ids where s leaves them empty), as a map ready for Sign.
func (i *Instance) SessionClaims(s Session) map[string]any {
	now := time.Now()
	c := map[string]any{"iss": i.Issuer()}

	c["sub"] = orDefault(s.UserID, func() string { return NewID("user_") })
	c["sid"] = orDefault(s.SessionID, func() string { return NewID("sess_") })
	switch s.Status {
	case "-":
	case "":
		c["sts"] = "active"
	default:
		c["sts"] = s.Status
	}
	switch s.AuthorizedParty {
	case "-":
	case "":
		c["azp"] = DefaultAuthorizedParty
	default:
		c["azp"] = s.AuthorizedParty
	}
	c["iat"] = unixOr(s.IssuedAt, now)
	c["nbf"] = unixOr(s.NotBefore, now)
	c["exp"] = unixOr(s.Expiry, now.Add(i.opts.TokenLifetime))
	if s.Actor != "" {
		c["act"] = map[string]any{"sub": s.Actor}
	}
	if s.FVA != nil {
		c["fva"] = []int{s.FVA[0], s.FVA[1]}
	}
	if s.Plans != "" {
		c["pla"] = s.Plans
	}

	if s.Version == 1 {
		addV1Claims(c, s)
	} else {
		addV2Claims(c, s)
	}
	return merge(c, s.Claims)
}

func addV1Claims(c map[string]any, s Session) {
	var orgFeatures []string
	if o := s.Org; o != nil {
		c["org_id"] = orDefault(o.ID, func() string { return NewID("org_") })
		if o.Slug != "" {
			c["org_slug"] = o.Slug
		}
		if role := strings.TrimPrefix(o.Role, "org:"); role != "" {
			c["org_role"] = "org:" + role
		}
		perms := make([]string, len(o.Permissions))
		copy(perms, o.Permissions)
		c["org_permissions"] = perms
		for _, f := range o.Features {
			if f != "" {
				orgFeatures = append(orgFeatures, f)
			}
		}
	}
	if fea := feaClaim(orgFeatures, s.UserFeatures); fea != "" {
		c["fea"] = fea
	}
}

func addV2Claims(c map[string]any, s Session) {
	v := s.Version
	if v == 0 {
		v = 2
	}
	c["v"] = v
	var orgFeatures []string
	if o := s.Org; o != nil {
		var per, fpm string
		orgFeatures, per, fpm = EncodeOrgPermissions(o.Permissions, o.Features)
		oc := map[string]any{"id": orDefault(o.ID, func() string { return NewID("org_") })}
		if o.Slug != "" {
			oc["slg"] = o.Slug
		}
		if role := strings.TrimPrefix(o.Role, "org:"); role != "" {
			oc["rol"] = role
		}
		if per != "" {
			oc["per"] = per
			oc["fpm"] = fpm
		}
		c["o"] = oc
	}
	if fea := feaClaim(orgFeatures, s.UserFeatures); fea != "" {
		c["fea"] = fea
	}
}

func orDefault(v string, def func() string) string {
	if v != "" {
		return v
	}
	return def()
}

func unixOr(t, def time.Time) int64 {
	if t.IsZero() {
		t = def
	}
	return t.Unix()
}

// SessionCookies returns the cookies a browser signed in with token would
// send: __session=<token> and __client_uat=<iat of token in decimal
// seconds>, both unsuffixed and with Path "/". If token has no numeric iat
// claim, __client_uat is the current time.
func (i *Instance) SessionCookies(token string) []*http.Cookie {
	uat, ok := tokenIAT(token)
	if !ok {
		uat = time.Now().Unix()
	}
	return []*http.Cookie{
		{Name: "__session", Value: token, Path: "/"},
		{Name: "__client_uat", Value: strconv.FormatInt(uat, 10), Path: "/"},
	}
}

// tokenIAT reads the iat claim of a compact JWS without verifying it.
func tokenIAT(token string) (int64, bool) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return 0, false
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return 0, false
	}
	var claims struct {
		IAT *float64 `json:"iat"`
	}
	if json.Unmarshal(payload, &claims) != nil || claims.IAT == nil ||
		math.IsNaN(*claims.IAT) || math.IsInf(*claims.IAT, 0) {
		return 0, false
	}
	return int64(*claims.IAT), true
}
