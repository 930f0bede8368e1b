package caddyclerk

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
)

// maxTokenLength bounds what is decoded at all. Clerk session tokens are one
// to two kilobytes (they must fit a cookie); anything far larger is rejected
// as token-invalid before a byte of it is parsed.
const maxTokenLength = 16 << 10

// Header category values Clerk writes into the JOSE header `cat`.
const (
	categorySession = "cl_B7d4PD111AAA"
	categoryIgnore  = "cl_I7d4PD111III"
	categoryM2M     = "cl_B7d4PD333AAA"
)

var errMalformedToken = errors.New("malformed token")

// jsonString is a claim that must be a JSON string to be used. It records
// whether the member was present at all and whether it held a string, so that
// checks can fail the way Clerk's `typeof x !== 'string'` does, in Clerk's order,
// instead of failing the whole decode on the first wrongly typed member.
type jsonString struct {
	val     string
	present bool
	isStr   bool
}

// UnmarshalJSON implements json.Unmarshaler; it never fails on a wrong type.
// A repeated member replaces the earlier one, as JSON.parse keeps the last.
func (s *jsonString) UnmarshalJSON(b []byte) error {
	*s = jsonString{present: true}
	if len(b) == 0 || b[0] != '"' {
		return nil
	}
	s.isStr = true
	return json.Unmarshal(b, &s.val)
}

// str returns the value when it is a string, else "".
func (s jsonString) str() string {
	if s.isStr {
		return s.val
	}
	return ""
}

// jsonNumber is a claim that must be a finite JSON number to be used.
type jsonNumber struct {
	val     float64
	present bool
	isNum   bool
}

// UnmarshalJSON implements json.Unmarshaler; it never fails on a wrong type.
// Non-finite values (1e400) are not numbers here: a token that overflows its
// own time claims is refused rather than treated as never expiring.
func (n *jsonNumber) UnmarshalJSON(b []byte) error {
	*n = jsonNumber{present: true}
	if len(b) == 0 || !(b[0] == '-' || (b[0] >= '0' && b[0] <= '9')) {
		return nil
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return nil
	}
	n.val, n.isNum = f, true
	return nil
}

// millis returns the claim as milliseconds after truncating it to whole
// seconds, as JavaScript's Date.setUTCSeconds does. It stays a float so that
// huge values compare as huge instead of wrapping around in an integer.
func (n jsonNumber) millis() float64 {
	return math.Trunc(n.val) * 1000
}

// jwtHeader holds the JOSE header members Clerk decides on.
type jwtHeader struct {
	Alg jsonString `json:"alg"`
	Kid jsonString `json:"kid"`
	Typ jsonString `json:"typ"`
	Cat jsonString `json:"cat"`
}

// sessionClaims is a Clerk session token payload, typed so that the hot path
// never goes through a generic map. Members whose shape varies are kept raw
// and decoded only when the identity is built.
type sessionClaims struct {
	Sub jsonString `json:"sub"`
	Azp jsonString `json:"azp"`
	Iss jsonString `json:"iss"`
	Exp jsonNumber `json:"exp"`
	Nbf jsonNumber `json:"nbf"`
	Iat jsonNumber `json:"iat"`
	Sid jsonString `json:"sid"`
	Sts jsonString `json:"sts"`
	V   jsonNumber `json:"v"`

	// v1 organization claims.
	OrgID          jsonString      `json:"org_id"`
	OrgRole        jsonString      `json:"org_role"`
	OrgSlug        jsonString      `json:"org_slug"`
	OrgPermissions json.RawMessage `json:"org_permissions"`

	// v2 organization and billing claims; `per` and `fpm` live inside `o`.
	O   json.RawMessage `json:"o"`
	Fea jsonString      `json:"fea"`
	Pla jsonString      `json:"pla"`

	Act json.RawMessage `json:"act"`
	Fva json.RawMessage `json:"fva"`
}

// parsedToken is a compact JWS split and decoded, not yet verified.
type parsedToken struct {
	raw          string
	signingInput string // header "." payload, as sent
	signature    []byte
	header       jwtHeader
	claims       sessionClaims
	payload      []byte // decoded payload JSON, for {clerk.claims.*}
}

// parseToken decodes a compact JWS the way Clerk's decodeJwt does: exactly
// three dot-separated parts, base64url with optional padding, header and
// payload JSON objects. Any failure is Clerk's token-invalid.
func parseToken(raw string) (*parsedToken, error) {
	if len(raw) == 0 || len(raw) > maxTokenLength || strings.Count(raw, ".") != 2 {
		return nil, errMalformedToken
	}
	h, rest, _ := strings.Cut(raw, ".")
	p, s, _ := strings.Cut(rest, ".")
	t := &parsedToken{raw: raw, signingInput: raw[:len(h)+1+len(p)]}
	headerJSON, err := decodeSegment(h)
	if err != nil || !isJSONObject(headerJSON) || unmarshalExact(headerJSON, &t.header) != nil {
		return nil, errMalformedToken
	}
	if t.payload, err = decodeSegment(p); err != nil || !isJSONObject(t.payload) ||
		unmarshalExact(t.payload, &t.claims) != nil {
		return nil, errMalformedToken
	}
	if t.signature, err = decodeSegment(s); err != nil {
		return nil, errMalformedToken
	}
	return t, nil
}

// decodeSegment decodes base64url as Clerk does: padding optional, the
// standard alphabet's `+` and `/` rejected, and, strictly, no set bits past
// the last byte and no line breaks, so that no two spellings of a signature
// or payload decode alike.
func decodeSegment(seg string) ([]byte, error) {
	if strings.ContainsAny(seg, "\r\n") {
		return nil, errMalformedToken
	}
	return strictBase64URL.DecodeString(strings.TrimRight(seg, "="))
}

var strictBase64URL = base64.RawURLEncoding.Strict()

// isJSONObject reports whether b, after leading whitespace, opens an object.
func isJSONObject(b []byte) bool {
	for _, c := range b {
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		case '{':
			return true
		default:
			return false
		}
	}
	return false
}

// isMachineJWT mirrors Clerk's isMachineJwt: three non-empty base64url
// segments, and an OAuth access-token `typ` or a machine (`mch_`) subject.
func (t *parsedToken) isMachineJWT() bool {
	for _, c := range []byte(t.raw) {
		if !(c == '.' || c == '-' || c == '_' || (c >= '0' && c <= '9') ||
			(c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
			return false
		}
	}
	if strings.HasSuffix(t.raw, ".") || strings.HasPrefix(t.raw, ".") || strings.Contains(t.raw, "..") {
		return false
	}
	typ := t.header.Typ.str()
	return typ == "at+jwt" || typ == "application/at+jwt" || strings.HasPrefix(t.claims.Sub.str(), "mch_")
}

// hasNonSessionCategory mirrors Clerk's hasNonSessionJwtCategory: a `cat`
// header that is present and names neither sessions nor "ignore".
func (t *parsedToken) hasNonSessionCategory() bool {
	cat := t.header.Cat
	if !cat.present {
		return false
	}
	return !cat.isStr || (cat.val != categorySession && cat.val != categoryIgnore)
}
