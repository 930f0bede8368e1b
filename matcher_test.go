package caddyclerk

import (
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// routeTestPaths builds a corpus of paths to compare matchers on.
func routeTestPaths() []string {
	segs := []string{
		"", "a", "A", "x", "1", "42", "sign-in", "SIGN-IN", "sign-inxyz", "sign-up",
		"dashboard", "DashBoard", "settings", "org", "acme", "api", "webhooks",
		"é", "É", "file.txt", "a-b", "#", "?", "a#", "a?", ".", "k", "ſ", "\u212a",
	}
	var paths []string
	for _, a := range segs {
		paths = append(paths, "/"+a, "/"+a+"/", "/"+a+"//", "//"+a)
		for _, b := range segs {
			paths = append(paths, "/"+a+"/"+b, "/"+a+b, "/"+a+"/"+b+"/")
			for _, c := range []string{"x", "settings", "1/2"} {
				paths = append(paths, "/"+a+"/"+b+"/"+c)
			}
		}
	}
	return append(paths, "", "/", "//", "/#", "/?", "/\n", "/sign-in\n", "/sign-in/\u2028")
}

// TestRoutePatternsMatchPathToRegexp compares each pattern with the RegExp
// path-to-regexp 6 builds for it (as listed in clerk-semantics.md, run here
// as RE2 with (?i), which is exact for these paths; where it holds a
// one-character lookahead, the RE2 equivalent is written) on many paths.
func TestRoutePatternsMatchPathToRegexp(t *testing.T) {
	tests := []struct {
		pattern  string
		jsRegExp string
	}{
		{"/sign-in(.*)", `^\/sign-in(.*)[\/#\?]?$`},
		{"/dashboard", `^\/dashboard[\/#\?]?$`},
		{"/dashboard/:path*", `^\/dashboard(?:\/((?:[^\/#\?]+?)(?:\/(?:[^\/#\?]+?))*))?[\/#\?]?$`},
		{"/api/(.*)", `^\/api(?:\/(.*))[\/#\?]?$`},
		{"/", `^\/[\/#\?]?$`},
		{"/org/:slug", `^\/org(?:\/([^\/#\?]+?))[\/#\?]?$`},
		// More shapes, with the RegExp path-to-regexp 6.3 builds for them.
		{"/dashboard/:path+", `^\/dashboard(?:\/((?:[^\/#\?]+?)(?:\/(?:[^\/#\?]+?))*))[\/#\?]?$`},
		{"/dashboard/:path?", `^\/dashboard(?:\/([^\/#\?]+?))?[\/#\?]?$`},
		{"/org/:slug/settings", `^\/org(?:\/([^\/#\?]+?))\/settings[\/#\?]?$`},
		{"/:a/:b(\\d+)?", `^(?:\/([^\/#\?]+?))(?:\/(\d+))?[\/#\?]?$`},
		{"/api{/:v}?/webhooks", `^\/api(?:\/([^\/#\?]+?))?\/webhooks[\/#\?]?$`},
		{"/org{/:slug}*", `^\/org(?:\/((?:[^\/#\?]+?)(?:\/(?:[^\/#\?]+?))*))?[\/#\?]?$`},
		{"/file.:ext", `^\/file(?:\.([^\/#\?.]+?))[\/#\?]?$`},
		{"/:a-:b", `^(?:\/([^\/#\?]+?))-([^\/#\?-]+?)[\/#\?]?$`},
		{"/{sign-in}?", `^\/(?:sign-in)?[\/#\?]?$`},
		{"/api/webhooks(.*)", `^\/api\/webhooks(.*)[\/#\?]?$`},
		{"/é/:x", `^\/é(?:\/([^\/#\?]+?))[\/#\?]?$`},
	}
	paths := routeTestPaths()
	for _, tt := range tests {
		t.Run(tt.pattern, func(t *testing.T) {
			p, err := compileRoutePatterns([]string{tt.pattern})
			if err != nil {
				t.Fatal(err)
			}
			js := regexp.MustCompile(`(?i)` + tt.jsRegExp)
			for _, path := range paths {
				if strings.ContainsAny(path, "\n\u2028ſ\u212a") {
					continue // where Go's (?i) and "." differ from JavaScript's
				}
				if got, want := p.match(path), js.MatchString(path); got != want {
					t.Errorf("match(%q) = %v, path-to-regexp gives %v", path, got, want)
				}
			}
		})
	}
}

// TestRoutePatternsMatch checks matching on chosen paths.
func TestRoutePatternsMatch(t *testing.T) {
	tests := []struct {
		patterns []string
		path     string
		want     bool
	}{
		// Case-insensitivity.
		{[]string{"/sign-in(.*)"}, "/SIGN-IN", true},
		{[]string{"/sign-in(.*)"}, "/Sign-In/factor-one", true},
		{[]string{"/dashboard"}, "/DASHBOARD", true},
		{[]string{"/org/:slug/settings"}, "/ORG/acme/SETTINGS", true},
		// JavaScript's "i" flag never folds ASCII with non-ASCII.
		{[]string{"/sk(.*)"}, "/ſk", false},
		{[]string{"/sk"}, "/s\u212a", false},
		{[]string{"/sk/:id"}, "/ſ\u212a/1", false},
		{[]string{"/café"}, "/CAFÉ", true},
		{[]string{"/café/:x"}, "/CAFÉ/1", true},
		// One optional trailing delimiter.
		{[]string{"/dashboard"}, "/dashboard/", true},
		{[]string{"/dashboard"}, "/dashboard//", false},
		{[]string{"/dashboard"}, "/dashboard#", true},
		{[]string{"/dashboard"}, "/dashboard?", true},
		{[]string{"/dashboard"}, "/dashboardx", false},
		{[]string{"/dashboard"}, "/dashboard/x", false},
		{[]string{"/org/:slug"}, "/org/acme/", true},
		{[]string{"/org/:slug"}, "/org/acme//", false},
		// "(.*)" also matches siblings; "/api/(.*)" needs the slash.
		{[]string{"/sign-in(.*)"}, "/sign-inxyz", true},
		{[]string{"/sign-in(.*)"}, "/sign-in", true},
		{[]string{"/sign-in(.*)"}, "/sign", false},
		{[]string{"/sign-in(.*)"}, "/x/sign-in", false},
		{[]string{"/api/(.*)"}, "/api", false},
		{[]string{"/api/(.*)"}, "/api/", true},
		{[]string{"/api/(.*)"}, "/api/x/y", true},
		{[]string{"/api/(.*)"}, "/apix", false},
		// JavaScript's "." stops at line terminators.
		{[]string{"/sign-in(.*)"}, "/sign-in\nx", false},
		{[]string{"/sign-in(.*)"}, "/sign-in\u2028", false},
		{[]string{"/sign-in(.*)"}, "/sign-in\u2029/", false},
		{[]string{"/sign-in(.*)"}, "/sign-in\r", false},
		{[]string{"/x/(.+)"}, "/x/a\u2028", false},
		// "/".
		{[]string{"/"}, "/", true},
		{[]string{"/"}, "", false},
		{[]string{"/"}, "/a", false},
		// Parameters and modifiers.
		{[]string{"/org/:slug"}, "/org", false},
		{[]string{"/org/:slug"}, "/org/", false},
		{[]string{"/org/:slug"}, "/org/a/b", false},
		{[]string{"/dashboard/:path*"}, "/dashboard", true},
		{[]string{"/dashboard/:path*"}, "/dashboard/", true},
		{[]string{"/dashboard/:path*"}, "/dashboard/a/b/c", true},
		{[]string{"/dashboard/:path*"}, "/dashboardx", false},
		{[]string{"/dashboard/:path+"}, "/dashboard", false},
		{[]string{"/dashboard/:path+"}, "/dashboard/a", true},
		{[]string{"/dashboard/:path+"}, "/dashboard/a/b", true},
		{[]string{"/users/:id?"}, "/users", true},
		{[]string{"/users/:id?"}, "/users/1", true},
		{[]string{"/users/:id?"}, "/users/1/2", false},
		{[]string{"/users/:id?/edit"}, "/users/edit", true},
		{[]string{"/users/:id?/edit"}, "/users/7/edit", true},
		{[]string{"/file.:ext"}, "/file.txt", true},
		{[]string{"/file.:ext"}, "/file.tar.gz", false}, // the parameter cannot hold its prefix
		{[]string{"/:from-:to"}, "/a-b", true},
		{[]string{"/:from-:to"}, "/a-b-c", true},
		{[]string{"/x-:to"}, "/x-a-b", true}, // "/x-" holds a "/", so no guard
		// A parameter not after "/" or "." has no optional prefix.
		{[]string{"/user_:id"}, "/user_42", true},
		{[]string{"/user_:id?"}, "/user_", true},
		// Custom parameter patterns.
		{[]string{"/user/:id(\\d+)"}, "/user/42", true},
		{[]string{"/user/:id(\\d+)"}, "/user/abc", false},
		{[]string{"/user/:id(\\d+)"}, "/user/", false},
		{[]string{"/user/:id(\\d+)?"}, "/user", true},
		{[]string{"/user/:id(\\d+)+"}, "/user/1/2/3", true},
		{[]string{"/user/:id(\\d+)+"}, "/user/1/x", false},
		{[]string{"/user/(\\d+)"}, "/user/7", true},
		{[]string{"/v(\\d+)/x"}, "/v2/x", true},
		{[]string{"/p/(a|b)"}, "/p/b", true},
		{[]string{"/p/(a|b)"}, "/p/ab", false},
		{[]string{"/p/([a-z]+)"}, "/p/ABC", true},
		{[]string{"/p/([a-z]+)"}, "/p/ſ", false},
		{[]string{"/p/([^a-z]+)"}, "/p/A", false},
		{[]string{"/p/([^a-z]+)"}, "/p/\u212a", true},
		{[]string{"/p/(\\w+)"}, "/p/ſ", false},
		{[]string{"/p/(\\s)"}, "/p/\u00a0", true},
		{[]string{"/p/(\\S+)"}, "/p/\u3000", false},
		{[]string{"/p/(\\x41)"}, "/p/a", true},
		{[]string{"/p/(\\u00e9)"}, "/p/É", true},
		{[]string{"/p/(\\ud83d\\ude00)"}, "/p/😀", true},
		{[]string{"/p/(\\cJ)"}, "/p/\n", true},
		{[]string{"/p/([]*)"}, "/p/", true},
		{[]string{"/p/([]+)"}, "/p/a", false},
		{[]string{"/p/([^]+)"}, "/p/\n", true},
		{[]string{"/p/([[:alpha:]]+)"}, "/p/a", false},
		{[]string{"/p/([[:alpha:]]+)"}, "/p/a]", true},
		{[]string{"/p/([\\d-z]+)"}, "/p/1-z", true},
		{[]string{"/p/([\\d-z]+)"}, "/p/y", false},
		{[]string{"/p/(\\a)"}, "/p/A", true},
		{[]string{"/p/((?<n>x)+)"}, "/p/xx", true},
		{[]string{"/p/:a((?<n>x))+"}, "/p/x/x", true},
		// Brace groups.
		{[]string{"/api{/v1}?/users"}, "/api/users", true},
		{[]string{"/api{/v1}?/users"}, "/api/v1/users", true},
		{[]string{"/api{/v1}?/users"}, "/api/v2/users", false},
		{[]string{"/org{/:slug}?"}, "/org", true},
		{[]string{"/org{/:slug}?"}, "/org/acme", true},
		{[]string{"/org{-:slug}+"}, "/org-a-b", true},
		{[]string{"/org{-:slug}+"}, "/org", false},
		{[]string{"/{about}"}, "/about", true},
		{[]string{"/x{}"}, "/x", true},
		// Escapes.
		{[]string{"/a\\:b"}, "/a:b", true},
		{[]string{"/a\\(b\\)"}, "/a(b)", true},
		{[]string{"/a\\*"}, "/a*", true},
		{[]string{"/a\\*"}, "/a", false},
		{[]string{"/foo)"}, "/foo)", true}, // a lone ")" is literal text
		// Several patterns: any of them.
		{[]string{"/sign-in(.*)", "/sign-up(.*)", "/"}, "/sign-up/sso", true},
		{[]string{"/sign-in(.*)", "/sign-up(.*)", "/"}, "/", true},
		{[]string{"/sign-in(.*)", "/sign-up(.*)", "/"}, "/dashboard", false},
		{[]string{"/org/:slug", "/api/webhooks(.*)", "/docs/:path*"}, "/docs/a/b", true},
		{[]string{"/org/:slug", "/api/webhooks(.*)", "/docs/:path*"}, "/org/acme", true},
		{[]string{"/org/:slug", "/api/webhooks(.*)", "/docs/:path*"}, "/org/acme/x", false},
		{nil, "/", false},
	}
	for _, tt := range tests {
		p, err := compileRoutePatterns(tt.patterns)
		if err != nil {
			t.Errorf("compileRoutePatterns(%q): %v", tt.patterns, err)
			continue
		}
		if got := p.match(tt.path); got != tt.want {
			t.Errorf("%q match(%q) = %v, want %v", tt.patterns, tt.path, got, tt.want)
		}
	}
}

// TestCompileRoutePatternsErrors checks that bad patterns are refused with
// an error that names them.
func TestCompileRoutePatternsErrors(t *testing.T) {
	tests := []struct {
		pattern string
		want    string
	}{
		{"", `must start with "/"`},
		{"dashboard", `must start with "/"`},
		{"(.*)", `must start with "/"`},
		{"\\/x", `must start with "/"`},
		{"/a(b", "unbalanced pattern"},
		{"/a(b(?:c)", "unbalanced pattern"},
		{"/a(\\)", "unbalanced pattern"},
		{"/a{b", `expected "}"`},
		{"/a{:b", `expected "}"`},
		{"/a}", `unexpected "}"`},
		{"/a{{b}}", `expected "}"`},
		{"/:", "missing parameter name"},
		{"/:-x", "missing parameter name"},
		{"/a()", "missing pattern"},
		{"/a(?:b)", `cannot start with "?"`},
		{"/a(?=b)", `cannot start with "?"`},
		{"/a(b(c))", "capturing groups are not allowed"},
		{"/a((c))", "capturing groups are not allowed"},
		{"/a*", "unexpected modifier"},
		{"/?", "unexpected modifier"},
		{"/:id??", "unexpected modifier"},
		{"/a\\", "trailing backslash"},
		{"/:a:b", `"b" directly follows parameter "a"`},
		{"/:a(\\d+):b", `"b" directly follows parameter "a"`},
		{"/x(\\d+)+", "cannot repeat"},
		{"/{:a}{:b}", "directly follows"},
		{"/{ab:a}*", "lookahead"},
		{"/:from-to-:to", "lookahead"},
		{"/a/(b(?=c))", "lookaround"},
		{"/a/(b(?!c))", "lookaround"},
		{"/a/(b(?<=c))", "lookaround"},
		{"/a/(b(?<!c))", "lookaround"},
		{"/a/(b(?i)c)", "unsupported group"},
		{"/a/(b(?P<x>c))", "unsupported group"},
		{"/a/(b(?<1>c))", "invalid group name"},
		{"/a/(b(?<x c))", "invalid group name"},
		{"/a/(b\\1)", "backreferences"},
		{"/a/(b\\k<x>)", "backreferences"},
		{"/a/(\\01)", "octal"},
		{"/a/(\\ud83d)", "surrogate"},
		{"/a/([z-a])", "out of order"},
		{"/a/([a)", "unterminated character class"},
		{"/a/(a**)", "error parsing regexp"},
		{"/a/(x{1001})", "error parsing regexp"},
	}
	for _, tt := range tests {
		_, err := compileRoutePatterns([]string{"/ok", tt.pattern})
		switch {
		case err == nil:
			t.Errorf("compileRoutePatterns(%q): no error, want %q", tt.pattern, tt.want)
		case !strings.Contains(err.Error(), tt.want):
			t.Errorf("compileRoutePatterns(%q) = %v, want it to contain %q", tt.pattern, err, tt.want)
		case !strings.Contains(err.Error(), `"`+strings.ReplaceAll(tt.pattern, `\`, `\\`)+`"`):
			t.Errorf("compileRoutePatterns(%q) = %v, want it to name the pattern", tt.pattern, err)
		}
	}
}

// TestCleanRoutePathThenMatch checks the two steps together, as the
// handler uses them.
func TestCleanRoutePathThenMatch(t *testing.T) {
	public, err := compileRoutePatterns([]string{"/api/webhooks(.*)", "/sign-in(.*)"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		target string
		want   bool
	}{
		{"/api/webhooks/stripe", true},
		{"/api/webhooks/../admin", false},
		{"/api/webhooks/%2e%2e/admin", false},
		{"//api/webhooks/x", true},
		{"/api//webhooks/x", true},
		{"/%61pi/webhooks", true},
		{"/SIGN-IN/factor-one", true},
		{"/sign-in/../dashboard", false},
	}
	for _, tt := range tests {
		u, err := url.ParseRequestURI(tt.target)
		if err != nil {
			t.Fatal(err)
		}
		clean, _, err := cleanRoutePath(u)
		if err != nil {
			t.Fatalf("cleanRoutePath(%q): %v", tt.target, err)
		}
		if got := public.match(clean); got != tt.want {
			t.Errorf("match(cleanRoutePath(%q) = %q) = %v, want %v", tt.target, clean, got, tt.want)
		}
	}
}

// benchRoutePatterns are ten patterns typical of a Clerk configuration.
var benchRoutePatterns = []string{
	"/",
	"/sign-in(.*)",
	"/sign-up(.*)",
	"/api/webhooks(.*)",
	"/api/public/(.*)",
	"/about",
	"/pricing",
	"/blog/:slug",
	"/docs/:path*",
	"/org/:slug/settings",
}

// TestRoutePatternsMatchAllocs checks that matching does not allocate.
func TestRoutePatternsMatchAllocs(t *testing.T) {
	p, err := compileRoutePatterns(benchRoutePatterns)
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/pricing", "/sign-in/x", "/docs/a/b", "/org/a/settings", "/dashboard/settings/profile"} {
		if n := testing.AllocsPerRun(100, func() { p.match(path) }); n != 0 {
			t.Errorf("match(%q) allocates %v times", path, n)
		}
	}
}

// BenchmarkRoutePatternsMatch matches paths against ten typical patterns.
func BenchmarkRoutePatternsMatch(b *testing.B) {
	p, err := compileRoutePatterns(benchRoutePatterns)
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name, path string
		want       bool
	}{
		{"literal", "/pricing", true},
		{"prefix", "/sign-up/verify-email-address", true},
		{"param", "/docs/getting-started/install", true},
		{"regexp", "/org/acme/settings", true},
		{"miss", "/dashboard/settings/profile", false},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if p.match(bc.path) != bc.want {
					b.Fatal("wrong answer")
				}
			}
		})
	}
}
