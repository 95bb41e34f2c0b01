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

// DefaultGitLabProbes is the limit when Deps.GitLabProbes is zero: 20 calls out to GitLab
// servers per org at once, then 10 a minute. A credential check or a new URL's DNS look-up
// reaches any host the guard allows, so without its own bucket an admin (or a leaked
// token) could sweep a network at the admin write rate; real setups need a handful.
var DefaultGitLabProbes = WriteLimit{Burst: 20, PerMinute: 10}

// maxLimiters bounds the limiter's memory; full buckets carry no information and go first.
const maxLimiters = 10000

// writeLimiter holds one token bucket (golang.org/x/time/rate) per org.
type writeLimiter struct {
	limit   WriteLimit
	now     func() time.Time
	message string // the 429's text

	mu   sync.Mutex
	orgs map[string]*rate.Limiter
}

func newWriteLimiter(l WriteLimit, now func() time.Time) *writeLimiter {
	return newLimiter(l, DefaultAdminWrites, adminWritesMessage, now)
}

// newProbeLimiter is the per-org bucket of calls out to GitLab from admin actions.
func newProbeLimiter(l WriteLimit, now func() time.Time) *writeLimiter {
	return newLimiter(l, DefaultGitLabProbes, probesMessage, now)
}

const (
	adminWritesMessage = "Too many changes to this org's integrations in a short time. Please wait a moment and try again."
	probesMessage      = "Too many checks against GitLab servers for this org in a short time. Please wait a minute and try again."
)

func newLimiter(l, def WriteLimit, message string, now func() time.Time) *writeLimiter {
	if l == (WriteLimit{}) {
		l = def
	}
	if now == nil {
		now = time.Now
	}
	return &writeLimiter{limit: l, now: now, message: message, orgs: map[string]*rate.Limiter{}}
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
		Message:    l.message,
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
