package clerktest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"math/big"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
)

// response is what get returns.
type response struct {
	status int
	header http.Header
	body   []byte
}

// get performs a GET with the given headers ("Name: value" strings).
func get(t *testing.T, url string, headers ...string) response {
	t.Helper()
	return request(t, http.MethodGet, url, nil, headers)
}

// post performs a POST with a JSON body and the given headers.
func post(t *testing.T, url, body string, headers ...string) response {
	t.Helper()
	return request(t, http.MethodPost, url, strings.NewReader(body), headers)
}

// request performs one request on a dedicated transport that is closed
// afterwards, so that no test shares a connection with another.
func request(t *testing.T, method, url string, body io.Reader, headers []string) response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range headers {
		name, value, _ := strings.Cut(h, ": ")
		req.Header.Set(name, value)
	}
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	res, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, url, err)
	}
	return response{res.StatusCode, res.Header, data}
}

// fetchSet fetches and parses the BAPI JWKS with the secret key.
func fetchSet(t *testing.T, i *Instance) jwk.Set {
	t.Helper()
	res := get(t, i.BackendAPIURL()+BackendJWKSPath, "Authorization: Bearer "+i.SecretKey())
	if res.status != http.StatusOK {
		t.Fatalf("BAPI JWKS: status %d, body %s", res.status, res.body)
	}
	set, err := jwk.Parse(res.body)
	if err != nil {
		t.Fatalf("jwk.Parse: %v\n%s", err, res.body)
	}
	return set
}

// decodePart base64url-decodes a JWS segment into a map.
func decodePart(t *testing.T, seg string) map[string]any {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		t.Fatalf("segment %q: %v", seg, err)
	}
	var m map[string]any
	d := json.NewDecoder(strings.NewReader(string(b)))
	d.UseNumber()
	if err := d.Decode(&m); err != nil {
		t.Fatalf("segment %s: %v", b, err)
	}
	return m
}

// splitToken returns the decoded header and claims and the raw signature
// segment of a compact JWS.
func splitToken(t *testing.T, token string) (header, claims map[string]any, sig string) {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts: %q", len(parts), token)
	}
	return decodePart(t, parts[0]), decodePart(t, parts[1]), parts[2]
}

// decodeOrgPermissions is an independent implementation of Clerk's v2
// decoding (clerk-semantics.md section c), used to check the encoder.
func decodeOrgPermissions(fea, per, fpm string) []string {
	var orgFeatures []string
	if fea != "" {
		for _, el := range strings.Split(fea, ",") {
			el = strings.TrimSpace(el)
			scope, name, ok := strings.Cut(el, ":")
			if !ok {
				panic("missing colon in " + el)
			}
			if scope == "o" || scope == "ou" || scope == "uo" {
				orgFeatures = append(orgFeatures, name)
			}
		}
	}
	var perms []string
	if per != "" {
		for _, p := range strings.Split(per, ",") {
			perms = append(perms, strings.TrimSpace(p))
		}
	}
	var masks []*big.Int
	if fpm != "" {
		for _, m := range strings.Split(fpm, ",") {
			v, ok := new(big.Int).SetString(strings.TrimSpace(m), 10)
			if !ok || v.Sign() < 0 || strings.ContainsAny(m, "+-") {
				v = nil
			}
			masks = append(masks, v)
		}
	}
	out := []string{}
	for fi, f := range orgFeatures {
		if fi >= len(masks) || masks[fi] == nil {
			continue
		}
		for j, p := range perms {
			if masks[fi].Bit(j) == 1 {
				out = append(out, "org:"+f+":"+p)
			}
		}
	}
	return out
}

// num converts a json.Number claim to int64.
func num(t *testing.T, v any) int64 {
	t.Helper()
	n, ok := v.(json.Number)
	if !ok {
		t.Fatalf("%v (%T) is not a number", v, v)
	}
	x, err := n.Int64()
	if err != nil {
		t.Fatal(err)
	}
	return x
}
