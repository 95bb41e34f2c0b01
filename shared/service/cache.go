package service

import (
	"context"
	"sync"
	"time"

	"github.com/forgelink/forgelink/shared/forgelink"
)

// Per-container caching of integrations and client secrets. A Lambda container serves
// many requests; without a cache every sign-in would read the integration item twice and
// call Secrets Manager once. With it, a warm login start reads nothing or one item, and a
// warm callback reads the integration item once (fresh, see below) and makes no Secrets
// Manager call.
//
// Staleness bounds (DESIGN.md notes):
//   - Integrations are trusted for at most integrationTTL (30 s) where staleness is
//     harmless: login start (a deleted or disabled integration can still send a browser to
//     GitLab for up to 30 s; nothing is granted there, the callback re-checks) and the
//     session check (a member session of a deleted or disabled integration ends within
//     30 s). The callback, which signs people in, always reads the integration fresh and
//     refreshes the cache with it.
//   - Secrets are keyed by ARN + version id and kept for the cache TTL (5 min by default).
//     Replacing a secret writes a new version id to the integration item, so the next
//     (fresh) callback read asks for the new version and misses the cache: no sign-in ever
//     uses a replaced secret because of the cache.
//
// Entries are bounded in number (maxCacheEntries per kind); a full map first drops expired
// entries, then everything. Safe for concurrent use.
const (
	integrationTTL  = 30 * time.Second
	maxCacheEntries = 1024
)

// Cache is a per-container cache of integrations and client secrets (see above).
type Cache struct {
	ttl  time.Duration // secrets
	now  func() time.Time
	mu   sync.Mutex
	ints map[integrationKey]cacheEntry[forgelink.Integration]
	secs map[forgelink.SecretRef]cacheEntry[string]
	// rules are the org's admin rules, for the scopes a login start asks for and for taking
	// the role from sessions whose rule was removed (both may be up to 30 s stale).
	rules map[string]cacheEntry[[]forgelink.AdminRule]
}

type integrationKey struct{ org, id string }

type cacheEntry[T any] struct {
	v   T
	exp time.Time
}

// NewCache returns a cache keeping secrets for ttl (0: 5 minutes) on the clock now.
func NewCache(ttl time.Duration, now func() time.Time) *Cache {
	if ttl <= 0 {
		ttl = 5 * time.Minute
	}
	if now == nil {
		now = time.Now
	}
	return &Cache{
		ttl:   ttl,
		now:   now,
		ints:  map[integrationKey]cacheEntry[forgelink.Integration]{},
		secs:  map[forgelink.SecretRef]cacheEntry[string]{},
		rules: map[string]cacheEntry[[]forgelink.AdminRule]{},
	}
}

// intTTL is the integrations' lifetime: 30 s, or less when the configured TTL is shorter.
func (c *Cache) intTTL() time.Duration { return min(integrationTTL, c.ttl) }

func (c *Cache) integration(org, id string) (forgelink.Integration, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.ints[integrationKey{org, id}]
	if !ok || !c.now().Before(e.exp) {
		return forgelink.Integration{}, false
	}
	return e.v, true
}

func (c *Cache) putIntegration(in forgelink.Integration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cachePut(c.ints, integrationKey{in.Org, in.ID}, in, c.now(), c.intTTL())
}

// forgetIntegration drops an integration (call after updating or deleting it, so that
// this container sees the change at once; other containers within integrationTTL).
func (c *Cache) forgetIntegration(org, id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.ints, integrationKey{org, id})
}

func (c *Cache) secret(ref forgelink.SecretRef) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.secs[ref]
	if !ok || !c.now().Before(e.exp) {
		return "", false
	}
	return e.v, true
}

func (c *Cache) putSecret(ref forgelink.SecretRef, value string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cachePut(c.secs, ref, value, c.now(), c.ttl)
}

// forgetSecret drops every cached version of the secret arn (after deleting it).
func (c *Cache) forgetSecret(arn string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for ref := range c.secs {
		if ref.ARN == arn {
			delete(c.secs, ref)
		}
	}
}

func cachePut[K comparable, V any](m map[K]cacheEntry[V], k K, v V, now time.Time, ttl time.Duration) {
	if _, ok := m[k]; !ok && len(m) >= maxCacheEntries {
		for k, e := range m {
			if !now.Before(e.exp) {
				delete(m, k)
			}
		}
		if len(m) >= maxCacheEntries {
			clear(m)
		}
	}
	m[k] = cacheEntry[V]{v: v, exp: now.Add(ttl)}
}

// cachedIntegration returns the integration from the cache, or reads and caches it. Use
// it only where a stale answer (up to integrationTTL) is harmless.
func (s *base) cachedIntegration(ctx context.Context, org, id string) (forgelink.Integration, error) {
	if in, ok := s.cache.integration(org, id); ok {
		return in, nil
	}
	return s.freshIntegration(ctx, org, id)
}

// freshIntegration reads the integration from the store and refreshes the cache. Missing
// integrations are not cached: one created a moment later must work at once.
func (s *base) freshIntegration(ctx context.Context, org, id string) (forgelink.Integration, error) {
	in, err := s.store.GetIntegration(ctx, org, id)
	if err != nil {
		if forgelink.ErrorCode(err) == forgelink.ENOTFOUND {
			s.cache.forgetIntegration(org, id)
		}
		return forgelink.Integration{}, err
	}
	s.cache.putIntegration(in)
	return in, nil
}

// clientSecret returns the client secret of in, from the cache when this container read
// the same ARN and version within the cache TTL.
func (s *base) clientSecret(ctx context.Context, in forgelink.Integration) (string, error) {
	ref := forgelink.SecretRef{ARN: in.SecretARN, Version: in.SecretVersion}
	if v, ok := s.cache.secret(ref); ok {
		return v, nil
	}
	v, err := s.secrets.GetSecret(ctx, ref)
	if err != nil {
		return "", err
	}
	s.cache.putSecret(ref, v)
	return v, nil
}

// adminRules returns org's admin rules, from the cache unless fresh (the callback, which
// grants roles, always reads them fresh and refreshes the cache).
func (s *base) adminRules(ctx context.Context, org string, fresh bool) ([]forgelink.AdminRule, error) {
	if !fresh {
		s.cache.mu.Lock()
		e, ok := s.cache.rules[org]
		s.cache.mu.Unlock()
		if ok && s.cache.now().Before(e.exp) {
			return e.v, nil
		}
	}
	rules, err := s.store.ListAdminRules(ctx, org)
	if err != nil {
		return nil, err
	}
	s.cache.mu.Lock()
	cachePut(s.cache.rules, org, rules, s.cache.now(), s.cache.intTTL())
	s.cache.mu.Unlock()
	return rules, nil
}

// forgetRules drops org's cached rules (after a change through this container).
func (c *Cache) forgetRules(org string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.rules, org)
}
