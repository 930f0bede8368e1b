package caddyclerk

// Attack corpus (issue 8, item 2): hostile requests through a real Caddy,
// each with the answer it must get and why. A case that fails here is a
// bypass or a hardening gap, never a flaky expectation: see SECURITY.md.

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/fcgi"
	"net/http/httptest"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddy-clerk/caddy-clerk/clerktest"
)

// attack is one hostile request: the exchange and the reason for its answer.
type attack struct {
	why string
	exchange
}

func runAttacks(t *testing.T, attacks []attack) {
	t.Helper()
	ex := make([]exchange, len(attacks))
	for i, a := range attacks {
		if a.why == "" {
			t.Fatalf("attack %q has no why", a.name)
		}
		ex[i] = a.exchange
	}
	runExchanges(t, ex)
}

// dumpHandler answers with every request header it got, one per line,
// sorted, so that forged or injected headers show in the body.
func dumpHandler(tag string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var lines []string
		for name, vals := range r.Header {
			for _, v := range vals {
				lines = append(lines, name+": "+v)
			}
		}
		sort.Strings(lines)
		fmt.Fprintf(w, "%s %s\n%s\n", tag, r.URL.Path, strings.Join(lines, "\n"))
	})
}

func mergeHeaders(hs ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, h := range hs {
		for k, v := range h {
			out[k] = v
		}
	}
	return out
}

// b64 is base64url without padding, as in a compact JWS.
func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// rawRS256 signs the exact header and payload JSON texts with key.
func rawRS256(t *testing.T, key *rsa.PrivateKey, header, payload string) string {
	t.Helper()
	input := b64(header) + "." + b64(payload)
	d := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, d[:])
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func TestIntegrationAttack(t *testing.T) {
	api := map[string]string{"Accept": "application/json"}
	page := map[string]string{"Accept": "text/html", "Sec-Fetch-Dest": "document"}
	auth := func(tok string) map[string]string { return mergeHeaders(api, bearer(tok)) }
	notEvil := []string{"user_evil"}

	// Upstreams: a plain HTTP one and a FastCGI one (Caddy's php_fastcgi
	// transport), both printing every header they receive.
	dump := httptest.NewServer(dumpHandler("upstream"))
	defer dump.Close()
	fcgiLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer fcgiLn.Close()
	go fcgi.Serve(fcgiLn, dumpHandler("fastcgi")) //nolint:errcheck // ends when the listener closes

	// A key server that counts every hit: jku/x5u must never be fetched.
	var keyHits atomic.Int64
	keyServer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		keyHits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"keys":[]}`)
	}))
	defer keyServer.Close()

	otherKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	otherJWK := map[string]any{"kty": "RSA", "kid": "attacker", "alg": "RS256", "use": "sig",
		"n": base64.RawURLEncoding.EncodeToString(otherKey.N.Bytes()),
		"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(otherKey.E)).Bytes())}

	kid := itClerk.KeyID()
	hdr := func(mod map[string]any) map[string]any {
		h := map[string]any{"alg": "RS256", "kid": kid, "typ": "JWT", "cat": clerktest.SessionCategory}
		for k, v := range mod {
			if v == nil {
				delete(h, k)
			} else {
				h[k] = v
			}
		}
		return h
	}
	claims := func(mod map[string]any) map[string]any {
		return itClerk.SessionClaims(clerktest.Session{UserID: "user_evil", SessionID: "sess_evil", Claims: mod})
	}
	sign := func(h, c map[string]any) string { return itClerk.Sign(hdr(h), claims(c)) }
	foreign := func(h map[string]any) string {
		return itClerk.MintWithKey(otherKey, "", clerktest.Session{UserID: "user_evil", Header: h})
	}
	now := time.Now()
	num := func(s string) json.Number { return json.Number(s) }
	inMinute := fmt.Sprint(now.Add(time.Minute).Unix())

	good := itClerk.Mint(clerktest.Session{UserID: "user_good", SessionID: "sess_good",
		Org: &clerktest.Org{ID: "org_good", Role: "member"}})
	expired := itClerk.Mint(clerktest.Session{UserID: "user_evil", IssuedAt: now.Add(-2 * time.Minute),
		NotBefore: now.Add(-2 * time.Minute), Expiry: now.Add(-time.Minute)})
	other := clerktest.Start(t, clerktest.Options{Host: "clerk.other.test", Live: true})
	otherTok := other.Mint(clerktest.Session{UserID: "user_evil"})

	// Structures that stress the parser while staying a valid, signed token.
	var deep any = "x"
	for i := 0; i < 3000; i++ {
		deep = []any{deep}
	}
	bigPad := strings.Repeat("A", 17<<10)
	sigOf := func(tok string) string { return tok[strings.LastIndexByte(tok, '.')+1:] }
	withSig := func(tok, sig string) string { return tok[:strings.LastIndexByte(tok, '.')+1] + sig }
	forgedSig64 := base64.RawURLEncoding.EncodeToString(make([]byte, 64))

	loadConfig(t, fmt.Sprintf(`http://localhost:9080 {
	clerk_auth {
		%s
		public_routes /public(.*) /echo/public(.*) /fcgi/public(.*) /health
		authorized_parties https://app.example.test
	}
	handle /echo/* {
		reverse_proxy %s
	}
	handle /hdr/* {
		reverse_proxy %s {
			header_up X-User {clerk.user_id}
		}
	}
	handle /fcgi/* {
		reverse_proxy %s {
			transport fastcgi
		}
	}
	respond "%s"
}`, clerkKeys(itClerk), strings.TrimPrefix(dump.URL, "http://"), strings.TrimPrefix(dump.URL, "http://"),
		fcgiLn.Addr().String(), strings.ReplaceAll(identityBody, `"`, `\"`)))

	t.Run("tokens", func(t *testing.T) {
		runAttacks(t, []attack{
			// Control: the real thing passes, so every 401 below is the attack's doing.
			{"control: a real token passes", exchange{name: "control good token", path: "/x", header: auth(good), wantStatus: 200,
				wantBody: []string{"status=signed-in", "user=user_good"}}},

			// Algorithm confusion.
			{"unsigned tokens are never accepted", exchange{name: "alg none", path: "/x", header: auth(sign(map[string]any{"alg": "none"}, nil)),
				wantStatus: 401, notBody: notEvil, wantHeader: map[string]string{"X-Clerk-Auth-Reason": "token-invalid-algorithm"}}},
			{"alg is compared exactly, not case-folded", exchange{name: "alg NoNe", path: "/x", header: auth(sign(map[string]any{"alg": "NoNe"}, nil)),
				wantStatus: 401, notBody: notEvil, wantHeader: map[string]string{"X-Clerk-Auth-Reason": "token-invalid-algorithm"}}},
			{"none with a real RS256 signature attached is still none", exchange{name: "alg none with signature",
				path: "/x", header: auth(withSig(sign(map[string]any{"alg": "none"}, nil), sigOf(good))), wantStatus: 401, notBody: notEvil}},
			{"HS256 keyed with the public PEM: the classic confusion", exchange{name: "HS256 with public key", path: "/x",
				header: auth(sign(map[string]any{"alg": "HS256"}, nil)), wantStatus: 401, notBody: notEvil,
				wantHeader: map[string]string{"X-Clerk-Auth-Reason": "token-invalid-algorithm"}}},
			{"HS512 likewise", exchange{name: "HS512 with public key", path: "/x", header: auth(sign(map[string]any{"alg": "HS512"}, nil)),
				wantStatus: 401, notBody: notEvil, wantHeader: map[string]string{"X-Clerk-Auth-Reason": "token-invalid-algorithm"}}},
			{"ES256 is not an accepted algorithm, even with a valid RSA signature under it", exchange{name: "ES256 header RSA signature",
				path: "/x", header: auth(sign(map[string]any{"alg": "ES256"}, nil)), wantStatus: 401, notBody: notEvil,
				wantHeader: map[string]string{"X-Clerk-Auth-Reason": "token-invalid-algorithm"}}},
			{"ES256 with a forged 64-byte signature", exchange{name: "ES256 forged signature", path: "/x",
				header: auth(withSig(sign(map[string]any{"alg": "ES256"}, nil), forgedSig64)), wantStatus: 401, notBody: notEvil}},
			{"PS256 is not accepted", exchange{name: "PS256 header", path: "/x", header: auth(sign(map[string]any{"alg": "PS256"}, nil)),
				wantStatus: 401, notBody: notEvil}},
			{"lower-case rs256 is not RS256", exchange{name: "alg rs256", path: "/x", header: auth(sign(map[string]any{"alg": "rs256"}, nil)),
				wantStatus: 401, notBody: notEvil}},
			{"a missing alg is refused", exchange{name: "alg missing", path: "/x", header: auth(sign(map[string]any{"alg": nil}, nil)),
				wantStatus: 401, notBody: notEvil}},
			{"a non-string alg is refused", exchange{name: "alg array", path: "/x", header: auth(sign(map[string]any{"alg": []string{"RS256"}}, nil)),
				wantStatus: 401, notBody: notEvil}},
			{"the key's alg (RS256) pins it: RS384 with the same key is refused", exchange{name: "RS384 with RS256 key", path: "/x",
				header: auth(sign(map[string]any{"alg": "RS384"}, nil)), wantStatus: 401, notBody: notEvil}},
			{"RS256 signed by another key under the instance kid", exchange{name: "foreign key instance kid", path: "/x",
				header: auth(itClerk.MintWithKey(otherKey, kid, clerktest.Session{UserID: "user_evil"})), wantStatus: 401, notBody: notEvil,
				wantHeader: map[string]string{"X-Clerk-Auth-Reason": "token-invalid-signature"}}},
			{"RS256 signed by another key with no kid", exchange{name: "foreign key no kid", path: "/x", header: auth(foreign(nil)),
				wantStatus: 401, notBody: notEvil}},
			{"an empty signature is no signature", exchange{name: "empty signature", path: "/x", header: auth(withSig(good, "")),
				wantStatus: 401, notBody: []string{"user_good"}}},
			{"one flipped signature byte", exchange{name: "flipped signature", path: "/x",
				header: auth(withSig(good, strings.ToUpper(sigOf(good)[:8])+sigOf(good)[8:])), wantStatus: 401, notBody: []string{"user_good"}}},
			{"claims swapped under a real signature", exchange{name: "payload swap", path: "/x",
				header:     auth(strings.Split(good, ".")[0] + "." + strings.Split(sign(nil, nil), ".")[1] + "." + sigOf(good)),
				wantStatus: 401, notBody: notEvil, wantHeader: map[string]string{"X-Clerk-Auth-Reason": "token-invalid-signature"}}},

			// jku / x5u / jwk / crit: keys come only from the configured source.
			{"jku to an attacker JWKS is never fetched", exchange{name: "jku foreign key", path: "/x",
				header: auth(foreign(map[string]any{"kid": "attacker", "jku": keyServer.URL + "/jwks"})), wantStatus: 401, notBody: notEvil}},
			{"jku with the instance kid still needs the instance key", exchange{name: "jku instance kid", path: "/x",
				header:     auth(itClerk.MintWithKey(otherKey, kid, clerktest.Session{UserID: "user_evil", Header: map[string]any{"jku": keyServer.URL + "/jwks"}})),
				wantStatus: 401, notBody: notEvil, wantHeader: map[string]string{"X-Clerk-Auth-Reason": "token-invalid-signature"}}},
			{"x5u is never fetched", exchange{name: "x5u foreign key", path: "/x",
				header: auth(foreign(map[string]any{"kid": "attacker", "x5u": keyServer.URL + "/cert.pem"})), wantStatus: 401, notBody: notEvil}},
			{"an embedded jwk is never trusted", exchange{name: "embedded jwk", path: "/x",
				header: auth(foreign(map[string]any{"kid": "attacker", "jwk": otherJWK})), wantStatus: 401, notBody: notEvil}},
			{"an embedded jwk under the instance kid", exchange{name: "embedded jwk instance kid", path: "/x",
				header:     auth(itClerk.MintWithKey(otherKey, kid, clerktest.Session{UserID: "user_evil", Header: map[string]any{"jwk": otherJWK}})),
				wantStatus: 401, notBody: notEvil}},
			{"crit cannot switch verification off", exchange{name: "crit foreign key", path: "/x",
				header: auth(foreign(map[string]any{"kid": "attacker", "crit": []string{"b64"}, "b64": false})), wantStatus: 401, notBody: notEvil}},
			{"jku/x5u/jwk/crit are ignored on a real token: still the instance key decides", exchange{name: "ignored headers on a real token",
				path: "/x", header: auth(sign(map[string]any{"jku": keyServer.URL, "x5u": keyServer.URL, "jwk": otherJWK, "crit": []string{"exp"}}, nil)),
				wantStatus: 200, wantBody: []string{"user=user_evil"}}},

			// kid injection.
			{"path traversal in kid names no key", exchange{name: "kid path traversal", path: "/x",
				header: auth(sign(map[string]any{"kid": "../../../../../../etc/passwd"}, nil)), wantStatus: 401, notBody: notEvil,
				wantHeader: map[string]string{"X-Clerk-Auth-Reason": "jwk-kid-mismatch"}}},
			{"SQL in kid names no key", exchange{name: "kid sql", path: "/x",
				header: auth(sign(map[string]any{"kid": "' OR '1'='1' --"}, nil)), wantStatus: 401, notBody: notEvil,
				wantHeader: map[string]string{"X-Clerk-Auth-Reason": "jwk-kid-mismatch"}}},
			{"a 10 KB kid names no key and breaks nothing", exchange{name: "kid 10KB", path: "/x",
				header: auth(sign(map[string]any{"kid": strings.Repeat("k", 10<<10)}, nil)), wantStatus: 401, notBody: notEvil,
				wantHeader: map[string]string{"X-Clerk-Auth-Reason": "jwk-kid-mismatch"}}},
			{"CRLF in kid", exchange{name: "kid CRLF", path: "/x",
				header: auth(sign(map[string]any{"kid": kid + "\r\nX-Evil: 1"}, nil)), wantStatus: 401, notBody: notEvil,
				wantHeader: map[string]string{"X-Evil": ""}}},
			{"kid with a trailing NUL is another kid", exchange{name: "kid NUL suffix", path: "/x",
				header: auth(sign(map[string]any{"kid": kid + "\x00"}, nil)), wantStatus: 401, notBody: notEvil}},
			{"a numeric kid is not a kid", exchange{name: "kid number", path: "/x",
				header: auth(sign(map[string]any{"kid": 1}, nil)), wantStatus: 401, notBody: notEvil}},
			{"kid differing only in case", exchange{name: "kid case", path: "/x",
				header: auth(sign(map[string]any{"kid": strings.ToUpper(kid)}, nil)), wantStatus: 401, notBody: notEvil}},

			// Size and shape.
			{"a token over 16 KiB is refused before parsing", exchange{name: "token over 16KiB", path: "/x",
				header: auth(sign(nil, map[string]any{"pad": bigPad})), wantStatus: 401, notBody: notEvil,
				wantHeader: map[string]string{"X-Clerk-Auth-Reason": "token-invalid"}}},
			{"a 20 KiB Authorization header is a bad token, not a crash", exchange{name: "20KiB authorization", path: "/x",
				header: auth(strings.Repeat("a", 20<<10)), wantStatus: 401, wantHeader: map[string]string{"X-Clerk-Auth-Reason": "token-invalid"}}},
			{"a 20 KiB session cookie", exchange{name: "20KiB cookie", path: "/x", header: api,
				cookies: []*http.Cookie{{Name: "__session", Value: strings.Repeat("a", 20<<10)}, {Name: "__client_uat", Value: "1"}}, wantStatus: 401}},
			{"3000-deep nested claim, forged: refused without a stack blow-up", exchange{name: "deep nesting forged", path: "/x",
				header:     auth(itClerk.MintWithKey(otherKey, kid, clerktest.Session{UserID: "user_evil", Claims: map[string]any{"deep": deep}})),
				wantStatus: 401, notBody: notEvil}},
			{"3000-deep nested claim, genuinely signed: parsed, not a 5xx", exchange{name: "deep nesting signed", path: "/x",
				header: auth(sign(nil, map[string]any{"deep": deep})), wantStatus: 200, wantBody: []string{"user=user_evil"}}},
			{"a deeply nested header, forged", exchange{name: "deep header", path: "/x",
				header: auth(foreign(map[string]any{"x": deep})), wantStatus: 401, notBody: notEvil}},
			{"four segments", exchange{name: "four segments", path: "/x", header: auth(good + ".x"), wantStatus: 401,
				wantHeader: map[string]string{"X-Clerk-Auth-Reason": "token-invalid"}}},
			{"padding on the signature is tolerated (not strict as SECURITY.md says) but changes nothing: same signed claims", exchange{
				name: "padded signature", path: "/x", header: auth(good + "=="), wantStatus: 200, wantBody: []string{"user=user_good"}}},
			{"padding in the payload cannot smuggle other claims", exchange{name: "padded payload", path: "/x",
				header: auth(strings.Replace(good, ".", "==.", 1)), wantStatus: 401, notBody: []string{"user_good"}}},
			{"a 20 KiB header in front of a session cookie", exchange{name: "huge header", path: "/x",
				header: mergeHeaders(api, map[string]string{"X-Junk": strings.Repeat("j", 20<<10)}), cookies: itClerk.SessionCookies(good),
				wantStatus: 200, wantBody: []string{"user=user_good"}}},
			{"a header that is a JSON array, not an object", exchange{name: "array header", path: "/x",
				header: auth(b64(`["RS256"]`) + "." + strings.Split(good, ".")[1] + "." + sigOf(good)), wantStatus: 401,
				wantHeader: map[string]string{"X-Clerk-Auth-Reason": "token-invalid"}}},

			// Numeric edge cases (genuinely signed: only the claim's value is odd).
			{"fractional exp in the future is a time", exchange{name: "exp float future", path: "/x",
				header: auth(sign(nil, map[string]any{"exp": num(inMinute + ".75")})), wantStatus: 200, wantBody: []string{"user=user_evil"}}},
			{"fractional exp in the past is expired", exchange{name: "exp float past", path: "/x",
				header: auth(sign(nil, map[string]any{"exp": num(fmt.Sprint(now.Add(-time.Minute).Unix()) + ".99")})), wantStatus: 401, notBody: notEvil}},
			{"exp as a string is a type error, not a far future", exchange{name: "exp string", path: "/x",
				header: auth(sign(nil, map[string]any{"exp": "99999999999"})), wantStatus: 401, notBody: notEvil}},
			{"negative exp is expired", exchange{name: "exp negative", path: "/x",
				header: auth(sign(nil, map[string]any{"exp": -1})), wantStatus: 401, notBody: notEvil}},
			{"exp 1e400 overflows float64: refused, never 'never expires'", exchange{name: "exp 1e400", path: "/x",
				header: auth(sign(nil, map[string]any{"exp": num("1e400")})), wantStatus: 401, notBody: notEvil}},
			{"exp -1e400", exchange{name: "exp -1e400", path: "/x",
				header: auth(sign(nil, map[string]any{"exp": num("-1e400")})), wantStatus: 401, notBody: notEvil}},
			{"exp 1e300 is finite: a far-future token the instance signed is valid, as in Clerk", exchange{name: "exp 1e300", path: "/x",
				header: auth(sign(nil, map[string]any{"exp": num("1e300")})), wantStatus: 200}},
			{"exp beyond int64 does not wrap around", exchange{name: "exp 2^64", path: "/x",
				header: auth(sign(nil, map[string]any{"exp": num("18446744073709551617")})), wantStatus: 200}},
			{"exp required", exchange{name: "exp missing", path: "/x", header: auth(sign(nil, map[string]any{"exp": nil})),
				wantStatus: 401, notBody: notEvil}},
			{"exp true", exchange{name: "exp bool", path: "/x", header: auth(sign(nil, map[string]any{"exp": true})),
				wantStatus: 401, notBody: notEvil}},
			{"nbf 1e300 is not active yet", exchange{name: "nbf 1e300", path: "/x", header: auth(sign(nil, map[string]any{"nbf": num("1e300")})),
				wantStatus: 401, notBody: notEvil, wantHeader: map[string]string{"X-Clerk-Auth-Reason": "session-token-nbf"}}},
			{"nbf 1e400 is not a number", exchange{name: "nbf 1e400", path: "/x", header: auth(sign(nil, map[string]any{"nbf": num("1e400")})),
				wantStatus: 401, notBody: notEvil}},
			{"nbf as a string", exchange{name: "nbf string", path: "/x", header: auth(sign(nil, map[string]any{"nbf": "0"})),
				wantStatus: 401, notBody: notEvil}},
			{"iat 1e300 is in the future", exchange{name: "iat 1e300", path: "/x", header: auth(sign(nil, map[string]any{"iat": num("1e300")})),
				wantStatus: 401, notBody: notEvil, wantHeader: map[string]string{"X-Clerk-Auth-Reason": "session-token-iat-in-the-future"}}},
			{"iat -1e300 is merely old", exchange{name: "iat -1e300", path: "/x", header: auth(sign(nil, map[string]any{"iat": num("-1e300")})),
				wantStatus: 200}},
			{"iat null is a type error", exchange{name: "iat null", path: "/x", header: auth(sign(nil, map[string]any{"iat": []any{}})),
				wantStatus: 401, notBody: notEvil}},

			// Other instances, other apps, expiry.
			{"a token of another Clerk instance (its own key, its own iss)", exchange{name: "other instance token", path: "/x",
				header: auth(otherTok), wantStatus: 401, notBody: notEvil}},
			{"our key but another instance's iss", exchange{name: "other iss", path: "/x",
				header: auth(sign(nil, map[string]any{"iss": "https://clerk.other.test"})), wantStatus: 401, notBody: notEvil,
				wantHeader: map[string]string{"X-Clerk-Auth-Reason": "token-invalid-issuer"}}},
			{"iss with a trailing slash is another issuer", exchange{name: "iss trailing slash", path: "/x",
				header: auth(sign(nil, map[string]any{"iss": itClerk.Issuer() + "/"})), wantStatus: 401, notBody: notEvil}},
			{"a cookie of another instance is not ours", exchange{name: "other instance cookie", path: "/x", header: api,
				cookies: other.SessionCookies(otherTok), wantStatus: 401, notBody: notEvil}},
			{"expired, validly signed", exchange{name: "expired", path: "/x", header: auth(expired), wantStatus: 401, notBody: notEvil,
				wantHeader: map[string]string{"X-Clerk-Auth-Reason": "session-token-expired-refresh-non-eligible-no-refresh-cookie"}}},
			{"azp of another app", exchange{name: "azp other app", path: "/x",
				header: auth(sign(nil, map[string]any{"azp": "https://evil.test"})), wantStatus: 401, notBody: notEvil,
				wantHeader: map[string]string{"X-Clerk-Auth-Reason": "token-invalid-authorized-parties"}}},
			{"azp compared exactly: case", exchange{name: "azp upper case", path: "/x",
				header: auth(sign(nil, map[string]any{"azp": "HTTPS://APP.EXAMPLE.TEST"})), wantStatus: 401, notBody: notEvil}},
			{"azp compared exactly: prefix", exchange{name: "azp prefix", path: "/x",
				header: auth(sign(nil, map[string]any{"azp": "https://app.example.test.evil.test"})), wantStatus: 401, notBody: notEvil}},
			{"azp as an array holding the right party is not a string", exchange{name: "azp array", path: "/x",
				header: auth(sign(nil, map[string]any{"azp": []string{"https://app.example.test"}})), wantStatus: 401, notBody: notEvil}},
			{"a machine-category token is not a session", exchange{name: "cat m2m", path: "/x",
				header: auth(sign(map[string]any{"cat": clerktest.CategoryM2M}, nil)), wantStatus: 401, notBody: notEvil}},
		})
		if n := keyHits.Load(); n != 0 {
			t.Errorf("jku/x5u key server was fetched %d times, want 0", n)
		}
	})

	t.Run("cookies and headers", func(t *testing.T) {
		forged := itClerk.MintWithKey(otherKey, kid, clerktest.Session{UserID: "user_evil"})
		goodC := itClerk.SessionCookies(good)
		runAttacks(t, []attack{
			{"cookie tossing: the first __session wins, as in Clerk", exchange{name: "toss good then forged", path: "/x", header: api,
				cookies: []*http.Cookie{goodC[0], {Name: "__session", Value: forged}, goodC[1]}, wantStatus: 200, wantBody: []string{"user=user_good"}}},
			{"cookie tossing: a tossed cookie ahead of the real one wins and fails", exchange{name: "toss forged then good", path: "/x", header: api,
				cookies: []*http.Cookie{{Name: "__session", Value: forged}, goodC[0], goodC[1]}, wantStatus: 401, notBody: notEvil,
				wantHeader: map[string]string{"X-Clerk-Auth-Reason": "token-invalid-signature"}}},
			{"a tossed __client_uat from the future fails the real session", exchange{name: "toss client_uat", path: "/x", header: api,
				cookies: []*http.Cookie{goodC[0], {Name: "__client_uat", Value: fmt.Sprint(now.Add(time.Hour).Unix())}, goodC[1]}, wantStatus: 401,
				wantHeader: map[string]string{"X-Clerk-Auth-Reason": "session-token-iat-before-client-uat"}}},
			{"a bad bearer never falls back to a good cookie", exchange{name: "bad bearer good cookie", path: "/x", header: auth(forged),
				cookies: goodC, wantStatus: 401, notBody: []string{"user_good"}}},
			{"a non-Bearer scheme is no header token, as in Clerk: the (valid) cookie decides", exchange{name: "basic auth good cookie", path: "/x",
				header: mergeHeaders(api, map[string]string{"Authorization": "Basic dXNlcjpwYXNz"}), cookies: goodC, wantStatus: 200,
				wantBody: []string{"user=user_good"}}},
			{"a non-Bearer scheme with a forged cookie", exchange{name: "basic auth forged cookie", path: "/x",
				header:  mergeHeaders(api, map[string]string{"Authorization": "Basic dXNlcjpwYXNz"}),
				cookies: []*http.Cookie{{Name: "__session", Value: forged}, goodC[1]}, wantStatus: 401, notBody: notEvil}},
			{"a bad bearer in lower case never falls back either", exchange{name: "lower-case bearer good cookie", path: "/x",
				header: mergeHeaders(api, map[string]string{"Authorization": "Bearer " + forged + "x"}), cookies: goodC, wantStatus: 401,
				notBody: []string{"user_good"}}},
			{"a good bearer wins over a forged cookie", exchange{name: "good bearer forged cookie", path: "/x", header: auth(good),
				cookies: []*http.Cookie{{Name: "__session", Value: forged}, goodC[1]}, wantStatus: 200, wantBody: []string{"user=user_good"}}},
		})
	})

	t.Run("paths", func(t *testing.T) {
		runAttacks(t, []attack{
			{"control: a public route passes signed out", exchange{name: "public control", path: "/public/a", header: api, wantStatus: 200,
				wantBody: []string{"status=signed-out"}}},
			{"dot segments are resolved before matching", exchange{name: "dotdot", path: "/public/../admin", header: api, wantStatus: 401}},
			{"encoded dot segments likewise", exchange{name: "%2e%2e", path: "/public/%2e%2e/admin", header: api, wantStatus: 401}},
			{"mixed-case encoded dots", exchange{name: "%2E%2e", path: "/public/%2E%2e/%2e%2E/admin", header: api, wantStatus: 401}},
			{"an encoded slash is never public", exchange{name: "%2f", path: "/public%2f..%2fadmin", header: api, wantStatus: 401}},
			{"..%2f is never public", exchange{name: "..%2f", path: "/public/..%2fadmin", header: api, wantStatus: 401}},
			{"an encoded backslash is never public", exchange{name: "%5c", path: "/public%5c..%5cadmin", header: api, wantStatus: 401}},
			{"repeated slashes are merged, then dot segments resolved", exchange{name: "double slash", path: "//public//..//admin", header: api, wantStatus: 401}},
			{"a ; path parameter is never public (Tomcat reads /public;/../admin as /admin)", exchange{name: "semicolon", path: "/public;/../admin",
				header: api, wantStatus: 401}},
			{"a ; even on an otherwise public path", exchange{name: "semicolon suffix", path: "/public;x", header: api, wantStatus: 401}},
			{"case does not matter, as in Clerk: still a public route, nothing more", exchange{name: "upper case public", path: "/PUBLIC/a",
				header: api, wantStatus: 200, wantBody: []string{"status=signed-out"}}},
			{"a trailing dot is another path, not /health", exchange{name: "trailing dot", path: "/health.", header: api, wantStatus: 401}},
			{"an encoded NUL is never public", exchange{name: "%00", path: "/public/a%00", header: api, wantStatus: 401}},
			{"NUL then dot segments", exchange{name: "%00 dotdot", path: "/public%00/../admin", header: api, wantStatus: 401}},
			{"an encoded CRLF is never public", exchange{name: "%0d%0a", path: "/public/a%0d%0aX-Evil:%201", header: api, wantStatus: 401,
				wantHeader: map[string]string{"X-Evil": ""}}},
			{"overlong UTF-8 dots are undecodable", exchange{name: "%c0%ae", path: "/public/%c0%ae%c0%ae/admin", header: api, wantStatus: 400}},
			{"3-byte overlong dots are undecodable", exchange{name: "%e0%80%ae", path: "/public/%e0%80%ae%e0%80%ae/admin", header: api, wantStatus: 400}},
			{"an encoded ? is never public", exchange{name: "%3f", path: "/public%3f/../../admin", header: api, wantStatus: 401}},
			{"double encoding is decoded once, like Caddy: a literal %2e%2e segment under /public", exchange{name: "%252e", path: "/public/%252e%252e/admin",
				header: api, wantStatus: 200, wantBody: []string{"status=signed-out", "user= "}}},
			{"a public prefix is not a public route", exchange{name: "prefix only", path: "/healthz", header: api, wantStatus: 401}},
		})
	})

	t.Run("identity headers", func(t *testing.T) {
		forge := map[string]string{"X-Clerk-User-Id": "user_forged", "X-Clerk-Org-Role": "org:admin", "X-Clerk-Auth-Status": "signed-in"}
		crlf := func(sub string) string { return itClerk.Mint(clerktest.Session{UserID: sub, SessionID: "sess_crlf"}) }
		runAttacks(t, []attack{
			{"forged X-Clerk-* never reaches an upstream on a public route", exchange{name: "spoof public", path: "/echo/public/a",
				header: mergeHeaders(api, forge), wantStatus: 200, notBody: []string{"user_forged", "org:admin", "X-Clerk-Auth-Status"}}},
			{"lower-case names are the same headers", exchange{name: "spoof public lower case", path: "/echo/public/a",
				header: mergeHeaders(api, map[string]string{"x-clerk-user-id": "user_forged"}), wantStatus: 200, notBody: []string{"user_forged"}}},
			{"forged X-Clerk-* replaced by the verified identity on a protected route", exchange{name: "spoof protected", path: "/echo/a",
				header: mergeHeaders(auth(good), forge), wantStatus: 200, wantBody: []string{"X-Clerk-User-Id: user_good", "X-Clerk-Org-Role: org:member"},
				notBody: []string{"user_forged", "org:admin", "X-Clerk-Auth-Status"}}},
			{"CRLF in sub: no header injected, no identity header set, no 5xx", exchange{name: "CRLF in sub", path: "/echo/a",
				header: auth(crlf("user_1\r\nX-Evil: 1")), wantStatus: 200, notBody: []string{"\nX-Evil", "X-Clerk-User-Id"}}},
			{"LF alone in sub", exchange{name: "LF in sub", path: "/echo/a", header: auth(crlf("user_1\nX-Evil: 1")), wantStatus: 200,
				notBody: []string{"\nX-Evil", "X-Clerk-User-Id"}}},
			{"NUL in sub", exchange{name: "NUL in sub", path: "/echo/a", header: auth(crlf("user_1\x00x")), wantStatus: 200,
				notBody: []string{"X-Clerk-User-Id"}}},
			{"CRLF in an org role", exchange{name: "CRLF in org role", path: "/echo/a",
				header:     auth(itClerk.Mint(clerktest.Session{UserID: "user_r", Org: &clerktest.Org{ID: "org_r", Role: "admin\r\nX-Evil: 1"}})),
				wantStatus: 200, wantBody: []string{"X-Clerk-User-Id: user_r"}, notBody: []string{"\nX-Evil", "X-Clerk-Org-Role"}}},
			// Not a bypass, but a 5xx: {clerk.user_id} still holds the raw sub, and
			// Go's transport refuses the header, so reverse_proxy answers 502.
			{"CRLF in sub through a header_up placeholder: not injected (fails closed with 502)", exchange{name: "CRLF in sub via header_up",
				path: "/hdr/a", header: auth(crlf("user_1\r\nX-Evil: 1")), wantStatus: 502, notBody: []string{"X-Evil"}}},
			{"FastCGI upstream: X-Clerk-* forged on a public route", exchange{name: "fastcgi spoof public", path: "/fcgi/public/a",
				header: mergeHeaders(api, forge), wantStatus: 200, notBody: []string{"user_forged"}}},
			{"FastCGI maps X_Clerk_User_Id to HTTP_X_CLERK_USER_ID, the same variable as X-Clerk-User-Id", exchange{
				name: "fastcgi underscore spoof public", path: "/fcgi/public/a",
				header: mergeHeaders(api, map[string]string{"X_Clerk_User_Id": "user_forged"}), wantStatus: 200, notBody: []string{"user_forged"}}},
		})

		// Signed in as user_good, an underscore header competes with the real
		// X-Clerk-User-Id for one FastCGI variable; map order decides, so try
		// several times.
		t.Run("fastcgi underscore spoof signed in", func(t *testing.T) {
			for i := 0; i < 16; i++ {
				req, _ := http.NewRequest(http.MethodGet, siteURL+"/fcgi/a", nil)
				req.Header.Set("Authorization", "Bearer "+good)
				req.Header.Set("Accept", "application/json")
				req.Header["X_Clerk_User_Id"] = []string{"user_forged"}
				resp, err := noRedirects.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || strings.Contains(string(body), "user_forged") {
					t.Fatalf("try %d: status %d, the FastCGI upstream saw the forged identity:\n%s", i, resp.StatusCode, body)
				}
			}
		})
	})

	t.Run("duplicate and case-variant JSON members", func(t *testing.T) {
		// Exact JSON texts need a key we hold: a jwt_key site with our own key.
		// The case-variant cases FAIL today: encoding/json matches member
		// names case-insensitively, so "SUB"/"EXP"/"Iss"/"ALG" override the
		// real members, unlike JSON.parse (Clerk). Exploitable only through a
		// token the instance signed (e.g. a custom session claim fed from
		// user-writable metadata), so kept failing on purpose.
		dir := t.TempDir()
		der, err := x509.MarshalPKIXPublicKey(&otherKey.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		pemPath := dir + "/raw.pem"
		if err := os.WriteFile(pemPath, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		loadConfig(t, fmt.Sprintf(`http://localhost:9080 {
	clerk_auth {
		jwt_key %s
		issuer https://clerk.raw.test
		authorized_parties https://app.example.test
	}
	respond "user={clerk.user_id} sid={clerk.session_id}"
}`, pemPath))
		const h = `{"alg":"RS256","typ":"JWT","cat":"cl_B7d4PD111AAA"}`
		iat := fmt.Sprint(now.Unix())
		exp := inMinute
		past := fmt.Sprint(now.Add(-time.Minute).Unix())
		body := func(extra string) string {
			return `{"iss":"https://clerk.raw.test","azp":"https://app.example.test","sid":"sess_raw","iat":` + iat + `,"nbf":` + iat + `,` + extra + `}`
		}
		raw := func(header, payload string) map[string]string { return auth(rawRS256(t, otherKey, header, payload)) }
		runAttacks(t, []attack{
			{"control: our raw signer works", exchange{name: "raw control", path: "/", header: raw(h, body(`"sub":"user_raw","exp":`+exp)),
				wantStatus: 200, wantBody: []string{"user=user_raw"}}},
			{"duplicate sub: the last wins, as in JSON.parse", exchange{name: "dup sub", path: "/",
				header: raw(h, body(`"sub":"user_a","sub":"user_b","exp":`+exp)), wantStatus: 200, wantBody: []string{"user=user_b "}}},
			{"duplicate exp: a later expired one wins", exchange{name: "dup exp expired last", path: "/",
				header: raw(h, body(`"sub":"user_evil","exp":`+exp+`,"exp":`+past)), wantStatus: 401, notBody: notEvil}},
			{"duplicate iss: a later foreign one wins", exchange{name: "dup iss", path: "/",
				header: raw(h, `{"iss":"https://clerk.raw.test","iss":"https://evil.test","azp":"https://app.example.test","sub":"user_evil","exp":`+exp+`}`), wantStatus: 401,
				notBody: notEvil, wantHeader: map[string]string{"X-Clerk-Auth-Reason": "token-invalid-issuer"}}},
			{"duplicate azp: a later foreign one wins", exchange{name: "dup azp", path: "/",
				header: raw(h, body(`"sub":"user_evil","exp":`+exp+`,"azp":"https://evil.test"`)), wantStatus: 401, notBody: notEvil}},
			{"duplicate alg: a later none wins and is refused", exchange{name: "dup alg none last", path: "/",
				header: raw(`{"alg":"RS256","alg":"none","typ":"JWT"}`, body(`"sub":"user_evil","exp":`+exp)), wantStatus: 401, notBody: notEvil}},
			{"duplicate alg: a later HS256 wins and is refused", exchange{name: "dup alg HS256 last", path: "/",
				header: raw(`{"alg":"RS256","typ":"JWT","alg":"HS256"}`, body(`"sub":"user_evil","exp":`+exp)), wantStatus: 401, notBody: notEvil}},
			{"case-variant sub: JSON.parse keeps sub; SUB is another claim", exchange{name: "case-variant SUB", path: "/",
				header: raw(h, body(`"sub":"user_real","SUB":"user_evil","exp":`+exp)), wantStatus: 200,
				wantBody: []string{"user=user_real "}, notBody: notEvil}},
			{"case-variant EXP cannot extend an expired exp", exchange{name: "case-variant EXP", path: "/",
				header: raw(h, body(`"sub":"user_evil","exp":`+past+`,"EXP":`+exp)), wantStatus: 401, notBody: notEvil}},
			{"case-variant Iss cannot replace iss", exchange{name: "case-variant Iss", path: "/",
				header: raw(h, `{"iss":"https://evil.test","Iss":"https://clerk.raw.test","azp":"https://app.example.test","sub":"user_evil","exp":`+exp+`}`), wantStatus: 401,
				notBody: notEvil}},
			{"case-variant ALG in the header: alg none stays none", exchange{name: "case-variant ALG", path: "/",
				header: raw(`{"alg":"none","ALG":"RS256","typ":"JWT"}`, body(`"sub":"user_evil","exp":`+exp)), wantStatus: 401, notBody: notEvil}},
			{"a BOM or whitespace before the JSON object", exchange{name: "leading BOM", path: "/",
				header: raw("\ufeff"+h, body(`"sub":"user_evil","exp":`+exp)), wantStatus: 401, notBody: notEvil}},
			{"exp written as 1e400 in the raw text", exchange{name: "raw exp 1e400", path: "/",
				header: raw(h, body(`"sub":"user_evil","exp":1e400`)), wantStatus: 401, notBody: notEvil}},
			{"exp written as -0", exchange{name: "raw exp -0", path: "/", header: raw(h, body(`"sub":"user_evil","exp":-0`)),
				wantStatus: 401, notBody: notEvil}},
			{"exp written as a hex-looking number is not JSON", exchange{name: "raw exp hex", path: "/",
				header: raw(h, body(`"sub":"user_evil","exp":0x7fffffff`)), wantStatus: 401, notBody: notEvil}},
			{"exp NaN is not JSON", exchange{name: "raw exp NaN", path: "/", header: raw(h, body(`"sub":"user_evil","exp":NaN`)),
				wantStatus: 401, notBody: notEvil}},
		})
	})

	t.Run("redirects", func(t *testing.T) {
		loadSite(t, itClerk, "", "")
		signIn := "https://accounts.app.test/sign-in?redirect_url="
		own := func(p string) map[string]string {
			return map[string]string{"Location": signIn + url.QueryEscape(siteURL+p)}
		}
		runAttacks(t, []attack{
			{"X-Forwarded-Host from an untrusted client is ignored", exchange{name: "XFH untrusted", path: "/p",
				header:     mergeHeaders(page, map[string]string{"X-Forwarded-Host": "evil.test", "X-Forwarded-Proto": "https"}),
				wantStatus: 307, wantHeader: own("/p")}},
			{"RFC 7239 Forwarded is ignored", exchange{name: "Forwarded untrusted", path: "/p",
				header: mergeHeaders(page, map[string]string{"Forwarded": "host=evil.test;proto=https"}), wantStatus: 307, wantHeader: own("/p")}},
			{"X-Forwarded-Proto javascript: is ignored", exchange{name: "XFP javascript", path: "/p",
				header: mergeHeaders(page, map[string]string{"X-Forwarded-Proto": "javascript"}), wantStatus: 307, wantHeader: own("/p")}},
			{"a redirect_url query parameter is part of our URL, not the target", exchange{name: "redirect_url param", path: "/p?redirect_url=https%3A%2F%2Fevil.test",
				header: page, wantStatus: 307, wantHeader: own("/p?redirect_url=https%3A%2F%2Fevil.test")}},
			{"__clerk_redirect_url is never followed", exchange{name: "__clerk_redirect_url", path: "/p?__clerk_redirect_url=https%3A%2F%2Fevil.test",
				header: page, wantStatus: 307, wantHeader: own("/p?__clerk_redirect_url=https%3A%2F%2Fevil.test")}},
			{"a protocol-relative path stays on our origin", exchange{name: "//evil.test path", path: "//evil.test/p", header: page,
				wantStatus: 307, wantHeader: own("//evil.test/p")}},
		})
		// The handshake's redirect_url is built the same way.
		t.Run("handshake redirect_url", func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, siteURL+"/p", nil)
			for k, v := range page {
				req.Header.Set(k, v)
			}
			req.Header.Set("X-Forwarded-Host", "evil.test")
			req.AddCookie(&http.Cookie{Name: "__client_uat", Value: fmt.Sprint(now.Unix())})
			resp, err := noRedirects.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			loc, err := url.Parse(resp.Header.Get("Location"))
			if resp.StatusCode != 307 || err != nil {
				t.Fatalf("status %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
			}
			if !strings.HasPrefix(loc.String(), itClerk.FrontendAPIURL()) {
				t.Errorf("handshake goes to %q, want the Frontend API", loc)
			}
			if back := loc.Query().Get("redirect_url"); !strings.HasPrefix(back, siteURL+"/") {
				t.Errorf("handshake redirect_url %q, want our own origin", back)
			}
		})
	})
}
