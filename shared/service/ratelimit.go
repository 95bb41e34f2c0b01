package service

import (
	"math"
	"sync"
	"time"

	"github.com/forgelink/forgelink/shared/forgelink"
)

// Admin writes (create, save, edit, delete of integrations) are limited per org with a
// token bucket per warm container: a burst of AdminWriteBurst, refilled at
// AdminWritesPerMinute. It stops a leaked token or a runaway script from hammering the
// GitLab server (every save checks credentials there) and Secrets Manager; API Gateway's
// stage throttling bounds the total across containers.
const (
	AdminWriteBurst      = 30
	AdminWritesPerMinute = 30
)

type rateLimiter struct {
	burst float64
	rate  float64 // tokens per second
	now   func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newRateLimiter(burst, perMinute int, now func() time.Time) *rateLimiter {
	return &rateLimiter{
		burst:   float64(burst),
		rate:    float64(perMinute) / 60,
		now:     now,
		buckets: map[string]*bucket{},
	}
}

// maxBuckets bounds the limiter's memory; full buckets carry no information and go first.
const maxBuckets = 10000

// allow takes one token from key's bucket, or returns ERATELIMITED with RetryAfter.
func (l *rateLimiter) allow(key string) error {
	if l == nil || l.rate <= 0 {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) >= maxBuckets {
			l.prune(now)
		}
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[key] = b
	}
	if elapsed := now.Sub(b.last).Seconds(); elapsed > 0 {
		b.tokens = math.Min(l.burst, b.tokens+elapsed*l.rate)
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return nil
	}
	wait := int(math.Ceil((1 - b.tokens) / l.rate))
	return &forgelink.Error{
		Code:       forgelink.ERATELIMITED,
		Message:    "Too many changes to this org's integrations in a short time. Please wait a moment and try again.",
		RetryAfter: max(wait, 1),
	}
}

func (l *rateLimiter) prune(now time.Time) {
	for k, b := range l.buckets {
		if b.tokens+now.Sub(b.last).Seconds()*l.rate >= l.burst {
			delete(l.buckets, k)
		}
	}
}

// SetAdminWriteLimit replaces the per-org admin-write limit (burst, refill per minute);
// perMinute <= 0 disables it. For tests; call it before serving requests.
func (s *Service) SetAdminWriteLimit(burst, perMinute int) {
	s.writes = newRateLimiter(burst, perMinute, s.now)
}

// allowWrite applies the per-org admin-write limit.
func (s *Service) allowWrite(org string) error { return s.writes.allow(org) }
