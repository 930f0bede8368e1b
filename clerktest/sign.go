package clerktest

import (
	"bytes"
	"crypto"
	"crypto/hmac"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"hash"
	"strings"

	// Register the hash functions used below.
	_ "crypto/sha256"
	_ "crypto/sha512"
)

// Sign is the low-level signer: it returns the compact JWS of exactly these
// header and claims (each JSON-encoded with sorted keys and no HTML
// escaping; a nil map encodes as {}), with no defaults added. If header has
// no "kid" entry, no kid is written.
//
// header["alg"] decides the signature:
//   - "RS256", "RS384", "RS512": RSASSA-PKCS1-v1_5 with the published key
//     named by header["kid"], or the current key if the header names none
//     of the published keys;
//   - "none" (any letter case): unsigned, "<header>.<payload>.";
//   - "HS256", "HS384", "HS512": HMAC keyed with the PEM bytes of that same
//     RSA public key (PublicKeyPEM() for the current key), as in
//     algorithm-confusion attacks;
//   - anything else, including a missing or non-string alg: signed like
//     RS256, so only the header is wrong.
//
// Sign never panics: a value that cannot be JSON-encoded makes its segment
// invalid JSON, so the token is rejected by any verifier.
func (i *Instance) Sign(header, claims map[string]any) string {
	key := i.keyForHeader(header)
	return signJWS(header, claims, key.priv, key.pem)
}

// signJWS signs header and claims with key (RS*) or pemKey (HS*).
func signJWS(header, claims map[string]any, key *rsa.PrivateKey, pemKey []byte) string {
	input := encodeSegment(header) + "." + encodeSegment(claims)
	alg, _ := header["alg"].(string)
	var sig []byte
	switch {
	case strings.EqualFold(alg, "none"):
	case alg == "HS256":
		sig = macSign(crypto.SHA256.New, pemKey, input)
	case alg == "HS384":
		sig = macSign(crypto.SHA384.New, pemKey, input)
	case alg == "HS512":
		sig = macSign(crypto.SHA512.New, pemKey, input)
	default:
		h := crypto.SHA256
		switch alg {
		case "RS384":
			h = crypto.SHA384
		case "RS512":
			h = crypto.SHA512
		}
		sig = rsaSign(key, h, input)
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func macSign(h func() hash.Hash, key []byte, input string) []byte {
	m := hmac.New(h, key)
	m.Write([]byte(input))
	return m.Sum(nil)
}

// rsaSign returns the PKCS #1 v1.5 signature of input, or nil if key is nil
// or signing fails.
func rsaSign(key *rsa.PrivateKey, h crypto.Hash, input string) []byte {
	if key == nil {
		return nil
	}
	d := h.New()
	d.Write([]byte(input))
	sig, err := rsa.SignPKCS1v15(nil, key, h, d.Sum(nil))
	if err != nil {
		return nil
	}
	return sig
}

// encodeSegment returns the base64url JSON of m ({} for nil). If m cannot be
// encoded, the segment holds "!json: <error>", which is not JSON.
func encodeSegment(m map[string]any) string {
	if m == nil {
		m = map[string]any{}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		buf.Reset()
		buf.WriteString("!json: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
}
