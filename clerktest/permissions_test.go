package clerktest

import (
	"fmt"
	"math/big"
	"reflect"
	"strings"
	"testing"
)

func TestEncodeOrgPermissions(t *testing.T) {
	tests := []struct {
		name        string
		permissions []string
		features    []string
		wantFeat    []string
		wantPer     string
		wantFpm     string
	}{
		{
			name:        "semantics c example 1",
			permissions: []string{"org:invoices:read", "org:invoices:manage", "org:reports:read"},
			wantFeat:    []string{"invoices", "reports"},
			wantPer:     "read,manage",
			wantFpm:     "3,1",
		},
		{
			name:        "semantics c example 2 (a:x, a:z, c:y)",
			permissions: []string{"org:a:x", "org:c:y", "org:a:z"},
			wantFeat:    []string{"a", "c"},
			wantPer:     "x,y,z",
			wantFpm:     "5,2",
		},
		{
			name:        "prefix optional, malformed skipped",
			permissions: []string{"invoices:read", "org:nofeature", "org::x", "org:y:", "org:reports:read"},
			wantFeat:    []string{"invoices", "reports"},
			wantPer:     "read",
			wantFpm:     "1,1",
		},
		{
			name:        "extra features get a zero mask",
			permissions: []string{"org:invoices:read"},
			features:    []string{"sso", "invoices", ""},
			wantFeat:    []string{"invoices", "sso"},
			wantPer:     "read",
			wantFpm:     "1,0",
		},
		{
			name:     "features only",
			features: []string{"sso"},
			wantFeat: []string{"sso"},
		},
		{
			name:        "duplicates",
			permissions: []string{"org:a:x", "org:a:x"},
			wantFeat:    []string{"a"},
			wantPer:     "x",
			wantFpm:     "1",
		},
		{name: "nothing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			feat, per, fpm := EncodeOrgPermissions(tt.permissions, tt.features)
			if !reflect.DeepEqual(feat, tt.wantFeat) || per != tt.wantPer || fpm != tt.wantFpm {
				t.Errorf("got %v %q %q, want %v %q %q", feat, per, fpm, tt.wantFeat, tt.wantPer, tt.wantFpm)
			}
		})
	}
}

// TestV2PermissionsRoundTrip mints v2 tokens and decodes their claims the
// way Clerk's parser does, reproducing the worked examples of
// clerk-semantics.md section c.
func TestV2PermissionsRoundTrip(t *testing.T) {
	i := Start(t, Options{})
	var p61, p70 []string
	for j := 0; j <= 60; j++ {
		p61 = append(p61, fmt.Sprintf("org:a:p%d", j))
	}
	for j := 0; j < 70; j++ {
		p70 = append(p70, fmt.Sprintf("org:big:p%d", j))
	}
	all70 := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 70), big.NewInt(1))

	tests := []struct {
		name         string
		org          *Org
		userFeatures []string
		wantFea      string
		wantPer      string
		wantFpm      string
		wantPerms    []string
	}{
		{
			name:         "invoices and reports",
			org:          &Org{Permissions: []string{"org:invoices:read", "org:invoices:manage", "org:reports:read"}},
			userFeatures: []string{"premium"},
			wantFea:      "o:invoices,o:reports,u:premium",
			wantPer:      "read,manage",
			wantFpm:      "3,1",
			wantPerms:    []string{"org:invoices:read", "org:invoices:manage", "org:reports:read"},
		},
		{
			name:         "a:x a:z c:y with user feature b",
			org:          &Org{Permissions: []string{"org:a:x", "org:c:y", "org:a:z"}},
			userFeatures: []string{"b"},
			wantFea:      "o:a,o:c,u:b",
			wantPer:      "x,y,z",
			wantFpm:      "5,2",
			wantPerms:    []string{"org:a:x", "org:a:z", "org:c:y"},
		},
		{
			name:      "61 permissions, 2^60+1 style high bit",
			org:       &Org{Permissions: []string{p61[0], p61[60]}},
			wantFea:   "o:a",
			wantPer:   "p0,p60",
			wantFpm:   "3",
			wantPerms: []string{"org:a:p0", "org:a:p60"},
		},
		{
			name:      "70 permissions on one feature need more than 64 bits",
			org:       &Org{Permissions: p70},
			wantFea:   "o:big",
			wantPer:   strings.Join(strings.Split(strings.ReplaceAll(strings.Join(p70, ","), "org:big:", ""), ","), ","),
			wantFpm:   all70.String(),
			wantPerms: p70,
		},
		{
			name:      "all 61 on a",
			org:       &Org{Permissions: p61},
			wantFea:   "o:a",
			wantFpm:   new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 61), big.NewInt(1)).String(),
			wantPerms: p61,
		},
		{
			name:      "no org: no o, user features only",
			wantFea:   "u:premium",
			wantPerms: nil,
		},
	}
	tests[5].userFeatures = []string{"premium"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, c, _ := splitToken(t, i.Mint(Session{Org: tt.org, UserFeatures: tt.userFeatures}))
			fea, _ := c["fea"].(string)
			if fea != tt.wantFea {
				t.Errorf("fea %q, want %q", fea, tt.wantFea)
			}
			if _, ok := c["per"]; ok {
				t.Error("per at top level; Clerk reads o.per")
			}
			o, _ := c["o"].(map[string]any)
			if tt.org == nil {
				if o != nil {
					t.Errorf("o = %v without an org", o)
				}
				return
			}
			per, _ := o["per"].(string)
			fpm, _ := o["fpm"].(string)
			if tt.wantPer != "" && per != tt.wantPer {
				t.Errorf("o.per %q, want %q", per, tt.wantPer)
			}
			if fpm != tt.wantFpm {
				t.Errorf("o.fpm %q, want %q", fpm, tt.wantFpm)
			}
			if got := decodeOrgPermissions(fea, per, fpm); !reflect.DeepEqual(got, tt.wantPerms) {
				t.Errorf("decoded %v, want %v", got, tt.wantPerms)
			}
		})
	}
}

// TestDecoderMatchesSemantics checks the test decoder itself against the
// worked examples of clerk-semantics.md section c, so the round trip above
// proves what it claims.
func TestDecoderMatchesSemantics(t *testing.T) {
	var p61 []string
	for j := 0; j <= 60; j++ {
		p61 = append(p61, fmt.Sprintf("p%d", j))
	}
	two60plus1 := new(big.Int).Add(new(big.Int).Lsh(big.NewInt(1), 60), big.NewInt(1)).String()
	tests := []struct {
		fea, per, fpm string
		want          []string
	}{
		{"o:invoices,o:reports,u:premium", "read,manage", "3,1", []string{"org:invoices:read", "org:invoices:manage", "org:reports:read"}},
		{"o:a,u:b,o:c", "x,y,z", "5,2", []string{"org:a:x", "org:a:z", "org:c:y"}},
		{"ou:a,o:c", "x,y", "2,3", []string{"org:a:y", "org:c:x", "org:c:y"}},
		{"o:a", strings.Join(p61, ","), two60plus1, []string{"org:a:p0", "org:a:p60"}},
		{"o:a,o:b", "x", "z,1", []string{"org:b:x"}},
		{"x:a,o:b", "p", "1", []string{"org:b:p"}},
		{"", "x", "1", []string{}},
	}
	for _, tt := range tests {
		if got := decodeOrgPermissions(tt.fea, tt.per, tt.fpm); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("decode(%q, %q, %q) = %v, want %v", tt.fea, tt.per, tt.fpm, got, tt.want)
		}
	}
}
