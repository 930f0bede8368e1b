package clerktest

// Browser sessions: the Frontend API's clients, sessions, dev browsers and
// handshake, and the Backend API endpoints that go with them (handshake
// payloads and session refresh). The account portal pages are in portal.go.

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // see cookieSuffix
	"encoding/base64"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The browser-session paths the instance serves.
const (
	// FrontendHandshakePath is the Frontend API's handshake: GET with
	// redirect_url, format (nonce or token), suffixed_cookies, __session,
	// __clerk_db_jwt and __clerk_hs_reason, as Clerk's SDKs send it.
	FrontendHandshakePath = "/v1/client/handshake"
	// FrontendDevBrowserPath issues a dev browser token (POST).
	FrontendDevBrowserPath = "/v1/dev_browser"
	// FrontendSignInPath creates a session for the user a form names (POST,
	// from the account portal's sign-in page).
	FrontendSignInPath = "/v1/client/sign_ins"
	// FrontendSignOutPath ends the client's session (POST, from the
	// account portal's sign-out page).
	FrontendSignOutPath = "/v1/client/sign_out"
	// BackendHandshakePayloadPath redeems a handshake nonce:
	// GET ?nonce=<nonce> answers {"directives": [...]}.
	BackendHandshakePayloadPath = "/v1/clients/handshake_payload"
	// BackendRefreshPattern refreshes an expired session token with the
	// __refresh cookie's token: POST /v1/sessions/{id}/refresh.
	BackendRefreshPattern = "/v1/sessions/{id}/refresh"

	// ClientCookie is the Frontend API's own cookie naming the browser's
	// client, on the Frontend API host only.
	ClientCookie = "__client"

	// handshakeNonceLifetime bounds how long a nonce can be redeemed (once).
	handshakeNonceLifetime = 5 * time.Minute
)

// ErrBadRedirect is returned for a redirect URL the instance does not
// redirect to (see Options.AllowedOrigins).
var ErrBadRedirect = errors.New("clerktest: redirect_url is not an allowed origin")

// Client is a browser as the Frontend API knows it: its client id, dev
// browser token and at most one signed-in session.
type Client struct {
	i  *Instance
	id string
}

// browserState holds the Frontend API's clients (with their sessions and
// refresh tokens) and the one-time handshake nonces. Guarded by mu.
type browserState struct {
	mu          sync.Mutex
	clients     map[string]*clientRecord // by client cookie value
	devBrowsers map[string]*clientRecord // by dev browser token
	nonces      map[string]nonceRecord
	handshakes  int64
}

type clientRecord struct {
	token      string // the __client cookie value
	devBrowser string
	uat        int64 // client_uat: when the session last changed, 0 signed out
	session    *browserSession
}

type browserSession struct {
	id, userID   string
	org          *Org
	refreshToken string
}

type nonceRecord struct {
	directives []string
	expires    time.Time
}

func (s *browserState) init() {
	s.clients = map[string]*clientRecord{}
	s.devBrowsers = map[string]*clientRecord{}
	s.nonces = map[string]nonceRecord{}
}

// mountBrowserSessions registers the handshake, dev browser, sign-in and
// sign-out endpoints and the account portal on the Frontend API server,
// and handshake payloads and refresh on the Backend API server.
func (i *Instance) mountBrowserSessions() {
	i.browser.init()
	f := i.frontendMux
	f.HandleFunc("GET "+FrontendHandshakePath, i.serveHandshake)
	f.HandleFunc("POST "+FrontendDevBrowserPath, i.serveDevBrowser)
	f.HandleFunc("POST "+FrontendSignInPath, i.serveSignIn)
	f.HandleFunc("POST "+FrontendSignOutPath, i.serveSignOut)
	i.mountPortal(f)
	i.backendMux.Handle("GET "+BackendHandshakePayloadPath, i.requireSecretKey(http.HandlerFunc(i.serveHandshakePayload), false))
	i.backendMux.Handle("POST "+BackendRefreshPattern, i.requireSecretKey(http.HandlerFunc(i.serveRefresh), false))
}

// NewClient returns a new, signed-out client with a dev browser token, as a
// browser gets on its first visit.
func (i *Instance) NewClient() *Client {
	i.browser.mu.Lock()
	defer i.browser.mu.Unlock()
	return &Client{i: i, id: i.newClientLocked().token}
}

func (i *Instance) newClientLocked() *clientRecord {
	c := &clientRecord{token: NewID("client_"), devBrowser: NewID("dvb_")}
	i.browser.clients[c.token] = c
	i.browser.devBrowsers[c.devBrowser] = c
	return c
}

// ClientByDevBrowser returns the client a dev browser token belongs to.
func (i *Instance) ClientByDevBrowser(token string) (*Client, bool) {
	i.browser.mu.Lock()
	defer i.browser.mu.Unlock()
	c, ok := i.browser.devBrowsers[token]
	if !ok {
		return nil, false
	}
	return &Client{i: i, id: c.token}, true
}

// ID returns the value of the client's __client cookie.
func (c *Client) ID() string { return c.id }

// Cookie returns the Frontend API cookie that names this client.
func (c *Client) Cookie() *http.Cookie {
	return &http.Cookie{Name: ClientCookie, Value: c.id, Path: "/"}
}

// DevBrowser returns the client's dev browser token (__clerk_db_jwt).
func (c *Client) DevBrowser() string {
	c.i.browser.mu.Lock()
	defer c.i.browser.mu.Unlock()
	return c.i.browser.clients[c.id].devBrowser
}

// SessionID returns the id of the client's session, "" when signed out.
func (c *Client) SessionID() string {
	c.i.browser.mu.Lock()
	defer c.i.browser.mu.Unlock()
	if s := c.i.browser.clients[c.id].session; s != nil {
		return s.id
	}
	return ""
}

// UAT returns the client's client_uat: when its session last changed, 0
// while signed out.
func (c *Client) UAT() int64 {
	c.i.browser.mu.Lock()
	defer c.i.browser.mu.Unlock()
	return c.i.browser.clients[c.id].uat
}

// SignIn creates a session for userID (with org as its active organization,
// or none) and makes it the client's session, as signing in on the account
// portal does. It returns the session id.
func (c *Client) SignIn(userID string, org *Org) string {
	c.i.browser.mu.Lock()
	sid, replaced := c.i.signInLocked(c.i.browser.clients[c.id], userID, org)
	c.i.browser.mu.Unlock()
	c.i.sessionEnded(replaced)
	c.i.sessionStarted(sid, userID)
	return sid
}

// signInLocked gives c a new session; it returns its id and the id of the
// session it replaced ("" for none).
func (i *Instance) signInLocked(c *clientRecord, userID string, org *Org) (sid, replaced string) {
	replaced = i.signOutLocked(c)
	s := &browserSession{id: NewID("sess_"), userID: userID, refreshToken: NewID("rt_")}
	if org != nil {
		o := *org
		s.org = &o
	}
	c.session = s
	c.uat = time.Now().Unix()
	return s.id, replaced
}

// SignOut ends the client's session, as signing out on the account portal
// does; the Backend API then reports the session as ended.
func (c *Client) SignOut() {
	c.i.browser.mu.Lock()
	sid := c.i.signOutLocked(c.i.browser.clients[c.id])
	c.i.browser.mu.Unlock()
	c.i.sessionEnded(sid)
}

func (i *Instance) signOutLocked(c *clientRecord) string {
	if c.session == nil {
		return ""
	}
	sid := c.session.id
	c.session = nil
	c.uat = 0
	return sid
}

// sessionStarted tells the Backend API's session store about a new session.
func (i *Instance) sessionStarted(sid, userID string) {
	i.SetSessionStatus(sid, userID, "active")
}

// sessionEnded tells the Backend API's session store that a session ended.
func (i *Instance) sessionEnded(sid string) {
	if sid != "" {
		_ = i.EndSession(sid)
	}
}

// HandshakeRequests returns how many requests the Frontend API's handshake
// endpoint has answered: each one is a round trip of the browser.
func (i *Instance) HandshakeRequests() int64 {
	i.browser.mu.Lock()
	defer i.browser.mu.Unlock()
	return i.browser.handshakes
}

// AddHandshakeNonce stores directives under a new one-time nonce, as the
// Frontend API does for a handshake with format=nonce, and returns it.
func (i *Instance) AddHandshakeNonce(directives ...string) string {
	i.browser.mu.Lock()
	defer i.browser.mu.Unlock()
	return i.addNonceLocked(directives)
}

func (i *Instance) addNonceLocked(directives []string) string {
	now := time.Now()
	for n, rec := range i.browser.nonces {
		if now.After(rec.expires) {
			delete(i.browser.nonces, n)
		}
	}
	nonce := NewID("hsn_")
	i.browser.nonces[nonce] = nonceRecord{directives: append([]string(nil), directives...), expires: now.Add(handshakeNonceLifetime)}
	return nonce
}

// HandshakeToken returns a handshake token carrying directives, signed with
// the current key as the Frontend API signs them (format=token): header
// {"alg":"RS256","kid":...,"typ":"JWT","cat":"cl_B7d4PD111AAA"}, payload
// {"handshake": directives}. header overrides work as in Session.Header.
func (i *Instance) HandshakeToken(header map[string]any, directives ...string) string {
	if directives == nil {
		directives = []string{}
	}
	return i.Sign(sessionHeader(i.KeyID(), header), map[string]any{"handshake": directives})
}

// HandshakeDirectives returns the Set-Cookie directives a handshake hands
// to an app at appURL for this client: its fresh session cookies (or
// cookies that sign the browser out), __client_uat, on development
// instances the dev browser cookie, and with Options.RefreshCookies the
// __refresh cookie. Cookies are set for appURL's host, and __client_uat
// for the instance's parent domain when appURL is on it.
func (c *Client) HandshakeDirectives(appURL string) ([]string, error) {
	u, err := url.Parse(appURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, ErrBadRedirect
	}
	c.i.browser.mu.Lock()
	rec := c.i.browser.clients[c.id]
	var s *browserSession
	var sess browserSession
	if rec.session != nil {
		sess = *rec.session
		s = &sess
	}
	uat, dvb := rec.uat, rec.devBrowser
	c.i.browser.mu.Unlock()
	return c.i.directives(u, s, uat, dvb, false), nil
}

// directives builds the cookies a handshake sets on the app at u.
// cookieDelivered adds the clearing of the handshake nonce cookie.
func (i *Instance) directives(u *url.URL, s *browserSession, uat int64, devBrowser string, cookieDelivered bool) []string {
	attrs := "; Path=/"
	domainAttrs := attrs
	if d := i.appCookieDomain(u.Hostname()); d != "" && i.opts.Live {
		// Production: __client_uat lives on the parent domain, where the
		// Frontend API itself sets it. Development apps own their cookies.
		domainAttrs += "; Domain=" + d
	}
	tail := "; SameSite=Lax"
	if u.Scheme == "https" {
		tail += "; Secure"
	}
	sfx := i.CookieSuffix()
	both := func(name, value, attrs string) []string {
		return []string{name + "=" + value + attrs + tail, name + "_" + sfx + "=" + value + attrs + tail}
	}
	var out []string
	if s != nil {
		token := i.Mint(Session{UserID: s.userID, SessionID: s.id, Org: s.org, AuthorizedParty: u.Scheme + "://" + u.Host})
		out = append(out, both("__session", token, attrs)...)
		out = append(out, both("__client_uat", strconv.FormatInt(uat, 10), domainAttrs)...)
		if i.opts.RefreshCookies {
			out = append(out, "__refresh_"+sfx+"="+s.refreshToken+attrs+"; HttpOnly"+tail)
		}
	} else {
		out = append(out, both("__session", "", attrs+"; Max-Age=0")...)
		out = append(out, both("__client_uat", "0", domainAttrs)...)
	}
	if !i.opts.Live && devBrowser != "" {
		out = append(out, both("__clerk_db_jwt", devBrowser, attrs)...)
	}
	if cookieDelivered {
		out = append(out, "__clerk_handshake_nonce="+domainAttrs+"; Max-Age=0"+tail)
	}
	return out
}

// CookieSuffix returns the suffix of the instance's suffixed cookies
// (__session_<suffix>): the first 8 characters of the url-safe base64
// SHA-1 of the publishable key, as Clerk computes it.
func (i *Instance) CookieSuffix() string { return cookieSuffix(i.publishableKey) }

// parentDomain is the domain the Frontend API host belongs to: Host without
// its "clerk." label ("clerk.app.test" -> "app.test"), "" when Host does not
// start with one.
func (i *Instance) parentDomain() string {
	h, ok := strings.CutPrefix(strings.ToLower(i.opts.Host), "clerk.")
	if !ok || !strings.Contains(h, ".") {
		return ""
	}
	return h
}

// appCookieDomain returns the parent domain when host is on it, else "".
func (i *Instance) appCookieDomain(host string) string {
	d := i.parentDomain()
	host = strings.ToLower(host)
	if d != "" && (host == d || strings.HasSuffix(host, "."+d)) {
		return d
	}
	return ""
}

// allowedOrigin reports whether the instance redirects to (and accepts
// forms from) u's origin: Options.AllowedOrigins, else loopback hosts and
// the instance's parent domain with its subdomains.
func (i *Instance) allowedOrigin(u *url.URL) bool {
	if u == nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return false
	}
	if len(i.opts.AllowedOrigins) > 0 {
		origin := strings.ToLower(u.Scheme + "://" + u.Host)
		for _, o := range i.opts.AllowedOrigins {
			if strings.EqualFold(strings.TrimRight(o, "/"), origin) {
				return true
			}
		}
		return false
	}
	host := strings.ToLower(u.Hostname())
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return true
	}
	return i.appCookieDomain(host) != ""
}

// redirectTarget parses and checks a redirect_url.
func (i *Instance) redirectTarget(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || !i.allowedOrigin(u) {
		return nil, ErrBadRedirect
	}
	return u, nil
}

// clientFor finds the browser's client: on a development instance by its dev
// browser token, else (and as a fallback) by the __client cookie. With
// create, a browser without one gets a new client.
func (i *Instance) clientForLocked(r *http.Request, devBrowser string, create bool) *clientRecord {
	if !i.opts.Live && devBrowser != "" {
		if c, ok := i.browser.devBrowsers[devBrowser]; ok {
			return c
		}
	}
	if ck, err := r.Cookie(ClientCookie); err == nil {
		if c, ok := i.browser.clients[ck.Value]; ok {
			return c
		}
	}
	if !create {
		return nil
	}
	return i.newClientLocked()
}

// serveHandshake is the Frontend API's handshake: it finds the browser's
// client, mints a fresh session token for its session (or signs the app
// out), and sends the browser back to redirect_url with the directives as
// a one-time nonce (format=nonce) or a signed handshake token. A production
// instance hands them over in a cookie on its parent domain when the app
// is on it; otherwise, and always on development instances, in the URL.
func (i *Instance) serveHandshake(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	back, err := i.redirectTarget(q.Get("redirect_url"))
	if err != nil {
		writeClerkError(w, http.StatusBadRequest, "form_param_value_invalid", "redirect_url is invalid",
			"The handshake's redirect_url must be an absolute URL on an allowed origin.")
		return
	}
	i.browser.mu.Lock()
	i.browser.handshakes++
	c := i.clientForLocked(r, q.Get("__clerk_db_jwt"), !i.opts.Live)
	var s *browserSession
	var uat int64
	var dvb string
	if c != nil {
		if c.session != nil {
			sess := *c.session
			s = &sess
		}
		uat, dvb = c.uat, c.devBrowser
	}
	domain := i.appCookieDomain(back.Hostname())
	viaCookie := i.opts.Live && domain != ""
	directives := i.directives(back, s, uat, dvb, viaCookie)
	var name, value string
	if q.Get("format") == "nonce" {
		name, value = "__clerk_handshake_nonce", i.addNonceLocked(directives)
	} else {
		name, value = "__clerk_handshake", ""
	}
	i.browser.mu.Unlock()
	if value == "" {
		value = i.HandshakeToken(nil, directives...)
	}
	if c != nil {
		http.SetCookie(w, &http.Cookie{Name: ClientCookie, Value: c.token, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
	}
	if viaCookie {
		w.Header().Add("Set-Cookie", name+"="+value+"; Path=/; Domain="+domain+"; Max-Age=60; SameSite=Lax")
	} else {
		qs := back.Query()
		qs.Set(name, value)
		back.RawQuery = qs.Encode()
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, back.String(), http.StatusTemporaryRedirect)
}

// serveDevBrowser issues a dev browser: a new client and its token.
func (i *Instance) serveDevBrowser(w http.ResponseWriter, r *http.Request) {
	c := i.NewClient()
	b, _ := json.Marshal(map[string]any{"object": "dev_browser", "id": c.DevBrowser(), "token": c.DevBrowser()})
	http.SetCookie(w, &http.Cookie{Name: ClientCookie, Value: c.ID(), Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
	writeJSON(w, http.StatusOK, b)
}

// serveSignIn is the account portal's form: it signs the browser's client in
// as the user the form names and sends it back to redirect_url (with its dev
// browser token on development instances, as Clerk's account portal does).
func (i *Instance) serveSignIn(w http.ResponseWriter, r *http.Request) {
	back, ok := i.portalForm(w, r)
	if !ok {
		return
	}
	userID := strings.TrimSpace(r.PostForm.Get("user_id"))
	if userID == "" || len(userID) > 200 {
		writeClerkError(w, http.StatusUnprocessableEntity, "form_param_missing", "user_id is missing", "Choose a user to sign in as.")
		return
	}
	var org *Org
	if id := strings.TrimSpace(r.PostForm.Get("org_id")); id != "" {
		org = &Org{ID: id, Slug: strings.TrimSpace(r.PostForm.Get("org_slug")), Role: strings.TrimSpace(r.PostForm.Get("org_role"))}
		if perms := strings.TrimSpace(r.PostForm.Get("org_permissions")); perms != "" {
			org.Permissions = strings.FieldsFunc(perms, func(c rune) bool { return c == ',' || c == ' ' })
		}
	}
	i.browser.mu.Lock()
	c := i.clientForLocked(r, r.PostForm.Get("__clerk_db_jwt"), true)
	sid, replaced := i.signInLocked(c, userID, org)
	token, uat, dvb := c.token, c.uat, c.devBrowser
	i.browser.mu.Unlock()
	i.sessionEnded(replaced)
	i.sessionStarted(sid, userID)
	i.finishPortal(w, r, back, token, uat, dvb, "Signed in as "+userID+".")
}

// serveSignOut ends the browser client's session.
func (i *Instance) serveSignOut(w http.ResponseWriter, r *http.Request) {
	back, ok := i.portalForm(w, r)
	if !ok {
		return
	}
	i.browser.mu.Lock()
	c := i.clientForLocked(r, r.PostForm.Get("__clerk_db_jwt"), true)
	sid := i.signOutLocked(c)
	token, dvb := c.token, c.devBrowser
	i.browser.mu.Unlock()
	i.sessionEnded(sid)
	i.finishPortal(w, r, back, token, 0, dvb, "Signed out.")
}

// portalForm parses a portal form, checks where it comes from and where it
// goes back to (nil: nowhere, show a page).
func (i *Instance) portalForm(w http.ResponseWriter, r *http.Request) (*url.URL, bool) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		writeClerkError(w, http.StatusBadRequest, "form_invalid", "bad form", "The form could not be read.")
		return nil, false
	}
	if o := r.Header.Get("Origin"); o != "" && o != "null" {
		if u, err := url.Parse(o); err != nil || !i.allowedOrigin(u) {
			writeClerkError(w, http.StatusForbidden, "origin_invalid", "origin not allowed", "Forms are accepted only from allowed origins.")
			return nil, false
		}
	}
	raw := r.PostForm.Get("redirect_url")
	if raw == "" {
		return nil, true
	}
	back, err := i.redirectTarget(raw)
	if err != nil {
		writeClerkError(w, http.StatusBadRequest, "form_param_value_invalid", "redirect_url is invalid",
			"redirect_url must be an absolute URL on an allowed origin.")
		return nil, false
	}
	return back, true
}

// finishPortal sets the client cookie (and on a production instance
// __client_uat for the parent domain, as the Frontend API does) and goes
// back to the app, or shows what happened.
func (i *Instance) finishPortal(w http.ResponseWriter, r *http.Request, back *url.URL, token string, uat int64, devBrowser, done string) {
	http.SetCookie(w, &http.Cookie{Name: ClientCookie, Value: token, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
	if i.opts.Live {
		host, _, err := net.SplitHostPort(r.Host)
		if err != nil {
			host = r.Host
		}
		if d := i.appCookieDomain(host); d != "" {
			v := strconv.FormatInt(uat, 10)
			sfx := i.CookieSuffix()
			for _, name := range []string{"__client_uat", "__client_uat_" + sfx} {
				w.Header().Add("Set-Cookie", name+"="+v+"; Path=/; Domain="+d+"; SameSite=Lax")
			}
		}
	}
	if back == nil {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte("<!doctype html><title>Local Clerk</title><p id=\"done\">" + htmlEscape(done) + "</p>"))
		return
	}
	if !i.opts.Live && devBrowser != "" {
		qs := back.Query()
		qs.Set("__clerk_db_jwt", devBrowser)
		back.RawQuery = qs.Encode()
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, back.String(), http.StatusSeeOther)
}

// serveHandshakePayload redeems a nonce, once.
func (i *Instance) serveHandshakePayload(w http.ResponseWriter, r *http.Request) {
	nonce := r.URL.Query().Get("nonce")
	i.browser.mu.Lock()
	rec, ok := i.browser.nonces[nonce]
	delete(i.browser.nonces, nonce)
	i.browser.mu.Unlock()
	if !ok || time.Now().After(rec.expires) {
		writeClerkError(w, http.StatusNotFound, "resource_not_found", "not found", "No handshake payload was found for this nonce.")
		return
	}
	b, _ := json.Marshal(map[string]any{"directives": rec.directives})
	writeJSON(w, http.StatusOK, b)
}

// serveRefresh is POST /v1/sessions/{id}/refresh with format "cookie": the
// refresh token of the session and an expired session token of it (signed
// by the instance) give fresh session cookies.
func (i *Instance) serveRefresh(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Format        string `json:"format"`
		ExpiredToken  string `json:"expired_token"`
		RefreshToken  string `json:"refresh_token"`
		RequestOrigin string `json:"request_origin"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&body); err != nil {
		writeClerkError(w, http.StatusBadRequest, "request_body_invalid", "invalid body", "The request body is not valid JSON.")
		return
	}
	sid := r.PathValue("id")
	i.browser.mu.Lock()
	var s *browserSession
	for _, c := range i.browser.clients {
		if c.session != nil && c.session.id == sid {
			sess := *c.session
			s = &sess
		}
	}
	i.browser.mu.Unlock()
	switch {
	case s == nil:
		writeClerkError(w, http.StatusNotFound, "resource_not_found", "not found", "No active session was found with id "+sid+".")
		return
	case body.RefreshToken == "" || body.RefreshToken != s.refreshToken || !i.ownSessionToken(body.ExpiredToken, sid):
		writeClerkError(w, http.StatusUnauthorized, "authentication_invalid", "authentication invalid", "The refresh token or the expired session token is not valid for this session.")
		return
	}
	azp := DefaultAuthorizedParty
	if u, err := url.Parse(body.RequestOrigin); err == nil && u.Host != "" {
		azp = u.Scheme + "://" + u.Host
	}
	token := i.Mint(Session{UserID: s.userID, SessionID: s.id, Org: s.org, AuthorizedParty: azp})
	cookies := []string{"__session=" + token + "; Path=/; SameSite=Lax"}
	if r.URL.Query().Get("suffixed_cookies") == "true" {
		cookies = append(cookies, "__session_"+i.CookieSuffix()+"="+token+"; Path=/; SameSite=Lax")
	}
	b, _ := json.Marshal(map[string]any{"object": "cookies", "cookies": cookies})
	writeJSON(w, http.StatusOK, b)
}

// ownSessionToken reports whether raw is a session token of session sid
// signed by one of the instance's keys (expired or not).
func (i *Instance) ownSessionToken(raw, sid string) bool {
	claims, ok := i.verifySignature(raw)
	if !ok {
		return false
	}
	got, _ := claims["sid"].(string)
	return got == sid
}

// verifySignature checks raw's RS256/RS384/RS512 signature against the
// instance's published keys (by kid, else every key) and returns its claims.
func (i *Instance) verifySignature(raw string) (map[string]any, bool) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return nil, false
	}
	var header struct{ Alg, Kid string }
	var claims map[string]any
	h, err1 := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[0], "="))
	p, err2 := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	sig, err3 := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[2], "="))
	if err1 != nil || err2 != nil || err3 != nil || json.Unmarshal(h, &header) != nil || json.Unmarshal(p, &claims) != nil {
		return nil, false
	}
	hashes := map[string]crypto.Hash{"RS256": crypto.SHA256, "RS384": crypto.SHA384, "RS512": crypto.SHA512}
	hash, ok := hashes[header.Alg]
	if !ok {
		return nil, false
	}
	d := hash.New()
	d.Write([]byte(parts[0] + "." + parts[1]))
	sum := d.Sum(nil)
	i.mu.RLock()
	defer i.mu.RUnlock()
	for _, k := range i.keys {
		if (header.Kid == "" || header.Kid == k.kid) && rsa.VerifyPKCS1v15(&k.priv.PublicKey, hash, sum, sig) == nil {
			return claims, true
		}
	}
	return nil, false
}

// cookieSuffix is Clerk's getCookieSuffix: the first 8 characters of the
// url-safe base64 SHA-1 of the publishable key.
func cookieSuffix(publishableKey string) string {
	sum := sha1.Sum([]byte(publishableKey)) //nolint:gosec // Clerk's cookie suffix is a name, not a MAC
	return base64.URLEncoding.EncodeToString(sum[:])[:8]
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#39;").Replace(s)
}
