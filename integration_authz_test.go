package caddyclerk

import (
	"fmt"
	"testing"

	"github.com/caddy-clerk/caddy-clerk/clerktest"
)

// Tokens for the authorization tests: the sample session of
// clerk-semantics.md section d, a member, and users without an org.
func authzTokens() (admin, member, premium, stale, pending string) {
	fva := [2]int{5, -1}
	admin = itClerk.Mint(clerktest.Session{
		UserID: "user_admin",
		Org: &clerktest.Org{ID: "org_acme", Slug: "acme", Role: "admin",
			Permissions: []string{"org:invoices:read", "org:invoices:manage", "org:reports:read"}},
		UserFeatures: []string{"premium"}, Plans: "u:pro,o:team", FVA: &fva,
	})
	member = itClerk.Mint(clerktest.Session{UserID: "user_member",
		Org: &clerktest.Org{ID: "org_acme", Slug: "acme", Role: "member", Permissions: []string{"org:invoices:read"}}})
	premium = itClerk.Mint(clerktest.Session{UserID: "user_premium", UserFeatures: []string{"premium"}, Plans: "u:pro"})
	staleFVA := [2]int{30, 45}
	stale = itClerk.Mint(clerktest.Session{UserID: "user_stale", FVA: &staleFVA})
	pending = itClerk.Mint(clerktest.Session{UserID: "user_pending", Status: "pending",
		Org: &clerktest.Org{ID: "org_acme", Slug: "acme", Role: "admin"}})
	return
}

func TestIntegrationRequire(t *testing.T) {
	admin, member, premium, stale, pending := authzTokens()
	loadConfig(t, fmt.Sprintf(`http://localhost:9080 {
	route /admin/* {
		clerk_auth {
			%[1]s
			api_routes /admin/api/(.*)
			require role admin
			require permission org:invoices:manage
			unauthorized_url /denied
		}
		respond "admin area for {clerk.user_id}"
	}
	route /premium/* {
		clerk_auth {
			%[1]s
			require feature premium
			require plan pro
		}
		respond "premium for {clerk.user_id}"
	}
	route /sensitive/* {
		clerk_auth {
			%[1]s
			require reverification strict
		}
		respond "fresh"
	}
	route /open/* {
		clerk_auth {
			%[1]s
			public_routes /open/(.*)
			require role admin
		}
		respond "open {clerk.user_id}"
	}
	handle_errors 403 {
		respond "forbidden: {clerk.auth_reason}"
	}
}`, clerkKeys(itClerk)))

	api := map[string]string{"Accept": "application/json"}
	with := func(tok string, h map[string]string) map[string]string {
		out := map[string]string{"Authorization": "Bearer " + tok}
		for k, v := range h {
			out[k] = v
		}
		return out
	}
	page := map[string]string{"Sec-Fetch-Dest": "document", "Accept": "text/html"}
	runExchanges(t, []exchange{
		{name: "admin passes every require line", path: "/admin/x", header: with(admin, api), wantStatus: 200, wantBody: []string{"admin area for user_admin"}},
		{name: "member fails the role: 403 via handle_errors", path: "/admin/x", header: with(member, api), wantStatus: 403,
			wantBody:   []string{"forbidden: require role admin"},
			wantHeader: map[string]string{"X-Clerk-Auth-Status": "signed-in", "X-Clerk-Auth-Reason": "require role admin"}},
		{name: "member page request goes to unauthorized_url", path: "/admin/x", header: with(member, page), wantStatus: 307,
			wantHeader: map[string]string{"Location": siteURL + "/denied"}},
		{name: "API route answers 403 even to a page", path: "/admin/api/x", header: with(member, page), wantStatus: 403},
		{name: "signed out still gets 401, not 403", path: "/admin/x", header: api, wantStatus: 401,
			wantHeader: map[string]string{"X-Clerk-Auth-Status": "signed-out"}},
		{name: "pending admin is signed out", path: "/admin/x", header: with(pending, api), wantStatus: 401,
			wantHeader: map[string]string{"X-Clerk-Auth-Reason": "session-pending"}},
		{name: "feature and plan", path: "/premium/x", header: with(premium, api), wantStatus: 200, wantBody: []string{"premium for user_premium"}},
		{name: "no feature", path: "/premium/x", header: with(member, api), wantStatus: 403, wantBody: []string{"forbidden: require feature premium"}},
		{name: "fresh first factor passes strict", path: "/sensitive/x", header: with(admin, api), wantStatus: 200},
		{name: "stale factors fail strict", path: "/sensitive/x", header: with(stale, api), wantStatus: 403,
			wantBody: []string{"forbidden: require reverification strict"}},
		{name: "no fva fails strict", path: "/sensitive/x", header: with(premium, api), wantStatus: 403},
		{name: "require is not enforced on public routes", path: "/open/x", header: with(member, api), wantStatus: 200, wantBody: []string{"open user_member"}},
	})
}

func TestIntegrationClerkMatcher(t *testing.T) {
	admin, member, premium, _, pending := authzTokens()
	loadConfig(t, fmt.Sprintf(`http://localhost:9080 {
	clerk_auth {
		%s
		public_routes /(.*)
	}
	@admins clerk role org:admin
	@billing {
		clerk permission org:invoices:manage
		clerk org acme
	}
	@premium clerk feature premium
	@signedin clerk signed_in
	@sessions clerk token_type session_token
	@adminpath expression clerk('role', 'org:admin') && path('/cel/*')
	@celsignedin expression clerk('signed_in')

	handle /billing {
		respond @billing "billing ok"
		respond "no billing" 403
	}
	route /proxy/* {
		reverse_proxy @admins %s
		respond "not proxied"
	}
	respond @adminpath "cel admin"
	respond @admins "admin"
	respond @premium "premium"
	respond @celsignedin "cel signed in"
	respond @sessions "session token"
	respond "anyone"
}`, clerkKeys(itClerk), itUpstream.Listener.Addr().String()))

	runExchanges(t, []exchange{
		{name: "role matcher", path: "/", header: bearer(admin), wantStatus: 200, wantBody: []string{"admin"}},
		{name: "feature matcher", path: "/", header: bearer(premium), wantStatus: 200, wantBody: []string{"premium"}},
		{name: "signed in, nothing else", path: "/", header: bearer(member), wantStatus: 200, wantBody: []string{"cel signed in"}},
		{name: "signed out matches nothing", path: "/", wantStatus: 200, wantBody: []string{"anyone"}},
		{name: "pending matches nothing", path: "/", header: bearer(pending), wantStatus: 200, wantBody: []string{"anyone"}},
		{name: "two lines are ANDed: both hold", path: "/billing", header: bearer(admin), wantStatus: 200, wantBody: []string{"billing ok"}},
		{name: "two lines are ANDed: permission missing", path: "/billing", header: bearer(member), wantStatus: 403, wantBody: []string{"no billing"}},
		{name: "matcher on reverse_proxy", path: "/proxy/a", header: bearer(admin), wantStatus: 200,
			wantBody: []string{"upstream /proxy/a", "X-Clerk-User-Id: user_admin"}},
		{name: "matcher on reverse_proxy, not admin", path: "/proxy/a", header: bearer(member), wantStatus: 200, wantBody: []string{"not proxied"}},
		{name: "CEL combines with path", path: "/cel/x", header: bearer(admin), wantStatus: 200, wantBody: []string{"cel admin"}},
	})
}

func TestIntegrationClerkMatcherWithoutHandler(t *testing.T) {
	admin, _, _, _, _ := authzTokens()
	loadConfig(t, `http://localhost:9080 {
	@admins clerk role org:admin
	respond @admins "admin"
	respond "nobody is verified here"
}`)
	runExchanges(t, []exchange{{
		name: "no clerk_auth: a token is never trusted", path: "/", header: bearer(admin), wantStatus: 200,
		wantBody: []string{"nobody is verified here"},
	}})
}

func TestIntegrationAuthzConfigErrors(t *testing.T) {
	for name, tc := range map[string]struct{ site, want string }{
		"unknown matcher dimension": {"@x clerk colour blue\n\trespond @x \"x\"", "unknown dimension 'colour'"},
		"matcher without value":     {"@x clerk role\n\trespond @x \"x\"", "want 'role"},
		"bad token type":            {"@x clerk token_type jwt\n\trespond @x \"x\"", "unknown token_type 'jwt'"},
		"bad CEL preset":            {"@x expression clerk('reverification', 'often')\n\trespond @x \"x\"", "unknown reverification preset 'often'"},
		"require bad preset":        {"clerk_auth {\n\t\tpublishable_key " + testPK + "\n\t\trequire reverification often\n\t}", "unknown reverification preset 'often'"},
	} {
		t.Run(name, func(t *testing.T) {
			assertLoadError(t, "http://localhost:9080 {\n\t"+tc.site+"\n}", tc.want)
		})
	}
}
