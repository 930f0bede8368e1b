package clerktest

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"regexp"
	"strings"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwt"
)

func TestPublishableKeyFor(t *testing.T) {
	tests := []struct {
		host string
		live bool
		want string
	}{
		{"clerk.example.com", true, "pk_live_Y2xlcmsuZXhhbXBsZS5jb20k"},
		{"happy-hippo-12.clerk.accounts.dev", false, "pk_test_aGFwcHktaGlwcG8tMTIuY2xlcmsuYWNjb3VudHMuZGV2JA"},
		{"clerk.example.test", false, ""},
		{"a.b", true, ""},
		{"clerk.x.io", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			pk := PublishableKeyFor(tt.host, tt.live)
			if tt.want != "" && pk != tt.want {
				t.Errorf("PublishableKeyFor(%q, %v) = %q, want %q", tt.host, tt.live, pk, tt.want)
			}
			if strings.Contains(pk, "=") {
				t.Errorf("%q has padding", pk)
			}
			parts := strings.Split(pk, "_")
			if len(parts) != 3 {
				t.Fatalf("%q splits into %d parts", pk, len(parts))
			}
			wantPrefix := "test"
			if tt.live {
				wantPrefix = "live"
			}
			if parts[0] != "pk" || parts[1] != wantPrefix {
				t.Errorf("%q: prefix %s_%s", pk, parts[0], parts[1])
			}
			// atob is forgiving about padding.
			dec, err := base64.RawStdEncoding.DecodeString(parts[2])
			if err != nil {
				t.Fatal(err)
			}
			if string(dec) != tt.host+"$" {
				t.Errorf("decoded %q, want %q", dec, tt.host+"$")
			}
		})
	}
}

func TestInstanceKeys(t *testing.T) {
	skRE := regexp.MustCompile(`^sk_(test|live)_[0-9A-Za-z]{42}$`)
	kidRE := regexp.MustCompile(`^ins_[0-9A-Za-z]{27}$`)
	tests := []struct {
		name     string
		opts     Options
		host     string
		pkPrefix string
		skPrefix string
	}{
		{"defaults", Options{}, DefaultHost, "pk_test_", "sk_test_"},
		{"live", Options{Host: "clerk.example.com", Live: true}, "clerk.example.com", "pk_live_", "sk_live_"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			i := Start(t, tt.opts)
			if i.Host() != tt.host {
				t.Errorf("Host() = %q, want %q", i.Host(), tt.host)
			}
			if i.Issuer() != "https://"+tt.host {
				t.Errorf("Issuer() = %q", i.Issuer())
			}
			if pk := i.PublishableKey(); pk != PublishableKeyFor(tt.host, tt.opts.Live) || !strings.HasPrefix(pk, tt.pkPrefix) {
				t.Errorf("PublishableKey() = %q", pk)
			}
			if sk := i.SecretKey(); !strings.HasPrefix(sk, tt.skPrefix) || !skRE.MatchString(sk) {
				t.Errorf("SecretKey() = %q", sk)
			}
			if i.Live() != tt.opts.Live {
				t.Errorf("Live() = %v", i.Live())
			}
			if !kidRE.MatchString(i.KeyID()) {
				t.Errorf("KeyID() = %q", i.KeyID())
			}
			block, rest := pem.Decode(i.PublicKeyPEM())
			if block == nil || block.Type != "PUBLIC KEY" || len(strings.TrimSpace(string(rest))) != 0 {
				t.Fatalf("PublicKeyPEM() = %s", i.PublicKeyPEM())
			}
			pub, err := x509.ParsePKIXPublicKey(block.Bytes)
			if err != nil {
				t.Fatal(err)
			}
			if !pub.(*rsa.PublicKey).Equal(&i.PrivateKey().PublicKey) {
				t.Error("PublicKeyPEM does not match PrivateKey")
			}
			if bits := i.PrivateKey().N.BitLen(); bits != DefaultKeyBits {
				t.Errorf("key has %d bits", bits)
			}
		})
	}
	a, b := Start(t, Options{}), Start(t, Options{})
	if a.SecretKey() == b.SecretKey() || a.KeyID() == b.KeyID() {
		t.Error("two instances share a secret key or kid")
	}
}

func TestKeyBits(t *testing.T) {
	i := Start(t, Options{KeyBits: 1024})
	if bits := i.PrivateKey().N.BitLen(); bits != 1024 {
		t.Errorf("key has %d bits", bits)
	}
	i.RotateKey()
	if bits := i.PrivateKey().N.BitLen(); bits != 1024 {
		t.Errorf("rotated key has %d bits", bits)
	}
	if _, err := New(Options{KeyBits: 512}); err == nil {
		t.Error("New accepted a 512-bit key size")
	}
}

func TestRotateAndRemoveKey(t *testing.T) {
	i := Start(t, Options{})
	k1 := i.KeyID()
	tok1 := i.Mint(Session{})

	k2 := i.RotateKey()
	if k2 == k1 || i.KeyID() != k2 {
		t.Fatalf("RotateKey() = %q, KeyID() = %q, old %q", k2, i.KeyID(), k1)
	}
	if got := i.KeyIDs(); len(got) != 2 || got[0] != k1 || got[1] != k2 {
		t.Fatalf("KeyIDs() = %v", got)
	}
	tok2 := i.Mint(Session{})
	if h, _, _ := splitToken(t, tok2); h["kid"] != k2 {
		t.Errorf("new token kid %v, want %v", h["kid"], k2)
	}

	set := fetchSet(t, i)
	if set.Len() != 2 {
		t.Fatalf("JWKS has %d keys after rotation, want 2", set.Len())
	}
	for _, kid := range []string{k1, k2} {
		if _, ok := set.LookupKeyID(kid); !ok {
			t.Errorf("JWKS lacks %s", kid)
		}
	}
	for name, tok := range map[string]string{"old": tok1, "new": tok2} {
		if _, err := jwt.Parse([]byte(tok), jwt.WithKeySet(set)); err != nil {
			t.Errorf("%s token does not verify after rotation: %v", name, err)
		}
	}
	// Signing with the older, still published key by naming its kid.
	old := i.Sign(map[string]any{"alg": "RS256", "kid": k1}, map[string]any{"sub": "user_1"})
	if _, err := jwt.Parse([]byte(old), jwt.WithKeySet(set), jwt.WithValidate(false)); err != nil {
		t.Errorf("token signed with older key by kid: %v", err)
	}

	i.RemoveKey(k1)
	if got := i.KeyIDs(); len(got) != 1 || got[0] != k2 {
		t.Fatalf("KeyIDs() after RemoveKey = %v", got)
	}
	set = fetchSet(t, i)
	if _, ok := set.LookupKeyID(k1); ok || set.Len() != 1 {
		t.Fatalf("removed key still published (%d keys)", set.Len())
	}
	if _, err := jwt.Parse([]byte(tok1), jwt.WithKeySet(set)); err == nil {
		t.Error("token of a removed key still verifies")
	}
	// A removed key is never used again: naming it signs with the current key.
	forged := i.Sign(map[string]any{"alg": "RS256", "kid": k1}, map[string]any{"sub": "user_1"})
	_, _, sig := splitToken(t, forged)
	if sig == strings.Split(old, ".")[2] {
		t.Error("Sign used a removed key")
	}
	i.RemoveKey("ins_unknown") // ignored
	if i.KeyID() != k2 {
		t.Errorf("KeyID() = %q after removing an unknown kid", i.KeyID())
	}

	// Removing the current key makes the newest remaining key current.
	k3 := i.RotateKey()
	i.RemoveKey(k3)
	if i.KeyID() != k2 {
		t.Errorf("KeyID() = %q after removing current, want %q", i.KeyID(), k2)
	}
	// Removing the only key replaces it with a fresh one.
	i.RemoveKey(k2)
	if got := i.KeyIDs(); len(got) != 1 || got[0] == k2 || got[0] != i.KeyID() {
		t.Errorf("KeyIDs() after removing the only key = %v (current %q)", got, i.KeyID())
	}
	if _, err := jwt.Parse([]byte(i.Mint(Session{})), jwt.WithKeySet(fetchSet(t, i))); err != nil {
		t.Errorf("token after replacing the only key: %v", err)
	}
}
