package caddyclerk

import (
	"hash/maphash"
	"sync"
)

// defaultTokenCacheSize bounds how many verified tokens one clerk_auth keeps.
// A Clerk session token lives 60 s and a browser reuses it for every request
// in that minute, so a few thousand entries serve thousands of active users.
const defaultTokenCacheSize = 10_000

// tokenCacheShards spreads entries so that concurrent requests rarely meet
// on the same lock.
const tokenCacheShards = 32

// tokenCache remembers tokens that verified, keyed by the token itself, so
// that a token reused within its lifetime is not parsed and its signature
// not checked again. Entries carry the immutable identity, expire with the
// token, and are dropped when their signing key leaves the key set. Only
// successes are kept: a failure is always decided afresh.
type tokenCache struct {
	seed     maphash.Seed
	perShard int
	shards   [tokenCacheShards]tokenCacheShard
}

type tokenCacheShard struct {
	mu      sync.RWMutex
	entries map[string]*cachedToken
}

// cachedToken is one verified token's identity and what a hit re-checks.
type cachedToken struct {
	session *session
	kid     string
	key     verificationKey
}

// newTokenCache returns a cache holding at most size entries (size > 0).
func newTokenCache(size int) *tokenCache {
	c := &tokenCache{seed: maphash.MakeSeed(), perShard: max(1, (size+tokenCacheShards-1)/tokenCacheShards)}
	for i := range c.shards {
		c.shards[i].entries = make(map[string]*cachedToken)
	}
	return c
}

func (c *tokenCache) shard(raw string) *tokenCacheShard {
	return &c.shards[maphash.String(c.seed, raw)%tokenCacheShards]
}

// get returns the cached entry for raw, or nil.
func (c *tokenCache) get(raw string) *cachedToken {
	s := c.shard(raw)
	s.mu.RLock()
	e := s.entries[raw]
	s.mu.RUnlock()
	return e
}

// evictProbe is how many entries a full shard looks at to make room.
const evictProbe = 8

// put stores an entry. A full shard looks at a few entries (in Go's random
// map order), drops those that expired, and if none had, drops the first it
// saw: constant work per miss, and an approximately random eviction.
func (c *tokenCache) put(raw string, e *cachedToken, nowMillis float64) {
	s := c.shard(raw)
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.entries) >= c.perShard {
		seen, victim := 0, ""
		for k, old := range s.entries {
			if seen == 0 {
				victim = k
			}
			if old.session.exp.millis() <= nowMillis {
				delete(s.entries, k)
			}
			if seen++; seen == evictProbe {
				break
			}
		}
		if len(s.entries) >= c.perShard {
			delete(s.entries, victim)
		}
	}
	s.entries[raw] = e
}

// drop removes raw, for entries found stale on a hit.
func (c *tokenCache) drop(raw string) {
	s := c.shard(raw)
	s.mu.Lock()
	delete(s.entries, raw)
	s.mu.Unlock()
}
