package caddyclerk

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Svix signing, as Clerk's webhooks use it: the signed content is
// "<svix-id>.<svix-timestamp>.<body>", HMAC-SHA256 keyed with the base64
// part of a whsec_ secret, sent as "v1,<base64 signature>" entries separated
// by spaces in svix-signature.
const (
	svixTolerance     = 5 * time.Minute
	svixMaxSignatures = 32
	svixMaxIDLength   = 256
)

// decodeWebhookSecret returns the HMAC key of a whsec_ secret.
func decodeWebhookSecret(secret string) ([]byte, error) {
	raw, ok := strings.CutPrefix(secret, "whsec_")
	if !ok {
		return nil, errors.New("must start with whsec_")
	}
	key, err := base64.StdEncoding.DecodeString(raw)
	if err != nil {
		key, err = base64.RawStdEncoding.DecodeString(raw)
	}
	if err != nil || len(key) == 0 {
		return nil, errors.New("the part after whsec_ is not base64")
	}
	return key, nil
}

// webhookRejection is why a webhook request was refused, with its status.
type webhookRejection struct {
	status int
	reason string
}

func (e *webhookRejection) Error() string { return "webhook rejected: " + e.reason }

var (
	rejectMissingHeaders     = &webhookRejection{http.StatusBadRequest, "missing-svix-headers"}
	rejectMalformedTimestamp = &webhookRejection{http.StatusBadRequest, "malformed-timestamp"}
	rejectTimestampTooOld    = &webhookRejection{http.StatusBadRequest, "timestamp-too-old"}
	rejectTimestampTooNew    = &webhookRejection{http.StatusBadRequest, "timestamp-too-new"}
	rejectMalformedSignature = &webhookRejection{http.StatusBadRequest, "malformed-signature"}
	rejectInvalidSignature   = &webhookRejection{http.StatusUnauthorized, "invalid-signature"}
	rejectReplayed           = &webhookRejection{http.StatusConflict, "replayed"}
	rejectReplayCacheFull    = &webhookRejection{http.StatusServiceUnavailable, "replay-cache-full"}
	rejectBodyTooLarge       = &webhookRejection{http.StatusRequestEntityTooLarge, "body-too-large"}
	rejectBodyUnreadable     = &webhookRejection{http.StatusBadRequest, "body-unreadable"}
)

// svixMessage is a verified message's id and timestamp.
type svixMessage struct {
	id string
	ts int64
}

// verifySvix checks the Svix headers and signature of body against every
// key, the way Svix's own library does: headers present, timestamp within
// the tolerance either way, then at least one v1 signature matching one
// key, compared in constant time. The standard-webhooks header names
// (webhook-id, ...) are read when the svix- ones are absent.
func verifySvix(keys [][]byte, h http.Header, body []byte, now time.Time) (svixMessage, *webhookRejection) {
	id, ts, sigs := h.Get("Svix-Id"), h.Get("Svix-Timestamp"), h.Get("Svix-Signature")
	if id == "" && ts == "" && sigs == "" {
		id, ts, sigs = h.Get("Webhook-Id"), h.Get("Webhook-Timestamp"), h.Get("Webhook-Signature")
	}
	if id == "" || ts == "" || sigs == "" {
		return svixMessage{}, rejectMissingHeaders
	}
	if len(id) > svixMaxIDLength {
		return svixMessage{}, rejectMissingHeaders
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return svixMessage{}, rejectMalformedTimestamp
	}
	tol := int64(svixTolerance / time.Second)
	switch n := now.Unix(); {
	case n-sec > tol:
		return svixMessage{}, rejectTimestampTooOld
	case sec-n > tol:
		return svixMessage{}, rejectTimestampTooNew
	}
	var given [][]byte
	for i, entry := range strings.Fields(sigs) {
		if i >= svixMaxSignatures {
			break
		}
		version, value, ok := strings.Cut(entry, ",")
		if !ok || version != "v1" {
			continue
		}
		sig, err := base64.StdEncoding.DecodeString(value)
		if err != nil || len(sig) != sha256.Size {
			continue
		}
		given = append(given, sig)
	}
	if len(given) == 0 {
		return svixMessage{}, rejectMalformedSignature
	}
	for _, key := range keys {
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(id))
		mac.Write([]byte{'.'})
		mac.Write([]byte(ts))
		mac.Write([]byte{'.'})
		mac.Write(body)
		want := mac.Sum(nil)
		for _, sig := range given {
			if hmac.Equal(want, sig) {
				return svixMessage{id: id, ts: sec}, nil
			}
		}
	}
	return svixMessage{}, rejectInvalidSignature
}

// replayCacheSize bounds the message ids remembered. Only verified messages
// are remembered, so only Clerk can fill it; when it is full of ids still
// inside the tolerance, new messages are refused with 503 (Svix retries)
// rather than risking an accepted replay.
const replayCacheSize = 100_000

// replaySweepInterval is how often a replay cache drops the ids whose
// timestamps have left the tolerance, so that it holds about one tolerance
// window of ids instead of filling up to replayCacheSize first.
const replaySweepInterval = 30 * time.Second

// replayCache remembers the ids of verified messages until their timestamp
// leaves the tolerance, after which the timestamp check rejects a replay.
type replayCache struct {
	mu    sync.Mutex
	seen  map[string]int64 // id → unix seconds after which it may be forgotten
	max   int
	swept int64 // unix seconds of the last sweep
}

func newReplayCache(max int) *replayCache {
	return &replayCache{seen: make(map[string]int64), max: max}
}

// Destruct implements caddy.Destructor.
func (*replayCache) Destruct() error { return nil }

// claim records a message id; it fails for an id seen before. Expired ids
// are swept every replaySweepInterval, and when the cache is full at most
// once a second, so that a full cache costs a flood one walk a second, not
// one per message.
func (rc *replayCache) claim(m svixMessage, now time.Time) *webhookRejection {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	n := now.Unix()
	if until, ok := rc.seen[m.id]; ok && n <= until {
		return rejectReplayed
	}
	full := len(rc.seen) >= rc.max
	if n-rc.swept >= int64(replaySweepInterval/time.Second) || (full && n > rc.swept) {
		rc.swept = n
		for id, until := range rc.seen {
			if n > until {
				delete(rc.seen, id)
			}
		}
	}
	if len(rc.seen) >= rc.max {
		return rejectReplayCacheFull
	}
	rc.seen[m.id] = m.ts + int64(svixTolerance/time.Second) + 1
	return nil
}

// release forgets an id, so that Svix's retry of a message whose delivery
// failed downstream is accepted.
func (rc *replayCache) release(id string) {
	rc.mu.Lock()
	delete(rc.seen, id)
	rc.mu.Unlock()
}
