package caddyclerk

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"
)

func TestRevocationList(t *testing.T) {
	var l revocationList
	defer l.close()
	if r := l.check("sess_1", "user_1"); r != "" {
		t.Fatalf("empty list: %q", r)
	}
	l.revokeSession("sess_1")
	l.revokeUser("user_2")
	l.revokeSession("") // ignored
	for _, tc := range []struct{ sid, uid, want string }{
		{"sess_1", "user_1", reasonSessionRevoked},
		{"sess_1", "user_2", reasonSessionRevoked},
		{"sess_9", "user_2", reasonUserDeleted},
		{"", "user_2", reasonUserDeleted},
		{"sess_9", "user_1", ""},
		{"", "", ""},
	} {
		if got := l.check(tc.sid, tc.uid); got != tc.want {
			t.Errorf("check(%q, %q) = %q, want %q", tc.sid, tc.uid, got, tc.want)
		}
	}
	if l.size() != 2 {
		t.Errorf("size %d, want 2", l.size())
	}
}

func TestRevocationHorizon(t *testing.T) {
	var l revocationList
	if h := l.horizon(); h != revocationMinLifetime+revocationRounding {
		t.Errorf("default horizon %v", h)
	}
	l.noteSkew(5 * time.Second)
	l.noteTokenLifetime(jsonNumber{val: 1000, isNum: true, present: true}, jsonNumber{val: 1600, isNum: true, present: true})
	l.noteTokenLifetime(jsonNumber{val: 1000, isNum: true, present: true}, jsonNumber{val: 1030, isNum: true, present: true})
	l.noteTokenLifetime(jsonNumber{}, jsonNumber{val: 1e12, isNum: true, present: true}) // no iat: ignored
	if h, want := l.horizon(), 600*time.Second+5*time.Second+revocationRounding; h != want {
		t.Errorf("horizon %v, want %v (longest lifetime seen, largest skew)", h, want)
	}
	l.noteTokenLifetime(jsonNumber{val: 0, isNum: true, present: true}, jsonNumber{val: 1e12, isNum: true, present: true})
	if h := l.horizon(); h > revocationMaxLifetime+time.Minute {
		t.Errorf("horizon %v is not capped", h)
	}
}

func TestRevocationEntriesExpire(t *testing.T) {
	var l revocationList
	past := time.Now().Add(-time.Second).UnixNano()
	l.sessions.Store("sess_old", past)
	l.users.Store("user_old", past)
	l.n.Add(2)
	if r := l.check("sess_old", "user_old"); r != "" {
		t.Errorf("expired entries still reject: %q", r)
	}
	l.revokeSession("sess_new") // a write prunes
	if l.size() != 1 {
		t.Errorf("size %d, want the 1 live entry", l.size())
	}
	l.nextPrune.Store(0)
	l.revokeSession("sess_newer")
	if l.size() != 2 {
		t.Errorf("size %d, want 2 live entries", l.size())
	}
	l.close()
}

func TestRevocationPrunerStops(t *testing.T) {
	l := revocationList{pruneEvery: 20 * time.Millisecond}
	defer l.close()
	l.revokeSession("sess_1")
	if !l.pruning.Load() {
		t.Fatal("no pruner after a write")
	}
	l.sessions.Store("sess_1", time.Now().UnixNano()) // expire it now
	deadline := time.Now().Add(2 * time.Second)
	for (l.size() != 0 || l.pruning.Load()) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if l.size() != 0 || l.pruning.Load() {
		t.Errorf("size %d, pruning %v: the pruner should have emptied the list and stopped", l.size(), l.pruning.Load())
	}
}

func TestRevocationConcurrent(t *testing.T) {
	var l revocationList
	defer l.close()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for i := range 500 {
				l.revokeSession(fmt.Sprintf("sess_%d_%d", g, i))
			}
		}()
		go func() {
			defer wg.Done()
			for i := range 500 {
				l.check(fmt.Sprintf("sess_%d_%d", g, i), "user_x")
			}
		}()
	}
	wg.Wait()
	if l.size() != 4000 {
		t.Errorf("size %d, want 4000", l.size())
	}
	if l.check("sess_3_499", "") != reasonSessionRevoked {
		t.Error("lost an entry")
	}
}

func TestInstanceKey(t *testing.T) {
	inst, err := parsePublishableKey("pk_live_Y2xlcmsuZXhhbXBsZS5jb20k")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		inst   *instance
		issuer string
		want   string
	}{
		{inst, "", "https://clerk.example.com"},
		{inst, "https://other.example", "https://clerk.example.com"},
		{nil, "https://clerk.example.com/", "https://clerk.example.com"},
		{nil, "", ""},
	} {
		if got := instanceKeyFor(tc.inst, tc.issuer); got != tc.want {
			t.Errorf("instanceKeyFor(%v, %q) = %q, want %q", tc.inst != nil, tc.issuer, got, tc.want)
		}
	}
}

// BenchmarkRevocationCheck is the lookup every request with a session pays.
func BenchmarkRevocationCheck(b *testing.B) {
	for _, n := range []int{0, 10_000} {
		b.Run(fmt.Sprintf("entries=%d", n), func(b *testing.B) {
			var l revocationList
			defer l.close()
			for i := range n {
				l.revokeSession(fmt.Sprintf("sess_%d", i))
			}
			b.ReportAllocs()
			for b.Loop() {
				if l.check("sess_not_revoked_abcdefghijkl", "user_abc") != "" {
					b.Fatal("revoked")
				}
			}
		})
	}
}

// BenchmarkServeHTTPCachedTokenRevocations is BenchmarkServeHTTPCachedToken
// with a revocation list of other sessions: the hot path plus the lookup.
func BenchmarkServeHTTPCachedTokenRevocations(b *testing.B) {
	f := newBenchFixture(b)
	h := benchHandler(b, f)
	l := &h.backend.state.revoked // shared with every bench handler of this instance: undo afterwards
	for i := range 1000 {
		l.revokeSession(fmt.Sprintf("sess_other_%d", i))
	}
	b.Cleanup(func() {
		for i := range 1000 {
			if _, ok := l.sessions.LoadAndDelete(fmt.Sprintf("sess_other_%d", i)); ok {
				l.n.Add(-1)
			}
		}
	})
	serveBench(b, h, "/dashboard", http.Header{"Authorization": {"Bearer " + f.token}}, false)
}
