package gitlab

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/forgelink/forgelink/shared/forgelink"
)

// serveUser runs a GitLab whose /api/v4/user answers body, and returns a client for it.
func serveUser(t *testing.T, body string) (*Client, forgelink.Integration) {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return clientFor(srv.URL), forgelink.Integration{URL: srv.URL, ClientID: appID}
}

// userJSON is a /api/v4/user answer for alice with the given fields changed.
func userJSON(t *testing.T, change map[string]any) string {
	t.Helper()
	u := map[string]any{"id": 42, "username": "alice", "name": "Alice", "email": "alice@example.com",
		"state": "active", "avatar_url": "https://gitlab.example.com/uploads/a.png", "web_url": "https://gitlab.example.com/alice"}
	for k, v := range change {
		u[k] = v
	}
	b, err := json.Marshal(u)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestUserHostileProfileIsBounded: a profile over GitLab's own limits never reaches the
// session. Display-only fields are cut (name) or dropped (avatar_url); fields that
// identify or reach the person are refused with ErrUnexpectedAnswer.
func TestUserHostileProfileIsBounded(t *testing.T) {
	long := func(s string, n int) string { return strings.Repeat(s, n) }
	tests := []struct {
		name   string
		change map[string]any
		field  string // refused field; "" = accepted
		check  func(t *testing.T, u forgelink.GitLabUser)
	}{
		{"900 KB name is cut", map[string]any{"name": long("A", 900<<10)}, "", func(t *testing.T, u forgelink.GitLabUser) {
			if u.Name != long("A", MaxNameLength) {
				t.Errorf("name has %d bytes, want %d", len(u.Name), MaxNameLength)
			}
		}},
		{"multi-byte name is cut on a rune", map[string]any{"name": long("é", 300) + "x"}, "", func(t *testing.T, u forgelink.GitLabUser) {
			if !utf8.ValidString(u.Name) || utf8.RuneCountInString(u.Name) != MaxNameLength || u.Name != long("é", MaxNameLength) {
				t.Errorf("name = %q (%d runes)", u.Name, utf8.RuneCountInString(u.Name))
			}
		}},
		{"255-rune name kept", map[string]any{"name": long("😀", 255)}, "", func(t *testing.T, u forgelink.GitLabUser) {
			if u.Name != long("😀", 255) {
				t.Errorf("name changed: %d runes", utf8.RuneCountInString(u.Name))
			}
		}},
		{"long avatar dropped", map[string]any{"avatar_url": "https://x/" + long("a", MaxAvatarURLLength)}, "", func(t *testing.T, u forgelink.GitLabUser) {
			if u.AvatarURL != "" {
				t.Errorf("avatar_url kept (%d bytes)", len(u.AvatarURL))
			}
		}},
		{"javascript avatar dropped", map[string]any{"avatar_url": "javascript:alert(1)"}, "", func(t *testing.T, u forgelink.GitLabUser) {
			if u.AvatarURL != "" {
				t.Errorf("avatar_url = %q", u.AvatarURL)
			}
		}},
		{"legacy username kept", map[string]any{"username": "_old.name-1"}, "", func(t *testing.T, u forgelink.GitLabUser) {
			if u.Username != "_old.name-1" {
				t.Errorf("username = %q", u.Username)
			}
		}},
		{"other state kept", map[string]any{"state": "blocked_pending_approval"}, "", func(t *testing.T, u forgelink.GitLabUser) {
			if u.State != "blocked_pending_approval" {
				t.Errorf("state = %q", u.State)
			}
		}},
		{"255-byte email kept", map[string]any{"email": long("a", 243) + "@example.com"}, "", nil},

		{"300 KB username", map[string]any{"username": long("a", 300<<10)}, "username", nil},
		{"256-byte username", map[string]any{"username": long("a", MaxUsernameLength+1)}, "username", nil},
		{"username with space", map[string]any{"username": "al ice"}, "username", nil},
		{"username with markup", map[string]any{"username": "<b>alice</b>"}, "username", nil},
		{"username with newline", map[string]any{"username": "alice\nroot"}, "username", nil},
		{"username with non-ASCII", map[string]any{"username": "ålice"}, "username", nil},
		{"username starting with dash", map[string]any{"username": "-alice"}, "username", nil},
		{"empty username", map[string]any{"username": ""}, "username", nil},
		{"256-byte email", map[string]any{"email": long("a", 244) + "@example.com"}, "email", nil},
		{"email with newline", map[string]any{"email": "alice@example.com\nBcc: x"}, "email", nil},
		{"long state", map[string]any{"state": "active" + long("x", 100)}, "state", nil},
		{"state with markup", map[string]any{"state": "<b>active</b>"}, "state", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, in := serveUser(t, userJSON(t, tt.change))
			u, err := c.User(context.Background(), in, accessToken)
			if tt.field == "" {
				if err != nil {
					t.Fatalf("User: %v", err)
				}
				if tt.check != nil {
					tt.check(t, u)
				}
				return
			}
			var pe *ProfileError
			if !errors.Is(err, ErrUnexpectedAnswer) || !errors.As(err, &pe) || pe.Field != tt.field {
				t.Fatalf("User = %+v, %v; want a ProfileError on %s", u, err, tt.field)
			}
			if forgelink.ErrorCode(err) != forgelink.EUPSTREAM || !strings.Contains(forgelink.ErrorMessage(err), tt.field) {
				t.Errorf("message %q (code %s) does not name %s", forgelink.ErrorMessage(err), forgelink.ErrorCode(err), tt.field)
			}
			if len(forgelink.ErrorMessage(err)) > 300 {
				t.Errorf("message echoes the hostile value: %d bytes", len(forgelink.ErrorMessage(err)))
			}
		})
	}
}

// TestUserBodyIsBounded: an answer over MaxResponseBody is refused as such, not read on.
func TestUserBodyIsBounded(t *testing.T) {
	c, in := serveUser(t, userJSON(t, map[string]any{"bio": strings.Repeat("b", MaxResponseBody)}))
	_, err := c.User(context.Background(), in, accessToken)
	if !errors.Is(err, ErrUnexpectedAnswer) || forgelink.ErrorCode(err) != forgelink.EUPSTREAM {
		t.Fatalf("User with a %d-byte answer: %v", MaxResponseBody, err)
	}
}

// TestUserInsufficientScope: a token without read_user is a setup problem, not a retry.
func TestUserInsufficientScope(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="Protected by OAuth 2.0", error="insufficient_scope"`)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		io.WriteString(w, `{"error":"insufficient_scope"}`)
	}))
	t.Cleanup(srv.Close)
	_, err := clientFor(srv.URL).User(context.Background(), forgelink.Integration{URL: srv.URL}, accessToken)
	if !errors.Is(err, ErrInsufficientScope) || forgelink.ErrorCode(err) != forgelink.EUPSTREAM {
		t.Fatalf("err = %v", err)
	}
}
