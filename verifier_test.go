package caddyclerk

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddy-clerk/caddy-clerk/clerktest"
)

// unitNow is the fixed clock of the unit tests: whole seconds, so that the
// boundary arithmetic in the tables is exact.
var unitNow = time.Unix(1_700_000_000, 0)

// unitNowFunc is unitNow as a verifier clock.
func unitNowFunc() time.Time { return unitNow }

// unitSec is unitNow plus d, as the float64 a JSON time claim holds.
func unitSec(d time.Duration) float64 { return float64(unitNow.Add(d).Unix()) }

// unitBaseSession is an active session token issued 10s before unitNow and
// valid for another 50s.
func unitBaseSession() clerktest.Session {
	return clerktest.Session{
		UserID:    "user_1",
		SessionID: "sess_1",
		IssuedAt:  unitNow.Add(-10 * time.Second),
		NotBefore: unitNow.Add(-10 * time.Second),
		Expiry:    unitNow.Add(50 * time.Second),
	}
}

// unitMerge copies src over dst; a nil value deletes the member (use
// json.RawMessage("null") for a JSON null).
func unitMerge(dst, src map[string]any) map[string]any {
	for k, v := range src {
		if v == nil {
			delete(dst, k)
		} else {
			dst[k] = v
		}
	}
	return dst
}

// unitToken signs unitBaseSession's claims with the instance's current key,
// with header and claim overrides (nil deletes).
func unitToken(t *testing.T, clerk *clerktest.Instance, header, claims map[string]any) string {
	t.Helper()
	return unitTokenFrom(t, clerk, unitBaseSession(), header, claims)
}

// unitTokenFrom is unitToken for another session.
func unitTokenFrom(t *testing.T, clerk *clerktest.Instance, s clerktest.Session, header, claims map[string]any) string {
	t.Helper()
	h := map[string]any{"alg": "RS256", "kid": clerk.KeyID(), "typ": "JWT", "cat": clerktest.SessionCategory}
	return clerk.Sign(unitMerge(h, header), unitMerge(clerk.SessionClaims(s), claims))
}

// unitParse parses a token that must be well-formed.
func unitParse(t *testing.T, raw string) *parsedToken {
	t.Helper()
	tok, err := parseToken(raw)
	if err != nil {
		t.Fatalf("parseToken(%.40q...) error = %v", raw, err)
	}
	return tok
}

// unitStaticKey is the instance's current public key as a jwt_key.
func unitStaticKey(t *testing.T, clerk *clerktest.Instance) staticKey {
	t.Helper()
	k, err := loadPEMKey(string(clerk.PublicKeyPEM()))
	if err != nil {
		t.Fatalf("loadPEMKey() error = %v", err)
	}
	return k
}

// unitVerifier verifies with the instance's PEM key, requires its issuer,
// uses Clerk's default skew and the fixed clock unitNow.
func unitVerifier(t *testing.T, clerk *clerktest.Instance) *verifier {
	t.Helper()
	return &verifier{
		keys:       unitStaticKey(t, clerk),
		issuer:     clerk.Issuer(),
		skewMillis: defaultClockSkew.Milliseconds(),
		now:        unitNowFunc,
	}
}

// unitKeySource is a fake keySource that records the kids it is asked for.
type unitKeySource struct {
	k         verificationKey
	reason    string
	withdrawn atomic.Bool // current() reports the key gone

	mu   sync.Mutex
	kids []string
}

func (f *unitKeySource) key(_ context.Context, kid string) (verificationKey, string) {
	f.mu.Lock()
	f.kids = append(f.kids, kid)
	f.mu.Unlock()
	return f.k, f.reason
}

func (f *unitKeySource) current(string, verificationKey) bool {
	return f.reason == "" && !f.withdrawn.Load()
}

// calls is how many times key() was asked.
func (f *unitKeySource) calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.kids)
}

// unitVerify is verify's reason alone.
func unitVerify(v *verifier, t *parsedToken) string {
	_, reason := v.verify(context.Background(), t)
	return reason
}

// unitForeignKey is an RSA key the instance does not know.
func unitForeignKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// unitSwapPayload returns a with b's payload segment, keeping a's header and
// signature.
func unitSwapPayload(a, b string) string {
	pa := strings.Split(a, ".")
	pb := strings.Split(b, ".")
	return pa[0] + "." + pb[1] + "." + pa[2]
}

func TestVerifierReasons(t *testing.T) {
	clerk := clerktest.Start(t, clerktest.Options{})
	foreign := unitForeignKey(t)
	pub := &clerk.PrivateKey().PublicKey
	pinned := func(alg string) func(*verifier) {
		return func(v *verifier) { v.keys = &unitKeySource{k: verificationKey{pub: pub, alg: alg}} }
	}
	withParties := func(p ...string) func(*verifier) {
		return func(v *verifier) { v.authorizedParties = p }
	}
	tok := func(header, claims map[string]any) func(*testing.T) string {
		return func(t *testing.T) string { t.Helper(); return unitToken(t, clerk, header, claims) }
	}
	null := json.RawMessage("null")

	for _, tc := range []struct {
		name  string
		token func(*testing.T) string
		cfg   func(*verifier)
		want  string
	}{
		{name: "valid", token: tok(nil, nil), want: ""},
		{name: "valid without typ", token: tok(map[string]any{"typ": nil}, nil), want: ""},
		{name: "valid without cat", token: tok(map[string]any{"cat": nil}, nil), want: ""},
		{name: "valid without kid (jwt_key ignores kid)", token: tok(map[string]any{"kid": nil}, nil), want: ""},
		{name: "valid with unknown kid (jwt_key ignores kid)", token: tok(map[string]any{"kid": "ins_unknown"}, nil), want: ""},
		{name: "template category is the caller's pre-check", token: tok(map[string]any{"cat": clerktest.CategoryJWTTemplate}, nil), want: ""},
		{name: "RS384 accepted", token: tok(map[string]any{"alg": "RS384"}, nil), want: ""},
		{name: "RS512 accepted", token: tok(map[string]any{"alg": "RS512"}, nil), want: ""},
		{name: "empty sub is a string", token: tok(nil, map[string]any{"sub": ""}), want: ""},
		{name: "no nbf and no iat", token: tok(nil, map[string]any{"nbf": nil, "iat": nil}), want: ""},

		// token-invalid
		{name: "m2m category", token: tok(map[string]any{"cat": clerktest.CategoryM2M}, nil), want: reasonTokenInvalid},
		{name: "typ at+jwt", token: tok(map[string]any{"typ": "at+jwt"}, nil), want: reasonTokenInvalid},
		{name: "typ lower-case jwt", token: tok(map[string]any{"typ": "jwt"}, nil), want: reasonTokenInvalid},
		{name: "typ null", token: tok(map[string]any{"typ": null}, nil), want: reasonTokenInvalid},
		{name: "typ empty", token: tok(map[string]any{"typ": ""}, nil), want: reasonTokenInvalid},
		{name: "typ number", token: tok(map[string]any{"typ": 1}, nil), want: reasonTokenInvalid},

		// token-invalid-algorithm
		{name: "alg none", token: tok(map[string]any{"alg": "none"}, nil), want: reasonTokenInvalidAlgorithm},
		{name: "alg NONE", token: tok(map[string]any{"alg": "NONE"}, nil), want: reasonTokenInvalidAlgorithm},
		{name: "alg HS256 keyed with the public key", token: tok(map[string]any{"alg": "HS256"}, nil), want: reasonTokenInvalidAlgorithm},
		{name: "alg ES256", token: tok(map[string]any{"alg": "ES256"}, nil), want: reasonTokenInvalidAlgorithm},
		{name: "alg PS256", token: tok(map[string]any{"alg": "PS256"}, nil), want: reasonTokenInvalidAlgorithm},
		{name: "alg rs256 lower-case", token: tok(map[string]any{"alg": "rs256"}, nil), want: reasonTokenInvalidAlgorithm},
		{name: "alg missing", token: tok(map[string]any{"alg": nil}, nil), want: reasonTokenInvalidAlgorithm},
		{name: "alg number", token: tok(map[string]any{"alg": 256}, nil), want: reasonTokenInvalidAlgorithm},

		// token-verification-failed
		{name: "key pinned RS256, token RS384", token: tok(map[string]any{"alg": "RS384"}, nil), cfg: pinned("RS256"), want: reasonTokenVerificationFails},
		{name: "key pinned RS256, token RS512", token: tok(map[string]any{"alg": "RS512"}, nil), cfg: pinned("RS256"), want: reasonTokenVerificationFails},
		{name: "key pinned RS256, token RS256", token: tok(nil, nil), cfg: pinned("RS256"), want: ""},
		{name: "key pinned RS384, token RS384", token: tok(map[string]any{"alg": "RS384"}, nil), cfg: pinned("RS384"), want: ""},
		{name: "key not pinned, token RS512", token: tok(map[string]any{"alg": "RS512"}, nil), cfg: pinned(""), want: ""},
		{name: "sub missing", token: tok(nil, map[string]any{"sub": nil}), want: reasonTokenVerificationFails},
		{name: "sub number", token: tok(nil, map[string]any{"sub": 42}), want: reasonTokenVerificationFails},
		{name: "sub null", token: tok(nil, map[string]any{"sub": null}), want: reasonTokenVerificationFails},
		{name: "sub array", token: tok(nil, map[string]any{"sub": []string{"user_1"}}), want: reasonTokenVerificationFails},
		{name: "exp missing", token: tok(nil, map[string]any{"exp": nil}), want: reasonTokenVerificationFails},
		{name: "exp string", token: tok(nil, map[string]any{"exp": "1700000050"}), want: reasonTokenVerificationFails},
		{name: "exp null", token: tok(nil, map[string]any{"exp": null}), want: reasonTokenVerificationFails},
		{name: "exp bool", token: tok(nil, map[string]any{"exp": true}), want: reasonTokenVerificationFails},
		{name: "exp 1e400", token: tok(nil, map[string]any{"exp": json.RawMessage("1e400")}), want: reasonTokenVerificationFails},
		{name: "exp huge but finite", token: tok(nil, map[string]any{"exp": json.RawMessage("1e300")}), want: ""},
		{name: "nbf string", token: tok(nil, map[string]any{"nbf": "0"}), want: reasonTokenVerificationFails},
		{name: "nbf null", token: tok(nil, map[string]any{"nbf": null}), want: reasonTokenVerificationFails},
		{name: "iat string", token: tok(nil, map[string]any{"iat": "0"}), want: reasonTokenVerificationFails},
		{name: "iat array", token: tok(nil, map[string]any{"iat": []int{0}}), want: reasonTokenVerificationFails},

		// token-invalid-signature
		{name: "foreign key", token: func(t *testing.T) string {
			return clerk.MintWithKey(foreign, clerk.KeyID(), unitBaseSession())
		}, want: reasonTokenInvalidSignature},
		{name: "tampered payload", token: func(t *testing.T) string {
			good := unitToken(t, clerk, nil, nil)
			forged := unitToken(t, clerk, nil, map[string]any{"sub": "user_admin"})
			return unitSwapPayload(good, forged)
		}, want: reasonTokenInvalidSignature},
		{name: "tampered header", token: func(t *testing.T) string {
			good := strings.Split(unitToken(t, clerk, nil, nil), ".")
			other := strings.Split(unitToken(t, clerk, map[string]any{"alg": "RS256", "x": 1}, nil), ".")
			return other[0] + "." + good[1] + "." + good[2]
		}, want: reasonTokenInvalidSignature},
		{name: "empty signature", token: func(t *testing.T) string {
			good := unitToken(t, clerk, nil, nil)
			return good[:strings.LastIndex(good, ".")+1]
		}, want: reasonTokenInvalidSignature},
		{name: "truncated signature", token: func(t *testing.T) string {
			good := unitToken(t, clerk, nil, nil)
			return good[:len(good)-2] // 340 base64 characters: 255 whole bytes
		}, want: reasonTokenInvalidSignature},
		{name: "RS256 signature labelled RS384", token: func(t *testing.T) string {
			good := strings.Split(unitToken(t, clerk, nil, nil), ".")
			relabelled := strings.Split(unitToken(t, clerk, map[string]any{"alg": "RS384"}, nil), ".")
			return relabelled[0] + "." + relabelled[1] + "." + good[2]
		}, want: reasonTokenInvalidSignature},

		// token-invalid-authorized-parties
		{name: "parties set, azp missing", token: tok(nil, map[string]any{"azp": nil}), cfg: withParties("https://app.example.test"), want: reasonTokenInvalidAZP},
		{name: "parties set, azp different", token: tok(nil, map[string]any{"azp": "https://evil.example"}), cfg: withParties("https://app.example.test"), want: reasonTokenInvalidAZP},
		{name: "parties set, azp differs in case", token: tok(nil, map[string]any{"azp": "https://APP.example.test"}), cfg: withParties("https://app.example.test"), want: reasonTokenInvalidAZP},
		{name: "parties set, azp with trailing slash", token: tok(nil, map[string]any{"azp": "https://app.example.test/"}), cfg: withParties("https://app.example.test"), want: reasonTokenInvalidAZP},
		{name: "parties set, azp empty", token: tok(nil, map[string]any{"azp": ""}), cfg: withParties("https://app.example.test", ""), want: reasonTokenInvalidAZP},
		{name: "parties set, azp number", token: tok(nil, map[string]any{"azp": 1}), cfg: withParties("https://app.example.test"), want: reasonTokenInvalidAZP},
		{name: "parties set, azp matches second", token: tok(nil, map[string]any{"azp": "https://b.example"}), cfg: withParties("https://a.example", "https://b.example"), want: ""},
		{name: "parties empty, azp missing", token: tok(nil, map[string]any{"azp": nil}), cfg: withParties(), want: ""},
		{name: "parties empty, azp anything", token: tok(nil, map[string]any{"azp": "https://evil.example"}), cfg: withParties(), want: ""},

		// token-invalid-issuer
		{name: "issuer wrong", token: tok(nil, map[string]any{"iss": "https://clerk.evil.example"}), want: reasonTokenInvalidIssuer},
		{name: "issuer missing", token: tok(nil, map[string]any{"iss": nil}), want: reasonTokenInvalidIssuer},
		{name: "issuer with trailing slash", token: tok(nil, map[string]any{"iss": clerk.Issuer() + "/"}), want: reasonTokenInvalidIssuer},
		{name: "issuer without scheme", token: tok(nil, map[string]any{"iss": clerk.Host()}), want: reasonTokenInvalidIssuer},
		{name: "issuer number", token: tok(nil, map[string]any{"iss": 1}), want: reasonTokenInvalidIssuer},
		{name: "issuer check off", token: tok(nil, map[string]any{"iss": "https://clerk.evil.example"}), cfg: func(v *verifier) { v.issuer = "" }, want: ""},
		{name: "issuer check off, iss missing", token: tok(nil, map[string]any{"iss": nil}), cfg: func(v *verifier) { v.issuer = "" }, want: ""},

		// key source reasons are passed through
		{name: "key source kid mismatch", token: tok(nil, nil), cfg: func(v *verifier) {
			v.keys = &unitKeySource{reason: reasonJWKKidMismatch}
		}, want: reasonJWKKidMismatch},
		{name: "key source failed to load", token: tok(nil, nil), cfg: func(v *verifier) {
			v.keys = &unitKeySource{reason: reasonJWKRemoteFailedToLoad}
		}, want: reasonJWKRemoteFailedToLoad},
		{name: "key source secret key invalid", token: tok(nil, nil), cfg: func(v *verifier) {
			v.keys = &unitKeySource{reason: reasonSecretKeyInvalid}
		}, want: reasonSecretKeyInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := unitVerifier(t, clerk)
			if tc.cfg != nil {
				tc.cfg(v)
			}
			parsed := unitParse(t, tc.token(t))
			if got := unitVerify(v, parsed); got != tc.want {
				t.Errorf("verify() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestVerifierPassesKidToKeySource(t *testing.T) {
	clerk := clerktest.Start(t, clerktest.Options{})
	for _, tc := range []struct {
		name string
		kid  any
		want string
	}{
		{"kid", "ins_abc", "ins_abc"},
		{"no kid", nil, ""},
		{"kid not a string", 7, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ks := &unitKeySource{k: verificationKey{pub: &clerk.PrivateKey().PublicKey}}
			v := unitVerifier(t, clerk)
			v.keys = ks
			tok := unitToken(t, clerk, map[string]any{"kid": tc.kid}, nil)
			if got := unitVerify(v, unitParse(t, tok)); got != "" {
				t.Fatalf("verify() = %q", got)
			}
			if len(ks.kids) != 1 || ks.kids[0] != tc.want {
				t.Errorf("key source asked for %q, want [%q]", ks.kids, tc.want)
			}
		})
	}
}

func TestVerifierTimeBoundaries(t *testing.T) {
	clerk := clerktest.Start(t, clerktest.Options{})
	const s = time.Second
	halfSecondLater := func() time.Time { return unitNow.Add(500 * time.Millisecond) }
	for _, tc := range []struct {
		name   string
		claims map[string]any
		skewMs int64
		now    func() time.Time
		want   string
	}{
		// Clerk's observed table at the default skew of 5000 ms.
		{name: "exp now-5s expired", claims: map[string]any{"exp": unitSec(-5 * s)}, skewMs: 5000, want: reasonTokenExpired},
		{name: "exp now-4s ok", claims: map[string]any{"exp": unitSec(-4 * s)}, skewMs: 5000, want: ""},
		{name: "exp now-6s expired", claims: map[string]any{"exp": unitSec(-6 * s)}, skewMs: 5000, want: reasonTokenExpired},
		{name: "exp now ok", claims: map[string]any{"exp": unitSec(0)}, skewMs: 5000, want: ""},
		{name: "exp zero expired", claims: map[string]any{"exp": 0}, skewMs: 5000, want: reasonTokenExpired},
		{name: "exp negative expired", claims: map[string]any{"exp": -1}, skewMs: 5000, want: reasonTokenExpired},
		{name: "nbf now+5s ok", claims: map[string]any{"nbf": unitSec(5 * s)}, skewMs: 5000, want: ""},
		{name: "nbf now+6s fails", claims: map[string]any{"nbf": unitSec(6 * s)}, skewMs: 5000, want: reasonTokenNotActiveYet},
		{name: "iat now+5s ok", claims: map[string]any{"iat": unitSec(5 * s)}, skewMs: 5000, want: ""},
		{name: "iat now+6s fails", claims: map[string]any{"iat": unitSec(6 * s)}, skewMs: 5000, want: reasonTokenIatInTheFuture},
		{name: "nbf and iat zero ok", claims: map[string]any{"nbf": 0, "iat": 0}, skewMs: 5000, want: ""},

		// Fractional seconds are truncated, as Date.setUTCSeconds does.
		{name: "exp now-4.9s truncates to now-5s: expired", claims: map[string]any{"exp": unitSec(-5*s) + 0.1}, skewMs: 5000, want: reasonTokenExpired},
		{name: "exp now-4.1s truncates to now-5s: expired", claims: map[string]any{"exp": unitSec(-5*s) + 0.9}, skewMs: 5000, want: reasonTokenExpired},
		{name: "exp now-3.9s truncates to now-4s: ok", claims: map[string]any{"exp": unitSec(-4*s) + 0.1}, skewMs: 5000, want: ""},
		{name: "nbf now+5.9s truncates to now+5s: ok", claims: map[string]any{"nbf": unitSec(5*s) + 0.9}, skewMs: 5000, want: ""},
		{name: "iat now+5.9s truncates to now+5s: ok", claims: map[string]any{"iat": unitSec(5*s) + 0.9}, skewMs: 5000, want: ""},
		{name: "iat now+6.1s fails", claims: map[string]any{"iat": unitSec(6*s) + 0.1}, skewMs: 5000, want: reasonTokenIatInTheFuture},

		// A clock between two seconds.
		{name: "now+0.5s: exp now-5s expired", claims: map[string]any{"exp": unitSec(-5 * s)}, skewMs: 5000, now: halfSecondLater, want: reasonTokenExpired},
		{name: "now+0.5s: exp now-4s ok", claims: map[string]any{"exp": unitSec(-4 * s)}, skewMs: 5000, now: halfSecondLater, want: ""},
		{name: "now+0.5s: nbf now+5s ok", claims: map[string]any{"nbf": unitSec(5 * s)}, skewMs: 5000, now: halfSecondLater, want: ""},
		{name: "now+0.5s: nbf now+6s fails", claims: map[string]any{"nbf": unitSec(6 * s)}, skewMs: 5000, now: halfSecondLater, want: reasonTokenNotActiveYet},

		// No skew.
		{name: "skew 0: exp now expired", claims: map[string]any{"exp": unitSec(0)}, skewMs: 0, want: reasonTokenExpired},
		{name: "skew 0: exp now+1s ok", claims: map[string]any{"exp": unitSec(s)}, skewMs: 0, want: ""},
		{name: "skew 0: nbf now ok", claims: map[string]any{"nbf": unitSec(0)}, skewMs: 0, want: ""},
		{name: "skew 0: nbf now+1s fails", claims: map[string]any{"nbf": unitSec(s)}, skewMs: 0, want: reasonTokenNotActiveYet},
		{name: "skew 0: iat now ok", claims: map[string]any{"iat": unitSec(0)}, skewMs: 0, want: ""},
		{name: "skew 0: iat now+1s fails", claims: map[string]any{"iat": unitSec(s)}, skewMs: 0, want: reasonTokenIatInTheFuture},

		// A minute of skew.
		{name: "skew 60s: exp now-59s ok", claims: map[string]any{"exp": unitSec(-59 * s)}, skewMs: 60000, want: ""},
		{name: "skew 60s: exp now-60s expired", claims: map[string]any{"exp": unitSec(-60 * s)}, skewMs: 60000, want: reasonTokenExpired},
		{name: "skew 60s: nbf now+60s ok", claims: map[string]any{"nbf": unitSec(60 * s)}, skewMs: 60000, want: ""},
		{name: "skew 60s: nbf now+61s fails", claims: map[string]any{"nbf": unitSec(61 * s)}, skewMs: 60000, want: reasonTokenNotActiveYet},
		{name: "skew 60s: iat now+60s ok", claims: map[string]any{"iat": unitSec(60 * s)}, skewMs: 60000, want: ""},
		{name: "skew 60s: iat now+61s fails", claims: map[string]any{"iat": unitSec(61 * s)}, skewMs: 60000, want: reasonTokenIatInTheFuture},

		// A skew that is not whole seconds.
		{name: "skew 1.5s: exp now-1s ok", claims: map[string]any{"exp": unitSec(-s)}, skewMs: 1500, want: ""},
		{name: "skew 1.5s: exp now-2s expired", claims: map[string]any{"exp": unitSec(-2 * s)}, skewMs: 1500, want: reasonTokenExpired},
		{name: "skew 1.5s: nbf now+1s ok", claims: map[string]any{"nbf": unitSec(s)}, skewMs: 1500, want: ""},
		{name: "skew 1.5s: nbf now+2s fails", claims: map[string]any{"nbf": unitSec(2 * s)}, skewMs: 1500, want: reasonTokenNotActiveYet},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := unitVerifier(t, clerk)
			v.skewMillis = tc.skewMs
			if tc.now != nil {
				v.now = tc.now
			}
			// Keep the other time claims well inside the window.
			claims := map[string]any{"exp": unitSec(time.Hour), "nbf": unitSec(-time.Hour), "iat": unitSec(-time.Hour)}
			for k, val := range tc.claims {
				claims[k] = val
			}
			tok := unitToken(t, clerk, nil, claims)
			if got := unitVerify(v, unitParse(t, tok)); got != tc.want {
				t.Errorf("verify() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestVerifierReasonOrder(t *testing.T) {
	clerk := clerktest.Start(t, clerktest.Options{})
	foreign := unitForeignKey(t)
	const s = time.Second
	expired := unitSec(-time.Minute)
	future := unitSec(time.Minute)
	pub := &clerk.PrivateKey().PublicKey
	for _, tc := range []struct {
		name   string
		header map[string]any
		claims map[string]any
		forged bool // sign with a key the verifier does not know
		cfg    func(*verifier)
		want   string
	}{
		{name: "bad sub + bad iss", claims: map[string]any{"sub": 1, "iss": "https://evil"}, want: reasonTokenVerificationFails},
		{name: "good sub + bad iss + string exp", claims: map[string]any{"iss": "https://evil", "exp": "x"}, want: reasonTokenInvalidIssuer},
		{name: "bad signature + expired", claims: map[string]any{"exp": expired}, forged: true, want: reasonTokenInvalidSignature},
		{name: "bad signature + bad sub", claims: map[string]any{"sub": nil}, forged: true, want: reasonTokenInvalidSignature},
		{name: "bad sub + bad azp", claims: map[string]any{"sub": nil, "azp": "https://evil"}, cfg: func(v *verifier) {
			v.authorizedParties = []string{"https://app.example.test"}
		}, want: reasonTokenVerificationFails},
		{name: "bad azp + bad iss", claims: map[string]any{"azp": "https://evil", "iss": "https://evil"}, cfg: func(v *verifier) {
			v.authorizedParties = []string{"https://app.example.test"}
		}, want: reasonTokenInvalidAZP},
		{name: "bad iss + expired", claims: map[string]any{"iss": "https://evil", "exp": expired}, want: reasonTokenInvalidIssuer},
		{name: "expired + nbf future + iat future", claims: map[string]any{"exp": expired, "nbf": future, "iat": future}, want: reasonTokenExpired},
		{name: "nbf future + iat future", claims: map[string]any{"nbf": future, "iat": future}, want: reasonTokenNotActiveYet},
		{name: "expired + nbf string", claims: map[string]any{"exp": expired, "nbf": "x"}, want: reasonTokenExpired},
		{name: "nbf string + iat future", claims: map[string]any{"nbf": "x", "iat": future}, want: reasonTokenVerificationFails},
		{name: "nbf future + iat string", claims: map[string]any{"nbf": future, "iat": "x"}, want: reasonTokenNotActiveYet},
		{name: "exp 1e400 + nbf future", claims: map[string]any{"exp": json.RawMessage("1e400"), "nbf": unitSec(10 * s)}, want: reasonTokenVerificationFails},
		{name: "typ bad + alg none", header: map[string]any{"typ": "at+jwt", "alg": "none"}, want: reasonTokenInvalid},
		{name: "m2m category + alg none + forged", header: map[string]any{"cat": clerktest.CategoryM2M, "alg": "none"}, forged: true, want: reasonTokenInvalid},
		{name: "alg HS256 + bad sub", header: map[string]any{"alg": "HS256"}, claims: map[string]any{"sub": nil}, want: reasonTokenInvalidAlgorithm},
		{name: "alg ES256 + forged", header: map[string]any{"alg": "ES256"}, forged: true, want: reasonTokenInvalidAlgorithm},
		{name: "pinned key alg mismatch + forged", header: map[string]any{"alg": "RS384"}, forged: true, cfg: func(v *verifier) {
			v.keys = &unitKeySource{k: verificationKey{pub: pub, alg: "RS256"}}
		}, want: reasonTokenVerificationFails},
		{name: "key source failure + typ bad + alg none", header: map[string]any{"typ": "x", "alg": "none"}, cfg: func(v *verifier) {
			v.keys = &unitKeySource{reason: reasonJWKKidMismatch}
		}, want: reasonJWKKidMismatch},
		{name: "m2m category + key source failure", header: map[string]any{"cat": clerktest.CategoryM2M}, cfg: func(v *verifier) {
			v.keys = &unitKeySource{reason: reasonJWKRemoteFailedToLoad}
		}, want: reasonTokenInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := unitVerifier(t, clerk)
			if tc.cfg != nil {
				tc.cfg(v)
			}
			var raw string
			if tc.forged {
				h := unitMerge(map[string]any{"alg": "RS256", "kid": clerk.KeyID(), "typ": "JWT", "cat": clerktest.SessionCategory}, tc.header)
				s := unitBaseSession()
				s.Header = h
				for k, val := range tc.claims {
					if s.Claims == nil {
						s.Claims = map[string]any{}
					}
					s.Claims[k] = val
				}
				raw = clerk.MintWithKey(foreign, clerk.KeyID(), s)
			} else {
				raw = unitToken(t, clerk, tc.header, tc.claims)
			}
			if got := unitVerify(v, unitParse(t, raw)); got != tc.want {
				t.Errorf("verify() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestVerifierConcurrentUse(t *testing.T) {
	// The verifier is immutable after provisioning; -race checks that
	// verifying shares nothing mutable.
	clerk := clerktest.Start(t, clerktest.Options{})
	v := unitVerifier(t, clerk)
	good := unitToken(t, clerk, nil, nil)
	bad := unitToken(t, clerk, nil, map[string]any{"exp": unitSec(-time.Hour)})
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			raw, want := good, ""
			if i%2 == 1 {
				raw, want = bad, reasonTokenExpired
			}
			for range 20 {
				tok, err := parseToken(raw)
				if err != nil {
					t.Errorf("parseToken() error = %v", err)
					return
				}
				if got := unitVerify(v, tok); got != want {
					t.Errorf("verify() = %q, want %q", got, want)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestVerifierTokenCache(t *testing.T) {
	clerk := clerktest.Start(t, clerktest.Options{Live: true})
	inst, err := parsePublishableKey(clerk.PublishableKey())
	if err != nil {
		t.Fatal(err)
	}
	ks := &unitKeySource{k: verificationKey{pub: &clerk.PrivateKey().PublicKey}}
	var now atomic.Int64
	now.Store(unitNow.UnixMilli())
	v := unitVerifier(t, clerk)
	v.keys = ks
	v.now = func() time.Time { return time.UnixMilli(now.Load()) }
	v.cache = newTokenCache(64)
	a := &authenticator{verifier: v, inst: inst}
	header := func(tok string) authResult {
		r := unitReq{authz: "Bearer " + tok}.build()
		return a.authenticate(r)
	}
	good := unitToken(t, clerk, nil, nil) // exp = unitNow + 50s

	first := header(good)
	if !first.signedIn() || ks.calls() != 1 {
		t.Fatalf("first use: %+v after %d key lookups", first, ks.calls())
	}
	second := header(good)
	if !second.signedIn() || second.session != first.session || ks.calls() != 1 {
		t.Errorf("second use: signed in %v, same session %v, %d key lookups; want a cache hit", second.signedIn(), second.session == first.session, ks.calls())
	}

	// A hit expires exactly when verification would: exp*1000 <= now - skew.
	now.Store(unitNow.Add(54 * time.Second).UnixMilli())
	if res := header(good); !res.signedIn() || ks.calls() != 1 {
		t.Errorf("at exp+4s: %q after %d key lookups, want a signed-in cache hit", res.reason, ks.calls())
	}
	now.Store(unitNow.Add(55 * time.Second).UnixMilli())
	if res := header(good); res.reason != "session-token-expired-refresh-"+reasonRefreshNonEligibleNoCookie {
		t.Errorf("at exp+5s: %q, want the expired reason of a fresh verification", res.reason)
	}

	// A withdrawn key ends its cached tokens.
	now.Store(unitNow.UnixMilli())
	if res := header(good); !res.signedIn() {
		t.Fatalf("re-verification: %q", res.reason)
	}
	calls := ks.calls()
	ks.withdrawn.Store(true)
	header(good)
	if ks.calls() != calls+1 {
		t.Errorf("withdrawn key: %d key lookups, want a fresh verification", ks.calls()-calls)
	}
	ks.withdrawn.Store(false)

	// Failures are never cached.
	bad := unitToken(t, clerk, nil, map[string]any{"iss": "https://evil.example"})
	calls = ks.calls()
	for range 3 {
		if res := header(bad); res.reason != reasonTokenInvalidIssuer {
			t.Fatalf("bad issuer: %q", res.reason)
		}
	}
	if ks.calls() != calls+3 {
		t.Errorf("a failing token was verified %d times in 3 uses, want 3", ks.calls()-calls)
	}

	// A cached pending session stays signed out.
	pending := unitBaseSession()
	pending.Status = "pending"
	ptok := unitTokenFrom(t, clerk, pending, nil, nil)
	for i := range 2 {
		if res := header(ptok); res.status != statusSignedOut || res.reason != reasonSessionPending || res.session == nil {
			t.Errorf("pending use %d: %+v", i, res)
		}
	}

	// Cookie rules still apply on a hit: iat before client_uat, and the
	// cross-origin document check.
	cookie := func(uat int64, headers map[string]string) authResult {
		r := unitReq{cookies: []string{"__session=" + good, "__client_uat=" + strconv.FormatInt(uat, 10)}, headers: headers}.build()
		return a.authenticate(r)
	}
	iat := unitNow.Add(-10 * time.Second).Unix()
	if res := cookie(iat, nil); !res.signedIn() {
		t.Fatalf("cookie: %q", res.reason)
	}
	if res := cookie(iat+1, nil); res.reason != reasonSessionTokenIatBeforeUAT {
		t.Errorf("cached cookie with a newer client_uat: %q, want %q", res.reason, reasonSessionTokenIatBeforeUAT)
	}
	if res := cookie(iat, map[string]string{"Sec-Fetch-Dest": "document", "Referer": "https://other.example/"}); res.reason != reasonPrimaryDomainCrossOriginSync {
		t.Errorf("cached cookie, cross-origin document: %q, want %q", res.reason, reasonPrimaryDomainCrossOriginSync)
	}
}
