package clerktest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
)

// signingKey is one RSA key pair of the instance.
type signingKey struct {
	kid  string
	priv *rsa.PrivateKey
	pem  []byte // PKIX "PUBLIC KEY" PEM of priv.PublicKey
}

func newSigningKey(bits int) (*signingKey, error) {
	priv, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		return nil, err
	}
	return &signingKey{kid: NewID("ins_"), priv: priv, pem: publicKeyPEM(&priv.PublicKey)}, nil
}

// publicKeyPEM returns the PKIX "PUBLIC KEY" PEM of pub, or nil if pub is
// nil or cannot be marshalled.
func publicKeyPEM(pub *rsa.PublicKey) []byte {
	if pub == nil {
		return nil
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// PublishableKeyFor returns the publishable key Clerk issues for a Frontend
// API host: "pk_test_" (or "pk_live_" when live) followed by the standard
// base64 encoding of host+"$" with the '=' padding removed. For example
// PublishableKeyFor("clerk.example.com", true) is
// "pk_live_Y2xlcmsuZXhhbXBsZS5jb20k".
func PublishableKeyFor(host string, live bool) string {
	return publishableKey(host, live)
}

func publishableKey(host string, live bool) string {
	prefix := "pk_test_"
	if live {
		prefix = "pk_live_"
	}
	return prefix + base64.RawStdEncoding.EncodeToString([]byte(host+"$"))
}

func secretKey(live bool) string {
	prefix := "sk_test_"
	if live {
		prefix = "sk_live_"
	}
	return prefix + randomBase62(42)
}

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// randomBase62 returns n random characters from [0-9A-Za-z].
func randomBase62(n int) string {
	b := make([]byte, n)
	max := big.NewInt(int64(len(base62)))
	for k := range b {
		v, err := rand.Int(rand.Reader, max)
		if err != nil {
			panic(fmt.Sprintf("clerktest: crypto/rand failed: %v", err))
		}
		b[k] = base62[v.Int64()]
	}
	return string(b)
}

// NewID returns prefix followed by 27 random base62 characters, the shape of
// Clerk object ids such as "user_…", "sess_…", "org_…" and key ids "ins_…".
func NewID(prefix string) string { return prefix + randomBase62(27) }

// PublishableKey returns the instance's publishable key, which encodes
// Host() exactly as Clerk does (see PublishableKeyFor).
func (i *Instance) PublishableKey() string { return i.publishableKey }

// SecretKey returns the instance's secret key: "sk_test_" (or "sk_live_"
// for a Live instance) followed by 42 random base62 characters. The BAPI
// serves the JWKS only to requests bearing it.
func (i *Instance) SecretKey() string { return i.secretKey }

// KeyID returns the kid of the current signing key.
func (i *Instance) KeyID() string {
	i.mu.RLock()
	defer i.mu.RUnlock()
	return i.current.kid
}

// KeyIDs returns the kids of all published keys, oldest first.
func (i *Instance) KeyIDs() []string {
	i.mu.RLock()
	defer i.mu.RUnlock()
	ids := make([]string, len(i.keys))
	for k, key := range i.keys {
		ids[k] = key.kid
	}
	return ids
}

// PublicKeyPEM returns the PKIX "PUBLIC KEY" PEM of the current signing
// key, the value Clerk shows as the "JWT public key" (jwtKey). The caller
// may modify the returned slice.
func (i *Instance) PublicKeyPEM() []byte {
	i.mu.RLock()
	defer i.mu.RUnlock()
	return append([]byte(nil), i.current.pem...)
}

// PrivateKey returns the current signing key, for callers that want to
// sign tokens themselves. Do not modify it.
func (i *Instance) PrivateKey() *rsa.PrivateKey {
	i.mu.RLock()
	defer i.mu.RUnlock()
	return i.current.priv
}

// RotateKey generates a new signing key of Options.KeyBits bits, makes it
// current and publishes it next to the previous keys, which stay published
// until RemoveKey. It returns the new kid.
func (i *Instance) RotateKey() string {
	key, err := newSigningKey(i.opts.KeyBits)
	if err != nil {
		// New already generated a key of this size, so this cannot
		// happen short of crypto/rand failing.
		panic(fmt.Sprintf("clerktest: generating signing key: %v", err))
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	i.keys = append(i.keys, key)
	i.current = key
	i.rebuildJWKSLocked()
	return key.kid
}

// RemoveKey stops publishing the key with that kid; the instance never
// signs with it again (Sign with that kid in the header uses the current
// key instead). If it was the current key, the newest remaining key becomes
// current; if it was the only key, a fresh key is generated, published and
// made current, so an instance always has a current key. Unknown kids are
// ignored.
func (i *Instance) RemoveKey(kid string) {
	i.mu.Lock()
	defer i.mu.Unlock()
	idx := -1
	for k, key := range i.keys {
		if key.kid == kid {
			idx = k
			break
		}
	}
	if idx < 0 {
		return
	}
	i.keys = append(i.keys[:idx:idx], i.keys[idx+1:]...)
	if len(i.keys) == 0 {
		key, err := newSigningKey(i.opts.KeyBits)
		if err != nil {
			panic(fmt.Sprintf("clerktest: generating signing key: %v", err))
		}
		i.keys = []*signingKey{key}
	}
	if i.current.kid == kid {
		i.current = i.keys[len(i.keys)-1]
	}
	i.rebuildJWKSLocked()
}

// keyForHeader returns the published key named by header["kid"], or the
// current key when the header names none of them.
func (i *Instance) keyForHeader(header map[string]any) *signingKey {
	i.mu.RLock()
	defer i.mu.RUnlock()
	if kid, ok := header["kid"].(string); ok {
		for _, key := range i.keys {
			if key.kid == kid {
				return key
			}
		}
	}
	return i.current
}
