package caddyclerk

import (
	"context"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/caddy-clerk/caddy-clerk/clerktest"
)

func TestFormEncoding(t *testing.T) {
	// URLSearchParams: alphanumerics and *-._ stay, space is +, the rest %XX.
	if got := formEncode([][2]string{{"a b", "~*-._!'()+/?=&%é"}}); got != "a+b=%7E*-._%21%27%28%29%2B%2F%3F%3D%26%25%C3%A9" {
		t.Errorf("formEncode = %q", got)
	}
	for _, tc := range []struct {
		in   string
		want [][2]string
	}{
		{"", nil},
		{"a=1&b=2", [][2]string{{"a", "1"}, {"b", "2"}}},
		{"a", [][2]string{{"a", ""}}},
		{"&&a=1&", [][2]string{{"a", "1"}}},
		{"a+b=c%20d", [][2]string{{"a b", "c d"}}},
		{"a=%zz&b=%4", [][2]string{{"a", "%zz"}, {"b", "%4"}}}, // invalid escapes stay
		{"a=%ff", [][2]string{{"a", "\uFFFD"}}},
		{"a=b=c;d", [][2]string{{"a", "b=c;d"}}},
		{"%5F%5Fclerk_handshake=x", [][2]string{{"__clerk_handshake", "x"}}},
	} {
		if got := formDecode(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("formDecode(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestReadClerkParams(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want clerkParams
	}{
		{"", clerkParams{}},
		{"a=1", clerkParams{}},
		{"__clerk_handshake=t&__clerk_handshake_nonce=n", clerkParams{handshake: "t", nonce: "n"}},
		{"__clerk_handshake=first&__clerk_handshake=second", clerkParams{handshake: "first"}},
		{"__clerk_handshake=&__clerk_handshake=second", clerkParams{}}, // get() returns the first, empty
		{"__clerk_db_jwt", clerkParams{hasDevBrowser: true}},
		{"__clerk_db_jwt=dvb", clerkParams{hasDevBrowser: true, devBrowser: "dvb"}},
		{"%5f%5fclerk_db_jwt=dvb", clerkParams{hasDevBrowser: true, devBrowser: "dvb"}},
		{"__clerk_redirect_url=https%3A%2F%2Fx", clerkParams{redirectURL: "https://x"}},
	} {
		if got := readClerkParams(tc.in); got != tc.want {
			t.Errorf("readClerkParams(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

func TestStripHandshake(t *testing.T) {
	const sfx = "naoXFJnI"
	for _, tc := range []struct {
		target, cookie string
		wantURI        string
		wantCookie     []string // nil: no Cookie header
	}{
		{"/p?a=1", "a=1", "/p?a=1", []string{"a=1"}},
		{"/p?a=%20&__clerk_handshake=x&b=+&__clerk_help=1", "", "/p?a=%20&b=+", nil},
		{"/p?__clerk_handshake_nonce=n", "", "/p", nil},
		{"/p?%5F%5Fclerk_db_jwt=d&k=v", "", "/p?k=v", nil},
		{"/p?__clerk_redirect_url=x&__session=y", "", "/p?__clerk_redirect_url=x&__session=y", nil}, // not handshake parameters
		{"/p", "a=1; __clerk_handshake=x;b=2; __clerk_db_jwt_" + sfx + "=d;  __clerk_handshake_nonce=n", "/p", []string{"a=1; b=2"}},
		{"/p", "__clerk_db_jwt=d", "/p", nil},
		{"/p", "__clerk_db_jwt_other=d; __session=s; __clerk_redirect_count=1", "/p",
			[]string{"__clerk_db_jwt_other=d; __session=s; __clerk_redirect_count=1"}},
	} {
		r := httptest.NewRequest(http.MethodGet, tc.target, nil)
		if tc.cookie != "" {
			r.Header.Set("Cookie", tc.cookie)
		}
		orig := *r
		u := *r.URL
		orig.URL = &u
		r = r.WithContext(context.WithValue(r.Context(), caddyhttp.OriginalRequestCtxKey, orig))
		stripHandshake(r, sfx)
		if r.RequestURI != tc.wantURI || r.URL.RequestURI() != tc.wantURI || orig.URL.RequestURI() != tc.wantURI {
			t.Errorf("%s: URI %q / %q / original %q, want %q", tc.target, r.RequestURI, r.URL.RequestURI(), orig.URL.RequestURI(), tc.wantURI)
		}
		if got := r.Header["Cookie"]; !slices.Equal(got, tc.wantCookie) {
			t.Errorf("%s %q: Cookie %q, want %q", tc.target, tc.cookie, got, tc.wantCookie)
		}
	}
}

func TestCheckDirectives(t *testing.T) {
	inst, _ := parsePublishableKey(clerktest.PublishableKeyFor("clerk.example.com", true))
	sfx := inst.suffix
	a := &authenticator{inst: inst, hs: &handshaker{logger: zap.NewNop()}}
	in := []string{
		"__session=a; Path=/",
		"__session_" + sfx + "=b; Path=/; Secure",
		"__client_uat=1; Path=/; Domain=example.com",
		"__client_uat_" + sfx + "=1",
		"__refresh_" + sfx + "=r; HttpOnly",
		"__clerk_db_jwt=d", "__clerk_db_jwt_" + sfx + "=d",
		"__clerk_handshake=; Max-Age=0", "__clerk_handshake_nonce=x; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
		"__clerk_redirect_count=; Path=/",
		// Dropped:
		"evil=1", "__session_other=c", "__refresh=r", "__client=x", "__clerk_handshake=again",
		"__clerk_redirect_count=0", "__session=x\r\nSet-Cookie: evil=1", "__session=x\x00", "no equals sign",
		"__session=" + strings.Repeat("x", maxDirectiveLength),
	}
	keep, session := a.checkDirectives(in)
	if want := in[:10]; !slices.Equal(keep, want) {
		t.Errorf("kept\n%q\nwant\n%q", keep, want)
	}
	if session != "b" {
		t.Errorf("session = %q, want the last __session directive's value b", session)
	}
	// Without a publishable key there is no suffix: only unsuffixed names.
	keep, _ = (&authenticator{}).checkDirectives([]string{"__session=a", "__session_=b", "__client_uat_x=1"})
	if !slices.Equal(keep, []string{"__session=a"}) {
		t.Errorf("without a suffix: %q", keep)
	}
}

func TestHandshakeRedirectURL(t *testing.T) {
	env := unitNewAuthEnv(t)
	for _, tc := range []struct{ fapi, want string }{
		{"https://clerk.example.test", "https://clerk.example.test/v1/client/handshake?"},
		{"https://clerk.example.test///", "https://clerk.example.test/v1/client/handshake?"},
		{"https://app.example.test/__clerk", "https://app.example.test/__clerk/v1/client/handshake?"},
		{"http://127.0.0.1:4000/", "http://127.0.0.1:4000/v1/client/handshake?"},
	} {
		hs, err := newHandshaker(tc.fapi, true, zap.NewNop())
		if err != nil {
			t.Fatal(err)
		}
		a := &authenticator{verifier: env.auth.verifier, inst: env.inst, hs: hs}
		r := unitReq{target: "https://app.example.test/a%20b?x=1&__clerk_db_jwt=d&__dev_session=s&y=a%20b", headers: map[string]string{"Accept": "text/html"},
			cookies: []string{"__client_uat=1"}}.build()
		res := a.authenticate(r)
		want := tc.want + "redirect_url=https%3A%2F%2Fapp.example.test%2Fa%2520b%3Fx%3D1%26y%3Da%2Bb&__clerk_api_version=2026-05-12" +
			"&suffixed_cookies=false&__clerk_hs_reason=client-uat-but-no-session-token&format=nonce"
		if res.status != statusHandshake || res.response == nil || res.response.location != want {
			t.Errorf("%s: %+v\n got %v\nwant %s", tc.fapi, res, res.response, want)
		}
	}
	hs, _ := newHandshaker("https://clerk.example.test", false, zap.NewNop())
	if hs.format != "token" {
		t.Errorf("without a secret key the format is %q, want token", hs.format)
	}
}

func TestJSNumberString(t *testing.T) {
	for _, tc := range []struct {
		in   float64
		want string
	}{
		{1, "1"}, {3, "3"}, {0, "0"}, {-1, "-1"}, {2.5, "2.5"}, {1e21, "1e+21"}, {1e20, "100000000000000000000"},
		{math.Inf(1), "Infinity"}, {math.Inf(-1), "-Infinity"}, {1e-7, "1e-7"},
	} {
		if got := jsNumberString(tc.in); got != tc.want {
			t.Errorf("jsNumberString(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestJSValueOf(t *testing.T) {
	nan := math.NaN()
	for _, tc := range []struct {
		raw    string
		num    float64
		truthy bool
	}{
		{`null`, 0, false}, {`true`, 1, true}, {`false`, 0, false}, {`0`, 0, false}, {`5`, 5, true},
		{`""`, 0, false}, {`"1"`, 1, true}, {`" 0x10 "`, 16, true}, {`"abc"`, nan, true}, {`"1e3"`, 1000, true},
		{`[]`, 0, true}, {`[7]`, 7, true}, {`["8"]`, 8, true}, {`[null]`, 0, true}, {`[1,2]`, nan, true},
		{`{}`, nan, true}, {``, nan, false},
	} {
		got := jsValueOf([]byte(tc.raw))
		if got.truthy != tc.truthy || (got.num != tc.num && !(math.IsNaN(got.num) && math.IsNaN(tc.num))) {
			t.Errorf("jsValueOf(%s) = %+v, want {%v %v}", tc.raw, got, tc.num, tc.truthy)
		}
	}
}

func TestIsDevAccountPortalHost(t *testing.T) {
	for host, want := range map[string]bool{
		"happy-hippo-12.accounts.dev":       true,
		"x.accountsstage.dev":               true,
		"x.accounts.lclclerk.com":           true,
		"accounts.foo.lcl.dev":              true,
		"happy-hippo-12.clerk.accounts.dev": false, // the Frontend API, not the portal
		"accounts.dev.evil.example":         false,
		"foo.lcl.dev":                       false,
		"accounts.example.com":              false,
	} {
		if got := isDevAccountPortalHost(host); got != want {
			t.Errorf("isDevAccountPortalHost(%q) = %v, want %v", host, got, want)
		}
	}
}

// FuzzHandshakeInput feeds arbitrary queries, cookies and directives to
// the handshake's parsers: nothing panics, stripping leaves no handshake
// parameter or cookie behind, and kept directives only set Clerk's cookies.
func FuzzHandshakeInput(f *testing.F) {
	for _, s := range []string{"__clerk_handshake=x&a=1", "%5F%5Fclerk_db_jwt=%ZZ&&=", "a=b=c;__clerk_help", "__session=x; Path=/",
		"__clerk_handshake=; Max-Age=0", "evil=1\r\nx: y"} {
		f.Add(s, s)
	}
	inst, _ := parsePublishableKey(clerktest.PublishableKeyFor("clerk.example.com", false))
	a := &authenticator{inst: inst}
	f.Fuzz(func(t *testing.T, query, cookie string) {
		_ = readClerkParams(query)
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.URL.RawQuery = query
		r.Header.Set("Cookie", cookie)
		stripHandshake(r, inst.suffix)
		for _, kv := range formDecode(r.URL.RawQuery) {
			switch kv[0] {
			case cookieHandshake, cookieHandshakeNonce, cookieDevBrowser, paramHandshakeHelp:
				t.Fatalf("%q left in the query %q", kv[0], r.URL.RawQuery)
			}
		}
		c := readClerkCookies(r.Header, inst.suffix)
		if c.handshake.present || c.handshakeNonce.present || c.devBrowser.present || c.devBrowserSfx.present {
			t.Fatalf("a handshake cookie is left in %q", r.Header["Cookie"])
		}
		keep, _ := a.checkDirectives([]string{cookie, query})
		for _, d := range keep {
			name, _, _ := strings.Cut(d, "=")
			if !strings.HasPrefix(strings.TrimSpace(name), "__") || strings.ContainsAny(d, "\r\n\x00") {
				t.Fatalf("kept %q", d)
			}
		}
		_, _ = url.ParseQuery(r.URL.RawQuery)
	})
}

func TestNonceGuards(t *testing.T) {
	for n, want := range map[string]bool{"": true, "hsn_2x9KQ": true, "nonce_1": true, "a.b-c": true,
		"a b": false, "a%20b": false, "<script>": false, strings.Repeat("n", 257): false} {
		if got := plausibleNonce(n); got != want {
			t.Errorf("plausibleNonce(%.20q) = %v", n, got)
		}
	}
	l := newRateLimiter(3)
	now := time.Unix(1000, 0)
	var allowed int
	for range 10 {
		if l.allow(now) {
			allowed++
		}
	}
	if allowed != 3 {
		t.Errorf("a burst allowed %d, want 3", allowed)
	}
	if !l.allow(now.Add(400*time.Millisecond)) || l.allow(now.Add(400*time.Millisecond)) {
		t.Error("the bucket does not refill at its rate")
	}
}

func TestKnownClerkReferer(t *testing.T) {
	inst, _ := parsePublishableKey(clerktest.PublishableKeyFor("clerk.app.test", false))
	hs, _ := newHandshaker("http://clerk.app.test:4000", true, zap.NewNop())
	a := &authenticator{inst: inst, hs: hs}
	for ref, want := range map[string]bool{
		"https://clerk.app.test/x":        true,  // the publishable key's Frontend API
		"http://clerk.app.test:9/x":       true,  // host names compare, as in Clerk
		"https://accounts.app.test/in":    true,  // its accounts portal
		"http://accounts.app.test:4000/x": true,  // the accounts portal beside frontend_api
		"http://accounts.app.test:4001/x": false, // another origin
		"https://x.accounts.dev/":         true,  // development account portals
		"https://app.test/":               false,
	} {
		u, _ := url.Parse(ref)
		if got := a.knownClerkReferer(u); got != want {
			t.Errorf("knownClerkReferer(%s) = %v, want %v", ref, got, want)
		}
	}
}
