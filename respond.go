package caddyclerk

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// routeRules decides, from the cleaned request path, whether a request must
// be signed in and whether it is an API request (never redirected).
type routeRules struct {
	public, protected, api routePatterns
	publicMode             bool // public_routes given: everything else is protected
	protectedMode          bool // protected_routes given: only those are protected
}

// routeClass is what the rules say about one request.
type routeClass struct {
	protected bool
	api       bool
}

// compileRouteRules compiles the three pattern lists; errors name the list.
func compileRouteRules(public, protected, api []string) (routeRules, error) {
	var rr routeRules
	var err error
	if rr.public, err = compileRoutePatterns(public); err != nil {
		return rr, fmt.Errorf("public_routes: %v", err)
	}
	if rr.protected, err = compileRoutePatterns(protected); err != nil {
		return rr, fmt.Errorf("protected_routes: %v", err)
	}
	if rr.api, err = compileRoutePatterns(api); err != nil {
		return rr, fmt.Errorf("api_routes: %v", err)
	}
	rr.publicMode, rr.protectedMode = len(public) > 0, len(protected) > 0
	return rr, nil
}

// errMalformedPath is answered with 400.
var errMalformedPath = errors.New("malformed request path")

// classify cleans the path and applies the rules. A suspicious path (control
// characters, `;`, backslash, encoded slash) is never public and always
// protected in protected_routes mode.
func (rr *routeRules) classify(u *url.URL) (routeClass, error) {
	path, suspicious, err := cleanRoutePath(u)
	if err != nil {
		return routeClass{}, fmt.Errorf("%w: %v", errMalformedPath, err)
	}
	rc := routeClass{protected: true, api: rr.api.match(path)}
	switch {
	case rr.publicMode:
		rc.protected = suspicious || !rr.public.match(path)
	case rr.protectedMode:
		rc.protected = suspicious || rr.protected.match(path)
	}
	return rc, nil
}

// isPreflight recognises a CORS preflight, which browsers send without
// credentials and which must pass.
func isPreflight(r *http.Request) bool {
	return r.Method == http.MethodOptions && r.Header.Get("Origin") != "" &&
		r.Header.Get("Access-Control-Request-Method") != ""
}

// isPageRequest is a browser navigation: GET or HEAD with Sec-Fetch-Dest
// document or iframe, or without Sec-Fetch-Dest an Accept that includes
// text/html.
func isPageRequest(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	if dest := r.Header.Get("Sec-Fetch-Dest"); dest != "" {
		return dest == "document" || dest == "iframe"
	}
	for _, accept := range r.Header.Values("Accept") {
		if strings.Contains(accept, "text/html") {
			return true
		}
	}
	return false
}

// requestURL is the absolute URL of the request as the client sent it. The
// scheme and host come from X-Forwarded-Proto and X-Forwarded-Host only when
// the request comes through one of the server's trusted_proxies.
func requestURL(r *http.Request) *url.URL {
	orig := r
	if or, ok := r.Context().Value(caddyhttp.OriginalRequestCtxKey).(http.Request); ok {
		orig = &or
	}
	u := &url.URL{Scheme: "http", Host: r.Host, Path: orig.URL.Path, RawPath: orig.URL.RawPath, RawQuery: orig.URL.RawQuery}
	if r.TLS != nil {
		u.Scheme = "https"
	}
	if trusted, _ := caddyhttp.GetVar(r.Context(), caddyhttp.TrustedProxyVarKey).(bool); trusted {
		if p := firstValue(r.Header.Get("X-Forwarded-Proto")); p == "http" || p == "https" {
			u.Scheme = p
		}
		if h := firstValue(r.Header.Get("X-Forwarded-Host")); h != "" && validHost(h) {
			u.Host = h
		}
	}
	return u
}

// firstValue is the first comma-separated element of a header, trimmed.
func firstValue(v string) string {
	first, _, _ := strings.Cut(v, ",")
	return strings.TrimSpace(first)
}

// validHost accepts a host[:port] that parses as exactly that and nothing more.
func validHost(h string) bool {
	u, err := url.Parse("http://" + h)
	return err == nil && u.Host == h && u.User == nil && u.Path == "" && u.RawQuery == "" && u.Fragment == ""
}

// rejectSignedOut answers a signed-out request on a protected route: a
// sign-in redirect for pages, 401 for everything else.
func (c *ClerkAuth) rejectSignedOut(w http.ResponseWriter, r *http.Request, rc routeClass, a *authResult) error {
	h := w.Header()
	h.Set("X-Clerk-Auth-Status", statusSignedOut)
	h.Set("X-Clerk-Auth-Reason", a.reason)
	if c.signIn != nil && !rc.api && isPageRequest(r) {
		clerkURL := requestURL(r)
		target := clerkURL.ResolveReference(c.signIn)
		if a.reason == reasonSessionPending {
			target.Path = strings.TrimRight(target.Path, "/") + "/tasks"
			target.RawPath = ""
		}
		q := target.Query()
		q.Set("redirect_url", clerkURL.String())
		target.RawQuery = q.Encode()
		if a.response != nil && a.response.devBrowser != "" && !sameURLOrigin(target, clerkURL) {
			// A development instance's accounts portal on another origin
			// learns the browser's dev browser token, as in Clerk's SDK.
			target.RawQuery += "&" + cookieDevBrowser + "=" + url.QueryEscape(a.response.devBrowser)
		}
		h.Set("Location", target.String())
		w.WriteHeader(http.StatusTemporaryRedirect)
		return nil
	}
	if a.tokenSent {
		h.Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	} else {
		h.Set("WWW-Authenticate", "Bearer")
	}
	return caddyhttp.Error(http.StatusUnauthorized, fmt.Errorf("not signed in: %s", a.reason))
}

// rejectUnauthorized answers a signed-in request that fails a require line:
// a redirect to unauthorized_url for pages when configured, 403 otherwise.
func (c *ClerkAuth) rejectUnauthorized(w http.ResponseWriter, r *http.Request, rc routeClass, reason string) error {
	h := w.Header()
	h.Set("X-Clerk-Auth-Status", statusSignedIn)
	h.Set("X-Clerk-Auth-Reason", reason)
	if c.unauthorized != nil && !rc.api && isPageRequest(r) {
		h.Set("Location", requestURL(r).ResolveReference(c.unauthorized).String())
		w.WriteHeader(http.StatusTemporaryRedirect)
		return nil
	}
	return caddyhttp.Error(http.StatusForbidden, fmt.Errorf("not authorized: %s", reason))
}
