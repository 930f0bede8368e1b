package caddyclerk

// Differential test: clerk_auth against Clerk's own SDK.
//
// conformance/testdata/cases.json holds the cases (conformance/generate.mjs)
// and conformance/testdata/clerk-decisions.json what Clerk's SDK decided for
// each of them (conformance/oracle.mjs). This test runs every case through our
// code (request cases through the real handler, route cases through the route
// pattern functions) and compares the answers field by field. A case either
// agrees on every field Clerk reports, or names the deliberate divergence
// class it expects (conformance/divergences.json); any other difference fails.
//
// The test needs no Node: `bash conformance/run.sh` proves that the committed
// oracle output is what Clerk's SDK answers today.

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"net/url"
	"os"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

var conformanceSummary = flag.String("conformance.summary", "",
	"write the conformance summary (docs/conformance.md) to this file")

const (
	conformanceCases       = "conformance/testdata/cases.json"
	conformanceDecisions   = "conformance/testdata/clerk-decisions.json"
	conformanceDivergences = "conformance/divergences.json"
)

// confData is conformance/testdata/cases.json.
type confData struct {
	NowMs     int64                   `json:"nowMs"`
	Instances map[string]confInstance `json:"instances"`
	Keys      map[string]string       `json:"keys"`
	Cases     []confCase              `json:"cases"`
}

type confInstance struct {
	PublishableKey string `json:"publishableKey"`
	SecretKey      string `json:"secretKey"`
}

type confCase struct {
	ID          string       `json:"id"`
	Area        string       `json:"area"`
	Kind        string       `json:"kind"`
	Description string       `json:"description"`
	Divergence  string       `json:"divergence"`
	NowMs       int64        `json:"nowMs"`
	Config      confConfig   `json:"config"`
	Request     *confRequest `json:"request"`
	Checks      []authCheck  `json:"checks"` // role, permission, feature, plan, reverification
	BAPI        []confAnswer `json:"bapi"`
	Patterns    []string     `json:"patterns"`
	Path        string       `json:"path"`
}

type confConfig struct {
	Instance          string   `json:"instance"`
	JWTKey            *string  `json:"jwtKey"` // null: keys from the (recorded) Backend API JWKS
	SecretKey         string   `json:"secretKey"`
	AuthorizedParties []string `json:"authorizedParties"`
	ClockSkewMs       *int64   `json:"clockSkewMs"`
	Issuer            string   `json:"issuer"`
	TrustedProxy      bool     `json:"trustedProxy"`
}

type confRequest struct {
	Method  string      `json:"method"`
	URL     string      `json:"url"`
	Headers [][2]string `json:"headers"`
}

// confAnswer is a recorded Backend API answer.
type confAnswer struct {
	Method string          `json:"method"`
	URL    string          `json:"url"`
	Status int             `json:"status"`
	Body   json.RawMessage `json:"body"`
}

// confDecisions is conformance/testdata/clerk-decisions.json.
type confDecisions struct {
	Oracle    map[string]string `json:"oracle"`
	Decisions []struct {
		ID    string         `json:"id"`
		Clerk map[string]any `json:"clerk"`
	} `json:"decisions"`
}

// confDivergences is conformance/divergences.json.
type confDivergences struct {
	Classes map[string]struct {
		Reason string           `json:"reason"`
		Fields []string         `json:"fields"`
		Clerk  map[string][]any `json:"clerk"`
		Ours   map[string][]any `json:"ours"`
	} `json:"classes"`
	NotExercised map[string]string `json:"notExercised"`
	NotCompared  map[string]string `json:"notCompared"`
}

// confFields is the order in which decision fields are compared and shown.
var confFields = []string{
	"status", "reason", "tokenType", "userId", "sessionId", "sessionStatus", "actorId",
	"orgId", "orgRole", "orgSlug", "orgPermissions", "has",
	"authStatusHeader", "authReasonHeader", "location", "setCookie",
	"compileError", "malformed", "publicMatch", "protectedMatch",
}

// confResult is the verdict on one case.
type confResult struct {
	c       *confCase
	clerk   map[string]any
	ours    map[string]any
	diffs   []string // differing fields, in confFields order
	problem string   // non-empty: the case fails
}

func loadJSON(t testing.TB, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// runConformance decides every case with our code and judges it.
func runConformance(t testing.TB) ([]confResult, *confDecisions, *confDivergences) {
	t.Helper()
	var data confData
	var decisions confDecisions
	var div confDivergences
	loadJSON(t, conformanceCases, &data)
	loadJSON(t, conformanceDecisions, &decisions)
	loadJSON(t, conformanceDivergences, &div)
	if len(decisions.Decisions) != len(data.Cases) {
		t.Fatalf("%d cases but %d decisions: run bash conformance/run.sh", len(data.Cases), len(decisions.Decisions))
	}
	results := make([]confResult, len(data.Cases))
	for i := range data.Cases {
		c := &data.Cases[i]
		r := &results[i]
		r.c = c
		if decisions.Decisions[i].ID != c.ID {
			t.Fatalf("decision %d is for %q, case is %q: run bash conformance/run.sh", i, decisions.Decisions[i].ID, c.ID)
		}
		r.clerk = decisions.Decisions[i].Clerk
		var err error
		if c.Kind == "route" {
			r.ours = decideRoute(c)
		} else {
			r.ours, err = decideRequest(&data, c)
		}
		if err != nil {
			r.problem = err.Error()
			continue
		}
		r.ours = normalizeJSON(t, r.ours)
		r.diffs = diffDecisions(r.clerk, r.ours)
		r.problem = judge(c, &div, r)
	}
	return results, &decisions, &div
}

// decideRequest runs a request case through a provisioned ClerkAuth and
// reports what it decided, in the shape of the oracle's decisions.
func decideRequest(data *confData, c *confCase) (map[string]any, error) {
	inst, ok := data.Instances[c.Config.Instance]
	if !ok {
		return nil, fmt.Errorf("unknown instance %q", c.Config.Instance)
	}
	h := &ClerkAuth{
		PublishableKey:    inst.PublishableKey,
		SecretKey:         inst.SecretKey,
		AuthorizedParties: c.Config.AuthorizedParties,
		Issuer:            c.Config.Issuer,
	}
	if c.Config.SecretKey != "" {
		h.SecretKey = c.Config.SecretKey
	}
	if c.Config.JWTKey != nil {
		h.JWTKey = data.Keys[*c.Config.JWTKey]
	}
	// The Backend API (the JWKS without jwtKey, handshake payloads,
	// refresh): serve its recorded answers.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, a := range c.BAPI {
			if u, err := url.Parse(a.URL); err == nil && a.Method == r.Method && u.Path == r.URL.Path {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(a.Status)
				_, _ = w.Write(a.Body)
				return
			}
		}
		http.Error(w, "no recorded answer for "+r.Method+" "+r.URL.Path, http.StatusTeapot)
	}))
	defer srv.Close()
	h.APIURL = srv.URL
	if c.Config.ClockSkewMs != nil {
		d := caddy.Duration(time.Duration(*c.Config.ClockSkewMs) * time.Millisecond)
		h.ClockSkew = &d
	}
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	defer cancel()
	if err := h.Provision(ctx); err != nil {
		return nil, fmt.Errorf("provision: %v", err)
	}
	defer func() { _ = h.Cleanup() }()
	nowMs := data.NowMs
	if c.NowMs != 0 {
		nowMs = c.NowMs
	}
	h.auth.verifier.now = func() time.Time { return time.UnixMilli(nowMs) }

	first, err := serveConformanceRequest(h, c)
	if err != nil {
		return nil, err
	}
	// The same request again: a verified token is now cached, and the cache
	// must not change any decision.
	second, err := serveConformanceRequest(h, c)
	if err != nil {
		return nil, err
	}
	if a, b := showJSON(first), showJSON(second); a != b {
		return nil, fmt.Errorf("the repeated request decides differently:\n    first  %s\n    second %s", a, b)
	}
	return first, nil
}

// serveConformanceRequest serves one request case and reads the decision.
func serveConformanceRequest(h *ClerkAuth, c *confCase) (map[string]any, error) {
	req := httptest.NewRequest(c.Request.Method, c.Request.URL, nil)
	for _, kv := range c.Request.Headers {
		// net/http trims what surrounds a header value, as fetch's Headers does.
		req.Header.Add(kv[0], textproto.TrimString(kv[1]))
	}
	repl := caddyhttp.NewTestReplacer(req)
	vars := map[string]any{}
	if c.Config.TrustedProxy {
		vars[caddyhttp.TrustedProxyVarKey] = true
	}
	rctx := context.WithValue(req.Context(), caddy.ReplacerCtxKey, repl)
	rctx = context.WithValue(rctx, caddyhttp.VarsCtxKey, vars)
	req = req.WithContext(rctx)

	rec := httptest.NewRecorder()
	httpStatus := 0
	next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		w.WriteHeader(http.StatusOK)
		return nil
	})
	err := h.ServeHTTP(rec, req, next)
	if he, ok := err.(caddyhttp.HandlerError); ok {
		httpStatus = he.StatusCode
	} else if err != nil {
		return nil, fmt.Errorf("ServeHTTP: %v", err)
	} else {
		httpStatus = rec.Code
	}

	id, ok := vars[identityVar].(*requestIdentity)
	if !ok {
		return nil, fmt.Errorf("no %s variable after ServeHTTP", identityVar)
	}
	s := id.active()
	var facts *authFacts
	d := map[string]any{
		"status":         id.status,
		"reason":         orNull(id.reason),
		"tokenType":      nil,
		"userId":         nil,
		"sessionId":      nil,
		"sessionStatus":  nil,
		"actorId":        nil,
		"orgId":          nil,
		"orgRole":        nil,
		"orgSlug":        nil,
		"orgPermissions": nil,
		"httpStatus":     httpStatus, // not compared
	}
	if id.session != nil {
		d["sessionStatus"] = orNull(id.session.status)
	}
	if s != nil {
		facts = &s.authFacts
		d["tokenType"] = orNull(id.tokenType)
		d["userId"] = orNull(s.UserID)
		d["sessionId"] = orNull(s.sessionID)
		d["actorId"] = orNull(s.actorID)
		d["orgId"] = orNull(s.OrgID)
		d["orgRole"] = orNull(s.OrgRole)
		d["orgSlug"] = orNull(s.orgSlug)
		if s.OrgPermissions != nil {
			d["orgPermissions"] = s.OrgPermissions
		}
	}
	results := make([]bool, len(c.Checks))
	for i, check := range c.Checks {
		results[i] = has(facts, check)
	}
	d["has"] = results
	d["authStatusHeader"] = orNull(rec.Header().Get("X-Clerk-Auth-Status"))
	d["authReasonHeader"] = orNull(rec.Header().Get("X-Clerk-Auth-Reason"))
	d["location"] = nil
	if loc := rec.Header().Get("Location"); loc != "" {
		if u, err := url.Parse(loc); err == nil && strings.HasSuffix(u.Path, "/v1/client/handshake") {
			params := [][2]string{}
			for _, kv := range strings.Split(u.RawQuery, "&") {
				k, v, _ := strings.Cut(kv, "=")
				k, _ = url.QueryUnescape(k)
				v, _ = url.QueryUnescape(v)
				params = append(params, [2]string{k, v})
			}
			d["location"] = map[string]any{"url": u.Scheme + "://" + u.Host + u.Path, "params": params}
		}
	}
	d["setCookie"] = append([]string{}, rec.Header().Values("Set-Cookie")...)
	return d, nil
}

// decideRoute matches a path the way the handler does: cleanRoutePath, then
// the compiled patterns; a suspicious path is never public and always
// protected.
func decideRoute(c *confCase) map[string]any {
	d := map[string]any{"compileError": false, "malformed": false, "publicMatch": nil, "protectedMatch": nil}
	patterns, err := compileRoutePatterns(c.Patterns)
	if err != nil {
		d["compileError"], d["malformed"] = true, nil
		return d
	}
	u, err := url.ParseRequestURI(c.Path) // as net/http parses the request target
	if err != nil {
		d["malformed"] = true
		return d
	}
	clean, suspicious, err := cleanRoutePath(u)
	if err != nil {
		d["malformed"] = true
		return d
	}
	matched := patterns.match(clean)
	d["publicMatch"] = !suspicious && matched
	d["protectedMatch"] = suspicious || matched
	d["suspicious"] = suspicious // not compared; used by divergence constraints
	d["cleanPath"] = clean       // not compared
	return d
}

func orNull(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// normalizeJSON round-trips a decision through JSON, so that it compares
// with the oracle's decoded JSON.
func normalizeJSON(t testing.TB, m map[string]any) map[string]any {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

// diffDecisions lists the fields Clerk reports on which ours differs.
func diffDecisions(clerk, ours map[string]any) []string {
	var diffs []string
	for _, f := range confFields {
		cv, inClerk := clerk[f]
		if !inClerk {
			continue
		}
		if !reflect.DeepEqual(cv, ours[f]) {
			diffs = append(diffs, f)
		}
	}
	for f := range clerk {
		if !slices.Contains(confFields, f) {
			diffs = append(diffs, f) // a field this test does not know yet
		}
	}
	return diffs
}

// judge returns "" when the case's outcome is what it claims: full
// agreement, or a divergence of its class, within the class's rules.
func judge(c *confCase, div *confDivergences, r *confResult) string {
	if c.Divergence == "" {
		if len(r.diffs) == 0 {
			return ""
		}
		return "disagrees with Clerk's SDK:\n" + showDiffs(r)
	}
	class, ok := div.Classes[c.Divergence]
	if !ok {
		return fmt.Sprintf("names divergence class %q, which conformance/divergences.json does not list", c.Divergence)
	}
	if len(r.diffs) == 0 {
		return fmt.Sprintf("expects divergence %q but agrees with Clerk's SDK: remove the annotation", c.Divergence)
	}
	var problems []string
	if !slices.Contains(class.Fields, "*") {
		for _, f := range r.diffs {
			if !slices.Contains(class.Fields, f) {
				problems = append(problems, fmt.Sprintf("field %s may not differ under %q", f, c.Divergence))
			}
		}
	}
	problems = append(problems, checkConstraints("Clerk's", r.clerk, class.Clerk)...)
	problems = append(problems, checkConstraints("our", r.ours, class.Ours)...)
	if len(problems) == 0 {
		return ""
	}
	return fmt.Sprintf("divergence %q does not explain the difference: %s\n%s", c.Divergence, strings.Join(problems, "; "), showDiffs(r))
}

func checkConstraints(who string, d map[string]any, rules map[string][]any) []string {
	var problems []string
	fields := make([]string, 0, len(rules))
	for f := range rules {
		fields = append(fields, f)
	}
	sort.Strings(fields)
	for _, f := range fields {
		if !slices.ContainsFunc(rules[f], func(v any) bool { return reflect.DeepEqual(v, d[f]) }) {
			problems = append(problems, fmt.Sprintf("%s %s is %s, the class wants one of %s", who, f, showJSON(d[f]), showJSON(rules[f])))
		}
	}
	return problems
}

func showDiffs(r *confResult) string {
	var b strings.Builder
	for _, f := range r.diffs {
		fmt.Fprintf(&b, "    %-16s Clerk %s\n    %-16s ours  %s\n", f+":", showJSON(r.clerk[f]), "", showJSON(r.ours[f]))
	}
	return b.String()
}

func showJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func TestConformance(t *testing.T) {
	results, decisions, _ := runConformance(t)
	want := map[string]string{"@clerk/backend": "3.25.0", "@clerk/shared": "4.41.0"}
	for name, version := range want {
		if decisions.Oracle[name] != version {
			t.Errorf("oracle ran %s %s, want %s", name, decisions.Oracle[name], version)
		}
	}
	if len(results) < 250 {
		t.Errorf("only %d cases", len(results))
	}
	for _, r := range results {
		if r.problem != "" {
			t.Errorf("%s (%s)\n  %s", r.c.ID, r.c.Description, r.problem)
		}
	}
}

// TestConformanceSummary writes docs/conformance.md when asked to
// (conformance/run.sh does, and checks the committed file is current).
func TestConformanceSummary(t *testing.T) {
	if *conformanceSummary == "" {
		t.Skip("run with -args -conformance.summary=<file>")
	}
	results, decisions, div := runConformance(t)
	if err := os.WriteFile(*conformanceSummary, []byte(conformanceMarkdown(results, decisions, div)), 0o644); err != nil {
		t.Fatal(err)
	}
}

func conformanceMarkdown(results []confResult, decisions *confDecisions, div *confDivergences) string {
	type tally struct{ cases, agree, diverge, disagree int }
	var areas []string
	perArea := map[string]*tally{}
	perClass := map[string]int{}
	var total tally
	var disagreements []confResult
	for _, r := range results {
		a := perArea[r.c.Area]
		if a == nil {
			a = &tally{}
			perArea[r.c.Area] = a
			areas = append(areas, r.c.Area)
		}
		for _, t := range []*tally{a, &total} {
			t.cases++
			switch {
			case r.problem != "":
				t.disagree++
			case r.c.Divergence != "":
				t.diverge++
			default:
				t.agree++
			}
		}
		if r.problem != "" {
			disagreements = append(disagreements, r)
		} else if r.c.Divergence != "" {
			perClass[r.c.Divergence]++
		}
	}
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("# Conformance with Clerk's SDK\n\n")
	w("<!-- Generated by `bash conformance/run.sh` (TestConformanceSummary); do not edit. -->\n\n")
	w("`clerk_auth` and Clerk's own SDK (@clerk/backend %s, @clerk/shared %s, run offline by\n", decisions.Oracle["@clerk/backend"], decisions.Oracle["@clerk/shared"])
	w("`conformance/oracle.mjs` with a frozen clock) decide the same %d cases from\n", total.cases)
	w("`conformance/generate.mjs`. `conformance_test.go` runs each case through our real handler (route\n")
	w("cases through the route pattern functions) and compares every field Clerk reports: status, reason,\n")
	w("token type, user, session, session status, actor, organization, permissions, `has()` results, the\n")
	w("`X-Clerk-Auth-*` headers, the handshake `Location` and `Set-Cookie`. A case agrees on all of them or\n")
	w("names the deliberate divergence class it expects ([`conformance/divergences.json`](../conformance/divergences.json));\n")
	w("anything else fails `go test`. See [`conformance/README.md`](../conformance/README.md).\n\n")
	w("## Cases per area\n\n")
	w("| area | cases | agree | deliberate divergences | disagreements |\n|---|---:|---:|---:|---:|\n")
	for _, a := range areas {
		t := perArea[a]
		w("| %s | %d | %d | %d | %d |\n", a, t.cases, t.agree, t.diverge, t.disagree)
	}
	w("| **total** | **%d** | **%d** | **%d** | **%d** |\n\n", total.cases, total.agree, total.diverge, total.disagree)
	w("## Deliberate divergences per class\n\n| class | cases | why |\n|---|---:|---|\n")
	classes := make([]string, 0, len(div.Classes))
	for name := range div.Classes {
		classes = append(classes, name)
	}
	sort.Strings(classes)
	for _, name := range classes {
		w("| `%s` | %d | %s |\n", name, perClass[name], div.Classes[name].Reason)
	}
	w("\n## Not exercised by a case\n\n")
	for _, name := range sortedKeys(div.NotExercised) {
		w("- `%s`: %s\n", name, div.NotExercised[name])
	}
	w("\n## Not compared\n\n")
	for _, name := range sortedKeys(div.NotCompared) {
		w("- `%s`: %s\n", name, div.NotCompared[name])
	}
	w("\n## Disagreements\n\n")
	w("Differences no class explains; each fails `go test` until our code (or the case) is fixed.\n\n")
	if len(disagreements) == 0 {
		w("None: every case agrees with Clerk's SDK or is a listed deliberate divergence.\n")
	}
	for _, r := range disagreements {
		w("- `%s` (%s)", r.c.ID, r.c.Description)
		if len(r.diffs) == 0 {
			w(": %s\n", strings.ReplaceAll(strings.TrimSpace(r.problem), "\n", " "))
			continue
		}
		w(":")
		for i, f := range r.diffs {
			if i > 0 {
				w(";")
			}
			w(" %s: Clerk `%s`, ours `%s`", f, shorten(showJSON(r.clerk[f])), shorten(showJSON(r.ours[f])))
		}
		w("\n")
	}
	return b.String()
}

// shorten keeps a summary line readable: long values (tokens) are cut.
func shorten(s string) string {
	const max = 80
	if r := []rune(s); len(r) > max {
		return string(r[:max]) + "…"
	}
	return s
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
