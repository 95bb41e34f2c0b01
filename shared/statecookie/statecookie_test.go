package statecookie

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/forgelink/forgelink/shared/forgelink"
)

type state struct {
	State         string `json:"state"`
	Verifier      string `json:"verifier"`
	IntegrationID string `json:"integration_id"`
	ReturnTo      string `json:"return_to"`
}

var (
	key   = bytes.Repeat([]byte("k"), 32)
	other = bytes.Repeat([]byte("o"), 32)
	t0    = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	in    = state{"st", "verifier-123", "int1", "/orgs/acme?x=1"}
)

func mustNew(t testing.TB, k []byte) *Sealer {
	t.Helper()
	s, err := New(k)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func assertExpired(t *testing.T, err error) {
	t.Helper()
	if forgelink.ErrorCode(err) != forgelink.EEXPIRED || forgelink.ErrorMessage(err) != expiredMessage {
		t.Fatalf("err = %v, want EEXPIRED with the one message", err)
	}
}

func TestNewKeySize(t *testing.T) {
	for _, n := range []int{0, 16, 31} {
		if _, err := New(make([]byte, n)); err == nil {
			t.Errorf("New with a %d-byte key: no error", n)
		}
	}
	mustNew(t, make([]byte, 64))
}

func TestRoundtrip(t *testing.T) {
	s := mustNew(t, key)
	tok, err := s.Seal(in, t0, 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(tok, "+/=") || strings.Contains(tok, "verifier") {
		t.Errorf("token %q is not opaque base64url", tok)
	}
	var out state
	if err := s.Open(tok, t0.Add(9*time.Minute), &out); err != nil {
		t.Fatal(err)
	}
	if out != in {
		t.Errorf("Open = %+v, want %+v", out, in)
	}
	tok2, _ := s.Seal(in, t0, 10*time.Minute)
	if tok2 == tok {
		t.Error("two seals of the same value are equal (nonce reused?)")
	}
}

func TestOpenRefuses(t *testing.T) {
	s := mustNew(t, key)
	tok, _ := s.Seal(in, t0, 10*time.Minute)
	tests := []struct {
		name  string
		token string
		s     *Sealer
		now   time.Time
	}{
		{"expired at exp", tok, s, t0.Add(10 * time.Minute)},
		{"expired later", tok, s, t0.Add(time.Hour)},
		{"wrong key", tok, mustNew(t, other), t0},
		{"empty", "", s, t0},
		{"truncated", tok[:len(tok)-1], s, t0},
		{"short", tok[:10], s, t0},
		{"not base64", "!!" + tok, s, t0},
		{"padded", tok + "=", s, t0},
		{"oversize", strings.Repeat("A", MaxTokenSize+1), s, t0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out state
			assertExpired(t, tt.s.Open(tt.token, tt.now, &out))
		})
	}
}

func TestOpenTamperEveryByte(t *testing.T) {
	s := mustNew(t, key)
	tok, _ := s.Seal(in, t0, 10*time.Minute)
	raw, _ := base64.RawURLEncoding.DecodeString(tok)
	for i := range raw {
		for _, flip := range []byte{0x01, 0x80, 0xff} {
			b := bytes.Clone(raw)
			b[i] ^= flip
			var out state
			err := s.Open(base64.RawURLEncoding.EncodeToString(b), t0, &out)
			if forgelink.ErrorCode(err) != forgelink.EEXPIRED {
				t.Fatalf("byte %d ^ %#x: err = %v", i, flip, err)
			}
		}
	}
}

func TestOpenWrongShape(t *testing.T) {
	s := mustNew(t, key)
	tok, _ := s.Seal("a string", t0, time.Minute)
	var out state
	assertExpired(t, s.Open(tok, t0, &out))
}

func TestSealTooLarge(t *testing.T) {
	s := mustNew(t, key)
	if _, err := s.Seal(strings.Repeat("x", MaxTokenSize), t0, time.Minute); err == nil {
		t.Error("Seal of a 4 KiB value: no error")
	}
}

func TestMAC(t *testing.T) {
	s := mustNew(t, key)
	a := s.MAC("csrf", "session-1")
	tests := []struct {
		name string
		b    string
		eq   bool
	}{
		{"same", s.MAC("csrf", "session-1"), true},
		{"other msg", s.MAC("csrf", "session-2"), false},
		{"other purpose", s.MAC("csrf2", "session-1"), false},
		{"shifted boundary", s.MAC("csr", "fsession-1"), false},
		{"other key", mustNew(t, other).MAC("csrf", "session-1"), false},
		{"empty", "", false},
		{"prefix", a[:10], false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Equal(a, tt.b); got != tt.eq {
				t.Errorf("Equal(%q, %q) = %v, want %v", a, tt.b, got, tt.eq)
			}
		})
	}
	if _, err := base64.RawURLEncoding.DecodeString(a); err != nil || len(a) != 43 {
		t.Errorf("MAC %q is not 32 bytes of base64url", a)
	}
}

// FuzzOpen checks that Open never panics and that anything it accepts was sealed by us,
// with the current or the previous key: random input must fail with EEXPIRED.
func FuzzOpen(f *testing.F) {
	s := mustNewRotated(f, key, previous)
	tok, _ := s.Seal(in, t0, time.Minute)
	old, _ := mustNew(f, previous).Seal(in, t0, time.Minute)
	foreign, _ := mustNew(f, other).Seal(in, t0, time.Minute)
	f.Add(tok)
	f.Add(old)
	f.Add(foreign)
	f.Add("")
	f.Add(tok[:20])
	f.Add(strings.Repeat("_", 100))
	f.Fuzz(func(t *testing.T, token string) {
		var out state
		err := s.Open(token, t0, &out)
		// The seed tokens differ per fuzz process (random nonce), so compare the value.
		if err == nil && out != in {
			t.Fatalf("Open accepted a token we did not seal: %q", token)
		}
		if err != nil && forgelink.ErrorCode(err) != forgelink.EEXPIRED {
			t.Fatalf("err = %v, want EEXPIRED", err)
		}
	})
}

// FuzzVerifyMAC checks that VerifyMAC accepts exactly the MACs of the current and the
// previous key.
func FuzzVerifyMAC(f *testing.F) {
	s := mustNewRotated(f, key, previous)
	cur, prev := mustNew(f, key), mustNew(f, previous)
	f.Add("csrf", "session-1", cur.MAC("csrf", "session-1"))
	f.Add("csrf", "session-1", prev.MAC("csrf", "session-1"))
	f.Add("csrf", "session-1", mustNew(f, other).MAC("csrf", "session-1"))
	f.Add("", "", "")
	f.Fuzz(func(t *testing.T, purpose, msg, mac string) {
		want := mac == cur.MAC(purpose, msg) || mac == prev.MAC(purpose, msg)
		if got := s.VerifyMAC(purpose, msg, mac); got != want {
			t.Fatalf("VerifyMAC(%q, %q, %q) = %v, want %v", purpose, msg, mac, got, want)
		}
	})
}

func BenchmarkSealOpen(b *testing.B) {
	s := mustNew(b, key)
	for b.Loop() {
		tok, err := s.Seal(in, t0, 10*time.Minute)
		if err != nil {
			b.Fatal(err)
		}
		var out state
		if err := s.Open(tok, t0, &out); err != nil {
			b.Fatal(err)
		}
	}
}

// TestSealPlaintextFormat pins Seal's hand-written plaintext to json.Marshal(envelope),
// the format Open reads (and that tokens sealed before it was hand-written used).
func TestSealPlaintextFormat(t *testing.T) {
	s := mustNew(t, key)
	for _, v := range []any{in, "a string", map[string]any{"k": []int{1, 2}, "h": "<&>"}, nil} {
		tok, err := s.Seal(v, t0, 10*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := base64.RawURLEncoding.DecodeString(tok)
		aead := s.keys[0].aead
		ns := aead.NonceSize()
		plain, err := aead.Open(nil, raw[:ns], raw[ns:], []byte(sealInfo))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := json.Marshal(v)
		want, _ := json.Marshal(envelope{Exp: t0.Add(10 * time.Minute).UnixMilli(), V: body})
		if !bytes.Equal(plain, want) {
			t.Errorf("plaintext %s, want %s", plain, want)
		}
	}
}
