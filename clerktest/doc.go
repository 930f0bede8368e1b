// Package clerktest runs a local, self-contained Clerk instance for tests and
// demos.
//
// An [Instance] owns RSA signing keys, a publishable key and a secret key,
// and serves two real HTTP servers on loopback:
//
//   - the Frontend API (FAPI), which publishes the JWKS at
//     GET /.well-known/jwks.json without authentication;
//   - the Backend API (BAPI), which serves the same JWKS at GET /v1/jwks
//     only to callers that send "Authorization: Bearer <secret key>", and
//     answers anyone else with Clerk's 401 "clerk_key_invalid" error.
//
// For browser sessions the Frontend API also serves Clerk's handshake
// (GET /v1/client/handshake), dev browsers, and an account portal with
// sign-in and sign-out pages (see SignInURL and Options.SignInUsers); the
// Backend API redeems handshake nonces and refreshes sessions. Clients
// (browsers) can be driven directly with NewClient and Client.SignIn.
//
// The instance mints session tokens shaped like Clerk's (v2 claims by
// default, v1 on request), signs arbitrary and even malformed tokens for
// negative tests (alg "none", HS256 keyed with the public key, foreign
// keys), rotates and withdraws keys, and can make its JWKS endpoints fail in
// the ways a verifier must survive (see [JWKSMode]). It never talks to the
// network beyond the listeners it opens, which default to 127.0.0.1.
//
// The Backend API also serves users (GET /v1/users/{id}), sessions
// (GET /v1/sessions/{id}, POST /v1/sessions/{id}/revoke; every session of a
// minted token is known) and machine-token verification (POST
// /api_keys/verify, /m2m_tokens/verify,
// /oauth_applications/access_tokens/verify), with failure modes of their own
// (see [APIMode]) and call counters. [SignWebhook] signs webhooks exactly as
// Svix does, and after [Instance.AddWebhookEndpoint] the instance delivers
// session.revoked, session.ended, user.updated and user.deleted events as
// Clerk does.
//
// Typical use in a test:
//
//	func TestProtected(t *testing.T) {
//		clerk := clerktest.Start(t, clerktest.Options{})
//
//		// Configure the code under test with clerk.PublishableKey(),
//		// clerk.SecretKey() and clerk.BackendAPIURL() (or
//		// clerk.PublicKeyPEM() for networkless verification).
//
//		token := clerk.Mint(clerktest.Session{
//			UserID: "user_123",
//			Org: &clerktest.Org{
//				ID:          "org_1",
//				Slug:        "acme",
//				Role:        "admin",
//				Permissions: []string{"org:invoices:read"},
//			},
//		})
//		req := httptest.NewRequest("GET", "/dashboard", nil)
//		req.Header.Set("Authorization", "Bearer "+token)
//		// ... or, browser style:
//		for _, c := range clerk.SessionCookies(token) {
//			req.AddCookie(c)
//		}
//
//		clerk.SetJWKSMode(clerktest.JWKSFail) // the JWKS now answers 500
//		if n := clerk.JWKSFetches(); n > 1 {
//			t.Errorf("JWKS fetched %d times", n)
//		}
//	}
package clerktest
