package caddyclerk

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/caddy-clerk/caddy-clerk/clerktest"
)

// unitSessionOf parses raw and builds its session, which must succeed.
func unitSessionOf(t *testing.T, raw string) *session {
	t.Helper()
	s, err := newSession(unitParse(t, raw))
	if err != nil {
		t.Fatalf("newSession() error = %v", err)
	}
	return s
}

func TestNewSessionV1(t *testing.T) {
	clerk := clerktest.Start(t, clerktest.Options{})
	fva := [2]int{5, -1}
	sess := unitBaseSession()
	sess.Version = 1
	sess.Org = &clerktest.Org{ID: "org_1", Slug: "acme", Role: "admin",
		Permissions: []string{"org:sys_memberships:manage", "org:invoices:read"}}
	sess.UserFeatures = []string{"premium"}
	sess.Plans = "u:pro,o:team"
	sess.Actor = "user_admin"
	sess.FVA = &fva
	raw := clerk.Mint(sess)
	s := unitSessionOf(t, raw)

	want := authFacts{
		UserID:         "user_1",
		OrgID:          "org_1",
		OrgRole:        "org:admin",
		OrgPermissions: []string{"org:sys_memberships:manage", "org:invoices:read"},
		Features:       "u:premium",
		Plans:          "u:pro,o:team",
		FVA:            [2]int{5, -1},
		HasFVA:         true,
	}
	unitCheckFacts(t, s.authFacts, want)
	if s.sessionID != "sess_1" || s.status != "active" || s.azp != clerktest.DefaultAuthorizedParty ||
		s.actorID != "user_admin" || s.orgSlug != "acme" ||
		s.orgPermissionsCSV != "org:sys_memberships:manage,org:invoices:read" {
		t.Errorf("session = %+v", s)
	}
	if string(s.payload) != string(unitParse(t, raw).payload) {
		t.Errorf("payload not kept")
	}
	// v1 permissions are used verbatim by has().
	if !has(&s.authFacts, authCheck{Permission: "org:sys_memberships:manage"}) {
		t.Errorf("has(v1 permission) = false")
	}
}

// unitCheckFacts compares two authFacts field by field.
func unitCheckFacts(t *testing.T, got, want authFacts) {
	t.Helper()
	if got.UserID != want.UserID || got.OrgID != want.OrgID || got.OrgRole != want.OrgRole ||
		!slices.Equal(got.OrgPermissions, want.OrgPermissions) || got.Features != want.Features ||
		got.Plans != want.Plans || got.FVA != want.FVA || got.HasFVA != want.HasFVA {
		t.Errorf("authFacts = %+v\nwant %+v", got, want)
	}
}

func TestNewSessionClaims(t *testing.T) {
	clerk := clerktest.Start(t, clerktest.Options{})
	worked := map[string]any{
		"v":   2,
		"fea": "o:invoices,o:reports,u:premium",
		"pla": "u:pro,o:team",
		"o":   map[string]any{"id": "org_1", "slg": "acme", "rol": "admin", "per": "read,manage", "fpm": "3,1"},
	}
	with := func(extra map[string]any) map[string]any {
		m := map[string]any{}
		for k, v := range worked {
			m[k] = v
		}
		return unitMerge(m, extra)
	}
	for _, tc := range []struct {
		name     string
		claims   map[string]any
		want     authFacts // UserID is always user_1
		wantSlug string
		wantErr  bool
	}{
		{name: "v2 worked example", claims: worked, wantSlug: "acme", want: authFacts{
			OrgID: "org_1", OrgRole: "org:admin",
			OrgPermissions: []string{"org:invoices:read", "org:invoices:manage", "org:reports:read"},
			Features:       "o:invoices,o:reports,u:premium", Plans: "u:pro,o:team",
		}},
		{name: "v2 as 2.0", claims: with(map[string]any{"v": 2.0}), wantSlug: "acme", want: authFacts{
			OrgID: "org_1", OrgRole: "org:admin",
			OrgPermissions: []string{"org:invoices:read", "org:invoices:manage", "org:reports:read"},
			Features:       "o:invoices,o:reports,u:premium", Plans: "u:pro,o:team",
		}},
		{name: "v2 per and fpm at top level are not Clerk's", claims: with(map[string]any{
			"o": map[string]any{"id": "org_1", "rol": "admin"}, "per": "read,manage", "fpm": "3,1",
		}), want: authFacts{
			OrgID: "org_1", OrgRole: "org:admin", OrgPermissions: []string{},
			Features: "o:invoices,o:reports,u:premium", Plans: "u:pro,o:team",
		}},
		{name: "v2 section c second example", claims: with(map[string]any{
			"fea": "o:a,u:b,o:c", "o": map[string]any{"id": "org_1", "per": "x,y,z", "fpm": "5,2"},
		}), want: authFacts{
			OrgID: "org_1", OrgPermissions: []string{"org:a:x", "org:a:z", "org:c:y"},
			Features: "o:a,u:b,o:c", Plans: "u:pro,o:team",
		}},
		{name: "v2 without o ignores v1 org claims", claims: with(map[string]any{
			"o": nil, "org_id": "org_v1", "org_role": "org:admin", "org_permissions": []string{"org:x:y"},
		}), want: authFacts{Features: "o:invoices,o:reports,u:premium", Plans: "u:pro,o:team"}},
		{name: "v2 without o and a malformed fea", claims: with(map[string]any{"o": nil, "fea": "premium"}),
			want: authFacts{Features: "premium", Plans: "u:pro,o:team"}},
		{name: "v2 with o and a malformed fea", claims: with(map[string]any{"fea": "o:invoices,premium"}), wantErr: true},
		{name: "v2 with o, malformed fea, no per", claims: with(map[string]any{
			"fea": "premium", "o": map[string]any{"id": "org_1"},
		}), wantErr: true},
		{name: "v2 o without rol", claims: with(map[string]any{"o": map[string]any{"id": "org_1", "rol": ""}}),
			want: authFacts{OrgID: "org_1", OrgPermissions: []string{}, Features: "o:invoices,o:reports,u:premium", Plans: "u:pro,o:team"}},
		{name: "v2 o not an object", claims: with(map[string]any{"o": "org_1"}),
			want: authFacts{Features: "o:invoices,o:reports,u:premium", Plans: "u:pro,o:team"}},
		{name: "v as string 2 is v1", claims: with(map[string]any{
			"v": "2", "org_id": "org_v1", "org_role": "org:member", "org_slug": "v1slug", "org_permissions": []string{"org:x:y"},
		}), wantSlug: "v1slug", want: authFacts{
			OrgID: "org_v1", OrgRole: "org:member", OrgPermissions: []string{"org:x:y"},
			Features: "o:invoices,o:reports,u:premium", Plans: "u:pro,o:team",
		}},
		{name: "v 3 is v1", claims: with(map[string]any{"v": 3, "org_id": "org_v1"}), want: authFacts{
			OrgID: "org_v1", Features: "o:invoices,o:reports,u:premium", Plans: "u:pro,o:team",
		}},
		{name: "v1 role verbatim", claims: map[string]any{"v": nil, "org_id": "org_1", "org_role": "admin"},
			want: authFacts{OrgID: "org_1", OrgRole: "admin"}},
		{name: "v1 non-string permissions skipped", claims: map[string]any{
			"v": nil, "org_id": "org_1", "org_permissions": []any{"org:a:b", 5, nil, "org:c:d", []string{"x"}},
		}, want: authFacts{OrgID: "org_1", OrgPermissions: []string{"org:a:b", "org:c:d"}}},
		{name: "v1 permissions not an array", claims: map[string]any{"v": nil, "org_id": "org_1", "org_permissions": "org:a:b"},
			want: authFacts{OrgID: "org_1"}},
		{name: "wrongly typed org claims", claims: map[string]any{"v": nil, "org_id": 1, "org_role": true, "fea": 5, "pla": []string{"x"}},
			want: authFacts{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			claims := map[string]any{"v": nil} // v1 unless the case says otherwise
			for k, v := range tc.claims {
				claims[k] = v
			}
			tok := unitParse(t, unitToken(t, clerk, nil, claims))
			s, err := newSession(tok)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("newSession() = %+v, want an error", s)
				}
				return
			}
			if err != nil {
				t.Fatalf("newSession() error = %v", err)
			}
			tc.want.UserID = "user_1"
			unitCheckFacts(t, s.authFacts, tc.want)
			if s.orgSlug != tc.wantSlug {
				t.Errorf("orgSlug = %q, want %q", s.orgSlug, tc.wantSlug)
			}
		})
	}
}

func TestNewSessionV2FromClerktest(t *testing.T) {
	// clerktest encodes permissions into fea/o.per/o.fpm as Clerk does; the
	// decoded set must be the minted one.
	clerk := clerktest.Start(t, clerktest.Options{})
	perms := []string{"org:invoices:read", "org:invoices:manage", "org:reports:read", "org:sys_profile:manage"}
	sess := unitBaseSession()
	sess.Org = &clerktest.Org{ID: "org_9", Slug: "acme", Role: "org:admin", Permissions: perms, Features: []string{"sso"}}
	sess.UserFeatures = []string{"premium"}
	s := unitSessionOf(t, clerk.Mint(sess))
	got := slices.Clone(s.OrgPermissions)
	slices.Sort(got)
	want := slices.Clone(perms)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("OrgPermissions = %q, want %q", s.OrgPermissions, perms)
	}
	if s.OrgID != "org_9" || s.OrgRole != "org:admin" || s.orgSlug != "acme" {
		t.Errorf("org = %q %q %q", s.OrgID, s.OrgRole, s.orgSlug)
	}
	for _, c := range []authCheck{{Role: "admin"}, {Permission: "invoices:manage"}, {Feature: "premium"}, {Feature: "o:sso"}} {
		if !has(&s.authFacts, c) {
			t.Errorf("has(%+v) = false", c)
		}
	}
}

func TestNewSessionActor(t *testing.T) {
	clerk := clerktest.Start(t, clerktest.Options{})
	for _, tc := range []struct {
		name string
		act  any
		want string
	}{
		{"absent", nil, ""},
		{"sub", map[string]any{"sub": "user_admin"}, "user_admin"},
		{"agent", map[string]any{"sub": "user_admin", "type": "agent"}, "user_admin"},
		{"sub not a string", map[string]any{"sub": 5}, ""},
		{"not an object", "user_admin", ""},
		{"null", unitNull, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := unitSessionOf(t, unitToken(t, clerk, nil, map[string]any{"act": tc.act}))
			if s.actorID != tc.want {
				t.Errorf("actorID = %q, want %q", s.actorID, tc.want)
			}
		})
	}
}

func TestParseFVA(t *testing.T) {
	for _, tc := range []struct {
		json string
		want [2]int
		ok   bool
	}{
		{`[5,-1]`, [2]int{5, -1}, true},
		{`[0,0]`, [2]int{0, 0}, true},
		{`[-1,-1]`, [2]int{-1, -1}, true},
		{`[-1,3]`, [2]int{-1, 3}, true},
		{`[1.7,2.2]`, [2]int{1, 2}, true},
		{`[9.999,10.5]`, [2]int{9, 10}, true},
		{`[-1.0,0]`, [2]int{-1, 0}, true},
		{`[-2,5]`, [2]int{-2, 5}, true},
		{`[-1.5,0]`, [2]int{-2, 0}, true},
		{`[-0.5,0]`, [2]int{-2, 0}, true},
		{`[]`, [2]int{}, false},
		{`[5]`, [2]int{}, false},
		{`[1,2,3]`, [2]int{}, false},
		{`["5",1]`, [2]int{}, false},
		{`[null,1]`, [2]int{}, false},
		{`[true,1]`, [2]int{}, false},
		{`null`, [2]int{}, false},
		{`"5,1"`, [2]int{}, false},
		{`{"0":5,"1":1}`, [2]int{}, false},
		{``, [2]int{}, false},
	} {
		got, ok := parseFVA(json.RawMessage(tc.json))
		if ok != tc.ok || got != tc.want {
			t.Errorf("parseFVA(%s) = %v, %v; want %v, %v", tc.json, got, ok, tc.want, tc.ok)
		}
	}
}

func TestParseFVAHugeAgeIsValid(t *testing.T) {
	// Clerk validates each age as -1 or >= 0; a huge age is valid and simply
	// never fresh. strict (second_factor, 10 minutes) then decides on the
	// fresh second factor alone and passes.
	fva, ok := parseFVA(json.RawMessage(`[3000000000,0]`))
	if !ok {
		t.Fatalf("parseFVA() not ok")
	}
	f := &authFacts{UserID: "user_1", FVA: fva, HasFVA: true}
	if !has(f, authCheck{Reverification: "strict"}) {
		t.Errorf("parseFVA([3000000000,0]) = %v: has(strict) = false, want true as in Clerk (first age is >= 0, second is fresh)", fva)
	}
	if has(f, authCheck{Reverification: "strict_mfa"}) {
		t.Errorf("has(strict_mfa) = true with a stale first factor")
	}
}

// unitIdentity is a requestIdentity holding res.
func unitIdentity(res authResult) *requestIdentity {
	return &requestIdentity{authResult: res}
}

func TestRequestIdentityPlaceholder(t *testing.T) {
	clerk := clerktest.Start(t, clerktest.Options{})
	fva := [2]int{5, -1}
	sess := unitBaseSession()
	sess.Org = &clerktest.Org{ID: "org_1", Slug: "acme", Role: "admin", Permissions: []string{"org:invoices:read"}}
	sess.UserFeatures = []string{"premium"}
	sess.Plans = "u:pro"
	sess.Actor = "user_admin"
	sess.FVA = &fva
	sess.Claims = map[string]any{"public_metadata": map[string]any{"tier": "gold"}}
	s := unitSessionOf(t, clerk.Mint(sess))

	pending := unitBaseSession()
	pending.Status = "pending"
	pendingSession := unitSessionOf(t, clerk.Mint(pending))

	signedIn := unitIdentity(authResult{status: statusSignedIn, tokenType: tokenTypeSession, session: s, tokenSent: true})
	signedOutID := unitIdentity(signedOut(reasonTokenExpired, true))
	pendingID := unitIdentity(authResult{status: statusSignedOut, reason: reasonSessionPending, tokenType: tokenTypeSession, session: pendingSession, tokenSent: true})
	zero := &requestIdentity{}

	names := []string{
		"clerk.auth_status", "clerk.auth_reason", "clerk.token_type",
		"clerk.user_id", "clerk.session_id", "clerk.session_status",
		"clerk.org_id", "clerk.org_role", "clerk.org_slug", "clerk.org_permissions",
		"clerk.actor_id", "clerk.azp", "clerk.features", "clerk.plans",
		"clerk.claims.sub", "clerk.claims.public_metadata.tier", "http.auth.user.id",
	}
	for _, tc := range []struct {
		name string
		id   *requestIdentity
		want map[string]string // names not listed must be ""
	}{
		{"signed in", signedIn, map[string]string{
			"clerk.auth_status": "signed-in", "clerk.token_type": "session_token",
			"clerk.user_id": "user_1", "clerk.session_id": "sess_1", "clerk.session_status": "active",
			"clerk.org_id": "org_1", "clerk.org_role": "org:admin", "clerk.org_slug": "acme",
			"clerk.org_permissions": "org:invoices:read", "clerk.actor_id": "user_admin",
			"clerk.azp": clerktest.DefaultAuthorizedParty, "clerk.features": "o:invoices,u:premium",
			"clerk.plans": "u:pro", "clerk.claims.sub": "user_1", "clerk.claims.public_metadata.tier": "gold",
			"http.auth.user.id": "user_1",
		}},
		{"signed out", signedOutID, map[string]string{
			"clerk.auth_status": "signed-out", "clerk.auth_reason": reasonTokenExpired,
		}},
		{"pending", pendingID, map[string]string{
			"clerk.auth_status": "signed-out", "clerk.auth_reason": reasonSessionPending,
			"clerk.token_type": "session_token", "clerk.session_status": "pending",
		}},
		{"before authentication", zero, map[string]string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, name := range names {
				v, ok := tc.id.placeholder(name)
				if !ok {
					t.Errorf("placeholder(%q) not known", name)
					continue
				}
				str, isStr := v.(string)
				if !isStr || str != tc.want[name] {
					t.Errorf("placeholder(%q) = %#v, want %q", name, v, tc.want[name])
				}
			}
		})
	}

	for _, name := range []string{"clerk.x", "clerk.", "clerk.claims", "clerk.USER_ID", "clerk", "http.auth.user.email", "user_id", ""} {
		if v, ok := signedIn.placeholder(name); ok {
			t.Errorf("placeholder(%q) = %#v, true; want not handled", name, v)
		}
	}
}

func TestIdentityForRegistersOnce(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r = r.WithContext(context.WithValue(r.Context(), caddyhttp.VarsCtxKey, map[string]any{}))
	repl := caddy.NewReplacer()
	id := identityFor(r, repl)
	if again := identityFor(r, repl); again != id {
		t.Fatalf("identityFor() returned a new holder on the second call")
	}
	for _, name := range []string{"clerk.user_id", "clerk.auth_status", "http.auth.user.id"} {
		if v, ok := repl.Get(name); !ok || v != "" {
			t.Errorf("placeholder %s before authentication = %#v, %v; want known and empty", name, v, ok)
		}
	}
	id.authResult = signedOut(reasonSessionTokenAndUATMissing, false)
	if got := repl.ReplaceAll("{clerk.auth_status} {clerk.auth_reason}", "?"); got != "signed-out session-token-and-uat-missing" {
		t.Errorf("placeholders after an update = %q", got)
	}
}

func TestClaimAt(t *testing.T) {
	payload := []byte(`{
		"sub": "user_1",
		"iat": 1700000000,
		"f": 1.50,
		"e": 1e400,
		"neg": -3,
		"t": true,
		"fl": false,
		"n": null,
		"empty": "",
		"arr": ["a", "b", 3, true, null],
		"emptyarr": [],
		"objs": [{"a": 1}, {"b": [1, 2]}],
		"nested": [["a", "b"], "c"],
		"o": {"id": "org_1", "meta": {"x": "y", "n": 10}},
		"emptyobj": {},
		"a.b": "dotted"
	}`)
	for _, tc := range []struct{ path, want string }{
		{"sub", "user_1"},
		{"iat", "1700000000"},
		{"f", "1.50"},
		{"e", "1e400"},
		{"neg", "-3"},
		{"t", "true"},
		{"fl", "false"},
		{"n", ""},
		{"empty", ""},
		{"arr", "a,b,3,true,"},
		{"emptyarr", ""},
		{"objs", `{"a":1},{"b":[1,2]}`},
		{"nested", `["a","b"],c`},
		{"o.id", "org_1"},
		{"o.meta.x", "y"},
		{"o.meta.n", "10"},
		{"o.meta", `{"n":10,"x":"y"}`},
		{"o", `{"id":"org_1","meta":{"n":10,"x":"y"}}`},
		{"emptyobj", "{}"},
		{"missing", ""},
		{"o.missing", ""},
		{"o.id.deeper", ""},
		{"sub.x", ""},
		{"arr.0", ""},
		{"a.b", ""},
		{"", ""},
		{"SUB", ""},
	} {
		if got := claimAt(payload, tc.path); got != tc.want {
			t.Errorf("claimAt(%q) = %q, want %q", tc.path, got, tc.want)
		}
	}
	for _, p := range [][]byte{nil, []byte(`not json`), []byte(`[1]`)} {
		if got := claimAt(p, "sub"); got != "" {
			t.Errorf("claimAt(%q, sub) = %q, want empty", p, got)
		}
	}
}

func TestStripClerkHeaders(t *testing.T) {
	h := http.Header{
		"X-Clerk-User-Id":     {"forged"},
		"X-Clerk-Org-Role":    {"org:admin", "org:admin"},
		"x-clerk-org-id":      {"forged"},
		"X-CLERK-ANYTHING":    {"forged"},
		"X-Clerk-":            {"forged"},
		"X-Clerk-Auth-Status": {"signed-in"},
		"X-Clerk":             {"kept"},
		"X-Clerkish":          {"kept"},
		"X-Other-Clerk-Id":    {"kept"},
		"Clerk-User-Id":       {"kept"},
		"Authorization":       {"Bearer x"},
		"Cookie":              {"__session=x"},
	}
	stripClerkHeaders(h)
	want := []string{"Authorization", "Clerk-User-Id", "Cookie", "X-Clerk", "X-Clerkish", "X-Other-Clerk-Id"}
	var got []string
	for name := range h {
		got = append(got, name)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("headers left = %q, want %q", got, want)
	}
}

func TestSetIdentityHeaders(t *testing.T) {
	full := &session{
		authFacts:         authFacts{UserID: "user_1", OrgID: "org_1", OrgRole: "org:admin"},
		sessionID:         "sess_1",
		orgSlug:           "acme",
		orgPermissionsCSV: "org:a:b,org:c:d",
	}
	for _, tc := range []struct {
		name string
		s    *session
		want map[string]string
	}{
		{"all set", full, map[string]string{
			"X-Clerk-User-Id": "user_1", "X-Clerk-Session-Id": "sess_1", "X-Clerk-Org-Id": "org_1",
			"X-Clerk-Org-Role": "org:admin", "X-Clerk-Org-Slug": "acme", "X-Clerk-Org-Permissions": "org:a:b,org:c:d",
		}},
		{"no organization", &session{authFacts: authFacts{UserID: "user_1"}, sessionID: "sess_1"}, map[string]string{
			"X-Clerk-User-Id": "user_1", "X-Clerk-Session-Id": "sess_1",
		}},
		{"empty session", &session{}, map[string]string{}},
		{"CRLF and control characters skipped", &session{
			authFacts: authFacts{UserID: "user_1", OrgID: "org_1\r\nX-Injected: 1", OrgRole: "org:a\x00"},
			orgSlug:   "acme\n", sessionID: "sess\t1",
		}, map[string]string{"X-Clerk-User-Id": "user_1", "X-Clerk-Session-Id": "sess\t1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{"X-Other": {"kept"}, "X-Clerk-User-Id": {"old"}}
			setIdentityHeaders(h, tc.s)
			if _, ok := tc.want["X-Clerk-User-Id"]; !ok {
				tc.want["X-Clerk-User-Id"] = "old"
			}
			tc.want["X-Other"] = "kept"
			if len(h) != len(tc.want) {
				t.Errorf("headers = %v, want %v", h, tc.want)
			}
			for name, v := range tc.want {
				if got := h.Values(name); len(got) != 1 || got[0] != v {
					t.Errorf("%s = %q, want [%q]", name, got, v)
				}
			}
		})
	}
}
