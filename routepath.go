package caddyclerk

import (
	"errors"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// errPathNotUTF8 reports a request path whose percent-decoded bytes are not
// valid UTF-8 (JavaScript's decodeURI throws on them).
var errPathNotUTF8 = errors.New("percent-decoded path is not valid UTF-8")

// cleanRoutePath turns a request URL's path into the form route patterns are
// matched against: percent-decoded, then dot-segments resolved and repeated
// slashes merged as Caddy's own path matcher does. An empty path is "/"; a
// path that does not start with "/" (as "*" in "OPTIONS *") gets one.
//
// err is set when the path cannot be percent-decoded or the decoded bytes
// are not valid UTF-8 (overlong forms such as %c0%ae included): the caller
// answers 400. suspicious is set when the decoded path holds a control
// character, ";" or "\", an encoded "?" or "#" (which Clerk would keep
// encoded while we decode them), or the escaped path holds an encoded slash
// or backslash: upstreams disagree on what such paths mean, so they must
// never be treated as public.
func cleanRoutePath(u *url.URL) (clean string, suspicious bool, err error) {
	clean, suspicious, err = cleanEscapedRoutePath(u.EscapedPath())
	if err != nil {
		return "", false, err
	}
	// EscapedPath ignores RawPath (and re-escapes Path, losing any %2F) when
	// RawPath holds characters outside the usual set, so look at it too.
	return clean, suspicious || hasEncodedSeparator(u.RawPath), nil
}

// cleanEscapedRoutePath is cleanRoutePath for an escaped path.
func cleanEscapedRoutePath(escaped string) (clean string, suspicious bool, err error) {
	decoded, err := url.PathUnescape(escaped)
	if err != nil {
		return "", false, err
	}
	if !utf8.ValidString(decoded) {
		return "", false, errPathNotUTF8
	}
	suspicious = hasEncodedSeparator(escaped)
	for i := 0; i < len(decoded) && !suspicious; i++ {
		c := decoded[i]
		suspicious = c < 0x20 || c == 0x7f || c == ';' || c == '\\' || c == '?' || c == '#'
	}
	if !strings.HasPrefix(decoded, "/") {
		decoded = "/" + decoded
	}
	return caddyhttp.CleanPath(decoded, true), suspicious, nil
}

// hasEncodedSeparator reports whether an escaped path holds an encoded slash
// or backslash (%2F or %5C, in either case).
func hasEncodedSeparator(escaped string) bool {
	for i := 0; i+2 < len(escaped); i++ {
		if escaped[i] != '%' {
			continue
		}
		hi, lo := escaped[i+1], escaped[i+2]|0x20
		if hi == '2' && lo == 'f' || hi == '5' && lo == 'c' {
			return true
		}
	}
	return false
}
