package caddyclerk

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

func init() {
	caddy.RegisterModule(ClerkWebhook{})
	httpcaddyfile.RegisterHandlerDirective("clerk_webhook", parseWebhookCaddyfile)
	// Before clerk_auth (which is ordered before basic_auth): an unsigned
	// request is refused here, with the webhook's own reason.
	httpcaddyfile.RegisterDirectiveOrder("clerk_webhook", httpcaddyfile.After, "try_files")
}

// defaultWebhookMaxBody is how much of a webhook body is read at most.
const defaultWebhookMaxBody = 1 << 20

// ClerkWebhook verifies Clerk's webhooks (Svix signatures) before they reach
// the next handler, and applies the events that end sessions to every
// clerk_auth of the instance: session.revoked, session.ended and
// session.removed reject that session's tokens at once, user.deleted the
// user's tokens, and user.updated drops the user's enrichment cache entry.
// The body is passed on untouched. Anything unverified is refused: 400 for
// missing or malformed headers and timestamps outside the 5 minute
// tolerance, 401 for a signature that matches no secret, 409 for a message
// id seen before, 413 for a body over max_body.
type ClerkWebhook struct {
	// Secrets are the endpoint's signing secrets (whsec_...); a message
	// signed with any of them is accepted, so that secrets can be rotated.
	Secrets []string `json:"secrets,omitempty"`
	// MaxBody is the largest body read, in bytes. Default: 1 MiB.
	MaxBody int64 `json:"max_body,omitempty"`
	// PublishableKey names the Clerk instance whose sessions the events
	// revoke, like clerk_auth's publishable_key.
	PublishableKey string `json:"publishable_key,omitempty"`
	// Issuer names the instance by its issuer instead, for clerk_auth
	// handlers configured without a publishable key. Without either, events
	// apply to every Clerk instance loaded in this Caddy (Clerk's session
	// and user ids are unique across instances).
	Issuer string `json:"issuer,omitempty"`

	keys        [][]byte
	replays     *replayCache
	replayKey   string
	instance    *instanceState // nil: every instance
	instanceKey string
	logger      *zap.Logger
}

// CaddyModule returns the Caddy module information.
func (ClerkWebhook) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.clerk_webhook",
		New: func() caddy.Module { return new(ClerkWebhook) },
	}
}

// webhookReplays holds one replayCache per set of secrets, shared by the
// handlers of one endpoint and kept across reloads.
var webhookReplays = caddy.NewUsagePool()

// webhookRequests counts webhook requests by outcome: accepted, or the
// rejection reason.
var webhookRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
	Namespace: "caddy",
	Subsystem: "clerk",
	Name:      "webhook_requests_total",
	Help:      "Clerk webhook requests by outcome (accepted or the rejection reason).",
}, []string{"outcome"})

// Provision decodes the secrets and joins the shared replay cache and
// instance state.
func (wh *ClerkWebhook) Provision(ctx caddy.Context) error {
	wh.logger = ctx.Logger()
	repl := caddy.NewReplacer()
	wh.PublishableKey = strings.TrimSpace(repl.ReplaceAll(wh.PublishableKey, ""))
	wh.Issuer = strings.TrimSpace(repl.ReplaceAll(wh.Issuer, ""))
	if len(wh.Secrets) == 0 {
		return fmt.Errorf("secret: at least one whsec_ signing secret is required")
	}
	hash := sha256.New()
	for i, s := range wh.Secrets {
		key, err := decodeWebhookSecret(strings.TrimSpace(repl.ReplaceAll(s, "")))
		if err != nil {
			return fmt.Errorf("secret #%d: %v", i+1, err)
		}
		wh.keys = append(wh.keys, key)
	}
	sorted := slices.Clone(wh.keys)
	slices.SortFunc(sorted, bytes.Compare)
	for _, k := range sorted {
		hash.Write([]byte(hex.EncodeToString(k) + "\x00"))
	}
	if wh.MaxBody < 0 {
		return fmt.Errorf("max_body: must not be negative")
	}
	if wh.MaxBody == 0 {
		wh.MaxBody = defaultWebhookMaxBody
	}

	switch {
	case wh.PublishableKey != "":
		inst, err := parsePublishableKey(wh.PublishableKey)
		if err != nil {
			return fmt.Errorf("publishable_key: %v", err)
		}
		wh.instanceKey = instanceKeyFor(inst, "")
	case wh.Issuer != "":
		if err := checkBaseURL("issuer", wh.Issuer); err != nil {
			return err
		}
		wh.instanceKey = instanceKeyFor(nil, wh.Issuer)
	}
	if wh.instanceKey != "" {
		st, err := acquireInstance(wh.instanceKey)
		if err != nil {
			return err
		}
		wh.instance = st
	}

	wh.replayKey = hex.EncodeToString(hash.Sum(nil))
	v, _, err := webhookReplays.LoadOrNew(wh.replayKey, func() (caddy.Destructor, error) {
		return newReplayCache(replayCacheSize), nil
	})
	if err != nil {
		return err
	}
	wh.replays = v.(*replayCache)
	return registerCollector(ctx.GetMetricsRegistry(), webhookRequests)
}

// Cleanup releases the shared state.
func (wh *ClerkWebhook) Cleanup() error {
	if wh.instance != nil {
		releaseInstance(wh.instanceKey)
		wh.instance = nil
	}
	if wh.replays != nil {
		_, _ = webhookReplays.Delete(wh.replayKey)
		wh.replays = nil
	}
	return nil
}

// clerkEvent is the part of Clerk's event envelope the handler reads.
type clerkEvent struct {
	Type string `json:"type"`
	Data struct {
		ID string `json:"id"`
	} `json:"data"`
}

// ServeHTTP verifies the webhook, applies its event and passes the untouched
// body on. Sets {clerk.webhook.type} and {clerk.webhook.id}.
func (wh *ClerkWebhook) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	repl := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	repl.Set("clerk.webhook.type", "")
	repl.Set("clerk.webhook.id", "")

	if r.ContentLength > wh.MaxBody {
		return wh.reject(w, rejectBodyTooLarge)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, wh.MaxBody+1))
	if err != nil {
		return wh.reject(w, rejectBodyUnreadable)
	}
	if int64(len(body)) > wh.MaxBody {
		return wh.reject(w, rejectBodyTooLarge)
	}
	now := time.Now()
	msg, rej := verifySvix(wh.keys, r.Header, body, now)
	if rej != nil {
		return wh.reject(w, rej)
	}
	if rej := wh.replays.claim(msg, now); rej != nil {
		return wh.reject(w, rej)
	}

	var ev clerkEvent
	if json.Unmarshal(body, &ev) != nil {
		ev = clerkEvent{}
	}
	repl.Set("clerk.webhook.type", ev.Type)
	repl.Set("clerk.webhook.id", msg.id)
	wh.apply(&ev)
	webhookRequests.WithLabelValues("accepted").Inc()
	if ce := wh.logger.Check(zap.DebugLevel, "verified Clerk webhook"); ce != nil {
		ce.Write(zap.String("type", ev.Type), zap.String("svix_id", msg.id))
	}

	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	r.TransferEncoding = nil
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	rec := &statusRecorder{ResponseWriterWrapper: &caddyhttp.ResponseWriterWrapper{ResponseWriter: w}}
	err = next.ServeHTTP(rec, r)
	if err != nil || rec.status >= 300 {
		wh.replays.release(msg.id) // Svix retries failed deliveries with the same id
	}
	return err
}

// apply makes the event's revocations and invalidations. Events of other
// types change nothing.
func (wh *ClerkWebhook) apply(ev *clerkEvent) {
	id := ev.Data.ID
	var f func(*instanceState)
	switch ev.Type {
	case "session.revoked", "session.ended", "session.removed":
		if !strings.HasPrefix(id, "sess_") {
			return
		}
		f = func(st *instanceState) {
			st.revoked.revokeSession(id)
			st.sessions.del(id)
		}
	case "user.deleted":
		if !strings.HasPrefix(id, "user_") {
			return
		}
		f = func(st *instanceState) {
			st.revoked.revokeUser(id)
			st.userEpoch.Add(1)
			st.users.del(id)
		}
	case "user.updated":
		if id == "" {
			return
		}
		f = func(st *instanceState) {
			st.userEpoch.Add(1)
			st.users.del(id)
		}
	default:
		return
	}
	if wh.instance != nil {
		f(wh.instance)
	} else {
		eachInstance(f)
	}
	if ce := wh.logger.Check(zap.InfoLevel, "applied Clerk webhook event"); ce != nil {
		ce.Write(zap.String("type", ev.Type), zap.String("id", id))
	}
}

// reject refuses a webhook request as a Caddy HTTP error.
func (wh *ClerkWebhook) reject(w http.ResponseWriter, rej *webhookRejection) error {
	webhookRequests.WithLabelValues(rej.reason).Inc()
	if ce := wh.logger.Check(zap.DebugLevel, "rejected Clerk webhook"); ce != nil {
		ce.Write(zap.String("reason", rej.reason))
	}
	w.Header().Set("X-Clerk-Webhook-Reason", rej.reason)
	return caddyhttp.Error(rej.status, rej)
}

// statusRecorder notes the status the rest of the chain answered.
type statusRecorder struct {
	*caddyhttp.ResponseWriterWrapper
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 && code >= 200 {
		s.status = code
	}
	s.ResponseWriterWrapper.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriterWrapper.Write(b)
}

// parseWebhookCaddyfile builds the handler; the optional matcher was already taken.
func parseWebhookCaddyfile(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	wh := new(ClerkWebhook)
	err := wh.UnmarshalCaddyfile(h.Dispenser)
	return wh, err
}

// UnmarshalCaddyfile implements caddyfile.Unmarshaler. Syntax:
//
//	clerk_webhook [<matcher>] {
//		secret          <whsec_...>...     # one or more, repeatable
//		max_body        <size>             # default 1MiB
//		publishable_key <pk_live_...|pk_test_...>
//		issuer          <url>
//	}
func (wh *ClerkWebhook) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // directive name
	if d.NextArg() {
		return d.ArgErr()
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		switch sub := d.Val(); sub {
		case "secret":
			args := d.RemainingArgs()
			if len(args) == 0 {
				return d.ArgErr()
			}
			for _, s := range args {
				if !strings.Contains(s, "{") {
					if _, err := decodeWebhookSecret(s); err != nil {
						return d.Errf("secret: %v", err)
					}
				}
			}
			wh.Secrets = append(wh.Secrets, args...)
		case "max_body":
			var s string
			if !d.AllArgs(&s) {
				return d.ArgErr()
			}
			size, err := humanize.ParseBytes(s)
			if err != nil || size == 0 || size > 1<<40 {
				return d.Errf("bad max_body value '%s': want a size such as 1MiB", s)
			}
			wh.MaxBody = int64(size)
		case "publishable_key", "issuer":
			var v string
			if !d.AllArgs(&v) {
				return d.ArgErr()
			}
			dst := &wh.PublishableKey
			if sub == "issuer" {
				dst = &wh.Issuer
			}
			if *dst != "" {
				return d.Errf("%s already specified", sub)
			}
			if !strings.Contains(v, "{") {
				var err error
				if sub == "publishable_key" {
					_, err = parsePublishableKey(v)
				} else {
					err = checkBaseURL("issuer", v)
				}
				if err != nil {
					return d.Errf("%s: %v", sub, err)
				}
			}
			*dst = v
		default:
			return d.Errf("unrecognized clerk_webhook subdirective '%s'", sub)
		}
	}
	if len(wh.Secrets) == 0 {
		return d.Err("clerk_webhook: at least one 'secret whsec_...' is required")
	}
	return nil
}

// Interface guards
var (
	_ caddy.Provisioner           = (*ClerkWebhook)(nil)
	_ caddy.CleanerUpper          = (*ClerkWebhook)(nil)
	_ caddyhttp.MiddlewareHandler = (*ClerkWebhook)(nil)
	_ caddyfile.Unmarshaler       = (*ClerkWebhook)(nil)
)
