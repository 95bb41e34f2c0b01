package app

import (
	"strings"
	"testing"
	"time"

	"github.com/forgelink/forgelink/shared/statecookie"
)

const (
	keyA = "aaaaaaaa-first-cookie-key-0123456789abcdef"
	keyB = "bbbbbbbb-second-cookie-key-0123456789abcdef"
)

func TestParseCookieKeySecret(t *testing.T) {
	tests := []struct {
		name, in       string
		current, prior string
		ok             bool
	}{
		{"key only", `{"key":"` + keyA + `"}`, keyA, "", true},
		{"rotation", `{"key":"` + keyB + `","previous":"` + keyA + `"}`, keyB, keyA, true},
		{"short key", `{"key":"short"}`, "", "", false},
		{"short previous", `{"key":"` + keyB + `","previous":"short"}`, "", "", false},
		{"no key", `{"previous":"` + keyA + `"}`, "", "", false},
		{"duplicate key", `{"key":"` + keyA + `","key":"` + keyB + `"}`, "", "", false},
		{"key in another case", `{"Key":"` + keyA + `"}`, "", "", false},
		{"typo", `{"key":"` + keyB + `","prevous":"` + keyA + `"}`, "", "", false},
		{"not JSON", keyA, "", "", false},
		{"array", `["` + keyA + `"]`, "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseCookieKeySecret(tt.in)
			if (err == nil) != tt.ok {
				t.Fatalf("err = %v, want ok %t", err, tt.ok)
			}
			if err != nil {
				if strings.Contains(err.Error(), keyA) || strings.Contains(err.Error(), keyB) {
					t.Errorf("the error shows a key: %v", err)
				}
				return
			}
			if string(got.Current) != tt.current || string(got.Previous) != tt.prior {
				t.Errorf("got %q / %q", got.Current, got.Previous)
			}
		})
	}
}

// TestCookieKeyRotationKeepsTokens: what the old key sealed and signed (pending sign-ins,
// CSRF tokens) opens after one rotation, as the secret describes it, and not after two.
func TestCookieKeyRotationKeepsTokens(t *testing.T) {
	now := time.Now()
	before, _ := ParseCookieKeySecret(`{"key":"` + keyA + `"}`)
	old, err := statecookie.New(before.Current, before.Previous)
	if err != nil {
		t.Fatal(err)
	}
	sealed, _ := old.Seal("pending sign-in", now, 10*time.Minute)
	csrf := old.MAC("csrf", "session-1")

	after, _ := ParseCookieKeySecret(`{"key":"` + keyB + `","previous":"` + keyA + `"}`)
	rotated, err := statecookie.New(after.Current, after.Previous)
	if err != nil {
		t.Fatal(err)
	}
	var v string
	if err := rotated.Open(sealed, now.Add(time.Minute), &v); err != nil || v != "pending sign-in" {
		t.Errorf("pending sign-in after rotation: %q, %v", v, err)
	}
	if !rotated.VerifyMAC("csrf", "session-1", csrf) {
		t.Error("CSRF token of the previous key refused after rotation")
	}
	dropped, _ := statecookie.New(after.Current)
	if dropped.VerifyMAC("csrf", "session-1", csrf) || dropped.Open(sealed, now, &v) == nil {
		t.Error("the old key still works after the previous key was dropped")
	}
}

// FuzzParseCookieKeySecret: any secret value either parses into keys of at least
// MinCookieKeyLength bytes or fails without showing its content.
func FuzzParseCookieKeySecret(f *testing.F) {
	for _, s := range []string{`{"key":"` + keyA + `"}`, `{"key":"` + keyB + `","previous":"` + keyA + `"}`,
		`{"key":"x","key":"y"}`, `{"KEY":"` + keyA + `"}`, `{"key":` + strings.Repeat("[", 100), "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		keys, err := ParseCookieKeySecret(s)
		if err != nil {
			if len(s) >= 8 && strings.Contains(err.Error(), s) {
				t.Errorf("error shows the input: %v", err)
			}
			return
		}
		if len(keys.Current) < MinCookieKeyLength || (keys.Previous != nil && len(keys.Previous) < MinCookieKeyLength) {
			t.Errorf("short key accepted: %q", s)
		}
		if _, err := statecookie.New(keys.Current, keys.Previous); err != nil {
			t.Errorf("keys do not make a sealer: %v", err)
		}
	})
}
