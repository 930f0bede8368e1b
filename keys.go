package caddyclerk

import (
	"context"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"go.uber.org/zap"
	"golang.org/x/sync/singleflight"

	"github.com/caddyserver/caddy/v2"
)

// Timings of the shared JWKS cache. Clerk's SDK keeps keys for five minutes;
// we refresh on the same period in the background instead of on requests.
const (
	jwksRefreshInterval = 5 * time.Minute
	jwksRetryMin        = 2 * time.Second
	jwksRetryMax        = time.Minute
	jwksFetchTimeout    = 10 * time.Second
	jwksMaxBody         = 1 << 20
	clerkAPIVersion     = "2026-05-12"
	userAgent           = "caddy-clerk"
)

// jwksMinRefetch is how often, at most, unknown kids make a JWKS fetch per
// Clerk instance, so that a flood of random kids never becomes a flood of
// fetches. A variable only so that tests can shorten it.
var jwksMinRefetch = 10 * time.Second

// staticKey is a networkless key from `jwt_key`: like Clerk's jwtKey, it
// verifies every token whatever its `kid`.
type staticKey struct{ k verificationKey }

func (s staticKey) key(context.Context, string) (verificationKey, string) { return s.k, "" }

func (s staticKey) current(string, verificationKey) bool { return true }

// loadPEMKey reads an RSA public key of any size from inline PEM text or from
// the file that value names.
func loadPEMKey(value string) (staticKey, error) {
	data := []byte(value)
	if !strings.Contains(value, "-----BEGIN") {
		b, err := os.ReadFile(value)
		if err != nil {
			return staticKey{}, fmt.Errorf("reading PEM file: %v", err)
		}
		data = b
	}
	k, err := jwk.ParseKey(data, jwk.WithPEM(true))
	if err != nil {
		return staticKey{}, fmt.Errorf("parsing PEM: %v", err)
	}
	raw, err := jwk.PublicRawKeyOf(k)
	if err != nil {
		return staticKey{}, fmt.Errorf("extracting public key: %v", err)
	}
	pub, ok := raw.(*rsa.PublicKey)
	if !ok {
		return staticKey{}, fmt.Errorf("key is %T, want an RSA public key", raw)
	}
	return staticKey{verificationKey{pub: pub}}, nil
}

// keySnapshot is an immutable kid → key map, swapped whole on refresh so that
// the request path reads keys without a lock.
type keySnapshot map[string]verificationKey

// jwksSources holds one remoteKeys per Clerk instance (JWKS URL and
// credential), shared by every handler and kept across config reloads.
var jwksSources = caddy.NewUsagePool()

// remoteKeys is a JWKS endpoint's keys, fetched and refreshed in the
// background. jwx parses the JWKS; this type owns what jwk.Cache cannot give:
// an atomic snapshot for lock-free reads, Clerk's error reasons, the BAPI
// credential, and a rate-limited single-flight refetch for unknown kids.
type remoteKeys struct {
	url    string
	auth   string // Authorization header value, "" for FAPI and custom URLs
	client *http.Client
	logger *zap.Logger

	snap      atomic.Pointer[keySnapshot]
	failure   atomic.Pointer[string] // reason of the last failed fetch, nil after a success
	lastFetch atomic.Int64           // unix nanos of the last fetch start
	flight    singleflight.Group

	ctx    context.Context
	cancel context.CancelFunc
	done   sync.WaitGroup
}

// acquireRemoteKeys returns the shared key cache for url and its pool key.
// The caller must release the pool key with jwksSources.Delete in Cleanup.
func acquireRemoteKeys(url, auth string) (*remoteKeys, string, error) {
	sum := sha256.Sum256([]byte(auth))
	poolKey := url + "\x00" + hex.EncodeToString(sum[:])
	v, _, err := jwksSources.LoadOrNew(poolKey, func() (caddy.Destructor, error) {
		return newRemoteKeys(url, auth), nil
	})
	if err != nil {
		return nil, "", err
	}
	return v.(*remoteKeys), poolKey, nil
}

// newRemoteKeys starts the background refresher. Its context is its own, not
// a config's: the cache outlives the config that created it.
func newRemoteKeys(url, auth string) *remoteKeys {
	ctx, cancel := context.WithCancel(context.Background())
	transport := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		TLSHandshakeTimeout:   5 * time.Second,
		ResponseHeaderTimeout: jwksFetchTimeout,
		MaxIdleConns:          2,
		IdleConnTimeout:       time.Minute,
	}
	rk := &remoteKeys{
		url:    url,
		auth:   auth,
		client: &http.Client{Timeout: jwksFetchTimeout, Transport: transport},
		logger: caddy.Log().Named("http.handlers.clerk_auth.jwks").With(zap.String("url", url)),
		ctx:    ctx,
		cancel: cancel,
	}
	rk.done.Add(1)
	go rk.refreshLoop()
	return rk
}

// Destruct stops the refresher when the last config using these keys is gone.
func (rk *remoteKeys) Destruct() error {
	rk.cancel()
	rk.done.Wait()
	rk.client.CloseIdleConnections()
	return nil
}

// refreshLoop fetches now, then every jwksRefreshInterval, retrying failures
// with backoff. Failed refreshes keep the last good keys.
func (rk *remoteKeys) refreshLoop() {
	defer rk.done.Done()
	retry := jwksRetryMin
	for {
		wait := jwksRefreshInterval
		if err := rk.refresh(); err != nil {
			wait, retry = retry, min(retry*2, jwksRetryMax)
		} else {
			retry = jwksRetryMin
		}
		select {
		case <-rk.ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// refresh fetches once, through the single flight shared with requests.
func (rk *remoteKeys) refresh() error {
	_, err, _ := rk.flight.Do("fetch", func() (any, error) { return nil, rk.fetch() })
	return err
}

// key implements keySource. A known kid never touches the network. An
// unknown kid, or no keys yet, joins the fetch under way or triggers one
// shared fetch at most every jwksMinRefetch; requests wait for it no longer
// than their own context.
func (rk *remoteKeys) key(ctx context.Context, kid string) (verificationKey, string) {
	if snap := rk.snap.Load(); snap != nil {
		if k, ok := (*snap)[kid]; ok {
			return k, ""
		}
	}
	// Joining the flight waits for a fetch under way; a new flight fetches
	// only when the last fetch is older than the window, decided inside the
	// flight so that two requests can never both decide to fetch.
	ch := rk.flight.DoChan("fetch", func() (any, error) {
		if time.Since(time.Unix(0, rk.lastFetch.Load())) < jwksMinRefetch {
			return nil, nil
		}
		return nil, rk.fetch()
	})
	select {
	case <-ch:
	case <-ctx.Done():
	}
	snap := rk.snap.Load()
	if snap == nil {
		if reason := rk.failure.Load(); reason != nil {
			return verificationKey{}, *reason
		}
		return verificationKey{}, reasonJWKRemoteFailedToLoad
	}
	if k, ok := (*snap)[kid]; ok {
		return k, ""
	}
	return verificationKey{}, reasonJWKKidMismatch
}

// current implements keySource: kid still names k in the latest snapshot.
func (rk *remoteKeys) current(kid string, k verificationKey) bool {
	snap := rk.snap.Load()
	return snap != nil && (*snap)[kid] == k
}

// errSecretKeyInvalid marks a BAPI answer that rejects the secret key.
var errSecretKeyInvalid = errors.New("secret key rejected by the Backend API")

// fetch downloads and parses the JWKS and swaps the snapshot on success.
func (rk *remoteKeys) fetch() error {
	rk.lastFetch.Store(time.Now().UnixNano())
	keys, err := rk.download()
	if err != nil {
		reason := reasonJWKRemoteFailedToLoad
		if errors.Is(err, errSecretKeyInvalid) {
			reason = reasonSecretKeyInvalid
		}
		rk.failure.Store(&reason)
		jwksFetchError.Inc() // metrics.go
		if c := rk.logger.Check(zap.WarnLevel, "fetching JWKS failed; keeping previous keys"); c != nil {
			c.Write(zap.Error(err), zap.Bool("have_keys", rk.snap.Load() != nil))
		}
		return err
	}
	if old := rk.snap.Load(); old != nil {
		keys.keepUnchanged(*old)
	}
	rk.snap.Store(&keys)
	rk.failure.Store(nil)
	jwksFetchOK.Inc()
	if c := rk.logger.Check(zap.DebugLevel, "fetched JWKS"); c != nil {
		c.Write(zap.Int("keys", len(keys)))
	}
	return nil
}

// download performs one HTTP fetch of the JWKS.
func (rk *remoteKeys) download() (keySnapshot, error) {
	ctx, cancel := context.WithTimeout(rk.ctx, jwksFetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rk.url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", userAgent)
	if rk.auth != "" {
		req.Header.Set("Authorization", rk.auth)
		req.Header.Set("Clerk-API-Version", clerkAPIVersion)
	}
	resp, err := rk.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, jwksMaxBody))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		if rk.auth != "" && isKeyRejected(answerError(resp, body)) {
			return nil, errSecretKeyInvalid
		}
		return nil, fmt.Errorf("JWKS endpoint answered %d", resp.StatusCode)
	}
	return parseJWKS(body)
}

// keepUnchanged reuses the previous snapshot's key values for keys that did
// not change, so that a refetch of the same JWKS keeps every cached
// verification valid (the token cache compares keys by identity).
func (ks keySnapshot) keepUnchanged(old keySnapshot) {
	for kid, k := range ks {
		if o, ok := old[kid]; ok && o.alg == k.alg && o.pub.Equal(k.pub) {
			ks[kid] = o
		}
	}
}

// parseJWKS turns a JWKS document into a snapshot of its RSA signing keys.
// A document without any usable key is an error, so a broken answer never
// replaces good keys.
func parseJWKS(body []byte) (keySnapshot, error) {
	set, err := jwk.Parse(body)
	if err != nil {
		return nil, fmt.Errorf("parsing JWKS: %v", err)
	}
	keys := make(keySnapshot, set.Len())
	for i := 0; i < set.Len(); i++ {
		k, _ := set.Key(i)
		if use := k.KeyUsage(); use != "" && use != string(jwk.ForSignature) {
			continue
		}
		raw, err := jwk.PublicRawKeyOf(k)
		if err != nil {
			continue
		}
		pub, ok := raw.(*rsa.PublicKey)
		if !ok {
			continue
		}
		keys[k.KeyID()] = verificationKey{pub: pub, alg: k.Algorithm().String()}
	}
	if len(keys) == 0 {
		return nil, errors.New("JWKS holds no RSA signing key")
	}
	return keys, nil
}
