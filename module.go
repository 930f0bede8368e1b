package caddyclerk

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

func init() {
	caddy.RegisterModule(ClerkAuth{})
}

// Defaults for a Clerk instance.
const (
	defaultAPIURL = "https://api.clerk.com"
	issuerOff     = "off"
)

// ClerkAuth verifies Clerk session tokens in the handler chain, protects
// routes the way Clerk's clerkMiddleware and auth.protect() do, and hands the
// verified identity to later handlers as {clerk.*} placeholders and
// X-Clerk-* request headers.
type ClerkAuth struct {
	// PublishableKey (pk_test_... or pk_live_...) names the Clerk instance:
	// its Frontend API host, the default issuer, the accounts portal and the
	// cookie suffix.
	PublishableKey string `json:"publishable_key,omitempty"`
	// SecretKey (sk_test_... or sk_live_...) authenticates calls to the
	// Backend API, such as fetching the JWKS.
	SecretKey string `json:"secret_key,omitempty"`
	// JWTKey is the instance's PEM public key, inline or as a file path, for
	// networkless verification. Any RSA size. It wins over every JWKS.
	JWTKey string `json:"jwt_key,omitempty"`
	// FrontendAPI overrides the Frontend API base URL.
	// Default: https://<host from publishable_key>.
	FrontendAPI string `json:"frontend_api,omitempty"`
	// APIURL overrides the Backend API base URL. Default: https://api.clerk.com.
	APIURL string `json:"api_url,omitempty"`
	// JWKSURL overrides where keys come from. Default: <api_url>/v1/jwks
	// with secret_key, else <frontend_api>/.well-known/jwks.json.
	JWKSURL string `json:"jwks_url,omitempty"`
	// Issuer is the exact `iss` every token must carry, or "off".
	// Default: https://<host from publishable_key>.
	Issuer string `json:"issuer,omitempty"`
	// AuthorizedParties is the exact `azp` allow-list; when set, a token
	// without `azp` is rejected.
	AuthorizedParties []string `json:"authorized_parties,omitempty"`
	// ClockSkew is the leeway for exp, nbf and iat. Default: 5s.
	ClockSkew *caddy.Duration `json:"clock_skew,omitempty"`

	// PublicRoutes are Clerk route patterns that need no sign-in; every other
	// request is protected.
	PublicRoutes []string `json:"public_routes,omitempty"`
	// ProtectedRoutes are the only route patterns that need a sign-in. Not
	// together with PublicRoutes.
	ProtectedRoutes []string `json:"protected_routes,omitempty"`
	// APIRoutes are never redirected: unauthenticated requests get 401.
	APIRoutes []string `json:"api_routes,omitempty"`

	// Require lists conditions every signed-in request on a protected route
	// must meet (AND), answered by Clerk's has(); failing gets 403.
	Require []ClerkCondition `json:"require,omitempty"`
	// UnauthorizedURL is where page requests that fail a Require condition
	// are redirected instead of getting 403.
	UnauthorizedURL string `json:"unauthorized_url,omitempty"`

	// SignInURL is where signed-out page requests are redirected.
	// Default: https://<accounts portal host>/sign-in.
	SignInURL string `json:"sign_in_url,omitempty"`
	// Handshake refreshes browser sessions through the Frontend API, as
	// Clerk's SDK does: page requests whose session token is missing,
	// expired or stale are redirected to the Frontend API's handshake, and
	// inbound handshakes are applied (their parameters never reach the
	// upstream). It needs publishable_key. Off, such requests are signed out
	// with Clerk's reason and handshake parameters pass through untouched,
	// for an upstream that runs its own Clerk SDK. Default: true.
	Handshake *bool `json:"handshake,omitempty"`
	// IdentityHeaders sets X-Clerk-* request headers for signed-in requests.
	// Default: true.
	IdentityHeaders *bool `json:"identity_headers,omitempty"`

	// Accept lists the token types accepted in the Authorization header:
	// session_token, api_key, m2m_token, oauth_token. Default: session_token.
	Accept []string `json:"accept,omitempty"`
	// UserFields are Backend API user fields exposed as {clerk.user.<field>}
	// and X-Clerk-User-<Field>: email, phone_number, username, first_name,
	// last_name, image_url, external_id, public_metadata.<key>,
	// private_metadata.<key>, unsafe_metadata.<key>.
	UserFields []string `json:"user_fields,omitempty"`
	// UserFieldsRequired answers 503 when the user cannot be fetched,
	// instead of passing the request on without enrichment.
	UserFieldsRequired bool `json:"user_fields_required,omitempty"`
	// UserCacheTTL is how long fetched users are reused. Default: 5m.
	UserCacheTTL *caddy.Duration `json:"user_cache_ttl,omitempty"`
	// SessionLiveness checks through the Backend API that the session is
	// still active, reusing an answer for this long. 0 (the default): off.
	SessionLiveness caddy.Duration `json:"session_liveness,omitempty"`

	backend         backendFeatures // backend.go
	auth            authenticator
	routes          routeRules
	signIn          *url.URL // nil: no sign-in redirect, signed-out pages get 401
	unauthorized    *url.URL // nil: failed requirements get 403
	identityHeaders bool
	poolKey         string
	logger          *zap.Logger
}

// CaddyModule returns the Caddy module information.
func (ClerkAuth) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.clerk_auth",
		New: func() caddy.Module { return new(ClerkAuth) },
	}
}

// Provision expands placeholders, applies defaults, compiles route patterns
// and joins the shared key cache of this Clerk instance. It does no network
// I/O: keys are fetched in the background.
func (c *ClerkAuth) Provision(ctx caddy.Context) error {
	c.logger = ctx.Logger()
	repl := caddy.NewReplacer()
	for _, f := range []*string{&c.PublishableKey, &c.SecretKey, &c.JWTKey, &c.FrontendAPI,
		&c.APIURL, &c.JWKSURL, &c.Issuer, &c.SignInURL, &c.UnauthorizedURL} {
		*f = strings.TrimSpace(repl.ReplaceAll(*f, ""))
	}
	for i, p := range c.AuthorizedParties {
		c.AuthorizedParties[i] = repl.ReplaceAll(p, "")
	}
	for _, list := range [][]string{c.PublicRoutes, c.ProtectedRoutes, c.APIRoutes} {
		for i, p := range list {
			list[i] = repl.ReplaceKnown(p, "") // brace groups in patterns stay literal
		}
	}

	var inst *instance
	if c.PublishableKey != "" {
		var err error
		if inst, err = parsePublishableKey(c.PublishableKey); err != nil {
			return fmt.Errorf("publishable_key: %v", err)
		}
	}
	if c.SecretKey != "" && !validSecretKey(c.SecretKey) {
		return fmt.Errorf("secret_key: must start with sk_test_ or sk_live_")
	}

	v := &verifier{authorizedParties: c.AuthorizedParties, skewMillis: defaultClockSkew.Milliseconds(), now: time.Now,
		cache: newTokenCache(defaultTokenCacheSize)}
	if c.ClockSkew != nil {
		if *c.ClockSkew < 0 {
			return fmt.Errorf("clock_skew: must not be negative")
		}
		v.skewMillis = time.Duration(*c.ClockSkew).Milliseconds()
	}
	issuer, err := c.issuer(inst)
	if err != nil {
		return err
	}
	v.issuer = issuer
	if v.keys, err = c.keySource(inst); err != nil {
		return err
	}
	c.auth = authenticator{verifier: v, inst: inst}
	if err := c.provisionBrowserSessions(inst); err != nil {
		return err
	}
	if err := c.provisionBackend(ctx, inst, v); err != nil {
		return err
	}

	if c.routes, err = compileRouteRules(c.PublicRoutes, c.ProtectedRoutes, c.APIRoutes); err != nil {
		return err
	}
	if c.signIn, err = c.signInURL(inst); err != nil {
		return err
	}
	for i, cond := range c.Require {
		if err := cond.validate(false); err != nil {
			return fmt.Errorf("require #%d: %v", i+1, err)
		}
	}
	if c.UnauthorizedURL != "" {
		if c.unauthorized, err = parseRedirectURL("unauthorized_url", c.UnauthorizedURL); err != nil {
			return err
		}
	}
	c.identityHeaders = c.IdentityHeaders == nil || *c.IdentityHeaders
	if err := registerMetrics(ctx.GetMetricsRegistry()); err != nil { // metrics.go
		return err
	}
	liveTokenCaches.Store(v.cache, struct{}{})
	return nil
}

// issuer returns the exact `iss` to require, "" when the check is off.
func (c *ClerkAuth) issuer(inst *instance) (string, error) {
	switch {
	case c.Issuer == issuerOff:
		return "", nil
	case c.Issuer != "":
		if _, err := url.Parse(c.Issuer); err != nil {
			return "", fmt.Errorf("issuer: %v", err)
		}
		return c.Issuer, nil
	case inst != nil:
		return "https://" + inst.frontendHost, nil
	}
	return "", fmt.Errorf("issuer: required without publishable_key (or 'issuer off' to skip the check)")
}

// keySource picks, as Clerk does, jwt_key over any JWKS; then the JWKS URL:
// jwks_url, else the Backend API's with secret_key, else the Frontend API's.
func (c *ClerkAuth) keySource(inst *instance) (keySource, error) {
	if c.JWTKey != "" {
		k, err := loadPEMKey(c.JWTKey)
		if err != nil {
			return nil, fmt.Errorf("jwt_key: %v", err)
		}
		return k, nil
	}
	apiURL := strings.TrimRight(c.APIURL, "/")
	if apiURL == "" {
		apiURL = defaultAPIURL
	}
	if err := checkBaseURL("api_url", apiURL); err != nil {
		return nil, err
	}
	fapi := strings.TrimRight(c.FrontendAPI, "/")
	if fapi == "" && inst != nil {
		fapi = "https://" + inst.frontendHost
	}
	if fapi != "" {
		if err := checkBaseURL("frontend_api", fapi); err != nil {
			return nil, err
		}
	}
	jwksURL := c.JWKSURL
	switch {
	case jwksURL != "":
		if err := checkBaseURL("jwks_url", jwksURL); err != nil {
			return nil, err
		}
	case c.SecretKey != "":
		jwksURL = apiURL + "/v1/jwks"
	case fapi != "":
		jwksURL = fapi + "/.well-known/jwks.json"
	default:
		return nil, fmt.Errorf("no key source: set publishable_key, secret_key, jwt_key or jwks_url")
	}
	// The secret key goes only to the Backend API, never to another host.
	auth := ""
	if c.SecretKey != "" && sameOrigin(jwksURL, apiURL) {
		auth = "Bearer " + c.SecretKey
	}
	keys, poolKey, err := acquireRemoteKeys(jwksURL, auth)
	if err != nil {
		return nil, fmt.Errorf("setting up the JWKS cache: %v", err)
	}
	c.poolKey = poolKey
	return keys, nil
}

// signInURL returns where signed-out page requests go, or nil when there is
// nowhere to send them (no sign_in_url and no publishable key).
func (c *ClerkAuth) signInURL(inst *instance) (*url.URL, error) {
	raw := c.SignInURL
	if raw == "" {
		if inst == nil {
			return nil, nil
		}
		raw = "https://" + accountsHost(inst.frontendHost) + "/sign-in"
	}
	return parseRedirectURL("sign_in_url", raw)
}

// parseRedirectURL parses an absolute http(s) or a relative redirect target.
func parseRedirectURL(name, raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	if u.Scheme != "" && u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("%s: scheme must be http or https", name)
	}
	return u, nil
}

// Validate checks that the configuration is coherent; it changes nothing.
func (c *ClerkAuth) Validate() error {
	if len(c.PublicRoutes) > 0 && len(c.ProtectedRoutes) > 0 {
		return errors.New("public_routes and protected_routes cannot be used together")
	}
	return nil
}

// Cleanup releases this config's hold on the shared key cache.
func (c *ClerkAuth) Cleanup() error {
	c.cleanupBackend()
	if c.auth.verifier != nil && c.auth.verifier.cache != nil {
		liveTokenCaches.Delete(c.auth.verifier.cache)
	}
	if c.auth.api != nil {
		c.auth.api.close()
	}
	if c.poolKey == "" {
		return nil
	}
	_, err := jwksSources.Delete(c.poolKey)
	c.poolKey = ""
	return err
}

// ServeHTTP strips forged identity headers, authenticates the request,
// exposes the identity and lets it pass, or answers with a redirect or an
// error for protected routes.
func (c *ClerkAuth) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	stripClerkHeaders(r.Header)
	repl := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	id := identityFor(r, repl)

	route, err := c.routes.classify(r.URL)
	if err != nil {
		id.authResult = signedOut("", false)
		countDecision(outcomeBadRequest, "")
		return caddyhttp.Error(http.StatusBadRequest, err)
	}
	if isPreflight(r) {
		id.authResult = signedOut("", false)
		c.stripHandshake(r)
		countDecision(outcomePreflight, "")
		return next.ServeHTTP(w, r)
	}

	id.authResult = c.auth.authenticate(r)
	defer logIdentity(r, &id.authResult)
	if c.answerBrowser(w, r, route, &id.authResult) { // handshake cookies and redirects (handshake.go)
		countDecision(outcomeHandshake, id.reason)
		return nil
	}
	if err := c.checkSession(w, r, id, route); err != nil { // revocation, liveness (liveness.go)
		countDecision(outcomeUnavailable, id.reason)
		return err
	}
	if ce := c.logger.Check(zap.DebugLevel, "authenticated request"); ce != nil {
		ce.Write(zap.String("status", id.status), zap.String("reason", id.reason), zap.Bool("protected", route.protected))
	}

	if route.protected && !id.signedIn() {
		countDecision(outcomeUnauthenticated, id.reason)
		return c.rejectSignedOut(w, r, route, &id.authResult)
	}
	if route.protected {
		for _, cond := range c.Require {
			if !cond.holds(id) {
				id.reason = "require " + cond.String()
				countDecision(outcomeForbidden, id.reason)
				return c.rejectUnauthorized(w, r, route, id.reason)
			}
		}
	}
	if err := c.enrich(w, r, id); err != nil { // user_fields (enrich.go)
		countDecision(outcomeUnavailable, id.reason)
		return err
	}
	if id.signedIn() {
		countDecision(outcomeSignedIn, id.reason)
	} else {
		countDecision(outcomeSignedOut, id.reason)
	}
	if c.identityHeaders {
		if s := id.active(); s != nil {
			setIdentityHeaders(r.Header, s)
		}
		c.setBackendHeaders(r.Header, id)
	}
	return next.ServeHTTP(w, r)
}

// Interface guards
var (
	_ caddy.Provisioner           = (*ClerkAuth)(nil)
	_ caddy.Validator             = (*ClerkAuth)(nil)
	_ caddy.CleanerUpper          = (*ClerkAuth)(nil)
	_ caddyhttp.MiddlewareHandler = (*ClerkAuth)(nil)
)
