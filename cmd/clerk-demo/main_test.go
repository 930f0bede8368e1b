package main

import (
	"bytes"
	"net"
	"strings"
	"testing"

	"github.com/caddy-clerk/caddy-clerk/internal/demo"
)

// TestDemoTour runs the README's demo end to end: local Clerk with its
// account portal, Caddy with clerk_auth, the upstream, and the tour of
// requests and of a browser session (sign in, signed in, sign out).
func TestDemoTour(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	var out bytes.Buffer
	if err := run(demo.Options{Addr: addr}, true, &out); err != nil {
		t.Fatalf("demo tour failed: %v\n%s", err, out.String())
	}
	for _, want := range []string{"public page", "API with a token", "page without a session", "/v1/client/handshake",
		"sign in on the portal", "API with the session cookie", "sign out", "demo tour passed"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("tour output lacks %q:\n%s", want, out.String())
		}
	}
	t.Log("\n" + out.String())
}
