package caddyclerk

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const testSecret = "sk_test_supersecretvalue123"

// fakeSleeps makes the client's backoff instant and records the waits.
type fakeSleeps struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (f *fakeSleeps) sleep(ctx context.Context, d time.Duration) error {
	f.mu.Lock()
	f.waits = append(f.waits, d)
	f.mu.Unlock()
	return ctx.Err()
}

func testClient(t *testing.T, h http.HandlerFunc) (*bapiClient, *fakeSleeps) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c := newBAPIClient(srv.URL+"/", testSecret)
	t.Cleanup(c.close)
	f := &fakeSleeps{}
	c.sleep = f.sleep
	return c, f
}

func TestBAPIClientSendsClerkHeaders(t *testing.T) {
	c, _ := testClient(t, func(w http.ResponseWriter, r *http.Request) {
		if got := r.Header.Get("Authorization"); got != "Bearer "+testSecret {
			t.Errorf("Authorization %q", got)
		}
		if got := r.Header.Get("Clerk-API-Version"); got != clerkAPIVersion {
			t.Errorf("Clerk-API-Version %q", got)
		}
		if got := r.Header.Get("User-Agent"); !strings.Contains(got, "caddy-clerk") {
			t.Errorf("User-Agent %q", got)
		}
		if r.Method == http.MethodPost {
			if got := r.Header.Get("Content-Type"); got != "application/json" {
				t.Errorf("Content-Type %q", got)
			}
			var body map[string]string
			_ = json.NewDecoder(r.Body).Decode(&body)
			if body["secret"] != "ak_1" || r.URL.Path != "/api_keys/verify" {
				t.Errorf("POST %s %v", r.URL.Path, body)
			}
		} else if r.URL.Path != "/v1/users/user_1" {
			t.Errorf("GET %s", r.URL.Path)
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"id":"x"}`))
	})
	var out struct{ ID string }
	if err := c.get(context.Background(), "/v1/users/user_1", &out); err != nil || out.ID != "x" {
		t.Fatalf("get: %v %+v", err, out)
	}
	if err := c.post(context.Background(), "/api_keys/verify", map[string]string{"secret": "ak_1"}, &out); err != nil {
		t.Fatalf("post: %v", err)
	}
}

func TestBAPIClientRetries(t *testing.T) {
	tests := []struct {
		name       string
		answers    []int
		retryAfter string
		wantCalls  int32
		wantStatus int // 0: success
		minWait    time.Duration
	}{
		{name: "5xx then success", answers: []int{503, 500, 200}, wantCalls: 3},
		{name: "gives up after three attempts", answers: []int{502, 502, 502, 502}, wantCalls: 3, wantStatus: 502},
		{name: "429 honours Retry-After", answers: []int{429, 200}, retryAfter: "1", wantCalls: 2, minWait: time.Second},
		{name: "Retry-After beyond the budget: no wait", answers: []int{429, 200}, retryAfter: "60", wantCalls: 1, wantStatus: 429},
		{name: "404 is not retried", answers: []int{404, 200}, wantCalls: 1, wantStatus: 404},
		{name: "401 is not retried", answers: []int{401, 200}, wantCalls: 1, wantStatus: 401},
		{name: "400 is not retried", answers: []int{400, 200}, wantCalls: 1, wantStatus: 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int32
			c, sleeps := testClient(t, func(w http.ResponseWriter, r *http.Request) {
				n := calls.Add(1)
				status := tc.answers[min(int(n), len(tc.answers))-1]
				if tc.retryAfter != "" {
					w.Header().Set("Retry-After", tc.retryAfter)
				}
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(status)
				if status == 200 {
					_, _ = w.Write([]byte(`{}`))
				} else {
					_, _ = w.Write([]byte(`{"errors":[{"code":"some_code","message":"some message"}]}`))
				}
			})
			err := c.get(context.Background(), "/v1/sessions/sess_1", nil)
			if got := calls.Load(); got != tc.wantCalls {
				t.Errorf("%d calls, want %d", got, tc.wantCalls)
			}
			if got := bapiStatus(err); got != tc.wantStatus {
				t.Errorf("status %d (err %v), want %d", got, err, tc.wantStatus)
			}
			var be *bapiError
			if tc.wantStatus != 0 && (!errors.As(err, &be) || be.Code != "some_code" || be.Message != "some message") {
				t.Errorf("error %#v does not carry Clerk's code and message", err)
			}
			if tc.minWait > 0 && (len(sleeps.waits) == 0 || sleeps.waits[0] < tc.minWait) {
				t.Errorf("waits %v, want at least %v first", sleeps.waits, tc.minWait)
			}
			for _, w := range sleeps.waits {
				if w > bapiCallTimeout {
					t.Errorf("waited %v, beyond the call budget", w)
				}
			}
		})
	}
}

func TestBAPIClientBoundedWhenTheAPIHangs(t *testing.T) {
	release := make(chan struct{})
	c, _ := testClient(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	defer close(release)
	c.timeout = 300 * time.Millisecond
	c.sleep = sleepCtx
	start := time.Now()
	err := c.get(context.Background(), "/v1/users/user_1", nil)
	if d := time.Since(start); d > time.Second {
		t.Errorf("call took %v with a 300ms budget", d)
	}
	var ue *bapiUnavailableError
	if !errors.As(err, &ue) || bapiStatus(err) != 0 {
		t.Errorf("err = %#v, want a bapiUnavailableError", err)
	}
}

func TestBAPIClientErrorsNeverHoldSecrets(t *testing.T) {
	const token = "ak_the_token_itself"
	for _, status := range []int{401, 403, 404, 500} {
		c, _ := testClient(t, func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			w.WriteHeader(status)
			// A hostile or buggy answer that echoes what it got.
			_, _ = w.Write([]byte(`{"errors":[{"code":"x","message":"` + "short" + `"}]}` + string(body) + r.Header.Get("Authorization")))
		})
		err := c.post(context.Background(), "/api_keys/verify", map[string]string{"secret": token}, nil)
		if err == nil || strings.Contains(err.Error(), testSecret) || strings.Contains(err.Error(), token) {
			t.Errorf("status %d: error %q", status, err)
		}
	}
	c := newBAPIClient("http://127.0.0.1:1", testSecret) // nothing listens on port 1
	c.sleep = (&fakeSleeps{}).sleep
	err := c.post(context.Background(), "/m2m_tokens/verify", map[string]string{"token": token}, nil)
	if err == nil || strings.Contains(err.Error(), testSecret) || strings.Contains(err.Error(), token) {
		t.Errorf("transport error %q", err)
	}
}

// TestBAPIClientKeyRejected covers the answers that mean a wrong secret key,
// read directly (as the JWKS fetch does) and through a client call, whose
// retries of 429 and 5xx must not change the verdict.
func TestBAPIClientKeyRejected(t *testing.T) {
	for _, tc := range []struct {
		status int
		body   string
		want   bool
	}{
		{401, `{"errors":[{"code":"clerk_key_invalid"}]}`, true},
		{401, `not json`, true},
		{401, `{"errors":[{"code":"other"}]}`, true},
		{403, `{"errors":[{"code":"clerk_key_invalid"}]}`, true},
		{403, `{"errors":[{"code":"forbidden"}]}`, false},
		{403, `not json`, false},
		{404, `{}`, false},
		{500, `{"errors":[{"code":"clerk_key_invalid"}]}`, false},
		{429, `{"errors":[{"code":"too_many_requests"}]}`, false},
	} {
		resp := &http.Response{StatusCode: tc.status, Header: http.Header{}}
		if got := isKeyRejected(answerError(resp, []byte(tc.body))); got != tc.want {
			t.Errorf("isKeyRejected(answerError(%d, %s)) = %v, want %v", tc.status, tc.body, got, tc.want)
		}
		c, _ := testClient(t, func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(tc.status)
			_, _ = w.Write([]byte(tc.body))
		})
		if got := isKeyRejected(c.get(context.Background(), "/v1/x", nil)); got != tc.want {
			t.Errorf("%d %s through the client: isKeyRejected %v, want %v", tc.status, tc.body, got, tc.want)
		}
	}
}

func TestBAPIClientDecodeErrorNotRetried(t *testing.T) {
	var calls atomic.Int32
	c, _ := testClient(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		_, _ = w.Write([]byte(`<html>`))
	})
	var out map[string]any
	if err := c.get(context.Background(), "/v1/x", &out); err == nil || calls.Load() != 1 {
		t.Errorf("err %v after %d calls", err, calls.Load())
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Duration{
		"":                              0,
		"2":                             2 * time.Second,
		" 3 ":                           3 * time.Second,
		"0":                             0,
		"-5":                            0,
		"soon":                          0,
		"99999999":                      time.Hour,
		"Thu, 01 Jan 2026 00:00:10 GMT": 10 * time.Second,
		"Wed, 31 Dec 2025 23:00:00 GMT": 0,
	} {
		if got := parseRetryAfter(in, now); got != want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestJitterBounds(t *testing.T) {
	for attempt := 1; attempt <= 10; attempt++ {
		ceiling := min(bapiBackoffBase<<(attempt-1), bapiBackoffMax)
		for range 100 {
			if d := jitter(bapiBackoffBase, attempt); d < ceiling/2 || d > ceiling {
				t.Fatalf("attempt %d: %v outside [%v, %v]", attempt, d, ceiling/2, ceiling)
			}
		}
	}
}
