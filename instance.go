package caddyclerk

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"strings"
)

// parsePublishableKey decodes pk_test_/pk_live_ keys as Clerk's
// isPublishableKey does: three `_`-separated parts, the last base64 of the
// Frontend API host followed by a single `$`.
func parsePublishableKey(pk string) (*instance, error) {
	parts := strings.Split(pk, "_")
	if len(parts) != 3 || parts[0] != "pk" || (parts[1] != "test" && parts[1] != "live") {
		return nil, fmt.Errorf("publishable key must look like pk_test_... or pk_live_...")
	}
	decoded, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(parts[2], "="))
	if err != nil {
		return nil, fmt.Errorf("publishable key is not valid base64: %v", err)
	}
	host, ok := strings.CutSuffix(string(decoded), "$")
	if !ok || strings.Contains(host, "$") || !strings.Contains(host, ".") {
		return nil, fmt.Errorf("publishable key does not encode a Frontend API host")
	}
	return &instance{
		publishableKey: pk,
		frontendHost:   host,
		production:     parts[1] == "live",
		suffix:         cookieSuffix(pk),
	}, nil
}

// accountsHost is Clerk's buildAccountsBaseUrl without the scheme:
// clerk.example.com → accounts.example.com,
// x-y-1.clerk.accounts.dev → x-y-1.accounts.dev.
func accountsHost(frontendHost string) string {
	h := strings.Replace(frontendHost, "clerk.accountsstage.", "accountsstage.", 1)
	i := strings.Index(h, "clerk.")
	if i < 0 {
		return h
	}
	rest := strings.TrimPrefix(h[i+len("clerk."):], "accounts.")
	return h[:i] + "accounts." + rest
}

// validSecretKey reports whether sk has one of Clerk's secret key prefixes.
func validSecretKey(sk string) bool {
	return (strings.HasPrefix(sk, "sk_test_") || strings.HasPrefix(sk, "sk_live_")) && len(sk) > len("sk_test_")
}

// checkBaseURL requires an absolute http(s) URL.
func checkBaseURL(name, raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%s: %v", name, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%s: must be an absolute http or https URL, got %q", name, raw)
	}
	return nil
}

// sameOrigin reports whether two absolute URLs share scheme and host.
func sameOrigin(a, b string) bool {
	ua, errA := url.Parse(a)
	ub, errB := url.Parse(b)
	return errA == nil && errB == nil && strings.EqualFold(ua.Scheme, ub.Scheme) && strings.EqualFold(ua.Host, ub.Host)
}
