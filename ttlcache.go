package caddyclerk

import (
	"sync"
	"time"
)

// ttlCache is a bounded map whose entries expire. It backs the Backend API
// caches (machine tokens, users, session liveness), which are consulted only
// on requests that use those features, so one lock is enough.
type ttlCache[K comparable, V any] struct {
	mu      sync.RWMutex
	max     int
	entries map[K]ttlEntry[V]
	swept   time.Time // the last walk for expired entries
}

type ttlEntry[V any] struct {
	val     V
	stored  time.Time
	expires time.Time
}

func newTTLCache[K comparable, V any](max int) *ttlCache[K, V] {
	return &ttlCache[K, V]{max: max, entries: make(map[K]ttlEntry[V])}
}

// get returns the value and when it was stored, if present and not expired.
func (c *ttlCache[K, V]) get(k K, now time.Time) (V, time.Time, bool) {
	c.mu.RLock()
	e, ok := c.entries[k]
	c.mu.RUnlock()
	if !ok || !now.Before(e.expires) {
		var zero V
		return zero, time.Time{}, false
	}
	return e.val, e.stored, true
}

// put stores v until expires. When the cache is full it first drops expired
// entries (walking the cache at most once a second, so that a stream of new
// keys into a full cache does not walk it on every put), then arbitrary ones.
func (c *ttlCache[K, V]) put(k K, v V, now, expires time.Time) {
	if !now.Before(expires) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[k]; !ok && len(c.entries) >= c.max {
		if now.Sub(c.swept) >= time.Second {
			c.swept = now
			for key, e := range c.entries {
				if !now.Before(e.expires) {
					delete(c.entries, key)
				}
			}
		}
		for key := range c.entries {
			if len(c.entries) < c.max {
				break
			}
			delete(c.entries, key)
		}
	}
	c.entries[k] = ttlEntry[V]{val: v, stored: now, expires: expires}
}

// del removes k.
func (c *ttlCache[K, V]) del(k K) {
	c.mu.Lock()
	delete(c.entries, k)
	c.mu.Unlock()
}

// len returns the number of entries, expired ones included.
func (c *ttlCache[K, V]) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.entries)
}
