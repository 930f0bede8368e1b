package caddyclerk

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddytest"
)

const testPK = "pk_test_Y2xlcmsuZXhhbXBsZS5jb20k" // clerk.example.com

// block writes a clerk_auth block with one subdirective per line.
func block(lines ...string) string {
	return "clerk_auth {\n\t" + strings.Join(lines, "\n\t") + "\n}"
}

func TestUnmarshalCaddyfile(t *testing.T) {
	on, off := true, false
	skew := caddy.Duration(2_000_000_000)
	tests := []struct {
		name  string
		input string
		want  ClerkAuth
	}{
		{
			name:  "publishable key only",
			input: block("publishable_key " + testPK),
			want:  ClerkAuth{PublishableKey: testPK},
		},
		{
			name: "every subdirective",
			input: block(
				"publishable_key "+testPK,
				"secret_key sk_test_abc",
				"jwt_key /etc/clerk.pem",
				"frontend_api https://clerk.example.com",
				"api_url https://api.example.com",
				"jwks_url https://keys.example.com/jwks.json",
				"issuer off",
				"authorized_parties https://a.example.com https://b.example.com",
				"authorized_parties https://c.example.com",
				"clock_skew 2s",
				"public_routes / /sign-in(.*)",
				"public_routes /api/webhooks(.*)",
				"api_routes /api/(.*)",
				"sign_in_url https://example.com/login",
				"unauthorized_url /denied",
				"require role org:admin",
				"require permission org:invoices:create",
				"require feature premium",
				"require plan u:pro",
				"require reverification strict",
				"handshake off",
				"identity_headers on",
			),
			want: ClerkAuth{
				PublishableKey: testPK, SecretKey: "sk_test_abc", JWTKey: "/etc/clerk.pem",
				FrontendAPI: "https://clerk.example.com", APIURL: "https://api.example.com",
				JWKSURL: "https://keys.example.com/jwks.json", Issuer: "off",
				AuthorizedParties: []string{"https://a.example.com", "https://b.example.com", "https://c.example.com"},
				ClockSkew:         &skew,
				PublicRoutes:      []string{"/", "/sign-in(.*)", "/api/webhooks(.*)"},
				APIRoutes:         []string{"/api/(.*)"},
				SignInURL:         "https://example.com/login",
				UnauthorizedURL:   "/denied",
				Require: []ClerkCondition{{Role: "org:admin"}, {Permission: "org:invoices:create"},
					{Feature: "premium"}, {Plan: "u:pro"}, {Reverification: "strict"}},
				Handshake: &off, IdentityHeaders: &on,
			},
		},
		{
			name:  "placeholders are kept for provisioning",
			input: block("publishable_key {env.PK}", "secret_key {env.SK}", "protected_routes {env.ROUTE}"),
			want:  ClerkAuth{PublishableKey: "{env.PK}", SecretKey: "{env.SK}", ProtectedRoutes: []string{"{env.ROUTE}"}},
		},
		{
			name:  "inline PEM in backticks",
			input: "clerk_auth {\n\tjwt_key `-----BEGIN PUBLIC KEY-----\nabc\n-----END PUBLIC KEY-----`\n\tissuer off\n}",
			want:  ClerkAuth{JWTKey: "-----BEGIN PUBLIC KEY-----\nabc\n-----END PUBLIC KEY-----", Issuer: "off"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got ClerkAuth
			if err := got.UnmarshalCaddyfile(caddyfile.NewTestDispenser(tc.input)); err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			gotJSON, _ := json.Marshal(got)
			wantJSON, _ := json.Marshal(tc.want)
			if string(gotJSON) != string(wantJSON) {
				t.Errorf("got  %s\nwant %s", gotJSON, wantJSON)
			}
		})
	}
}

func TestUnmarshalCaddyfileErrors(t *testing.T) {
	pk := "publishable_key " + testPK
	tests := map[string]struct{ input, wantErr string }{
		"inline argument":                  {"clerk_auth foo {\n" + pk + "\n}", "wrong argument count"},
		"unknown subdirective":             {block(pk, "frobnicate yes"), "unrecognized clerk_auth subdirective 'frobnicate'"},
		"unknown token type":               {block(pk, "accept jwt"), "accept: unknown token type 'jwt'"},
		"require without value":            {block(pk, "require role"), "require: want 'role <value>'"},
		"require unknown dimension":        {block(pk, "require colour blue"), "require: unknown dimension 'colour'"},
		"require matcher-only dimension":   {block(pk, "require signed_in"), "require: unknown dimension 'signed_in'"},
		"require org is matcher-only":      {block(pk, "require org acme"), "require: unknown dimension 'org'"},
		"require unknown preset":           {block(pk, "require reverification sometimes"), "unknown reverification preset 'sometimes'"},
		"duplicate unauthorized_url":       {block(pk, "unauthorized_url /a", "unauthorized_url /b"), "unauthorized_url already specified"},
		"no key source":                    {block("public_routes /"), "no key source"},
		"bad publishable key":              {block("publishable_key pk_nope_abc"), "publishable_key"},
		"publishable key not base64":       {block("publishable_key pk_test_!!!"), "publishable_key"},
		"publishable key without host":     {block("publishable_key pk_test_Zm9v"), "publishable_key"},
		"bad secret key":                   {block("secret_key mysecret"), "secret_key: must start with sk_test_ or sk_live_"},
		"duplicate scalar":                 {block(pk, pk), "publishable_key already specified"},
		"missing value":                    {block(pk, "secret_key"), "wrong argument count"},
		"two values":                       {block("secret_key sk_test_a sk_test_b"), "wrong argument count"},
		"relative jwks_url":                {block("jwks_url /jwks"), "jwks_url: must be an absolute http or https URL"},
		"ftp api_url":                      {block("secret_key sk_test_a", "api_url ftp://x"), "api_url"},
		"bad clock skew":                   {block(pk, "clock_skew soon"), "bad clock_skew value 'soon'"},
		"negative clock skew":              {block(pk, "clock_skew -1s"), "bad clock_skew value '-1s'"},
		"duplicate clock skew":             {block(pk, "clock_skew 1s", "clock_skew 2s"), "clock_skew already specified"},
		"empty route list":                 {block(pk, "public_routes"), "wrong argument count"},
		"bad route pattern":                {block(pk, "public_routes /a(b"), "public_routes:"},
		"relative pattern":                 {block(pk, "api_routes api"), "api_routes:"},
		"both route lists":                 {block(pk, "public_routes /", "protected_routes /a"), "public_routes and protected_routes cannot be used together"},
		"bad switch":                       {block(pk, "handshake maybe"), "handshake: want on or off, got 'maybe'"},
		"duplicate switch":                 {block(pk, "identity_headers on", "identity_headers off"), "identity_headers already specified"},
		"authorized parties without value": {block(pk, "authorized_parties"), "wrong argument count"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var c ClerkAuth
			err := c.UnmarshalCaddyfile(caddyfile.NewTestDispenser(tc.input))
			if err == nil {
				t.Fatalf("expected an error containing %q", tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %q does not contain %q", err, tc.wantErr)
			}
		})
	}
}

func TestCaddyfileAdapt(t *testing.T) {
	caddytest.AssertAdapt(t, `
	:8080 {
		clerk_auth /app/* {
			publishable_key {env.CLERK_PUBLISHABLE_KEY}
			secret_key {env.CLERK_SECRET_KEY}
			public_routes /app/public(.*)
		}
		respond "hi {clerk.user_id}"
	}`, "caddyfile", `{
	"apps": {
		"http": {
			"servers": {
				"srv0": {
					"listen": [
						":8080"
					],
					"routes": [
						{
							"match": [
								{
									"path": [
										"/app/*"
									]
								}
							],
							"handle": [
								{
									"handler": "clerk_auth",
									"public_routes": [
										"/app/public(.*)"
									],
									"publishable_key": "{env.CLERK_PUBLISHABLE_KEY}",
									"secret_key": "{env.CLERK_SECRET_KEY}"
								}
							]
						},
						{
							"handle": [
								{
									"body": "hi {clerk.user_id}",
									"handler": "static_response"
								}
							]
						}
					]
				}
			}
		}
	}
}`)
}
