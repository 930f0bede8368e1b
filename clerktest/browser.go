package clerktest

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"time"
)

// maxNavigationHops bounds the redirects one Navigate follows.
const maxNavigationHops = 12

// Browser is an HTTP client with a cookie jar that navigates like a browser:
// it sends navigation headers (Sec-Fetch-Dest: document, Accept: text/html)
// and follows redirects itself, a 303 turning into a GET, recording every
// URL it requests. It lets tests and the demo walk a sign-in through Caddy
// and the Frontend API without a real browser.
type Browser struct {
	// Client is the client requests go through; its Jar holds the cookies.
	Client *http.Client
	// Status and Body are those of the last page a Navigate ended on.
	Status int
	Body   string
}

// NewBrowser returns a Browser. hosts, when not nil, maps host names to the
// IP addresses to dial instead, like /etc/hosts.
func NewBrowser(hosts map[string]string) *Browser {
	jar, _ := cookiejar.New(nil)
	transport := http.DefaultTransport.(*http.Transport).Clone()
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	transport.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if host, port, err := net.SplitHostPort(addr); err == nil {
			if ip, ok := hosts[host]; ok {
				addr = net.JoinHostPort(ip, port)
			}
		}
		return dialer.DialContext(ctx, network, addr)
	}
	return &Browser{Client: &http.Client{Jar: jar, Transport: transport, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// Navigate requests target (a form POST when form is not nil) and follows
// redirects until a page that is not one, returning every URL requested.
// It fails on a transport error or after maxNavigationHops redirects.
func (b *Browser) Navigate(method, target string, form url.Values) ([]string, error) {
	var hops []string
	for range maxNavigationHops {
		hops = append(hops, target)
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req, err := http.NewRequest(method, target, body)
		if err != nil {
			return hops, err
		}
		req.Header.Set("Sec-Fetch-Dest", "document")
		req.Header.Set("Accept", "text/html")
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		resp, err := b.Client.Do(req)
		if err != nil {
			return hops, err
		}
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		loc := resp.Header.Get("Location")
		if resp.StatusCode < 300 || resp.StatusCode >= 400 || loc == "" {
			b.Status, b.Body = resp.StatusCode, string(data)
			return hops, nil
		}
		next, err := req.URL.Parse(loc)
		if err != nil {
			return hops, err
		}
		target = next.String()
		if resp.StatusCode == http.StatusSeeOther {
			method, form = http.MethodGet, nil
		}
	}
	return hops, fmt.Errorf("redirect loop: %s", strings.Join(hops, " -> "))
}
