package clerktest

import (
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"math"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jwt"
)

func TestMintVerifiesAgainstServedJWKS(t *testing.T) {
	i := Start(t, Options{Host: "clerk.example.com", Live: true})
	set := fetchSet(t, i)
	token := i.Mint(Session{UserID: "user_abc", SessionID: "sess_xyz"})
	tok, err := jwt.Parse([]byte(token),
		jwt.WithKeySet(set),
		jwt.WithIssuer("https://clerk.example.com"),
		jwt.WithAcceptableSkew(5*time.Second))
	if err != nil {
		t.Fatalf("jwt.Parse: %v", err)
	}
	if tok.Subject() != "user_abc" {
		t.Errorf("sub %q", tok.Subject())
	}
	if sid, _ := tok.Get("sid"); sid != "sess_xyz" {
		t.Errorf("sid %v", sid)
	}
	header, _, _ := splitToken(t, token)
	wantHeader := map[string]any{"alg": "RS256", "kid": i.KeyID(), "typ": "JWT", "cat": SessionCategory}
	if !reflect.DeepEqual(header, wantHeader) {
		t.Errorf("header %v, want %v", header, wantHeader)
	}
	// The FAPI JWKS verifies it too.
	set2, err := jwk.Parse(get(t, i.FrontendAPIURL()+FrontendJWKSPath).body)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := jwt.Parse([]byte(token), jwt.WithKeySet(set2)); err != nil {
		t.Errorf("FAPI JWKS: %v", err)
	}
}

func TestMintDefaults(t *testing.T) {
	i := Start(t, Options{})
	before := time.Now().Unix()
	_, c, _ := splitToken(t, i.Mint(Session{}))
	after := time.Now().Unix()

	if !regexp.MustCompile(`^user_[0-9A-Za-z]{27}$`).MatchString(c["sub"].(string)) {
		t.Errorf("sub %v", c["sub"])
	}
	if !regexp.MustCompile(`^sess_[0-9A-Za-z]{27}$`).MatchString(c["sid"].(string)) {
		t.Errorf("sid %v", c["sid"])
	}
	want := map[string]any{"iss": "https://clerk.example.test", "sts": "active", "azp": DefaultAuthorizedParty}
	for k, v := range want {
		if c[k] != v {
			t.Errorf("%s = %v, want %v", k, c[k], v)
		}
	}
	if v := num(t, c["v"]); v != 2 {
		t.Errorf("v = %d", v)
	}
	iat, nbf, exp := num(t, c["iat"]), num(t, c["nbf"]), num(t, c["exp"])
	if iat < before || iat > after || nbf != iat || exp != iat+60 {
		t.Errorf("iat %d nbf %d exp %d (now %d..%d)", iat, nbf, exp, before, after)
	}
	for _, k := range []string{"o", "fea", "pla", "act", "fva", "org_id", "org_permissions"} {
		if _, ok := c[k]; ok {
			t.Errorf("unexpected claim %s = %v", k, c[k])
		}
	}
	if len(c) != 9 {
		t.Errorf("claims %v, want iss sub sid sts azp iat nbf exp v", c)
	}
	// Ids are fresh per token.
	_, c2, _ := splitToken(t, i.Mint(Session{}))
	if c2["sub"] == c["sub"] || c2["sid"] == c["sid"] {
		t.Error("default ids repeat")
	}

	short := Start(t, Options{TokenLifetime: 5 * time.Minute})
	_, c, _ = splitToken(t, short.Mint(Session{}))
	if d := num(t, c["exp"]) - num(t, c["iat"]); d != 300 {
		t.Errorf("exp - iat = %d with a 5m lifetime", d)
	}
}

func TestMintClaims(t *testing.T) {
	i := Start(t, Options{})
	t0 := time.Unix(1_700_000_000, 0)
	fva := [2]int{5, -1}
	tests := []struct {
		name    string
		s       Session
		want    map[string]any // claim -> JSON value (numbers as json.Number strings)
		absent  []string
		wantHdr map[string]any
	}{
		{
			name:   "pending",
			s:      Session{Status: "pending"},
			want:   map[string]any{"sts": "pending"},
			absent: nil,
		},
		{
			name:   "no sts no azp",
			s:      Session{Status: "-", AuthorizedParty: "-"},
			absent: []string{"sts", "azp"},
		},
		{
			name: "azp actor fva plans",
			s:    Session{AuthorizedParty: "https://shop.example", Actor: "user_admin", FVA: &fva, Plans: "u:pro,o:team"},
			want: map[string]any{
				"azp": "https://shop.example",
				"act": map[string]any{"sub": "user_admin"},
				"fva": []any{json.Number("5"), json.Number("-1")},
				"pla": "u:pro,o:team",
			},
		},
		{
			name: "times",
			s:    Session{IssuedAt: t0, NotBefore: t0.Add(-10 * time.Second), Expiry: t0.Add(time.Hour)},
			want: map[string]any{"iat": json.Number("1700000000"), "nbf": json.Number("1699999990"), "exp": json.Number("1700003600")},
		},
		{
			name: "v2 org",
			s: Session{
				UserID:       "user_1",
				Org:          &Org{ID: "org_1", Slug: "acme", Role: "admin", Permissions: []string{"org:invoices:read", "org:invoices:manage", "org:reports:read"}},
				UserFeatures: []string{"premium"},
			},
			want: map[string]any{
				"sub": "user_1",
				"v":   json.Number("2"),
				"fea": "o:invoices,o:reports,u:premium",
				"o":   map[string]any{"id": "org_1", "slg": "acme", "rol": "admin", "per": "read,manage", "fpm": "3,1"},
			},
			absent: []string{"per", "fpm", "org_id", "org_role", "org_slug", "org_permissions"},
		},
		{
			name: "v2 org role with prefix, no permissions, extra features",
			s:    Session{Org: &Org{ID: "org_2", Role: "org:member", Features: []string{"sso"}}},
			want: map[string]any{
				"fea": "o:sso",
				"o":   map[string]any{"id": "org_2", "rol": "member"},
			},
		},
		{
			name: "v1 org",
			s: Session{
				Version: 1,
				Org:     &Org{ID: "org_1", Slug: "acme", Role: "admin", Permissions: []string{"org:sys_memberships:manage", "org:invoices:read"}},
			},
			want: map[string]any{
				"org_id":          "org_1",
				"org_slug":        "acme",
				"org_role":        "org:admin",
				"org_permissions": []any{"org:sys_memberships:manage", "org:invoices:read"},
			},
			absent: []string{"v", "o", "fea"},
		},
		{
			name:   "v1 org without permissions",
			s:      Session{Version: 1, Org: &Org{ID: "org_1"}, UserFeatures: []string{"beta"}},
			want:   map[string]any{"org_id": "org_1", "org_permissions": []any{}, "fea": "u:beta"},
			absent: []string{"v", "org_role", "org_slug"},
		},
		{
			name: "other version",
			s:    Session{Version: 3},
			want: map[string]any{"v": json.Number("3")},
		},
		{
			name:   "claims override and delete",
			s:      Session{Claims: map[string]any{"sub": "user_x", "exp": nil, "v": "2", "custom": true}},
			want:   map[string]any{"sub": "user_x", "v": "2", "custom": true},
			absent: []string{"exp"},
		},
		{
			name:    "header override and delete",
			s:       Session{Header: map[string]any{"typ": nil, "cat": CategoryJWTTemplate, "x": "y"}},
			wantHdr: map[string]any{"alg": "RS256", "kid": i.KeyID(), "cat": CategoryJWTTemplate, "x": "y"},
		},
		{
			name:    "header without kid",
			s:       Session{Header: map[string]any{"kid": nil}},
			wantHdr: map[string]any{"alg": "RS256", "typ": "JWT", "cat": SessionCategory},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			token := i.Mint(tt.s)
			h, c, _ := splitToken(t, token)
			for k, v := range tt.want {
				if !reflect.DeepEqual(c[k], v) {
					t.Errorf("claim %s = %#v, want %#v", k, c[k], v)
				}
			}
			for _, k := range tt.absent {
				if v, ok := c[k]; ok {
					t.Errorf("claim %s = %v, want absent", k, v)
				}
			}
			if tt.wantHdr != nil && !reflect.DeepEqual(h, tt.wantHdr) {
				t.Errorf("header %v, want %v", h, tt.wantHdr)
			}
			// Every RS256 token verifies against the current key.
			if _, err := jwt.Parse([]byte(token), jwt.WithKey(jwa.RS256, &i.PrivateKey().PublicKey), jwt.WithValidate(false)); err != nil {
				t.Errorf("signature: %v", err)
			}
		})
	}
}

func TestMintNeverPanics(t *testing.T) {
	i := Start(t, Options{})
	token := i.Mint(Session{Claims: map[string]any{"bad": func() {}, "nan": math.NaN()}})
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q", token)
	}
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	if json.Valid(payload) {
		t.Errorf("unencodable claims produced valid JSON %s", payload)
	}
	if _, err := jwt.Parse([]byte(token), jwt.WithKeySet(fetchSet(t, i))); err == nil {
		t.Error("token with an invalid payload verifies")
	}
	if tok := i.MintWithKey(nil, "", Session{}); !strings.HasSuffix(tok, ".") || strings.Count(tok, ".") != 2 {
		t.Errorf("MintWithKey(nil) = %q", tok)
	}
}

func TestSign(t *testing.T) {
	i := Start(t, Options{})
	claims := map[string]any{"sub": "user_1", "iat": 1}
	pub := &i.PrivateKey().PublicKey

	t.Run("none", func(t *testing.T) {
		for _, alg := range []string{"none", "None", "NONE"} {
			token := i.Sign(map[string]any{"alg": alg}, claims)
			h, c, sig := splitToken(t, token)
			if sig != "" || !strings.HasSuffix(token, ".") {
				t.Errorf("%s: signature %q", alg, sig)
			}
			if !reflect.DeepEqual(h, map[string]any{"alg": alg}) {
				t.Errorf("%s: header %v", alg, h)
			}
			if c["sub"] != "user_1" {
				t.Errorf("%s: claims %v", alg, c)
			}
		}
	})

	t.Run("HS256 keyed with the public key PEM", func(t *testing.T) {
		token := i.Sign(map[string]any{"alg": "HS256", "typ": "JWT"}, claims)
		parts := strings.Split(token, ".")
		m := hmac.New(sha256.New, i.PublicKeyPEM())
		m.Write([]byte(parts[0] + "." + parts[1]))
		if want := base64.RawURLEncoding.EncodeToString(m.Sum(nil)); parts[2] != want {
			t.Errorf("signature %s, want %s", parts[2], want)
		}
		if _, err := jwt.Parse([]byte(token), jwt.WithKey(jwa.HS256, i.PublicKeyPEM()), jwt.WithValidate(false)); err != nil {
			t.Errorf("jwx HS256 with PEM: %v", err)
		}
		if _, err := jwt.Parse([]byte(token), jwt.WithKeySet(fetchSet(t, i))); err == nil {
			t.Error("HS256 token verifies against the JWKS")
		}
		h, _, _ := splitToken(t, token)
		if _, ok := h["kid"]; ok {
			t.Errorf("header without kid got one: %v", h)
		}
		token = i.Sign(map[string]any{"alg": "HS512"}, claims)
		parts = strings.Split(token, ".")
		m = hmac.New(sha512.New, i.PublicKeyPEM())
		m.Write([]byte(parts[0] + "." + parts[1]))
		if want := base64.RawURLEncoding.EncodeToString(m.Sum(nil)); parts[2] != want {
			t.Error("HS512 signature mismatch")
		}
	})

	t.Run("RSA algorithms", func(t *testing.T) {
		for _, tt := range []struct {
			alg  string
			hash crypto.Hash
		}{
			{"RS256", crypto.SHA256}, {"RS384", crypto.SHA384}, {"RS512", crypto.SHA512},
			{"ES256", crypto.SHA256}, {"", crypto.SHA256},
		} {
			header := map[string]any{"alg": tt.alg, "kid": i.KeyID()}
			if tt.alg == "" {
				header = map[string]any{}
			}
			token := i.Sign(header, claims)
			parts := strings.Split(token, ".")
			sig, err := base64.RawURLEncoding.DecodeString(parts[2])
			if err != nil {
				t.Fatal(err)
			}
			d := tt.hash.New()
			d.Write([]byte(parts[0] + "." + parts[1]))
			if err := rsa.VerifyPKCS1v15(pub, tt.hash, d.Sum(nil), sig); err != nil {
				t.Errorf("alg %q: %v", tt.alg, err)
			}
		}
		token := i.Sign(map[string]any{"alg": "RS512", "kid": i.KeyID(), "typ": "JWT"}, claims)
		if _, err := jwt.Parse([]byte(token), jwt.WithKey(jwa.RS512, pub), jwt.WithValidate(false)); err != nil {
			t.Errorf("RS512: %v", err)
		}
	})

	t.Run("exact JSON", func(t *testing.T) {
		token := i.Sign(map[string]any{"b": 1, "a": "<&>"}, nil)
		parts := strings.Split(token, ".")
		for k, want := range []string{`{"a":"<&>","b":1}`, `{}`} {
			got, _ := base64.RawURLEncoding.DecodeString(parts[k])
			if string(got) != want {
				t.Errorf("segment %d = %s, want %s", k, got, want)
			}
		}
	})
}

func TestMintWithKey(t *testing.T) {
	i := Start(t, Options{})
	foreign, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	set := fetchSet(t, i)

	// A forged token that claims our kid fails against our JWKS but is a
	// valid signature of the foreign key.
	forged := i.MintWithKey(foreign, i.KeyID(), Session{UserID: "user_evil"})
	h, c, _ := splitToken(t, forged)
	if h["kid"] != i.KeyID() || c["sub"] != "user_evil" || c["iss"] != i.Issuer() {
		t.Errorf("header %v claims %v", h, c)
	}
	if _, err := jwt.Parse([]byte(forged), jwt.WithKeySet(set)); err == nil {
		t.Error("forged token verifies against the JWKS")
	}
	if _, err := jwt.Parse([]byte(forged), jwt.WithKey(jwa.RS256, &foreign.PublicKey)); err != nil {
		t.Errorf("forged token is not signed by the foreign key: %v", err)
	}
	// Empty kid: none written.
	h, _, _ = splitToken(t, i.MintWithKey(foreign, "", Session{}))
	if _, ok := h["kid"]; ok {
		t.Errorf("kid written: %v", h)
	}
	// A foreign kid.
	h, _, _ = splitToken(t, i.MintWithKey(foreign, "ins_foreign", Session{}))
	if h["kid"] != "ins_foreign" {
		t.Errorf("kid %v", h["kid"])
	}
	// HS256 through MintWithKey is keyed with the foreign key's PEM.
	tok := i.MintWithKey(foreign, "k", Session{Header: map[string]any{"alg": "HS256"}})
	if _, err := jwt.Parse([]byte(tok), jwt.WithKey(jwa.HS256, publicKeyPEM(&foreign.PublicKey))); err != nil {
		t.Errorf("HS256 via MintWithKey: %v", err)
	}
}

func TestSessionCookies(t *testing.T) {
	i := Start(t, Options{})
	iat := time.Unix(1_712_345_678, 0)
	tests := []struct {
		name  string
		token string
		uat   string // "" means about now
	}{
		{"minted", i.Mint(Session{IssuedAt: iat}), "1712345678"},
		{"fractional iat", i.Sign(map[string]any{"alg": "RS256"}, map[string]any{"iat": 17.9}), "17"},
		{"no iat", i.Mint(Session{Claims: map[string]any{"iat": nil}}), ""},
		{"string iat", i.Sign(map[string]any{"alg": "RS256"}, map[string]any{"iat": "17"}), ""},
		{"garbage", "not-a-token", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := time.Now().Unix()
			cookies := i.SessionCookies(tt.token)
			if len(cookies) != 2 || cookies[0].Name != "__session" || cookies[1].Name != "__client_uat" {
				t.Fatalf("cookies %v", cookies)
			}
			if cookies[0].Value != tt.token {
				t.Errorf("__session = %q", cookies[0].Value)
			}
			uat := cookies[1].Value
			if tt.uat != "" {
				if uat != tt.uat {
					t.Errorf("__client_uat = %q, want %q", uat, tt.uat)
				}
				return
			}
			n, err := strconv.ParseInt(uat, 10, 64)
			if err != nil || n < before || n > time.Now().Unix() {
				t.Errorf("__client_uat = %q, want about now", uat)
			}
		})
	}
}
