package caddyclerk

import (
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/caddyserver/caddy/v2"
)

// Reasons of our own, for what Clerk's SDK has no word for: tokens it would
// still accept after their session or user is gone, and a Backend API that
// could not answer a check the configuration requires.
const (
	reasonSessionRevoked        = "session-revoked"
	reasonUserDeleted           = "user-deleted"
	reasonLivenessUnavailable   = "session-liveness-unavailable"
	reasonUserFieldsUnavailable = "user-fields-unavailable"
	reasonNoTokenInHeader       = "No token in header" // Clerk's literal, for a single machine type
)

// Sizes of the per-instance Backend API caches.
const (
	machineCacheSize = 10_000
	userCacheSize    = 10_000
	sessionCacheSize = 10_000
)

// clerkInstances holds one instanceState per Clerk instance, shared by every
// clerk_auth and clerk_webhook of that instance and kept across config
// reloads (a reload never forgets a revocation).
var clerkInstances = caddy.NewUsagePool()

// instanceState is what the handlers of one Clerk instance share: the
// revocation list, and the Backend API caches that webhooks invalidate.
type instanceState struct {
	key      string
	revoked  revocationList
	users    *ttlCache[string, *userProfile]
	sessions *ttlCache[string, livenessAnswer]
	machines *ttlCache[[32]byte, machineAnswer]
	flight   singleflight.Group
	// userEpoch counts user.updated events, so that a profile fetched
	// while one arrived is not cached.
	userEpoch atomic.Int64
}

// Destruct implements caddy.Destructor: it stops the revocation pruner once
// no handler of the instance is loaded.
func (st *instanceState) Destruct() error {
	st.revoked.close()
	return nil
}

// instanceKeyFor names a Clerk instance the way the webhook names it: the
// Frontend API origin from the publishable key, else the issuer. Handlers
// without either (issuer off, jwt_key only) share the anonymous entry "".
func instanceKeyFor(inst *instance, issuer string) string {
	if inst != nil {
		return "https://" + inst.frontendHost
	}
	return strings.TrimRight(issuer, "/")
}

// acquireInstance returns the shared state of the instance named key; the
// caller releases it with releaseInstance.
func acquireInstance(key string) (*instanceState, error) {
	v, _, err := clerkInstances.LoadOrNew(key, func() (caddy.Destructor, error) {
		return &instanceState{
			key:      key,
			users:    newTTLCache[string, *userProfile](userCacheSize),
			sessions: newTTLCache[string, livenessAnswer](sessionCacheSize),
			machines: newTTLCache[[32]byte, machineAnswer](machineCacheSize),
		}, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*instanceState), nil
}

func releaseInstance(key string) {
	_, _ = clerkInstances.Delete(key)
}

// eachInstance calls f for every instance loaded in this process.
func eachInstance(f func(*instanceState)) {
	clerkInstances.Range(func(_, v any) bool {
		f(v.(*instanceState))
		return true
	})
}

// Bounds of the revocation list. An entry must outlive every token issued
// before it: the longest token lifetime seen for the instance (at least
// Clerk's default of 60 s, which also covers the machine-token cache), plus
// the largest clock skew configured, plus rounding of whole-second claims.
const (
	revocationMinLifetime = 60 * time.Second
	revocationMaxLifetime = 24 * time.Hour
	revocationRounding    = 2 * time.Second
	revocationPruneEvery  = 10 * time.Second
)

// revocationList is the set of sessions and users whose tokens are rejected
// although they verify. Lookups are lock-free and never read the clock:
// one atomic counter short-circuits the common case of an empty list, then
// sync.Map reads; only a hit looks at the time. Writes come from webhooks and
// liveness checks. Each entry expires once no token issued before it can
// still be valid, and a background pruner (running only while the list is
// not empty) removes it then, so memory stays bounded by the events of one
// token lifetime.
type revocationList struct {
	sessions sync.Map // session id → expiry, unix nanos (int64)
	users    sync.Map // user id → expiry, unix nanos (int64)
	n        atomic.Int64

	maxLifetime atomic.Int64 // seconds
	maxSkew     atomic.Int64 // nanoseconds

	pruneEvery time.Duration // 0: revocationPruneEvery; set before first use (tests)
	pruning    atomic.Bool
	stopOnce   sync.Once
	stop       chan struct{} // closed by close(); made lazily under stopOnce
	pruneMu    sync.Mutex
	nextPrune  atomic.Int64 // unix nanos
}

// check returns why tokens of this session or user are rejected, "" when
// they are not. It never blocks.
func (l *revocationList) check(sessionID, userID string) string {
	if l.n.Load() == 0 {
		return ""
	}
	if sessionID != "" {
		if v, ok := l.sessions.Load(sessionID); ok && time.Now().UnixNano() < v.(int64) {
			return reasonSessionRevoked
		}
	}
	if userID != "" {
		if v, ok := l.users.Load(userID); ok && time.Now().UnixNano() < v.(int64) {
			return reasonUserDeleted
		}
	}
	return ""
}

// revokeSession rejects the session's tokens from now on.
func (l *revocationList) revokeSession(sessionID string) { l.add(&l.sessions, sessionID) }

// revokeUser rejects every token of the user from now on.
func (l *revocationList) revokeUser(userID string) { l.add(&l.users, userID) }

func (l *revocationList) add(m *sync.Map, id string) {
	if id == "" {
		return
	}
	now := time.Now()
	until := now.Add(l.horizon()).UnixNano()
	if _, loaded := m.Swap(id, until); !loaded {
		l.n.Add(1)
	}
	l.prune(now.UnixNano())
	l.startPruner()
}

// horizon is how long an entry made now must live.
func (l *revocationList) horizon() time.Duration {
	lifetime := max(time.Duration(l.maxLifetime.Load())*time.Second, revocationMinLifetime)
	return lifetime + time.Duration(l.maxSkew.Load()) + revocationRounding
}

// prune drops expired entries, at most every revocationPruneEvery.
func (l *revocationList) prune(now int64) {
	l.pruneMu.Lock()
	defer l.pruneMu.Unlock()
	if now < l.nextPrune.Load() {
		return
	}
	l.nextPrune.Store(now + int64(l.every()))
	for _, m := range []*sync.Map{&l.sessions, &l.users} {
		m.Range(func(k, v any) bool {
			if now >= v.(int64) && m.CompareAndDelete(k, v) {
				l.n.Add(-1)
			}
			return true
		})
	}
}

// startPruner runs the background pruner unless it runs already. It stops
// when the list is empty or the list is closed.
func (l *revocationList) startPruner() {
	if !l.pruning.CompareAndSwap(false, true) {
		return
	}
	stop := l.stopChan()
	go func() {
		t := time.NewTicker(l.every())
		defer t.Stop()
		for {
			select {
			case <-stop:
				l.pruning.Store(false)
				return
			case now := <-t.C:
				l.prune(now.UnixNano())
			}
			if l.n.Load() > 0 {
				continue
			}
			l.pruning.Store(false)
			// An entry added after the check above started no pruner
			// (this one still ran); take over again if so.
			if l.n.Load() == 0 || !l.pruning.CompareAndSwap(false, true) {
				return
			}
		}
	}()
}

func (l *revocationList) every() time.Duration {
	if l.pruneEvery > 0 {
		return l.pruneEvery
	}
	return revocationPruneEvery
}

func (l *revocationList) stopChan() chan struct{} {
	l.stopOnce.Do(func() { l.stop = make(chan struct{}) })
	return l.stop
}

// close stops the pruner for good.
func (l *revocationList) close() {
	stop := l.stopChan()
	select {
	case <-stop:
	default:
		close(stop)
	}
}

// noteTokenLifetime records the lifetime of a verified token (exp − iat),
// so that entries outlive every token of the instance.
func (l *revocationList) noteTokenLifetime(iat, exp jsonNumber) {
	if !iat.isNum || !exp.isNum {
		return
	}
	secs := int64(min(max(exp.val-iat.val, 0), revocationMaxLifetime.Seconds()))
	atomicMax(&l.maxLifetime, secs)
}

// noteSkew records a handler's clock skew.
func (l *revocationList) noteSkew(skew time.Duration) {
	atomicMax(&l.maxSkew, int64(min(skew, revocationMaxLifetime)))
}

// size returns the number of entries.
func (l *revocationList) size() int64 { return l.n.Load() }

func atomicMax(a *atomic.Int64, v int64) {
	for {
		cur := a.Load()
		if v <= cur || a.CompareAndSwap(cur, v) {
			return
		}
	}
}
