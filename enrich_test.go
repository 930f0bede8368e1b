package caddyclerk

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-clerk/caddy-clerk/clerktest"
)

func TestParseUserField(t *testing.T) {
	for name, header := range map[string]string{
		"email":                        "X-Clerk-User-Email",
		"first_name":                   "X-Clerk-User-First-Name",
		"image_url":                    "X-Clerk-User-Image-Url",
		"phone_number":                 "X-Clerk-User-Phone-Number",
		"public_metadata.plan":         "X-Clerk-User-Public-Metadata-Plan",
		"public_metadata.limits.seats": "X-Clerk-User-Public-Metadata-Limits-Seats",
		"private_metadata.crm-id":      "X-Clerk-User-Private-Metadata-Crm-Id",
		"unsafe_metadata.theme":        "X-Clerk-User-Unsafe-Metadata-Theme",
	} {
		f, err := parseUserField(name)
		if err != nil || f.header != header || f.name != name {
			t.Errorf("parseUserField(%q) = %+v, %v; want header %s", name, f, err, header)
		}
	}
	for _, bad := range []string{"password", "id", "public_metadata", "public_metadata.", "public_metadata.a b",
		"public_metadata..x", "email.x", "secret_metadata.x", ""} {
		if _, err := parseUserField(bad); err == nil {
			t.Errorf("parseUserField(%q): no error", bad)
		}
	}
}

func decodeProfile(t *testing.T, raw string) *userProfile {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader([]byte(raw)))
	dec.UseNumber()
	p := &userProfile{}
	if err := dec.Decode(&p.data); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestUserProfileField(t *testing.T) {
	p := decodeProfile(t, `{
		"id": "user_1", "username": null, "first_name": "Ada", "image_url": "https://i/a.png",
		"primary_email_address_id": "idn_2",
		"email_addresses": [{"id": "idn_1", "email_address": "old@x.test"}, {"id": "idn_2", "email_address": "ada@x.test"}],
		"primary_phone_number_id": null, "phone_numbers": [{"id": "idn_3", "phone_number": "+1555"}],
		"public_metadata": {"plan": "pro", "seats": 12345678901234567890, "tags": ["a", "b"], "nested": {"k": true}, "obj": {"x": [1]}}
	}`)
	for name, want := range map[string]string{
		"email":                     "ada@x.test",
		"phone_number":              "", // no primary
		"first_name":                "Ada",
		"username":                  "",
		"last_name":                 "",
		"image_url":                 "https://i/a.png",
		"public_metadata.plan":      "pro",
		"public_metadata.seats":     "12345678901234567890",
		"public_metadata.tags":      "a,b",
		"public_metadata.nested.k":  "true",
		"public_metadata.obj":       `{"x":[1]}`,
		"public_metadata.missing":   "",
		"public_metadata.plan.deep": "",
	} {
		if got := p.field(name); got != want {
			t.Errorf("field(%q) = %q, want %q", name, got, want)
		}
	}
	var none *userProfile
	if none.field("email") != "" {
		t.Error("nil profile")
	}
}

func TestProfileCacheAndSingleFlight(t *testing.T) {
	ci := clerktest.Start(t, clerktest.Options{Host: "clerk.enrich-unit.test"})
	ci.CreateUser(clerktest.User{ID: "user_1", Email: "a@x.test"})
	key := "test:" + t.Name()
	st, err := acquireInstance(key)
	if err != nil {
		t.Fatal(err)
	}
	defer releaseInstance(key)
	b := &backendFeatures{state: st, bapi: newBAPIClient(ci.BackendAPIURL(), ci.SecretKey()), userTTL: time.Hour, logger: zap.NewNop()}
	defer b.bapi.close()

	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if p, err := b.profile(context.Background(), "user_1"); err != nil || p.field("email") != "a@x.test" {
				t.Errorf("profile: %v", err)
			}
		}()
	}
	wg.Wait()
	if n := ci.APIRequests("/v1/users/user_1"); n != 1 {
		t.Errorf("%d fetches, want 1", n)
	}

	// A user.updated that arrives during a fetch keeps that answer out of
	// the cache.
	racing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st.userEpoch.Add(1) // the webhook lands while the Backend API answers
		_, _ = w.Write([]byte(`{"id":"user_race"}`))
	}))
	defer racing.Close()
	rb := &backendFeatures{state: st, bapi: newBAPIClient(racing.URL, "sk_test_x"), userTTL: time.Hour, logger: zap.NewNop()}
	defer rb.bapi.close()
	if p := rb.fetchUser(context.Background(), "user_race"); p.failure != nil || p.field("id") != "user_race" {
		t.Fatalf("fetch: %+v", p)
	}
	if _, _, ok := st.users.get("user_race", time.Now()); ok {
		t.Error("an answer older than a user.updated was cached")
	}

	if _, err := b.profile(context.Background(), "user_missing"); err == nil || bapiStatus(err) != 404 {
		t.Errorf("unknown user: %v", err)
	}
	wrong := &backendFeatures{state: st, bapi: newBAPIClient(ci.BackendAPIURL(), "sk_test_wrong"), userTTL: time.Hour, logger: zap.NewNop()}
	defer wrong.bapi.close()
	st.users.del("user_1")
	if _, err := wrong.profile(context.Background(), "user_1"); !isKeyRejected(err) || strings.Contains(err.Error(), "sk_test_wrong") {
		t.Errorf("wrong secret key: %v", err)
	}
}
