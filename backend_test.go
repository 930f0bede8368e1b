package caddyclerk

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/caddy-clerk/caddy-clerk/clerktest"
)

func TestUnmarshalBackendSubdirectives(t *testing.T) {
	var c ClerkAuth
	input := "clerk_auth {\n publishable_key " + testPK + "\n secret_key sk_test_x\n" +
		" accept session_token api_key\n accept m2m_token\n" +
		" user_fields email public_metadata.plan\n user_fields first_name\n user_fields_required\n" +
		" user_cache_ttl 1m\n session_liveness 10s\n}"
	if err := c.UnmarshalCaddyfile(caddyfile.NewTestDispenser(input)); err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(c)
	for _, want := range []string{`"accept":["session_token","api_key","m2m_token"]`,
		`"user_fields":["email","public_metadata.plan","first_name"]`, `"user_fields_required":true`,
		`"user_cache_ttl":60000000000`, `"session_liveness":10000000000`} {
		if !strings.Contains(string(got), want) {
			t.Errorf("%s lacks %s", got, want)
		}
	}
}

func TestUnmarshalBackendErrors(t *testing.T) {
	pk := "publishable_key " + testPK
	for name, tc := range map[string]struct{ input, want string }{
		"accept without value":     {block(pk, "accept"), "wrong argument count"},
		"accept unknown":           {block(pk, "accept session_token jwt"), "accept: unknown token type 'jwt'"},
		"user_fields without":      {block(pk, "user_fields"), "wrong argument count"},
		"user_fields unknown":      {block(pk, "user_fields email password"), "unknown user field 'password'"},
		"metadata key with a dot":  {block(pk, "user_fields public_metadata."), "metadata keys"},
		"required with a value":    {block(pk, "user_fields_required yes"), "wrong argument count"},
		"required twice":           {block(pk, "user_fields_required", "user_fields_required"), "already specified"},
		"liveness zero":            {block(pk, "session_liveness 0s"), "bad session_liveness value '0s'"},
		"liveness twice":           {block(pk, "session_liveness 1s", "session_liveness 2s"), "session_liveness already specified"},
		"user cache ttl negative":  {block(pk, "user_cache_ttl -1m"), "bad user_cache_ttl value '-1m'"},
		"user cache ttl twice":     {block(pk, "user_cache_ttl 1m", "user_cache_ttl 2m"), "user_cache_ttl already specified"},
		"liveness without a value": {block(pk, "session_liveness"), "wrong argument count"},
	} {
		t.Run(name, func(t *testing.T) {
			var c ClerkAuth
			err := c.UnmarshalCaddyfile(caddyfile.NewTestDispenser(tc.input))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}

// TestProvisionBackendJSON checks what a JSON config (which skips the
// Caddyfile checks) is refused for, and what it sets up.
func TestProvisionBackendJSON(t *testing.T) {
	ci := clerktest.Start(t, clerktest.Options{Host: "clerk.provision.test"})
	base := func() *ClerkAuth {
		return &ClerkAuth{PublishableKey: ci.PublishableKey(), SecretKey: ci.SecretKey(), APIURL: ci.BackendAPIURL()}
	}
	for name, tc := range map[string]struct {
		mod  func(*ClerkAuth)
		want string
	}{
		"unknown accept":        {func(c *ClerkAuth) { c.Accept = []string{"bearer"} }, "accept: unknown token type 'bearer'"},
		"unknown field":         {func(c *ClerkAuth) { c.UserFields = []string{"ssn"} }, "user_fields: unknown user field 'ssn'"},
		"required alone":        {func(c *ClerkAuth) { c.UserFieldsRequired = true }, "user_fields_required: needs user_fields"},
		"negative liveness":     {func(c *ClerkAuth) { c.SessionLiveness = -1 }, "session_liveness: must not be negative"},
		"zero user cache ttl":   {func(c *ClerkAuth) { d := caddy.Duration(0); c.UserCacheTTL = &d }, "user_cache_ttl: must be positive"},
		"machines without a sk": {func(c *ClerkAuth) { c.SecretKey = ""; c.Accept = []string{"oauth_token"} }, "accept oauth_token: needs secret_key"},
	} {
		t.Run(name, func(t *testing.T) {
			c := base()
			tc.mod(c)
			ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
			defer cancel()
			err := c.Provision(ctx)
			_ = c.Cleanup()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}

	c := base()
	c.Accept = []string{"api_key", "api_key"}
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	defer cancel()
	if err := c.Provision(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Cleanup() }()
	m := c.auth.machines
	if m == nil || m.acceptSession || !m.single || len(m.accepted) != 1 || c.backend.bapi == nil {
		t.Errorf("accept api_key api_key: %+v", m)
	}
	if c.backend.stateKey != "https://clerk.provision.test" {
		t.Errorf("instance key %q", c.backend.stateKey)
	}
	if refs, ok := clerkInstances.References(c.backend.stateKey); !ok || refs < 1 {
		t.Error("the instance state is not held")
	}

	plain := &ClerkAuth{PublishableKey: ci.PublishableKey(), FrontendAPI: ci.FrontendAPIURL()}
	if err := plain.Provision(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = plain.Cleanup() }()
	if plain.auth.machines != nil || plain.backend.bapi != nil || plain.backend.state == nil {
		t.Error("a handler without Backend API features must not set them up, but must share the revocation list")
	}
}

func TestUnmarshalWebhook(t *testing.T) {
	secret := clerktest.NewWebhookSecret()
	var wh ClerkWebhook
	input := "clerk_webhook {\n secret " + secret + " {env.OLD_SECRET}\n max_body 64KiB\n publishable_key " + testPK + "\n}"
	if err := wh.UnmarshalCaddyfile(caddyfile.NewTestDispenser(input)); err != nil {
		t.Fatal(err)
	}
	if len(wh.Secrets) != 2 || wh.MaxBody != 64<<10 || wh.PublishableKey != testPK {
		t.Errorf("%+v", wh)
	}
	for name, tc := range map[string]struct{ input, want string }{
		"inline argument":    {"clerk_webhook foo {\n secret " + secret + "\n}", "wrong argument count"},
		"secret twice ok":    {"clerk_webhook {\n secret " + secret + "\n secret " + secret + "\n issuer https://x.test\n issuer https://y.test\n}", "issuer already specified"},
		"issuer not a URL":   {"clerk_webhook {\n secret " + secret + "\n issuer clerk.x.test\n}", "issuer"},
		"zero max_body":      {"clerk_webhook {\n secret " + secret + "\n max_body 0\n}", "bad max_body value '0'"},
		"secret without arg": {"clerk_webhook {\n secret\n}", "wrong argument count"},
	} {
		t.Run(name, func(t *testing.T) {
			var wh ClerkWebhook
			err := wh.UnmarshalCaddyfile(caddyfile.NewTestDispenser(tc.input))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}
