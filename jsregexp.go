package caddyclerk

import (
	"cmp"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// Translation of JavaScript RegExp syntax, as route patterns use it in
// custom parameter patterns, into RE2 with the same meaning.

// jsDot is the RE2 form of JavaScript's "." without the "s" flag: any
// character except a line terminator.
const jsDot = `[^\n\r\x{2028}\x{2029}]`

// jsSpaceRanges lists, as inclusive pairs, the characters JavaScript's "\s"
// matches (WhiteSpace and LineTerminator of ECMAScript 2015 and later).
var jsSpaceRanges = []rune{
	0x09, 0x0d, 0x20, 0x20, 0xa0, 0xa0, 0x1680, 0x1680, 0x2000, 0x200a,
	0x2028, 0x2029, 0x202f, 0x202f, 0x205f, 0x205f, 0x3000, 0x3000, 0xfeff, 0xfeff,
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
