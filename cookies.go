package caddyclerk

import (
	"crypto/sha1" //nolint:gosec // Clerk's cookie suffix is defined on SHA-1; it is a name, not a MAC.
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"
)

// Clerk's cookie names.
const (
	cookieSession        = "__session"
	cookieClientUAT      = "__client_uat"
	cookieRefresh        = "__refresh"
	cookieRedirects      = "__clerk_redirect_count"
	cookieDevBrowser     = "__clerk_db_jwt"          // also a query parameter
	cookieHandshake      = "__clerk_handshake"       // also a query parameter
	cookieHandshakeNonce = "__clerk_handshake_nonce" // also a query parameter
)

// cookieSuffix is Clerk's getCookieSuffix: the first 8 characters of the
// url-safe base64 SHA-1 of the publishable key.
func cookieSuffix(publishableKey string) string {
	sum := sha1.Sum([]byte(publishableKey)) //nolint:gosec // see import
	return base64.URLEncoding.EncodeToString(sum[:])[:8]
}

// cookieValue is one cookie's value and whether the cookie was sent at all.
type cookieValue struct {
	val     string
	present bool
}

// clerkCookies are the cookies authenticateRequest reads, both unsuffixed and
// suffixed; other cookies are skipped without being copied.
type clerkCookies struct {
	session, sessionSfx       cookieValue
	clientUAT, clientUATSfx   cookieValue
	refreshSfx                cookieValue
	devBrowser, devBrowserSfx cookieValue // development instances' dev browser token
	redirectCount             cookieValue // the handshake loop counter, never suffixed
	handshake                 cookieValue // an inbound handshake token, never suffixed
	handshakeNonce            cookieValue // an inbound handshake nonce, never suffixed
}

// readClerkCookies parses the Cookie headers the way Clerk's cookie parser
// does: pairs split on `;`, name and value trimmed of spaces and tabs, the
// first occurrence of a name wins, values percent-decoded only when they hold
// a `%` (and kept as sent when that fails), quotes kept. suffix may be "".
func readClerkCookies(h http.Header, suffix string) clerkCookies {
	var c clerkCookies
	for _, line := range h.Values("Cookie") {
		for len(line) > 0 {
			var pair string
			pair, line, _ = strings.Cut(line, ";")
			name, value, ok := strings.Cut(pair, "=")
			if !ok {
				continue
			}
			var dst *cookieValue
			switch name = trimSpaceTab(name); {
			case name == cookieSession:
				dst = &c.session
			case name == cookieClientUAT:
				dst = &c.clientUAT
			case name == cookieRedirects:
				dst = &c.redirectCount
			case name == cookieDevBrowser:
				dst = &c.devBrowser
			case name == cookieHandshake:
				dst = &c.handshake
			case name == cookieHandshakeNonce:
				dst = &c.handshakeNonce
			case suffix == "":
				continue
			case isSuffixed(name, cookieSession, suffix):
				dst = &c.sessionSfx
			case isSuffixed(name, cookieClientUAT, suffix):
				dst = &c.clientUATSfx
			case isSuffixed(name, cookieRefresh, suffix):
				dst = &c.refreshSfx
			case isSuffixed(name, cookieDevBrowser, suffix):
				dst = &c.devBrowserSfx
			default:
				continue
			}
			if !dst.present {
				*dst = cookieValue{val: decodeCookieValue(trimSpaceTab(value)), present: true}
			}
		}
	}
	return c
}

// isSuffixed reports whether name is base + "_" + suffix.
func isSuffixed(name, base, suffix string) bool {
	return len(name) == len(base)+1+len(suffix) && strings.HasPrefix(name, base) &&
		name[len(base)] == '_' && strings.HasSuffix(name, suffix)
}

func trimSpaceTab(s string) string { return strings.Trim(s, " \t") }

// decodeCookieValue mirrors decodeURIComponent with a fallback to the raw value.
func decodeCookieValue(v string) string {
	if !strings.Contains(v, "%") {
		return v
	}
	if d, err := url.PathUnescape(v); err == nil && utf8.ValidString(d) {
		return d
	}
	return v
}

// instance is what the publishable key says about the Clerk instance.
type instance struct {
	publishableKey string
	frontendHost   string // FAPI host, e.g. clerk.example.com
	production     bool
	suffix         string // cookie suffix, "" without a publishable key
}

// usesSuffixedCookies is Clerk's rule choosing between `__session` and
// `__session_<suffix>` (clerk-semantics a.1), checked in Clerk's order. As in
// Clerk, a cookie with an empty value counts as absent.
func (in *instance) usesSuffixedCookies(c *clerkCookies, nowSeconds int64, peek func(string) *tokenFacts) bool {
	if in.suffix == "" {
		return false
	}
	session, sessionSfx := c.session.val, c.sessionSfx.val
	uat, uatSfx := c.clientUAT, c.clientUATSfx
	var claims, claimsSfx *tokenFacts
	if session != "" {
		claims = peek(session)
		if claims == nil || !claims.issTruthy {
			return false // malformed or no issuer: signed out on the unsuffixed cookies
		}
		if !claims.issString || stripScheme(claims.iss) != in.frontendHost {
			return true // another instance's token: trust the suffixed cookies
		}
	}
	if uatSfx.val == "" && sessionSfx == "" {
		return false
	}
	if sessionSfx != "" {
		claimsSfx = peek(sessionSfx)
	}
	uatSfxZero, uatZero := uatSfx.present && uatSfx.val == "0", uat.present && uat.val == "0"
	if !uatSfxZero && !uatZero && iatOrZero(claims) > iatOrZero(claimsSfx) {
		return false // both signed in, the unsuffixed session is newer
	}
	if uatSfxZero && !uatZero {
		return false // suffixed signed out, unsuffixed signed in
	}
	if !in.production && !uatSfxZero && uatZero && claimsSfx != nil && claimsSfx.exp.num <= float64(nowSeconds) {
		return false // NaN (no exp) compares false, as in JavaScript
	}
	if uatSfx.val == "" && sessionSfx != "" {
		return false // suffixed session without its client_uat
	}
	return true
}

// iatOrZero is `payload.iat || 0` on an unverified payload, as a number for
// a comparison (NaN when JavaScript's would be).
func iatOrZero(c *tokenFacts) float64 {
	if c == nil || !c.iat.truthy {
		return 0
	}
	return c.iat.num
}

// tokenFacts are the unverified claims the cookie rules read, with what
// JavaScript makes of them: iss must be truthy (rule 1) and a string (rule
// 2); iat and exp are compared as numbers.
type tokenFacts struct {
	iss                  string
	issTruthy, issString bool
	iat, exp             jsValue
}

// stripScheme removes every "http://" and "https://", case-insensitively, as
// Clerk's iss.replace(/https?:\/\//gi, ”) does.
func stripScheme(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		rest := s[i:]
		if n := schemePrefixLen(rest); n > 0 {
			i += n
			continue
		}
		b.WriteByte(s[i])
		i++
	}
	return b.String()
}

func schemePrefixLen(s string) int {
	for _, p := range []string{"https://", "http://"} {
		if len(s) >= len(p) && strings.EqualFold(s[:len(p)], p) {
			return len(p)
		}
	}
	return 0
}

// parseClientUAT is JavaScript's Number.parseInt(v) || 0: leading digits
// (after leading whitespace, an optional sign and, for hexadecimal, 0x), 0
// when there are none.
func parseClientUAT(v string) int64 {
	v = strings.TrimLeft(v, " \t\n\r\v\f")
	neg := false
	if v != "" && (v[0] == '+' || v[0] == '-') {
		neg = v[0] == '-'
		v = v[1:]
	}
	base := int64(10)
	if len(v) >= 2 && v[0] == '0' && (v[1] == 'x' || v[1] == 'X') {
		base, v = 16, v[2:]
	}
	var n int64
	for i := 0; i < len(v); i++ {
		d := int64(36)
		switch c := v[i]; {
		case '0' <= c && c <= '9':
			d = int64(c - '0')
		case 'a' <= c && c <= 'f':
			d = int64(c-'a') + 10
		case 'A' <= c && c <= 'F':
			d = int64(c-'A') + 10
		}
		if d >= base {
			break
		}
		if n > (1<<62)/base {
			break
		}
		n = n*base + d
	}
	if neg {
		return -n
	}
	return n
}
