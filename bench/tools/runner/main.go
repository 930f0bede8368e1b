// Command runner drives the caddy-clerk load benchmark; bench/run.sh builds
// everything and calls it. It starts the fixture (a local Clerk instance),
// the upstream, the forward_auth service and one Caddy process per
// configuration, all on loopback, then measures each configuration with wrk
// and prints tables with medians, spreads and ratios.
//
// The primary figure is Caddy's CPU time per request: utime+stime of the
// Caddy process from /proc/<pid>/stat, read right before and right after a
// wrk run, divided by the requests wrk completed. Requests/s are reported
// beside it. Within each repetition the variants of one workload run back to
// back, in an order that rotates from one repetition to the next, so that
// they share the machine's noise; ratios are taken per repetition and then
// summarised.
//
// Everything it starts runs in its own process group and is killed when the
// runner ends, on a signal, or at -deadline.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"math"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/caddy-clerk/caddy-clerk/bench/tools/internal/procstat"
)

// opts are the command-line knobs.
type opts struct {
	caddy, bin, lua, out string
	reps                 int
	duration, warmup     time.Duration
	conns, threads       int
	basePort             int
	floodReps, floodN    int
	floodDuration        time.Duration
	memTokens, memEvery  int
	memKeyBits           int
	profileSeconds       int
	stages               map[string]bool
	deadline             time.Duration
}

func main() {
	var o opts
	var stages string
	flag.StringVar(&o.caddy, "caddy", "", "our Caddy binary (go build ./cmd/caddy)")
	flag.StringVar(&o.bin, "bin", "", "directory holding the fixture, upstream and authsvc binaries")
	flag.StringVar(&o.lua, "lua", "", "bench/tokens.lua")
	flag.StringVar(&o.out, "out", "", "output directory")
	flag.IntVar(&o.reps, "reps", 5, "repetitions")
	flag.DurationVar(&o.duration, "duration", 5*time.Second, "length of one measured wrk run")
	flag.DurationVar(&o.warmup, "warmup", time.Second, "length of the one warm-up run per configuration and workload")
	flag.IntVar(&o.conns, "conns", 32, "wrk connections")
	flag.IntVar(&o.threads, "threads", 1, "wrk threads")
	flag.IntVar(&o.basePort, "base-port", 18400, "first of the loopback ports used")
	flag.IntVar(&o.floodReps, "flood-reps", 3, "repetitions of the flood test (each: one run without, one with the flood)")
	flag.IntVar(&o.floodN, "flood-n", 10000, "requests with random unknown kids per flood")
	flag.DurationVar(&o.floodDuration, "flood-duration", 10*time.Second, "length of one flood-test wrk run")
	flag.IntVar(&o.memTokens, "mem-tokens", 100000, "distinct valid tokens sent in the memory test")
	flag.IntVar(&o.memKeyBits, "mem-keybits", 1024, "RSA size of the key signing the memory test's tokens (1024: faster minting, tokens padded to the same length)")
	flag.IntVar(&o.memEvery, "mem-every", 0, "memory checkpoint every N tokens (default mem-tokens/10)")
	flag.IntVar(&o.profileSeconds, "profile-seconds", 5, "length of each CPU profile")
	flag.StringVar(&stages, "stages", "main,profile,refresh,flood,mem", "stages to run")
	flag.DurationVar(&o.deadline, "deadline", 45*time.Minute, "stop everything after this long")
	flag.Parse()
	o.stages = map[string]bool{}
	for _, s := range strings.Split(stages, ",") {
		o.stages[strings.TrimSpace(s)] = true
	}
	if o.caddy == "" || o.bin == "" || o.lua == "" || o.out == "" {
		log.Fatal("runner: -caddy, -bin, -lua and -out are required")
	}
	if o.memEvery <= 0 {
		o.memEvery = max(1, o.memTokens/10)
	}
	log.SetFlags(log.Ltime)
	log.SetPrefix("bench: ")

	ctx, cancel := context.WithTimeout(context.Background(), o.deadline)
	defer cancel()
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	r := &runner{o: o, ctx: ctx}
	err := r.run()
	r.stopAll()
	if err != nil {
		log.Fatalf("runner: %v", err)
	}
}

// ---------------------------------------------------------------- processes

type proc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
}

type runner struct {
	o     opts
	ctx   context.Context
	mu    sync.Mutex
	procs []*proc

	clkTck  float64
	env     map[string]string // from the fixture
	caddy   map[string]*caddyProc
	upPID   int
	authPID int

	report strings.Builder // the markdown report, also printed
	loads  []float64       // 1-min load average after each repetition
}

// loadAvg1 is the 1-minute load average: how many runnable tasks the two
// cores had, ours included (wrk and Caddy alone make about 2).
func loadAvg1() float64 {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return math.NaN()
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

// start runs a program in its own process group with output to a log file.
func (r *runner) start(name string, args []string, env []string) (*proc, io.Reader, error) {
	cmd := exec.Command(args[0], args[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Env = append(os.Environ(), env...)
	logf, err := os.Create(filepath.Join(r.o.out, "logs", name+".log"))
	if err != nil {
		return nil, nil, err
	}
	cmd.Stderr = logf
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, nil, fmt.Errorf("starting %s: %v", name, err)
	}
	p := &proc{name: name, cmd: cmd, done: make(chan struct{})}
	go func() { cmd.Wait(); logf.Close(); close(p.done) }() //nolint:errcheck
	r.mu.Lock()
	r.procs = append(r.procs, p)
	r.mu.Unlock()
	f, _ := os.OpenFile(filepath.Join(r.o.out, "pids"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if f != nil {
		fmt.Fprintln(f, cmd.Process.Pid)
		f.Close()
	}
	return p, stdout, nil
}

// stop ends one process group: SIGTERM, then SIGKILL after 3 s.
func (p *proc) stop() {
	pgid := p.cmd.Process.Pid
	syscall.Kill(-pgid, syscall.SIGTERM) //nolint:errcheck
	select {
	case <-p.done:
	case <-time.After(3 * time.Second):
		syscall.Kill(-pgid, syscall.SIGKILL) //nolint:errcheck
		<-p.done
	}
}

func (r *runner) stopAll() {
	r.mu.Lock()
	procs := r.procs
	r.procs = nil
	r.mu.Unlock()
	var wg sync.WaitGroup
	for _, p := range procs {
		wg.Add(1)
		go func() { defer wg.Done(); p.stop() }()
	}
	wg.Wait()
}

// waitHTTP polls url until it answers at all.
func (r *runner) waitHTTP(url string, within time.Duration) error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if r.ctx.Err() != nil {
			return r.ctx.Err()
		}
		if resp, err := client.Get(url); err == nil {
			io.Copy(io.Discard, resp.Body) //nolint:errcheck
			resp.Body.Close()
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("%s did not answer within %v", url, within)
}

func (r *runner) port(off int) int { return r.o.basePort + off }

func (r *runner) addr(off int) string { return fmt.Sprintf("127.0.0.1:%d", r.port(off)) }

// ------------------------------------------------------------- /proc reading

// cpuSeconds is utime+stime of pid in seconds.
func (r *runner) cpuSeconds(pid int) float64 {
	if pid == 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return math.NaN()
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	// after the comm field: state(3) ... utime(14) stime(15)
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / r.clkTck
}

// ----------------------------------------------------------------- configs

// Configurations (one Caddy process each) and their port offsets.
const (
	cfgRespondPlain = "respond"
	cfgRespondClerk = "respond+clerk_auth"
	cfgProxyPlain   = "reverse_proxy"
	cfgProxyClerk   = "reverse_proxy+clerk_auth"
	cfgForwardAuth  = "forward_auth+clerk-sdk-go"
	cfgMemory       = "memory (respond+clerk_auth)"
	cfgProxyNoHdr   = "reverse_proxy+clerk_auth, identity_headers off"
)

// allConfigs are the Caddy processes of the main stage.
var allConfigs = []string{cfgRespondPlain, cfgRespondClerk, cfgProxyPlain, cfgProxyClerk, cfgProxyNoHdr, cfgForwardAuth}

var cfgOffsets = map[string]int{
	cfgRespondPlain: 10, cfgRespondClerk: 11, cfgProxyPlain: 12,
	cfgProxyClerk: 13, cfgForwardAuth: 14, cfgMemory: 15, cfgProxyNoHdr: 16,
}

type caddyProc struct {
	name  string
	port  int
	admin int
	p     *proc
}

func (c *caddyProc) pid() int { return c.p.cmd.Process.Pid }

func (r *runner) caddyfile(cfg string, port, admin int) string {
	var b strings.Builder
	fmt.Fprintf(&b, `{
	admin 127.0.0.1:%d
	persist_config off
	auto_https off
	grace_period 2s
}

http://:%d {
	bind 127.0.0.1
`, admin, port)
	prefix := "CLERK_"
	if cfg == cfgMemory {
		prefix = "MEM_CLERK_" // the memory test's instance (the same one unless -mem-keybits)
	}
	extra := ""
	if cfg == cfgProxyNoHdr {
		extra = "\t\tidentity_headers off\n"
	}
	clerk := fmt.Sprintf(`	clerk_auth {
		publishable_key %s
		secret_key %s
		frontend_api %s
		api_url %s
		public_routes /public(.*)
		api_routes /api/(.*)
%s	}
`, r.env[prefix+"PUBLISHABLE_KEY"], r.env[prefix+"SECRET_KEY"], r.env[prefix+"FRONTEND_API"], r.env[prefix+"API_URL"], extra)
	up := r.addr(4)
	switch cfg {
	case cfgRespondPlain:
		b.WriteString("\trespond \"ok\" 200\n")
	case cfgRespondClerk, cfgMemory:
		b.WriteString(clerk)
		b.WriteString("\trespond \"ok\" 200\n")
	case cfgProxyPlain:
		fmt.Fprintf(&b, "\treverse_proxy %s\n", up)
	case cfgProxyClerk, cfgProxyNoHdr:
		b.WriteString(clerk)
		fmt.Fprintf(&b, "\treverse_proxy %s\n", up)
	case cfgForwardAuth:
		fmt.Fprintf(&b, `	forward_auth %s {
		uri /verify
		copy_headers X-Clerk-User-Id
	}
	reverse_proxy %s
`, r.addr(5), up)
	}
	b.WriteString("}\n")
	return b.String()
}

func (r *runner) startCaddy(cfg string) (*caddyProc, error) {
	off := cfgOffsets[cfg]
	c := &caddyProc{name: cfg, port: r.port(off), admin: r.port(off + 10)}
	slug := strings.NewReplacer("+", "_", " ", "_", "(", "", ")", "", ",", "").Replace(cfg)
	path := filepath.Join(r.o.out, "caddyfiles", slug+".Caddyfile")
	if err := os.WriteFile(path, []byte(r.caddyfile(cfg, c.port, c.admin)), 0o644); err != nil {
		return nil, err
	}
	home := filepath.Join(r.o.out, "caddyhome")
	p, _, err := r.start("caddy-"+slug, []string{r.o.caddy, "run", "--config", path, "--adapter", "caddyfile"},
		[]string{"XDG_CONFIG_HOME=" + home, "XDG_DATA_HOME=" + home, "HOME=" + home})
	if err != nil {
		return nil, err
	}
	c.p = p
	if err := r.waitHTTP(fmt.Sprintf("http://127.0.0.1:%d/public/x", c.port), 20*time.Second); err != nil {
		return nil, fmt.Errorf("caddy %s: %v (see logs/caddy-%s.log)", cfg, err, slug)
	}
	return c, nil
}

// ---------------------------------------------------------------- workloads

type workload struct {
	id, name, path string
	header         bool // the reused token
	lua            bool // the 10 000 tokens
}

var workloads = []workload{
	{id: "a", name: "one reused valid token", path: "/api/data", header: true},
	{id: "b", name: "10 000 distinct valid tokens", path: "/api/data", lua: true},
	{id: "c", name: "no token (401)", path: "/api/data"},
	{id: "d", name: "public route, no token", path: "/public/page"},
}

func wl(id string) workload {
	for _, w := range workloads {
		if w.id == id {
			return w
		}
	}
	panic(id)
}

// expectStatus is what a configuration answers to a workload.
func expectStatus(cfg string, w workload) int {
	if w.id == "c" && (cfg == cfgRespondClerk || cfg == cfgProxyClerk || cfg == cfgProxyNoHdr || cfg == cfgForwardAuth) {
		return http.StatusUnauthorized
	}
	return http.StatusOK
}

// -------------------------------------------------------------------- wrk

type wrkResult struct {
	requests      int64
	seconds       float64
	rps           float64
	non2xx        int64
	sockErrors    int64
	p50, p90, p99 float64 // milliseconds
	raw           string
}

var (
	reRequests = regexp.MustCompile(`(\d+) requests in ([\d.]+)(us|ms|s|m)`)
	reRPS      = regexp.MustCompile(`Requests/sec:\s+([\d.]+)`)
	reNon2xx   = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
	reSock     = regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
	rePct      = regexp.MustCompile(`(?m)^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s)`)
)

func unitSeconds(v float64, unit string) float64 {
	switch unit {
	case "us":
		return v / 1e6
	case "ms":
		return v / 1e3
	case "m":
		return v * 60
	}
	return v
}

func parseWrk(out string) (wrkResult, error) {
	res := wrkResult{raw: out}
	m := reRequests.FindStringSubmatch(out)
	if m == nil {
		return res, fmt.Errorf("no request count in wrk output:\n%s", out)
	}
	res.requests, _ = strconv.ParseInt(m[1], 10, 64)
	v, _ := strconv.ParseFloat(m[2], 64)
	res.seconds = unitSeconds(v, m[3])
	if m := reRPS.FindStringSubmatch(out); m != nil {
		res.rps, _ = strconv.ParseFloat(m[1], 64)
	}
	if m := reNon2xx.FindStringSubmatch(out); m != nil {
		res.non2xx, _ = strconv.ParseInt(m[1], 10, 64)
	}
	if m := reSock.FindStringSubmatch(out); m != nil {
		for _, s := range m[1:] {
			n, _ := strconv.ParseInt(s, 10, 64)
			res.sockErrors += n
		}
	}
	for _, m := range rePct.FindAllStringSubmatch(out, -1) {
		v, _ := strconv.ParseFloat(m[2], 64)
		ms := unitSeconds(v, m[3]) * 1e3
		switch m[1] {
		case "50":
			res.p50 = ms
		case "90":
			res.p90 = ms
		case "99":
			res.p99 = ms
		}
	}
	return res, nil
}

// wrk runs one load against a Caddy port.
func (r *runner) wrk(port int, w workload, d time.Duration) (wrkResult, error) {
	args := []string{"-t", strconv.Itoa(r.o.threads), "-c", strconv.Itoa(r.o.conns),
		"-d", fmt.Sprintf("%ds", max(1, int(math.Ceil(d.Seconds())))), "--timeout", "10s", "--latency"}
	if w.header {
		args = append(args, "-H", "Authorization: Bearer "+r.token())
	}
	if w.lua {
		args = append(args, "-s", r.o.lua)
	}
	args = append(args, fmt.Sprintf("http://127.0.0.1:%d%s", port, w.path))
	if w.lua {
		args = append(args, "--", r.env["TOKENS_FILE"])
	}
	ctx, cancel := context.WithTimeout(r.ctx, d+30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "wrk", args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return wrkResult{}, fmt.Errorf("wrk: %v\n%s", err, out)
	}
	return parseWrk(string(out))
}

var tokenOnce struct {
	sync.Once
	tok string
}

func (r *runner) token() string {
	tokenOnce.Do(func() {
		b, err := os.ReadFile(r.env["TOKEN_FILE"])
		if err != nil {
			log.Fatal(err)
		}
		tokenOnce.tok = strings.TrimSpace(string(b))
	})
	return tokenOnce.tok
}

// ---------------------------------------------------------------- measuring

// run is one measured wrk run against one configuration.
type run struct {
	cfg, wl          string
	rep              int
	requests         int64
	rps              float64
	caddyCPU         float64 // seconds
	authCPU, upCPU   float64 // seconds
	p50, p99         float64
	rssKiB, hwmKiB   int64
	non2xx, sockErrs int64
	ok               bool
}

func (x run) caddyUS() float64 { return x.caddyCPU * 1e6 / float64(x.requests) }

// totalUS is Caddy plus the auth service, per request.
func (x run) totalUS() float64 { return (x.caddyCPU + x.authCPU) * 1e6 / float64(x.requests) }

func (x run) upUS() float64 { return x.upCPU * 1e6 / float64(x.requests) }

func (r *runner) measure(cfg string, w workload, rep int, d time.Duration) (run, error) {
	c := r.caddy[cfg]
	pid := c.pid()
	auth := 0
	if cfg == cfgForwardAuth {
		auth = r.authPID
	}
	up := 0
	if cfg == cfgProxyPlain || cfg == cfgProxyClerk || cfg == cfgProxyNoHdr || cfg == cfgForwardAuth {
		up = r.upPID
	}
	c0, a0, u0 := r.cpuSeconds(pid), r.cpuSeconds(auth), r.cpuSeconds(up)
	res, err := r.wrk(c.port, w, d)
	c1, a1, u1 := r.cpuSeconds(pid), r.cpuSeconds(auth), r.cpuSeconds(up)
	if err != nil {
		return run{}, err
	}
	rss, hwm := procstat.ProcMem(pid)
	x := run{cfg: cfg, wl: w.id, rep: rep, requests: res.requests, rps: res.rps,
		caddyCPU: c1 - c0, authCPU: a1 - a0, upCPU: u1 - u0, p50: res.p50, p99: res.p99,
		rssKiB: rss, hwmKiB: hwm, non2xx: res.non2xx, sockErrs: res.sockErrors}
	want := expectStatus(cfg, w)
	x.ok = res.requests > 0 && ((want == 200 && res.non2xx == 0) || (want != 200 && res.non2xx == res.requests))
	if !x.ok {
		log.Printf("WARNING: %s (%s) rep %d: %d requests, %d non-2xx, want all %d", cfg, w.id, rep, res.requests, res.non2xx, want)
	}
	return x, nil
}

// ------------------------------------------------------------------- stats

type summary struct{ med, min, max float64 }

func summarize(v []float64) summary {
	if len(v) == 0 {
		return summary{math.NaN(), math.NaN(), math.NaN()}
	}
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	med := s[n/2]
	if n%2 == 0 {
		med = (s[n/2-1] + s[n/2]) / 2
	}
	return summary{med, s[0], s[n-1]}
}

func (s summary) fmt(prec int) string {
	return fmt.Sprintf("%.*f [%.*f–%.*f]", prec, s.med, prec, s.min, prec, s.max)
}

func (r *runner) printf(format string, a ...any) {
	fmt.Fprintf(&r.report, format, a...)
	fmt.Printf(format, a...)
}

// ---------------------------------------------------------------------- run

func (r *runner) run() error {
	for _, d := range []string{"logs", "caddyfiles", "caddyhome", "profiles", "fixture"} {
		if err := os.MkdirAll(filepath.Join(r.o.out, d), 0o755); err != nil {
			return err
		}
	}
	tck, err := exec.Command("getconf", "CLK_TCK").Output()
	if err != nil {
		return fmt.Errorf("getconf CLK_TCK: %v", err)
	}
	r.clkTck, _ = strconv.ParseFloat(strings.TrimSpace(string(tck)), 64)
	if r.clkTck <= 0 {
		return errors.New("bad CLK_TCK")
	}

	// The fixture: a local Clerk instance and the token files.
	log.Printf("starting the fixture (local Clerk instance, minting tokens)")
	fx, stdout, err := r.start("fixture", []string{filepath.Join(r.o.bin, "fixture"),
		"-fapi", r.addr(1), "-bapi", r.addr(2), "-ctl", r.addr(3),
		"-mem-keybits", strconv.Itoa(r.o.memKeyBits), "-mem-fapi", r.addr(7), "-mem-bapi", r.addr(8),
		"-out", filepath.Join(r.o.out, "fixture"), "-timeout", r.o.deadline.String()}, nil)
	if err != nil {
		return err
	}
	_ = fx
	r.env = map[string]string{}
	sc := bufio.NewScanner(stdout)
	ready := make(chan error, 1)
	go func() {
		for sc.Scan() {
			line := sc.Text()
			if line == "READY" {
				ready <- nil
				io.Copy(io.Discard, stdout) //nolint:errcheck
				return
			}
			if k, v, ok := strings.Cut(line, "="); ok {
				r.env[k] = v
			}
		}
		ready <- errors.New("fixture exited before READY (see logs/fixture.log)")
	}()
	select {
	case err := <-ready:
		if err != nil {
			return err
		}
	case <-time.After(3 * time.Minute):
		return errors.New("fixture not ready after 3 minutes")
	case <-r.ctx.Done():
		return r.ctx.Err()
	}

	up, _, err := r.start("upstream", []string{filepath.Join(r.o.bin, "upstream"), "-addr", r.addr(4), "-timeout", r.o.deadline.String()}, nil)
	if err != nil {
		return err
	}
	r.upPID = up.cmd.Process.Pid
	auth, _, err := r.start("authsvc", []string{filepath.Join(r.o.bin, "authsvc"), "-addr", r.addr(5), "-pprof", r.addr(6),
		"-api-url", r.env["CLERK_API_URL"], "-secret-key", r.env["CLERK_SECRET_KEY"], "-timeout", r.o.deadline.String()}, nil)
	if err != nil {
		return err
	}
	r.authPID = auth.cmd.Process.Pid
	for _, u := range []string{"http://" + r.addr(4) + "/", "http://" + r.addr(5) + "/verify"} {
		if err := r.waitHTTP(u, 20*time.Second); err != nil {
			return err
		}
	}

	r.caddy = map[string]*caddyProc{}
	for _, cfg := range allConfigs {
		c, err := r.startCaddy(cfg)
		if err != nil {
			return err
		}
		r.caddy[cfg] = c
	}
	log.Printf("all processes up; clerk JWKS fetches so far: %d", r.fetches())
	if err := r.sanity(); err != nil {
		return err
	}

	if r.o.stages["main"] {
		if err := r.stageMain(); err != nil {
			return err
		}
	}
	if r.o.stages["profile"] {
		if err := r.stageProfile(); err != nil {
			return err
		}
	}
	if r.o.stages["refresh"] {
		if err := r.stageRefresh(); err != nil {
			return err
		}
	}
	if r.o.stages["flood"] {
		if err := r.stageFlood(); err != nil {
			return err
		}
	}
	if r.o.stages["mem"] {
		if err := r.stageMemory(); err != nil {
			return err
		}
	}
	return os.WriteFile(filepath.Join(r.o.out, "results.md"), []byte(r.report.String()), 0o644)
}

// sanity sends one request of each workload to each configuration and checks
// the status, so that a broken setup fails loudly before any measuring.
func (r *runner) sanity() error {
	client := &http.Client{Timeout: 10 * time.Second}
	tokens, err := os.ReadFile(r.env["TOKENS_FILE"])
	if err != nil {
		return err
	}
	first, _, _ := strings.Cut(string(tokens), "\n")
	for _, cfg := range allConfigs {
		for _, w := range workloads {
			req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d%s", r.caddy[cfg].port, w.path), nil)
			if w.header {
				req.Header.Set("Authorization", "Bearer "+r.token())
			}
			if w.lua {
				req.Header.Set("Authorization", "Bearer "+first)
			}
			resp, err := client.Do(req)
			if err != nil {
				return fmt.Errorf("sanity %s (%s): %v", cfg, w.id, err)
			}
			io.Copy(io.Discard, resp.Body) //nolint:errcheck
			resp.Body.Close()
			if cfg == cfgForwardAuth && w.id == "d" {
				continue // forward_auth has no public route in this setup
			}
			if want := expectStatus(cfg, w); resp.StatusCode != want {
				return fmt.Errorf("sanity %s (%s): status %d, want %d (reason %q)", cfg, w.id,
					resp.StatusCode, want, resp.Header.Get("X-Clerk-Auth-Reason"))
			}
		}
	}
	log.Printf("sanity checks passed")
	return nil
}

func (r *runner) fetches() int64 {
	resp, err := http.Get(r.env["FIXTURE_CTL"] + "/fetches")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return -1
	}
	return n
}

// groups lists, per workload, the variants measured back to back.
type group struct {
	title    string
	wl       string
	variants []string
}

func mainGroups() []group {
	var gs []group
	for _, w := range []string{"a", "b", "c", "d"} {
		gs = append(gs, group{"respond", w, []string{cfgRespondPlain, cfgRespondClerk}})
	}
	gs = append(gs, group{"reverse_proxy", "a", []string{cfgProxyPlain, cfgProxyClerk, cfgForwardAuth, cfgProxyNoHdr}})
	for _, w := range []string{"b", "c"} {
		gs = append(gs, group{"reverse_proxy", w, []string{cfgProxyPlain, cfgProxyClerk, cfgForwardAuth}})
	}
	gs = append(gs, group{"reverse_proxy", "d", []string{cfgProxyPlain, cfgProxyClerk}})
	return gs
}

func (r *runner) stageMain() error {
	gs := mainGroups()
	nruns := 0
	for _, g := range gs {
		nruns += len(g.variants)
	}
	log.Printf("main: %d runs per repetition, %d repetitions of %v (+ one %v warm-up each)",
		nruns, r.o.reps, r.o.duration, r.o.warmup)
	for _, g := range gs {
		for _, cfg := range g.variants {
			if _, err := r.wrk(r.caddy[cfg].port, wl(g.wl), r.o.warmup); err != nil {
				return err
			}
		}
	}
	fetches0 := r.fetches()
	csv, err := os.Create(filepath.Join(r.o.out, "runs.csv"))
	if err != nil {
		return err
	}
	defer csv.Close()
	fmt.Fprintln(csv, "rep,config,workload,requests,seconds_cpu_caddy,seconds_cpu_authsvc,seconds_cpu_upstream,caddy_us_per_req,total_us_per_req,rps,p50_ms,p99_ms,vmrss_kib,vmhwm_kib,non2xx,socket_errors,ok")
	var runs []run
	for rep := 1; rep <= r.o.reps; rep++ {
		start := time.Now()
		for _, g := range gs {
			n := len(g.variants)
			for k := range n {
				cfg := g.variants[(k+rep-1)%n] // rotate the order per repetition
				x, err := r.measure(cfg, wl(g.wl), rep, r.o.duration)
				if err != nil {
					return err
				}
				runs = append(runs, x)
				fmt.Fprintf(csv, "%d,%s,%s,%d,%.3f,%.3f,%.3f,%.2f,%.2f,%.0f,%.3f,%.3f,%d,%d,%d,%d,%v\n",
					rep, x.cfg, x.wl, x.requests, x.caddyCPU, x.authCPU, x.upCPU, x.caddyUS(), x.totalUS(),
					x.rps, x.p50, x.p99, x.rssKiB, x.hwmKiB, x.non2xx, x.sockErrs, x.ok)
			}
		}
		r.loads = append(r.loads, loadAvg1())
		log.Printf("main: repetition %d/%d done in %v (1-min load average %.2f)", rep, r.o.reps, time.Since(start).Round(time.Second), r.loads[len(r.loads)-1])
	}
	r.reportMain(runs, r.fetches()-fetches0)
	return nil
}

func fmtLoads(v []float64) string {
	var s []string
	for _, x := range v {
		s = append(s, fmt.Sprintf("%.1f", x))
	}
	return strings.Join(s, ", ")
}

func pick(runs []run, cfg, w string) []run {
	var out []run
	for _, x := range runs {
		if x.cfg == cfg && x.wl == w {
			out = append(out, x)
		}
	}
	return out
}

// ratios pairs runs of two configurations by repetition.
func ratios(runs []run, num, den, w string, f func(run) float64) []float64 {
	var out []float64
	for _, a := range pick(runs, num, w) {
		for _, b := range pick(runs, den, w) {
			if a.rep == b.rep && a.ok && b.ok {
				out = append(out, f(a)/f(b))
			}
		}
	}
	return out
}

func vals(rs []run, f func(run) float64) []float64 {
	var out []float64
	for _, x := range rs {
		if x.ok {
			out = append(out, f(x))
		}
	}
	return out
}

func (r *runner) reportMain(runs []run, fetches int64) {
	r.printf("\n## Caddy CPU per request\n\n")
	r.printf("%d repetitions × %v per run, wrk -t%d -c%d; median [min–max] over repetitions. "+
		"CPU µs/req = Caddy's utime+stime over the run ÷ requests served. "+
		"`+auth svc` adds the forward_auth service's CPU; `upstream` is the upstream's CPU (reverse_proxy configurations).\n\n",
		r.o.reps, r.o.duration, r.o.threads, r.o.conns)
	r.printf("1-minute load average after each repetition: %s (this benchmark alone keeps it near 2).\n\n", fmtLoads(r.loads))
	r.printf("| configuration | workload | Caddy CPU µs/req | +auth svc µs/req | upstream µs/req | requests/s | p50 ms | p99 ms | status |\n")
	r.printf("|---|---|---|---|---|---|---|---|---|\n")
	for _, g := range mainGroups() {
		for _, cfg := range g.variants {
			rs := pick(runs, cfg, g.wl)
			total := "–"
			if cfg == cfgForwardAuth {
				total = summarize(vals(rs, run.totalUS)).fmt(1)
			}
			upc := "–"
			if strings.Contains(cfg, "proxy") || cfg == cfgForwardAuth {
				upc = summarize(vals(rs, run.upUS)).fmt(1)
			}
			bad := 0
			for _, x := range rs {
				if !x.ok {
					bad++
				}
			}
			status := fmt.Sprintf("all %d", expectStatus(cfg, wl(g.wl)))
			if bad > 0 {
				status += fmt.Sprintf(" (%d runs INVALID)", bad)
			}
			r.printf("| %s | (%s) %s | %s | %s | %s | %s | %s | %s | %s |\n", cfg, g.wl, wl(g.wl).name,
				summarize(vals(rs, run.caddyUS)).fmt(1), total, upc,
				summarize(vals(rs, func(x run) float64 { return x.rps })).fmt(0),
				summarize(vals(rs, func(x run) float64 { return x.p50 })).fmt(2),
				summarize(vals(rs, func(x run) float64 { return x.p99 })).fmt(2), status)
		}
	}

	r.printf("\n## Ratios (per-repetition pairs; median [min–max])\n\n")
	r.printf("| comparison | workload | CPU/req ratio | target | met (median) | requests/s ratio |\n|---|---|---|---|---|---|\n")
	type cmp struct {
		num, den, w string
		target      float64
		total       bool
	}
	cmps := []cmp{
		{cfgRespondClerk, cfgRespondPlain, "a", 1.05, false},
		{cfgRespondClerk, cfgRespondPlain, "b", 2.0, false},
		{cfgRespondClerk, cfgRespondPlain, "c", 0, false},
		{cfgRespondClerk, cfgRespondPlain, "d", 0, false},
		{cfgProxyClerk, cfgProxyPlain, "a", 1.02, false},
		{cfgProxyNoHdr, cfgProxyPlain, "a", 0, false},
		{cfgProxyClerk, cfgProxyPlain, "b", 0, false},
		{cfgProxyClerk, cfgProxyPlain, "c", 0, false},
		{cfgProxyClerk, cfgProxyPlain, "d", 0, false},
		{cfgProxyClerk, cfgForwardAuth, "a", 1.0 / 3, true},
		{cfgProxyClerk, cfgForwardAuth, "b", 1.0 / 3, true},
		{cfgProxyClerk, cfgForwardAuth, "c", 0, true},
		{cfgForwardAuth, cfgProxyPlain, "a", 0, true},
	}
	for _, c := range cmps {
		f := run.caddyUS
		label := fmt.Sprintf("%s ÷ %s (Caddy CPU)", c.num, c.den)
		if c.total {
			f = run.totalUS
			label = fmt.Sprintf("%s ÷ %s (Caddy + auth service CPU)", c.num, c.den)
		}
		s := summarize(ratios(runs, c.num, c.den, c.w, f))
		rps := summarize(ratios(runs, c.num, c.den, c.w, func(x run) float64 { return x.rps }))
		target, met := "–", "–"
		if c.target > 0 {
			target = fmt.Sprintf("≤ %.3g", c.target)
			if c.target < 1 {
				target = "≤ 1/3 (0.333)"
			}
			met = "yes"
			if s.med > c.target {
				met = fmt.Sprintf("no (%.1f%% over)", (s.med/c.target-1)*100)
			}
		}
		r.printf("| %s | (%s) | %s | %s | %s | %s |\n", label, c.w, s.fmt(3), target, met, rps.fmt(3))
	}

	r.printf("\n## Caddy memory under load (steady state)\n\n")
	r.printf("VmRSS right after each measured run (median [min–max] over all its runs) and the peak VmHWM.\n\n")
	r.printf("| configuration | VmRSS MiB | peak VmHWM MiB |\n|---|---|---|\n")
	for _, cfg := range allConfigs {
		var rss []float64
		var hwm int64
		for _, x := range runs {
			if x.cfg == cfg {
				rss = append(rss, float64(x.rssKiB)/1024)
				hwm = max(hwm, x.hwmKiB)
			}
		}
		r.printf("| %s | %s | %.1f |\n", cfg, summarize(rss).fmt(1), float64(hwm)/1024)
	}
	if r.authPID != 0 {
		rss, hwm := procstat.ProcMem(r.authPID)
		r.printf("| (forward_auth service, at the end) | %.1f | %.1f |\n", float64(rss)/1024, float64(hwm)/1024)
	}
	r.printf("\nJWKS fetches served by the local Clerk during the measured runs: %d. A known kid never touches the network; "+
		"each clerk_auth Caddy refreshes its keys in the background every 5 minutes, and clerk-sdk-go refetches a kid's key after an hour.\n", fetches)
}

// ----------------------------------------------------------------- refresh

// stageRefresh measures workload (b) on respond+clerk_auth right before and
// right after one JWKS refetch, triggered by a single request with an unknown
// kid. The keys do not change; what the refetch changes is the key objects
// that cached tokens are checked against.
func (r *runner) stageRefresh() error {
	flood, err := os.ReadFile(r.env["FLOOD_FILE"])
	if err != nil {
		return err
	}
	unknown, _, _ := strings.Cut(string(flood), "\n")
	c := r.caddy[cfgRespondClerk]
	w := wl("b")
	log.Printf("refresh: %d repetitions of (b) before and after one unknown-kid request", r.o.reps)
	type rr struct {
		before, after run
		fetched       int64
	}
	var rrs []rr
	client := &http.Client{Timeout: 30 * time.Second}
	trigger := func() (int64, error) {
		f0 := r.fetches()
		req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d/api/data", c.port), nil)
		req.Header.Set("Authorization", "Bearer "+unknown)
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		io.Copy(io.Discard, resp.Body) //nolint:errcheck
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			return 0, fmt.Errorf("unknown kid answered %d", resp.StatusCode)
		}
		return r.fetches() - f0, nil
	}
	// Short runs, so that the one pass of re-verifications after the refetch
	// is a large part of the run; the warm-up keeps refetches > 10 s apart.
	d := 2 * time.Second
	for rep := 1; rep <= r.o.reps; rep++ {
		if _, err := r.wrk(c.port, w, 6*time.Second); err != nil { // back to steady state
			return err
		}
		before, err := r.measure(cfgRespondClerk, w, rep, d)
		if err != nil {
			return err
		}
		n, err := trigger()
		if err != nil {
			return err
		}
		if n == 0 { // inside the 10 s window of an earlier fetch: wait it out once
			time.Sleep(10 * time.Second)
			if n, err = trigger(); err != nil {
				return err
			}
		}
		after, err := r.measure(cfgRespondClerk, w, rep, d)
		if err != nil {
			return err
		}
		rrs = append(rrs, rr{before, after, n})
	}
	r.printf("\n## Token cache after a JWKS refetch\n\n")
	r.printf("respond+clerk_auth, workload (b) (10 000 tokens in turn), %v per run: right before and right after one request with an unknown kid, "+
		"which makes clerk_auth refetch the (unchanged) JWKS. The background refresh every 5 minutes does the same. "+
		"Extra CPU = Caddy CPU of the run after, minus what its requests would have cost at the rate before; "+
		"÷ 10 000 = per token verified again (when the run after served at least 10 000 requests).\n\n", d)
	r.printf("| rep | before: Caddy CPU µs/req | after: Caddy CPU µs/req | after ÷ before | requests before | requests after | extra CPU ms | extra µs per token | JWKS fetches triggered |\n|---|---|---|---|---|---|---|---|---|\n")
	var ratio, perTok []float64
	for i, x := range rrs {
		q := x.after.caddyUS() / x.before.caddyUS()
		ratio = append(ratio, q)
		extra := x.after.caddyCPU - x.before.caddyUS()*float64(x.after.requests)/1e6
		per := "–"
		if x.after.requests >= 10000 {
			perTok = append(perTok, extra*1e6/10000)
			per = fmt.Sprintf("%.0f", extra*1e6/10000)
		}
		r.printf("| %d | %.1f | %.1f | %.2f | %d | %d | %.0f | %s | %d |\n", i+1, x.before.caddyUS(), x.after.caddyUS(), q,
			x.before.requests, x.after.requests, extra*1e3, per, x.fetched)
	}
	r.printf("\nafter ÷ before: %s; extra µs per token verified again: %s\n", summarize(ratio).fmt(2), summarize(perTok).fmt(0))
	return nil
}

// ------------------------------------------------------------------- flood

func (r *runner) stageFlood() error {
	c := r.caddy[cfgRespondClerk]
	w := wl("a")
	over := r.o.floodDuration - 2*time.Second
	if over <= 0 {
		over = r.o.floodDuration / 2
	}
	log.Printf("flood: %d repetitions of %v without and with %d unknown-kid requests over %v",
		r.o.floodReps, r.o.floodDuration, r.o.floodN, over)
	type fr struct {
		rep                   int
		flood                 bool
		res                   wrkResult
		cpuUS                 float64
		fetches               int64
		sent, status401, othr int
		elapsedMS             int64
	}
	var frs []fr
	for rep := 1; rep <= r.o.floodReps; rep++ {
		for k := range 2 {
			flood := (k+rep)%2 == 0 // alternate which goes first
			pid := c.pid()
			f0 := r.fetches()
			c0 := r.cpuSeconds(pid)
			type fl struct {
				Sent      int            `json:"sent"`
				ElapsedMS int64          `json:"elapsed_ms"`
				Statuses  map[string]int `json:"statuses"`
			}
			var flres fl
			var flerr error
			var wg sync.WaitGroup
			if flood {
				wg.Add(1)
				go func() {
					defer wg.Done()
					time.Sleep(time.Second)
					u := fmt.Sprintf("%s/flood?target=%s&n=%d&over=%s&conc=8", r.env["FIXTURE_CTL"],
						fmt.Sprintf("http://127.0.0.1:%d/api/data", c.port), r.o.floodN, over)
					client := &http.Client{Timeout: over + time.Minute}
					resp, err := client.Get(u)
					if err != nil {
						flerr = err
						return
					}
					defer resp.Body.Close()
					flerr = json.NewDecoder(resp.Body).Decode(&flres)
				}()
			}
			res, err := r.wrk(c.port, w, r.o.floodDuration)
			wg.Wait()
			if err != nil {
				return err
			}
			if flerr != nil {
				return fmt.Errorf("flood: %v", flerr)
			}
			x := fr{rep: rep, flood: flood, res: res, fetches: r.fetches() - f0,
				cpuUS: (r.cpuSeconds(pid) - c0) * 1e6 / float64(res.requests)}
			if flood {
				x.sent, x.elapsedMS = flres.Sent, flres.ElapsedMS
				for s, n := range flres.Statuses {
					if s == "401" {
						x.status401 += n
					} else {
						x.othr += n
					}
				}
			}
			if res.non2xx != 0 {
				log.Printf("WARNING: flood test valid traffic had %d non-2xx answers", res.non2xx)
			}
			frs = append(frs, x)
		}
	}
	r.printf("\n## Unknown-kid flood\n\n")
	r.printf("Valid traffic: wrk -t%d -c%d, one reused token, %v per run, against respond+clerk_auth. "+
		"Flood: %d requests, each with a different random unknown kid, spread over %v of the run, 8 at a time. "+
		"The key cache allows one JWKS fetch per 10 s window.\n\n", r.o.threads, r.o.conns, r.o.floodDuration, r.o.floodN, over)
	r.printf("| rep | flood | valid req/s | p50 ms | p90 ms | p99 ms | valid non-2xx | flood sent | flood 401 | flood other | JWKS fetches in the run | Caddy CPU µs/req (valid+flood ÷ valid) |\n")
	r.printf("|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, x := range frs {
		fl := "no"
		sent, s401, oth := "–", "–", "–"
		if x.flood {
			fl = "yes"
			sent, s401, oth = strconv.Itoa(x.sent), strconv.Itoa(x.status401), strconv.Itoa(x.othr)
		}
		r.printf("| %d | %s | %.0f | %.2f | %.2f | %.2f | %d | %s | %s | %s | %d | %.1f |\n", x.rep, fl, x.res.rps,
			x.res.p50, x.res.p90, x.res.p99, x.res.non2xx, sent, s401, oth, x.fetches, x.cpuUS)
	}
	sum := func(flood bool, f func(fr) float64) summary {
		var v []float64
		for _, x := range frs {
			if x.flood == flood {
				v = append(v, f(x))
			}
		}
		return summarize(v)
	}
	r.printf("\n| | p50 ms | p99 ms | valid req/s | JWKS fetches per run |\n|---|---|---|---|---|\n")
	for _, flood := range []bool{false, true} {
		name := "without flood"
		if flood {
			name = "with flood"
		}
		r.printf("| %s | %s | %s | %s | %s |\n", name,
			sum(flood, func(x fr) float64 { return x.res.p50 }).fmt(2),
			sum(flood, func(x fr) float64 { return x.res.p99 }).fmt(2),
			sum(flood, func(x fr) float64 { return x.res.rps }).fmt(0),
			sum(flood, func(x fr) float64 { return float64(x.fetches) }).fmt(0))
	}
	windows := int(math.Ceil(over.Seconds()/10)) + 1
	r.printf("\nA flood spread over %v spans at most %d rate-limit windows of 10 s, so at most %d fetches are allowed per flood run.\n",
		over, windows, windows)
	return nil
}

// ----------------------------------------------------------------- profile

func (r *runner) stageProfile() error {
	type target struct {
		name, cfg, wl string
		authsvc       bool
	}
	targets := []target{
		{"respond-a-plain", cfgRespondPlain, "a", false},
		{"respond-a-clerk", cfgRespondClerk, "a", false},
		{"respond-b-plain", cfgRespondPlain, "b", false},
		{"respond-b-clerk", cfgRespondClerk, "b", false},
		{"proxy-a-plain", cfgProxyPlain, "a", false},
		{"proxy-a-clerk", cfgProxyClerk, "a", false},
		{"forward_auth-a-authsvc", cfgForwardAuth, "a", true},
	}
	secs := r.o.profileSeconds
	log.Printf("profile: %d CPU profiles of %ds", len(targets), secs)
	r.printf("\n## CPU profiles\n\nTaken from Caddy's admin endpoint (`/debug/pprof/profile?seconds=%d`) "+
		"or the forward_auth service's pprof endpoint while wrk runs; not part of the measured runs. "+
		"Files in `profiles/`; read with `go tool pprof -top <binary> <file>`.\n\n", secs)
	for _, t := range targets {
		c := r.caddy[t.cfg]
		url := fmt.Sprintf("http://127.0.0.1:%d/debug/pprof/profile?seconds=%d", c.admin, secs)
		binary := r.o.caddy
		if t.authsvc {
			url = fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", r.addr(6), secs)
			binary = filepath.Join(r.o.bin, "authsvc")
		}
		file := filepath.Join(r.o.out, "profiles", t.name+".pprof")
		if _, err := r.wrk(c.port, wl(t.wl), 2*time.Second); err != nil { // warm, not profiled
			return err
		}
		var wg sync.WaitGroup
		var perr error
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Timeout: time.Duration(secs+30) * time.Second}
			resp, err := client.Get(url)
			if err != nil {
				perr = err
				return
			}
			defer resp.Body.Close()
			if resp.StatusCode != 200 {
				perr = fmt.Errorf("%s: %s", url, resp.Status)
				return
			}
			f, err := os.Create(file)
			if err != nil {
				perr = err
				return
			}
			defer f.Close()
			_, perr = io.Copy(f, resp.Body)
		}()
		if _, err := r.wrk(c.port, wl(t.wl), time.Duration(secs+1)*time.Second); err != nil {
			return err
		}
		wg.Wait()
		if perr != nil {
			return perr
		}
		top, err := exec.CommandContext(r.ctx, "go", "tool", "pprof", "-top", "-nodecount=25", binary, file).Output()
		if err != nil {
			return fmt.Errorf("go tool pprof: %v", err)
		}
		os.WriteFile(strings.TrimSuffix(file, ".pprof")+".top.txt", top, 0o644) //nolint:errcheck
		r.printf("### %s (%s, workload %s)\n\n```\n%s```\n\n", t.name, t.cfg, t.wl, trimTop(string(top), 18))
		if strings.Contains(t.cfg, "clerk_auth") {
			// What clerk_auth's own code costs, cumulatively.
			// clerk_auth's handler and what it calls; the next handler's
			// share (HandlerFunc.ServeHTTP) is not clerk_auth's cost.
			peek, err := exec.CommandContext(r.ctx, "go", "tool", "pprof", "-peek", `ClerkAuth\)\.ServeHTTP$`, binary, file).Output()
			if err == nil {
				os.WriteFile(strings.TrimSuffix(file, ".pprof")+".clerk-peek.txt", peek, 0o644) //nolint:errcheck
				text := string(peek)
				if i := strings.Index(text, "----"); i >= 0 {
					text = text[i:]
				}
				r.printf("clerk_auth's ServeHTTP and its callees (`go tool pprof -peek`; `HandlerFunc.ServeHTTP` is the next handler):\n\n```\n%s```\n\n", text)
			}
		}
	}
	return nil
}

// trimTop keeps pprof's header and its first n rows.
func trimTop(s string, n int) string {
	lines := strings.Split(s, "\n")
	var out []string
	rows := -1
	for _, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), "flat") {
			rows = 0
			out = append(out, l)
			continue
		}
		if rows >= 0 {
			if rows >= n {
				break
			}
			rows++
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n") + "\n"
}

// ------------------------------------------------------------------ memory

func (r *runner) stageMemory() error {
	c, err := r.startCaddy(cfgMemory)
	if err != nil {
		return err
	}
	defer c.p.stop()
	// some public requests first, so that the process is warm and its keys loaded
	if _, err := r.wrk(c.port, wl("d"), time.Second); err != nil {
		return err
	}
	rss0, _ := procstat.ProcMem(c.pid())
	log.Printf("memory: sending %d distinct valid tokens (minted on the fly) to a fresh Caddy", r.o.memTokens)
	u := fmt.Sprintf("%s/memload?target=%s&admin=%s&pid=%d&n=%d&every=%d", r.env["FIXTURE_CTL"],
		fmt.Sprintf("http://127.0.0.1:%d/api/data", c.port), fmt.Sprintf("http://127.0.0.1:%d", c.admin),
		c.pid(), r.o.memTokens, r.o.memEvery)
	req, _ := http.NewRequestWithContext(r.ctx, http.MethodGet, u, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("memload: %s: %s", resp.Status, b)
	}
	type cp struct {
		Tokens    int     `json:"tokens"`
		Non200    int     `json:"non_200"`
		VmRSS     int64   `json:"vmrss_kib"`
		VmHWM     int64   `json:"vmhwm_kib"`
		HeapLive  uint64  `json:"heap_live_bytes"`
		HeapSys   uint64  `json:"heap_sys_bytes"`
		Elapsed   float64 `json:"elapsed_s"`
		PerSecond float64 `json:"tokens_per_s"`
	}
	var cps []cp
	dec := json.NewDecoder(resp.Body)
	for {
		var x cp
		if err := dec.Decode(&x); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return fmt.Errorf("memload: %v", err)
		}
		cps = append(cps, x)
		log.Printf("memory: %d tokens, VmRSS %.1f MiB, live heap %.1f MiB, %d non-200, %.0f tokens/s",
			x.Tokens, float64(x.VmRSS)/1024, float64(x.HeapLive)/(1<<20), x.Non200, x.PerSecond)
	}
	if len(cps) == 0 || cps[len(cps)-1].Tokens != r.o.memTokens {
		return errors.New("memload ended early")
	}
	r.printf("\n## Memory with many distinct tokens\n\n")
	keyNote := "signed with the instance's 2048-bit key"
	if r.o.memKeyBits != 2048 {
		keyNote = fmt.Sprintf("signed with a %d-bit key of a second local instance (to mint them faster) and padded with a claim "+
			"to the exact length of the 2048-bit tokens", r.o.memKeyBits)
	}
	r.printf("A fresh respond+clerk_auth Caddy (token cache bound: the default 10 000 entries) receives %d distinct valid tokens, "+
		"each once, minted on the fly by the fixture, %s. VmRSS before the first token: %.1f MiB. "+
		"Live heap = Go HeapAlloc right after a forced GC (admin `/debug/pprof/heap?gc=1`, then `/debug/vars`).\n\n",
		r.o.memTokens, keyNote, float64(rss0)/1024)
	r.printf("| distinct tokens seen | VmRSS MiB | VmHWM MiB | live heap MiB | heap from OS MiB | non-200 | tokens/s |\n|---|---|---|---|---|---|---|\n")
	for _, x := range cps {
		r.printf("| %d | %.1f | %.1f | %.1f | %.1f | %d | %.0f |\n", x.Tokens, float64(x.VmRSS)/1024, float64(x.VmHWM)/1024,
			float64(x.HeapLive)/(1<<20), float64(x.HeapSys)/(1<<20), x.Non200, x.PerSecond)
	}
	return nil
}
