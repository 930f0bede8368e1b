package caddyclerk

import (
	"errors"
	"net/url"
	"testing"
)

// TestCleanRoutePath checks the request-path cleaner.
func TestCleanRoutePath(t *testing.T) {
	tests := []struct {
		target     string // as sent on the request line
		clean      string
		suspicious bool
		err        bool
	}{
		{"/", "/", false, false},
		{"/dashboard", "/dashboard", false, false},
		{"/Dashboard/Settings", "/Dashboard/Settings", false, false},
		{"/dashboard/", "/dashboard/", false, false},
		{"//dashboard", "/dashboard", false, false},
		{"/a//b///c", "/a/b/c", false, false},
		{"/dashboard//", "/dashboard/", false, false},
		{"/dash%62oard", "/dashboard", false, false},
		{"/%44ASHBOARD", "/DASHBOARD", false, false},
		{"/api/webhooks/../admin", "/api/admin", false, false},
		{"/api/webhooks/%2e%2e/admin", "/api/admin", false, false},
		{"/api/webhooks/%2E%2E/admin", "/api/admin", false, false},
		{"/api/webhooks/.%2e/admin", "/api/admin", false, false},
		{"/a/./b/.", "/a/b", false, false},
		{"/../../etc", "/etc", false, false},
		{"/api/webhooks/..", "/api", false, false},
		{"/api/webhooks/../", "/api/", false, false},
		{"/api/%E6%97%A5", "/api/日", false, false},
		{"/a%20b", "/a b", false, false},
		{"/a%25zz", "/a%zz", false, false},
		{"/a+b", "/a+b", false, false},
		{"*", "/*", false, false},
		// Suspicious.
		{"/api%2Fadmin", "/api/admin", true, false},
		{"/api%2fadmin", "/api/admin", true, false},
		{"/api/webhooks%2f..%2fadmin", "/api/admin", true, false},
		{"/api%2Fx/\"", "/api/x/\"", true, false}, // EscapedPath drops this RawPath
		{"/a%5cb", "/a\\b", true, false},
		{"/a\\b", "/a\\b", true, false},
		{"/a;b", "/a;b", true, false},
		{"/a%3Bb", "/a;b", true, false},
		{"/a%00", "/a\x00", true, false},
		{"/a%0a", "/a\n", true, false},
		{"/a%0D", "/a\r", true, false},
		{"/a%1f", "/a\x1f", true, false},
		{"/a%7f", "/a\x7f", true, false},
		{"/org/a%3Fb", "/org/a?b", true, false},
		{"/org/a%23b", "/org/a#b", true, false},
		// Not valid UTF-8 once decoded.
		{"/%c0%ae", "", false, true},
		{"/%c0%af", "", false, true},
		{"/%c0%ae%c0%ae/admin", "", false, true},
		{"/%ff", "", false, true},
		{"/%ed%a0%80", "", false, true},
		{"/\xc0\xae", "", false, true},
	}
	for _, tt := range tests {
		u, err := url.ParseRequestURI(tt.target)
		if err != nil {
			t.Fatalf("ParseRequestURI(%q): %v", tt.target, err)
		}
		clean, suspicious, err := cleanRoutePath(u)
		if (err != nil) != tt.err {
			t.Errorf("cleanRoutePath(%q) error = %v, want error: %v", tt.target, err, tt.err)
			continue
		}
		if clean != tt.clean || suspicious != tt.suspicious {
			t.Errorf("cleanRoutePath(%q) = %q, %v; want %q, %v", tt.target, clean, suspicious, tt.clean, tt.suspicious)
		}
	}
	if clean, _, err := cleanRoutePath(&url.URL{}); clean != "/" || err != nil {
		t.Errorf(`cleanRoutePath(empty) = %q, %v; want "/"`, clean, err)
	}
	if _, _, err := cleanRoutePath(&url.URL{Path: "/a\xc0"}); !errors.Is(err, errPathNotUTF8) {
		t.Errorf("cleanRoutePath(invalid UTF-8 Path) error = %v, want errPathNotUTF8", err)
	}
}

// TestCleanEscapedRoutePathErrors checks escapes that cannot be decoded (Go's
// own request parsing refuses them first, so they need the escaped form).
func TestCleanEscapedRoutePathErrors(t *testing.T) {
	for _, escaped := range []string{"/api/%zz", "/%", "/a%2", "/%g0"} {
		if _, _, err := cleanEscapedRoutePath(escaped); err == nil {
			t.Errorf("cleanEscapedRoutePath(%q): no error", escaped)
		}
	}
}
