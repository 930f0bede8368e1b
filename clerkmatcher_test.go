package caddyclerk

import (
	"context"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

func TestParseCondition(t *testing.T) {
	tests := []struct {
		args    []string
		matcher bool
		want    ClerkCondition
		wantErr string
	}{
		{[]string{"role", "org:admin"}, false, ClerkCondition{Role: "org:admin"}, ""},
		{[]string{"permission", "org:a:b"}, false, ClerkCondition{Permission: "org:a:b"}, ""},
		{[]string{"feature", "o:reports"}, false, ClerkCondition{Feature: "o:reports"}, ""},
		{[]string{"plan", "pro"}, false, ClerkCondition{Plan: "pro"}, ""},
		{[]string{"reverification", "strict_mfa"}, false, ClerkCondition{Reverification: "strict_mfa"}, ""},
		{[]string{"signed_in"}, true, ClerkCondition{SignedIn: true}, ""},
		{[]string{"org", "acme"}, true, ClerkCondition{Org: "acme"}, ""},
		{[]string{"token_type", "m2m_token"}, true, ClerkCondition{TokenType: "m2m_token"}, ""},
		{nil, true, ClerkCondition{}, "missing dimension"},
		{[]string{"signed_in"}, false, ClerkCondition{}, "unknown dimension 'signed_in'"},
		{[]string{"org", "acme"}, false, ClerkCondition{}, "unknown dimension 'org'"},
		{[]string{"signed_in", "yes"}, true, ClerkCondition{}, "signed_in takes no value"},
		{[]string{"role"}, true, ClerkCondition{}, "want 'role <value>', got 0 value(s)"},
		{[]string{"role", "a", "b"}, true, ClerkCondition{}, "got 2 value(s)"},
		{[]string{"Role", "admin"}, true, ClerkCondition{}, "unknown dimension 'Role'"},
		{[]string{"reverification", "sometimes"}, false, ClerkCondition{}, "unknown reverification preset"},
		{[]string{"token_type", "jwt"}, true, ClerkCondition{}, "unknown token_type 'jwt'"},
		{[]string{"role", ""}, true, ClerkCondition{}, "empty condition"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			got, err := parseCondition(tc.args, tc.matcher)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tc.want)
			}
			if s := got.String(); s != strings.Join(tc.args, " ") {
				t.Errorf("String() = %q, want the line back", s)
			}
		})
	}
}

func TestConditionValidateJSON(t *testing.T) {
	for name, tc := range map[string]struct {
		c       ClerkCondition
		matcher bool
		wantErr string
	}{
		"two fields":              {ClerkCondition{Role: "a", Plan: "b"}, true, "exactly one"},
		"signed_in and a role":    {ClerkCondition{SignedIn: true, Role: "a"}, true, "exactly one"},
		"empty":                   {ClerkCondition{}, false, "empty condition"},
		"matcher form in require": {ClerkCondition{Org: "acme"}, false, "is a matcher condition"},
	} {
		t.Run(name, func(t *testing.T) {
			if err := tc.c.validate(tc.matcher); err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

// identityOf builds the request identity clerk_auth would have set.
func identityOf(status string, s *session, tokenType string) *requestIdentity {
	return &requestIdentity{authResult{status: status, session: s, tokenType: tokenType}}
}

func TestConditionHolds(t *testing.T) {
	admin := &session{
		authFacts: authFacts{UserID: "user_1", OrgID: "org_1", OrgRole: "org:admin",
			OrgPermissions: []string{"org:invoices:read"}, Features: "u:premium", Plans: "o:team",
			FVA: [2]int{5, -1}, HasFVA: true},
		orgSlug: "acme",
	}
	signedIn := identityOf(statusSignedIn, admin, tokenTypeSession)
	pending := identityOf(statusSignedOut, admin, tokenTypeSession)
	tests := []struct {
		name string
		c    ClerkCondition
		id   *requestIdentity
		want bool
	}{
		{"role, prefix optional", ClerkCondition{Role: "admin"}, signedIn, true},
		{"other role", ClerkCondition{Role: "org:member"}, signedIn, false},
		{"permission", ClerkCondition{Permission: "invoices:read"}, signedIn, true},
		{"feature", ClerkCondition{Feature: "premium"}, signedIn, true},
		{"plan scoped", ClerkCondition{Plan: "org:team"}, signedIn, true},
		{"plan wrong scope", ClerkCondition{Plan: "user:team"}, signedIn, false},
		{"reverification", ClerkCondition{Reverification: "strict"}, signedIn, true},
		{"signed_in", ClerkCondition{SignedIn: true}, signedIn, true},
		{"org by slug", ClerkCondition{Org: "acme"}, signedIn, true},
		{"org by id", ClerkCondition{Org: "org_1"}, signedIn, true},
		{"other org", ClerkCondition{Org: "globex"}, signedIn, false},
		{"token type", ClerkCondition{TokenType: "session_token"}, signedIn, true},
		{"other token type", ClerkCondition{TokenType: "api_key"}, signedIn, false},
		{"pending never holds", ClerkCondition{SignedIn: true}, pending, false},
		{"pending role", ClerkCondition{Role: "admin"}, pending, false},
		{"no clerk_auth ran", ClerkCondition{SignedIn: true}, nil, false},
		{"signed out", ClerkCondition{SignedIn: true}, identityOf(statusSignedOut, nil, ""), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.c.holds(tc.id); got != tc.want {
				t.Errorf("holds = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestMatchClerkUnmarshalCaddyfile(t *testing.T) {
	// A named matcher with two clerk lines reaches the matcher as two segments.
	var m MatchClerk
	d := caddyfile.NewTestDispenser("clerk role admin\nclerk org acme")
	if err := m.UnmarshalCaddyfile(d); err != nil {
		t.Fatal(err)
	}
	want := MatchClerk{{Role: "admin"}, {Org: "acme"}}
	if !reflect.DeepEqual(m, want) {
		t.Fatalf("got %+v, want %+v", m, want)
	}
	for input, wantErr := range map[string]string{
		"clerk":                      "missing dimension",
		"clerk plan":                 "want 'plan <value>'",
		"clerk role admin {\n\tx\n}": "blocks are not supported",
	} {
		var m MatchClerk
		if err := m.UnmarshalCaddyfile(caddyfile.NewTestDispenser(input)); err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("%q: error %v, want one containing %q", input, err, wantErr)
		}
	}
	if err := (MatchClerk{}).Provision(caddy.Context{}); err == nil {
		t.Error("an empty JSON matcher provisioned")
	}
	if err := (MatchClerk{{Role: "a", Org: "b"}}).Provision(caddy.Context{}); err == nil {
		t.Error("a two-field JSON condition provisioned")
	}
}

func TestMatchClerkCEL(t *testing.T) {
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	defer cancel()
	admin := &session{authFacts: authFacts{UserID: "user_1", OrgID: "org_1", OrgRole: "org:admin"}}
	for _, tc := range []struct {
		expr string
		id   *requestIdentity
		want bool
	}{
		{"clerk('role', 'org:admin')", identityOf(statusSignedIn, admin, tokenTypeSession), true},
		{"clerk('role', 'org:admin') && path('/admin*')", identityOf(statusSignedIn, admin, tokenTypeSession), true},
		{"clerk('role', 'org:member')", identityOf(statusSignedIn, admin, tokenTypeSession), false},
		{"clerk('signed_in')", identityOf(statusSignedIn, admin, tokenTypeSession), true},
		{"clerk('signed_in')", identityOf(statusSignedOut, nil, ""), false},
		{"clerk('signed_in')", nil, false},
		{"!clerk('signed_in') || clerk('org', 'org_1')", identityOf(statusSignedIn, admin, tokenTypeSession), true},
	} {
		t.Run(tc.expr, func(t *testing.T) {
			m := &caddyhttp.MatchExpression{Expr: tc.expr}
			if err := m.Provision(ctx); err != nil {
				t.Fatal(err)
			}
			req := httptest.NewRequest("GET", "/admin/x", nil)
			repl := caddyhttp.NewTestReplacer(req)
			vars := map[string]any{}
			if tc.id != nil {
				vars[identityVar] = tc.id
			}
			c := context.WithValue(req.Context(), caddy.ReplacerCtxKey, repl)
			c = context.WithValue(c, caddyhttp.VarsCtxKey, vars)
			req = req.WithContext(c)
			got, err := m.MatchWithError(req)
			if err != nil || got != tc.want {
				t.Errorf("match = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
	bad := &caddyhttp.MatchExpression{Expr: "clerk('reverification', 'often')"}
	if err := bad.Provision(ctx); err == nil || !strings.Contains(err.Error(), "unknown reverification preset") {
		t.Errorf("bad CEL preset: error %v", err)
	}
}
