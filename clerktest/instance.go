package clerktest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Defaults applied to zero [Options] fields and zero [Session] fields.
const (
	// DefaultHost is the Frontend API host used when Options.Host is empty.
	DefaultHost = "clerk.example.test"
	// DefaultKeyBits is the RSA key size used when Options.KeyBits is zero.
	DefaultKeyBits = 2048
	// DefaultAddr is the listen address used for both servers when
	// Options.FrontendAddr or Options.BackendAddr is empty.
	DefaultAddr = "127.0.0.1:0"
	// DefaultTokenLifetime is the session token lifetime used when
	// Options.TokenLifetime is zero.
	DefaultTokenLifetime = 60 * time.Second
	// DefaultAuthorizedParty is the azp claim minted when
	// Session.AuthorizedParty is empty.
	DefaultAuthorizedParty = "https://app.example.test"
)

// closeTimeout bounds how long Close waits for connections to drain before
// it closes them forcibly.
const closeTimeout = 2 * time.Second

// Options configure an Instance. Zero values give sensible defaults.
type Options struct {
	// Host is the Frontend API host baked into the publishable key and the
	// issuer; default DefaultHost ("clerk.example.test"). It is not
	// validated, so malformed hosts can be used to test key validation.
	Host string
	// Live selects pk_live_/sk_live_ keys (a production instance) instead
	// of pk_test_/sk_test_.
	Live bool
	// KeyBits is the RSA size of signing keys; default DefaultKeyBits
	// (2048). Go refuses sizes below 1024.
	KeyBits int
	// FrontendAddr is the listen address of the FAPI server; default
	// DefaultAddr ("127.0.0.1:0", a free loopback port).
	FrontendAddr string
	// BackendAddr is the listen address of the BAPI server; default
	// DefaultAddr ("127.0.0.1:0", a free loopback port).
	BackendAddr string
	// TokenLifetime is the default lifetime of minted session tokens;
	// default DefaultTokenLifetime (60s). A negative value mints tokens
	// that are already expired.
	TokenLifetime time.Duration

	// SignInUsers are offered on the account portal's sign-in page (any
	// user id can be typed in as well). See fapi.go and portal.go.
	SignInUsers []SignInUser
	// RefreshCookies makes the handshake also set the HttpOnly
	// __refresh_<suffix> cookie, which the Backend API's
	// POST /v1/sessions/{id}/refresh accepts.
	RefreshCookies bool
	// AllowedOrigins are the origins (scheme://host[:port]) the Frontend
	// API and the account portal redirect to and accept forms from.
	// Default: loopback hosts, localhost, and the domain Host belongs to
	// ("clerk.app.test": app.test and its subdomains).
	AllowedOrigins []string
}

func (o Options) withDefaults() Options {
	if o.Host == "" {
		o.Host = DefaultHost
	}
	if o.KeyBits == 0 {
		o.KeyBits = DefaultKeyBits
	}
	if o.FrontendAddr == "" {
		o.FrontendAddr = DefaultAddr
	}
	if o.BackendAddr == "" {
		o.BackendAddr = DefaultAddr
	}
	if o.TokenLifetime == 0 {
		o.TokenLifetime = DefaultTokenLifetime
	}
	return o
}

// Instance is a running local Clerk instance: its keys, its Frontend API
// server and its Backend API server. All methods are safe for concurrent
// use. Create one with New or Start and release it with Close.
type Instance struct {
	opts           Options
	publishableKey string
	secretKey      string

	mu      sync.RWMutex
	keys    []*signingKey // published keys, oldest first
	current *signingKey   // always one of keys
	jwks    []byte        // JSON of keys, rebuilt on every change

	mode       atomic.Int32
	fetches    atomic.Int64
	apiVersion atomic.Pointer[string]

	frontend    *server
	backend     *server
	frontendMux *http.ServeMux
	backendMux  *http.ServeMux
	inflight    tracker
	bapi        bapiState    // users, sessions, machine tokens, webhooks (bapi.go)
	browser     browserState // clients, handshakes, the account portal (fapi.go)

	closing   chan struct{}
	closeOnce sync.Once
}

// New creates an instance and starts its FAPI and BAPI servers, each a real
// http.Server on its own listener.
func New(opts Options) (*Instance, error) {
	o := opts.withDefaults()
	i := &Instance{
		opts:           o,
		publishableKey: publishableKey(o.Host, o.Live),
		secretKey:      secretKey(o.Live),
		closing:        make(chan struct{}),
	}
	i.inflight.init()
	empty := ""
	i.apiVersion.Store(&empty)

	var err error
	i.frontend, err = listen(o.FrontendAddr, i.track(i.newFrontendMux()))
	if err != nil {
		return nil, fmt.Errorf("clerktest: frontend API: %w", err)
	}
	i.backend, err = listen(o.BackendAddr, i.track(i.newBackendMux()))
	if err != nil {
		i.frontend.shutdown()
		return nil, fmt.Errorf("clerktest: backend API: %w", err)
	}
	i.mountBackendAPI()
	i.mountBrowserSessions()
	key, err := newSigningKey(o.KeyBits)
	if err != nil {
		i.frontend.shutdown()
		i.backend.shutdown()
		return nil, fmt.Errorf("clerktest: generating a %d-bit signing key: %w", o.KeyBits, err)
	}
	i.keys = []*signingKey{key}
	i.current = key
	i.rebuildJWKSLocked()
	i.frontend.serve()
	i.backend.serve()
	return i, nil
}

// Start is New for tests: it fails the test at once if the instance cannot
// be created, and registers Close with t.Cleanup.
func Start(t testing.TB, opts Options) *Instance {
	t.Helper()
	i, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(i.Close)
	return i
}

// Close stops both servers. It first releases every request held by
// JWKSHang, then waits for all in-flight handlers and server goroutines to
// finish, so nothing started by the instance outlives the call. Close is
// idempotent.
func (i *Instance) Close() {
	i.closeOnce.Do(func() {
		close(i.closing)
		var wg sync.WaitGroup
		for _, s := range []*server{i.frontend, i.backend} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s.shutdown()
			}()
		}
		wg.Wait()
		i.inflight.closeAndWait()
	})
}

// Host returns the Frontend API host, as encoded in the publishable key.
func (i *Instance) Host() string { return i.opts.Host }

// Issuer returns the iss claim of minted tokens: "https://" + Host().
func (i *Instance) Issuer() string { return "https://" + i.opts.Host }

// Live reports whether the instance is a production instance (pk_live_ and
// sk_live_ keys).
func (i *Instance) Live() bool { return i.opts.Live }

// TokenLifetime returns the default lifetime of minted session tokens.
func (i *Instance) TokenLifetime() time.Duration { return i.opts.TokenLifetime }

// FrontendAPIURL returns the base URL of the FAPI server, for example
// "http://127.0.0.1:40123", without a trailing slash.
func (i *Instance) FrontendAPIURL() string { return i.frontend.url }

// BackendAPIURL returns the base URL of the BAPI server, for example
// "http://127.0.0.1:40124", without a trailing slash and without the "/v1"
// version segment (use it as Clerk's apiUrl).
func (i *Instance) BackendAPIURL() string { return i.backend.url }

// track wraps h so Close can wait for the handler to return; requests that
// arrive after Close started get 503.
func (i *Instance) track(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !i.inflight.enter() {
			writeClerkError(w, http.StatusServiceUnavailable, "service_unavailable",
				"Service unavailable", "The local Clerk instance is shutting down.")
			return
		}
		defer i.inflight.exit()
		h.ServeHTTP(w, r)
	})
}

// tracker counts in-flight handlers.
type tracker struct {
	mu     sync.Mutex
	zero   *sync.Cond
	n      int
	closed bool
}

func (t *tracker) init() { t.zero = sync.NewCond(&t.mu) }

func (t *tracker) enter() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return false
	}
	t.n++
	return true
}

func (t *tracker) exit() {
	t.mu.Lock()
	t.n--
	if t.n == 0 {
		t.zero.Broadcast()
	}
	t.mu.Unlock()
}

func (t *tracker) closeAndWait() {
	t.mu.Lock()
	t.closed = true
	for t.n > 0 {
		t.zero.Wait()
	}
	t.mu.Unlock()
}

// server is one HTTP server on its own listener.
type server struct {
	srv     *http.Server
	ln      net.Listener
	url     string
	started bool          // set by serve, before any concurrency
	done    chan struct{} // closed when Serve has returned
}

func listen(addr string, h http.Handler) (*server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	return &server{
		srv: &http.Server{
			Handler:           h,
			ReadHeaderTimeout: 10 * time.Second,
		},
		ln:   ln,
		url:  baseURL(ln.Addr()),
		done: make(chan struct{}),
	}, nil
}

func (s *server) serve() {
	s.started = true
	go func() {
		defer close(s.done)
		_ = s.srv.Serve(s.ln)
	}()
}

// shutdown drains the server gracefully, closes it forcibly after
// closeTimeout, and waits for Serve to return.
func (s *server) shutdown() {
	if !s.started {
		_ = s.ln.Close()
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	if err := s.srv.Shutdown(ctx); err != nil {
		_ = s.srv.Close()
	}
	<-s.done
}

// baseURL returns "http://host:port" for a listener address, mapping an
// unspecified IP (0.0.0.0, ::) to the matching loopback address.
func baseURL(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return "http://" + a.String()
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		if ip.To4() != nil {
			host = "127.0.0.1"
		} else {
			host = "::1"
		}
	}
	return "http://" + net.JoinHostPort(host, port)
}
