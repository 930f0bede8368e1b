package main

import (
	"bytes"
	"net"
	"strings"
	"testing"
)

// TestDemoTour runs the README's demo end to end: local Clerk, Caddy with
// clerk_auth, the echoing upstream, and the tour of requests.
func TestDemoTour(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	var out bytes.Buffer
	if err := run(addr, true, &out); err != nil {
		t.Fatalf("demo tour failed: %v\n%s", err, out.String())
	}
	for _, want := range []string{"public page", "API with a token", "-> 307 http://" + addr + "/sign-in?redirect_url=", "demo tour passed"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("tour output lacks %q:\n%s", want, out.String())
		}
	}
}
