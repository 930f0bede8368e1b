// Command soak runs mixed traffic against our Caddy (clerk_auth +
// clerk_webhook in front of a checking upstream) for a bounded time and
// reports requests, wrong decisions, 5xx answers and Caddy's memory over time.
//
// Everything runs on 127.0.0.1: a clerktest instance (in this process, FAPI
// on BASE_PORT+1, BAPI on +2), the upstream (in this process, +4) and Caddy
// (a separate process started from -caddy, site on +10, admin API on +20).
//
// Every request carries X-Soak-Id (unique) and X-Soak-Expect, the decision
// the client expects clerk_auth to have taken if the request reaches the
// upstream at all:
//
//	user:<user id>:<session id>   X-Clerk-User-Id and X-Clerk-Session-Id must be these
//	anon                          no X-Clerk-User-Id / X-Clerk-Session-Id / X-Clerk-Org-Id
//	webhook                       a POST to the webhook path whose Svix signature the
//	                              upstream verifies again with the secret
//	never                         the request must have been refused by Caddy
//
// The upstream counts every mismatch as a wrong decision and answers with
// X-Soak-Seen (the request's id) and X-Soak-Verdict (ok or wrong). The client
// checks the status (200 for requests that must pass, 401/400 for the others),
// that a 200 came from the upstream for this very request with verdict ok, and
// that a refused request did not come from the upstream.
//
// Caddy's VmRSS (and its live Go heap after a forced GC, through the admin
// API) is sampled every -sample. The program exits by itself: after
// -duration of traffic, and in any case after -duration + 3 minutes.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/caddy-clerk/caddy-clerk/bench/tools/internal/procstat"
	"github.com/caddy-clerk/caddy-clerk/clerktest"
)

const webhookPath = "/webhooks/clerk"

// class is one kind of request of the mix.
type class struct {
	name   string
	weight int
	// status the client expects; pass means 200 from the upstream.
	status int
	build  func(s *soak, rng *mrand.Rand) (req *http.Request, expect string)

	sent, wrong, fivexx, errs atomic.Int64
}

type identity struct{ token, user, sess string }

type soak struct {
	ci       *clerktest.Instance
	target   string // http://127.0.0.1:port
	valid    []identity
	expired  []string
	forged   []string // real kid, foreign key
	unknown  []string // unknown kid, foreign key
	secret   string   // webhook secret
	badSec   string   // another secret: bad signatures
	seq      atomic.Int64
	upSeen   atomic.Int64
	upWrong  atomic.Int64
	examples chan string
}

func main() {
	caddyBin := flag.String("caddy", "", "our Caddy binary (required)")
	out := flag.String("out", "", "output directory (required)")
	duration := flag.Duration("duration", 3*time.Minute, "length of the traffic")
	workers := flag.Int("workers", 16, "concurrent client workers (each one keep-alive connection)")
	pool := flag.Int("pool", 3000, "distinct valid tokens")
	sample := flag.Duration("sample", 5*time.Second, "memory sampling interval")
	basePort := flag.Int("base-port", 18500, "loopback ports base+1, +2, +4, +10, +20 are used")
	flag.Parse()
	if *caddyBin == "" || *out == "" {
		log.Fatal("soak: -caddy and -out are required")
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		log.Fatal(err)
	}
	log.SetFlags(log.Ltime)

	// Hard stop: whatever happens, this process (and, through Pdeathsig and
	// the deferred kill, Caddy) ends.
	hard := *duration + 3*time.Minute
	time.AfterFunc(hard, func() { log.Printf("soak: hard deadline %v reached", hard); killCaddy(); os.Exit(3) })
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	addr := func(off int) string { return fmt.Sprintf("127.0.0.1:%d", *basePort+off) }
	ci, err := clerktest.New(clerktest.Options{Host: "clerk.soak.test", FrontendAddr: addr(1), BackendAddr: addr(2),
		TokenLifetime: *duration + 30*time.Minute})
	if err != nil {
		log.Fatal(err)
	}
	defer ci.Close()

	s := &soak{ci: ci, target: "http://" + addr(10), secret: clerktest.NewWebhookSecret(),
		badSec: clerktest.NewWebhookSecret(), examples: make(chan string, 20)}
	s.mint(*pool)

	// The checking upstream.
	ln, err := net.Listen("tcp", addr(4))
	if err != nil {
		log.Fatal(err)
	}
	up := &http.Server{Handler: http.HandlerFunc(s.upstream), ReadHeaderTimeout: 10 * time.Second}
	go up.Serve(ln) //nolint:errcheck // ends on Close
	defer up.Close()

	// Caddy.
	caddyfile := fmt.Sprintf(`{
	admin %s
	persist_config off
	auto_https off
	grace_period 2s
}

http://:%d {
	bind 127.0.0.1
	clerk_webhook %s {
		secret %s
		publishable_key %s
	}
	clerk_auth {
		publishable_key %s
		secret_key %s
		frontend_api %s
		api_url %s
		public_routes /public(.*) %s
		api_routes /api/(.*)
	}
	reverse_proxy %s
}
`, addr(20), *basePort+10, webhookPath, s.secret, ci.PublishableKey(),
		ci.PublishableKey(), ci.SecretKey(), ci.FrontendAPIURL(), ci.BackendAPIURL(), webhookPath, addr(4))
	cfPath := filepath.Join(*out, "Caddyfile")
	if err := os.WriteFile(cfPath, []byte(caddyfile), 0o644); err != nil {
		log.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(*out, "caddy.log"))
	if err != nil {
		log.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command(*caddyBin, "run", "--config", cfPath, "--adapter", "caddyfile")
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		log.Fatal(err)
	}
	caddyProc.Store(cmd.Process)
	defer killCaddy()
	pid := cmd.Process.Pid
	log.Printf("soak: Caddy pid %d on %s (admin %s), log %s", pid, s.target, addr(20), logf.Name())

	tr := &http.Transport{MaxIdleConns: *workers * 2, MaxIdleConnsPerHost: *workers * 2, IdleConnTimeout: time.Minute}
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	// Warm-up: wait until a valid token passes (keys fetched), not counted.
	if err := s.warmUp(ctx, client, 30*time.Second); err != nil {
		log.Printf("soak: Caddy not ready: %v (see %s)", err, logf.Name())
		killCaddy()
		os.Exit(2)
	}
	s.upSeen.Store(0)
	s.upWrong.Store(0)

	classes := s.classes()
	total := 0
	for _, c := range classes {
		total += c.weight
	}

	// Memory sampler.
	admin := "http://" + addr(20)
	type memSample struct {
		t             time.Duration
		rss, hwm      int64 // KiB
		heap, heapSys uint64
		reqs          int64
		after         bool // taken right after the traffic stopped
	}
	var samples []memSample
	var sent atomic.Int64
	start := time.Now()
	takeSample := func(after bool) {
		rss, hwm := procstat.ProcMem(pid)
		heap, sys := procstat.LiveHeap(admin)
		samples = append(samples, memSample{time.Since(start), rss, hwm, heap, sys, sent.Load(), after})
		log.Printf("soak: t=%4.0fs requests=%d VmRSS=%.1f MiB live heap=%.1f MiB",
			time.Since(start).Seconds(), sent.Load(), float64(rss)/1024, float64(heap)/(1<<20))
	}
	takeSample(false)

	runCtx, cancel := context.WithTimeout(ctx, *duration)
	defer cancel()
	var wg sync.WaitGroup
	for w := range *workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := mrand.New(mrand.NewPCG(uint64(w)+1, uint64(time.Now().UnixNano())))
			for runCtx.Err() == nil {
				n := rng.IntN(total)
				var c *class
				for _, cc := range classes {
					if n < cc.weight {
						c = cc
						break
					}
					n -= cc.weight
				}
				s.do(runCtx, client, c, rng)
				sent.Add(1)
			}
		}()
	}
	tick := time.NewTicker(*sample)
loop:
	for {
		select {
		case <-runCtx.Done():
			break loop
		case <-tick.C:
			takeSample(false)
		}
	}
	tick.Stop()
	wg.Wait()
	elapsed := time.Since(start)
	takeSample(true) // right after the traffic
	interrupted := ctx.Err() != nil
	close(s.examples)

	// Report.
	var b strings.Builder
	var reqs, wrong, fx, errs int64
	for _, c := range classes {
		reqs += c.sent.Load()
		wrong += c.wrong.Load()
		fx += c.fivexx.Load()
		errs += c.errs.Load()
	}
	wrongTotal := wrong + s.upWrong.Load()
	fmt.Fprintf(&b, "## Soak: %v of mixed traffic, %d workers, %d distinct valid tokens\n\n", elapsed.Round(time.Second), *workers, *pool)
	if interrupted {
		fmt.Fprintf(&b, "**Interrupted** before the planned %v.\n\n", *duration)
	}
	fmt.Fprintf(&b, "| | value |\n|---|---|\n")
	fmt.Fprintf(&b, "| requests | %d (%.0f/s) |\n", reqs, float64(reqs)/elapsed.Seconds())
	fmt.Fprintf(&b, "| wrong decisions, client side (status, or a 200 not from the upstream for this request, or a refused request that reached it) | %d |\n", wrong)
	fmt.Fprintf(&b, "| wrong decisions, upstream side (identity headers not the expected ones, unverifiable webhook, or a request that should have been refused) | %d of %d requests seen |\n", s.upWrong.Load(), s.upSeen.Load())
	fmt.Fprintf(&b, "| 5xx answers | %d |\n", fx)
	fmt.Fprintf(&b, "| transport errors (no answer) | %d |\n\n", errs)

	fmt.Fprintf(&b, "| class | expected | requests | wrong | 5xx | errors |\n|---|---|---|---|---|---|\n")
	for _, c := range classes {
		exp := strconv.Itoa(c.status)
		if c.status == 200 {
			exp = "200 from upstream"
		}
		fmt.Fprintf(&b, "| %s | %s | %d | %d | %d | %d |\n", c.name, exp, c.sent.Load(), c.wrong.Load(), c.fivexx.Load(), c.errs.Load())
	}

	fmt.Fprintf(&b, "\nCaddy memory (VmRSS from /proc/%d/status; live heap = HeapAlloc after a forced GC through the admin API):\n\n", pid)
	fmt.Fprintf(&b, "| t (s) | requests so far | VmRSS (MiB) | VmHWM (MiB) | live heap (MiB) |\n|---|---|---|---|---|\n")
	for _, m := range samples {
		t := fmt.Sprintf("%.0f", m.t.Seconds())
		if m.after {
			t += " (traffic stopped)"
		}
		fmt.Fprintf(&b, "| %s | %d | %.1f | %.1f | %.1f |\n", t, m.reqs, mib(m.rss), mib(m.hwm), float64(m.heap)/(1<<20))
	}
	csv, _ := os.Create(filepath.Join(*out, "memory.csv"))
	if csv != nil {
		fmt.Fprintln(csv, "t_s,requests,vmrss_kib,vmhwm_kib,heap_alloc_bytes,heap_sys_bytes")
		for _, m := range samples {
			fmt.Fprintf(csv, "%.1f,%d,%d,%d,%d,%d\n", m.t.Seconds(), m.reqs, m.rss, m.hwm, m.heap, m.heapSys)
		}
		csv.Close()
	}
	// Levelling off: the largest VmRSS of the last third of the run against
	// the largest of the first two thirds.
	var first, last, maxAll, maxEarly, maxLate int64
	cut := time.Duration(float64(elapsed) * 2 / 3)
	for i, m := range samples {
		if i == 0 {
			first = m.rss
		}
		last = m.rss
		maxAll = max(maxAll, m.rss)
		if m.t < cut {
			maxEarly = max(maxEarly, m.rss)
		} else {
			maxLate = max(maxLate, m.rss)
		}
	}
	growth := 0.0
	if maxEarly > 0 {
		growth = float64(maxLate-maxEarly) / float64(maxEarly) * 100
	}
	level := growth < 10
	fmt.Fprintf(&b, "\nVmRSS first %.1f MiB, last %.1f MiB, max %.1f MiB. Max of the last third %.1f MiB vs max of the first two thirds %.1f MiB: %+.1f %% → %s (criterion: < 10 %%).\n",
		mib(first), mib(last), mib(maxAll), mib(maxLate), mib(maxEarly), growth, map[bool]string{true: "levelled off", false: "NOT levelled off"}[level])
	var ex []string
	for e := range s.examples {
		ex = append(ex, e)
	}
	if len(ex) > 0 {
		fmt.Fprintf(&b, "\nFirst wrong decisions:\n\n```\n%s\n```\n", strings.Join(ex, "\n"))
	}
	ok := !interrupted && wrongTotal == 0 && fx == 0 && errs == 0 && level
	fmt.Fprintf(&b, "\nVerdict: %s\n", map[bool]string{true: "PASS (0 wrong decisions, 0 5xx, 0 errors, memory levelled off)", false: "FAIL"}[ok])

	fmt.Print(b.String())
	os.WriteFile(filepath.Join(*out, "results.md"), []byte(b.String()), 0o644) //nolint:errcheck
	killCaddy()
	if !ok {
		os.Exit(1)
	}
}

func mib(kib int64) float64 { return float64(kib) / 1024 }

var caddyProc atomic.Pointer[os.Process]

func killCaddy() {
	if p := caddyProc.Swap(nil); p != nil {
		syscall.Kill(-p.Pid, syscall.SIGTERM) //nolint:errcheck
		done := make(chan struct{})
		go func() { p.Wait(); close(done) }() //nolint:errcheck
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			syscall.Kill(-p.Pid, syscall.SIGKILL) //nolint:errcheck
		}
	}
}

// mint prepares the token pools.
func (s *soak) mint(n int) {
	t0 := time.Now()
	foreign, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		log.Fatal(err)
	}
	session := func(i int, prefix string) clerktest.Session {
		return clerktest.Session{UserID: fmt.Sprintf("user_%s%06d", prefix, i), SessionID: fmt.Sprintf("sess_%s%06d", prefix, i),
			Org: &clerktest.Org{ID: "org_soak", Slug: "acme", Role: "admin", Permissions: []string{"org:invoices:read"}}}
	}
	s.valid = make([]identity, n)
	parallel(n, func(i int) {
		ss := session(i, "")
		s.valid[i] = identity{s.ci.Mint(ss), ss.UserID, ss.SessionID}
	})
	const bad = 300
	s.expired = make([]string, bad)
	s.forged = make([]string, bad)
	s.unknown = make([]string, bad)
	now := time.Now()
	parallel(bad, func(i int) {
		e := session(i, "exp")
		e.IssuedAt, e.NotBefore, e.Expiry = now.Add(-2*time.Hour), now.Add(-2*time.Hour), now.Add(-time.Hour)
		s.expired[i] = s.ci.Mint(e)
		s.forged[i] = s.ci.MintWithKey(foreign, s.ci.KeyID(), session(i, "forged"))
		s.unknown[i] = s.ci.MintWithKey(foreign, clerktest.NewID("kid_"), session(i, "unknown"))
	})
	log.Printf("soak: minted %d valid, %d expired, %d forged and %d unknown-kid tokens in %v", n, bad, bad, bad, time.Since(t0).Round(time.Millisecond))
}

func parallel(n int, f func(int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				f(i)
			}
		}()
	}
	wg.Wait()
}

func get(target, path string) *http.Request {
	req, _ := http.NewRequest(http.MethodGet, target+path, nil)
	req.Header.Set("Accept", "application/json")
	return req
}

func bearer(req *http.Request, tok string) *http.Request {
	req.Header.Set("Authorization", "Bearer "+tok)
	return req
}

func forgeHeaders(req *http.Request) *http.Request {
	req.Header.Set("X-Clerk-User-Id", "user_forged_admin")
	req.Header.Set("X-Clerk-Session-Id", "sess_forged")
	req.Header.Set("X-Clerk-Org-Id", "org_forged")
	req.Header.Set("X-Clerk-Org-Role", "admin")
	req.Header.Set("X-Clerk-Auth-Status", "signed-in")
	return req
}

func pick[T any](rng *mrand.Rand, xs []T) T { return xs[rng.IntN(len(xs))] }

func userExpect(id identity) string { return "user:" + id.user + ":" + id.sess }

// classes is the traffic mix, weights per mille.
func (s *soak) classes() []*class {
	t := s.target
	return []*class{
		{name: "valid token, /api", weight: 410, status: 200, build: func(s *soak, rng *mrand.Rand) (*http.Request, string) {
			id := pick(rng, s.valid)
			return bearer(get(t, "/api/data"), id.token), userExpect(id)
		}},
		{name: "valid token + forged X-Clerk-* headers, /api", weight: 50, status: 200, build: func(s *soak, rng *mrand.Rand) (*http.Request, string) {
			id := pick(rng, s.valid)
			return forgeHeaders(bearer(get(t, "/api/data"), id.token)), userExpect(id)
		}},
		{name: "expired token, /api", weight: 60, status: 401, build: func(s *soak, rng *mrand.Rand) (*http.Request, string) {
			return bearer(get(t, "/api/data"), pick(rng, s.expired)), "never"
		}},
		{name: "forged token (foreign key, real kid), /api", weight: 60, status: 401, build: func(s *soak, rng *mrand.Rand) (*http.Request, string) {
			return bearer(get(t, "/api/data"), pick(rng, s.forged)), "never"
		}},
		{name: "unknown kid, /api", weight: 30, status: 401, build: func(s *soak, rng *mrand.Rand) (*http.Request, string) {
			return bearer(get(t, "/api/data"), pick(rng, s.unknown)), "never"
		}},
		{name: "no token, /api", weight: 60, status: 401, build: func(s *soak, rng *mrand.Rand) (*http.Request, string) {
			return get(t, "/api/data"), "never"
		}},
		{name: "no token + forged X-Clerk-* headers, /api", weight: 30, status: 401, build: func(s *soak, rng *mrand.Rand) (*http.Request, string) {
			return forgeHeaders(get(t, "/api/data")), "never"
		}},
		{name: "no token, /public", weight: 100, status: 200, build: func(s *soak, rng *mrand.Rand) (*http.Request, string) {
			return get(t, "/public/page"), "anon"
		}},
		{name: "valid token, /public", weight: 80, status: 200, build: func(s *soak, rng *mrand.Rand) (*http.Request, string) {
			id := pick(rng, s.valid)
			return bearer(get(t, "/public/page"), id.token), userExpect(id)
		}},
		{name: "forged/expired/unknown-kid token, /public", weight: 40, status: 200, build: func(s *soak, rng *mrand.Rand) (*http.Request, string) {
			pool := [][]string{s.forged, s.expired, s.unknown}[rng.IntN(3)]
			return bearer(get(t, "/public/page"), pick(rng, pool)), "anon"
		}},
		{name: "no token + forged X-Clerk-* headers, /public", weight: 40, status: 200, build: func(s *soak, rng *mrand.Rand) (*http.Request, string) {
			return forgeHeaders(get(t, "/public/page")), "anon"
		}},
		{name: "webhook, valid signature", weight: 15, status: 200, build: func(s *soak, rng *mrand.Rand) (*http.Request, string) {
			return s.webhook(s.secret, true), "webhook"
		}},
		{name: "webhook, bad signature", weight: 15, status: 401, build: func(s *soak, rng *mrand.Rand) (*http.Request, string) {
			return s.webhook(s.badSec, true), "never"
		}},
		{name: "webhook, no signature headers", weight: 10, status: 400, build: func(s *soak, rng *mrand.Rand) (*http.Request, string) {
			return s.webhook(s.secret, false), "never"
		}},
	}
}

// webhook builds a POST of a harmless event (email.created: passed through,
// changes nothing), signed with secret, or without Svix headers.
func (s *soak) webhook(secret string, signed bool) *http.Request {
	body := s.ci.WebhookEvent("email.created", map[string]any{"id": clerktest.NewID("idn_"), "object": "email"})
	req, _ := http.NewRequest(http.MethodPost, s.target+webhookPath, bytes.NewReader(body))
	if signed {
		h, err := clerktest.SignWebhook(secret, clerktest.NewWebhookID(), time.Now(), body)
		if err != nil {
			log.Fatal(err)
		}
		req.Header = h
	} else {
		req.Header.Set("Content-Type", "application/json")
	}
	return req
}

func (s *soak) note(format string, args ...any) {
	select {
	case s.examples <- fmt.Sprintf(format, args...):
	default:
	}
}

// do sends one request of class c and checks the answer.
func (s *soak) do(ctx context.Context, client *http.Client, c *class, rng *mrand.Rand) {
	req, expect := c.build(s, rng)
	id := strconv.FormatInt(s.seq.Add(1), 10)
	req.Header.Set("X-Soak-Id", id)
	req.Header.Set("X-Soak-Expect", expect)
	resp, err := client.Do(req.WithContext(ctx))
	if err != nil {
		if ctx.Err() != nil {
			return // the run ended during the request: not counted
		}
		c.sent.Add(1)
		c.errs.Add(1)
		s.note("%s: transport error: %v", c.name, err)
		return
	}
	io.Copy(io.Discard, resp.Body) //nolint:errcheck
	resp.Body.Close()
	c.sent.Add(1)
	if resp.StatusCode >= 500 {
		c.fivexx.Add(1)
	}
	seen := resp.Header.Get("X-Soak-Seen")
	switch {
	case resp.StatusCode != c.status:
		c.wrong.Add(1)
		s.note("%s: status %d, want %d (reason %q)", c.name, resp.StatusCode, c.status, resp.Header.Get("X-Clerk-Auth-Reason")+resp.Header.Get("X-Clerk-Webhook-Reason"))
	case c.status == 200 && (seen != id || resp.Header.Get("X-Soak-Verdict") != "ok"):
		c.wrong.Add(1)
		s.note("%s: 200 but upstream seen=%q (want %s) verdict=%q", c.name, seen, id, resp.Header.Get("X-Soak-Verdict"))
	case c.status != 200 && seen != "":
		c.wrong.Add(1)
		s.note("%s: refused with %d but the upstream saw it", c.name, resp.StatusCode)
	}
}

// upstream checks the decision behind every request it receives.
func (s *soak) upstream(w http.ResponseWriter, r *http.Request) {
	s.upSeen.Add(1)
	expect := r.Header.Get("X-Soak-Expect")
	uid, sid, org := r.Header.Get("X-Clerk-User-Id"), r.Header.Get("X-Clerk-Session-Id"), r.Header.Get("X-Clerk-Org-Id")
	why := ""
	switch {
	case expect == "anon":
		if uid != "" || sid != "" || org != "" {
			why = fmt.Sprintf("anonymous request arrived with user=%q session=%q org=%q", uid, sid, org)
		}
	case strings.HasPrefix(expect, "user:"):
		parts := strings.SplitN(expect, ":", 3)
		if len(parts) != 3 || uid != parts[1] || sid != parts[2] || org != "org_soak" {
			why = fmt.Sprintf("want %s (org_soak), got user=%q session=%q org=%q", expect, uid, sid, org)
		}
	case expect == "webhook":
		body, _ := io.ReadAll(r.Body)
		ts, _ := strconv.ParseInt(r.Header.Get("Svix-Timestamp"), 10, 64)
		sig, err := clerktest.WebhookSignature(s.secret, r.Header.Get("Svix-Id"), ts, body)
		if r.Method != http.MethodPost || r.URL.Path != webhookPath || err != nil ||
			r.Header.Get("Svix-Signature") != "v1,"+sig || uid != "" {
			why = "webhook reached the upstream without a valid signature (or with an identity)"
		}
	case expect == "never":
		why = "a request that must be refused reached the upstream"
	default:
		why = fmt.Sprintf("unknown X-Soak-Expect %q", expect)
	}
	verdict := "ok"
	if why != "" {
		verdict = "wrong"
		s.upWrong.Add(1)
		s.note("upstream: %s %s: %s", r.Method, r.URL.Path, why)
	}
	w.Header().Set("X-Soak-Seen", r.Header.Get("X-Soak-Id"))
	w.Header().Set("X-Soak-Verdict", verdict)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte(verdict)) //nolint:errcheck
}

func (s *soak) warmUp(ctx context.Context, client *http.Client, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	var last string
	for time.Now().Before(deadline) && ctx.Err() == nil {
		id := s.valid[0]
		req := bearer(get(s.target, "/api/data"), id.token)
		req.Header.Set("X-Soak-Expect", userExpect(id))
		resp, err := client.Do(req.WithContext(ctx))
		if err == nil {
			io.Copy(io.Discard, resp.Body) //nolint:errcheck
			resp.Body.Close()
			if resp.StatusCode == 200 && resp.Header.Get("X-Soak-Verdict") == "ok" {
				return nil
			}
			last = fmt.Sprintf("status %d reason %q", resp.StatusCode, resp.Header.Get("X-Clerk-Auth-Reason"))
		} else {
			last = err.Error()
		}
		time.Sleep(200 * time.Millisecond)
	}
	return errors.New(last)
}
