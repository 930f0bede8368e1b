package caddyclerk

import (
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"testing"
)

func TestTokenCacheBound(t *testing.T) {
	for _, size := range []int{1, 31, 64, 10_000} {
		c := newTokenCache(size)
		live := &session{exp: jsonNumber{val: 2e9, present: true, isNum: true}}
		for i := 0; i < 3*size+100; i++ {
			c.put(fmt.Sprint("token-", i), &cachedToken{session: live}, 1.7e12)
		}
		total := 0
		for i := range c.shards {
			total += len(c.shards[i].entries)
		}
		capacity := c.perShard * tokenCacheShards
		if capacity < size || capacity >= size+tokenCacheShards {
			t.Errorf("size %d: capacity %d", size, capacity)
		}
		if total > capacity || total < min(size, tokenCacheShards) {
			t.Errorf("size %d: cache holds %d entries", size, total)
		}
	}
}

func TestTokenCacheEvictsExpiredFirst(t *testing.T) {
	c := newTokenCache(tokenCacheShards) // one entry per shard
	expired := &session{exp: jsonNumber{val: 1, present: true, isNum: true}}
	live := &session{exp: jsonNumber{val: 2e9, present: true, isNum: true}}
	for i := 0; i < 200; i++ {
		c.put(fmt.Sprint("old-", i), &cachedToken{session: expired}, 1.7e12)
	}
	c.put("new", &cachedToken{session: live}, 1.7e12)
	if c.get("new") == nil {
		t.Fatal("a new entry was not stored in a full shard")
	}
}

func TestKeySnapshotKeepUnchanged(t *testing.T) {
	k1, _ := rsa.GenerateKey(rand.Reader, 2048)
	k2, _ := rsa.GenerateKey(rand.Reader, 2048)
	old := keySnapshot{"a": {pub: &k1.PublicKey, alg: "RS256"}, "b": {pub: &k2.PublicKey, alg: "RS256"}}
	copyOfA := k1.PublicKey
	fresh := keySnapshot{
		"a": {pub: &copyOfA, alg: "RS256"},      // same key material, new value
		"b": {pub: &k1.PublicKey, alg: "RS256"}, // kid b now names another key
		"c": {pub: &k2.PublicKey, alg: "RS256"}, // new kid
	}
	fresh.keepUnchanged(old)
	if fresh["a"] != old["a"] {
		t.Error("an unchanged key was replaced, which would empty the token cache")
	}
	if fresh["b"] == old["b"] {
		t.Error("a changed key kept the old value")
	}
	if fresh["c"].pub != &k2.PublicKey {
		t.Error("a new kid lost its key")
	}
}
