package clerktest

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"
)

// User is a user of the instance, as GET /v1/users/{id} serves it.
type User struct {
	// ID is the user id; default "user_" + 27 random base62 characters.
	ID string
	// Email is the primary email address; empty for none.
	Email string
	// Phone is the primary phone number; empty for none.
	Phone string
	// Username, FirstName, LastName, ImageURL and ExternalID are served
	// as username, first_name, last_name, image_url and external_id
	// (null when empty).
	Username, FirstName, LastName, ImageURL, ExternalID string
	// PublicMetadata, PrivateMetadata and UnsafeMetadata are served as
	// public_metadata, private_metadata and unsafe_metadata ({} when nil).
	PublicMetadata, PrivateMetadata, UnsafeMetadata map[string]any
}

// ErrNotFound is returned for a user or session the instance does not know.
var ErrNotFound = errors.New("clerktest: not found")

// CreateUser stores u (replacing a user with the same id, without a
// webhook) and returns it with its id.
func (i *Instance) CreateUser(u User) User {
	u.ID = orDefault(u.ID, func() string { return NewID("user_") })
	i.bapi.mu.Lock()
	i.bapi.users[u.ID] = u
	i.bapi.mu.Unlock()
	return u
}

// UpdateUser replaces a known user and sends user.updated (the user object)
// to the webhook endpoints.
func (i *Instance) UpdateUser(u User) error {
	i.bapi.mu.Lock()
	_, ok := i.bapi.users[u.ID]
	if ok {
		i.bapi.users[u.ID] = u
	}
	i.bapi.mu.Unlock()
	if !ok {
		return ErrNotFound
	}
	return i.SendWebhook("user.updated", userObject(u))
}

// DeleteUser removes a user, ends its sessions (status "removed") and sends
// user.deleted ({"id", "object": "user", "deleted": true}) to the webhook
// endpoints.
func (i *Instance) DeleteUser(id string) error {
	i.bapi.mu.Lock()
	_, ok := i.bapi.users[id]
	delete(i.bapi.users, id)
	for _, s := range i.bapi.sessions {
		if s.userID == id && s.status == "active" {
			s.status = "removed"
		}
	}
	i.bapi.mu.Unlock()
	if !ok {
		return ErrNotFound
	}
	return i.SendWebhook("user.deleted", map[string]any{"id": id, "object": "user", "deleted": true})
}

// User returns a stored user.
func (i *Instance) User(id string) (User, bool) {
	i.bapi.mu.Lock()
	defer i.bapi.mu.Unlock()
	u, ok := i.bapi.users[id]
	return u, ok
}

// userObject renders u as Clerk's user object.
func userObject(u User) map[string]any {
	str := func(s string) any {
		if s == "" {
			return nil
		}
		return s
	}
	meta := func(m map[string]any) map[string]any {
		if m == nil {
			return map[string]any{}
		}
		return m
	}
	now := time.Now().UnixMilli()
	obj := map[string]any{
		"object": "user", "id": u.ID, "username": str(u.Username), "first_name": str(u.FirstName),
		"last_name": str(u.LastName), "image_url": orDefault(u.ImageURL, func() string { return "https://img.clerk.com/default" }),
		"has_image": u.ImageURL != "", "external_id": str(u.ExternalID),
		"primary_email_address_id": nil, "primary_phone_number_id": nil,
		"email_addresses": []any{}, "phone_numbers": []any{},
		"public_metadata": meta(u.PublicMetadata), "private_metadata": meta(u.PrivateMetadata),
		"unsafe_metadata": meta(u.UnsafeMetadata), "created_at": now, "updated_at": now,
	}
	if u.Email != "" {
		id := "idn_email_" + u.ID
		obj["primary_email_address_id"] = id
		obj["email_addresses"] = []any{
			map[string]any{"id": "idn_other_" + u.ID, "object": "email_address", "email_address": "secondary." + u.Email},
			map[string]any{"id": id, "object": "email_address", "email_address": u.Email},
		}
	}
	if u.Phone != "" {
		id := "idn_phone_" + u.ID
		obj["primary_phone_number_id"] = id
		obj["phone_numbers"] = []any{map[string]any{"id": id, "object": "phone_number", "phone_number": u.Phone}}
	}
	return obj
}

func (i *Instance) serveUser(w http.ResponseWriter, r *http.Request) {
	u, ok := i.User(r.PathValue("id"))
	if !ok {
		writeClerkError(w, http.StatusNotFound, "resource_not_found", "not found", "No user was found with id "+r.PathValue("id")+".")
		return
	}
	b, _ := json.Marshal(userObject(u))
	writeJSON(w, http.StatusOK, b)
}

// sessionRecord is a session the Backend API knows.
type sessionRecord struct {
	id, userID, status string
	created            time.Time
}

// noteSession records the session of minted claims as active (or with its
// sts), unless it is known already.
func (i *Instance) noteSession(claims map[string]any) {
	sid, _ := claims["sid"].(string)
	sub, _ := claims["sub"].(string)
	if sid == "" {
		return
	}
	status, _ := claims["sts"].(string)
	if status == "" {
		status = "active"
	}
	i.bapi.mu.Lock()
	if _, ok := i.bapi.sessions[sid]; !ok {
		i.bapi.sessions[sid] = &sessionRecord{id: sid, userID: sub, status: status, created: time.Now()}
	}
	i.bapi.mu.Unlock()
}

// SessionStatus returns the status GET /v1/sessions/{id} reports ("active",
// "revoked", ...), "" for an unknown session. Every session of a token
// minted with Mint is known, active unless its sts says otherwise.
func (i *Instance) SessionStatus(sid string) string {
	i.bapi.mu.Lock()
	defer i.bapi.mu.Unlock()
	if s, ok := i.bapi.sessions[sid]; ok {
		return s.status
	}
	return ""
}

// SetSessionStatus sets a session's status, creating it if needed, without
// any webhook: what a Caddy that did not receive the webhook sees through
// the Backend API.
func (i *Instance) SetSessionStatus(sid, userID, status string) {
	i.bapi.mu.Lock()
	defer i.bapi.mu.Unlock()
	if s, ok := i.bapi.sessions[sid]; ok {
		s.status = status
		return
	}
	i.bapi.sessions[sid] = &sessionRecord{id: sid, userID: userID, status: status, created: time.Now()}
}

// RevokeSession revokes a known session and sends session.revoked (the
// session object) to the webhook endpoints, as the Backend API's
// POST /v1/sessions/{id}/revoke does.
func (i *Instance) RevokeSession(sid string) error {
	return i.endSession(sid, "revoked", "session.revoked")
}

// EndSession ends a known session (a sign-out) and sends session.ended.
func (i *Instance) EndSession(sid string) error {
	return i.endSession(sid, "ended", "session.ended")
}

func (i *Instance) endSession(sid, status, event string) error {
	obj, ok := i.setStatus(sid, status)
	if !ok {
		return ErrNotFound
	}
	return i.SendWebhook(event, obj)
}

func (i *Instance) setStatus(sid, status string) (map[string]any, bool) {
	i.bapi.mu.Lock()
	defer i.bapi.mu.Unlock()
	s, ok := i.bapi.sessions[sid]
	if !ok {
		return nil, false
	}
	s.status = status
	return s.object(), true
}

// object renders the session as Clerk's session object; i.bapi.mu is held.
func (s *sessionRecord) object() map[string]any {
	created := s.created.UnixMilli()
	return map[string]any{
		"object": "session", "id": s.id, "user_id": s.userID, "client_id": "client_" + s.id,
		"status": s.status, "last_active_at": created, "expire_at": s.created.Add(7 * 24 * time.Hour).UnixMilli(),
		"abandon_at": s.created.Add(30 * 24 * time.Hour).UnixMilli(), "created_at": created, "updated_at": created,
	}
}

func (i *Instance) serveSession(w http.ResponseWriter, r *http.Request) {
	i.bapi.mu.Lock()
	var obj map[string]any
	if s, ok := i.bapi.sessions[r.PathValue("id")]; ok {
		obj = s.object()
	}
	i.bapi.mu.Unlock()
	if obj == nil {
		writeClerkError(w, http.StatusNotFound, "resource_not_found", "not found", "No session was found with id "+r.PathValue("id")+".")
		return
	}
	b, _ := json.Marshal(obj)
	writeJSON(w, http.StatusOK, b)
}

func (i *Instance) serveRevokeSession(w http.ResponseWriter, r *http.Request) {
	obj, ok := i.setStatus(r.PathValue("id"), "revoked")
	if !ok {
		writeClerkError(w, http.StatusNotFound, "resource_not_found", "not found", "No session was found with id "+r.PathValue("id")+".")
		return
	}
	// Deliver the webhook after answering is what Clerk does; here it is
	// sent first so that a test that revoked through the API can rely on it.
	_ = i.SendWebhook("session.revoked", obj)
	b, _ := json.Marshal(obj)
	writeJSON(w, http.StatusOK, b)
}
