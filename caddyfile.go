package caddyclerk

import (
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

func init() {
	httpcaddyfile.RegisterHandlerDirective("clerk_auth", parseCaddyfile)
	httpcaddyfile.RegisterDirectiveOrder("clerk_auth", httpcaddyfile.Before, "basic_auth")
}

// parseCaddyfile builds the handler; the optional matcher was already taken.
func parseCaddyfile(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	c := new(ClerkAuth)
	err := c.UnmarshalCaddyfile(h.Dispenser)
	return c, err
}

// UnmarshalCaddyfile implements caddyfile.Unmarshaler. Syntax:
//
//	clerk_auth [<matcher>] {
//		publishable_key <pk_live_...|pk_test_...>
//		secret_key      <sk_live_...|sk_test_...>
//		jwt_key         <PEM text | path to a PEM file>
//		frontend_api    <url>
//		api_url         <url>
//		jwks_url        <url>
//		issuer          <url> | off
//		authorized_parties <origin>...
//		clock_skew      <duration>
//
//		public_routes    <pattern>...
//		protected_routes <pattern>...
//		api_routes       <pattern>...
//
//		sign_in_url      <url>
//		unauthorized_url <url>
//		handshake        on|off
//
//		require role|permission|feature|plan|reverification <value>
//
//		identity_headers on|off
//
//		accept session_token api_key m2m_token oauth_token
//		user_fields email username first_name last_name image_url public_metadata.<key> ...
//		user_fields_required
//		user_cache_ttl   <duration>
//		session_liveness <duration>
//	}
//
// List subdirectives may repeat; their values add up. Values may hold
// placeholders such as {env.CLERK_SECRET_KEY}, resolved when the config loads.
func (c *ClerkAuth) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // directive name
	if d.NextArg() {
		return d.ArgErr()
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		sub := d.Val()
		switch sub {
		case "publishable_key", "secret_key", "jwt_key", "frontend_api", "api_url", "jwks_url", "issuer", "sign_in_url", "unauthorized_url":
			if err := c.unmarshalScalar(d, sub); err != nil {
				return err
			}
		case "authorized_parties":
			if err := appendArgs(d, &c.AuthorizedParties); err != nil {
				return err
			}
		case "public_routes", "protected_routes", "api_routes":
			if err := c.unmarshalRoutes(d, sub); err != nil {
				return err
			}
		case "clock_skew":
			if c.ClockSkew != nil {
				return d.Err("clock_skew already specified")
			}
			var s string
			if !d.AllArgs(&s) {
				return d.ArgErr()
			}
			dur, err := caddy.ParseDuration(s)
			if err != nil || dur < 0 {
				return d.Errf("bad clock_skew value '%s': want a non-negative duration such as 5s", s)
			}
			skew := caddy.Duration(dur)
			c.ClockSkew = &skew
		case "handshake", "identity_headers":
			if err := c.unmarshalSwitch(d, sub); err != nil {
				return err
			}
		case "require":
			cond, err := parseCondition(d.RemainingArgs(), false)
			if err != nil {
				return d.Errf("require: %v", err)
			}
			c.Require = append(c.Require, cond)
		case "accept", "user_fields", "user_fields_required", "session_liveness", "user_cache_ttl":
			if err := c.unmarshalBackend(d, sub); err != nil { // backend.go
				return err
			}
		default:
			return d.Errf("unrecognized clerk_auth subdirective '%s'", sub)
		}
	}
	if len(c.PublicRoutes) > 0 && len(c.ProtectedRoutes) > 0 {
		return d.Err("public_routes and protected_routes cannot be used together")
	}
	if c.PublishableKey == "" && c.SecretKey == "" && c.JWTKey == "" && c.JWKSURL == "" && c.FrontendAPI == "" {
		return d.Err("no key source: set publishable_key, secret_key, jwt_key or jwks_url")
	}
	return nil
}

// unmarshalScalar reads a single-valued subdirective, checking what can be
// checked before placeholders are resolved.
func (c *ClerkAuth) unmarshalScalar(d *caddyfile.Dispenser, sub string) error {
	dst := map[string]*string{
		"publishable_key": &c.PublishableKey, "secret_key": &c.SecretKey, "jwt_key": &c.JWTKey,
		"frontend_api": &c.FrontendAPI, "api_url": &c.APIURL, "jwks_url": &c.JWKSURL,
		"issuer": &c.Issuer, "sign_in_url": &c.SignInURL, "unauthorized_url": &c.UnauthorizedURL,
	}[sub]
	if *dst != "" {
		return d.Errf("%s already specified", sub)
	}
	var v string
	if !d.AllArgs(&v) {
		return d.ArgErr()
	}
	if v == "" {
		return d.Errf("%s: empty value", sub)
	}
	if !strings.Contains(v, "{") {
		var err error
		switch sub {
		case "publishable_key":
			_, err = parsePublishableKey(v)
		case "secret_key":
			if !validSecretKey(v) {
				return d.Errf("secret_key: must start with sk_test_ or sk_live_")
			}
		case "frontend_api", "api_url", "jwks_url":
			err = checkBaseURL(sub, v)
		}
		if err != nil {
			return d.Errf("%s: %v", sub, err)
		}
	}
	*dst = v
	return nil
}

// unmarshalRoutes reads a route pattern list and compiles it right away, so
// that a bad pattern is reported with its Caddyfile line.
func (c *ClerkAuth) unmarshalRoutes(d *caddyfile.Dispenser, sub string) error {
	dst := map[string]*[]string{
		"public_routes": &c.PublicRoutes, "protected_routes": &c.ProtectedRoutes, "api_routes": &c.APIRoutes,
	}[sub]
	start := len(*dst)
	if err := appendArgs(d, dst); err != nil {
		return err
	}
	for _, p := range (*dst)[start:] {
		if strings.Contains(p, "{env.") || strings.Contains(p, "{file.") {
			continue // resolved when the config loads
		}
		if _, err := compileRoutePatterns([]string{p}); err != nil {
			return d.Errf("%s: %v", sub, err)
		}
	}
	return nil
}

// unmarshalSwitch reads an on|off subdirective.
func (c *ClerkAuth) unmarshalSwitch(d *caddyfile.Dispenser, sub string) error {
	dst := &c.Handshake
	if sub == "identity_headers" {
		dst = &c.IdentityHeaders
	}
	if *dst != nil {
		return d.Errf("%s already specified", sub)
	}
	var v string
	if !d.AllArgs(&v) {
		return d.ArgErr()
	}
	var on bool
	switch v {
	case "on":
		on = true
	case "off":
	default:
		return d.Errf("%s: want on or off, got '%s'", sub, v)
	}
	*dst = &on
	return nil
}

// appendArgs appends the remaining arguments of the line, requiring one.
func appendArgs(d *caddyfile.Dispenser, dst *[]string) error {
	args := d.RemainingArgs()
	if len(args) == 0 {
		return d.ArgErr()
	}
	*dst = append(*dst, args...)
	return nil
}

// Interface guards
var _ caddyfile.Unmarshaler = (*ClerkAuth)(nil)
