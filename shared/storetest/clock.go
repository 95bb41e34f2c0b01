// Package storetest is the one conformance suite for forgelink.Store and forgelink.Secrets.
// Every implementation runs it (shared/inmem on memory, shared/dynamo + shared/secrets on
// moto), so the in-memory store used by `make run` and most tests behaves like AWS.
package storetest

import (
	"sync"
	"time"
)

// Clock is a settable fake clock; pass its Now to the store constructors.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock stopped at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t.Round(0).UTC()} }

// Now returns the clock's current time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t.Round(0).UTC()
}
