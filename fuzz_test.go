package caddyclerk

// Fuzz targets for everything that reads untrusted input. `go test` runs
// their seeds (and testdata/fuzz corpora); `go test -fuzz FuzzX` explores.

import (
	"bytes"
	"context"
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

// fuzzKey is one RSA key shared by the fuzz targets (generated once).
var fuzzKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// fuzzSign signs header and claims JSON as a compact RS256 JWS.
func fuzzSign(header, claims string) string {
	enc := base64.RawURLEncoding
	input := enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString([]byte(claims))
	sum := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(nil, fuzzKey(), crypto.SHA256, sum[:])
	if err != nil {
		panic(err)
	}
	return input + "." + enc.EncodeToString(sig)
}

const fuzzNow = 1_700_000_000

func fuzzVerifier() *verifier {
	return &verifier{
		keys:       staticKey{verificationKey{pub: &fuzzKey().PublicKey}},
		issuer:     "https://clerk.example.com",
		skewMillis: 5000,
		now:        func() time.Time { return time.Unix(fuzzNow, 0) },
	}
}

// FuzzParseToken: decoding never panics, and whatever decodes is a
// three-part compact JWS within the size limit.
func FuzzParseToken(f *testing.F) {
	f.Add(fuzzSign(`{"alg":"RS256","typ":"JWT"}`, `{"sub":"user_1","exp":1700000060}`))
	for _, s := range []string{"", ".", "..", "a.b.c", "e30.e30.", "e30=.e30==.AA", "W10.W10.", strings.Repeat("A", 100) + ".e30.x",
		"eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.", "e30.eyJleHAiOjFlNDAwfQ.x", "e30.eyJzdWIiOm51bGx9.x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		tok, err := parseToken(raw)
		if err != nil {
			return
		}
		if len(raw) > maxTokenLength || strings.Count(raw, ".") != 2 {
			t.Fatalf("accepted a token of %d bytes with %d dots", len(raw), strings.Count(raw, "."))
		}
		_ = tok.isMachineJWT()
		_ = tok.hasNonSessionCategory()
		if _, err := newSession(tok); err == nil {
			_ = claimAt(tok.payload, "a.b")
		}
	})
}

// FuzzVerifySignedClaims: any claims we sign either verify or fail with one
// of Clerk's reasons, and a token that verifies carries a string sub and a
// numeric, unexpired exp.
func FuzzVerifySignedClaims(f *testing.F) {
	f.Add(`{"alg":"RS256","typ":"JWT"}`, `{"sub":"user_1","iss":"https://clerk.example.com","exp":1700000060}`)
	f.Add(`{"alg":"RS256"}`, `{"sub":"user_1","iss":"https://clerk.example.com","exp":1700000060,"nbf":1700000005,"iat":1.5}`)
	f.Add(`{"alg":"RS384"}`, `{"sub":1,"exp":"1"}`)
	f.Add(`{"alg":"RS256","cat":"cl_B7d4PD333AAA"}`, `{"sub":"mch_1"}`)
	f.Add(`{"alg":"RS256","typ":null}`, `{"sub":"u","iss":"https://clerk.example.com","exp":1e400}`)
	f.Add(`{"alg":"RS256"}`, `{"sub":"u","iss":"https://clerk.example.com","exp":1700000060,"v":2,"o":{"id":"org_1","rol":"admin","per":"a,b","fpm":"3"},"fea":"o:x"}`)
	v := fuzzVerifier()
	reasons := map[string]bool{reasonTokenInvalid: true, reasonTokenInvalidAlgorithm: true, reasonTokenVerificationFails: true,
		reasonTokenInvalidSignature: true, reasonTokenInvalidIssuer: true, reasonTokenExpired: true,
		reasonTokenNotActiveYet: true, reasonTokenIatInTheFuture: true, reasonTokenInvalidAZP: true}
	f.Fuzz(func(t *testing.T, header, claims string) {
		tok, err := parseToken(fuzzSign(header, claims))
		if err != nil {
			return
		}
		_, reason := v.verify(context.Background(), tok)
		if reason != "" {
			if !reasons[reason] {
				t.Fatalf("unexpected reason %q", reason)
			}
			return
		}
		c := tok.claims
		if !c.Sub.isStr || !c.Exp.isNum || c.Exp.millis() <= float64(fuzzNow*1000-5000) || c.Iss.str() != v.issuer {
			t.Fatalf("verified claims that must fail: %s", claims)
		}
		if _, err := newSession(tok); err != nil {
			return // Clerk fails such tokens when it builds the auth object
		}
	})
}

// FuzzTamperedToken: changing any byte of a valid token never yields a
// token that verifies with different header or claims.
func FuzzTamperedToken(f *testing.F) {
	valid := fuzzSign(`{"alg":"RS256","typ":"JWT"}`, `{"sub":"user_1","iss":"https://clerk.example.com","exp":1700000060}`)
	f.Add(0, byte('x'))
	f.Add(len(valid)-1, byte('A'))
	f.Add(strings.IndexByte(valid, '.'), byte('='))
	v := fuzzVerifier()
	orig, _ := parseToken(valid)
	f.Fuzz(func(t *testing.T, pos int, b byte) {
		if pos < 0 || pos >= len(valid) || valid[pos] == b {
			return
		}
		raw := valid[:pos] + string(b) + valid[pos+1:]
		tok, err := parseToken(raw)
		if err != nil {
			return
		}
		if _, reason := v.verify(context.Background(), tok); reason == "" {
			if !bytes.Equal(tok.payload, orig.payload) || tok.header != orig.header {
				t.Fatalf("tampered token %q verified with other content", raw)
			}
		}
	})
}

// FuzzReadClerkCookies: cookie parsing never panics, and a cookie it
// reports was present in the header under that name.
func FuzzReadClerkCookies(f *testing.F) {
	sfx := cookieSuffix("pk_live_Y2xlcmsuZXhhbXBsZS5jb20k")
	for _, s := range []string{"__session=a; __client_uat=1", "__session=a; __session=b", " __session = a%20b ;", "__session=%ZZ",
		"__session_" + sfx + "=x; __client_uat_" + sfx + "=0; __refresh_" + sfx + "=r", "=;;=;__session", "__clerk_redirect_count=3"} {
		f.Add(s)
	}
	inst, _ := parsePublishableKey("pk_live_Y2xlcmsuZXhhbXBsZS5jb20k")
	a := &authenticator{verifier: fuzzVerifier(), inst: inst}
	f.Fuzz(func(t *testing.T, header string) {
		h := http.Header{"Cookie": {header}}
		c := readClerkCookies(h, sfx)
		if c.session.present && !strings.Contains(header, cookieSession) {
			t.Fatalf("__session found in %q", header)
		}
		_ = inst.usesSuffixedCookies(&c, fuzzNow, a.peek)
		_ = parseClientUAT(c.clientUAT.val)
		_ = jsNumberOrZero(c.redirectCount.val)
	})
}

// FuzzRoutePatterns: compiling never panics, and for patterns made only of
// literal segments and a final (.*) the compiled matcher agrees with a plain
// reference regexp built by hand.
func FuzzRoutePatterns(f *testing.F) {
	for _, s := range [][2]string{{"/sign-in(.*)", "/sign-in/x"}, {"/dashboard", "/Dashboard/"}, {"/org/:slug", "/org/a"},
		{"/a/:b*", "/a"}, {"/{x}?", "/"}, {"/a(", "/a"}, {"/api/(.*)", "/api"}, {"/k", "/\u212a"}} {
		f.Add(s[0], s[1])
	}
	literal := regexp.MustCompile(`^(/[a-z0-9-]+)+(\(\.\*\))?$`)
	f.Fuzz(func(t *testing.T, pattern, path string) {
		p, err := compileRoutePatterns([]string{pattern})
		if err != nil {
			return
		}
		got := p.match(path)
		if !literal.MatchString(pattern) {
			return
		}
		prefix, wildcard := strings.CutSuffix(pattern, "(.*)")
		ref := "^" + regexp.QuoteMeta(prefix)
		if wildcard {
			ref += "[^\n\r\u2028\u2029]*"
		}
		ref += "[/#?]?$"
		want := regexp.MustCompile(ref).MatchString(asciiLowerOnly(path))
		if got != want {
			t.Fatalf("pattern %q path %q: got %v, reference %v", pattern, path, got, want)
		}
	})
}

// asciiLowerOnly lower-cases ASCII letters only, as JavaScript's case
// folding without the u flag does for the ASCII patterns of the reference.
func asciiLowerOnly(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// FuzzCleanRoutePath: cleaning never panics; a clean path starts with "/",
// has no dot segments and no repeated slashes.
func FuzzCleanRoutePath(f *testing.F) {
	for _, s := range []string{"/", "//a/../b", "/%2e%2e/x", "/a%2fb", "/%c0%ae", "/a;b", "*", "/a/./b/."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, escaped string) {
		clean, _, err := cleanEscapedRoutePath(escaped)
		if err != nil {
			return
		}
		if !strings.HasPrefix(clean, "/") || strings.Contains(clean, "//") ||
			strings.Contains(clean+"/", "/../") || strings.Contains(clean+"/", "/./") {
			t.Fatalf("%q cleaned to %q", escaped, clean)
		}
		if u, err := url.Parse("http://h" + escaped); err == nil && u.Path != "" {
			_, _, _ = cleanRoutePath(u)
		}
	})
}

// FuzzUnmarshalCaddyfile: the clerk_auth block and the clerk matcher never
// panic on any input.
func FuzzUnmarshalCaddyfile(f *testing.F) {
	for _, s := range []string{
		"clerk_auth {\n\tpublishable_key pk_test_Y2xlcmsuZXhhbXBsZS5jb20k\n}",
		"clerk_auth {\n\tpublic_routes / /a(.*)\n\trequire role admin\n\tclock_skew 1s\n}",
		"clerk_auth {\n\tjwt_key `-----BEGIN`\n}", "clerk_auth {\n\trequire\n}", "clerk_auth x", "clerk_auth {\n\t{\n}",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, input string) {
		if d, ok := fuzzDispenser(input); ok {
			var c ClerkAuth
			_ = c.UnmarshalCaddyfile(d)
			if _, err := json.Marshal(c); err != nil {
				t.Fatal(err)
			}
		}
		if d, ok := fuzzDispenser(strings.Replace(input, "clerk_auth", "clerk", 1)); ok {
			var m MatchClerk
			_ = m.UnmarshalCaddyfile(d)
		}
	})
}

// fuzzDispenser tokenizes input as Caddy does before any directive sees it;
// input the lexer refuses (a bad heredoc marker, an open quote) never reaches
// a directive. caddyfile.NewTestDispenser would end the process on it.
func fuzzDispenser(input string) (*caddyfile.Dispenser, bool) {
	tokens, err := caddyfile.Tokenize([]byte(input), "Caddyfile")
	if err != nil {
		return nil, false
	}
	return caddyfile.NewDispenser(tokens), true
}

// FuzzUnmarshalWebhookCaddyfile: the clerk_webhook block never panics, and
// whatever it accepts has a secret, only well-formed literal secrets and a
// bounded max_body.
func FuzzUnmarshalWebhookCaddyfile(f *testing.F) {
	secret := "whsec_" + base64.StdEncoding.EncodeToString([]byte("fuzz-webhook-secret-32-bytes-long"))
	for _, s := range []string{
		"clerk_webhook {\n\tsecret " + secret + "\n}",
		"clerk_webhook {\n\tsecret " + secret + " {env.SECOND}\n\tmax_body 64KiB\n\tpublishable_key pk_test_Y2xlcmsuZXhhbXBsZS5jb20k\n}",
		"clerk_webhook {\n\tsecret {env.WHSEC}\n\tissuer https://clerk.example.com\n\tissuer https://x\n}",
		"clerk_webhook {\n\tsecret whsec_!!\n\tmax_body 0\n}", "clerk_webhook {\n\tmax_body 2TiB\n}", "clerk_webhook x", "clerk_webhook {\n\t{\n}",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, input string) {
		d, ok := fuzzDispenser(input)
		var wh ClerkWebhook
		if !ok || wh.UnmarshalCaddyfile(d) != nil {
			return
		}
		if len(wh.Secrets) == 0 || wh.MaxBody < 0 || wh.MaxBody > 1<<40 {
			t.Fatalf("accepted %q as %+v", input, wh)
		}
		for _, s := range wh.Secrets {
			if _, err := decodeWebhookSecret(s); err != nil && !strings.Contains(s, "{") {
				t.Fatalf("accepted the malformed secret %q", s)
			}
		}
		if _, err := json.Marshal(wh); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzSvixHeaders: Svix header parsing never panics, and whatever verifies
// was signed with the key over exactly this id, timestamp and body.
func FuzzSvixHeaders(f *testing.F) {
	key := []byte("fuzz-webhook-secret")
	sign := func(id, ts string, body []byte) string {
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(id + "." + ts + "."))
		mac.Write(body)
		return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	}
	ts := strconv.FormatInt(fuzzNow, 10)
	f.Add("msg_1", ts, sign("msg_1", ts, []byte(`{"type":"user.created"}`)), []byte(`{"type":"user.created"}`))
	f.Add("msg_2", ts, "v1,AAAA v2,xyz "+sign("msg_2", ts, nil), []byte(nil))
	f.Add("", "", "", []byte("x"))
	f.Add("msg_3", "-1", "v1,", []byte("{}"))
	f.Add("msg_4", "17000000000000000000000", "v1,====", []byte("{}"))
	f.Fuzz(func(t *testing.T, id, timestamp, signature string, body []byte) {
		h := http.Header{}
		h.Set("Svix-Id", id)
		h.Set("Svix-Timestamp", timestamp)
		h.Set("Svix-Signature", signature)
		msg, rej := verifySvix([][]byte{key}, h, body, time.Unix(fuzzNow, 0))
		if rej != nil {
			return
		}
		if msg.id != id || !strings.Contains(signature, sign(id, timestamp, body)[3:]) {
			t.Fatalf("verified a message not signed with the key: id %q ts %q sig %q", id, timestamp, signature)
		}
	})
}
