package caddyclerk

import (
	"fmt"
	"net/http"
	"reflect"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

func init() {
	caddy.RegisterModule(MatchClerk{})
}

// MatchClerk matches requests by the Clerk identity that clerk_auth
// established earlier in the same request, with Clerk's has() semantics. It
// verifies nothing itself: before clerk_auth has run, and for a request that
// is not signed in, it matches nothing. All conditions must hold (AND).
//
// JSON: `"clerk": [{"role": "org:admin"}, {"feature": "premium"}]`.
type MatchClerk []ClerkCondition

// CaddyModule returns the Caddy module information.
func (MatchClerk) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.matchers.clerk",
		New: func() caddy.Module { return new(MatchClerk) },
	}
}

// UnmarshalCaddyfile implements caddyfile.Unmarshaler. Syntax:
//
//	clerk role <role>
//	clerk permission <permission>
//	clerk feature <feature>
//	clerk plan <plan>
//	clerk reverification <strict_mfa|strict|moderate|lax>
//	clerk signed_in
//	clerk org <slug or id>
//	clerk token_type <session_token|api_key|m2m_token|oauth_token>
//	clerk scope <scope>                # a scope of the machine token
//
// Several clerk lines in one named matcher must all hold.
func (m *MatchClerk) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	// iterate to merge several clerk lines of one named matcher
	for d.Next() {
		c, err := parseCondition(d.RemainingArgs(), true)
		if err != nil {
			return d.Errf("clerk matcher: %v", err)
		}
		*m = append(*m, c)
		if d.NextBlock(0) {
			return d.Err("malformed clerk matcher: blocks are not supported")
		}
	}
	return nil
}

// Provision checks every condition (a JSON config skips the Caddyfile checks).
func (m MatchClerk) Provision(caddy.Context) error {
	if len(m) == 0 {
		return fmt.Errorf("clerk matcher: no condition")
	}
	for _, c := range m {
		if err := c.validate(true); err != nil {
			return fmt.Errorf("clerk matcher: %v", err)
		}
	}
	return nil
}

// Match returns true if the request matches.
func (m MatchClerk) Match(r *http.Request) bool {
	match, _ := m.MatchWithError(r)
	return match
}

// MatchWithError returns true if every condition holds for the identity
// clerk_auth set on this request.
func (m MatchClerk) MatchWithError(r *http.Request) (bool, error) {
	id, _ := caddyhttp.GetVar(r.Context(), identityVar).(*requestIdentity)
	for _, c := range m {
		if !c.holds(id) {
			return false, nil
		}
	}
	return len(m) > 0, nil
}

// CELLibrary exposes the matcher to CEL expression matchers:
//
//	expression clerk('role', 'org:admin') && path('/admin*')
//	expression clerk('signed_in')
func (MatchClerk) CELLibrary(ctx caddy.Context) (cel.Library, error) {
	build := func(args []string) (caddyhttp.RequestMatcherWithError, error) {
		c, err := parseCondition(args, true)
		if err != nil {
			return nil, fmt.Errorf("clerk(): %v", err)
		}
		m := MatchClerk{c}
		return m, m.Provision(ctx)
	}
	one, err := caddyhttp.CELMatcherImpl("clerk", "clerk_request_string", []*cel.Type{cel.StringType},
		func(data ref.Val) (caddyhttp.RequestMatcherWithError, error) {
			s, ok := data.(types.String)
			if !ok {
				return nil, fmt.Errorf("clerk(): want a string, got %v", data.Type())
			}
			return build([]string{string(s)})
		})
	if err != nil {
		return nil, err
	}
	two, err := caddyhttp.CELMatcherImpl("clerk", "clerk_request_string_string", []*cel.Type{cel.StringType, cel.StringType},
		func(data ref.Val) (caddyhttp.RequestMatcherWithError, error) {
			native, err := data.ConvertToNative(reflect.TypeFor[[]string]())
			if err != nil {
				return nil, err
			}
			return build(native.([]string))
		})
	if err != nil {
		return nil, err
	}
	return caddyhttp.NewMatcherCELLibrary(
		append(one.CompileOptions(), two.CompileOptions()...),
		append(one.ProgramOptions(), two.ProgramOptions()...),
	), nil
}

// Interface guards
var (
	_ caddy.Provisioner                 = (*MatchClerk)(nil)
	_ caddyhttp.RequestMatcherWithError = (*MatchClerk)(nil)
	_ caddyfile.Unmarshaler             = (*MatchClerk)(nil)
	_ caddyhttp.CELLibraryProducer      = (*MatchClerk)(nil)
)
