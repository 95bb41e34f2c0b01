package service

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/forgelink/forgelink/shared/forgelink"
	"github.com/forgelink/forgelink/shared/inmem"
	"github.com/forgelink/forgelink/shared/storetest"
)

// countingStore and countingSecrets count the calls that reach DynamoDB / Secrets Manager.
type countingStore struct {
	forgelink.Store
	gets atomic.Int64
}

func (s *countingStore) GetIntegration(ctx context.Context, org, id string) (forgelink.Integration, error) {
	s.gets.Add(1)
	return s.Store.GetIntegration(ctx, org, id)
}

type countingSecrets struct {
	forgelink.Secrets
	gets atomic.Int64
}

func (s *countingSecrets) GetSecret(ctx context.Context, ref forgelink.SecretRef) (string, error) {
	s.gets.Add(1)
	return s.Secrets.GetSecret(ctx, ref)
}

func newCacheService(t *testing.T) (*base, *countingStore, *countingSecrets, *storetest.Clock, *inmem.Store) {
	t.Helper()
	clock := storetest.NewClock(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	mem := inmem.New(clock.Now)
	st := &countingStore{Store: mem}
	sec := &countingSecrets{Secrets: mem}
	return newBase(Deps{Store: st, Secrets: sec, Now: clock.Now}), st, sec, clock, mem
}

func TestCachedIntegrationTTL(t *testing.T) {
	ctx := context.Background()
	s, st, _, clock, mem := newCacheService(t)
	in, err := mem.CreateIntegration(ctx, forgelink.Integration{Org: "acme", ID: "i1", URL: "https://gitlab.example.com", Status: forgelink.StatusActive})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := s.cachedIntegration(ctx, "acme", in.ID); err != nil {
			t.Fatal(err)
		}
	}
	if n := st.gets.Load(); n != 1 {
		t.Fatalf("%d store reads for 3 cached lookups, want 1", n)
	}
	clock.Advance(integrationTTL - time.Second)
	s.cachedIntegration(ctx, "acme", in.ID)
	if n := st.gets.Load(); n != 1 {
		t.Fatalf("re-read within the TTL")
	}
	clock.Advance(2 * time.Second)
	s.cachedIntegration(ctx, "acme", in.ID)
	if n := st.gets.Load(); n != 2 {
		t.Fatalf("no re-read after the TTL: %d reads", n)
	}

	// A fresh read always reaches the store and refreshes the cache.
	s.freshIntegration(ctx, "acme", in.ID)
	if n := st.gets.Load(); n != 3 {
		t.Fatalf("fresh read served from the cache")
	}

	// A deleted integration is forgotten by the next fresh read; misses are not cached.
	if err := mem.DeleteIntegration(ctx, "acme", in.ID, in.Version); err != nil {
		t.Fatal(err)
	}
	if _, err := s.freshIntegration(ctx, "acme", in.ID); forgelink.ErrorCode(err) != forgelink.ENOTFOUND {
		t.Fatalf("fresh read of a deleted integration: %v", err)
	}
	if _, err := s.cachedIntegration(ctx, "acme", in.ID); forgelink.ErrorCode(err) != forgelink.ENOTFOUND {
		t.Fatalf("cache kept a deleted integration: %v", err)
	}
}

func TestClientSecretKeyedByVersion(t *testing.T) {
	ctx := context.Background()
	s, _, sec, clock, mem := newCacheService(t)
	ref1, err := mem.PutSecret(ctx, "forgelink/test/acme/i1", "one", nil)
	if err != nil {
		t.Fatal(err)
	}
	in := forgelink.Integration{Org: "acme", ID: "i1", SecretARN: ref1.ARN, SecretVersion: ref1.Version}
	for range 3 {
		if v, err := s.clientSecret(ctx, in); err != nil || v != "one" {
			t.Fatalf("secret = %q, %v", v, err)
		}
	}
	if n := sec.gets.Load(); n != 1 {
		t.Fatalf("%d Secrets Manager calls, want 1", n)
	}

	// A replaced secret has a new version id: fetched at once, never the old value.
	ref2, err := mem.PutSecret(ctx, "forgelink/test/acme/i1", "two", nil)
	if err != nil {
		t.Fatal(err)
	}
	in.SecretVersion = ref2.Version
	if v, _ := s.clientSecret(ctx, in); v != "two" {
		t.Fatalf("secret after replacement = %q, want two", v)
	}
	if n := sec.gets.Load(); n != 2 {
		t.Fatalf("%d Secrets Manager calls, want 2", n)
	}

	clock.Advance(5*time.Minute + time.Second)
	s.clientSecret(ctx, in)
	if n := sec.gets.Load(); n != 3 {
		t.Fatalf("secret not re-read after the TTL")
	}
}

func TestCacheBounded(t *testing.T) {
	c := NewCache(time.Minute, time.Now)
	for i := range maxCacheEntries * 3 {
		c.putSecret(forgelink.SecretRef{ARN: fmt.Sprint(i)}, "v")
		c.putIntegration(forgelink.Integration{Org: "o", ID: fmt.Sprint(i)})
	}
	if len(c.secs) > maxCacheEntries || len(c.ints) > maxCacheEntries {
		t.Fatalf("cache grew to %d secrets, %d integrations", len(c.secs), len(c.ints))
	}
	if _, ok := c.secret(forgelink.SecretRef{ARN: fmt.Sprint(maxCacheEntries*3 - 1)}); !ok {
		t.Fatalf("the newest entry was dropped")
	}
}

// TestCacheConcurrent is for -race: many requests of a warm container at once.
func TestCacheConcurrent(t *testing.T) {
	ctx := context.Background()
	s, _, sec, clock, mem := newCacheService(t)
	ref, _ := mem.PutSecret(ctx, "forgelink/test/acme/i1", "s", nil)
	in, err := mem.CreateIntegration(ctx, forgelink.Integration{Org: "acme", ID: "i1", URL: "https://gitlab.example.com",
		Status: forgelink.StatusActive, SecretARN: ref.ARN, SecretVersion: ref.Version})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 50 {
				if _, err := s.cachedIntegration(ctx, "acme", in.ID); err != nil {
					t.Error(err)
				}
				if _, err := s.clientSecret(ctx, in); err != nil {
					t.Error(err)
				}
				if (i+j)%17 == 0 {
					s.cache.forgetIntegration("acme", in.ID)
					clock.Advance(time.Millisecond)
				}
			}
		}()
	}
	wg.Wait()
	if n := sec.gets.Load(); n > 32 {
		t.Errorf("%d Secrets Manager calls for one secret", n)
	}
}
