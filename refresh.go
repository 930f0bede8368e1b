package caddyclerk

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/sync/singleflight"
)

// refreshGroup merges concurrent refreshes of one expired session token with
// one refresh token (a page that fires several requests at once) into one
// Backend API call.
var refreshGroup singleflight.Group

// refreshOutcome is what one refresh gave.
type refreshOutcome struct {
	res   authResult
	cause string
}

// refresh is Clerk's attemptRefresh: an expired session token and the
// __refresh_<suffix> cookie are exchanged through the Backend API's
// POST /v1/sessions/{sid}/refresh for fresh cookies, which are passed on to
// the browser, and the new session token decides. It returns Clerk's cause
// when it cannot (missing-api-client without a secret key, the Backend API's
// error code, ...); the caller then falls back to the handshake.
func (a *authenticator) refresh(q *authRequest) (authResult, string) {
	if a.api == nil {
		return authResult{}, reasonRefreshMissingAPIClient
	}
	expired := a.sessionToken(q)
	refreshToken := a.cookies(q).refreshSfx.val
	t, err := parseToken(expired)
	if err != nil {
		return authResult{}, reasonRefreshDecodeFailed
	}
	sid := t.claims.Sid.str()
	if sid == "" {
		return authResult{}, reasonRefreshMissingSidClaim
	}
	path := "/v1/sessions/" + url.PathEscape(sid) + "/refresh"
	if q.suffixed {
		path += "?suffixed_cookies=true"
	}
	body := map[string]any{
		"format":          "cookie",
		"expired_token":   expired,
		"refresh_token":   refreshToken,
		"request_origin":  urlOrigin(requestURL(q.r)),
		"request_headers": requestHeaders(q.r),
	}
	key := sha256.Sum256([]byte(a.api.bapi.base + "\x00" + expired + "\x00" + refreshToken))
	ctx := context.WithoutCancel(q.r.Context())
	v, _, _ := refreshGroup.Do(string(key[:]), func() (any, error) {
		res, cause := a.refreshCall(ctx, path, body)
		return refreshOutcome{res, cause}, nil
	})
	out := v.(refreshOutcome)
	return out.res, out.cause
}

// refreshCall makes the call and turns its answer into an outcome, with
// Clerk's causes: the Backend API's error code (fetch-error for
// unexpected_error), unexpected-bapi-error without one, unexpected-sdk-error
// for an answer without cookies, invalid-session-token when the new session
// token does not verify.
func (a *authenticator) refreshCall(ctx context.Context, path string, body any) (authResult, string) {
	var answer struct {
		Cookies []json.RawMessage `json:"cookies"`
	}
	status, code, err := a.api.call(ctx, http.MethodPost, path, body, &answer)
	switch {
	case status == 0:
		return authResult{}, reasonRefreshUnexpectedBAPIError
	case status >= 400 && code == "unexpected_error":
		return authResult{}, reasonRefreshFetchError
	case status >= 400 && isReasonToken(code):
		return authResult{}, code
	case status >= 400:
		return authResult{}, reasonRefreshUnexpectedBAPIError
	case err != nil:
		return authResult{}, reasonRefreshUnexpectedSDKError
	}
	cookies := jsonStrings(answer.Cookies)
	if len(cookies) == 0 {
		return authResult{}, reasonRefreshUnexpectedSDKError
	}
	setCookies, session := a.checkDirectives(cookies)
	res, reason := a.handshakeSession(ctx, session)
	if reason != "" {
		return authResult{}, reasonRefreshInvalidSessionToken
	}
	res.response = &authResponse{setCookies: setCookies}
	return res, ""
}

// isReasonToken accepts an error code that can go into a reason header.
func isReasonToken(s string) bool {
	if s == "" || len(s) > 100 {
		return false
	}
	for _, c := range s {
		if !(c == '_' || c == '-' || c == '.' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9')) {
			return false
		}
	}
	return true
}

// urlOrigin is URL.origin.
func urlOrigin(u *url.URL) string {
	return u.Scheme + "://" + u.Host
}

// requestHeaders is the request's headers as Clerk's SDK sends them with a
// refresh: lower-case names, each with its values joined into one.
func requestHeaders(r *http.Request) map[string][]string {
	out := make(map[string][]string, len(r.Header)+1)
	for name, vals := range r.Header {
		sep := ", "
		if strings.EqualFold(name, "Cookie") {
			sep = "; "
		}
		out[strings.ToLower(name)] = []string{strings.Join(vals, sep)}
	}
	if r.Host != "" {
		out["host"] = []string{r.Host}
	}
	return out
}
