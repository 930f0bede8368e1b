package caddyclerk

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
)

// unitSeg is the unpadded base64url encoding of s, as a JWS segment.
func unitSeg(s string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(s))
}

// unitRawToken joins header and payload JSON and a signature segment into a
// compact JWS without signing anything.
func unitRawToken(header, payload, sig string) string {
	return unitSeg(header) + "." + unitSeg(payload) + "." + sig
}

func TestParseTokenMalformed(t *testing.T) {
	const (
		okHeader  = `{"alg":"RS256","typ":"JWT"}`
		okPayload = `{"sub":"user_1","exp":1700000000}`
	)
	okSig := unitSeg("signature")
	// A payload whose base64url form uses '-' or '_', so that the standard
	// alphabet's '+' and '/' can be swapped in.
	urlPayload := `{"sub":"???>>>~~~"}`
	if enc := unitSeg(urlPayload); !strings.ContainsAny(enc, "-_") {
		t.Fatalf("test setup: %q encodes without - or _: %s", urlPayload, enc)
	}
	stdPayload := strings.NewReplacer("-", "+", "_", "/").Replace(unitSeg(urlPayload))
	huge := `{"sub":"user_1","pad":"` + strings.Repeat("x", maxTokenLength) + `"}`

	for _, tc := range []struct {
		name string
		raw  string
	}{
		{"empty", ""},
		{"one part", unitSeg(okHeader)},
		{"two parts", unitSeg(okHeader) + "." + unitSeg(okPayload)},
		{"four parts", unitRawToken(okHeader, okPayload, okSig) + "." + okSig},
		{"only dots", ".."},
		{"header not base64", "!!!." + unitSeg(okPayload) + "." + okSig},
		{"payload not base64", unitSeg(okHeader) + ".%%%." + okSig},
		{"signature not base64", unitSeg(okHeader) + "." + unitSeg(okPayload) + ".***"},
		{"standard alphabet + and /", unitSeg(okHeader) + "." + stdPayload + "." + okSig},
		{"space inside a segment", unitSeg(okHeader) + "." + unitSeg(okPayload)[:4] + " " + unitSeg(okPayload)[4:] + "." + okSig},
		{"one dangling base64 character", unitSeg(okHeader) + "." + unitSeg(okPayload) + "." + "abcde"},
		// "AB" spells one byte with 4 unused bits set; "AA" is the strict form.
		{"unused trailing bits set", unitSeg(okHeader) + "." + unitSeg(okPayload) + "." + "AB"},
		{"line break inside a segment", unitSeg(okHeader) + "." + unitSeg(okPayload) + "." + "AA\nAA"},
		{"header not JSON", unitRawToken(`{"alg":`, okPayload, okSig)},
		{"header JSON array", unitRawToken(`["RS256"]`, okPayload, okSig)},
		{"header JSON number", unitRawToken(`42`, okPayload, okSig)},
		{"header JSON string", unitRawToken(`"RS256"`, okPayload, okSig)},
		{"header JSON null", unitRawToken(`null`, okPayload, okSig)},
		{"header empty", "." + unitSeg(okPayload) + "." + okSig},
		{"header trailing garbage", unitRawToken(okHeader+"x", okPayload, okSig)},
		{"payload not JSON", unitRawToken(okHeader, `sub=user_1`, okSig)},
		{"payload JSON array", unitRawToken(okHeader, `[{"sub":"user_1"}]`, okSig)},
		{"payload JSON number", unitRawToken(okHeader, `1700000000`, okSig)},
		{"payload JSON true", unitRawToken(okHeader, `true`, okSig)},
		{"payload JSON null", unitRawToken(okHeader, `null`, okSig)},
		{"payload empty", unitSeg(okHeader) + ".." + okSig},
		{"payload two objects", unitRawToken(okHeader, okPayload+okPayload, okSig)},
		{"longer than 16 KiB", unitRawToken(okHeader, huge, okSig)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tok, err := parseToken(tc.raw); err == nil {
				t.Fatalf("parseToken(%.60q) = %+v, want an error", tc.raw, tok.header)
			}
		})
	}
}

func TestParseTokenAccepted(t *testing.T) {
	const (
		header  = `{"alg":"RS256","kid":"ins_1","typ":"JWT","cat":"cl_B7d4PD111AAA"}`
		payload = `{"sub":"user_1","sid":"sess_1","exp":1700000060,"iat":1700000000}`
	)
	sig := unitSeg("sig-bytes")
	padded := func(s string) string { return base64.URLEncoding.EncodeToString([]byte(s)) }
	urlPayload := `{"sub":"???>>>~~~"}`
	// Large but under the limit.
	big := `{"sub":"user_1","pad":"` + strings.Repeat("y", maxTokenLength/2) + `"}`

	for _, tc := range []struct {
		name    string
		raw     string
		wantSub string
		wantSig string
	}{
		{"plain", unitRawToken(header, payload, sig), "user_1", "sig-bytes"},
		{"padded segments", padded(header) + "." + padded(payload) + "." + padded("sig-bytes"), "user_1", "sig-bytes"},
		{"extra padding", unitSeg(header) + "==." + unitSeg(payload) + "=." + sig + "==", "user_1", "sig-bytes"},
		{"url alphabet", unitRawToken(header, urlPayload, sig), "???>>>~~~", "sig-bytes"},
		{"empty signature", unitRawToken(header, payload, ""), "user_1", ""},
		{"whitespace around JSON", unitRawToken(" \n"+header+"\t", "\r\n "+payload+" ", sig), "user_1", "sig-bytes"},
		{"empty objects", unitRawToken(`{}`, `{"sub":"user_1"}`, sig), "user_1", "sig-bytes"},
		{"just under 16 KiB", unitRawToken(header, big, sig), "user_1", "sig-bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := parseToken(tc.raw)
			if err != nil {
				t.Fatalf("parseToken() error = %v", err)
			}
			if got := tok.claims.Sub.str(); got != tc.wantSub {
				t.Errorf("sub = %q, want %q", got, tc.wantSub)
			}
			if string(tok.signature) != tc.wantSig {
				t.Errorf("signature = %q, want %q", tok.signature, tc.wantSig)
			}
			if tok.raw != tc.raw {
				t.Errorf("raw not kept")
			}
			h, p, _ := strings.Cut(tc.raw, ".")
			p, _, _ = strings.Cut(p, ".")
			if want := h + "." + p; tok.signingInput != want {
				t.Errorf("signingInput = %q, want the segments as sent %q", tok.signingInput, want)
			}
			if !json.Valid(tok.payload) {
				t.Errorf("payload %q is not the decoded JSON", tok.payload)
			}
		})
	}
}

func TestParseTokenSizeLimit(t *testing.T) {
	// Build a token of exactly maxTokenLength bytes: a signature of 'A's
	// fills the rest, and the payload grows until that filler has a length
	// that base64 can decode (never 1 modulo 4).
	header := unitSeg(`{"alg":"RS256"}`)
	var base string
	for pad := 0; ; pad++ {
		base = header + "." + unitSeg(`{"sub":"user_1","p":"`+strings.Repeat("x", pad)+`"}`) + "."
		if (maxTokenLength-len(base))%4 != 1 {
			break
		}
	}
	exact := base + strings.Repeat("A", maxTokenLength-len(base))
	if len(exact) != maxTokenLength {
		t.Fatalf("test setup: token is %d bytes", len(exact))
	}
	if _, err := parseToken(exact); err != nil {
		t.Errorf("token of exactly %d bytes rejected: %v", maxTokenLength, err)
	}
	if _, err := parseToken(exact + "AAAA"); err == nil {
		t.Errorf("token of %d bytes accepted", len(exact)+4)
	}
}

func TestParseTokenWrongTypesDecode(t *testing.T) {
	// Wrongly typed members must not fail decoding: Clerk decides on them
	// later, in its own order and with its own reasons.
	raw := unitRawToken(
		`{"alg":256,"kid":["k"],"typ":null,"cat":{"x":1}}`,
		`{"sub":42,"azp":null,"iss":false,"exp":"1700000000","nbf":null,"iat":[1],"sid":{},"sts":1,"v":"2",`+
			`"org_id":7,"org_permissions":"x","o":"y","fea":["o:a"],"pla":3,"act":"z","fva":"w"}`,
		"")
	tok, err := parseToken(raw)
	if err != nil {
		t.Fatalf("parseToken() error = %v", err)
	}
	for name, s := range map[string]jsonString{
		"alg": tok.header.Alg, "kid": tok.header.Kid, "typ": tok.header.Typ, "cat": tok.header.Cat,
		"sub": tok.claims.Sub, "azp": tok.claims.Azp, "iss": tok.claims.Iss, "sid": tok.claims.Sid,
		"sts": tok.claims.Sts, "org_id": tok.claims.OrgID, "fea": tok.claims.Fea, "pla": tok.claims.Pla,
	} {
		if !s.present || s.isStr || s.str() != "" {
			t.Errorf("%s = %+v, want present and not a string", name, s)
		}
	}
	for name, n := range map[string]jsonNumber{
		"exp": tok.claims.Exp, "nbf": tok.claims.Nbf, "iat": tok.claims.Iat, "v": tok.claims.V,
	} {
		if !n.present || n.isNum {
			t.Errorf("%s = %+v, want present and not a number", name, n)
		}
	}
	if tok.claims.OrgRole.present || tok.claims.OrgSlug.present {
		t.Errorf("absent members reported present")
	}
}

func TestJSONNumberDecoding(t *testing.T) {
	for _, tc := range []struct {
		json       string
		isNum      bool
		val        float64
		wantMillis float64
	}{
		{`1700000000`, true, 1700000000, 1700000000000},
		{`-5`, true, -5, -5000},
		{`1.9`, true, 1.9, 1000},
		{`-1.9`, true, -1.9, -1000},
		{`1e3`, true, 1000, 1000000},
		{`1e400`, false, 0, 0},
		{`-1e400`, false, 0, 0},
		{`"5"`, false, 0, 0},
		{`null`, false, 0, 0},
		{`true`, false, 0, 0},
		{`[5]`, false, 0, 0},
		{`{"a":5}`, false, 0, 0},
	} {
		var holder struct {
			N jsonNumber `json:"n"`
		}
		if err := json.Unmarshal([]byte(`{"n":`+tc.json+`}`), &holder); err != nil {
			t.Errorf("%s: unmarshal error %v", tc.json, err)
			continue
		}
		n := holder.N
		if !n.present || n.isNum != tc.isNum || (tc.isNum && (n.val != tc.val || n.millis() != tc.wantMillis)) {
			t.Errorf("%s: got %+v (millis %v), want isNum=%v val=%v millis=%v", tc.json, n, n.millis(), tc.isNum, tc.val, tc.wantMillis)
		}
	}
}

func TestIsMachineJWT(t *testing.T) {
	mk := func(header, payload string) string { return unitRawToken(header, payload, unitSeg("sig")) }
	for _, tc := range []struct {
		name string
		raw  string
		want bool
	}{
		{"session token", mk(`{"typ":"JWT"}`, `{"sub":"user_1"}`), false},
		{"typ at+jwt", mk(`{"typ":"at+jwt"}`, `{"sub":"user_1"}`), true},
		{"typ application/at+jwt", mk(`{"typ":"application/at+jwt"}`, `{"sub":"user_1"}`), true},
		{"typ AT+JWT is case-sensitive", mk(`{"typ":"AT+JWT"}`, `{"sub":"user_1"}`), false},
		{"typ at+jwt as array", mk(`{"typ":["at+jwt"]}`, `{"sub":"user_1"}`), false},
		{"sub mch_", mk(`{"typ":"JWT"}`, `{"sub":"mch_123"}`), true},
		{"sub mch_ alone", mk(`{}`, `{"sub":"mch_"}`), true},
		{"sub MCH_ is case-sensitive", mk(`{}`, `{"sub":"MCH_1"}`), false},
		{"sub containing mch_", mk(`{}`, `{"sub":"user_mch_1"}`), false},
		{"sub not a string", mk(`{}`, `{"sub":["mch_1"]}`), false},
		{"padded header is not machine-shaped", unitSeg(`{"typ":"at+jwt"}`) + "==." + unitSeg(`{"sub":"user_1"}`) + "." + unitSeg("sig"), false},
		{"padded payload is not machine-shaped", unitSeg(`{}`) + "." + unitSeg(`{"sub":"mch_1"}`) + "=." + unitSeg("sig"), false},
		{"padded signature is not machine-shaped", unitSeg(`{}`) + "." + unitSeg(`{"sub":"mch_1"}`) + "." + unitSeg("sig") + "=", false},
		{"empty signature is not machine-shaped", unitRawToken(`{"typ":"at+jwt"}`, `{"sub":"mch_1"}`, ""), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := parseToken(tc.raw)
			if err != nil {
				t.Fatalf("parseToken() error = %v", err)
			}
			if got := tok.isMachineJWT(); got != tc.want {
				t.Errorf("isMachineJWT() = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestHasNonSessionCategory(t *testing.T) {
	for _, tc := range []struct {
		name   string
		header string
		want   bool
	}{
		{"absent", `{"alg":"RS256"}`, false},
		{"session", `{"cat":"cl_B7d4PD111AAA"}`, false},
		{"ignore", `{"cat":"cl_I7d4PD111III"}`, false},
		{"m2m", `{"cat":"cl_B7d4PD333AAA"}`, true},
		{"jwt template", `{"cat":"cl_B7d4PD222AAA"}`, true},
		{"unknown", `{"cat":"cl_other"}`, true},
		{"session in other case", `{"cat":"CL_B7D4PD111AAA"}`, true},
		{"number", `{"cat":111}`, true},
		{"array holding session", `{"cat":["cl_B7d4PD111AAA"]}`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := parseToken(unitRawToken(tc.header, `{"sub":"user_1"}`, ""))
			if err != nil {
				t.Fatalf("parseToken() error = %v", err)
			}
			if got := tok.hasNonSessionCategory(); got != tc.want {
				t.Errorf("hasNonSessionCategory() = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestParseTokenDuplicateMembers: as JSON.parse, the last of repeated
// members counts, also when it has the wrong type.
func TestParseTokenDuplicateMembers(t *testing.T) {
	for _, tc := range []struct {
		payload string
		check   func(c *sessionClaims) bool
	}{
		{`{"sub":"user_1","sub":7}`, func(c *sessionClaims) bool { return c.Sub.present && !c.Sub.isStr && c.Sub.val == "" }},
		{`{"sub":7,"sub":"user_2"}`, func(c *sessionClaims) bool { return c.Sub.isStr && c.Sub.val == "user_2" }},
		{`{"exp":1700000000,"exp":"soon"}`, func(c *sessionClaims) bool { return c.Exp.present && !c.Exp.isNum && c.Exp.val == 0 }},
		{`{"exp":"soon","exp":1700000000}`, func(c *sessionClaims) bool { return c.Exp.isNum && c.Exp.val == 1700000000 }},
	} {
		tok, err := parseToken(unitRawToken(`{"alg":"RS256"}`, tc.payload, unitSeg("sig")))
		if err != nil {
			t.Fatalf("%s: %v", tc.payload, err)
		}
		if !tc.check(&tok.claims) {
			t.Errorf("%s decoded to %+v", tc.payload, tok.claims)
		}
	}
}
