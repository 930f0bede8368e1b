// Package demo runs caddy-clerk end to end in one process, with no Clerk
// account: a local Clerk instance (package clerktest) with its Frontend API
// and account portal, a small upstream app that shows the identity it
// receives, and Caddy with clerk_auth in front of it. cmd/clerk-demo serves
// it to a person; the e2e tests drive it with a real browser.
package demo

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	_ "github.com/caddyserver/caddy/v2/modules/standard" // reverse_proxy, respond, ...

	_ "github.com/caddy-clerk/caddy-clerk" // clerk_auth
	"github.com/caddy-clerk/caddy-clerk/clerktest"
)

// Options configure the demo. Zero values give the README's demo.
type Options struct {
	// Addr is where Caddy listens; default "localhost:8080".
	Addr string
	// AppURL is the app's URL as the browser reaches it; default
	// "http://" + Addr. Caddy serves it (and only its host).
	AppURL string
	// ClerkHost is the local Clerk instance's Frontend API host, baked into
	// its keys; default "clerk.demo.test".
	ClerkHost string
	// ClerkAddr is where the local Clerk's Frontend API (and account
	// portal) listens; default a free loopback port.
	ClerkAddr string
	// FrontendURL and AccountsURL are how the browser reaches the local
	// Clerk's Frontend API and account portal (both served by one
	// listener); default its loopback URL for both.
	FrontendURL, AccountsURL string
	// TokenLifetime of session tokens; default 60s, as Clerk.
	TokenLifetime time.Duration
	// ClockSkew is clerk_auth's clock_skew, a Caddy duration such as "0s";
	// default Clerk's 5s.
	ClockSkew string
	// Live selects a production instance (pk_live_); default development.
	Live bool
}

// Demo is a running demo.
type Demo struct {
	Clerk *clerktest.Instance
	// AppURL, SignInURL and SignOutURL are the URLs a browser uses.
	AppURL, SignInURL, SignOutURL string

	upstream *http.Server
	opts     Options
}

// The users the account portal offers.
var signInUsers = []clerktest.SignInUser{
	{ID: "user_demo", Name: "Ada (admin of Acme)", Org: &clerktest.Org{ID: "org_acme", Slug: "acme", Role: "admin",
		Permissions: []string{"org:invoices:read", "org:invoices:manage"}}},
	{ID: "user_member", Name: "Grace (member, no organization)"},
}

// Start starts the local Clerk instance, the upstream and Caddy. Caddy is
// process-wide: one demo at a time.
func Start(o Options) (*Demo, error) {
	if o.Addr == "" {
		o.Addr = "localhost:8080"
	}
	if o.AppURL == "" {
		o.AppURL = "http://" + o.Addr
	}
	if o.ClerkHost == "" {
		o.ClerkHost = "clerk.demo.test"
	}
	app, err := url.Parse(o.AppURL)
	if err != nil || app.Scheme != "http" || app.Host == "" {
		return nil, fmt.Errorf("demo: the app URL must be an http URL, got %q", o.AppURL)
	}
	clerk, err := clerktest.New(clerktest.Options{Host: o.ClerkHost, Live: o.Live, FrontendAddr: o.ClerkAddr,
		TokenLifetime: o.TokenLifetime, SignInUsers: signInUsers})
	if err != nil {
		return nil, fmt.Errorf("starting the local Clerk instance: %v", err)
	}
	if o.FrontendURL == "" {
		o.FrontendURL = clerk.FrontendAPIURL()
	}
	if o.AccountsURL == "" {
		o.AccountsURL = clerk.FrontendAPIURL()
	}
	d := &Demo{Clerk: clerk, AppURL: strings.TrimRight(o.AppURL, "/"), opts: o,
		SignInURL: o.AccountsURL + clerktest.PortalSignInPath, SignOutURL: o.AccountsURL + clerktest.PortalSignOutPath}
	upstream, err := d.startUpstream()
	if err != nil {
		clerk.Close()
		return nil, err
	}
	if err := d.startCaddy(app, upstream); err != nil {
		d.upstream.Close()
		clerk.Close()
		return nil, err
	}
	return d, nil
}

// Close stops Caddy, the upstream and the local Clerk.
func (d *Demo) Close() {
	_ = caddy.Stop()
	_ = d.upstream.Close()
	d.Clerk.Close()
}

// startCaddy loads the demo's Caddyfile into the in-process Caddy.
func (d *Demo) startCaddy(app *url.URL, upstream string) error {
	skew := ""
	if d.opts.ClockSkew != "" {
		skew = "clock_skew " + d.opts.ClockSkew
	}
	caddyfile := fmt.Sprintf(`{
	admin off
	persist_config off
	auto_https off
}

http://%s {
	clerk_auth {
		publishable_key %s
		secret_key %s
		frontend_api %s
		api_url %s
		sign_in_url %s
		public_routes / /favicon.ico
		api_routes /api/(.*)
		%s
	}
	reverse_proxy %s
}
`, app.Host, d.Clerk.PublishableKey(), d.Clerk.SecretKey(), d.opts.FrontendURL, d.Clerk.BackendAPIURL(), d.SignInURL, skew, upstream)
	cfg, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(caddyfile), nil)
	if err != nil {
		return fmt.Errorf("adapting the demo Caddyfile: %v", err)
	}
	if err := caddy.Load(cfg, true); err != nil {
		return fmt.Errorf("starting Caddy: %v", err)
	}
	return nil
}

// startUpstream serves the app behind Caddy: a public home page, a
// protected dashboard that shows the identity Caddy passes on and calls the
// API from the page, and /api/me, which answers with that identity as JSON.
func (d *Demo) startUpstream() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", d.serveHome)
	mux.HandleFunc("GET /dashboard", d.serveDashboard)
	mux.HandleFunc("/api/me", serveMe)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(w, "%s %s\n%s", r.Method, r.URL.Path, identityLines(r))
	})
	d.upstream = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := d.upstream.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Println("demo upstream:", err)
		}
	}()
	return ln.Addr().String(), nil
}

// identityHeaders are the headers clerk_auth sets for a signed-in request.
var identityHeaders = []string{"X-Clerk-User-Id", "X-Clerk-Session-Id", "X-Clerk-Org-Id",
	"X-Clerk-Org-Role", "X-Clerk-Org-Slug", "X-Clerk-Org-Permissions"}

func identityLines(r *http.Request) string {
	var b strings.Builder
	for _, name := range identityHeaders {
		if v := r.Header.Get(name); v != "" {
			fmt.Fprintf(&b, "%s: %s\n", name, v)
		}
	}
	return b.String()
}

func serveMe(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	fmt.Fprintf(w, `{"user_id":%q,"session_id":%q,"org_id":%q,"org_role":%q}`+"\n",
		r.Header.Get("X-Clerk-User-Id"), r.Header.Get("X-Clerk-Session-Id"), r.Header.Get("X-Clerk-Org-Id"), r.Header.Get("X-Clerk-Org-Role"))
}

const pageStyle = `<style>
body{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;color:#1f2328}
code{background:#f0f2f4;padding:.1rem .3rem;border-radius:4px} pre{background:#f6f8fa;padding:.6rem;white-space:pre-wrap;overflow-wrap:anywhere}
a.button,button{display:inline-block;padding:.5rem .9rem;background:#6c47ff;color:#fff;border:0;border-radius:6px;text-decoration:none;font:inherit;cursor:pointer}
</style>`

func (d *Demo) serveHome(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	user := r.Header.Get("X-Clerk-User-Id")
	status := `You are not signed in.`
	if user != "" {
		status = `Signed in as <code id="user-id">` + htmlEscape(user) + `</code>.`
	}
	fmt.Fprintf(w, `<!doctype html><html><head><meta charset="utf-8"><title>caddy-clerk demo</title>%s</head><body>
<h1>caddy-clerk demo</h1><p>This page is public. <span id="status">%s</span></p>
<p><a class="button" id="dashboard" href="/dashboard">Open the dashboard</a> (needs a sign-in)</p>
<p>Every page comes from an upstream app that knows nothing about Clerk: Caddy's <code>clerk_auth</code>
verifies the session and passes the identity on as <code>X-Clerk-*</code> headers.</p></body></html>`, pageStyle, status)
}

func (d *Demo) serveDashboard(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	signOut := d.SignOutURL + "?redirect_url=" + url.QueryEscape(d.AppURL+"/dashboard")
	fmt.Fprintf(w, `<!doctype html><html><head><meta charset="utf-8"><title>Dashboard — caddy-clerk demo</title>%s</head><body>
<h1>Dashboard</h1>
<p>Signed in as <code id="user-id">%s</code></p>
<p>Identity headers the upstream received from Caddy:</p><pre id="identity">%s</pre>
<p><button id="call-api" onclick="callAPI()">Call /api/me from this page</button></p>
<p>With the session cookie: <pre id="api-cookie">…</pre>
With the session token as <code>Authorization: Bearer</code>, no cookies: <pre id="api-bearer">…</pre>
With neither: <pre id="api-none">…</pre></p>
<p><a class="button" id="sign-out" href="%s">Sign out</a> <a href="/">Home</a></p>
<script>
async function show(id, request) {
  const res = await request;
  document.getElementById(id).textContent = res.status + ' ' + (await res.text()).trim();
}
async function callAPI() {
  const cookie = document.cookie.split('; ').find(c => c.startsWith('__session=')) || '';
  const token = cookie.slice('__session='.length);
  await show('api-cookie', fetch('/api/me'));
  await show('api-bearer', fetch('/api/me', {credentials: 'omit', headers: {Authorization: 'Bearer ' + token}}));
  await show('api-none', fetch('/api/me', {credentials: 'omit'}));
  document.body.dataset.api = 'done';
}
</script></body></html>`, pageStyle, htmlEscape(r.Header.Get("X-Clerk-User-Id")), htmlEscape(identityLines(r)), htmlEscape(signOut))
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#39;").Replace(s)
}
