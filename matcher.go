package caddyclerk

import (
	"fmt"
	"regexp"
)

// This file implements Clerk's route patterns (createRouteMatcher, which
// compiles strings with a vendored path-to-regexp 6.3 using sensitive:false,
// strict:false, end:true) on top of Go's RE2 engine, and the cleaning of a
// request path before it is matched against them.
//
// The compiled form of a pattern is the regexp path-to-regexp would build,
// rewritten so that RE2 gives the same answers as a JavaScript RegExp with the
// "i" flag and no "u" flag:
//   - case-insensitivity is spelled out as character classes that follow
//     JavaScript's canonicalization (an ASCII letter never matches a
//     non-ASCII one, so "k" does not match the Kelvin sign and "s" does not
//     match "ſ", as they would with Go's (?i));
//   - "." excludes the four JavaScript line terminators, not just "\n";
//   - "\s" is JavaScript's Unicode white space;
//   - JavaScript-only escapes and class syntax are translated, and constructs
//     RE2 cannot run (lookarounds, backreferences) are configuration errors.
//
// One difference remains: JavaScript without the "u" flag sees a character
// outside the Basic Multilingual Plane as two UTF-16 code units, RE2 as one
// character, so a custom pattern that counts characters (such as "(.)" or
// "([^x]{2})") can judge such characters differently.

// routeDelimiters are the characters path-to-regexp 6 treats as delimiters
// (its default "delimiter" option, "/#?"): a parameter's default pattern
// stops at them and one of them may follow the whole match.
const routeDelimiters = "/#?"

// routeDefaultPattern is path-to-regexp 6's default parameter pattern
// `[^\/#\?]+?`, made greedy: only whether a path matches counts, never what
// a parameter captured, and RE2 runs greedy loops faster.
const routeDefaultPattern = `[^\/#\?]+`

// routeTail is what path-to-regexp appends with end:true and strict:false:
// one optional delimiter, then the end of the input.
const routeTail = `[\/#\?]?$`

// routePatterns is a compiled, immutable set of route patterns. A path
// matches the set when it matches any of its patterns. The common pattern
// shapes are answered without running a regexp.
type routePatterns struct {
	// exact holds the patterns made only of literal ASCII text, lowercased.
	exact []string
	// wildcards holds the lowercased ASCII literal text in front of a final
	// "(.*)" (as in "/sign-in(.*)" or "/api/(.*)").
	wildcards []string
	// segments holds the patterns made of literal ASCII text and a final
	// "/:name" with the default pattern (as in "/org/:slug" or
	// "/dashboard/:path*").
	segments []routeSegments
	// regexps holds every other pattern.
	regexps []routeRegexp
}

// routeSegments is a pattern of literal text and a final "/:name", "/:name?",
// "/:name*" or "/:name+" parameter with the default pattern.
type routeSegments struct {
	// prefix is the lowercased ASCII literal text before the parameter.
	prefix string
	// modifier is the parameter's modifier.
	modifier string
}

// routeRegexp is a pattern compiled to a regexp.
type routeRegexp struct {
	// prefix is the lowercased ASCII literal text every match starts with,
	// checked before the regexp runs.
	prefix string
	// re matches the whole path.
	re *regexp.Regexp
}

// compileRoutePatterns compiles Clerk route patterns (path-to-regexp 6
// syntax). Every pattern must start with "/". The error names the offending
// pattern.
func compileRoutePatterns(patterns []string) (routePatterns, error) {
	var p routePatterns
	for _, pattern := range patterns {
		if err := p.add(pattern); err != nil {
			return routePatterns{}, fmt.Errorf("route pattern %q: %w", pattern, err)
		}
	}
	return p, nil
}

// add compiles one pattern into the set, in the fastest form that fits it.
func (p *routePatterns) add(pattern string) error {
	parts, err := parseRoutePattern(pattern)
	if err != nil {
		return err
	}
	if lit, ok := routeLiteral(parts); ok {
		p.exact = append(p.exact, lit)
		return nil
	}
	if last := parts[len(parts)-1].key; last != nil {
		lit, ok := routeLiteral(parts[:len(parts)-1])
		switch {
		case ok && last.custom == ".*" && last.suffix == "" && last.modifier == "":
			if lit, ok := asciiLower(lit + last.prefix); ok {
				p.wildcards = append(p.wildcards, lit)
				return nil
			}
		case ok && last.param && last.exclude == "" && last.prefix == "/" && last.suffix == "":
			p.segments = append(p.segments, routeSegments{prefix: lit, modifier: last.modifier})
			return nil
		}
	}
	body, err := routeRegexpBody(parts)
	if err != nil {
		return err
	}
	re, err := regexp.Compile("^" + body + routeTail)
	if err != nil {
		return err
	}
	p.regexps = append(p.regexps, routeRegexp{prefix: routeLiteralPrefix(parts), re: re})
	return nil
}

// match reports whether cleanPath (the output of cleanRoutePath) matches any
// of the patterns. It does not allocate.
func (p routePatterns) match(cleanPath string) bool {
	for _, lit := range p.exact {
		if rest, ok := cutPrefixASCIIFold(cleanPath, lit); ok && isRouteTail(rest) {
			return true
		}
	}
	for _, lit := range p.wildcards {
		if rest, ok := cutPrefixASCIIFold(cleanPath, lit); ok && !hasJSLineTerminator(rest) {
			return true
		}
	}
	for _, s := range p.segments {
		if rest, ok := cutPrefixASCIIFold(cleanPath, s.prefix); ok && s.matchRest(rest) {
			return true
		}
	}
	for _, r := range p.regexps {
		if _, ok := cutPrefixASCIIFold(cleanPath, r.prefix); ok && r.re.MatchString(cleanPath) {
			return true
		}
	}
	return false
}

// matchRest reports whether rest, the path after the literal prefix, is
// what the parameter and the optional trailing delimiter accept: segments
// of "/" and at least one non-delimiter, as many as the modifier allows, and
// then at most one delimiter.
func (s routeSegments) matchRest(rest string) bool {
	n := 0
	for len(rest) > 1 && rest[0] == '/' && !isRouteDelimiter(rest[1]) {
		end := 1
		for end < len(rest) && !isRouteDelimiter(rest[end]) {
			end++
		}
		rest = rest[end:]
		n++
	}
	if !isRouteTail(rest) {
		return false
	}
	switch s.modifier {
	case "":
		return n == 1
	case "?":
		return n <= 1
	case "+":
		return n >= 1
	}
	return true // "*"
}

// isRouteDelimiter reports whether c is one of routeDelimiters.
func isRouteDelimiter(c byte) bool {
	return c == '/' || c == '#' || c == '?'
}

// isRouteTail reports whether rest is what routeTail accepts: nothing, or
// one delimiter.
func isRouteTail(rest string) bool {
	return rest == "" || len(rest) == 1 && isRouteDelimiter(rest[0])
}

// cutPrefixASCIIFold cuts lower (lowercase ASCII) from the start of s when
// s starts with it, comparing ASCII letters without case (a non-ASCII byte
// never equals an ASCII one).
func cutPrefixASCIIFold(s, lower string) (rest string, ok bool) {
	if len(s) < len(lower) {
		return "", false
	}
	for i := 0; i < len(lower); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return "", false
		}
	}
	return s[len(lower):], true
}

// hasJSLineTerminator reports whether s holds a character that JavaScript's
// "." does not match: "\n", "\r", U+2028 or U+2029.
func hasJSLineTerminator(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\n', '\r':
			return true
		case 0xe2:
			if i+2 < len(s) && s[i+1] == 0x80 && (s[i+2] == 0xa8 || s[i+2] == 0xa9) {
				return true
			}
		}
	}
	return false
}
