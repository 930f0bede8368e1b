package caddyclerk

import (
	"fmt"
	"testing"
	"time"
)

func TestTTLCache(t *testing.T) {
	now := time.Unix(1700000000, 0)
	c := newTTLCache[string, int](3)

	c.put("a", 1, now, now.Add(time.Minute))
	if v, stored, ok := c.get("a", now.Add(59*time.Second)); !ok || v != 1 || !stored.Equal(now) {
		t.Errorf("get a = %v %v %v, want 1 stored at %v", v, stored, ok, now)
	}
	if _, _, ok := c.get("a", now.Add(time.Minute)); ok {
		t.Error("an entry is returned at its expiry")
	}
	c.put("dead", 2, now, now)
	if c.len() != 1 {
		t.Errorf("an entry expiring when stored was kept: len %d", c.len())
	}
	c.del("a")
	if _, _, ok := c.get("a", now); ok || c.len() != 0 {
		t.Error("del left the entry")
	}

	// Full of live entries: an arbitrary one makes room, the bound holds.
	for i := range 5 {
		c.put(fmt.Sprint("live", i), i, now, now.Add(time.Hour))
		if c.len() > 3 {
			t.Fatalf("len %d over the bound 3", c.len())
		}
	}
	if _, _, ok := c.get("live4", now); !ok {
		t.Error("the newest entry was not stored")
	}
	// Replacing a present key never evicts.
	c.put("live4", 40, now, now.Add(time.Hour))
	if c.len() != 3 {
		t.Errorf("replacing a key changed len to %d", c.len())
	}
}

// TestTTLCacheSweepsAtMostOnceASecond: a full cache is walked for expired
// entries at most once a second; in between, room is made by evicting one.
func TestTTLCacheSweepsAtMostOnceASecond(t *testing.T) {
	now := time.Unix(1700000000, 0)
	c := newTTLCache[string, int](3)
	for i := range 3 {
		c.put(fmt.Sprint("k", i), i, now, now.Add(10*time.Second))
	}
	c.put("first", 0, now, now.Add(time.Hour)) // full: the walk finds nothing expired, one is evicted
	if c.len() != 3 {
		t.Fatalf("len %d, want 3", c.len())
	}

	later := now.Add(10 * time.Second) // the two remaining k entries have expired
	c.swept = later                    // as if a walk had just happened
	c.put("x", 0, later, later.Add(time.Hour))
	if c.len() != 3 {
		t.Errorf("within a second of the last walk: len %d, want 3 (one evicted, none swept)", c.len())
	}
	c.put("y", 0, later.Add(time.Second), later.Add(time.Hour))
	expired := 0
	for _, e := range c.entries {
		if !later.Before(e.expires) {
			expired++
		}
	}
	if expired != 0 || c.len() > 3 {
		t.Errorf("a second later: %d expired entries left, len %d; want every expired entry swept", expired, c.len())
	}
}
