package caddyclerk

import (
	"encoding/base64"
	"testing"

	"github.com/caddy-clerk/caddy-clerk/clerktest"
)

func TestParsePublishableKey(t *testing.T) {
	b64 := func(s string) string { return base64.RawStdEncoding.EncodeToString([]byte(s)) }
	for _, tc := range []struct {
		name       string
		pk         string
		host       string
		production bool
	}{
		{"production example", "pk_live_Y2xlcmsuZXhhbXBsZS5jb20k", "clerk.example.com", true},
		{"development example", "pk_test_aGFwcHktaGlwcG8tMTIuY2xlcmsuYWNjb3VudHMuZGV2JA", "happy-hippo-12.clerk.accounts.dev", false},
		{"padded", "pk_test_aGFwcHktaGlwcG8tMTIuY2xlcmsuYWNjb3VudHMuZGV2JA==", "happy-hippo-12.clerk.accounts.dev", false},
		{"clerktest key", clerktest.PublishableKeyFor("clerk.example.test", false), "clerk.example.test", false},
		{"clerktest live key", clerktest.PublishableKeyFor("clerk.example.test", true), "clerk.example.test", true},
		{"host with port", "pk_test_" + b64("localhost.test:3000$"), "localhost.test:3000", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inst, err := parsePublishableKey(tc.pk)
			if err != nil {
				t.Fatalf("parsePublishableKey(%q) error = %v", tc.pk, err)
			}
			if inst.frontendHost != tc.host || inst.production != tc.production ||
				inst.publishableKey != tc.pk || inst.suffix != cookieSuffix(tc.pk) {
				t.Errorf("parsePublishableKey(%q) = %+v, want host %q, production %v", tc.pk, inst, tc.host, tc.production)
			}
		})
	}
	if inst, _ := parsePublishableKey("pk_live_Y2xlcmsuZXhhbXBsZS5jb20k"); inst.suffix != "naoXFJnI" {
		t.Errorf("suffix = %q, want naoXFJnI", inst.suffix)
	}

	for _, tc := range []struct {
		name string
		pk   string
	}{
		{"empty", ""},
		{"secret key", "sk_live_" + b64("clerk.example.com$")},
		{"upper-case prefix", "PK_LIVE_" + b64("clerk.example.com$")},
		{"unknown instance type", "pk_prod_" + b64("clerk.example.com$")},
		{"no instance type", "pk_" + b64("clerk.example.com$")},
		{"two parts", "pk_live"},
		{"four parts", "pk_live_" + b64("clerk.example.com$") + "_x"},
		{"empty key part", "pk_live_"},
		{"not base64", "pk_live_***"},
		{"url-safe base64 is not atob", "pk_live_" + base64.RawURLEncoding.EncodeToString([]byte("clerk.ex>>?.com$"))},
		{"no dollar", "pk_live_" + b64("clerk.example.com")},
		{"two dollars", "pk_live_" + b64("clerk.example$.com$")},
		{"dollar not last", "pk_live_" + b64("clerk.example.com$x")},
		{"no dot", "pk_live_" + b64("localhost$")},
		{"only a dollar", "pk_live_" + b64("$")},
	} {
		t.Run("rejects "+tc.name, func(t *testing.T) {
			if inst, err := parsePublishableKey(tc.pk); err == nil {
				t.Errorf("parsePublishableKey(%q) = %+v, want an error", tc.pk, inst)
			}
		})
	}
}

func TestAccountsHost(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"clerk.example.com", "accounts.example.com"},
		{"happy-hippo-12.clerk.accounts.dev", "happy-hippo-12.accounts.dev"},
		{"clerk.accountsstage.x", "accountsstage.x"},
		{"x.clerk.accountsstage.dev", "x.accountsstage.dev"},
		{"clerk.accounts.dev", "accounts.dev"},
		{"clerk.clerk.example.com", "accounts.clerk.example.com"},
		{"auth.example.com", "auth.example.com"},
		{"myclerk.example.com", "myaccounts.example.com"},
		{"clerk.example.test", "accounts.example.test"},
	} {
		if got := accountsHost(tc.in); got != tc.want {
			t.Errorf("accountsHost(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestValidSecretKey(t *testing.T) {
	for _, tc := range []struct {
		sk   string
		want bool
	}{
		{"sk_test_abc", true},
		{"sk_live_abc", true},
		{clerktest.Start(t, clerktest.Options{}).SecretKey(), true},
		{"sk_test_", false},
		{"sk_live_", false},
		{"", false},
		{"pk_test_abc", false},
		{"SK_TEST_abc", false},
		{"sk_prod_abc", false},
		{"test_abc", false},
		{"sk_testabc", false},
	} {
		if got := validSecretKey(tc.sk); got != tc.want {
			t.Errorf("validSecretKey(%q) = %v, want %v", tc.sk, got, tc.want)
		}
	}
}

func TestCheckBaseURL(t *testing.T) {
	for _, tc := range []struct {
		raw string
		ok  bool
	}{
		{"https://api.clerk.com", true},
		{"http://127.0.0.1:8080", true},
		{"https://app.example.com/__clerk", true},
		{"HTTPS://api.clerk.com", true},
		{"", false},
		{"api.clerk.com", false},
		{"/relative/path", false},
		{"//api.clerk.com", false},
		{"ftp://api.clerk.com", false},
		{"https://", false},
		{"https:///path", false},
		{"http://[::1", false},
		{"https://api.clerk.com/%zz", false},
	} {
		err := checkBaseURL("api_url", tc.raw)
		if (err == nil) != tc.ok {
			t.Errorf("checkBaseURL(%q) error = %v, want ok = %v", tc.raw, err, tc.ok)
		}
	}
}

func TestSameOrigin(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"https://api.clerk.com/v1/jwks", "https://api.clerk.com", true},
		{"https://API.clerk.com/x", "https://api.clerk.com/y?z", true},
		{"HTTPS://api.clerk.com", "https://api.clerk.com", true},
		{"http://127.0.0.1:8080/v1/jwks", "http://127.0.0.1:8080", true},
		{"http://api.clerk.com", "https://api.clerk.com", false},
		{"https://api.clerk.com:8443", "https://api.clerk.com", false},
		{"http://127.0.0.1:8080", "http://127.0.0.1:8081", false},
		{"https://api.clerk.com.evil.com", "https://api.clerk.com", false},
		{"https://evil.com/https://api.clerk.com", "https://api.clerk.com", false},
		{"https://user@api.clerk.com", "https://api.clerk.com", true},
		{"http://[::1", "http://[::1", false},
	} {
		if got := sameOrigin(tc.a, tc.b); got != tc.want {
			t.Errorf("sameOrigin(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}
