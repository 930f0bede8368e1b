package caddyclerk

import (
	"fmt"
	"math/bits"
	"strings"
)

// This file decodes the compact v2 session-token claims exactly as Clerk's
// @clerk/shared does (authorization.ts splitByScope and jwtPayloadParser.ts
// parsePermissions/buildOrgPermissions): fea lists scoped features or plans,
// o.per names the permissions, and o.fpm holds one decimal bit mask per
// org-scoped feature, least significant bit first, indexing into per.

// splitByScope splits a fea or pla claim into its org-scoped and user-scoped
// values, as Clerk's splitByScope does. The claim is split on ",", each element
// is trimmed like JavaScript's String.prototype.trim and split at its first ":"
// into scope and value. Scope "o" feeds the org list, "u" the user list, "ou"
// and "uo" both; other scopes are ignored. An element without ":" is an error,
// as Clerk throws there; that includes an empty element, so a trailing or
// doubled comma is an error too. An empty claim gives empty lists and no error.
func splitByScope(fea string) (org, user []string, err error) {
	if fea == "" {
		return nil, nil, nil
	}
	for raw := range strings.SplitSeq(fea, ",") {
		element := jsTrim(raw)
		scope, value, ok := strings.Cut(element, ":")
		if !ok {
			return nil, nil, fmt.Errorf("invalid claim element (missing colon): %q", element)
		}
		switch scope {
		case "o":
			org = append(org, value)
		case "u":
			user = append(user, value)
		case "ou", "uo":
			org = append(org, value)
			user = append(user, value)
		}
	}
	return org, user, nil
}

// decodeOrgPermissions builds a v2 token's orgPermissions from the fea, o.per
// and o.fpm claims (pass "" for an absent claim), as Clerk does:
//
//   - The org-scoped features of fea (splitByScope) are numbered in order;
//     user-only features take no number. fea's error is the only error, and
//     it is returned whatever per and fpm hold, as Clerk parses fea first.
//   - per is split on "," and trimmed; the j-th name is permission bit j.
//   - fpm is split on "," and trimmed; its i-th entry is the decimal bit mask
//     of the i-th org feature. An entry that is not all ASCII digits (for
//     example empty, signed or "z") grants nothing and keeps its place.
//   - Every set bit j < len(per) of entry i adds "org:<feature i>:<per[j]>".
//     Entries beyond the org features and bits beyond per are ignored.
//
// Clerk returns no permissions when per or fpm is the empty string (its
// `if (!per || !fpm)`), so neither "" is split into [""]. A non-empty per does
// keep empty names: per " " or "x," has an empty name, and its bit yields
// "org:<feature>:", exactly as Clerk builds it.
//
// Clerk converts each mask to binary by repeated string division, so masks
// of any length work. Only bits below len(per) matter, and those are the
// bits of the mask modulo 2^(64·w) for w = ceil(len(per)/64) words, which
// decimalLowBits computes digit by digit. The result is identical, and the
// cost stays linear in the claim size whatever the number of digits.
//
// The result is never nil on success, so it serializes as [] like Clerk's.
func decodeOrgPermissions(fea, per, fpm string) ([]string, error) {
	org, _, err := splitByScope(fea)
	if err != nil {
		return nil, err
	}
	perms := []string{}
	if per == "" || fpm == "" || len(org) == 0 {
		return perms, nil
	}
	nper := strings.Count(per, ",") + 1
	mask := make([]uint64, (nper+63)/64)
	i := 0
	for entry := range strings.SplitSeq(fpm, ",") {
		if i == len(org) {
			break
		}
		if decimalLowBits(mask, jsTrim(entry)) {
			perms = appendFeaturePermissions(perms, org[i], per, mask)
		}
		i++
	}
	return perms, nil
}

// appendFeaturePermissions appends "org:<feature>:<name>" for every name of
// the comma-separated per list whose bit is set in mask (LSB first). mask must
// have at least one bit per name.
func appendFeaturePermissions(perms []string, feature, per string, mask []uint64) []string {
	j := 0
	for name := range strings.SplitSeq(per, ",") {
		if mask[j/64]>>(j%64)&1 == 1 {
			perms = append(perms, "org:"+feature+":"+jsTrim(name))
		}
		j++
	}
	return perms
}

// decimalLowBits stores the decimal number s modulo 2^(64·len(mask)) in mask,
// least significant word first, and reports whether s is a valid mask: one or
// more ASCII digits (JavaScript's /^\d+$/), nothing else. For an invalid s,
// mask holds no meaningful value. The arithmetic wraps instead of growing,
// so every length of s costs O(len(s)·len(mask)) and never allocates.
func decimalLowBits(mask []uint64, s string) bool {
	if s == "" {
		return false
	}
	clear(mask)
	for k := 0; k < len(s); k++ {
		d := s[k] - '0'
		if d > 9 {
			return false
		}
		carry := uint64(d)
		for w := range mask {
			hi, lo := bits.Mul64(mask[w], 10)
			lo, c := bits.Add64(lo, carry, 0)
			mask[w], carry = lo, hi+c
		}
	}
	return true
}

// jsTrim trims s like JavaScript's String.prototype.trim, which Clerk applies
// to every claim element. It is not strings.TrimSpace: JavaScript trims
// U+FEFF but not U+0085.
func jsTrim(s string) string {
	return strings.TrimFunc(s, isJSSpace)
}

// isJSSpace reports whether r is an ECMAScript WhiteSpace (tab, VT, FF,
// U+FEFF and every Unicode Zs space) or LineTerminator (LF, CR, U+2028,
// U+2029) code point.
func isJSSpace(r rune) bool {
	switch r {
	case '\t', '\n', '\v', '\f', '\r', ' ', '\u00a0', '\u1680', '\u2028', '\u2029', '\u202f', '\u205f', '\u3000', '\ufeff':
		return true
	}
	return r >= '\u2000' && r <= '\u200a'
}
