package demo

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/caddy-clerk/caddy-clerk/clerktest"
)

// Tour walks what the banner suggests, as curl and as a browser would, and
// checks every answer: the public page, the API without and with a token,
// then a browser session: the protected page sends it to sign in, signing in
// on the account portal brings it back signed in, the API answers the page's
// cookies, and signing out sends it to sign in again.
func (d *Demo) Tour(out io.Writer) error {
	token := d.Clerk.Mint(clerktest.Session{UserID: "user_demo", SessionID: "sess_curl", Expiry: time.Now().Add(time.Hour)})
	curl := &http.Client{Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, s := range []struct {
		name, path, auth string
		status           int
		bodyHas          string
	}{
		{"public page", "/", "", 200, "This page is public"},
		{"API without a token", "/api/me", "", 401, ""},
		{"API with a token", "/api/me", "Bearer " + token, 200, `"user_id":"user_demo"`},
	} {
		req, _ := http.NewRequest(http.MethodGet, d.AppURL+s.path, nil)
		if s.auth != "" {
			req.Header.Set("Authorization", s.auth)
		}
		status, body, err := do(curl, req)
		if err != nil {
			return fmt.Errorf("%s: %v", s.name, err)
		}
		fmt.Fprintf(out, "%-28s GET %s -> %d\n", s.name, s.path, status)
		if status != s.status || !strings.Contains(body, s.bodyHas) {
			return fmt.Errorf("%s: got %d %q, want %d with %q", s.name, status, body, s.status, s.bodyHas)
		}
	}

	b := clerktest.NewBrowser(nil)
	step := func(name string, hops []string, err error, lastHas, bodyHas string) error {
		if err != nil {
			return fmt.Errorf("%s: %v", name, err)
		}
		fmt.Fprintf(out, "%-28s %d hops: %s\n", name, len(hops), strings.Join(shorten(hops), " -> "))
		if last := hops[len(hops)-1]; b.Status != http.StatusOK || !strings.HasPrefix(last, lastHas) || !strings.Contains(b.Body, bodyHas) {
			return fmt.Errorf("%s: ended at %s with %d %q, want %s with 200 %q", name, last, b.Status, b.Body, lastHas, bodyHas)
		}
		return nil
	}
	hops, err := b.Navigate(http.MethodGet, d.AppURL+"/dashboard", nil)
	if err := step("page without a session", hops, err, d.SignInURL, `id="sign-in"`); err != nil {
		return err
	}
	// Submit the portal's form as the browser would.
	signIn, _ := url.Parse(hops[len(hops)-1])
	form := url.Values{"user_id": {"user_demo"}, "org_id": {"org_acme"}, "org_slug": {"acme"}, "org_role": {"admin"},
		"redirect_url": {signIn.Query().Get("redirect_url")}, "__clerk_db_jwt": {signIn.Query().Get("__clerk_db_jwt")}}
	hops, err = b.Navigate(http.MethodPost, d.Clerk.FrontendAPIURL()+clerktest.FrontendSignInPath, form)
	if err := step("sign in on the portal", hops, err, d.AppURL+"/dashboard", `<code id="user-id">user_demo</code>`); err != nil {
		return err
	}
	req, _ := http.NewRequest(http.MethodGet, d.AppURL+"/api/me", nil)
	status, body, err := do(b.Client, req)
	fmt.Fprintf(out, "%-28s GET /api/me -> %d %s\n", "API with the session cookie", status, strings.TrimSpace(body))
	if err != nil || status != 200 || !strings.Contains(body, `"org_id":"org_acme"`) {
		return fmt.Errorf("API with the session cookie: %d %q %v", status, body, err)
	}
	signOut := url.Values{"redirect_url": {d.AppURL + "/dashboard"}}
	hops, err = b.Navigate(http.MethodPost, d.Clerk.FrontendAPIURL()+clerktest.FrontendSignOutPath, signOut)
	if err := step("sign out", hops, err, d.SignInURL, `id="sign-in"`); err != nil {
		return err
	}
	fmt.Fprintln(out, "demo tour passed")
	return nil
}

func do(c *http.Client, req *http.Request) (int, string, error) {
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, string(body), nil
}

// shorten drops query strings from hops for printing.
func shorten(hops []string) []string {
	out := make([]string, len(hops))
	for i, h := range hops {
		if u, err := url.Parse(h); err == nil {
			out[i] = u.Host + u.Path
			if u.Query().Get("__clerk_handshake_nonce") != "" {
				out[i] += " (handshake nonce)"
			}
		}
	}
	return out
}
