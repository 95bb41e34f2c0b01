package statecookie

import (
	"bytes"
	"testing"
	"time"
)

var previous = bytes.Repeat([]byte("p"), 32)

func mustNewRotated(t testing.TB, current []byte, prev ...[]byte) *Sealer {
	t.Helper()
	s, err := New(current, prev...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestRotationOpensPreviousKey: a pending sign-in sealed before a key rotation still
// opens after it.
func TestRotationOpensPreviousKey(t *testing.T) {
	before := mustNew(t, previous)
	tok, err := before.Seal(in, t0, 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	after := mustNewRotated(t, key, previous)
	var out state
	if err := after.Open(tok, t0.Add(time.Minute), &out); err != nil || out != in {
		t.Fatalf("Open after rotation = %+v, %v", out, err)
	}
	// Expiry still applies to tokens of the previous key.
	assertExpired(t, after.Open(tok, t0.Add(10*time.Minute), &out))
}

// TestRotationRefusesUnknownKey: only the current and previous keys open tokens.
func TestRotationRefusesUnknownKey(t *testing.T) {
	tok, _ := mustNew(t, other).Seal(in, t0, 10*time.Minute)
	var out state
	assertExpired(t, mustNewRotated(t, key, previous).Open(tok, t0, &out))
	// Two rotations later the first key is gone.
	old, _ := mustNew(t, previous).Seal(in, t0, 10*time.Minute)
	assertExpired(t, mustNewRotated(t, other, key).Open(old, t0, &out))
}

// TestRotationSealsWithCurrentKeyOnly: the previous key only ever opens and verifies.
func TestRotationSealsWithCurrentKeyOnly(t *testing.T) {
	s := mustNewRotated(t, key, previous)
	for i := 0; i < 20; i++ {
		tok, err := s.Seal(in, t0, 10*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		var out state
		if err := mustNew(t, key).Open(tok, t0, &out); err != nil {
			t.Fatalf("token not sealed with the current key: %v", err)
		}
		assertExpired(t, mustNew(t, previous).Open(tok, t0, &out))
	}
	if s.MAC("csrf", "session-1") != mustNew(t, key).MAC("csrf", "session-1") {
		t.Error("MAC does not use the current key")
	}
}

// TestVerifyMAC: CSRF tokens of pages opened before a rotation still verify after it.
func TestVerifyMAC(t *testing.T) {
	s := mustNewRotated(t, key, previous)
	tests := []struct {
		name string
		mac  string
		ok   bool
	}{
		{"current key", mustNew(t, key).MAC("csrf", "session-1"), true},
		{"previous key", mustNew(t, previous).MAC("csrf", "session-1"), true},
		{"unknown key", mustNew(t, other).MAC("csrf", "session-1"), false},
		{"other message", mustNew(t, previous).MAC("csrf", "session-2"), false},
		{"other purpose", mustNew(t, key).MAC("csrf2", "session-1"), false},
		{"empty", "", false},
		{"truncated", mustNew(t, key).MAC("csrf", "session-1")[:42], false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := s.VerifyMAC("csrf", "session-1", tt.mac); got != tt.ok {
				t.Errorf("VerifyMAC = %v, want %v", got, tt.ok)
			}
		})
	}
	if mustNew(t, key).VerifyMAC("csrf", "session-1", mustNew(t, previous).MAC("csrf", "session-1")) {
		t.Error("a MAC of a key no longer configured verifies")
	}
}

func TestNewPreviousKeySize(t *testing.T) {
	if _, err := New(key, make([]byte, 31)); err == nil {
		t.Error("New with a 31-byte previous key: no error")
	}
	// An empty previous key means none, so a caller can pass what its configuration has.
	s := mustNewRotated(t, key, nil, []byte{})
	if len(s.keys) != 1 {
		t.Errorf("empty previous keys were kept: %d keys", len(s.keys))
	}
	if s := mustNewRotated(t, key, key); len(s.keys) != 1 { // the same key twice is harmless
		t.Errorf("the current key was kept twice: %d keys", len(s.keys))
	}
}
