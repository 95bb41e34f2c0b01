package netguard

import (
	"container/list"
	"crypto/sha256"
	"net/http"
	"sync"
)

// clientCache is a small LRU of guarded clients. Evicted clients get their idle
// connections closed; a caller still holding one may go on using it.
type clientCache struct {
	mu    sync.Mutex
	cap   int
	order *list.List // of *cacheEntry, most recently used first
	byKey map[[sha256.Size]byte]*list.Element
}

type cacheEntry struct {
	key    [sha256.Size]byte
	client *http.Client
}

func newClientCache(capacity int) *clientCache {
	return &clientCache{cap: capacity, order: list.New(), byKey: map[[sha256.Size]byte]*list.Element{}}
}

// get returns the cached client for key, or nil, and marks it most recently used.
func (c *clientCache) get(key [sha256.Size]byte) *http.Client {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.byKey[key]; ok {
		c.order.MoveToFront(e)
		return e.Value.(*cacheEntry).client
	}
	return nil
}

// add caches client under key and returns the cached client: an earlier one when another
// goroutine added it first (so callers share connections), else client.
func (c *clientCache) add(key [sha256.Size]byte, client *http.Client) *http.Client {
	c.mu.Lock()
	if e, ok := c.byKey[key]; ok {
		c.order.MoveToFront(e)
		c.mu.Unlock()
		return e.Value.(*cacheEntry).client
	}
	c.byKey[key] = c.order.PushFront(&cacheEntry{key: key, client: client})
	var evicted []*http.Client
	for c.order.Len() > c.cap {
		last := c.order.Back()
		c.order.Remove(last)
		ent := last.Value.(*cacheEntry)
		delete(c.byKey, ent.key)
		evicted = append(evicted, ent.client)
	}
	c.mu.Unlock()
	for _, old := range evicted {
		old.CloseIdleConnections()
	}
	return client
}

func (c *clientCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}

// reset empties the cache (tests).
func (c *clientCache) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.order.Init()
	clear(c.byKey)
}
