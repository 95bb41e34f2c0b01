package netguard

import (
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/forgelink/forgelink/shared/forgelink"
)

// bundles returns n distinct CA bundles (the same certificate, distinct trailing
// whitespace: distinct bytes, so distinct cache keys).
func bundles(t *testing.T, n int) []string {
	t.Helper()
	srv := httptest.NewTLSServer(http.NotFoundHandler())
	srv.Close()
	cert := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}))
	out := make([]string, n)
	for i := range out {
		out[i] = cert + strings.Repeat("\n", i+1)
	}
	return out
}

func TestClientCacheIsBounded(t *testing.T) {
	resetClientCache(t)
	p := Policy{}
	bs := bundles(t, 3*ClientCacheSize)
	var first, last *http.Client
	for i, b := range bs {
		c, err := p.Client(b, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = c
		}
		last = c
		if n := clients.len(); n > ClientCacheSize {
			t.Fatalf("after %d bundles the cache holds %d clients, more than %d", i+1, n, ClientCacheSize)
		}
	}
	if again, _ := p.Client(bs[len(bs)-1], time.Second); again != last {
		t.Error("the most recent client was not cached")
	}
	if again, _ := p.Client(bs[0], time.Second); again == first {
		t.Error("the oldest client survived 3×capacity newer ones")
	}
}

func TestClientCacheKeepsRecentlyUsed(t *testing.T) {
	resetClientCache(t)
	p := Policy{}
	bs := bundles(t, ClientCacheSize+1)
	hot, _ := p.Client(bs[0], time.Second)
	for _, b := range bs[1:ClientCacheSize] {
		p.Client(b, time.Second)
	}
	if again, _ := p.Client(bs[0], time.Second); again != hot { // touch: now most recent
		t.Fatal("client evicted before the cache was full")
	}
	p.Client(bs[ClientCacheSize], time.Second) // evicts the least recently used: bs[1]
	if again, _ := p.Client(bs[0], time.Second); again != hot {
		t.Error("a recently used client was evicted instead of the least recently used one")
	}
}

func TestUncachedClient(t *testing.T) {
	resetClientCache(t)
	p := Policy{}
	bs := bundles(t, 10)
	for _, b := range bs {
		a, err := p.UncachedClient(b, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		b2, _ := p.UncachedClient(b, time.Second)
		if a == b2 {
			t.Fatal("UncachedClient returned the same client twice")
		}
	}
	if n := clients.len(); n != 0 {
		t.Errorf("UncachedClient grew the cache to %d", n)
	}
	if _, err := p.UncachedClient("garbage", time.Second); forgelink.ErrorCode(err) != forgelink.EINVALID {
		t.Errorf("UncachedClient with a bad bundle: %v", err)
	}
}

// resetClientCache gives a test an empty cache and restores nothing: the cache is only
// a cache.
func resetClientCache(t *testing.T) {
	t.Helper()
	clients.reset()
}

// TestClientCacheConcurrent: callers racing for the same bundle share one client, and
// the cache stays bounded under concurrent adds (run with -race).
func TestClientCacheConcurrent(t *testing.T) {
	resetClientCache(t)
	p := Policy{}
	bs := bundles(t, 2*ClientCacheSize)
	var wg, fetched sync.WaitGroup
	first := make([]*http.Client, 8)
	start := make(chan struct{})
	fetched.Add(len(first))
	for g := range first {
		wg.Go(func() {
			<-start
			first[g], _ = p.Client(bs[0], time.Second)
			fetched.Done()
			fetched.Wait() // churn only once everyone has its client: churn may evict it
			for _, b := range bs[1:] {
				if _, err := p.Client(b, time.Second); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	close(start)
	wg.Wait()
	for _, c := range first[1:] {
		if c == nil || c != first[0] {
			t.Fatal("concurrent callers got different clients for the same bundle")
		}
	}
	if n := clients.len(); n > ClientCacheSize {
		t.Errorf("cache holds %d clients", n)
	}
}
