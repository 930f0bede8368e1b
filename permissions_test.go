package caddyclerk

import (
	"fmt"
	"math/big"
	"slices"
	"strings"
	"testing"
	"unicode"
)

func TestSplitByScope(t *testing.T) {
	for _, tc := range []struct {
		name      string
		fea       string
		org, user []string
		wantErr   bool
	}{
		{name: "empty", fea: ""},
		{name: "section c sample", fea: "o:invoices,o:reports,u:premium", org: []string{"invoices", "reports"}, user: []string{"premium"}},
		{name: "both scopes", fea: "ou:a,uo:b,o:c,u:d", org: []string{"a", "b", "c"}, user: []string{"a", "b", "d"}},
		{name: "other scopes ignored", fea: "x:a,o:b,:c,oo:d,OU:e,O:f", org: []string{"b"}},
		{name: "value keeps later colons", fea: "o:a:b", org: []string{"a:b"}},
		{name: "empty value", fea: "o:", org: []string{""}},
		{name: "spaces and tabs trimmed", fea: " o:a ,\tu:b\t, ou:c\r\n", org: []string{"a", "c"}, user: []string{"b", "c"}},
		{name: "JS-only spaces trimmed", fea: "\ufeffo:a\u00a0,\u3000u:b\u2028", org: []string{"a"}, user: []string{"b"}},
		{name: "inner spaces kept", fea: "o : a", org: nil},
		{name: "NEL is not JS whitespace", fea: "\u0085o:a", org: nil},
		{name: "missing colon", fea: "o:a,premium", wantErr: true},
		{name: "missing colon first", fea: "premium,o:a", wantErr: true},
		{name: "trailing comma", fea: "o:a,", wantErr: true},
		{name: "doubled comma", fea: "o:a,,u:b", wantErr: true},
		{name: "only spaces", fea: "  ", wantErr: true},
		{name: "only comma", fea: ",", wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			org, user, err := splitByScope(tc.fea)
			if tc.wantErr {
				if err == nil || !strings.Contains(err.Error(), "missing colon") {
					t.Fatalf("splitByScope(%q) error = %v, want a missing colon error", tc.fea, err)
				}
				if org != nil || user != nil {
					t.Fatalf("splitByScope(%q) = %q, %q with an error, want nil lists", tc.fea, org, user)
				}
				return
			}
			if err != nil {
				t.Fatalf("splitByScope(%q) error = %v", tc.fea, err)
			}
			if !slices.Equal(org, tc.org) || !slices.Equal(user, tc.user) {
				t.Fatalf("splitByScope(%q) = %q, %q; want %q, %q", tc.fea, org, user, tc.org, tc.user)
			}
		})
	}
}

// names returns per names prefix0..prefix<n-1> joined by commas.
func names(prefix string, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s%d", prefix, i)
	}
	return b.String()
}

func TestDecodeOrgPermissions(t *testing.T) {
	for _, tc := range []struct {
		name          string
		fea, per, fpm string
		want          []string
	}{
		// The seven worked examples of clerk-semantics.md section c.
		{name: "c1", fea: "o:invoices,o:reports,u:premium", per: "read,manage", fpm: "3,1",
			want: []string{"org:invoices:read", "org:invoices:manage", "org:reports:read"}},
		{name: "c2 user features take no index", fea: "o:a,u:b,o:c", per: "x,y,z", fpm: "5,2",
			want: []string{"org:a:x", "org:a:z", "org:c:y"}},
		{name: "c3 ou is org scoped", fea: "ou:a,o:c", per: "x,y", fpm: "2,3",
			want: []string{"org:a:y", "org:c:x", "org:c:y"}},
		{name: "c4 2^60+1", fea: "o:a", per: names("p", 61), fpm: "1152921504606846977",
			want: []string{"org:a:p0", "org:a:p60"}},
		{name: "c5 non-digit entry keeps its place", fea: "o:a,o:b", per: "x", fpm: "z,1",
			want: []string{"org:b:x"}},
		{name: "c6 unknown scope ignored", fea: "x:a,o:b", per: "p", fpm: "1",
			want: []string{"org:b:p"}},
		{name: "c7 no fea", fea: "", per: "x", fpm: "1", want: []string{}},

		// Clerk's `if (!per || !fpm)`: an empty per or fpm gives nothing.
		{name: "empty per", fea: "o:a", per: "", fpm: "1", want: []string{}},
		{name: "empty fpm", fea: "o:a", per: "x", fpm: "", want: []string{}},
		// A non-empty per keeps empty names, as Clerk's split does.
		{name: "blank per", fea: "o:a", per: " ", fpm: "1", want: []string{"org:a:"}},
		{name: "trailing comma in per", fea: "o:a", per: "x,", fpm: "3", want: []string{"org:a:x", "org:a:"}},
		{name: "empty feature value", fea: "o:", per: "x", fpm: "1", want: []string{"org::x"}},

		{name: "whitespace trimmed", fea: " o:a ,\to:b", per: " x ,\ty\n", fpm: " 3 ,\t2\u00a0",
			want: []string{"org:a:x", "org:a:y", "org:b:y"}},
		{name: "leading zeros", fea: "o:a", per: "x,y", fpm: "0000000000000000000000000003",
			want: []string{"org:a:x", "org:a:y"}},
		{name: "zero mask", fea: "o:a,o:b", per: "x", fpm: "0,1", want: []string{"org:b:x"}},
		{name: "bits beyond per ignored", fea: "o:a", per: "x,y", fpm: "4", want: []string{}},
		{name: "entries beyond org features ignored", fea: "o:a,u:b", per: "x", fpm: "1,1,1", want: []string{"org:a:x"}},
		{name: "fewer entries than features", fea: "o:a,o:b", per: "x", fpm: "1", want: []string{"org:a:x"}},
		{name: "only user features", fea: "u:a,u:b", per: "x", fpm: "1,1", want: []string{}},
		{name: "non-digit entries give nothing", fea: "o:a,o:b,o:c,o:d,o:e,o:f,o:g,o:h,o:i,o:j,o:k", per: "x",
			fpm: "-1,+1,1.0,0x1,1e3,,  ,1 1,\u0661,1z,1", want: []string{"org:k:x"}},
		{name: "10^99+5 (100 digits)", fea: "o:f", per: "a,b,c",
			fpm: "1" + strings.Repeat("0", 98) + "5", want: []string{"org:f:a", "org:f:c"}},
		{name: "2^64+2 across words", fea: "o:f", per: names("p", 66), fpm: "18446744073709551618",
			want: []string{"org:f:p1", "org:f:p64"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeOrgPermissions(tc.fea, tc.per, tc.fpm)
			if err != nil {
				t.Fatalf("decodeOrgPermissions(%q, %q, %q) error = %v", tc.fea, tc.per, tc.fpm, err)
			}
			if got == nil || !slices.Equal(got, tc.want) {
				t.Fatalf("decodeOrgPermissions(%q, %q, %q) = %#v, want %#v", tc.fea, tc.per, tc.fpm, got, tc.want)
			}
		})
	}
}

func TestDecodeOrgPermissionsFeaError(t *testing.T) {
	// Clerk parses fea before per and fpm, so a bad fea throws whatever they hold.
	for _, tc := range []struct{ fea, per, fpm string }{
		{"o:a,premium", "x", "1"},
		{"o:a,", "x", "1"},
		{"premium", "", ""},
		{"o:a,,o:b", "x", "1,1"},
	} {
		got, err := decodeOrgPermissions(tc.fea, tc.per, tc.fpm)
		if err == nil || got != nil {
			t.Errorf("decodeOrgPermissions(%q, %q, %q) = %q, %v; want nil and an error", tc.fea, tc.per, tc.fpm, got, err)
		}
	}
}

// referenceDecode is a plain transcription of Clerk's algorithm with
// math/big standing in for its repeated string division.
func referenceDecode(fea, per, fpm string) ([]string, error) {
	org, _, err := splitByScope(fea)
	if err != nil {
		return nil, err
	}
	out := []string{}
	if per == "" || fpm == "" {
		return out, nil
	}
	perms := strings.Split(per, ",")
	for j := range perms {
		perms[j] = jsTrim(perms[j])
	}
	for i, entry := range strings.Split(fpm, ",") {
		if i >= len(org) {
			break
		}
		entry = jsTrim(entry)
		if entry == "" || strings.Trim(entry, "0123456789") != "" {
			continue
		}
		n, _ := new(big.Int).SetString(entry, 10)
		for j := range perms {
			if n.Bit(j) == 1 {
				out = append(out, "org:"+org[i]+":"+perms[j])
			}
		}
	}
	return out, nil
}

func TestDecodeOrgPermissionsLargeMasks(t *testing.T) {
	two := big.NewInt(2)
	pow := func(e int64) *big.Int { return new(big.Int).Exp(two, big.NewInt(e), nil) }
	add := func(xs ...*big.Int) string {
		s := new(big.Int)
		for _, x := range xs {
			s.Add(s, x)
		}
		return s.String()
	}
	one := big.NewInt(1)
	masks := []string{
		"18446744073709551615", // 2^64-1, the first 20-digit values
		add(pow(64)),
		add(pow(64), one),
		add(pow(127), pow(64), pow(63), one),
		add(pow(199), pow(130), pow(65), pow(3)),
		"123456789012345678901234567890123456789012345678901234567890",                                         // 60 digits
		"9876543210987654321098765432109876543210987654321098765432109876543210987654321098765432109876543210", // 100 digits
		strings.Repeat("9", 130),
		strings.Repeat("7", 1000),
	}
	for _, nper := range []int{1, 3, 63, 64, 65, 128, 130, 200} {
		per := names("p", nper)
		fpm := strings.Join(masks, ",")
		fea := "o:" + strings.Join(strings.Split(names("f", len(masks)), ","), ",o:")
		got, err := decodeOrgPermissions(fea, per, fpm)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := referenceDecode(fea, per, fpm)
		if !slices.Equal(got, want) {
			t.Errorf("%d permissions: got %d entries %q\nwant %d entries %q", nper, len(got), got, len(want), want)
		}
	}
	if len(masks[5]) != 60 || len(masks[6]) != 100 {
		t.Fatalf("mask lengths %d and %d, want 60 and 100", len(masks[5]), len(masks[6]))
	}
}

func TestIsJSSpace(t *testing.T) {
	// Every Unicode Zs space is ECMAScript WhiteSpace.
	for _, r16 := range unicode.Zs.R16 {
		for r := rune(r16.Lo); r <= rune(r16.Hi); r += rune(r16.Stride) {
			if !isJSSpace(r) {
				t.Errorf("isJSSpace(%U) = false, want true (Zs)", r)
			}
		}
	}
	for _, r := range "\t\n\v\f\r \u00a0\u1680\u2000\u200a\u2028\u2029\u202f\u205f\u3000\ufeff" {
		if !isJSSpace(r) {
			t.Errorf("isJSSpace(%U) = false, want true", r)
		}
	}
	for _, r := range "\u0085\u180e\u200b\u200c\u2060a0:,\x00\x1c\x1f\ufffd" {
		if isJSSpace(r) {
			t.Errorf("isJSSpace(%U) = true, want false", r)
		}
	}
	if got := jsTrim("\ufeff \ta b\u3000\n"); got != "a b" {
		t.Errorf("jsTrim = %q, want %q", got, "a b")
	}
	if got := jsTrim("\xff"); got != "\xff" {
		t.Errorf("jsTrim(invalid UTF-8) = %q, want it unchanged", got)
	}
}

func FuzzDecodeOrgPermissions(f *testing.F) {
	f.Add("o:invoices,o:reports,u:premium", "read,manage", "3,1")
	f.Add("ou:a,o:c", "x,y", "2,3")
	f.Add("o:a,o:b", names("p", 70), "z,"+strings.Repeat("9", 40))
	f.Add("o:a,", "x", "1")
	f.Add("o:\xff", "\ufeff,\xff", "\u00a01 ,-0")
	f.Fuzz(func(t *testing.T, fea, per, fpm string) {
		got, err := decodeOrgPermissions(fea, per, fpm)
		want, wantErr := referenceDecode(fea, per, fpm)
		if (err == nil) != (wantErr == nil) || !slices.Equal(got, want) {
			t.Fatalf("decodeOrgPermissions(%q, %q, %q) = %q, %v; want %q, %v", fea, per, fpm, got, err, want, wantErr)
		}
		if err == nil && got == nil {
			t.Fatalf("decodeOrgPermissions(%q, %q, %q) = nil without an error", fea, per, fpm)
		}
	})
}

func BenchmarkDecodeOrgPermissions(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decodeOrgPermissions("o:invoices,o:reports,u:premium", "read,manage", "3,1"); err != nil {
			b.Fatal(err)
		}
	}
}
