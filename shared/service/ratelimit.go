package service

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/forgelink/forgelink/shared/forgelink"
)

// WriteLimit is the per-org limit of admin writes (create, save, edit, delete): a burst,
// refilled at PerMinute. It stops a leaked token or a runaway script from hammering the
// GitLab server (every save checks credentials there) and Secrets Manager; API Gateway's
// stage throttling bounds the total across containers. It is per warm container.
type WriteLimit struct {
	Burst     int
	PerMinute int
	// Off turns the limit off (load tests and benchmarks that make many writes).
	Off bool
}

// DefaultAdminWrites is the limit when Deps.AdminWrites is zero.
var DefaultAdminWrites = WriteLimit{Burst: 30, PerMinute: 30}

// maxLimiters bounds the limiter's memory; full buckets carry no information and go first.
const maxLimiters = 10000

// writeLimiter holds one token bucket (golang.org/x/time/rate) per org.
type writeLimiter struct {
	limit WriteLimit
	now   func() time.Time

	mu   sync.Mutex
	orgs map[string]*rate.Limiter
}

func newWriteLimiter(l WriteLimit, now func() time.Time) *writeLimiter {
	if l == (WriteLimit{}) {
		l = DefaultAdminWrites
	}
	if now == nil {
		now = time.Now
	}
	return &writeLimiter{limit: l, now: now, orgs: map[string]*rate.Limiter{}}
}

// allow takes one token from org's bucket, or returns ERATELIMITED with RetryAfter.
func (l *writeLimiter) allow(org string) error {
	if l.limit.Off || l.limit.PerMinute <= 0 {
		return nil
	}
	now := l.now()
	l.mu.Lock()
	lim, ok := l.orgs[org]
	if !ok {
		if len(l.orgs) >= maxLimiters {
			l.prune(now)
		}
		lim = rate.NewLimiter(rate.Limit(float64(l.limit.PerMinute)/60), l.limit.Burst)
		l.orgs[org] = lim
	}
	l.mu.Unlock()
	r := lim.ReserveN(now, 1)
	delay := r.DelayFrom(now)
	if r.OK() && delay == 0 {
		return nil
	}
	r.CancelAt(now) // a refused write costs nothing
	return &forgelink.Error{
		Code:       forgelink.ERATELIMITED,
		Message:    "Too many changes to this org's integrations in a short time. Please wait a moment and try again.",
		RetryAfter: max(int(math.Ceil(delay.Seconds())), 1),
	}
}

// prune drops the buckets that are full again (called with l.mu held).
func (l *writeLimiter) prune(now time.Time) {
	for org, lim := range l.orgs {
		if lim.TokensAt(now) >= float64(l.limit.Burst) {
			delete(l.orgs, org)
		}
	}
}
