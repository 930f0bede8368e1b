package caddyclerk

import (
	"cmp"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
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

// jsDot is the RE2 form of JavaScript's "." without the "s" flag: any
// character except a line terminator.
const jsDot = `[^\n\r\x{2028}\x{2029}]`

// jsSpaceRanges lists, as inclusive pairs, the characters JavaScript's "\s"
// matches (WhiteSpace and LineTerminator of ECMAScript 2015 and later).
var jsSpaceRanges = []rune{
	0x09, 0x0d, 0x20, 0x20, 0xa0, 0xa0, 0x1680, 0x1680, 0x2000, 0x200a,
	0x2028, 0x2029, 0x202f, 0x202f, 0x205f, 0x205f, 0x3000, 0x3000, 0xfeff, 0xfeff,
}

// errPathNotUTF8 reports a request path whose percent-decoded bytes are not
// valid UTF-8 (JavaScript's decodeURI throws on them).
var errPathNotUTF8 = errors.New("percent-decoded path is not valid UTF-8")

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

// routePart is one element of a parsed pattern: literal text when key is
// nil, otherwise a parameter or a brace group.
type routePart struct {
	// text is the literal text (when key is nil).
	text string
	// key is the parameter or group (when not nil).
	key *routeKey
}

// routeKey is a path-to-regexp 6 key: a parameter (named, or an unnamed
// custom pattern) or a brace group, with its prefix, suffix and modifier.
type routeKey struct {
	// name is the parameter name, or its number for unnamed patterns, for
	// error messages; empty for a brace group holding only text.
	name string
	// prefix and suffix are literal text around the parameter.
	prefix, suffix string
	// custom is a user-written pattern (JavaScript RegExp syntax).
	custom string
	// param is true for a parameter that uses the default pattern.
	param bool
	// exclude is the text the default pattern must not run into: the
	// previous text when it holds no delimiter (path-to-regexp 6.3 guards
	// such a parameter with a lookahead); empty otherwise.
	exclude string
	// modifier is "", "?", "*" or "+".
	modifier string
}

// routeTokenKind tells the lexical tokens of a pattern apart.
type routeTokenKind int

// The token kinds of path-to-regexp 6's lexer.
const (
	tokChar     routeTokenKind = iota // one literal character
	tokEscaped                        // a character escaped with "\"
	tokModifier                       // "?", "*" or "+"
	tokOpen                           // "{"
	tokClose                          // "}"
	tokName                           // ":name"
	tokPattern                        // "(...)"
	tokEnd                            // the end of the pattern
)

// String names a token kind for error messages.
func (k routeTokenKind) String() string {
	switch k {
	case tokChar:
		return "character"
	case tokEscaped:
		return "escaped character"
	case tokModifier:
		return "modifier"
	case tokOpen:
		return `"{"`
	case tokClose:
		return `"}"`
	case tokName:
		return "parameter name"
	case tokPattern:
		return "pattern"
	default:
		return "end of pattern"
	}
}

// routeToken is one lexical token with its byte offset in the pattern.
type routeToken struct {
	kind  routeTokenKind
	pos   int
	value string
}

// lexRoutePattern splits a pattern into tokens as path-to-regexp 6 does.
func lexRoutePattern(s string) ([]routeToken, error) {
	var toks []routeToken
	i := 0
	for i < len(s) {
		c := s[i]
		switch c {
		case '*', '+', '?':
			toks = append(toks, routeToken{tokModifier, i, s[i : i+1]})
			i++
		case '\\':
			if i+1 >= len(s) {
				return nil, fmt.Errorf("trailing backslash at offset %d escapes nothing", i)
			}
			_, n := utf8.DecodeRuneInString(s[i+1:])
			toks = append(toks, routeToken{tokEscaped, i, s[i+1 : i+1+n]})
			i += 1 + n
		case '{':
			toks = append(toks, routeToken{tokOpen, i, "{"})
			i++
		case '}':
			toks = append(toks, routeToken{tokClose, i, "}"})
			i++
		case ':':
			j := i + 1
			for j < len(s) && isRouteNameChar(s[j]) {
				j++
			}
			if j == i+1 {
				return nil, fmt.Errorf("missing parameter name at offset %d", i)
			}
			toks = append(toks, routeToken{tokName, i, s[i+1 : j]})
			i = j
		case '(':
			pattern, end, err := lexRouteGroup(s, i)
			if err != nil {
				return nil, err
			}
			toks = append(toks, routeToken{tokPattern, i, pattern})
			i = end
		default:
			_, n := utf8.DecodeRuneInString(s[i:])
			toks = append(toks, routeToken{tokChar, i, s[i : i+n]})
			i += n
		}
	}
	return append(toks, routeToken{tokEnd, len(s), ""}), nil
}

// isRouteNameChar reports whether c may appear in a parameter name.
func isRouteNameChar(c byte) bool {
	return c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// lexRouteGroup reads the custom pattern whose "(" is at s[start]. It
// returns the text between the parentheses and the offset after the ")".
// Like path-to-regexp, it counts parentheses without knowing about
// character classes, honours "\" escapes, and refuses capturing groups.
func lexRouteGroup(s string, start int) (string, int, error) {
	depth := 1
	j := start + 1
	if j < len(s) && s[j] == '?' {
		return "", 0, fmt.Errorf(`pattern cannot start with "?" at offset %d`, j)
	}
	for j < len(s) {
		switch s[j] {
		case '\\':
			j += 2
			continue
		case ')':
			depth--
			if depth == 0 {
				pattern := s[start+1 : j]
				if pattern == "" {
					return "", 0, fmt.Errorf("missing pattern at offset %d", start)
				}
				return pattern, j + 1, nil
			}
		case '(':
			depth++
			if j+1 >= len(s) || s[j+1] != '?' {
				return "", 0, fmt.Errorf("capturing groups are not allowed at offset %d", j)
			}
		}
		j++
	}
	return "", 0, fmt.Errorf("unbalanced pattern at offset %d", start)
}

// routeParser turns tokens into parts, following path-to-regexp 6.3's parse.
type routeParser struct {
	toks  []routeToken
	i     int
	parts []routePart
	// unnamed numbers the unnamed custom patterns.
	unnamed int
}

// parseRoutePattern parses one pattern, which must start with "/".
func parseRoutePattern(pattern string) ([]routePart, error) {
	if !strings.HasPrefix(pattern, "/") {
		return nil, errors.New(`a route pattern is a path and must start with "/"`)
	}
	toks, err := lexRoutePattern(pattern)
	if err != nil {
		return nil, err
	}
	p := &routeParser{toks: toks}
	if err := p.parse(); err != nil {
		return nil, err
	}
	return p.parts, nil
}

// try consumes the next token when it has the given kind.
func (p *routeParser) try(kind routeTokenKind) (string, bool) {
	if p.i < len(p.toks) && p.toks[p.i].kind == kind {
		p.i++
		return p.toks[p.i-1].value, true
	}
	return "", false
}

// must consumes the next token, which must have the given kind.
func (p *routeParser) must(kind routeTokenKind) error {
	if _, ok := p.try(kind); ok {
		return nil
	}
	t := p.toks[p.i]
	if t.kind == tokEnd {
		return fmt.Errorf("unexpected end of pattern, expected %s", kind)
	}
	return fmt.Errorf("unexpected %s %q at offset %d, expected %s", t.kind, t.value, t.pos, kind)
}

// text consumes a run of literal and escaped characters.
func (p *routeParser) text() string {
	var b strings.Builder
	for {
		v, ok := p.try(tokChar)
		if !ok {
			if v, ok = p.try(tokEscaped); !ok {
				return b.String()
			}
		}
		b.WriteString(v)
	}
}

// keyName names a new key: its own name, or the next number for an unnamed
// custom pattern.
func (p *routeParser) keyName(name string) string {
	if name != "" {
		return name
	}
	n := strconv.Itoa(p.unnamed)
	p.unnamed++
	return n
}

// defaultPattern sets up k to use the default parameter pattern, with the
// guard path-to-regexp 6.3 adds when the text before the parameter (its
// prefix, or else the previous literal text) holds no delimiter.
func (p *routeParser) defaultPattern(k *routeKey) error {
	k.param = true
	prevText := k.prefix
	if prevText == "" && len(p.parts) > 0 {
		last := p.parts[len(p.parts)-1]
		if last.key != nil {
			return fmt.Errorf("parameter %q directly follows parameter %q: put text between them", k.name, last.key.name)
		}
		prevText = last.text
	}
	if prevText != "" && !strings.ContainsAny(prevText, routeDelimiters) {
		k.exclude = prevText
	}
	return nil
}

// parse runs the parser over all tokens.
func (p *routeParser) parse() error {
	var path strings.Builder
	flush := func() {
		if path.Len() > 0 {
			p.parts = append(p.parts, routePart{text: path.String()})
			path.Reset()
		}
	}
	for p.i < len(p.toks) {
		char, hasChar := p.try(tokChar)
		name, hasName := p.try(tokName)
		custom, hasCustom := p.try(tokPattern)
		if hasName || hasCustom {
			prefix := char
			if prefix != "/" && prefix != "." {
				path.WriteString(prefix)
				prefix = ""
			}
			flush()
			k := &routeKey{name: p.keyName(name), prefix: prefix, custom: custom}
			if !hasCustom {
				if err := p.defaultPattern(k); err != nil {
					return err
				}
			}
			k.modifier, _ = p.try(tokModifier)
			p.parts = append(p.parts, routePart{key: k})
			continue
		}
		if !hasChar {
			char, hasChar = p.try(tokEscaped)
		}
		if hasChar {
			path.WriteString(char)
			continue
		}
		flush()
		if _, ok := p.try(tokOpen); ok {
			k := &routeKey{prefix: p.text()}
			name, hasName := p.try(tokName)
			k.custom, hasCustom = p.try(tokPattern)
			k.suffix = p.text()
			if err := p.must(tokClose); err != nil {
				return err
			}
			if hasName || hasCustom {
				k.name = p.keyName(name)
			}
			if hasName && !hasCustom {
				if err := p.defaultPattern(k); err != nil {
					return err
				}
			}
			k.modifier, _ = p.try(tokModifier)
			p.parts = append(p.parts, routePart{key: k})
			continue
		}
		if err := p.must(tokEnd); err != nil {
			return err
		}
	}
	return nil
}

// routeLiteral returns the lowercased text of parts made only of literal
// ASCII text (brace groups of text without a modifier included).
func routeLiteral(parts []routePart) (string, bool) {
	var b strings.Builder
	for _, part := range parts {
		switch k := part.key; {
		case k == nil:
			b.WriteString(part.text)
		case k.custom == "" && !k.param && k.modifier == "":
			b.WriteString(k.prefix + k.suffix)
		default:
			return "", false
		}
	}
	return asciiLower(b.String())
}

// routeLiteralPrefix returns the lowercased ASCII literal text at the start
// of a pattern: every match starts with it.
func routeLiteralPrefix(parts []routePart) string {
	var b strings.Builder
	for _, part := range parts {
		if part.key != nil {
			break
		}
		b.WriteString(part.text)
	}
	lit := b.String()
	if i := strings.IndexFunc(lit, func(r rune) bool { return r >= utf8.RuneSelf }); i >= 0 {
		lit = lit[:i]
	}
	return strings.ToLower(lit)
}

// asciiLower lowercases s when it is all ASCII; ok is false otherwise.
func asciiLower(s string) (lower string, ok bool) {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return "", false
		}
	}
	return strings.ToLower(s), true
}

// routeRegexpBody renders parsed parts as an RE2 expression, following
// path-to-regexp 6.3's tokensToRegexp, without the leading "^" and the
// trailing routeTail.
func routeRegexpBody(parts []routePart) (string, error) {
	var b strings.Builder
	for _, part := range parts {
		k := part.key
		if k == nil {
			b.WriteString(jsFoldLiteral(part.text))
			continue
		}
		if k.custom == "" && !k.param {
			b.WriteString("(?:" + jsFoldLiteral(k.prefix+k.suffix) + ")" + k.modifier)
			continue
		}
		pat, err := k.pattern()
		if err != nil {
			return "", err
		}
		prefix, suffix := jsFoldLiteral(k.prefix), jsFoldLiteral(k.suffix)
		switch {
		case prefix == "" && suffix == "" && (k.modifier == "*" || k.modifier == "+"):
			return "", fmt.Errorf("parameter %q cannot repeat without a prefix or suffix", k.name)
		case prefix == "" && suffix == "":
			b.WriteString("(?:" + pat + ")" + k.modifier)
		case k.modifier == "*" || k.modifier == "+":
			b.WriteString("(?:" + prefix + "(?:" + pat + ")(?:" + suffix + prefix + "(?:" + pat + "))*" + suffix + ")")
			if k.modifier == "*" {
				b.WriteString("?")
			}
		default:
			b.WriteString("(?:" + prefix + "(?:" + pat + ")" + suffix + ")" + k.modifier)
		}
	}
	return b.String(), nil
}

// pattern returns the RE2 form of a key's pattern.
func (k *routeKey) pattern() (string, error) {
	if !k.param {
		translated, err := translateJSPattern(k.custom)
		if err != nil {
			return "", fmt.Errorf("pattern %q of parameter %q: %w", k.custom, k.name, err)
		}
		return translated, nil
	}
	if k.exclude == "" {
		return routeDefaultPattern, nil
	}
	r, n := utf8.DecodeRuneInString(k.exclude)
	if n != len(k.exclude) {
		return "", fmt.Errorf("parameter %q follows the text %q, which holds none of %q: path-to-regexp 6 then guards the parameter with a lookahead, which Go's RE2 cannot run; give it an explicit pattern, such as :%s([^/]+)",
			k.name, k.exclude, routeDelimiters, k.name)
	}
	set := []rune{'/', '/', '#', '#', '?', '?'}
	for _, c := range jsFoldSet(r) {
		set = append(set, c, c)
	}
	var b strings.Builder
	writeClass(&b, normalizeRanges(set), true)
	b.WriteString("+") // greedy, as routeDefaultPattern
	return b.String(), nil
}

// jsFoldLiteral renders literal text as an RE2 expression that matches it
// the way a JavaScript RegExp with the "i" flag (and no "u" flag) does.
func jsFoldLiteral(s string) string {
	var b strings.Builder
	for _, r := range s {
		set := jsFoldSet(r)
		if len(set) == 1 {
			b.WriteString(regexp.QuoteMeta(string(r)))
			continue
		}
		ranges := make([]rune, 0, 2*len(set))
		for _, c := range set {
			ranges = append(ranges, c, c)
		}
		writeClass(&b, normalizeRanges(ranges), false)
	}
	return b.String()
}

// jsFoldSet returns r and every other character that a case-insensitive
// JavaScript RegExp without the "u" flag treats as equal to it.
func jsFoldSet(r rune) []rune {
	set := []rune{r}
	if r > 0xffff {
		return set // matched as two UTF-16 code units, which have no case
	}
	canon := jsCanonicalize(r)
	for c := unicode.SimpleFold(r); c != r; c = unicode.SimpleFold(c) {
		if c <= 0xffff && jsCanonicalize(c) == canon {
			set = append(set, c)
		}
	}
	return set
}

// jsCanonicalize is ECMAScript's Canonicalize for a RegExp without the "u"
// flag: the upper case of r, except that a non-ASCII character never becomes
// an ASCII one. (Go's simple upper-case mapping stands in for
// toUpperCase; they differ only for a few characters whose full upper case
// is several characters long.)
func jsCanonicalize(r rune) rune {
	u := unicode.ToUpper(r)
	if r >= utf8.RuneSelf && u < utf8.RuneSelf {
		return r
	}
	return u
}

// isAlnum reports whether c is an ASCII letter or digit.
func isAlnum(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// translateJSPattern rewrites a custom pattern, written in JavaScript RegExp
// syntax (no "u" flag, so with the legacy rules of ECMAScript Annex B) and
// matched case-insensitively, as a case-sensitive RE2 expression with the
// same meaning. It refuses what RE2 cannot run (lookarounds, backreferences,
// legacy octal escapes, lone surrogates); what is left for RE2 to refuse
// when the expression is compiled (such as "a**" or "a{1001}") JavaScript
// either refuses too or would rarely meet.
func translateJSPattern(src string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(src); {
		c, n := utf8.DecodeRuneInString(src[i:])
		switch {
		case c == '\\':
			a, used, err := jsEscape(src[i+1:], false)
			if err != nil {
				return "", err
			}
			a.write(&b)
			n = 1 + used
		case c == '[':
			class, used, err := translateJSClass(src[i:])
			if err != nil {
				return "", err
			}
			b.WriteString(class)
			n = used
		case c == '.':
			b.WriteString(jsDot)
		case c == '(':
			// The lexer lets only "(?" through.
			group, used, err := jsGroupOpening(src[i:])
			if err != nil {
				return "", err
			}
			b.WriteString(group)
			n = used
		case strings.ContainsRune("^$*+?){}|]", c):
			b.WriteRune(c) // the same syntax in both engines
		default:
			b.WriteString(jsFoldLiteral(string(c)))
		}
		i += n
	}
	return b.String(), nil
}

// jsGroupOpening reads the opening of the group at the start of s, which
// starts with "(?": "(?:", or a named group's "(?<name>" (which becomes
// "(?:", as nothing is ever captured). It returns the RE2 opening and how
// many bytes of s it used. Lookarounds, which RE2 cannot run, and RE2-only
// syntax such as "(?i)", which JavaScript refuses, are errors.
func jsGroupOpening(s string) (string, int, error) {
	switch {
	case strings.HasPrefix(s, "(?:"):
		return "(?:", 3, nil
	case strings.HasPrefix(s, "(?="), strings.HasPrefix(s, "(?!"),
		strings.HasPrefix(s, "(?<="), strings.HasPrefix(s, "(?<!"):
		return "", 0, fmt.Errorf("lookaround %q is not supported (Go's RE2 has no lookarounds)", s[:strings.IndexAny(s[1:], "=!")+2])
	case strings.HasPrefix(s, "(?<"):
		end := strings.IndexByte(s, '>')
		if end < 0 || !isJSGroupName(s[3:end]) {
			return "", 0, errors.New("invalid group name")
		}
		return "(?:", end + 1, nil
	}
	return "", 0, fmt.Errorf("unsupported group syntax %q", s[:min(len(s), 3)])
}

// isJSGroupName reports whether name is a valid (ASCII) JavaScript group
// name: an identifier of letters, digits, "_" and "$", not starting with a
// digit.
func isJSGroupName(name string) bool {
	if name == "" || '0' <= name[0] && name[0] <= '9' {
		return false
	}
	for i := 0; i < len(name); i++ {
		if !isRouteNameChar(name[i]) && name[i] != '$' {
			return false
		}
	}
	return true
}

// jsAtom is what an escape or a class member stands for: one character, a
// set of characters, or (outside a class) a word-boundary assertion.
type jsAtom struct {
	// char is the character when set is nil and assertion is empty.
	char rune
	// set holds inclusive pairs of character ranges for a class escape.
	set []rune
	// assertion is `\b` or `\B`.
	assertion string
}

// single reports whether the atom is one character.
func (a jsAtom) single() bool {
	return a.set == nil && a.assertion == ""
}

// ranges returns the characters the atom stands for as inclusive pairs.
func (a jsAtom) ranges() []rune {
	if a.single() {
		return []rune{a.char, a.char}
	}
	return a.set
}

// write writes the atom, outside a class, as RE2 with JavaScript's
// case-insensitive meaning.
func (a jsAtom) write(b *strings.Builder) {
	switch {
	case a.assertion != "":
		b.WriteString(a.assertion)
	case a.single():
		b.WriteString(jsFoldLiteral(string(a.char)))
	default:
		writeClass(b, jsFoldClosure(a.set), false)
	}
}

// The ranges of JavaScript's (and RE2's) ASCII class escapes.
var (
	jsDigitRanges = []rune{'0', '9'}
	jsWordRanges  = []rune{'0', '9', 'A', 'Z', '_', '_', 'a', 'z'}
)

// jsEscape decodes the JavaScript escape that follows a backslash at the
// start of s, and returns how many bytes of s it used. inClass selects the
// meaning inside a character class.
func jsEscape(s string, inClass bool) (jsAtom, int, error) {
	if s == "" {
		return jsAtom{}, 0, errors.New("pattern ends with a backslash")
	}
	c, n := utf8.DecodeRuneInString(s)
	switch c {
	case 'd':
		return jsAtom{set: jsDigitRanges}, 1, nil
	case 'D':
		return jsAtom{set: complementRanges(jsDigitRanges)}, 1, nil
	case 'w':
		return jsAtom{set: jsWordRanges}, 1, nil
	case 'W':
		return jsAtom{set: complementRanges(jsWordRanges)}, 1, nil
	case 's':
		return jsAtom{set: jsSpaceRanges}, 1, nil
	case 'S':
		return jsAtom{set: complementRanges(jsSpaceRanges)}, 1, nil
	case 'b', 'B':
		switch {
		case !inClass:
			return jsAtom{assertion: `\` + string(c)}, 1, nil
		case c == 'b':
			return jsAtom{char: '\b'}, 1, nil
		}
		return jsAtom{char: 'B'}, 1, nil // an identity escape inside a class
	case 'f':
		return jsAtom{char: '\f'}, 1, nil
	case 'n':
		return jsAtom{char: '\n'}, 1, nil
	case 'r':
		return jsAtom{char: '\r'}, 1, nil
	case 't':
		return jsAtom{char: '\t'}, 1, nil
	case 'v':
		return jsAtom{char: '\v'}, 1, nil
	case '0':
		if len(s) > 1 && '0' <= s[1] && s[1] <= '9' {
			return jsAtom{}, 0, errors.New("octal escapes are not supported")
		}
		return jsAtom{char: 0}, 1, nil
	case '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return jsAtom{}, 0, errors.New("backreferences and octal escapes are not supported")
	case 'x':
		if v, ok := parseHex(s[1:], 2); ok {
			return jsAtom{char: v}, 3, nil
		}
	case 'u':
		return jsUnicodeEscape(s)
	case 'c':
		if len(s) > 1 && (isAlnum(s[1]) && (inClass || s[1] > '9') || inClass && s[1] == '_') {
			return jsAtom{char: rune(s[1] % 32)}, 2, nil
		}
		// Without a control letter, "\c" is a backslash and a "c".
		return jsAtom{char: '\\'}, 0, nil
	case 'k':
		if strings.HasPrefix(s[1:], "<") {
			return jsAtom{}, 0, errors.New("named backreferences are not supported")
		}
	}
	// An identity escape: the character itself.
	return jsAtom{char: c}, n, nil
}

// jsUnicodeEscape decodes "\uXXXX" (s starts after the backslash), joining a
// surrogate pair written as two escapes into one character.
func jsUnicodeEscape(s string) (jsAtom, int, error) {
	v, ok := parseHex(s[1:], 4)
	if !ok {
		return jsAtom{char: 'u'}, 1, nil // an identity escape
	}
	if !utf16.IsSurrogate(v) {
		return jsAtom{char: v}, 5, nil
	}
	lo, ok := rune(0), false
	if strings.HasPrefix(s[5:], `\u`) {
		lo, ok = parseHex(s[7:], 4)
	}
	if v = utf16.DecodeRune(v, lo); !ok || v == utf8.RuneError {
		return jsAtom{}, 0, errors.New("lone surrogate escapes are not supported")
	}
	return jsAtom{char: v}, 11, nil
}

// translateJSClass translates the JavaScript character class that starts
// (with "[") at src[0] into an RE2 class with JavaScript's case-insensitive
// meaning, and returns how many bytes of src it used.
func translateJSClass(src string) (string, int, error) {
	i := 1
	negated := strings.HasPrefix(src[i:], "^")
	if negated {
		i++
	}
	var set []rune
	for {
		if i >= len(src) {
			return "", 0, errors.New("unterminated character class")
		}
		if src[i] == ']' {
			break
		}
		a, n, err := jsClassAtom(src[i:])
		if err != nil {
			return "", 0, err
		}
		i += n
		// "a-b" is a range unless the "-" is last; with a class escape on
		// either side, Annex B reads the "-" literally.
		if i+1 < len(src) && src[i] == '-' && src[i+1] != ']' {
			z, m, err := jsClassAtom(src[i+1:])
			if err != nil {
				return "", 0, err
			}
			i += 1 + m
			if a.single() && z.single() {
				if a.char > z.char {
					return "", 0, errors.New("character class range out of order")
				}
				set = append(set, a.char, z.char)
				continue
			}
			set = append(append(append(set, a.ranges()...), '-', '-'), z.ranges()...)
			continue
		}
		set = append(set, a.ranges()...)
	}
	var b strings.Builder
	writeClass(&b, jsFoldClosure(set), negated)
	return b.String(), i + 1, nil
}

// jsClassAtom reads one member of a character class at the start of s.
func jsClassAtom(s string) (jsAtom, int, error) {
	if s[0] == '\\' {
		a, n, err := jsEscape(s[1:], true)
		return a, 1 + n, err
	}
	c, n := utf8.DecodeRuneInString(s)
	return jsAtom{char: c}, n, nil
}

// writeClass writes inclusive pairs of ranges as an RE2 character class
// (negated when asked).
func writeClass(b *strings.Builder, set []rune, negated bool) {
	if len(set) == 0 {
		// RE2 has no "[]": use the class of everything, inverted.
		negated = !negated
		set = []rune{0, unicode.MaxRune}
	}
	b.WriteByte('[')
	if negated {
		b.WriteByte('^')
	}
	for i := 0; i < len(set); i += 2 {
		writeClassChar(b, set[i])
		if set[i+1] != set[i] {
			b.WriteByte('-')
			writeClassChar(b, set[i+1])
		}
	}
	b.WriteByte(']')
}

// jsFoldable lists, in order, the characters that a case-insensitive
// JavaScript RegExp (no "u" flag) treats as equal to some other character.
var jsFoldable = sync.OnceValue(func() []rune {
	var out []rune
	for r := rune(0); r <= 0xffff; r++ {
		if unicode.SimpleFold(r) != r && len(jsFoldSet(r)) > 1 {
			out = append(out, r)
		}
	}
	return out
})

// jsFoldClosure returns the characters a case-insensitive JavaScript class
// holding set matches: set plus every character equal to one in it when
// case is ignored. Both are inclusive pairs of ranges; the result is sorted
// and merged.
func jsFoldClosure(set []rune) []rune {
	set = normalizeRanges(set)
	out := set
	for _, r := range jsFoldable() {
		if !inRanges(set, r) {
			continue
		}
		for _, c := range jsFoldSet(r) {
			out = append(out, c, c)
		}
	}
	return normalizeRanges(out)
}

// normalizeRanges sorts inclusive pairs of ranges and merges those that
// overlap or touch. It returns a new slice.
func normalizeRanges(set []rune) []rune {
	pairs := make([][2]rune, 0, len(set)/2)
	for i := 0; i < len(set); i += 2 {
		pairs = append(pairs, [2]rune{set[i], set[i+1]})
	}
	slices.SortFunc(pairs, func(a, b [2]rune) int { return cmp.Compare(a[0], b[0]) })
	out := make([]rune, 0, len(set))
	for _, p := range pairs {
		if n := len(out); n > 0 && p[0] <= out[n-1]+1 {
			out[n-1] = max(out[n-1], p[1])
			continue
		}
		out = append(out, p[0], p[1])
	}
	return out
}

// inRanges reports whether r is in sorted, disjoint, inclusive pairs of
// ranges.
func inRanges(set []rune, r rune) bool {
	i := sort.Search(len(set)/2, func(i int) bool { return set[2*i+1] >= r })
	return i < len(set)/2 && set[2*i] <= r
}

// parseHex parses exactly digits hexadecimal digits at the start of s.
func parseHex(s string, digits int) (rune, bool) {
	if len(s) < digits {
		return 0, false
	}
	v, err := strconv.ParseUint(s[:digits], 16, 32)
	if err != nil {
		return 0, false
	}
	return rune(v), true
}

// writeClassChar writes r so that it stands for itself inside an RE2
// character class: ASCII letters and digits as they are, anything else as a
// hexadecimal escape.
func writeClassChar(b *strings.Builder, r rune) {
	if r < utf8.RuneSelf && isAlnum(byte(r)) {
		b.WriteByte(byte(r))
		return
	}
	b.WriteString(`\x{` + strconv.FormatInt(int64(r), 16) + `}`)
}

// complementRanges returns the characters not in the sorted, disjoint,
// inclusive pairs of ranges, as such pairs.
func complementRanges(ranges []rune) []rune {
	var out []rune
	next := rune(0)
	for i := 0; i < len(ranges); i += 2 {
		if ranges[i] > next {
			out = append(out, next, ranges[i]-1)
		}
		next = ranges[i+1] + 1
	}
	if next <= unicode.MaxRune {
		out = append(out, next, unicode.MaxRune)
	}
	return out
}

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
