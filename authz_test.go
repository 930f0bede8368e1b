package caddyclerk

import "testing"

// sampleFacts returns the sample token of clerk-semantics.md section d:
// o.rol=admin, fea=o:invoices,o:reports,u:premium, per=read,manage,
// fpm=3,1, pla=u:pro,o:team, fva=[5,-1].
func sampleFacts(t *testing.T) *authFacts {
	t.Helper()
	perms, err := decodeOrgPermissions("o:invoices,o:reports,u:premium", "read,manage", "3,1")
	if err != nil {
		t.Fatal(err)
	}
	return &authFacts{
		UserID:         "user_1",
		OrgID:          "org_1",
		OrgRole:        "org:admin",
		OrgPermissions: perms,
		Features:       "o:invoices,o:reports,u:premium",
		Plans:          "u:pro,o:team",
		FVA:            [2]int{5, -1},
		HasFVA:         true,
	}
}

func TestHasObserved(t *testing.T) {
	// Every row of "Observed has() results" that a preset can express.
	f := sampleFacts(t)
	for _, tc := range []struct {
		check authCheck
		want  bool
	}{
		{authCheck{Role: "admin"}, true},
		{authCheck{Role: "org:admin"}, true},
		{authCheck{Role: "org:member"}, false},
		{authCheck{Permission: "org:invoices:manage"}, true},
		{authCheck{Permission: "invoices:read"}, true},
		{authCheck{Permission: "org:reports:manage"}, false},
		{authCheck{Feature: "premium"}, true},
		{authCheck{Feature: "u:premium"}, true},
		{authCheck{Feature: "o:premium"}, false},
		{authCheck{Feature: "invoices"}, true},
		{authCheck{Plan: "pro"}, true},
		{authCheck{Plan: "org:team"}, true},
		{authCheck{Plan: "user:team"}, false},
		{authCheck{Reverification: "strict"}, true},
		{authCheck{Role: "admin", Permission: "org:reports:read"}, true},
		{authCheck{}, false},
	} {
		if got := has(f, tc.check); got != tc.want {
			t.Errorf("has(sample, %+v) = %v, want %v", tc.check, got, tc.want)
		}
	}
	// The object-form row {level:'second_factor', afterMinutes:5}: 5 > 5 is false.
	if (reverificationConfig{level: secondFactor, afterMinutes: 5}).satisfiedBy(f.FVA) {
		t.Error("second_factor after 5 minutes with fva [5,-1] passed, want it to fail")
	}
}

func TestHas(t *testing.T) {
	sample := sampleFacts(t)
	with := func(edit func(*authFacts)) *authFacts {
		f := *sample
		edit(&f)
		return &f
	}
	v1 := &authFacts{
		UserID:         "user_1",
		OrgID:          "org_1",
		OrgRole:        "org:admin",
		OrgPermissions: []string{"org:sys_memberships:manage"},
	}
	noOrg := with(func(f *authFacts) { f.OrgID, f.OrgRole, f.OrgPermissions = "", "", nil })

	for _, tc := range []struct {
		name  string
		facts *authFacts
		check authCheck
		want  bool
	}{
		{"v1 permission verbatim", v1, authCheck{Permission: "org:sys_memberships:manage"}, true},
		{"v1 permission unprefixed", v1, authCheck{Permission: "sys_memberships:manage"}, true},
		{"v1 role", v1, authCheck{Role: "admin"}, true},

		{"nil facts", nil, authCheck{Role: "admin"}, false},
		{"no user", with(func(f *authFacts) { f.UserID = "" }), authCheck{Role: "admin"}, false},
		{"no user, feature", with(func(f *authFacts) { f.UserID = "" }), authCheck{Feature: "premium"}, false},

		{"no org: role fails", noOrg, authCheck{Role: "admin"}, false},
		{"no org: role fails despite a role", with(func(f *authFacts) { f.OrgID = "" }), authCheck{Role: "admin"}, false},
		{"no org: permission fails", with(func(f *authFacts) { f.OrgID = "" }), authCheck{Permission: "org:invoices:read"}, false},
		{"no org: user feature passes", noOrg, authCheck{Feature: "u:premium"}, true},
		{"no org: role and feature fails", noOrg, authCheck{Role: "admin", Feature: "premium"}, false},
		{"org without role: role fails", with(func(f *authFacts) { f.OrgRole = "" }), authCheck{Role: "org:"}, false},
		{"org without permissions", with(func(f *authFacts) { f.OrgPermissions = nil }), authCheck{Permission: "invoices:read"}, false},

		{"role admin", sample, authCheck{Role: "admin"}, true},
		{"role org:org:admin", sample, authCheck{Role: "org:org:admin"}, true},
		{"stored org:org:admin", with(func(f *authFacts) { f.OrgRole = "org:org:admin" }), authCheck{Role: "admin"}, true},
		{"stored unprefixed", with(func(f *authFacts) { f.OrgRole = "admin" }), authCheck{Role: "org:admin"}, true},
		{"role case", sample, authCheck{Role: "Admin"}, false},
		{"role prefix case", sample, authCheck{Role: "ORG:admin"}, false},
		{"role prefix without colon", sample, authCheck{Role: "orgadmin"}, false},
		{"role org: alone", sample, authCheck{Role: "org:"}, false},
		{"permission org:org:", sample, authCheck{Permission: "org:org:invoices:read"}, true},
		{"permission case", sample, authCheck{Permission: "org:Invoices:read"}, false},
		{"permission prefix case", sample, authCheck{Permission: "Org:invoices:read"}, false},
		{"permission partial", sample, authCheck{Permission: "org:invoices"}, false},
		{"role and permission: permission fails", sample, authCheck{Role: "admin", Permission: "org:reports:manage"}, false},
		{"role and permission: role fails", sample, authCheck{Role: "member", Permission: "org:reports:read"}, false},

		{"feature org:", sample, authCheck{Feature: "org:invoices"}, true},
		{"feature organization:", sample, authCheck{Feature: "organization:reports"}, true},
		{"feature user:", sample, authCheck{Feature: "user:premium"}, true},
		{"feature user: on org value", sample, authCheck{Feature: "user:invoices"}, false},
		{"feature org: on user value", sample, authCheck{Feature: "org:premium"}, false},
		{"feature bad scope", sample, authCheck{Feature: "x:premium"}, false},
		{"feature scope case", sample, authCheck{Feature: "U:premium"}, false},
		{"feature empty scope", sample, authCheck{Feature: ":premium"}, false},
		{"feature o:a:extra", sample, authCheck{Feature: "o:invoices:extra"}, true},
		{"feature u:a:extra", sample, authCheck{Feature: "u:premium:x:y"}, true},
		{"feature x:a:extra", sample, authCheck{Feature: "x:premium:extra"}, false},
		{"feature unknown", sample, authCheck{Feature: "gold"}, false},
		{"feature name case", sample, authCheck{Feature: "Premium"}, false},
		{"feature scope only", sample, authCheck{Feature: "o:"}, false},
		{"feature scope only names the scope", with(func(f *authFacts) { f.Features = "o:o" }), authCheck{Feature: "o:"}, true},
		{"feature ou both lists", with(func(f *authFacts) { f.Features = "ou:x" }), authCheck{Feature: "u:x"}, true},
		{"feature uo both lists", with(func(f *authFacts) { f.Features = "uo:x" }), authCheck{Feature: "org:x"}, true},
		{"feature ignored scope", with(func(f *authFacts) { f.Features = "x:a" }), authCheck{Feature: "a"}, false},
		{"feature value with colon unreachable", with(func(f *authFacts) { f.Features = "o:a:b" }), authCheck{Feature: "o:a:b"}, false},
		{"feature trimmed claim", with(func(f *authFacts) { f.Features = " u:premium\t" }), authCheck{Feature: "premium"}, true},
		{"empty fea", with(func(f *authFacts) { f.Features = "" }), authCheck{Feature: "premium"}, false},
		{"malformed fea", with(func(f *authFacts) { f.Features = "u:premium,bad" }), authCheck{Feature: "premium"}, false},
		{"fea trailing comma", with(func(f *authFacts) { f.Features = "u:premium," }), authCheck{Feature: "premium"}, false},

		{"plan u:", sample, authCheck{Plan: "u:pro"}, true},
		{"plan o: on user plan", sample, authCheck{Plan: "o:pro"}, false},
		{"plan unscoped org", sample, authCheck{Plan: "team"}, true},
		{"plan bad scope", sample, authCheck{Plan: "x:team"}, false},
		{"empty pla", with(func(f *authFacts) { f.Plans = "" }), authCheck{Plan: "pro"}, false},
		{"malformed pla", with(func(f *authFacts) { f.Plans = "pro" }), authCheck{Plan: "pro"}, false},
		{"plans are not features", sample, authCheck{Feature: "pro"}, false},
		{"feature and plan", sample, authCheck{Feature: "premium", Plan: "pro"}, true},
		{"feature and plan: plan fails", sample, authCheck{Feature: "premium", Plan: "gold"}, false},
		{"feature and plan: feature fails", sample, authCheck{Feature: "gold", Plan: "pro"}, false},

		{"all dimensions", sample, authCheck{Role: "admin", Permission: "invoices:manage", Feature: "premium", Plan: "team", Reverification: "lax"}, true},
		{"all dimensions, one fails", sample, authCheck{Role: "admin", Permission: "invoices:manage", Feature: "premium", Plan: "team", Reverification: "strict_mfa_"}, false},
		{"role and reverification without fva", with(func(f *authFacts) { f.HasFVA = false }), authCheck{Role: "admin", Reverification: "lax"}, false},

		{"reverification without fva", with(func(f *authFacts) { f.HasFVA = false }), authCheck{Reverification: "lax"}, false},
		{"reverification malformed f1", with(func(f *authFacts) { f.FVA = [2]int{-2, 0} }), authCheck{Reverification: "lax"}, false},
		{"reverification malformed f2", with(func(f *authFacts) { f.FVA = [2]int{0, -2} }), authCheck{Reverification: "lax"}, false},
		{"reverification both -1", with(func(f *authFacts) { f.FVA = [2]int{-1, -1} }), authCheck{Reverification: "lax"}, false},
		{"reverification unknown preset", sample, authCheck{Reverification: "none"}, false},
		{"reverification preset case", sample, authCheck{Reverification: "STRICT"}, false},
		{"reverification preset spaces", sample, authCheck{Reverification: " strict"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := has(tc.facts, tc.check); got != tc.want {
				t.Fatalf("has(%+v, %+v) = %v, want %v", tc.facts, tc.check, got, tc.want)
			}
		})
	}
}

func TestHasReverificationPresets(t *testing.T) {
	type row struct {
		fva  [2]int
		want bool
	}
	// secondFactorRows are the boundaries of a second_factor preset that
	// must be verified within a minutes.
	secondFactorRows := func(a int) []row {
		return []row{
			{[2]int{a - 1, -1}, true}, // no second factor: first factor decides
			{[2]int{a, -1}, false},
			{[2]int{-1, a - 1}, true}, // no first factor: second factor decides
			{[2]int{-1, a}, false},
			{[2]int{0, a - 1}, true}, // both: second factor decides
			{[2]int{0, a}, false},
			{[2]int{a + 100, a - 1}, true},
			{[2]int{0, 0}, true},
		}
	}
	presets := map[string][]row{
		"strict":   secondFactorRows(10),
		"moderate": secondFactorRows(60),
		"lax":      secondFactorRows(1440),
		"strict_mfa": {
			{[2]int{9, -1}, true}, // no second factor: downgrade to first factor
			{[2]int{10, -1}, false},
			{[2]int{9, 9}, true},
			{[2]int{9, 10}, false},
			{[2]int{10, 9}, false},
			{[2]int{-1, 5}, false}, // second factor without first: fail
			{[2]int{-1, 0}, false},
			{[2]int{0, 0}, true},
		},
	}
	for preset, rows := range presets {
		if !validReverification(preset) {
			t.Errorf("validReverification(%q) = false", preset)
		}
		for _, r := range rows {
			f := sampleFacts(t)
			f.FVA = r.fva
			if got := has(f, authCheck{Reverification: preset}); got != r.want {
				t.Errorf("has(fva %v, %s) = %v, want %v", r.fva, preset, got, r.want)
			}
		}
	}
}

func TestReverificationLevels(t *testing.T) {
	// The object form, {level, afterMinutes}, which no preset reaches for
	// first_factor.
	for _, tc := range []struct {
		cfg  reverificationConfig
		fva  [2]int
		want bool
	}{
		{reverificationConfig{firstFactor, 10}, [2]int{9, -1}, true},
		{reverificationConfig{firstFactor, 10}, [2]int{10, -1}, false},
		{reverificationConfig{firstFactor, 10}, [2]int{9, 100}, true},
		{reverificationConfig{firstFactor, 10}, [2]int{-1, 0}, false},
		{reverificationConfig{firstFactor, 10}, [2]int{-1, -1}, false},
		{reverificationConfig{firstFactor, 10}, [2]int{-3, 0}, false},
		{reverificationConfig{secondFactor, 5}, [2]int{5, -1}, false},
		{reverificationConfig{secondFactor, 6}, [2]int{5, -1}, true},
		{reverificationConfig{multiFactor, 1}, [2]int{0, 0}, true},
		{reverificationConfig{multiFactor, 1}, [2]int{0, 1}, false},
		{reverificationConfig{}, [2]int{0, 0}, false}, // no level: fail closed
	} {
		if got := tc.cfg.satisfiedBy(tc.fva); got != tc.want {
			t.Errorf("%+v.satisfiedBy(%v) = %v, want %v", tc.cfg, tc.fva, got, tc.want)
		}
	}
}

func TestValidReverification(t *testing.T) {
	for preset, want := range map[string]bool{
		"strict_mfa": true, "strict": true, "moderate": true, "lax": true,
		"": false, "Strict": false, "strict ": false, "first_factor": false, "second_factor": false, "multi_factor": false,
	} {
		if got := validReverification(preset); got != want {
			t.Errorf("validReverification(%q) = %v, want %v", preset, got, want)
		}
	}
}

func FuzzHas(f *testing.F) {
	f.Add("org:admin", "o:invoices,u:premium", "u:pro", 5, -1, "admin", "invoices:read", "o:invoices", "pro", "strict")
	f.Add("", ",", ":", -2, 0, "org:", "org:org:", ":", "x:y:z", "lax")
	f.Fuzz(func(t *testing.T, role, fea, pla string, f1, f2 int, qRole, qPerm, qFeat, qPlan, qRev string) {
		perms, _ := decodeOrgPermissions(fea, "read,manage", "3,1")
		facts := &authFacts{UserID: "user_1", OrgID: "org_1", OrgRole: role, OrgPermissions: perms,
			Features: fea, Plans: pla, FVA: [2]int{f1, f2}, HasFVA: true}
		c := authCheck{Role: qRole, Permission: qPerm, Feature: qFeat, Plan: qPlan, Reverification: qRev}
		got := has(facts, c)
		// has() is an AND: it holds only if every asked field holds alone.
		for i, single := range []authCheck{{Role: qRole}, {Permission: qPerm}, {Feature: qFeat}, {Plan: qPlan}, {Reverification: qRev}} {
			if got && single != (authCheck{}) && !has(facts, single) {
				t.Fatalf("has(%+v) = true but field %d alone is false", c, i)
			}
		}
		if got && c == (authCheck{}) {
			t.Fatal("empty check passed")
		}
		if has(nil, c) || has(&authFacts{}, c) {
			t.Fatalf("signed-out facts passed %+v", c)
		}
	})
}
