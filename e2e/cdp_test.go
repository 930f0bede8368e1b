package e2e

// A small Chrome DevTools Protocol client over --remote-debugging-pipe:
// Chromium reads commands from file descriptor 3 and writes answers and
// events to file descriptor 4, each message JSON terminated by a NUL byte.
// It needs no WebSocket and no dependency, and covers what the test uses:
// one page, navigation, JavaScript, network events and screenshots.

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// chromium is a running browser.
type chromium struct {
	cmd      *exec.Cmd
	toChrome io.WriteCloser
	stderr   *strings.Builder

	mu       sync.Mutex
	nextID   int64
	pending  map[int64]chan cdpMessage
	handlers []func(cdpMessage)
	closed   chan struct{}
	readErr  error
}

// cdpMessage is a command answer or an event.
type cdpMessage struct {
	ID        int64           `json:"id,omitempty"`
	Method    string          `json:"method,omitempty"`
	Params    json.RawMessage `json:"params,omitempty"`
	Result    json.RawMessage `json:"result,omitempty"`
	Error     *cdpError       `json:"error,omitempty"`
	SessionID string          `json:"sessionId,omitempty"`
}

type cdpError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// findChromium returns the Chromium binary: $CHROMIUM, else Debian's.
func findChromium() (string, error) {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p, nil
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("chromium not found: install it with `apt-get install chromium` (Debian's package; " +
		"the end-to-end test drives a real browser and never downloads one), or set CHROMIUM to its path")
}

// startChromium launches headless Chromium with a fresh profile, the given
// host resolver rules, and the DevTools protocol on a pipe.
func startChromium(t *testing.T, hostRules string) *chromium {
	t.Helper()
	path, err := findChromium()
	if err != nil {
		t.Fatal(err)
	}
	profile := t.TempDir()
	args := []string{
		"--headless", "--disable-gpu", "--no-sandbox", "--disable-dev-shm-usage",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-quic",
		"--no-first-run", "--no-default-browser-check", "--disable-extensions", "--mute-audio",
		"--no-proxy-server", "--password-store=basic", "--use-mock-keychain",
		"--disable-features=HttpsUpgrades,HttpsFirstBalancedModeAutoEnable,MediaRouter,OptimizationHints,Translate",
		"--host-resolver-rules=" + hostRules,
		"--window-size=1200,900",
		"--user-data-dir=" + profile,
		"--remote-debugging-pipe",
		"about:blank",
	}
	toChromeR, toChromeW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	fromChromeR, fromChromeW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	c := &chromium{toChrome: toChromeW, stderr: &strings.Builder{}, pending: map[int64]chan cdpMessage{}, closed: make(chan struct{})}
	c.cmd = exec.Command(path, args...)
	c.cmd.ExtraFiles = []*os.File{toChromeR, fromChromeW} // fd 3 and fd 4
	c.cmd.Stderr = &lockedWriter{b: c.stderr}
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", path, err)
	}
	toChromeR.Close()
	fromChromeW.Close()
	go c.readLoop(fromChromeR)
	// The first start on a machine can be slow (font caches are built):
	// wait for the browser generously once, then commands are quick.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := c.callTimeout(ctx, "", "Browser.getVersion", nil, 2*time.Minute); err != nil {
		_ = c.cmd.Process.Kill()
		t.Fatalf("chromium did not answer: %v", err)
	}
	t.Cleanup(func() {
		_, _ = c.call(context.Background(), "", "Browser.close", nil)
		done := make(chan struct{})
		go func() { _ = c.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = c.cmd.Process.Kill()
			<-done
		}
		toChromeW.Close()
		fromChromeR.Close()
	})
	return c
}

type lockedWriter struct {
	mu sync.Mutex
	b  *strings.Builder
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.b.Len() < 1<<20 {
		w.b.Write(p)
	}
	return len(p), nil
}

func (c *chromium) readLoop(r io.Reader) {
	br := bufio.NewReaderSize(r, 1<<20)
	for {
		data, err := br.ReadBytes(0)
		if err != nil {
			c.mu.Lock()
			c.readErr = err
			c.mu.Unlock()
			close(c.closed)
			return
		}
		var m cdpMessage
		if json.Unmarshal(data[:len(data)-1], &m) != nil {
			continue
		}
		c.mu.Lock()
		if m.ID != 0 {
			if ch, ok := c.pending[m.ID]; ok {
				delete(c.pending, m.ID)
				ch <- m
			}
			c.mu.Unlock()
			continue
		}
		handlers := append([]func(cdpMessage){}, c.handlers...)
		c.mu.Unlock()
		for _, h := range handlers {
			h(m)
		}
	}
}

// onEvent registers a handler for every event.
func (c *chromium) onEvent(h func(cdpMessage)) {
	c.mu.Lock()
	c.handlers = append(c.handlers, h)
	c.mu.Unlock()
}

// call sends a command (to a page session when sessionID is set) and waits
// for its answer.
func (c *chromium) call(ctx context.Context, sessionID, method string, params any) (json.RawMessage, error) {
	return c.callTimeout(ctx, sessionID, method, params, 30*time.Second)
}

func (c *chromium) callTimeout(ctx context.Context, sessionID, method string, params any, timeout time.Duration) (json.RawMessage, error) {
	c.mu.Lock()
	c.nextID++
	id := c.nextID
	ch := make(chan cdpMessage, 1)
	c.pending[id] = ch
	c.mu.Unlock()
	msg := map[string]any{"id": id, "method": method}
	if params != nil {
		msg["params"] = params
	}
	if sessionID != "" {
		msg["sessionId"] = sessionID
	}
	data, err := json.Marshal(msg)
	if err != nil {
		return nil, err
	}
	if _, err := c.toChrome.Write(append(data, 0)); err != nil {
		return nil, fmt.Errorf("%s: writing to chromium: %v", method, err)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	select {
	case m := <-ch:
		if m.Error != nil {
			return nil, fmt.Errorf("%s: %s (%d)", method, m.Error.Message, m.Error.Code)
		}
		return m.Result, nil
	case <-c.closed:
		return nil, fmt.Errorf("%s: chromium went away: %v\n%s", method, c.readErr, c.stderrText())
	case <-ctx.Done():
		c.mu.Lock()
		delete(c.pending, id)
		c.mu.Unlock()
		return nil, fmt.Errorf("%s: %v; chromium's stderr:\n%s", method, ctx.Err(), tail(c.stderrText(), 3000))
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

func (c *chromium) stderrText() string {
	w := c.cmd.Stderr.(*lockedWriter)
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// page is one tab.
type page struct {
	t       *testing.T
	c       *chromium
	session string
}

// newPage opens a tab in a browser context of its own (a fresh profile:
// no cookies, no cache) and enables the domains the test uses.
func (c *chromium) newPage(t *testing.T) *page {
	t.Helper()
	ctx := context.Background()
	res, err := c.call(ctx, "", "Target.createBrowserContext", map[string]any{"disposeOnDetach": true})
	if err != nil {
		t.Fatal(err)
	}
	var bc struct{ BrowserContextID string }
	_ = json.Unmarshal(res, &bc)
	t.Cleanup(func() {
		_, _ = c.call(context.Background(), "", "Target.disposeBrowserContext", map[string]any{"browserContextId": bc.BrowserContextID})
	})
	res, err = c.call(ctx, "", "Target.createTarget", map[string]any{"url": "about:blank", "browserContextId": bc.BrowserContextID})
	if err != nil {
		t.Fatal(err)
	}
	var target struct{ TargetID string }
	_ = json.Unmarshal(res, &target)
	res, err = c.call(ctx, "", "Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true})
	if err != nil {
		t.Fatal(err)
	}
	var attached struct{ SessionID string }
	_ = json.Unmarshal(res, &attached)
	p := &page{t: t, c: c, session: attached.SessionID}
	for _, domain := range []string{"Page.enable", "Network.enable", "Runtime.enable"} {
		p.call(domain, nil)
	}
	return p
}

func (p *page) call(method string, params any) json.RawMessage {
	p.t.Helper()
	res, err := p.c.call(context.Background(), p.session, method, params)
	if err != nil {
		p.t.Fatal(err)
	}
	return res
}

// navigate loads url and waits until the document is complete.
func (p *page) navigate(url string) {
	p.t.Helper()
	res := p.call("Page.navigate", map[string]any{"url": url})
	var nav struct{ ErrorText string }
	_ = json.Unmarshal(res, &nav)
	if nav.ErrorText != "" {
		p.t.Fatalf("navigating to %s: %s", url, nav.ErrorText)
	}
}

// eval runs JavaScript in the page and returns its JSON value.
func (p *page) eval(expr string) (json.RawMessage, error) {
	res, err := p.c.call(context.Background(), p.session, "Runtime.evaluate",
		map[string]any{"expression": expr, "returnByValue": true, "awaitPromise": true})
	if err != nil {
		return nil, err
	}
	var out struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct {
			Text string `json:"text"`
		} `json:"exceptionDetails"`
	}
	if err := json.Unmarshal(res, &out); err != nil {
		return nil, err
	}
	if out.ExceptionDetails != nil {
		return nil, errors.New(out.ExceptionDetails.Text)
	}
	return out.Result.Value, nil
}

// evalString evaluates an expression whose value is a string.
func (p *page) evalString(expr string) string {
	p.t.Helper()
	v, err := p.eval(expr)
	if err != nil {
		p.t.Fatalf("evaluating %s: %v", expr, err)
	}
	var s string
	_ = json.Unmarshal(v, &s)
	return s
}

// waitFor polls a JavaScript condition until it is true: the page may be
// between documents, so evaluation errors just mean "not yet".
func (p *page) waitFor(what, cond string, timeout time.Duration) {
	p.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		v, err := p.eval(`(() => { try { return document.readyState === "complete" && !!(` + cond + `) } catch (e) { return false } })()`)
		if err == nil && string(v) == "true" {
			return
		}
		if time.Now().After(deadline) {
			href, _ := p.eval("location.href")
			body, _ := p.eval("document.body ? document.body.innerText.slice(0, 500) : ''")
			p.t.Fatalf("timed out waiting for %s (at %s, page text %s)", what, href, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// screenshot saves the page as a PNG.
func (p *page) screenshot(path string) {
	p.t.Helper()
	res := p.call("Page.captureScreenshot", map[string]any{"format": "png"})
	var shot struct{ Data string }
	_ = json.Unmarshal(res, &shot)
	png, err := base64.StdEncoding.DecodeString(shot.Data)
	if err != nil || len(png) == 0 {
		p.t.Fatalf("screenshot %s: %v", path, err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		p.t.Fatal(err)
	}
}
