package caddyclerk

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Bounds of every Backend API call. A call is one logical operation (fetch a
// user, verify a token) and includes its retries: it never takes longer than
// bapiCallTimeout, and no single attempt longer than bapiAttemptTimeout.
const (
	bapiCallTimeout    = 5 * time.Second
	bapiAttemptTimeout = 3 * time.Second
	bapiMaxAttempts    = 3
	bapiBackoffBase    = 100 * time.Millisecond
	bapiBackoffMax     = time.Second
	bapiMaxBody        = 1 << 20
)

// bapiClient is a small client of Clerk's Backend API: JSON in and out,
// `Authorization: Bearer <secret key>`, `Clerk-API-Version`, a User-Agent
// naming caddy-clerk, bounded retries with jittered exponential backoff on
// 429 and 5xx (honouring Retry-After within the call's time budget), and
// typed errors. It never logs, and nothing it returns holds the secret key
// or a request body (which may hold a token).
type bapiClient struct {
	base    string // api_url without a trailing slash and without /v1
	auth    string // "Bearer <secret key>"
	http    *http.Client
	timeout time.Duration // whole call, retries included
	// attempts, backoff and sleep are fields so that tests can shorten them.
	attempts int
	backoff  time.Duration
	sleep    func(ctx context.Context, d time.Duration) error
}

// newBAPIClient returns a client for the Backend API at base.
func newBAPIClient(base, secretKey string) *bapiClient {
	transport := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 2 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   2 * time.Second,
		ResponseHeaderTimeout: bapiAttemptTimeout,
		MaxIdleConns:          16,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
		ForceAttemptHTTP2:     true,
	}
	return &bapiClient{
		base: strings.TrimRight(base, "/"),
		auth: "Bearer " + secretKey,
		http: &http.Client{Transport: transport, Timeout: bapiAttemptTimeout,
			// Never follow a redirect with the secret key; a 3xx is an error.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		timeout:  bapiCallTimeout,
		attempts: bapiMaxAttempts,
		backoff:  bapiBackoffBase,
		sleep:    sleepCtx,
	}
}

// close releases idle connections.
func (c *bapiClient) close() { c.http.CloseIdleConnections() }

// bapiError is a Backend API answer other than 2xx.
type bapiError struct {
	Status     int
	Code       string // the first errors[].code, when the body has one
	Message    string // its message
	RetryAfter time.Duration
}

func (e *bapiError) Error() string {
	s := "Clerk Backend API answered " + strconv.Itoa(e.Status)
	if e.Code != "" {
		s += " (" + e.Code + ")"
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// bapiUnavailableError is a call that got no usable answer: the network
// failed, an attempt timed out, the call's budget ran out, or the answer was
// not the JSON expected.
type bapiUnavailableError struct {
	Op  string
	Err error
}

func (e *bapiUnavailableError) Error() string {
	return "Clerk Backend API " + e.Op + ": " + e.Err.Error()
}

func (e *bapiUnavailableError) Unwrap() error { return e.Err }

// bapiStatus returns the HTTP status of a Backend API error, 0 when there
// was no answer.
func bapiStatus(err error) int {
	var be *bapiError
	if errors.As(err, &be) {
		return be.Status
	}
	return 0
}

// isKeyRejected reports whether the Backend API rejected the secret key.
func isKeyRejected(err error) bool {
	var be *bapiError
	if !errors.As(err, &be) {
		return false
	}
	return be.Status == http.StatusUnauthorized || (be.Status == http.StatusForbidden && be.Code == "clerk_key_invalid")
}

// get calls GET <base><path> and decodes a 2xx JSON answer into out.
func (c *bapiClient) get(ctx context.Context, path string, out any) error {
	return c.do(ctx, http.MethodGet, path, nil, out)
}

// post calls POST <base><path> with a JSON body and decodes the answer.
func (c *bapiClient) post(ctx context.Context, path string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	return c.do(ctx, http.MethodPost, path, body, out)
}

// do performs one call with its retries. path is the URL path below the
// base, e.g. /v1/users/user_123 or /api_keys/verify.
func (c *bapiClient) do(ctx context.Context, method, path string, body []byte, out any) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	op := method + " " + path
	for attempt := 1; ; attempt++ {
		err := c.once(ctx, method, path, body, out)
		if err == nil {
			return nil
		}
		if !retryable(err) || attempt >= c.attempts || ctx.Err() != nil {
			return wrapUnavailable(op, err)
		}
		wait := jitter(c.backoff, attempt)
		var be *bapiError
		if errors.As(err, &be) && be.RetryAfter > wait {
			wait = be.RetryAfter
		}
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < wait {
			return wrapUnavailable(op, err) // the budget cannot cover the wait
		}
		if c.sleep(ctx, wait) != nil {
			return wrapUnavailable(op, err)
		}
	}
}

// wrapUnavailable leaves answers typed as bapiError and wraps the rest.
func wrapUnavailable(op string, err error) error {
	var be *bapiError
	if errors.As(err, &be) {
		return err
	}
	return &bapiUnavailableError{Op: op, Err: err}
}

// retryable: rate limits, server errors and transport failures.
func retryable(err error) bool {
	var be *bapiError
	if errors.As(err, &be) {
		return be.Status == http.StatusTooManyRequests || be.Status >= 500
	}
	var de *decodeError
	return !errors.As(err, &de)
}

// decodeError is a 2xx answer whose body is not the JSON expected; retrying
// would not change it.
type decodeError struct{ err error }

func (e *decodeError) Error() string { return "decoding the answer: " + e.err.Error() }

// once performs a single attempt.
func (c *bapiClient) once(ctx context.Context, method, path string, body []byte, out any) error {
	ctx, cancel := context.WithTimeout(ctx, bapiAttemptTimeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", c.auth)
	req.Header.Set("Clerk-API-Version", clerkAPIVersion)
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return stripURL(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, bapiMaxBody+1))
	if err != nil {
		return err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return answerError(resp, data)
	}
	if len(data) > bapiMaxBody {
		return &decodeError{errors.New("answer larger than 1 MiB")}
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return &decodeError{err}
		}
	}
	return nil
}

// stripURL drops the URL from a transport error: the operation names it
// already, and messages stay short.
func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// answerError reads Clerk's error shape {"errors":[{"code","message"}]}.
func answerError(resp *http.Response, data []byte) *bapiError {
	e := &bapiError{Status: resp.StatusCode, RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())}
	var answer struct {
		Errors []struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"errors"`
	}
	if json.Unmarshal(data, &answer) == nil && len(answer.Errors) > 0 {
		e.Code, e.Message = answer.Errors[0].Code, answer.Errors[0].Message
		if len(e.Message) > 200 {
			e.Message = e.Message[:200]
		}
	}
	return e
}

// parseRetryAfter reads delta-seconds or an HTTP date; 0 when absent or bad.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		return time.Duration(min(secs, 3600)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return min(t.Sub(now), time.Hour)
	}
	return 0
}

// jitter is "full jitter" exponential backoff: a random wait between half
// and all of base·2^(attempt-1), capped at bapiBackoffMax.
func jitter(base time.Duration, attempt int) time.Duration {
	d := min(base<<(attempt-1), bapiBackoffMax)
	if d <= 0 {
		return 0
	}
	return d/2 + rand.N(d/2+1)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// bapiFailures counts Backend API calls that failed, by operation
// (user, session, api_key, m2m_token, oauth_token) and kind (the HTTP
// status, or "unavailable").
var bapiFailures = prometheus.NewCounterVec(prometheus.CounterOpts{
	Namespace: "caddy",
	Subsystem: "clerk",
	Name:      "backend_api_failures_total",
	Help:      "Clerk Backend API calls that failed, by operation and status (or unavailable).",
}, []string{"operation", "status"})

// countFailure records a failed call.
func countFailure(operation string, err error) {
	status := "unavailable"
	if s := bapiStatus(err); s != 0 {
		status = strconv.Itoa(s)
	}
	bapiFailures.WithLabelValues(operation, status).Inc()
}

// registerCollector adds a package-level collector to a config's metrics
// registry; a second registration (another handler, a reload) is fine.
func registerCollector(reg *prometheus.Registry, c prometheus.Collector) error {
	if reg == nil {
		return nil
	}
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if !errors.As(err, &are) {
			return fmt.Errorf("registering metrics: %v", err)
		}
	}
	return nil
}
