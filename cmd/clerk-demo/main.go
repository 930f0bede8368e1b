// Command clerk-demo runs caddy-clerk end to end on this machine, with no
// Clerk account: a local Clerk instance (package clerktest), a small upstream
// that echoes the identity it receives, and Caddy with clerk_auth in front of
// it. It prints what to try.
//
//	go run ./cmd/clerk-demo            # serve until Ctrl-C
//	go run ./cmd/clerk-demo -check     # run the tour itself and exit
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/caddy-clerk/caddy-clerk"
	"github.com/caddy-clerk/caddy-clerk/clerktest"
)

func main() {
	addr := flag.String("addr", "localhost:8080", "where Caddy listens")
	check := flag.Bool("check", false, "run the tour against the demo, print it and exit")
	flag.Parse()
	if err := run(*addr, *check, os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// run starts the three parts; with check it walks the tour and stops,
// otherwise it serves until interrupted.
func run(addr string, check bool, out io.Writer) error {
	clerk, err := clerktest.New(clerktest.Options{Host: "clerk.demo.test", TokenLifetime: time.Hour})
	if err != nil {
		return fmt.Errorf("starting the local Clerk instance: %v", err)
	}
	defer clerk.Close()

	upstream, err := startUpstream(clerk)
	if err != nil {
		return err
	}
	defer upstream.Close()

	if err := startCaddy(addr, clerk, upstream.Addr().String()); err != nil {
		return err
	}
	defer caddy.Stop() //nolint:errcheck // shutting down

	base := "http://" + addr
	token := clerk.Mint(clerktest.Session{
		UserID: "user_demo", SessionID: "sess_demo",
		Org: &clerktest.Org{ID: "org_demo", Slug: "acme", Role: "admin", Permissions: []string{"org:invoices:read"}},
	})
	if check {
		return tour(out, base, token)
	}
	fmt.Fprintf(out, `
caddy-clerk demo: Caddy with clerk_auth on %[1]s, a local Clerk instance, an upstream that echoes identity.

  Public page (no sign-in):       curl -i %[1]s/
  Protected API, no token (401):  curl -i %[1]s/api/me
  Protected API, signed in:       curl -i -H "Authorization: Bearer $TOKEN" %[1]s/api/me
  Protected page in a browser:    %[1]s/dashboard  (redirects to the local sign-in page)
  A fresh token any time:         curl -s %[1]s/sign-in?format=token

TOKEN=%[2]s

Press Ctrl-C to stop.
`, base, token)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	<-ctx.Done()
	return nil
}

// startCaddy loads a Caddyfile config into the in-process Caddy.
func startCaddy(addr string, clerk *clerktest.Instance, upstream string) error {
	caddyfile := fmt.Sprintf(`{
	admin off
	persist_config off
}

http://%s {
	clerk_auth {
		publishable_key %s
		secret_key %s
		frontend_api %s
		api_url %s
		sign_in_url /sign-in
		public_routes / /sign-in(.*)
		api_routes /api/(.*)
	}
	reverse_proxy %s
}
`, addr, clerk.PublishableKey(), clerk.SecretKey(), clerk.FrontendAPIURL(), clerk.BackendAPIURL(), upstream)
	cfg, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(caddyfile), nil)
	if err != nil {
		return fmt.Errorf("adapting the demo Caddyfile: %v", err)
	}
	if err := caddy.Load(cfg, true); err != nil {
		return fmt.Errorf("starting Caddy: %v", err)
	}
	return nil
}

// startUpstream serves the app behind Caddy: a sign-in page that hands out
// fresh tokens and, everywhere else, the identity headers it received.
func startUpstream(clerk *clerktest.Instance) (net.Listener, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/sign-in", func(w http.ResponseWriter, r *http.Request) {
		token := clerk.Mint(clerktest.Session{UserID: "user_demo"})
		if r.URL.Query().Get("format") == "token" {
			fmt.Fprintln(w, token)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, "<h1>Local sign-in</h1><p>You were sent here from <code>%s</code>.</p>"+
			"<p>Use this token as <code>Authorization: Bearer</code>:</p><pre>%s</pre>",
			htmlEscape(r.URL.Query().Get("redirect_url")), token)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(w, "%s %s\n", r.Method, r.URL.Path)
		for _, name := range []string{"X-Clerk-User-Id", "X-Clerk-Session-Id", "X-Clerk-Org-Id",
			"X-Clerk-Org-Role", "X-Clerk-Org-Slug", "X-Clerk-Org-Permissions"} {
			if v := r.Header.Get(name); v != "" {
				fmt.Fprintf(w, "%s: %s\n", name, v)
			}
		}
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln) //nolint:errcheck // ends when the listener closes
	return ln, nil
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}

// tour makes the requests the banner suggests and checks their answers.
func tour(out io.Writer, base, token string) error {
	client := &http.Client{
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	steps := []struct {
		name, path, auth, accept string
		status                   int
		bodyHas                  string
	}{
		{"public page", "/", "", "", http.StatusOK, "GET /"},
		{"API without a token", "/api/me", "", "", http.StatusUnauthorized, ""},
		{"API with a token", "/api/me", "Bearer " + token, "", http.StatusOK, "X-Clerk-User-Id: user_demo"},
		{"page without a session", "/dashboard", "", "text/html", http.StatusTemporaryRedirect, ""},
	}
	for _, s := range steps {
		req, err := http.NewRequest(http.MethodGet, base+s.path, nil)
		if err != nil {
			return err
		}
		if s.auth != "" {
			req.Header.Set("Authorization", s.auth)
		}
		if s.accept != "" {
			req.Header.Set("Accept", s.accept)
		}
		resp, err := client.Do(req)
		if err != nil {
			return fmt.Errorf("%s: %v", s.name, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Fprintf(out, "%-24s %s -> %d %s\n", s.name, s.path, resp.StatusCode, resp.Header.Get("Location"))
		if resp.StatusCode != s.status || !strings.Contains(string(body), s.bodyHas) {
			return fmt.Errorf("%s: got %d %q, want %d with %q", s.name, resp.StatusCode, body, s.status, s.bodyHas)
		}
	}
	fmt.Fprintln(out, "demo tour passed")
	return nil
}
