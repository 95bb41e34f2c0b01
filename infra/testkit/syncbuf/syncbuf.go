// Package syncbuf is a test helper: an in-memory buffer safe for concurrent writers and
// readers, for tests that read the application's logs and the output of the processes
// they start.
package syncbuf

import (
	"bytes"
	"sync"
)

// Buffer collects output in memory.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
