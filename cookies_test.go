package caddyclerk

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/caddy-clerk/caddy-clerk/clerktest"
)

func TestCookieSuffix(t *testing.T) {
	if got := cookieSuffix("pk_live_Y2xlcmsuZXhhbXBsZS5jb20k"); got != "naoXFJnI" {
		t.Errorf("cookieSuffix(clerk-semantics vector) = %q, want %q", got, "naoXFJnI")
	}
	// Every suffix is 8 url-safe base64 characters.
	for _, pk := range []string{
		"pk_test_aGFwcHktaGlwcG8tMTIuY2xlcmsuYWNjb3VudHMuZGV2JA",
		clerktest.PublishableKeyFor("clerk.example.test", false),
		clerktest.PublishableKeyFor("clerk.example.test", true),
		"",
	} {
		got := cookieSuffix(pk)
		if len(got) != 8 || strings.ContainsAny(got, "+/=") {
			t.Errorf("cookieSuffix(%q) = %q, want 8 url-safe characters", pk, got)
		}
	}
	if cookieSuffix("pk_test_a") == cookieSuffix("pk_test_b") {
		t.Errorf("different keys share a suffix")
	}
}

// unitCookieHeader is a request header with one Cookie line per argument.
func unitCookieHeader(lines ...string) http.Header {
	h := http.Header{}
	for _, l := range lines {
		h.Add("Cookie", l)
	}
	return h
}

func TestReadClerkCookies(t *testing.T) {
	const sfx = "naoXFJnI"
	cv := func(v string) cookieValue { return cookieValue{val: v, present: true} }
	for _, tc := range []struct {
		name   string
		lines  []string
		suffix string
		want   clerkCookies
	}{
		{name: "no cookies", want: clerkCookies{}},
		{name: "plain", lines: []string{"__session=tok; __client_uat=123; __clerk_redirect_count=2"},
			want: clerkCookies{session: cv("tok"), clientUAT: cv("123"), redirectCount: cv("2")}},
		{name: "first occurrence wins", lines: []string{"__session=first; __session=second; __client_uat=1; __client_uat=2"},
			want: clerkCookies{session: cv("first"), clientUAT: cv("1")}},
		{name: "first occurrence wins even when empty", lines: []string{"__session=; __session=second"},
			want: clerkCookies{session: cv("")}},
		{name: "spaces and tabs trimmed", lines: []string{" \t__session \t= \ttok\t ;\t__client_uat =  5 "},
			want: clerkCookies{session: cv("tok"), clientUAT: cv("5")}},
		{name: "inner spaces kept", lines: []string{"__session=a b"},
			want: clerkCookies{session: cv("a b")}},
		{name: "percent-decoded", lines: []string{"__session=a%20b%3Dc"},
			want: clerkCookies{session: cv("a b=c")}},
		{name: "plus is not a space", lines: []string{"__session=a+b"},
			want: clerkCookies{session: cv("a+b")}},
		{name: "plus kept when decoding", lines: []string{"__session=a+b%21"},
			want: clerkCookies{session: cv("a+b!")}},
		{name: "bad escape kept", lines: []string{"__session=a%zzb"},
			want: clerkCookies{session: cv("a%zzb")}},
		{name: "lone percent kept", lines: []string{"__session=100%"},
			want: clerkCookies{session: cv("100%")}},
		{name: "truncated escape kept", lines: []string{"__session=a%2"},
			want: clerkCookies{session: cv("a%2")}},
		{name: "escape of invalid UTF-8 kept, as decodeURIComponent throws", lines: []string{"__session=a%FFb"},
			want: clerkCookies{session: cv("a%FFb")}},
		{name: "escaped UTF-8 decoded", lines: []string{"__session=%C3%A9"},
			want: clerkCookies{session: cv("é")}},
		{name: "quotes kept", lines: []string{`__session="tok"; __client_uat="5"`},
			want: clerkCookies{session: cv(`"tok"`), clientUAT: cv(`"5"`)}},
		{name: "value holding =", lines: []string{"__session=a=b=="},
			want: clerkCookies{session: cv("a=b==")}},
		{name: "pair without = skipped", lines: []string{"junk; __session=tok;; =x; __client_uat"},
			want: clerkCookies{session: cv("tok")}},
		{name: "names are case-sensitive", lines: []string{"__Session=a; __CLIENT_UAT=1; __session_x=2"},
			want: clerkCookies{}},
		{name: "multiple Cookie lines", lines: []string{"a=1; __session=one", "__session=two; __client_uat=3"},
			want: clerkCookies{session: cv("one"), clientUAT: cv("3")}},
		{name: "suffixed names", suffix: sfx,
			lines: []string{"__session_" + sfx + "=s; __client_uat_" + sfx + "=5; __refresh_" + sfx + "=r; __session=u"},
			want:  clerkCookies{session: cv("u"), sessionSfx: cv("s"), clientUATSfx: cv("5"), refreshSfx: cv("r")}},
		{name: "suffixed first occurrence wins", suffix: sfx,
			lines: []string{"__session_" + sfx + "=one", "__session_" + sfx + "=two"},
			want:  clerkCookies{sessionSfx: cv("one")}},
		{name: "other suffix ignored", suffix: sfx,
			lines: []string{"__session_AAAAAAAA=s; __client_uat_AAAAAAAA=5; __refresh_AAAAAAAA=r; __session_" + sfx + "x=y"},
			want:  clerkCookies{}},
		{name: "refresh only suffixed", suffix: sfx, lines: []string{"__refresh=r"},
			want: clerkCookies{}},
		{name: "no suffix: suffixed names ignored", suffix: "",
			lines: []string{"__session_" + sfx + "=s; __client_uat_" + sfx + "=5; __refresh_" + sfx + "=r"},
			want:  clerkCookies{}},
		{name: "redirect count never suffixed", suffix: sfx,
			lines: []string{"__clerk_redirect_count_" + sfx + "=1"},
			want:  clerkCookies{}},
		{name: "empty values are present", suffix: sfx,
			lines: []string{"__session=; __client_uat=; __session_" + sfx + "=; __client_uat_" + sfx + "=; __refresh_" + sfx + "="},
			want:  clerkCookies{session: cv(""), clientUAT: cv(""), sessionSfx: cv(""), clientUATSfx: cv(""), refreshSfx: cv("")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := readClerkCookies(unitCookieHeader(tc.lines...), tc.suffix); got != tc.want {
				t.Errorf("readClerkCookies() = %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestParseClientUAT(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
	}{
		{"", 0},
		{"0", 0},
		{"-0", 0},
		{"123", 123},
		{"1700000000", 1700000000},
		{"123abc", 123},
		{"12.9", 12},
		{"1e3", 1},
		{"abc", 0},
		{"0x10", 16},
		{"0X1f", 31},
		{"-0x10", -16},
		{"0x", 0},
		{"0xg", 0},
		{"12ab", 12},
		{"-5", -5},
		{"+7", 7},
		{" 42", 42},
		{"\t\n 42 ", 42},
		{"- 5", 0},
		{"--5", 0},
		{`"5"`, 0},
	} {
		if got := parseClientUAT(tc.in); got != tc.want {
			t.Errorf("parseClientUAT(%q) = %d, want %d", tc.in, got, tc.want)
		}
	}
	// parseInt of a huge decimal is a huge number: never 0, never negative,
	// and larger than any real iat.
	for _, huge := range []string{"99999999999999999999", strings.Repeat("9", 400)} {
		if got := parseClientUAT(huge); got < 1e17 {
			t.Errorf("parseClientUAT(%.30q...) = %d, want a huge positive number", huge, got)
		}
		if got := parseClientUAT("-" + huge); got > -1e17 {
			t.Errorf("parseClientUAT(-%.30q...) = %d, want a huge negative number", huge, got)
		}
	}
}

func TestStripScheme(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"https://clerk.example.com", "clerk.example.com"},
		{"http://clerk.example.com", "clerk.example.com"},
		{"HTTPS://clerk.example.com", "clerk.example.com"},
		{"clerk.example.com", "clerk.example.com"},
		{"https://https://clerk.example.com", "clerk.example.com"},
		{"https://clerk.example.com/https://x", "clerk.example.com/x"},
		{"hthttps://tps://x", "https://x"},
		{"ftp://clerk.example.com", "ftp://clerk.example.com"},
		{"", ""},
	} {
		if got := stripScheme(tc.in); got != tc.want {
			t.Errorf("stripScheme(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestUsesSuffixedCookies(t *testing.T) {
	const s = time.Second
	prodClerk := clerktest.Start(t, clerktest.Options{Live: true})
	devClerk := clerktest.Start(t, clerktest.Options{})

	type cookies struct{ S, Ss, U, Us *string }
	str := func(v string) *string { return &v }
	for _, tc := range []struct {
		name string
		dev  bool
		// build returns the cookies for an instance; nil pointers are absent.
		build func(c *clerktest.Instance) cookies
		want  bool
	}{
		// Rule 1.
		{name: "1: S without iss", build: func(c *clerktest.Instance) cookies {
			return cookies{S: str(unitCookieToken(t, c, 100, map[string]any{"iss": nil})),
				Ss: str(unitCookieToken(t, c, 200, nil)), Us: str("200")}
		}, want: false},
		{name: "1: S with empty iss", build: func(c *clerktest.Instance) cookies {
			return cookies{S: str(unitCookieToken(t, c, 100, map[string]any{"iss": ""})),
				Ss: str(unitCookieToken(t, c, 200, nil)), Us: str("200")}
		}, want: false},
		{name: "1: S with null iss (falsy)", build: func(c *clerktest.Instance) cookies {
			return cookies{S: str(unitCookieToken(t, c, 100, map[string]any{"iss": unitNull})),
				Ss: str(unitCookieToken(t, c, 200, nil)), Us: str("200")}
		}, want: false},
		{name: "1: S undecodable", build: func(c *clerktest.Instance) cookies {
			return cookies{S: str("garbage"), Ss: str(unitCookieToken(t, c, 200, nil)), Us: str("200")}
		}, want: false},
		// Rule 2.
		{name: "2: S from another instance", build: func(c *clerktest.Instance) cookies {
			return cookies{S: str(unitCookieToken(t, c, 100, map[string]any{"iss": "https://clerk.other.test"})), U: str("100")}
		}, want: true},
		{name: "2: S with the FAPI host but a path", build: func(c *clerktest.Instance) cookies {
			return cookies{S: str(unitCookieToken(t, c, 100, map[string]any{"iss": c.Issuer() + "/"})), U: str("100")}
		}, want: true},
		// Rule 3 (and rule 2's scheme stripping: these S are this instance's).
		{name: "3: own S, no suffixed cookies", build: func(c *clerktest.Instance) cookies {
			return cookies{S: str(unitCookieToken(t, c, 100, nil)), U: str("100")}
		}, want: false},
		{name: "3: own S with http iss, no suffixed cookies", build: func(c *clerktest.Instance) cookies {
			return cookies{S: str(unitCookieToken(t, c, 100, map[string]any{"iss": "http://" + c.Host()})), U: str("100")}
		}, want: false},
		{name: "3: own S with upper-case scheme, no suffixed cookies", build: func(c *clerktest.Instance) cookies {
			return cookies{S: str(unitCookieToken(t, c, 100, map[string]any{"iss": "HTTPS://" + c.Host()})), U: str("100")}
		}, want: false},
		{name: "3: no cookies at all", build: func(*clerktest.Instance) cookies { return cookies{} }, want: false},
		{name: "3: empty suffixed cookies count as absent", build: func(c *clerktest.Instance) cookies {
			return cookies{S: str(unitCookieToken(t, c, 100, nil)), U: str("100"), Ss: str(""), Us: str("")}
		}, want: false},
		// Rule 4.
		{name: "4: both signed in, S newer", build: func(c *clerktest.Instance) cookies {
			return cookies{S: str(unitCookieToken(t, c, 200, nil)), U: str("200"),
				Ss: str(unitCookieToken(t, c, 100, nil)), Us: str("100")}
		}, want: false},
		{name: "4 not met: both signed in, Ss newer", build: func(c *clerktest.Instance) cookies {
			return cookies{S: str(unitCookieToken(t, c, 100, nil)), U: str("100"),
				Ss: str(unitCookieToken(t, c, 200, nil)), Us: str("200")}
		}, want: true},
		{name: "4 not met: same iat", build: func(c *clerktest.Instance) cookies {
			return cookies{S: str(unitCookieToken(t, c, 100, nil)), U: str("100"),
				Ss: str(unitCookieToken(t, c, 100, nil)), Us: str("100")}
		}, want: true},
		// Rule 5.
		{name: "5: suffixed signed out, unsuffixed signed in", build: func(c *clerktest.Instance) cookies {
			return cookies{Ss: str(unitCookieToken(t, c, 200, nil)), Us: str("0"), U: str("5")}
		}, want: false},
		{name: "5: suffixed signed out, unsuffixed uat missing", build: func(c *clerktest.Instance) cookies {
			return cookies{Us: str("0")}
		}, want: false},
		{name: "5 not met: both signed out", build: func(c *clerktest.Instance) cookies {
			return cookies{Us: str("0"), U: str("0")}
		}, want: true},
		// Rule 6 (development only).
		{name: "6: dev, Ss expired", dev: true, build: func(c *clerktest.Instance) cookies {
			return cookies{Ss: str(unitCookieTokenExp(t, c, unitSec(-s))), Us: str("5"), U: str("0")}
		}, want: false},
		{name: "6: dev, Ss expiring now", dev: true, build: func(c *clerktest.Instance) cookies {
			return cookies{Ss: str(unitCookieTokenExp(t, c, unitSec(0))), Us: str("5"), U: str("0")}
		}, want: false},
		{name: "6 not met: dev, Ss still valid", dev: true, build: func(c *clerktest.Instance) cookies {
			return cookies{Ss: str(unitCookieTokenExp(t, c, unitSec(s))), Us: str("5"), U: str("0")}
		}, want: true},
		{name: "6 not met: production, Ss expired", build: func(c *clerktest.Instance) cookies {
			return cookies{Ss: str(unitCookieTokenExp(t, c, unitSec(-s))), Us: str("5"), U: str("0")}
		}, want: true},
		// Rule 7.
		{name: "7: Ss without Us", build: func(c *clerktest.Instance) cookies {
			return cookies{Ss: str(unitCookieToken(t, c, 100, nil)), U: str("100")}
		}, want: false},
		{name: "7: Ss with an empty Us", build: func(c *clerktest.Instance) cookies {
			return cookies{Ss: str(unitCookieToken(t, c, 100, nil)), Us: str("")}
		}, want: false},
		// Rule 8.
		{name: "8: Ss and Us", build: func(c *clerktest.Instance) cookies {
			return cookies{Ss: str(unitCookieToken(t, c, 100, nil)), Us: str("100")}
		}, want: true},
		{name: "8: Us only", build: func(c *clerktest.Instance) cookies {
			return cookies{Us: str("100")}
		}, want: true},
		{name: "8: dev, Ss and Us", dev: true, build: func(c *clerktest.Instance) cookies {
			return cookies{Ss: str(unitCookieToken(t, c, 100, nil)), Us: str("100")}
		}, want: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clerk := prodClerk
			if tc.dev {
				clerk = devClerk
			}
			inst, err := parsePublishableKey(clerk.PublishableKey())
			if err != nil {
				t.Fatal(err)
			}
			if inst.production == tc.dev {
				t.Fatalf("test setup: production = %v", inst.production)
			}
			ck := tc.build(clerk)
			var pairs []string
			for _, p := range []struct {
				name string
				v    *string
			}{{"__session", ck.S}, {"__session_" + inst.suffix, ck.Ss}, {"__client_uat", ck.U}, {"__client_uat_" + inst.suffix, ck.Us}} {
				if p.v != nil {
					pairs = append(pairs, p.name+"="+*p.v)
				}
			}
			c := readClerkCookies(unitCookieHeader(strings.Join(pairs, "; ")), inst.suffix)
			if got := inst.usesSuffixedCookies(&c, unitNow.Unix(), unitPeek); got != tc.want {
				t.Errorf("usesSuffixedCookies() = %v, want %v", got, tc.want)
			}
		})
	}

	// Without a publishable key there is no suffix to use.
	noSuffix := &instance{frontendHost: "clerk.example.test"}
	c := readClerkCookies(unitCookieHeader("__client_uat_x=1"), "")
	if noSuffix.usesSuffixedCookies(&c, unitNow.Unix(), unitPeek) {
		t.Errorf("usesSuffixedCookies() without a suffix = true")
	}
}

// unitNull is a JSON null claim value for unitMerge.
var unitNull = json.RawMessage("null")

// unitCookieToken is a session token of the instance issued at iat (Unix
// seconds), with claim overrides.
func unitCookieToken(t *testing.T, c *clerktest.Instance, iat int64, claims map[string]any) string {
	t.Helper()
	all := map[string]any{"iat": iat, "nbf": iat}
	for k, v := range claims {
		all[k] = v
	}
	return unitToken(t, c, nil, all)
}

// unitCookieTokenExp is a session token of the instance expiring at exp.
func unitCookieTokenExp(t *testing.T, c *clerktest.Instance, exp float64) string {
	t.Helper()
	return unitToken(t, c, nil, map[string]any{"exp": exp})
}

// unitPeek reads unverified cookie claims the way the authenticator does,
// without a token cache.
func unitPeek(raw string) *tokenFacts {
	return (&authenticator{verifier: &verifier{}}).peek(raw)
}
