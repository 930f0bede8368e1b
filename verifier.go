package caddyclerk

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"hash"
	"slices"
	"time"
)

// defaultClockSkew is Clerk's DEFAULT_CLOCK_SKEW_IN_MS.
const defaultClockSkew = 5 * time.Second

// verificationKey is one RSA public key and the algorithm it is pinned to
// ("" when the key source does not pin one).
type verificationKey struct {
	pub *rsa.PublicKey
	alg string
}

// keySource resolves the key for a token's `kid`, or says with Clerk's reason
// why it cannot. current reports, without any I/O, whether kid still names
// that key, so that cached verifications end when their key is withdrawn.
type keySource interface {
	key(ctx context.Context, kid string) (verificationKey, string)
	current(kid string, k verificationKey) bool
}

// verifier checks one session token the way Clerk's verifyToken does, in
// Clerk's order so that the first failure names the same reason. It is
// immutable after provisioning and safe for concurrent use.
type verifier struct {
	keys              keySource
	issuer            string // exact `iss` required; "" disables the check
	authorizedParties []string
	skewMillis        int64
	now               func() time.Time
	cache             *tokenCache     // nil: every token is verified afresh
	revoked           *revocationList // the instance's (revocation.go): learns token lifetimes; nil in unit tests
}

// rsaHashes maps the algorithms Clerk accepts to their digests.
var rsaHashes = map[string]crypto.Hash{
	"RS256": crypto.SHA256,
	"RS384": crypto.SHA384,
	"RS512": crypto.SHA512,
}

// verify returns "" and the key that signed the token when it is a valid
// session token, else Clerk's reason. The header pre-checks of
// authenticateRequest (machine tokens, categories) are the caller's, as
// they are in Clerk.
func (v *verifier) verify(ctx context.Context, t *parsedToken) (verificationKey, string) {
	if t.header.Cat.str() == categoryM2M {
		return verificationKey{}, reasonTokenInvalid
	}
	defer observeVerification(time.Now()) // metrics.go
	key, reason := v.keys.key(ctx, t.header.Kid.str())
	if reason != "" {
		return key, reason
	}
	if typ := t.header.Typ; typ.present && typ.str() != "JWT" {
		return key, reasonTokenInvalid
	}
	alg := t.header.Alg.str()
	hashID, ok := rsaHashes[alg]
	if !ok {
		return key, reasonTokenInvalidAlgorithm
	}
	if key.alg != "" && key.alg != alg {
		// WebCrypto refuses to import a JWK for another algorithm.
		return key, reasonTokenVerificationFails
	}
	if rsa.VerifyPKCS1v15(key.pub, hashID, digest(hashID, t.signingInput), t.signature) != nil {
		return key, reasonTokenInvalidSignature
	}
	return key, v.checkClaims(&t.claims)
}

// cached returns the identity of a token that verified before and is still
// valid: not expired (with the skew) and signed by a key still in the set.
// nbf and iat need no new check: they only become more valid with time.
func (v *verifier) cached(raw string) *session {
	if v.cache == nil {
		return nil
	}
	e := v.cache.get(raw)
	if e == nil {
		tokenCacheMisses.Inc()
		return nil
	}
	if e.session.exp.millis() <= float64(v.now().UnixMilli()-v.skewMillis) || !v.keys.current(e.kid, e.key) {
		v.cache.drop(raw)
		tokenCacheMisses.Inc()
		return nil
	}
	tokenCacheHits.Inc()
	return e.session
}

// remember caches a verified token's identity.
func (v *verifier) remember(t *parsedToken, s *session, key verificationKey) {
	if v.revoked != nil {
		v.revoked.noteTokenLifetime(s.iat, s.exp)
	}
	if v.cache != nil {
		v.cache.put(t.raw, &cachedToken{session: s, kid: t.header.Kid.str(), key: key}, float64(v.now().UnixMilli()))
	}
}

// checkClaims runs Clerk's claim assertions after a valid signature:
// sub, azp, iss, exp, nbf, iat.
func (v *verifier) checkClaims(c *sessionClaims) string {
	if !c.Sub.isStr {
		return reasonTokenVerificationFails
	}
	if len(v.authorizedParties) > 0 &&
		(c.Azp.str() == "" || !slices.Contains(v.authorizedParties, c.Azp.str())) {
		return reasonTokenInvalidAZP
	}
	if v.issuer != "" && c.Iss.str() != v.issuer {
		return reasonTokenInvalidIssuer
	}
	nowMillis := float64(v.now().UnixMilli())
	skew := float64(v.skewMillis)
	if !c.Exp.isNum {
		return reasonTokenVerificationFails
	}
	if c.Exp.millis() <= nowMillis-skew {
		return reasonTokenExpired
	}
	if c.Nbf.present {
		if !c.Nbf.isNum {
			return reasonTokenVerificationFails
		}
		if c.Nbf.millis() > nowMillis+skew {
			return reasonTokenNotActiveYet
		}
	}
	if c.Iat.present {
		if !c.Iat.isNum {
			return reasonTokenVerificationFails
		}
		if c.Iat.millis() > nowMillis+skew {
			return reasonTokenIatInTheFuture
		}
	}
	return ""
}

// digest hashes the JWS signing input with the algorithm's hash.
func digest(h crypto.Hash, input string) []byte {
	var d hash.Hash
	switch h {
	case crypto.SHA384:
		d = sha512.New384()
	case crypto.SHA512:
		d = sha512.New()
	default:
		d = sha256.New()
	}
	d.Write([]byte(input))
	return d.Sum(nil)
}
