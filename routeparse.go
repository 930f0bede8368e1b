package caddyclerk

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The path-to-regexp 6.3 lexer and parser, and the RE2 regexp a parsed
// pattern compiles to; matcher.go explains the translation rules.

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
