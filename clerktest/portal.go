package clerktest

// The account portal: the sign-in and sign-out pages a Clerk app sends
// browsers to. Clerk serves them on accounts.<domain>; the instance serves
// them on its Frontend API server, whatever host name the browser uses, and
// their forms post to the Frontend API (the accounts.* host name with
// clerk.* in its place, else the same origin).

import (
	"fmt"
	"net/http"
	"strings"
)

// The account portal's pages.
const (
	PortalSignInPath  = "/sign-in"
	PortalSignOutPath = "/sign-out"
)

// SignInUser is a user the account portal's sign-in page offers.
type SignInUser struct {
	// ID is the user id (sub).
	ID string
	// Name is shown on the button; default ID.
	Name string
	// Org is the active organization of the session, nil for none.
	Org *Org
}

// SignInURL returns the account portal's sign-in page on the Frontend API
// server, for example "http://127.0.0.1:40123/sign-in".
func (i *Instance) SignInURL() string { return i.frontend.url + PortalSignInPath }

// SignOutURL returns the account portal's sign-out page.
func (i *Instance) SignOutURL() string { return i.frontend.url + PortalSignOutPath }

func (i *Instance) mountPortal(mux *http.ServeMux) {
	mux.HandleFunc("GET "+PortalSignInPath, i.serveSignInPage)
	mux.HandleFunc("GET "+PortalSignInPath+"/{rest...}", i.serveSignInPage) // /sign-in/tasks and friends
	mux.HandleFunc("GET "+PortalSignOutPath, i.serveSignOutPage)
}

// frontendOrigin is where the portal's forms post: the Frontend API as the
// browser reaches it.
func frontendOrigin(r *http.Request) string {
	if rest, ok := strings.CutPrefix(strings.ToLower(r.Host), "accounts."); ok {
		return "//clerk." + rest
	}
	return ""
}

const portalStyle = `<style>
body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem;color:#1f2328}
h1{font-size:1.4rem} form{display:grid;gap:.6rem;margin:1rem 0} label{display:grid;gap:.2rem;font-size:.9rem}
input{padding:.45rem;font:inherit} button{padding:.55rem;font:inherit;cursor:pointer;background:#6c47ff;color:#fff;border:0;border-radius:6px}
.users button{background:#fff;color:#6c47ff;border:1px solid #6c47ff} small{color:#59636e}
</style>`

func (i *Instance) serveSignInPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	back, dvb := q.Get("redirect_url"), q.Get("__clerk_db_jwt")
	if back != "" {
		if _, err := i.redirectTarget(back); err != nil {
			writeClerkError(w, http.StatusBadRequest, "form_param_value_invalid", "redirect_url is invalid",
				"redirect_url must be an absolute URL on an allowed origin.")
			return
		}
	}
	action := htmlEscape(frontendOrigin(r) + FrontendSignInPath)
	hidden := fmt.Sprintf(`<input type="hidden" name="redirect_url" value="%s"><input type="hidden" name="__clerk_db_jwt" value="%s">`,
		htmlEscape(back), htmlEscape(dvb))
	var b strings.Builder
	fmt.Fprintf(&b, `<!doctype html><html><head><meta charset="utf-8"><title>Sign in — local Clerk</title>%s</head><body>
<h1>Sign in</h1><p><small>Local Clerk instance %s. No passwords: pick who you are.</small></p>`, portalStyle, htmlEscape(i.opts.Host))
	if len(i.opts.SignInUsers) > 0 {
		b.WriteString(`<div class="users">`)
		for n, u := range i.opts.SignInUsers {
			name := u.Name
			if name == "" {
				name = u.ID
			}
			fmt.Fprintf(&b, `<form method="post" action="%s">%s<input type="hidden" name="user_id" value="%s">`, action, hidden, htmlEscape(u.ID))
			if u.Org != nil {
				fmt.Fprintf(&b, `<input type="hidden" name="org_id" value="%s"><input type="hidden" name="org_slug" value="%s">`+
					`<input type="hidden" name="org_role" value="%s"><input type="hidden" name="org_permissions" value="%s">`,
					htmlEscape(u.Org.ID), htmlEscape(u.Org.Slug), htmlEscape(u.Org.Role), htmlEscape(strings.Join(u.Org.Permissions, ",")))
			}
			fmt.Fprintf(&b, `<button type="submit" id="user-%d">Continue as %s</button></form>`, n, htmlEscape(name))
		}
		b.WriteString(`</div><p><small>or any user:</small></p>`)
	}
	fmt.Fprintf(&b, `<form method="post" action="%s" id="sign-in-form">%s
<label>User ID <input name="user_id" id="user_id" value="user_1" required></label>
<label>Organization ID (optional) <input name="org_id" id="org_id"></label>
<label>Organization slug <input name="org_slug" id="org_slug"></label>
<label>Organization role <input name="org_role" id="org_role" placeholder="admin"></label>
<label>Organization permissions <input name="org_permissions" id="org_permissions" placeholder="org:invoices:read, org:invoices:manage"></label>
<button type="submit" id="sign-in">Sign in</button></form></body></html>`, action, hidden)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte(b.String()))
}

func (i *Instance) serveSignOutPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	back := q.Get("redirect_url")
	if back != "" {
		if _, err := i.redirectTarget(back); err != nil {
			writeClerkError(w, http.StatusBadRequest, "form_param_value_invalid", "redirect_url is invalid",
				"redirect_url must be an absolute URL on an allowed origin.")
			return
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	fmt.Fprintf(w, `<!doctype html><html><head><meta charset="utf-8"><title>Sign out — local Clerk</title>%s</head><body>
<h1>Sign out</h1><form method="post" action="%s" id="sign-out-form">
<input type="hidden" name="redirect_url" value="%s"><input type="hidden" name="__clerk_db_jwt" value="%s">
<button type="submit" id="sign-out">Sign out</button></form></body></html>`,
		portalStyle, htmlEscape(frontendOrigin(r)+FrontendSignOutPath), htmlEscape(back), htmlEscape(q.Get("__clerk_db_jwt")))
}
