package caddyclerk

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"golang.org/x/net/http/httpguts"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// defaultUserCacheTTL is how long a fetched user is reused by default.
const defaultUserCacheTTL = 5 * time.Minute

// bapiFailureTTL is how long a failed user or session lookup is remembered:
// during an outage each user costs one bounded wait per period, not one per
// request, and the log one line. A variable only so that tests can shorten it.
var bapiFailureTTL = 5 * time.Second

// userFieldNames are the fields user_fields accepts besides the metadata
// paths (public_metadata.<key>, private_metadata.<key>, unsafe_metadata.<key>).
var userFieldNames = []string{"email", "phone_number", "username", "first_name", "last_name", "image_url", "external_id"}

// userField is one configured enrichment field and its request header.
type userField struct {
	name   string // e.g. email, public_metadata.plan
	header string // e.g. X-Clerk-User-Email, X-Clerk-User-Public-Metadata-Plan
}

// parseUserField checks a user_fields entry and derives its header name.
func parseUserField(name string) (userField, error) {
	head, rest, dotted := strings.Cut(name, ".")
	switch {
	case !dotted && slices.Contains(userFieldNames, name):
	case dotted && (head == "public_metadata" || head == "private_metadata" || head == "unsafe_metadata"):
		for _, part := range strings.Split(rest, ".") {
			if part == "" || strings.Trim(part, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != "" {
				return userField{}, fmt.Errorf("user field '%s': metadata keys may hold letters, digits, '_' and '-'", name)
			}
		}
	default:
		return userField{}, fmt.Errorf("unknown user field '%s' (want one of %v, or public_metadata.<key>, private_metadata.<key>, unsafe_metadata.<key>)", name, userFieldNames)
	}
	parts := strings.FieldsFunc(name, func(r rune) bool { return r == '_' || r == '.' || r == '-' })
	for i, p := range parts {
		parts[i] = strings.ToUpper(p[:1]) + strings.ToLower(p[1:])
	}
	return userField{name: name, header: "X-Clerk-User-" + strings.Join(parts, "-")}, nil
}

// userProfile is a user as GET /v1/users/{id} answered, decoded once and
// shared, or a remembered failure.
type userProfile struct {
	data map[string]any
	bapiOutcome
}

// field renders one field for a placeholder or header: "" when absent.
// email and phone_number are the primary ones; other names are dotted
// paths into the user object, rendered like {clerk.claims.*}.
func (p *userProfile) field(name string) string {
	if p == nil || p.data == nil {
		return ""
	}
	switch name {
	case "email":
		return primaryOf(p.data, "email_addresses", "primary_email_address_id", "email_address")
	case "phone_number":
		return primaryOf(p.data, "phone_numbers", "primary_phone_number_id", "phone_number")
	}
	return renderPath(p.data, name)
}

// primaryOf finds the primary entry of a list of identifiers.
func primaryOf(user map[string]any, list, primaryKey, valueKey string) string {
	primary, _ := user[primaryKey].(string)
	items, _ := user[list].([]any)
	for _, it := range items {
		obj, _ := it.(map[string]any)
		if id, _ := obj["id"].(string); id != "" && id == primary {
			v, _ := obj[valueKey].(string)
			return v
		}
	}
	return ""
}

// profile returns the user's profile from the instance's cache when it is
// younger than user_cache_ttl, else from the Backend API: one call per user
// at a time, shared by every waiting request, each waiting no longer than
// its own context.
func (b *backendFeatures) profile(ctx context.Context, userID string) (*userProfile, error) {
	return sharedLookup(ctx, b, b.state.users, "user", userID, b.userTTL, b.fetchUser)
}

// fetchUser calls GET /v1/users/{id} and caches the answer, or the failure
// for bapiFailureTTL. A user.updated webhook that arrives while the call is
// under way keeps the answer out of the cache.
func (b *backendFeatures) fetchUser(ctx context.Context, userID string) *userProfile {
	epoch := b.state.userEpoch.Load()
	var raw json.RawMessage
	err := b.bapi.get(ctx, "/v1/users/"+url.PathEscape(userID), &raw)
	countBAPICall("user", err) // metrics.go
	now := time.Now()
	p := &userProfile{}
	if err == nil {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if derr := dec.Decode(&p.data); derr != nil || p.data == nil {
			err = &bapiUnavailableError{Op: "GET /v1/users/{id}", Err: fmt.Errorf("answer is not a user object")}
		}
	}
	if err != nil {
		b.failed("user", err)
		p = &userProfile{bapiOutcome: b.outcome(err)}
		b.state.users.put(userID, p, now, now.Add(bapiFailureTTL))
		return p
	}
	if b.state.userEpoch.Load() == epoch {
		b.state.users.put(userID, p, now, now.Add(b.userTTL))
	}
	return p
}

// enrich fetches the user's profile for a signed-in request when
// user_fields is set. A Backend API failure leaves the request without
// enrichment (logged and counted), or with user_fields_required answers 503.
func (c *ClerkAuth) enrich(w http.ResponseWriter, r *http.Request, id *requestIdentity) error {
	b := &c.backend
	if len(b.fields) == 0 {
		return nil
	}
	uid := id.userID()
	if uid == "" {
		return nil
	}
	p, err := b.profile(r.Context(), uid)
	if err != nil {
		if b.fieldsRequired {
			id.reason = reasonUserFieldsUnavailable
			if isKeyRejected(err) {
				id.reason = reasonSecretKeyInvalid
			}
			w.Header().Set("X-Clerk-Auth-Reason", id.reason)
			return caddyhttp.Error(http.StatusServiceUnavailable, fmt.Errorf("user enrichment unavailable: %w", err))
		}
		return nil
	}
	id.setProfile(p)
	return nil
}

// setBackendHeaders adds the identity headers of the Backend API features:
// a machine token's, and the configured user fields.
func (c *ClerkAuth) setBackendHeaders(h http.Header, id *requestIdentity) {
	if m := id.activeMachine(); m != nil {
		setMachineHeaders(h, m)
	}
	p := id.enrichment()
	if p == nil {
		return
	}
	for _, f := range c.backend.fields {
		if v := p.field(f.name); v != "" && httpguts.ValidHeaderFieldValue(v) {
			h[f.header] = []string{v}
		}
	}
}
