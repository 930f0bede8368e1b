// Command clerk-demo runs caddy-clerk end to end on this machine, with no
// Clerk account: a local Clerk instance (package clerktest) with its account
// portal, an upstream app that shows the identity it receives, and Caddy with
// clerk_auth in front of it. Open the printed URL in a browser, sign in on the
// local account portal, and sign out again.
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
	"os"
	"os/signal"
	"time"

	"github.com/caddy-clerk/caddy-clerk/clerktest"
	"github.com/caddy-clerk/caddy-clerk/internal/demo"
)

func main() {
	addr := flag.String("addr", "localhost:8080", "where Caddy listens")
	clerkAddr := flag.String("clerk-addr", "127.0.0.1:0", "where the local Clerk (Frontend API and account portal) listens")
	lifetime := flag.Duration("token-lifetime", 60*time.Second, "session token lifetime (Clerk's is 60s)")
	check := flag.Bool("check", false, "run the tour against the demo, print it and exit")
	flag.Parse()
	if err := run(demo.Options{Addr: *addr, ClerkAddr: *clerkAddr, TokenLifetime: *lifetime}, *check, os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// run starts the demo; with check it walks the tour and stops, otherwise it
// serves until interrupted.
func run(o demo.Options, check bool, out io.Writer) error {
	d, err := demo.Start(o)
	if err != nil {
		return err
	}
	defer d.Close()
	if check {
		return d.Tour(out)
	}
	token := d.Clerk.Mint(clerktest.Session{UserID: "user_demo", SessionID: "sess_curl", Expiry: time.Now().Add(time.Hour),
		Org: &clerktest.Org{ID: "org_acme", Slug: "acme", Role: "admin", Permissions: []string{"org:invoices:read"}}})
	fmt.Fprintf(out, `
caddy-clerk demo: Caddy with clerk_auth on %[1]s, a local Clerk instance with its account portal,
and an upstream app that shows the identity Caddy passes on.

In a browser, open %[1]s/dashboard
  It is protected: you are sent to the local account portal to sign in, then the dashboard shows
  who you are, as the upstream received it from Caddy, and calls the API from the page. "Sign out"
  ends the session. Session tokens live %[4]gs, as Clerk's do: come back later and the handshake
  renews yours without a sign-in.

With curl:
  Public page:                    curl -i %[1]s/
  Protected API, no token (401):  curl -i %[1]s/api/me
  Protected API, signed in:       curl -i -H "Authorization: Bearer $TOKEN" %[1]s/api/me

TOKEN=%[2]s
(valid for an hour; the local account portal is at %[3]s)

Press Ctrl-C to stop.
`, d.AppURL, token, d.SignInURL, d.Clerk.TokenLifetime().Seconds())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	<-ctx.Done()
	return nil
}
