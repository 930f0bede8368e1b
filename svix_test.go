package caddyclerk

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"
)

// Svix's published example: secret, message id, timestamp, payload and the
// signature its libraries compute.
const (
	svixExampleSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	svixExampleID     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	svixExampleTS     = 1614265330
	svixExampleBody   = `{"test": 2432232314}`
	svixExampleSig    = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func svixHeaders(id, ts, sig string) http.Header {
	h := http.Header{}
	if id != "" {
		h.Set("svix-id", id)
	}
	if ts != "" {
		h.Set("svix-timestamp", ts)
	}
	if sig != "" {
		h.Set("svix-signature", sig)
	}
	return h
}

func signFor(key []byte, id string, ts int64, body string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id + "." + strconv.FormatInt(ts, 10) + "." + body))
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func TestVerifySvix(t *testing.T) {
	key, err := decodeWebhookSecret(svixExampleSecret)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := decodeWebhookSecret("whsec_" + base64.StdEncoding.EncodeToString([]byte("another secret key 123")))
	keys := [][]byte{other, key}
	now := time.Unix(svixExampleTS, 0)
	ts := strconv.Itoa(svixExampleTS)
	std := http.Header{}
	std.Set("webhook-id", svixExampleID)
	std.Set("webhook-timestamp", ts)
	std.Set("webhook-signature", svixExampleSig)

	tests := []struct {
		name   string
		h      http.Header
		body   string
		now    time.Time
		reject *webhookRejection
	}{
		{"Svix's example", svixHeaders(svixExampleID, ts, svixExampleSig), svixExampleBody, now, nil},
		{"standard-webhooks header names", std, svixExampleBody, now, nil},
		{"one of several signatures", svixHeaders(svixExampleID, ts, "v1,bm9wZQ== v2,x "+svixExampleSig), svixExampleBody, now, nil},
		{"4m59s old", svixHeaders(svixExampleID, ts, svixExampleSig), svixExampleBody, now.Add(299 * time.Second), nil},
		{"5m01s old", svixHeaders(svixExampleID, ts, svixExampleSig), svixExampleBody, now.Add(301 * time.Second), rejectTimestampTooOld},
		{"5m01s in the future", svixHeaders(svixExampleID, ts, svixExampleSig), svixExampleBody, now.Add(-301 * time.Second), rejectTimestampTooNew},
		{"body changed", svixHeaders(svixExampleID, ts, svixExampleSig), `{"test": 2432232315}`, now, rejectInvalidSignature},
		{"id changed", svixHeaders("msg_other", ts, svixExampleSig), svixExampleBody, now, rejectInvalidSignature},
		{"timestamp changed", svixHeaders(svixExampleID, strconv.Itoa(svixExampleTS+1), svixExampleSig), svixExampleBody, now, rejectInvalidSignature},
		{"no headers", http.Header{}, svixExampleBody, now, rejectMissingHeaders},
		{"no id", svixHeaders("", ts, svixExampleSig), svixExampleBody, now, rejectMissingHeaders},
		{"no signature", svixHeaders(svixExampleID, ts, ""), svixExampleBody, now, rejectMissingHeaders},
		{"timestamp not a number", svixHeaders(svixExampleID, "1614265330.5", svixExampleSig), svixExampleBody, now, rejectMalformedTimestamp},
		{"only v2 signatures", svixHeaders(svixExampleID, ts, "v2,"+svixExampleSig[3:]), svixExampleBody, now, rejectMalformedSignature},
		{"signature not base64", svixHeaders(svixExampleID, ts, "v1,!!!"), svixExampleBody, now, rejectMalformedSignature},
		{"no version", svixHeaders(svixExampleID, ts, svixExampleSig[3:]), svixExampleBody, now, rejectMalformedSignature},
		{"truncated signature", svixHeaders(svixExampleID, ts, svixExampleSig[:20]), svixExampleBody, now, rejectMalformedSignature},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			msg, rej := verifySvix(keys, tc.h, []byte(tc.body), tc.now)
			if rej != tc.reject {
				t.Fatalf("rejection %v, want %v", rej, tc.reject)
			}
			if rej == nil && (msg.id != svixExampleID || msg.ts != svixExampleTS) {
				t.Errorf("message %+v", msg)
			}
		})
	}
}

func TestVerifySvixManySignaturesBounded(t *testing.T) {
	key := []byte("k")
	now := time.Unix(1700000000, 0)
	sig := signFor(key, "msg_1", now.Unix(), "{}")
	junk := ""
	for range svixMaxSignatures {
		junk += "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= "
	}
	if _, rej := verifySvix([][]byte{key}, svixHeaders("msg_1", "1700000000", junk+sig), []byte("{}"), now); rej != rejectInvalidSignature {
		t.Errorf("a valid signature after %d junk entries: %v, want it ignored", svixMaxSignatures, rej)
	}
}

func TestDecodeWebhookSecret(t *testing.T) {
	for in, ok := range map[string]bool{
		svixExampleSecret:  true,
		"whsec_YWJj":       true,
		"whsec_YWI":        true, // unpadded
		"MfKQ9r8GKYqrTwjU": false,
		"whsec_":           false,
		"whsec_!!!":        false,
	} {
		if _, err := decodeWebhookSecret(in); (err == nil) != ok {
			t.Errorf("decodeWebhookSecret(%q): %v", in, err)
		}
	}
}

func TestReplayCache(t *testing.T) {
	rc := newReplayCache(3)
	now := time.Unix(1700000000, 0)
	m := func(id string, ts time.Time) svixMessage { return svixMessage{id: id, ts: ts.Unix()} }
	if rej := rc.claim(m("a", now), now); rej != nil {
		t.Fatal(rej)
	}
	if rej := rc.claim(m("a", now), now); rej != rejectReplayed {
		t.Fatalf("second claim: %v", rej)
	}
	rc.release("a")
	if rej := rc.claim(m("a", now), now); rej != nil {
		t.Fatalf("claim after release: %v", rej)
	}
	_ = rc.claim(m("b", now), now)
	_ = rc.claim(m("c", now), now)
	if rej := rc.claim(m("d", now), now); rej != rejectReplayCacheFull {
		t.Fatalf("full cache: %v, want refusal", rej)
	}
	later := now.Add(svixTolerance + 2*time.Second)
	if rej := rc.claim(m("d", later), later); rej != nil {
		t.Fatalf("after the tolerance the old ids are forgotten: %v", rej)
	}
	if len(rc.seen) != 1 {
		t.Errorf("%d ids kept, want 1", len(rc.seen))
	}
}

// TestReplayCacheSweeps: expired ids go within replaySweepInterval even when
// the cache is far from full, and a full cache is walked at most once a
// second however many messages arrive.
func TestReplayCacheSweeps(t *testing.T) {
	rc := newReplayCache(1000)
	start := time.Unix(1700000000, 0)
	msg := func(id string, ts time.Time) svixMessage { return svixMessage{id: id, ts: ts.Unix()} }
	for i := range 100 {
		if rej := rc.claim(msg(fmt.Sprint("old", i), start), start); rej != nil {
			t.Fatal(rej)
		}
	}
	expired := start.Add(svixTolerance + 2*time.Second)
	if rej := rc.claim(msg("new", expired), expired); rej != nil {
		t.Fatal(rej)
	}
	if len(rc.seen) != 1 {
		t.Errorf("%d ids kept after the tolerance, want 1 (the 100 expired ones swept)", len(rc.seen))
	}
	if rej := rc.claim(msg("old0", start), expired); rej != nil {
		t.Errorf("a swept id is claimable again (its timestamp check is the guard): %v", rej)
	}

	full := newReplayCache(2)
	_ = full.claim(msg("a", start), start)
	_ = full.claim(msg("b", start), start)
	if rej := full.claim(msg("c", start), start); rej != rejectReplayCacheFull {
		t.Fatalf("full cache: %v", rej)
	}
	// "a" and "b" expire, but within the same second the cache is not walked again.
	full.seen["a"], full.seen["b"] = start.Unix()-1, start.Unix()-1
	if rej := full.claim(msg("d", start), start); rej != rejectReplayCacheFull {
		t.Errorf("a second walk within one second: %v", rej)
	}
	next := start.Add(time.Second)
	if rej := full.claim(msg("d", next), next); rej != nil {
		t.Errorf("a second later the expired ids are swept: %v", rej)
	}
}
