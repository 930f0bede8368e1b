package caddyclerk

import (
	"fmt"
	"slices"
)

// ClerkCondition is one question about the request's Clerk identity, as a
// `require` line of clerk_auth or a `clerk` matcher line asks it. Exactly
// one field is set. role, permission, feature, plan and reverification are
// answered by Clerk's has(); signed_in, org and token_type only by the
// matcher.
type ClerkCondition struct {
	// Role is an organization role, e.g. org:admin; the org: prefix is optional.
	Role string `json:"role,omitempty"`
	// Permission is an organization permission, e.g. org:invoices:create.
	Permission string `json:"permission,omitempty"`
	// Feature is a billing feature, optionally scoped: premium, o:reports, u:beta.
	Feature string `json:"feature,omitempty"`
	// Plan is a billing plan, scoped like Feature.
	Plan string `json:"plan,omitempty"`
	// Reverification is a freshness preset: strict_mfa, strict, moderate or lax.
	Reverification string `json:"reverification,omitempty"`
	// SignedIn holds for any signed-in request (matcher only).
	SignedIn bool `json:"signed_in,omitempty"`
	// Org is the active organization's slug or id (matcher only).
	Org string `json:"org,omitempty"`
	// TokenType is the verified token's type, e.g. session_token (matcher only).
	TokenType string `json:"token_type,omitempty"`
	// Scope is a scope the verified machine token carries (matcher only).
	Scope string `json:"scope,omitempty"`
}

// tokenTypes are the token types Clerk knows.
var tokenTypes = []string{tokenTypeSession, "api_key", "m2m_token", "oauth_token"}

// parseCondition reads `<dimension> [<value>]`, as written in a Caddyfile.
// matcherForms admits signed_in, org, token_type and scope.
func parseCondition(args []string, matcherForms bool) (ClerkCondition, error) {
	var c ClerkCondition
	if len(args) == 0 {
		return c, fmt.Errorf("missing dimension")
	}
	dim := args[0]
	dims := []string{"role", "permission", "feature", "plan", "reverification"}
	if matcherForms {
		dims = append(dims, "signed_in", "org", "token_type", "scope")
	}
	if !slices.Contains(dims, dim) {
		return c, fmt.Errorf("unknown dimension '%s' (want one of %v)", dim, dims)
	}
	if dim == "signed_in" {
		if len(args) != 1 {
			return c, fmt.Errorf("signed_in takes no value")
		}
		c.SignedIn = true
		return c, nil
	}
	if len(args) != 2 {
		return c, fmt.Errorf("want '%s <value>', got %d value(s)", dim, len(args)-1)
	}
	*map[string]*string{
		"role": &c.Role, "permission": &c.Permission, "feature": &c.Feature, "plan": &c.Plan,
		"reverification": &c.Reverification, "org": &c.Org, "token_type": &c.TokenType, "scope": &c.Scope,
	}[dim] = args[1]
	return c, c.validate(matcherForms)
}

// validate checks that exactly one field is set, to a usable value.
func (c ClerkCondition) validate(matcherForms bool) error {
	set := 0
	for _, v := range []string{c.Role, c.Permission, c.Feature, c.Plan, c.Reverification, c.Org, c.TokenType, c.Scope} {
		if v != "" {
			set++
		}
	}
	if c.SignedIn {
		set++
	}
	switch {
	case set == 0:
		return fmt.Errorf("empty condition: want a dimension and a value, e.g. role org:admin")
	case set > 1:
		return fmt.Errorf("a condition asks exactly one thing; write one per line")
	case !matcherForms && (c.SignedIn || c.Org != "" || c.TokenType != "" || c.Scope != ""):
		return fmt.Errorf("%s is a matcher condition; use the clerk matcher for it", c)
	case c.Reverification != "" && !validReverification(c.Reverification):
		return fmt.Errorf("unknown reverification preset '%s' (want strict_mfa, strict, moderate or lax)", c.Reverification)
	case c.TokenType != "" && !slices.Contains(tokenTypes, c.TokenType):
		return fmt.Errorf("unknown token_type '%s' (want one of %v)", c.TokenType, tokenTypes)
	}
	return nil
}

// holds answers the condition for a request's identity. Nothing holds for a
// request that is not signed in, including a pending session. A verified
// machine token is signed in, has its token_type, scopes and (API keys of an
// organization) org, and, as in Clerk, has() is false for it.
func (c ClerkCondition) holds(id *requestIdentity) bool {
	if id == nil || !id.signedIn() {
		return false
	}
	switch {
	case c.SignedIn:
		return true
	case c.TokenType != "":
		return c.TokenType == id.tokenType
	case c.Scope != "":
		m := id.activeMachine()
		return m != nil && slices.Contains(m.scopes, c.Scope)
	}
	if m := id.activeMachine(); m != nil {
		return c.Org != "" && c.Org == m.orgID
	}
	s := id.active()
	switch {
	case s == nil:
		return false
	case c.Org != "":
		return c.Org == s.OrgID || c.Org == s.orgSlug
	}
	return has(&s.authFacts, authCheck{Role: c.Role, Permission: c.Permission,
		Feature: c.Feature, Plan: c.Plan, Reverification: c.Reverification})
}

// String writes the condition as its Caddyfile line, e.g. "role org:admin".
func (c ClerkCondition) String() string {
	for _, kv := range [...]struct{ k, v string }{
		{"role", c.Role}, {"permission", c.Permission}, {"feature", c.Feature}, {"plan", c.Plan},
		{"reverification", c.Reverification}, {"org", c.Org}, {"token_type", c.TokenType}, {"scope", c.Scope},
	} {
		if kv.v != "" {
			return kv.k + " " + kv.v
		}
	}
	if c.SignedIn {
		return "signed_in"
	}
	return "(empty)"
}
