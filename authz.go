package caddyclerk

import (
	"slices"
	"strings"
)

// This file is the one implementation of Clerk's has() (@clerk/shared
// authorization.ts createCheckAuthorization). The handler's require lines and
// the clerk request matcher both call has.

// authFacts is what has() needs from a verified, signed-in session.
//
// A session that Clerk treats as signed out (for example a pending one) must
// reach has() with an empty UserID or as a nil *authFacts, never with its
// claims.
type authFacts struct {
	// UserID is the sub claim. Empty means signed out: has() is false.
	UserID string
	// OrgID is the active organization: v1 org_id or v2 o.id.
	OrgID string
	// OrgRole is v1 org_role verbatim, or "org:" + v2 o.rol.
	OrgRole string
	// OrgPermissions is v1 org_permissions verbatim, or the result of
	// decodeOrgPermissions for v2.
	OrgPermissions []string
	// Features and Plans are the raw fea and pla claims, "" when absent.
	Features, Plans string
	// FVA is the fva claim, [first factor age, second factor age] in minutes,
	// -1 for a factor that is not enabled. Clerk compares the JSON numbers
	// themselves, so a decoder must map each one without changing any
	// outcome: a non-negative value rounds down (afterMinutes is a whole
	// number, so afterMinutes > 5.5 exactly when afterMinutes > 5), -1 stays
	// -1, and any other value (negative, NaN, too large) becomes -2, which
	// has() rejects like Clerk does.
	FVA [2]int
	// HasFVA reports that fva was a two-element array of numbers. Without
	// it, every reverification check fails.
	HasFVA bool
}

// authCheck is one has() query. A configuration line sets exactly one field,
// but has() accepts any combination, like Clerk's. An empty field is not
// asked; Clerk could be asked for an empty string, so configuration must
// reject empty values rather than pass them here.
type authCheck struct {
	// Role is compared with OrgRole; the "org:" prefix is optional.
	Role string
	// Permission must be in OrgPermissions; the "org:" prefix is optional.
	Permission string
	// Feature must be in fea: "name", "<scope>:name" with scope o, org,
	// organization, u or user.
	Feature string
	// Plan must be in pla, with the same syntax as Feature.
	Plan string
	// Reverification is a preset: strict_mfa, strict, moderate or lax.
	Reverification string
}

// checkResult is one dimension's verdict. The zero value is checkFail, so a
// result that was never set denies.
type checkResult uint8

const (
	// checkFail means the dimension was asked and is not satisfied,
	// including when the data it needs is missing or malformed.
	checkFail checkResult = iota
	// checkPass means the dimension was asked and is satisfied.
	checkPass
	// checkSkip means the dimension was not asked.
	checkSkip
)

// has reports whether the session f satisfies c, as Clerk's has() does. It is
// false for a nil f or an empty UserID. The org (role, permission), billing
// (feature, plan) and reverification dimensions each pass, fail or are
// skipped when not asked; has() is true only when at least one passes and
// none fails, so an empty check is false and asked dimensions are ANDed.
func has(f *authFacts, c authCheck) bool {
	if f == nil || f.UserID == "" {
		return false
	}
	passed := false
	for _, r := range [...]checkResult{checkOrg(f, c), checkBilling(f, c), checkReverification(f, c)} {
		switch r {
		case checkPass:
			passed = true
		case checkSkip:
		default:
			return false
		}
	}
	return passed
}

// checkOrg is Clerk's checkOrgAuthorization. Without an active organization
// it fails. Role compares prefixWithOrg(OrgRole) with prefixWithOrg(Role),
// where prefixWithOrg replaces /^(org:)*/ with "org:", and fails for an empty
// OrgRole. Permission looks for prefixWithOrg(Permission) in OrgPermissions.
// Both compare case-sensitively, and both asked must both hold.
func checkOrg(f *authFacts, c authCheck) checkResult {
	if c.Role == "" && c.Permission == "" {
		return checkSkip
	}
	if f.OrgID == "" {
		return checkFail
	}
	if c.Role != "" && (f.OrgRole == "" || trimOrgPrefixes(f.OrgRole) != trimOrgPrefixes(c.Role)) {
		return checkFail
	}
	if c.Permission != "" && !slices.ContainsFunc(f.OrgPermissions, orgPermissionMatcher(c.Permission)) {
		return checkFail
	}
	return checkPass
}

// trimOrgPrefixes removes every leading "org:", so that for any a and b,
// prefixWithOrg(a) == prefixWithOrg(b) exactly when
// trimOrgPrefixes(a) == trimOrgPrefixes(b), without building strings.
func trimOrgPrefixes(s string) string {
	for strings.HasPrefix(s, "org:") {
		s = s[len("org:"):]
	}
	return s
}

// orgPermissionMatcher returns a test for the element of OrgPermissions that
// equals prefixWithOrg(permission), i.e. "org:" + trimOrgPrefixes(permission).
func orgPermissionMatcher(permission string) func(string) bool {
	want := trimOrgPrefixes(permission)
	return func(p string) bool {
		rest, ok := strings.CutPrefix(p, "org:")
		return ok && rest == want
	}
}

// checkBilling is Clerk's checkBillingAuthorization: Feature must be granted
// by the fea claim and Plan by the pla claim; both asked must both hold.
func checkBilling(f *authFacts, c authCheck) checkResult {
	if c.Feature == "" && c.Plan == "" {
		return checkSkip
	}
	if c.Feature != "" && !claimGrants(f.Features, c.Feature) {
		return checkFail
	}
	if c.Plan != "" && !claimGrants(f.Plans, c.Plan) {
		return checkFail
	}
	return checkPass
}

// claimGrants is Clerk's checkForFeatureOrPlan with its throws as false. An
// empty claim, or one splitByScope rejects, grants nothing. The query is split
// on ":" and only its first two parts count, so "o:a:extra" is "o:a". With a
// ":", the first part is the scope: o, org or organization searches the
// org-scoped values, u or user the user-scoped ones, anything else grants
// nothing; an empty second part means the name is the scope itself, as in
// Clerk (`rawId || rawScope`), so "o:" asks for org value "o". Without a
// ":", the org and user values are both searched.
func claimGrants(claim, query string) bool {
	if claim == "" {
		return false
	}
	org, user, err := splitByScope(claim)
	if err != nil {
		return false
	}
	scope, rest, explicit := strings.Cut(query, ":")
	name, _, _ := strings.Cut(rest, ":")
	if name == "" {
		name = scope
	}
	if !explicit {
		return slices.Contains(org, name) || slices.Contains(user, name)
	}
	switch scope {
	case "o", "org", "organization":
		return slices.Contains(org, name)
	case "u", "user":
		return slices.Contains(user, name)
	}
	return false
}

// reverificationLevel is which factors a reverification needs.
type reverificationLevel uint8

const (
	// firstFactor needs a fresh first factor.
	firstFactor reverificationLevel = iota + 1
	// secondFactor needs a fresh second factor, or the only enabled one.
	secondFactor
	// multiFactor needs both factors fresh, or a fresh first factor when no
	// second factor is enabled.
	multiFactor
)

// reverificationConfig is Clerk's reverification object form.
type reverificationConfig struct {
	level        reverificationLevel
	afterMinutes int
}

// reverificationPreset returns the configuration of a Clerk preset name, and
// false for any other name.
func reverificationPreset(preset string) (reverificationConfig, bool) {
	switch preset {
	case "strict_mfa":
		return reverificationConfig{level: multiFactor, afterMinutes: 10}, true
	case "strict":
		return reverificationConfig{level: secondFactor, afterMinutes: 10}, true
	case "moderate":
		return reverificationConfig{level: secondFactor, afterMinutes: 60}, true
	case "lax":
		return reverificationConfig{level: secondFactor, afterMinutes: 1440}, true
	}
	return reverificationConfig{}, false
}

// validReverification reports whether preset is one of Clerk's reverification
// presets: strict_mfa, strict, moderate or lax.
func validReverification(preset string) bool {
	_, ok := reverificationPreset(preset)
	return ok
}

// checkReverification is Clerk's checkReverificationAuthorization for a
// preset. An unknown preset or a missing fva fails.
func checkReverification(f *authFacts, c authCheck) checkResult {
	if c.Reverification == "" {
		return checkSkip
	}
	cfg, ok := reverificationPreset(c.Reverification)
	if !ok || !f.HasFVA || !cfg.satisfiedBy(f.FVA) {
		return checkFail
	}
	return checkPass
}

// satisfiedBy reports whether the factor ages fva meet cfg. Each age must be
// -1 (not enabled) or >= 0, and not both -1. An age is fresh when it is not
// -1 and afterMinutes > age (strictly). Then first_factor needs f1 fresh;
// second_factor needs f1 fresh when f2 is -1 and f2 fresh otherwise (Clerk's
// "f1 is -1" and general cases both test f2); multi_factor needs f1 fresh
// when f2 is -1, fails when f1 is -1, and otherwise needs both fresh.
func (cfg reverificationConfig) satisfiedBy(fva [2]int) bool {
	f1, f2 := fva[0], fva[1]
	if !validFactorAge(f1) || !validFactorAge(f2) || (f1 == -1 && f2 == -1) {
		return false
	}
	fresh := func(age int) bool { return age != -1 && cfg.afterMinutes > age }
	switch cfg.level {
	case firstFactor:
		return fresh(f1)
	case secondFactor:
		if f2 == -1 {
			return fresh(f1)
		}
		return fresh(f2)
	case multiFactor:
		if f2 == -1 {
			return fresh(f1)
		}
		return fresh(f1) && fresh(f2) // fresh(-1) is false: Clerk fails f1 == -1 here
	}
	return false
}

// validFactorAge reports whether age is a valid fva entry: -1 or >= 0.
func validFactorAge(age int) bool {
	return age == -1 || age >= 0
}
