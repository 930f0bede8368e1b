package e2e

// The real-browser end-to-end test: headless Chromium (Debian's package),
// the demo (Caddy with clerk_auth, a local Clerk with its account portal, an
// upstream app) on real host names mapped to loopback, and a person's
// session: sent to sign in, signed in, the token expires and a handshake
// renews it without a loop, the page calls the API with and without the
// token, signed out and sent to sign in again. Screenshots of every step go
// to e2e/artifacts/<instance>/.
//
// It fails, and never skips, when Chromium is missing: `.ci/run` installs it
// with apt-get; locally, `apt-get install chromium` once.

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddy-clerk/caddy-clerk/internal/demo"
)

// tokenLifetime is short so that the test sees tokens expire; Clerk's is 60s.
const tokenLifetime = 4 * time.Second

func TestBrowserSessions(t *testing.T) {
	browser := startChromium(t, "MAP app.test 127.0.0.1, MAP *.app.test 127.0.0.1")
	for _, tc := range []struct {
		name       string
		live       bool
		clerkNames bool // app.test and clerk.app.test; else the demo's own localhost and 127.0.0.1
	}{{"development", false, true}, {"production", true, true}, {"demo-defaults", false, false}} {
		t.Run(tc.name, func(t *testing.T) { browserScenario(t, browser, tc.name, tc.live, tc.clerkNames) })
	}
}

// docLog records the document requests of a page, in order, with the
// status of the redirects between them.
type docLog struct {
	mu        sync.Mutex
	urls      []string
	redirects int
}

func (l *docLog) reset() {
	l.mu.Lock()
	l.urls, l.redirects = nil, 0
	l.mu.Unlock()
}

func (l *docLog) snapshot() ([]string, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.urls...), l.redirects
}

func recordDocuments(c *chromium, p *page) *docLog {
	l := &docLog{}
	c.onEvent(func(m cdpMessage) {
		if m.Method != "Network.requestWillBeSent" || m.SessionID != p.session {
			return
		}
		var ev struct {
			Type    string `json:"type"`
			Request struct {
				URL    string `json:"url"`
				Method string `json:"method"`
			} `json:"request"`
			RedirectResponse *struct {
				Status int `json:"status"`
			} `json:"redirectResponse"`
		}
		if json.Unmarshal(m.Params, &ev) != nil || ev.Type != "Document" {
			return
		}
		l.mu.Lock()
		l.urls = append(l.urls, ev.Request.Method+" "+ev.Request.URL)
		if ev.RedirectResponse != nil {
			l.redirects++
		}
		l.mu.Unlock()
	})
	return l
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

func browserScenario(t *testing.T, browser *chromium, name string, live, clerkNames bool) {
	artifacts := filepath.Join("artifacts", name)
	if err := os.RemoveAll(artifacts); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatal(err)
	}
	appPort, clerkPort := freePort(t), freePort(t)
	app, fapi := "http://app.test:"+appPort, "http://clerk.app.test:"+clerkPort
	opts := demo.Options{
		AppURL:        app,
		ClerkHost:     "clerk.app.test",
		ClerkAddr:     "127.0.0.1:" + clerkPort,
		FrontendURL:   fapi,
		AccountsURL:   "http://accounts.app.test:" + clerkPort,
		TokenLifetime: tokenLifetime,
		ClockSkew:     "0s",
		Live:          live,
	}
	if !clerkNames {
		// What `go run ./cmd/clerk-demo` gives a person: the app on
		// localhost, the local Clerk on 127.0.0.1.
		app, fapi = "http://localhost:"+appPort, "http://127.0.0.1:"+clerkPort
		opts = demo.Options{Addr: "localhost:" + appPort, ClerkAddr: "127.0.0.1:" + clerkPort, TokenLifetime: tokenLifetime, ClockSkew: "0s"}
	}
	d, err := demo.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	p := browser.newPage(t)
	docs := recordDocuments(browser, p)
	shot := func(n int, what string) { p.screenshot(filepath.Join(artifacts, fmt.Sprintf("%02d-%s.png", n, what))) }
	const wait = 30 * time.Second
	onSignIn := `location.href.startsWith(` + strconv.Quote(d.SignInURL+"?") + `) && document.querySelector("#sign-in")`
	onDashboard := `location.href === ` + strconv.Quote(app+"/dashboard") + ` && document.querySelector("#user-id")`
	handshake := "GET " + fapi + "/v1/client/handshake?"
	expectDocs := func(step string, want ...string) {
		t.Helper()
		got, redirects := docs.snapshot()
		ok := len(got) == len(want) && redirects == len(want)-1
		for i := 0; ok && i < len(want); i++ {
			ok = strings.HasPrefix(got[i], want[i])
		}
		if !ok {
			t.Fatalf("%s: the browser went (%d redirects)\n  %s\nwant\n  %s", step, redirects, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
		}
		t.Logf("%s: %d documents, %d redirects", step, len(got), redirects)
	}

	// 1. A protected page sends a new browser to sign in. A development
	// instance first hands it to the Frontend API for a dev browser.
	p.navigate(app + "/dashboard")
	p.waitFor("the sign-in page", onSignIn, wait)
	if live {
		expectDocs("first visit", "GET "+app+"/dashboard", "GET "+d.SignInURL+"?redirect_url=")
	} else {
		expectDocs("first visit", "GET "+app+"/dashboard", handshake, "GET "+app+"/dashboard?__clerk_handshake_nonce=",
			"GET "+app+"/dashboard", "GET "+d.SignInURL+"?redirect_url=")
	}
	shot(1, "sign-in")

	// 2. Sign in as the demo's admin: back on the page, signed in.
	docs.reset()
	p.evalString(`document.querySelector("#user-0").click(), ""`)
	p.waitFor("the dashboard, signed in", onDashboard, wait)
	if got := p.evalString(`document.querySelector("#user-id").textContent`); got != "user_demo" {
		t.Fatalf("the dashboard shows user %q, want user_demo", got)
	}
	if got := p.evalString(`document.querySelector("#identity").textContent`); !strings.Contains(got, "X-Clerk-Org-Id: org_acme") {
		t.Errorf("identity headers: %q", got)
	}
	if live {
		expectDocs("sign-in", "POST "+fapi+"/v1/client/sign_ins", "GET "+app+"/dashboard", handshake, "GET "+app+"/dashboard")
	} else {
		expectDocs("sign-in", "POST "+fapi+"/v1/client/sign_ins", "GET "+app+"/dashboard?__clerk_db_jwt=", handshake,
			"GET "+app+"/dashboard?__clerk_handshake_nonce=", "GET "+app+"/dashboard")
	}
	shot(2, "signed-in")

	// 3. The token expires (and with it the loop counter); a reload goes
	// through exactly one handshake and stays signed in.
	time.Sleep(tokenLifetime + 1500*time.Millisecond)
	docs.reset()
	before := d.Clerk.HandshakeRequests()
	p.call("Page.reload", map[string]any{"ignoreCache": true})
	p.waitFor("the dashboard after the handshake", onDashboard+` && performance.getEntriesByType("navigation")[0].type === "reload"`, wait)
	if got := p.evalString(`document.querySelector("#user-id").textContent`); got != "user_demo" {
		t.Fatalf("after the handshake the dashboard shows user %q", got)
	}
	if n := d.Clerk.HandshakeRequests() - before; n != 1 {
		t.Errorf("%d handshakes for one reload, want 1", n)
	}
	if live {
		expectDocs("reload after expiry", "GET "+app+"/dashboard", handshake, "GET "+app+"/dashboard")
	} else {
		expectDocs("reload after expiry", "GET "+app+"/dashboard", handshake, "GET "+app+"/dashboard?__clerk_handshake_nonce=",
			"GET "+app+"/dashboard")
	}
	shot(3, "after-handshake")

	// 4. The page calls the API: with its cookies, with the token as a
	// Bearer header and no cookies, and with neither.
	p.evalString(`callAPI(), ""`)
	p.waitFor("the API answers", `document.body.dataset.api === "done"`, wait)
	for id, want := range map[string]string{"api-cookie": `200 {"user_id":"user_demo"`, "api-bearer": `200 {"user_id":"user_demo"`, "api-none": "401"} {
		if got := p.evalString(`document.querySelector("#` + id + `").textContent`); !strings.HasPrefix(got, want) {
			t.Errorf("#%s = %q, want %q...", id, got, want)
		}
	}
	shot(4, "api-calls")

	// 5. Sign out on the account portal: sent to sign in again.
	docs.reset()
	p.evalString(`document.querySelector("#sign-out").click(), ""`)
	p.waitFor("the sign-out page", `location.href.startsWith(`+strconv.Quote(d.SignOutURL)+`) && document.querySelector("#sign-out-form")`, wait)
	shot(5, "sign-out")
	p.evalString(`document.querySelector("#sign-out").click(), ""`)
	p.waitFor("the sign-in page after signing out", onSignIn, wait)
	shot(6, "signed-out")

	// 6. The protected page stays out of reach, without a loop.
	docs.reset()
	p.navigate(app + "/dashboard")
	p.waitFor("the sign-in page again", onSignIn+` && performance.getEntriesByType("navigation")[0].name.includes("/sign-in")`, wait)
	if got, redirects := docs.snapshot(); redirects > 4 {
		t.Errorf("signed out, the protected page took %d redirects: %q", redirects, got)
	}
	shot(7, "protected-again")
}
