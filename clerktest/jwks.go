package clerktest

import (
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"strconv"
)

// JWKSMode selects how both JWKS endpoints (FAPI /.well-known/jwks.json and
// BAPI /v1/jwks) answer. The BAPI checks the secret key before the mode
// applies, so a request without it always gets 401.
type JWKSMode int32

// The JWKS modes.
const (
	// JWKSOK serves the published keys (the default).
	JWKSOK JWKSMode = iota
	// JWKSFail answers 500 with a Clerk-style JSON error body.
	JWKSFail
	// JWKSHang never answers: the request is held until the client goes
	// away or the instance is closed, and then the connection is dropped
	// without a response.
	JWKSHang
	// JWKSGarbage answers 200 with Content-Type application/json and a
	// body that is not JSON.
	JWKSGarbage
	// JWKSEmpty answers 200 with {"keys":[]}.
	JWKSEmpty
	// JWKSRateLimited answers 429 with "Retry-After: 1" and a Clerk-style
	// JSON error body.
	JWKSRateLimited
)

// String returns the constant's name, such as "JWKSOK".
func (m JWKSMode) String() string {
	switch m {
	case JWKSOK:
		return "JWKSOK"
	case JWKSFail:
		return "JWKSFail"
	case JWKSHang:
		return "JWKSHang"
	case JWKSGarbage:
		return "JWKSGarbage"
	case JWKSEmpty:
		return "JWKSEmpty"
	case JWKSRateLimited:
		return "JWKSRateLimited"
	}
	return "JWKSMode(" + strconv.Itoa(int(m)) + ")"
}

// GarbageJWKSBody is the body served in JWKSGarbage mode.
const GarbageJWKSBody = "<!DOCTYPE html><html><body>502 Bad Gateway</body></html>\n"

// SetJWKSMode changes how the JWKS endpoints answer from the next request
// on. Requests already held by JWKSHang stay held until their client goes
// away or Close.
func (i *Instance) SetJWKSMode(m JWKSMode) { i.mode.Store(int32(m)) }

// JWKSFetches returns the number of JWKS requests received so far on both
// endpoints (FAPI and BAPI), whatever they were answered (including 401s
// and every JWKSMode), since the instance started or the last
// ResetJWKSFetches.
func (i *Instance) JWKSFetches() int64 { return i.fetches.Load() }

// ResetJWKSFetches sets the JWKSFetches counter back to zero.
func (i *Instance) ResetJWKSFetches() { i.fetches.Store(0) }

// JWKS returns the JSON document the JWKS endpoints serve in JWKSOK mode:
// {"keys":[...]} with every published key, oldest first. The caller may
// modify the returned slice.
func (i *Instance) JWKS() []byte {
	i.mu.RLock()
	defer i.mu.RUnlock()
	return append([]byte(nil), i.jwks...)
}

// jsonWebKey is one key as Clerk's JWKS lists it, fields in Clerk's order.
type jsonWebKey struct {
	Use string `json:"use"`
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	N   string `json:"n"`
	E   string `json:"e"`
}

type jwkSet struct {
	Keys []jsonWebKey `json:"keys"`
}

// rebuildJWKSLocked recomputes i.jwks from i.keys; i.mu must be held for
// writing.
func (i *Instance) rebuildJWKSLocked() {
	set := jwkSet{Keys: make([]jsonWebKey, 0, len(i.keys))}
	for _, key := range i.keys {
		pub := key.priv.PublicKey
		set.Keys = append(set.Keys, jsonWebKey{
			Use: "sig",
			Kty: "RSA",
			Kid: key.kid,
			Alg: "RS256",
			N:   base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
			E:   base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
		})
	}
	b, err := json.Marshal(set)
	if err != nil {
		panic("clerktest: encoding JWKS: " + err.Error())
	}
	i.jwks = b
}

// serveJWKS answers a JWKS request according to the current JWKSMode. The
// caller has already counted it.
func (i *Instance) serveJWKS(w http.ResponseWriter, r *http.Request) {
	switch JWKSMode(i.mode.Load()) {
	case JWKSFail:
		writeClerkError(w, http.StatusInternalServerError, "internal_clerk_error",
			"Oops, an unexpected error occurred", "There was an internal error on our servers. We've been notified and are working on fixing it.")
	case JWKSHang:
		select {
		case <-r.Context().Done():
		case <-i.closing:
		}
		// Drop the connection without writing a response.
		panic(http.ErrAbortHandler)
	case JWKSGarbage:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(GarbageJWKSBody))
	case JWKSEmpty:
		writeJSON(w, http.StatusOK, []byte(`{"keys":[]}`))
	case JWKSRateLimited:
		w.Header().Set("Retry-After", "1")
		writeClerkError(w, http.StatusTooManyRequests, "too_many_requests",
			"Too many requests", "Too many requests, please try again later.")
	default:
		writeJSON(w, http.StatusOK, i.JWKS())
	}
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// clerkError is one element of the errors array of a Clerk API error.
type clerkError struct {
	Message     string `json:"message"`
	LongMessage string `json:"long_message"`
	Code        string `json:"code"`
}

// writeClerkError writes Clerk's API error shape:
// {"errors":[{"message":…,"long_message":…,"code":…}]}.
func writeClerkError(w http.ResponseWriter, status int, code, message, long string) {
	body, _ := json.Marshal(struct {
		Errors []clerkError `json:"errors"`
	}{[]clerkError{{Message: message, LongMessage: long, Code: code}}})
	writeJSON(w, status, body)
}
