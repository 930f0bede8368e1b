package clerktest

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// webhookEndpoint is where the instance delivers events.
type webhookEndpoint struct {
	url, secret string
}

// NewWebhookSecret returns a fresh Svix signing secret: "whsec_" followed by
// the standard base64 of 24 random bytes, as Clerk's dashboard shows them.
func NewWebhookSecret() string {
	key := make([]byte, 24)
	_, _ = rand.Read(key)
	return "whsec_" + base64.StdEncoding.EncodeToString(key)
}

// SignWebhook returns the headers Svix sends with body: svix-id,
// svix-timestamp (Unix seconds) and svix-signature ("v1,<base64
// HMAC-SHA256 of id.timestamp.body>", keyed with the base64-decoded part of
// the whsec_ secret), plus Content-Type: application/json.
func SignWebhook(secret, msgID string, ts time.Time, body []byte) (http.Header, error) {
	sig, err := WebhookSignature(secret, msgID, ts.Unix(), body)
	if err != nil {
		return nil, err
	}
	h := http.Header{}
	h.Set("Svix-Id", msgID)
	h.Set("Svix-Timestamp", strconv.FormatInt(ts.Unix(), 10))
	h.Set("Svix-Signature", "v1,"+sig)
	h.Set("Content-Type", "application/json")
	return h, nil
}

// WebhookSignature is the base64 v1 signature of one message.
func WebhookSignature(secret, msgID string, ts int64, body []byte) (string, error) {
	raw, ok := strings.CutPrefix(secret, "whsec_")
	if !ok {
		return "", errors.New("clerktest: webhook secret must start with whsec_")
	}
	key, err := base64.StdEncoding.DecodeString(raw)
	if err != nil {
		return "", fmt.Errorf("clerktest: webhook secret: %w", err)
	}
	mac := hmac.New(sha256.New, key)
	fmt.Fprintf(mac, "%s.%d.", msgID, ts)
	mac.Write(body)
	return base64.StdEncoding.EncodeToString(mac.Sum(nil)), nil
}

// NewWebhookID returns a fresh Svix message id ("msg_...").
func NewWebhookID() string { return NewID("msg_") }

// WebhookEvent returns the JSON body of a Clerk event:
// {"data": data, "instance_id": "ins_...", "object": "event",
// "timestamp": <Unix ms>, "type": eventType}.
func (i *Instance) WebhookEvent(eventType string, data any) []byte {
	b, err := json.Marshal(map[string]any{
		"data": data, "instance_id": i.bapi.instID, "object": "event",
		"timestamp": time.Now().UnixMilli(), "type": eventType,
	})
	if err != nil {
		panic("clerktest: encoding webhook event: " + err.Error())
	}
	return b
}

// AddWebhookEndpoint subscribes url: from now on RevokeSession, EndSession,
// UpdateUser, DeleteUser and SendWebhook deliver their events there, signed
// with secret.
func (i *Instance) AddWebhookEndpoint(url, secret string) {
	i.bapi.mu.Lock()
	i.bapi.endpoints = append(i.bapi.endpoints, webhookEndpoint{url: url, secret: secret})
	i.bapi.mu.Unlock()
}

// SendWebhook delivers one event to every endpoint, synchronously, each
// with a fresh message id. It returns the first delivery error, including an
// answer outside 2xx.
func (i *Instance) SendWebhook(eventType string, data any) error {
	i.bapi.mu.Lock()
	endpoints := append([]webhookEndpoint(nil), i.bapi.endpoints...)
	i.bapi.mu.Unlock()
	body := i.WebhookEvent(eventType, data)
	var first error
	for _, ep := range endpoints {
		status, err := DeliverWebhook(ep.url, ep.secret, NewWebhookID(), time.Now(), body)
		if err == nil && (status < 200 || status > 299) {
			err = fmt.Errorf("clerktest: webhook %s to %s answered %d", eventType, ep.url, status)
		}
		if err != nil && first == nil {
			first = err
		}
	}
	return first
}

// DeliverWebhook signs body as message msgID sent at ts and POSTs it to url
// once, returning the answer's status.
func DeliverWebhook(url, secret, msgID string, ts time.Time, body []byte) (int, error) {
	h, err := SignWebhook(secret, msgID, ts, body)
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), webhookDeliveryTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header = h
	req.Header.Set("User-Agent", "Svix-Webhooks/1.0 (clerktest)")
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}
