package caddyclerk

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// livenessAnswer is what the Backend API said about a session: alive
// (active or pending), or not, or that it could not be asked.
type livenessAnswer struct {
	alive bool
	bapiOutcome
}

// checkSession applies what the token alone cannot tell: the instance's
// revocation list (webhooks, earlier liveness answers) on every request,
// lock-free, and with session_liveness the session's status in the Backend
// API, cached for the configured time. A session found gone is signed out
// with session-revoked (user-deleted for a deleted user). When the Backend
// API cannot answer, a protected route gets 503 and a public one passes
// signed out.
func (c *ClerkAuth) checkSession(w http.ResponseWriter, r *http.Request, id *requestIdentity, route routeClass) error {
	st := c.backend.state
	if st == nil {
		return nil
	}
	res := &id.authResult
	var sid, uid string
	switch {
	case res.session != nil:
		sid, uid = res.session.sessionID, res.session.UserID
	case res.machineToken() != nil && res.signedIn():
		uid = res.machineToken().userID
	default:
		return nil
	}
	if reason := st.revoked.check(sid, uid); reason != "" {
		res.revoke(reason)
		return nil
	}
	if c.backend.liveness <= 0 || res.session == nil || !res.signedIn() || sid == "" {
		return nil
	}
	alive, err := c.backend.sessionAlive(r.Context(), sid)
	switch {
	case err != nil:
		reason := reasonLivenessUnavailable
		if isKeyRejected(err) {
			reason = reasonSecretKeyInvalid
		}
		res.revoke(reason)
		if route.protected {
			w.Header().Set("X-Clerk-Auth-Status", statusSignedOut)
			w.Header().Set("X-Clerk-Auth-Reason", reason)
			return caddyhttp.Error(http.StatusServiceUnavailable, fmt.Errorf("session liveness unavailable: %w", err))
		}
	case !alive:
		res.revoke(reasonSessionRevoked)
	}
	return nil
}

// revoke signs the request out with reason, dropping its identity but not
// what the browser must be told (cookies from a handshake).
func (a *authResult) revoke(reason string) {
	*a = authResult{status: statusSignedOut, reason: reason, tokenSent: true, response: a.response}
}

// sessionAlive answers from the instance's cache when the answer is younger
// than session_liveness, else asks GET /v1/sessions/{sid}, once per session
// at a time.
func (b *backendFeatures) sessionAlive(ctx context.Context, sid string) (bool, error) {
	a, err := sharedLookup(ctx, b, b.state.sessions, "session", sid, b.liveness, b.fetchSession)
	return a.alive, err
}

// fetchSession asks the Backend API. A session that is not active or
// pending (revoked, ended, removed, expired, abandoned, replaced) or not
// found goes on the instance's revocation list, so that every clerk_auth of
// the instance rejects it at once. Failures are remembered briefly.
func (b *backendFeatures) fetchSession(ctx context.Context, sid string) livenessAnswer {
	var s struct {
		Status string `json:"status"`
	}
	err := b.bapi.get(ctx, "/v1/sessions/"+url.PathEscape(sid), &s)
	countBAPICall("session", err) // metrics.go
	now := time.Now()
	var a livenessAnswer
	switch {
	case err == nil:
		a.alive = s.Status == "active" || s.Status == "pending"
	case bapiStatus(err) == http.StatusNotFound:
	default:
		b.failed("session", err)
		a.bapiOutcome = b.outcome(err)
		b.state.sessions.put(sid, a, now, now.Add(min(bapiFailureTTL, b.liveness)))
		return a
	}
	if !a.alive {
		b.state.revoked.revokeSession(sid)
	}
	b.state.sessions.put(sid, a, now, now.Add(b.liveness))
	return a
}
