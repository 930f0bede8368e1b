package caddyclerk

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

// backendFeatures is the provisioned state of clerk_auth's Backend API
// features: machine tokens, user enrichment, session liveness, and the
// instance's shared revocation list (which every handler consults, with or
// without a secret key).
type backendFeatures struct {
	state          *instanceState
	stateKey       string
	acquired       bool
	bapi           *bapiClient // nil without a feature that needs it
	flightPrefix   string      // separates single flights of different credentials
	fields         []userField
	fieldsRequired bool
	userTTL        time.Duration
	liveness       time.Duration
	logger         *zap.Logger
}

// provisionBackend joins the instance's shared state and sets up the
// Backend API features the configuration asks for.
func (c *ClerkAuth) provisionBackend(ctx caddy.Context, inst *instance, v *verifier) error {
	b := &c.backend
	b.logger = c.logger
	b.stateKey = instanceKeyFor(inst, v.issuer)
	st, err := acquireInstance(b.stateKey)
	if err != nil {
		return fmt.Errorf("setting up the instance state: %v", err)
	}
	b.state, b.acquired = st, true
	st.revoked.noteSkew(time.Duration(v.skewMillis) * time.Millisecond)
	v.revoked = &st.revoked

	acceptSession := len(c.Accept) == 0
	var machines []string
	for _, t := range c.Accept {
		switch {
		case !slices.Contains(tokenTypes, t):
			return fmt.Errorf("accept: unknown token type '%s' (want one of %v)", t, tokenTypes)
		case t == tokenTypeSession:
			acceptSession = true
		case !slices.Contains(machines, t):
			machines = append(machines, t)
		}
	}
	for _, f := range c.UserFields {
		uf, err := parseUserField(f)
		if err != nil {
			return fmt.Errorf("user_fields: %v", err)
		}
		b.fields = append(b.fields, uf)
	}
	b.fieldsRequired = c.UserFieldsRequired
	if b.fieldsRequired && len(b.fields) == 0 {
		return fmt.Errorf("user_fields_required: needs user_fields")
	}
	b.userTTL = defaultUserCacheTTL
	if c.UserCacheTTL != nil {
		if *c.UserCacheTTL <= 0 {
			return fmt.Errorf("user_cache_ttl: must be positive")
		}
		b.userTTL = time.Duration(*c.UserCacheTTL)
	}
	if c.SessionLiveness < 0 {
		return fmt.Errorf("session_liveness: must not be negative")
	}
	b.liveness = time.Duration(c.SessionLiveness)

	for _, need := range []struct {
		name string
		on   bool
	}{{"accept " + strings.Join(machines, " "), len(machines) > 0}, {"user_fields", len(b.fields) > 0}, {"session_liveness", b.liveness > 0}} {
		if need.on && c.SecretKey == "" {
			return fmt.Errorf("%s: %v", need.name, errNoSecretKey)
		}
	}
	if len(machines) == 0 && len(b.fields) == 0 && b.liveness == 0 {
		return nil
	}

	apiURL := strings.TrimRight(c.APIURL, "/")
	if apiURL == "" {
		apiURL = defaultAPIURL
	}
	if err := checkBaseURL("api_url", apiURL); err != nil {
		return err
	}
	b.bapi = newBAPIClient(apiURL, c.SecretKey)
	sum := sha256.Sum256([]byte(apiURL + "\x00" + c.SecretKey))
	b.flightPrefix = hex.EncodeToString(sum[:8]) + "\x00"
	if err := registerCollector(ctx.GetMetricsRegistry(), bapiFailures); err != nil {
		return err
	}
	if len(machines) > 0 {
		c.auth.machines = &machineVerifier{
			acceptSession: acceptSession,
			accepted:      machines,
			single:        !acceptSession && len(machines) == 1,
			sessions:      v,
			keys:          v.keys,
			skewMillis:    v.skewMillis,
			now:           v.now,
			backend:       b,
		}
	}
	return nil
}

// cleanupBackend releases the instance's shared state.
func (c *ClerkAuth) cleanupBackend() {
	b := &c.backend
	if b.acquired {
		releaseInstance(b.stateKey)
		b.acquired = false
	}
	if b.bapi != nil {
		b.bapi.close()
	}
}

// unmarshalBackend reads the Backend API subdirectives:
//
//	accept session_token api_key m2m_token oauth_token
//	user_fields email username first_name last_name image_url public_metadata.<key> ...
//	user_fields_required
//	user_cache_ttl <duration>
//	session_liveness <duration>
func (c *ClerkAuth) unmarshalBackend(d *caddyfile.Dispenser, sub string) error {
	switch sub {
	case "accept":
		args := d.RemainingArgs()
		if len(args) == 0 {
			return d.ArgErr()
		}
		for _, t := range args {
			if !slices.Contains(tokenTypes, t) {
				return d.Errf("accept: unknown token type '%s' (want one of %v)", t, tokenTypes)
			}
		}
		c.Accept = append(c.Accept, args...)
	case "user_fields":
		args := d.RemainingArgs()
		if len(args) == 0 {
			return d.ArgErr()
		}
		for _, f := range args {
			if _, err := parseUserField(f); err != nil {
				return d.Errf("user_fields: %v", err)
			}
		}
		c.UserFields = append(c.UserFields, args...)
	case "user_fields_required":
		if d.NextArg() {
			return d.ArgErr()
		}
		if c.UserFieldsRequired {
			return d.Err("user_fields_required already specified")
		}
		c.UserFieldsRequired = true
	case "session_liveness", "user_cache_ttl":
		var s string
		if !d.AllArgs(&s) {
			return d.ArgErr()
		}
		dur, err := caddy.ParseDuration(s)
		if err != nil || dur <= 0 {
			return d.Errf("bad %s value '%s': want a positive duration such as 30s", sub, s)
		}
		if sub == "session_liveness" {
			if c.SessionLiveness != 0 {
				return d.Err("session_liveness already specified")
			}
			c.SessionLiveness = caddy.Duration(dur)
			break
		}
		if c.UserCacheTTL != nil {
			return d.Err("user_cache_ttl already specified")
		}
		ttl := caddy.Duration(dur)
		c.UserCacheTTL = &ttl
	}
	return nil
}

// bapiOutcome is the failure half of a cached Backend API answer: the error
// when the call failed, and the credentials (flightPrefix) it failed with.
type bapiOutcome struct {
	failure error
	owner   string
}

// outcome records err as a failure of this handler's credentials.
func (b *backendFeatures) outcome(err error) bapiOutcome {
	return bapiOutcome{failure: err, owner: b.flightPrefix}
}

// result lets sharedLookup read the outcome of any answer that embeds it.
func (o bapiOutcome) result() bapiOutcome { return o }

// sharedLookup answers from the instance's cache while an answer is younger
// than fresh, else calls fetch once per key at a time for every handler with
// the same credentials, each caller waiting no longer than its own context.
// A remembered failure is answered only to the credentials that caused it:
// another handler's wrong secret key must not fail this one.
func sharedLookup[V interface{ result() bapiOutcome }](ctx context.Context, b *backendFeatures, cache *ttlCache[string, V], kind, key string, fresh time.Duration, fetch func(context.Context, string) V) (V, error) {
	now := time.Now()
	if v, stored, ok := cache.get(key, now); ok {
		o := v.result()
		switch {
		case o.failure != nil && o.owner == b.flightPrefix:
			return v, o.failure
		case o.failure == nil && now.Sub(stored) < fresh:
			return v, nil
		}
	}
	ch := b.state.flight.DoChan(b.flightPrefix+kind+"\x00"+key, func() (any, error) {
		return fetch(context.WithoutCancel(ctx), key), nil
	})
	select {
	case res := <-ch:
		v := res.Val.(V)
		return v, v.result().failure
	case <-ctx.Done():
		var zero V
		return zero, ctx.Err()
	}
}
