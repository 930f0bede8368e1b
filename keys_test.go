package caddyclerk

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/caddy-clerk/caddy-clerk/clerktest"
)

// unitPEM encodes a public key as PKIX "PUBLIC KEY" PEM.
func unitPEM(t *testing.T, pub any) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

func TestLoadPEMKeySizes(t *testing.T) {
	for _, bits := range []int{2048, 3072, 4096} {
		t.Run(strconv.Itoa(bits)+" bits", func(t *testing.T) {
			clerk := clerktest.Start(t, clerktest.Options{KeyBits: bits})
			for _, src := range []string{"inline", "file"} {
				value := string(clerk.PublicKeyPEM())
				if src == "file" {
					path := filepath.Join(t.TempDir(), "clerk.pem")
					if err := os.WriteFile(path, clerk.PublicKeyPEM(), 0o600); err != nil {
						t.Fatal(err)
					}
					value = path
				}
				k, err := loadPEMKey(value)
				if err != nil {
					t.Fatalf("%s: loadPEMKey() error = %v", src, err)
				}
				if k.k.pub.N.BitLen() != bits || k.k.alg != "" {
					t.Fatalf("%s: key is %d bits, alg %q; want %d bits, no pinned alg", src, k.k.pub.N.BitLen(), k.k.alg, bits)
				}
				v := unitVerifier(t, clerk)
				v.keys = k
				for _, alg := range []string{"RS256", "RS384", "RS512"} {
					tok := unitToken(t, clerk, map[string]any{"alg": alg}, nil)
					if got := unitVerify(v, unitParse(t, tok)); got != "" {
						t.Errorf("%s: %s token with a %d-bit key: verify() = %q, want success", src, alg, bits, got)
					}
				}
			}
		})
	}
}

func TestLoadPEMKeyOtherKeyDoesNotVerify(t *testing.T) {
	clerk := clerktest.Start(t, clerktest.Options{})
	other := unitForeignKey(t)
	k, err := loadPEMKey(unitPEM(t, &other.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	v := unitVerifier(t, clerk)
	v.keys = k
	if got := unitVerify(v, unitParse(t, unitToken(t, clerk, nil, nil))); got != reasonTokenInvalidSignature {
		t.Errorf("verify() with another PEM key = %q, want %q", got, reasonTokenInvalidSignature)
	}
}

func TestLoadPEMKeyRejected(t *testing.T) {
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	edPub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	garbageFile := filepath.Join(dir, "garbage.pem")
	if err := os.WriteFile(garbageFile, []byte("not a key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ecFile := filepath.Join(dir, "ec.pem")
	if err := os.WriteFile(ecFile, []byte(unitPEM(t, &ecKey.PublicKey)), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		value string
	}{
		{"empty", ""},
		{"EC public key", unitPEM(t, &ecKey.PublicKey)},
		{"Ed25519 public key", unitPEM(t, edPub)},
		{"EC public key from a file", ecFile},
		{"garbage inside PEM armour", "-----BEGIN PUBLIC KEY-----\nbm90IGEga2V5\n-----END PUBLIC KEY-----\n"},
		{"truncated PEM", "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"},
		{"garbage file", garbageFile},
		{"missing file", filepath.Join(dir, "missing.pem")},
		{"directory", dir},
		{"plain text that is not a path", "not a pem key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if k, err := loadPEMKey(tc.value); err == nil {
				t.Fatalf("loadPEMKey(%.40q) = %v, want an error", tc.value, k)
			}
		})
	}
}

// unitJWK returns the JSON object of one JWK for a raw key, with extra
// members set over it.
func unitJWK(t *testing.T, raw any, extra map[string]any) map[string]any {
	t.Helper()
	k, err := jwk.FromRaw(raw)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(k)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return unitMerge(m, extra)
}

// unitJWKS encodes keys as a JWKS document.
func unitJWKS(t *testing.T, keys ...map[string]any) []byte {
	t.Helper()
	if keys == nil {
		keys = []map[string]any{}
	}
	b, err := json.Marshal(map[string]any{"keys": keys})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseJWKS(t *testing.T) {
	clerk := clerktest.Start(t, clerktest.Options{})
	firstKid := clerk.KeyID()
	secondKid := clerk.RotateKey()
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rsaKey := unitForeignKey(t)
	rsaJWK := func(extra map[string]any) map[string]any { return unitJWK(t, &rsaKey.PublicKey, extra) }
	ecJWK := unitJWK(t, &ecKey.PublicKey, map[string]any{"kid": "ec", "use": "sig", "alg": "ES256"})
	octJWK := unitJWK(t, []byte("0123456789abcdef0123456789abcdef"), map[string]any{"kid": "oct", "use": "sig"})

	for _, tc := range []struct {
		name     string
		body     []byte
		wantKids map[string]string // kid -> pinned alg
		wantErr  bool
	}{
		{name: "clerktest JWKS", body: clerk.JWKS(), wantKids: map[string]string{firstKid: "RS256", secondKid: "RS256"}},
		{name: "RSA key without use or alg", body: unitJWKS(t, rsaJWK(map[string]any{"kid": "a"})), wantKids: map[string]string{"a": ""}},
		{name: "RSA key with alg RS512", body: unitJWKS(t, rsaJWK(map[string]any{"kid": "a", "alg": "RS512", "use": "sig"})), wantKids: map[string]string{"a": "RS512"}},
		{name: "RSA key without kid", body: unitJWKS(t, rsaJWK(map[string]any{"use": "sig"})), wantKids: map[string]string{"": ""}},
		{name: "enc keys skipped", body: unitJWKS(t,
			rsaJWK(map[string]any{"kid": "enc", "use": "enc"}),
			rsaJWK(map[string]any{"kid": "sig", "use": "sig"})), wantKids: map[string]string{"sig": ""}},
		{name: "EC keys skipped", body: unitJWKS(t, ecJWK, rsaJWK(map[string]any{"kid": "rsa"})), wantKids: map[string]string{"rsa": ""}},
		{name: "symmetric keys skipped", body: unitJWKS(t, octJWK, rsaJWK(map[string]any{"kid": "rsa"})), wantKids: map[string]string{"rsa": ""}},
		{name: "only an enc key", body: unitJWKS(t, rsaJWK(map[string]any{"kid": "enc", "use": "enc"})), wantErr: true},
		{name: "only an EC key", body: unitJWKS(t, ecJWK), wantErr: true},
		{name: "only a symmetric key", body: unitJWKS(t, octJWK), wantErr: true},
		{name: "empty set", body: []byte(`{"keys":[]}`), wantErr: true},
		{name: "empty object", body: []byte(`{}`), wantErr: true},
		{name: "empty body", body: []byte(``), wantErr: true},
		{name: "HTML", body: []byte(clerktest.GarbageJWKSBody), wantErr: true},
		{name: "JSON array", body: []byte(`[1,2]`), wantErr: true},
		{name: "Clerk error body", body: []byte(`{"errors":[{"code":"internal_clerk_error"}]}`), wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			keys, err := parseJWKS(tc.body)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("parseJWKS() = %v, want an error", keys)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseJWKS() error = %v", err)
			}
			if len(keys) != len(tc.wantKids) {
				t.Errorf("parseJWKS() has %d keys, want %d", len(keys), len(tc.wantKids))
			}
			for kid, alg := range tc.wantKids {
				k, ok := keys[kid]
				if !ok {
					t.Errorf("kid %q missing", kid)
					continue
				}
				if k.pub == nil || k.alg != alg {
					t.Errorf("kid %q = %+v, want an RSA key pinned to %q", kid, k, alg)
				}
			}
		})
	}

	// The parsed key verifies the instance's tokens.
	keys, err := parseJWKS(clerk.JWKS())
	if err != nil {
		t.Fatal(err)
	}
	v := unitVerifier(t, clerk)
	v.keys = &unitKeySource{k: keys[secondKid]}
	if got := unitVerify(v, unitParse(t, unitToken(t, clerk, nil, nil))); got != "" {
		t.Errorf("verify() with the parsed JWKS key = %q", got)
	}
}

// setForTest sets a package variable (a timing knob such as jwksMinRefetch)
// for one test and restores it when the test and its subtests end. Call it
// before creating what reads the variable (remoteKeys), so that the restore
// runs after those are destroyed.
func setForTest[T any](t *testing.T, p *T, v T) {
	t.Helper()
	old := *p
	*p = v
	t.Cleanup(func() { *p = old })
}

// unitRemoteKeys starts a key cache and destroys it when the test ends.
func unitRemoteKeys(t *testing.T, url, auth string) *remoteKeys {
	t.Helper()
	rk := newRemoteKeys(url, auth)
	t.Cleanup(func() {
		if err := rk.Destruct(); err != nil {
			t.Errorf("Destruct() error = %v", err)
		}
	})
	return rk
}

// unitWaitFetched waits until the first fetch of rk has succeeded or failed.
func unitWaitFetched(t *testing.T, rk *remoteKeys) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for rk.snap.Load() == nil && rk.failure.Load() == nil {
		if time.Now().After(deadline) {
			t.Fatal("the first JWKS fetch did not finish")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// unitKey asks rk for kid with a deadline.
func unitKey(t *testing.T, rk *remoteKeys, kid string) (verificationKey, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return rk.key(ctx, kid)
}

func unitFAPIJWKS(clerk *clerktest.Instance) string {
	return clerk.FrontendAPIURL() + clerktest.FrontendJWKSPath
}

func unitBAPIJWKS(clerk *clerktest.Instance) string {
	return clerk.BackendAPIURL() + clerktest.BackendJWKSPath
}

func TestRemoteKeysFirstFetch(t *testing.T) {
	for _, tc := range []struct {
		name    string
		backend bool
	}{
		{"frontend API", false},
		{"backend API with the secret key", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clerk := clerktest.Start(t, clerktest.Options{})
			url, auth := unitFAPIJWKS(clerk), ""
			if tc.backend {
				url, auth = unitBAPIJWKS(clerk), "Bearer "+clerk.SecretKey()
			}
			rk := unitRemoteKeys(t, url, auth)
			unitWaitFetched(t, rk)
			k, reason := unitKey(t, rk, clerk.KeyID())
			if reason != "" || k.pub == nil || k.alg != "RS256" {
				t.Fatalf("key() = %+v, %q; want the instance's RS256 key", k, reason)
			}
			if n := clerk.JWKSFetches(); n != 1 {
				t.Errorf("JWKS fetched %d times, want 1", n)
			}
			if tc.backend {
				if got := clerk.LastAPIVersion(); got != clerkAPIVersion {
					t.Errorf("Clerk-API-Version = %q, want %q", got, clerkAPIVersion)
				}
			}
			// A known kid never touches the network.
			for range 50 {
				if _, reason := unitKey(t, rk, clerk.KeyID()); reason != "" {
					t.Fatalf("key() = %q", reason)
				}
			}
			if n := clerk.JWKSFetches(); n != 1 {
				t.Errorf("JWKS fetched %d times after known kids, want 1", n)
			}
			v := unitVerifier(t, clerk)
			v.keys = rk
			if got := unitVerify(v, unitParse(t, unitToken(t, clerk, nil, nil))); got != "" {
				t.Errorf("verify() through the JWKS = %q", got)
			}
			// The JWKS pins RS256, as Clerk's JWK import does.
			if got := unitVerify(v, unitParse(t, unitToken(t, clerk, map[string]any{"alg": "RS384"}, nil))); got != reasonTokenVerificationFails {
				t.Errorf("verify() of an RS384 token through an RS256 JWK = %q, want %q", got, reasonTokenVerificationFails)
			}
		})
	}
}

func TestRemoteKeysColdStartWaitsForFetch(t *testing.T) {
	// A request that arrives while the very first fetch is still in flight
	// has no keys yet; it must wait for that fetch (within its own
	// deadline) instead of failing at once with jwk-remote-failed-to-load.
	clerk := clerktest.Start(t, clerktest.Options{})
	slow, served := slowJWKS(t, clerk, 300*time.Millisecond)

	rk := unitRemoteKeys(t, slow.URL, "")
	deadline := time.Now().Add(5 * time.Second)
	for served.Load() == 0 { // the background fetch is now in flight
		if time.Now().After(deadline) {
			t.Fatal("no fetch started")
		}
		time.Sleep(time.Millisecond)
	}
	start := time.Now()
	k, reason := unitKey(t, rk, clerk.KeyID())
	if reason != "" || k.pub == nil {
		t.Errorf("key() during the first fetch = %q after %v, want the key once the fetch completes", reason, time.Since(start).Round(time.Millisecond))
	}
	if n := served.Load(); n != 1 {
		t.Errorf("JWKS fetched %d times, want 1", n)
	}
}

func TestRemoteKeysRefetchAfterRotation(t *testing.T) {
	setForTest(t, &jwksMinRefetch, 50*time.Millisecond)
	clerk := clerktest.Start(t, clerktest.Options{})
	oldKid := clerk.KeyID()
	rk := unitRemoteKeys(t, unitFAPIJWKS(clerk), "")
	unitWaitFetched(t, rk)
	time.Sleep(80 * time.Millisecond) // past the refetch window

	newKid := clerk.RotateKey()
	if _, reason := unitKey(t, rk, newKid); reason != "" {
		t.Fatalf("key(rotated kid) = %q, want the new key after one refetch", reason)
	}
	if n := clerk.JWKSFetches(); n != 2 {
		t.Errorf("JWKS fetched %d times, want 2", n)
	}
	if _, reason := unitKey(t, rk, oldKid); reason != "" {
		t.Errorf("key(old kid) = %q, want the old key, still published", reason)
	}
	v := unitVerifier(t, clerk)
	v.keys = rk
	if got := unitVerify(v, unitParse(t, unitToken(t, clerk, nil, nil))); got != "" {
		t.Errorf("verify() of a token signed with the rotated key = %q", got)
	}
	if n := clerk.JWKSFetches(); n != 2 {
		t.Errorf("JWKS fetched %d times, want 2", n)
	}
}

func TestRemoteKeysRefetchRateLimited(t *testing.T) {
	setForTest(t, &jwksMinRefetch, time.Hour)
	clerk := clerktest.Start(t, clerktest.Options{})
	rk := unitRemoteKeys(t, unitFAPIJWKS(clerk), "")
	unitWaitFetched(t, rk)

	newKid := clerk.RotateKey()
	for range 10 {
		if _, reason := unitKey(t, rk, newKid); reason != reasonJWKKidMismatch {
			t.Fatalf("key(rotated kid) inside the refetch window = %q, want %q", reason, reasonJWKKidMismatch)
		}
	}
	if n := clerk.JWKSFetches(); n != 1 {
		t.Errorf("JWKS fetched %d times inside the window, want 1", n)
	}
}

func TestRemoteKeysFloodOfUnknownKids(t *testing.T) {
	const window = 400 * time.Millisecond
	setForTest(t, &jwksMinRefetch, window)
	clerk := clerktest.Start(t, clerktest.Options{})
	rk := unitRemoteKeys(t, unitFAPIJWKS(clerk), "")
	unitWaitFetched(t, rk)
	time.Sleep(window + 50*time.Millisecond) // one refetch is allowed again
	clerk.ResetJWKSFetches()

	start := time.Now()
	var wg sync.WaitGroup
	reasons := make([]string, 200)
	for i := range reasons {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, reasons[i] = unitKey(t, rk, clerktest.NewID("ins_"))
		}()
	}
	wg.Wait()
	if elapsed := time.Since(start); elapsed >= window {
		t.Skipf("the flood took %v, longer than the %v window; the count is meaningless", elapsed, window)
	}
	for i, r := range reasons {
		if r != reasonJWKKidMismatch {
			t.Errorf("flood request %d: key() = %q, want %q", i, r, reasonJWKKidMismatch)
			break
		}
	}
	if n := clerk.JWKSFetches(); n > 1 {
		t.Errorf("200 random kids within the window made %d JWKS fetches, want at most 1", n)
	}
	if _, reason := unitKey(t, rk, clerk.KeyID()); reason != "" {
		t.Errorf("known kid after the flood: key() = %q", reason)
	}
}

func TestRemoteKeysSustainedFloodDuringFetch(t *testing.T) {
	// Requests with unknown kids that arrive while a fetch is in flight may
	// wait for it, but must never start fetches of their own inside the
	// refetch window: a sustained flood must not chain fetch after fetch.
	setForTest(t, &jwksMinRefetch, time.Hour)
	clerk := clerktest.Start(t, clerktest.Options{})
	slow, served := slowJWKS(t, clerk, 20*time.Millisecond)

	rk := unitRemoteKeys(t, slow.URL, "") // its first fetch starts now
	stop := time.Now().Add(500 * time.Millisecond)
	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) {
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				_, _ = rk.key(ctx, clerktest.NewID("ins_"))
				cancel()
			}
		}()
	}
	wg.Wait()
	if n := served.Load(); n != 1 {
		t.Errorf("a 500ms flood of unknown kids inside a 1h refetch window made %d JWKS fetches, want 1 (the first)", n)
	}
}

func TestRemoteKeysFailingFromStart(t *testing.T) {
	for _, tc := range []struct {
		name    string
		mode    clerktest.JWKSMode
		backend bool
	}{
		{"frontend 500", clerktest.JWKSFail, false},
		{"frontend garbage", clerktest.JWKSGarbage, false},
		{"frontend empty key set", clerktest.JWKSEmpty, false},
		{"frontend rate limited", clerktest.JWKSRateLimited, false},
		{"backend 500", clerktest.JWKSFail, true},
		{"backend garbage", clerktest.JWKSGarbage, true},
		{"backend empty key set", clerktest.JWKSEmpty, true},
		{"backend rate limited", clerktest.JWKSRateLimited, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clerk := clerktest.Start(t, clerktest.Options{})
			clerk.SetJWKSMode(tc.mode)
			url, auth := unitFAPIJWKS(clerk), ""
			if tc.backend {
				url, auth = unitBAPIJWKS(clerk), "Bearer "+clerk.SecretKey()
			}
			rk := unitRemoteKeys(t, url, auth)
			unitWaitFetched(t, rk)
			if _, reason := unitKey(t, rk, clerk.KeyID()); reason != reasonJWKRemoteFailedToLoad {
				t.Errorf("key() = %q, want %q", reason, reasonJWKRemoteFailedToLoad)
			}
			v := unitVerifier(t, clerk)
			v.keys = rk
			if got := unitVerify(v, unitParse(t, unitToken(t, clerk, nil, nil))); got != reasonJWKRemoteFailedToLoad {
				t.Errorf("verify() = %q, want %q", got, reasonJWKRemoteFailedToLoad)
			}
		})
	}
}

func TestRemoteKeysHangingFromStart(t *testing.T) {
	clerk := clerktest.Start(t, clerktest.Options{})
	clerk.SetJWKSMode(clerktest.JWKSHang)
	rk := unitRemoteKeys(t, unitFAPIJWKS(clerk), "")
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, reason := rk.key(ctx, clerk.KeyID()); reason != reasonJWKRemoteFailedToLoad {
		t.Errorf("key() = %q, want %q", reason, reasonJWKRemoteFailedToLoad)
	}
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		t.Errorf("key() took %v, want it bounded by the request's deadline", elapsed)
	}
}

func TestRemoteKeysSecretKey(t *testing.T) {
	for _, tc := range []struct {
		name string
		auth func(*clerktest.Instance) string
		want string
	}{
		{"right secret key", func(c *clerktest.Instance) string { return "Bearer " + c.SecretKey() }, ""},
		{"wrong secret key", func(*clerktest.Instance) string { return "Bearer sk_test_wrong" }, reasonSecretKeyInvalid},
		{"other instance's secret key", func(*clerktest.Instance) string {
			return "Bearer " + clerktest.Start(t, clerktest.Options{}).SecretKey()
		}, reasonSecretKeyInvalid},
		{"no credential", func(*clerktest.Instance) string { return "" }, reasonJWKRemoteFailedToLoad},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clerk := clerktest.Start(t, clerktest.Options{})
			rk := unitRemoteKeys(t, unitBAPIJWKS(clerk), tc.auth(clerk))
			unitWaitFetched(t, rk)
			if _, reason := unitKey(t, rk, clerk.KeyID()); reason != tc.want {
				t.Errorf("key() = %q, want %q", reason, tc.want)
			}
		})
	}
}

func TestRemoteKeysFailedRefreshKeepsKeys(t *testing.T) {
	for _, mode := range []clerktest.JWKSMode{clerktest.JWKSGarbage, clerktest.JWKSEmpty, clerktest.JWKSFail, clerktest.JWKSRateLimited} {
		t.Run(mode.String(), func(t *testing.T) {
			setForTest(t, &jwksMinRefetch, 30*time.Millisecond)
			clerk := clerktest.Start(t, clerktest.Options{})
			kid := clerk.KeyID()
			rk := unitRemoteKeys(t, unitFAPIJWKS(clerk), "")
			unitWaitFetched(t, rk)
			if _, reason := unitKey(t, rk, kid); reason != "" {
				t.Fatalf("key() = %q", reason)
			}

			clerk.SetJWKSMode(mode)
			time.Sleep(50 * time.Millisecond)
			if _, reason := unitKey(t, rk, "ins_unknown"); reason != reasonJWKKidMismatch {
				t.Errorf("unknown kid with a failing JWKS: key() = %q, want %q", reason, reasonJWKKidMismatch)
			}
			if n := clerk.JWKSFetches(); n != 2 {
				t.Errorf("JWKS fetched %d times, want 2 (the failed refetch included)", n)
			}
			if rk.failure.Load() == nil {
				t.Errorf("the failed refetch was not recorded")
			}
			if k, reason := unitKey(t, rk, kid); reason != "" || k.pub == nil {
				t.Errorf("known kid after a failed refetch: key() = %q, want the old key", reason)
			}

			// Recovery: the next good answer replaces the snapshot.
			clerk.SetJWKSMode(clerktest.JWKSOK)
			newKid := clerk.RotateKey()
			time.Sleep(50 * time.Millisecond)
			if _, reason := unitKey(t, rk, newKid); reason != "" {
				t.Errorf("rotated kid after recovery: key() = %q", reason)
			}
			if rk.failure.Load() != nil {
				t.Errorf("failure still recorded after a successful fetch")
			}
		})
	}
}

func TestRemoteKeysDestruct(t *testing.T) {
	for _, mode := range []clerktest.JWKSMode{clerktest.JWKSOK, clerktest.JWKSHang, clerktest.JWKSFail} {
		t.Run(mode.String(), func(t *testing.T) {
			clerk := clerktest.Start(t, clerktest.Options{})
			clerk.SetJWKSMode(mode)
			rk := newRemoteKeys(unitFAPIJWKS(clerk), "")
			deadline := time.Now().Add(5 * time.Second)
			for clerk.JWKSFetches() == 0 {
				if time.Now().After(deadline) {
					t.Fatal("no fetch started")
				}
				time.Sleep(time.Millisecond)
			}
			done := make(chan error, 1)
			go func() { done <- rk.Destruct() }()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Destruct() error = %v", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Destruct() did not return: the refresher goroutine is still running")
			}
			// Destruct waited for the goroutine; nothing fetches any more.
			n := clerk.JWKSFetches()
			time.Sleep(100 * time.Millisecond)
			if m := clerk.JWKSFetches(); m != n {
				t.Errorf("JWKS fetched %d more times after Destruct", m-n)
			}
			select {
			case <-rk.ctx.Done():
			default:
				t.Errorf("context not cancelled by Destruct")
			}
		})
	}
}

// slowJWKS serves clerk's JWKS after delay, counting the requests.
func slowJWKS(t *testing.T, clerk *clerktest.Instance, delay time.Duration) (*httptest.Server, *atomic.Int32) {
	served := new(atomic.Int32)
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		time.Sleep(delay)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(clerk.JWKS())
	}))
	t.Cleanup(slow.Close)
	return slow, served
}
