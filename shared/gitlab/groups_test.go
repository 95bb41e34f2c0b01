package gitlab

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/forgelink/forgelink/shared/forgelink"
	"github.com/forgelink/forgelink/shared/netguard"
)

// groupGitLab answers GET /api/v4/groups/{path}/members/all/{id} as GitLab does, with
// a fault per mode; it records the raw request path.
func groupGitLab(t *testing.T, mode string, seen *atomic.Value) http.Handler {
	t.Helper()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.Store(r.URL.EscapedPath())
		json := func(status int, body string) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			io.WriteString(w, body)
		}
		if r.Header.Get("Authorization") != "Bearer "+accessToken {
			json(http.StatusUnauthorized, `{"message":"401 Unauthorized"}`)
			return
		}
		switch mode {
		case "member":
			json(200, `{"id":42,"username":"alice","name":"Alice","state":"active","access_level":40,"expires_at":null,"membership_state":"active"}`)
		case "no-state":
			json(200, `{"id":42,"username":"alice","access_level":30}`)
		case "awaiting":
			json(200, `{"id":42,"username":"alice","access_level":30,"membership_state":"awaiting"}`)
		case "not-member":
			json(404, `{"message":"404 Not found"}`)
		case "scope-403":
			w.Header().Set("WWW-Authenticate", `Bearer realm="Protected by OAuth 2.0", error="insufficient_scope", error_description="The request requires higher privileges than provided by the access token.", scope="api read_api"`)
			json(403, `{"error":"insufficient_scope","error_description":"The request requires higher privileges than provided by the access token.","scope":"api read_api"}`)
		case "scope-401":
			w.Header().Set("WWW-Authenticate", `Bearer realm="Protected by OAuth 2.0", error="insufficient_scope"`)
			json(401, `{"error":"insufficient_scope"}`)
		case "revoked":
			json(401, `{"error":"invalid_token","error_description":"Token was revoked. You have to re-authorize from the user."}`)
		case "forbidden":
			json(403, `{"message":"403 Forbidden"}`)
		case "500":
			json(500, `{"message":"500 Internal Server Error"}`)
		case "malformed":
			json(200, `{"id":42,"access_level":`)
		case "html":
			w.Header().Set("Content-Type", "text/html")
			io.WriteString(w, "<html>sign in</html>")
		case "other-user":
			json(200, `{"id":7,"username":"bob","access_level":50}`)
		case "no-level":
			json(200, `{"id":42,"username":"alice"}`)
		case "bad-level":
			json(200, `{"id":42,"username":"alice","access_level":1000000}`)
		case "huge":
			json(200, `{"id":42,"access_level":40,"bio":"`+strings.Repeat("b", MaxResponseBody)+`"}`)
		case "slow":
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		}
	})
}

func startGroups(t *testing.T, mode string) (*Client, forgelink.Integration, *atomic.Value) {
	t.Helper()
	seen := &atomic.Value{}
	srv := httptest.NewServer(groupGitLab(t, mode, seen))
	t.Cleanup(srv.Close)
	return clientFor(srv.URL), forgelink.Integration{URL: srv.URL + "/gitlab", ClientID: appID}, seen
}

func TestGroupAccessLevel(t *testing.T) {
	tests := []struct {
		mode     string
		token    string
		want     int
		wantKind error // nil = success
	}{
		{"member", accessToken, 40, nil},
		{"no-state", accessToken, 30, nil},
		{"awaiting", accessToken, 0, nil},
		{"not-member", accessToken, 0, nil},
		{"scope-403", accessToken, 0, ErrInsufficientScope},
		{"scope-401", accessToken, 0, ErrInsufficientScope},
		{"revoked", accessToken, 0, ErrTokenRejected},
		{"member", "other-token", 0, ErrTokenRejected},
		{"forbidden", accessToken, 0, ErrUnexpectedAnswer},
		{"500", accessToken, 0, ErrUnexpectedAnswer},
		{"malformed", accessToken, 0, ErrUnexpectedAnswer},
		{"html", accessToken, 0, ErrUnexpectedAnswer},
		{"other-user", accessToken, 0, ErrUnexpectedAnswer},
		{"no-level", accessToken, 0, ErrUnexpectedAnswer},
		{"bad-level", accessToken, 0, ErrUnexpectedAnswer},
		{"huge", accessToken, 0, ErrUnexpectedAnswer},
	}
	for _, tt := range tests {
		t.Run(tt.mode+"/"+tt.token, func(t *testing.T) {
			c, in, seen := startGroups(t, tt.mode)
			level, err := c.GroupAccessLevel(context.Background(), in, tt.token, "eng/platform", 42)
			assertClean(t, err)
			if got, _ := seen.Load().(string); got != "/gitlab/api/v4/groups/eng%2Fplatform/members/all/42" {
				t.Errorf("request path = %q", got)
			}
			if tt.wantKind == nil {
				if err != nil || level != tt.want {
					t.Fatalf("GroupAccessLevel = %d, %v; want %d", level, err, tt.want)
				}
				return
			}
			if !errors.Is(err, tt.wantKind) || forgelink.ErrorCode(err) != forgelink.EUPSTREAM || level != 0 {
				t.Fatalf("GroupAccessLevel = %d, %v; want EUPSTREAM matching %v", level, err, tt.wantKind)
			}
			if !strings.Contains(forgelink.ErrorMessage(err), in.URL) {
				t.Errorf("message %q does not name %s", forgelink.ErrorMessage(err), in.URL)
			}
		})
	}
}

func TestGroupAccessLevelInsufficientScopeSaysWhatToFix(t *testing.T) {
	c, in, _ := startGroups(t, "scope-403")
	_, err := c.GroupAccessLevel(context.Background(), in, accessToken, "eng", 42)
	if msg := forgelink.ErrorMessage(err); !strings.Contains(msg, "api scope") || !strings.Contains(msg, "admin") {
		t.Errorf("message %q does not say an admin must add the api scope", msg)
	}
}

func TestGroupAccessLevelHonoursDeadline(t *testing.T) {
	c, in, _ := startGroups(t, "slow")
	c.Timeout = 5 * time.Second // the context, not the client, must stop the call
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	begin := time.Now()
	_, err := c.GroupAccessLevel(ctx, in, accessToken, "eng", 42)
	if !errors.Is(err, ErrUnreachable) || forgelink.ErrorCode(err) != forgelink.EUPSTREAM {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(begin); d > 2*time.Second {
		t.Errorf("took %v", d)
	}
}

func TestGroupAccessLevelRefusesBadInput(t *testing.T) {
	c, in, seen := startGroups(t, "member")
	for _, tt := range []struct {
		group string
		user  int64
	}{
		{"", 42}, {"eng/../ops", 42}, {"eng//x", 42}, {"/eng", 42}, {"eng/", 42}, {"-eng", 42},
		{"eng?x=1", 42}, {"eng#x", 42}, {"eng%2Fx", 42}, {"é", 42}, {strings.Repeat("a", 256), 42},
		{strings.Repeat("a/", 20) + "a", 42}, {"eng", 0}, {"eng", -1},
	} {
		if _, err := c.GroupAccessLevel(context.Background(), in, accessToken, tt.group, tt.user); forgelink.ErrorCode(err) != forgelink.EINVALID {
			t.Errorf("GroupAccessLevel(%q, %d) = %v, want EINVALID", tt.group, tt.user, err)
		}
	}
	if seen.Load() != nil {
		t.Errorf("a request was made: %v", seen.Load())
	}
}

func TestGroupAccessLevelThroughGuard(t *testing.T) {
	_, in, _ := startGroups(t, "member")
	c := &Client{Timeout: 2 * time.Second} // no allow-list: 127.0.0.1 is loopback
	_, err := c.GroupAccessLevel(context.Background(), in, accessToken, "eng", 42)
	if !errors.Is(err, netguard.ErrRefused) || forgelink.ErrorCode(err) != forgelink.EUPSTREAM {
		t.Fatalf("err = %v", err)
	}
	var re *netguard.RefusedError
	if !errors.As(err, &re) || re.Reason != "loopback" {
		t.Errorf("the detailed cause is not in the chain: %v", err)
	}
	if msg := forgelink.ErrorMessage(err); strings.Contains(msg, "loopback") {
		t.Errorf("message %q says more than that the address is not allowed", msg)
	}
}

func TestValidGroupPath(t *testing.T) {
	for p, ok := range map[string]bool{
		"eng": true, "eng/platform": true, "a.b_c-d/x1": true, "_legacy": true,
		"": false, "eng/": false, "/eng": false, "eng//x": false, "..": false, "eng/./x": false,
		"-x": false, "a b": false, "a%2Fb": false, "ü": false,
	} {
		if got := ValidGroupPath(p); got != ok {
			t.Errorf("ValidGroupPath(%q) = %v, want %v", p, got, ok)
		}
	}
}

// FuzzDecodeMember checks that whatever GitLab answers, decodeMember never panics and
// returns a sane access level only for the user asked about.
func FuzzDecodeMember(f *testing.F) {
	f.Add([]byte(`{"id":42,"access_level":40}`), int64(42))
	f.Add([]byte(`{"id":42,"access_level":30,"membership_state":"awaiting"}`), int64(42))
	f.Add([]byte(`{"id":7,"access_level":50}`), int64(42))
	f.Add([]byte(`{"id":42,"access_level":-1}`), int64(42))
	f.Add([]byte(`{"id":42,"access_level":"40"}`), int64(42))
	f.Add([]byte(`[{"id":42,"access_level":40}]`), int64(42))
	f.Fuzz(func(t *testing.T, body []byte, userID int64) {
		level, err := decodeMember(body, userID)
		if err != nil && level != 0 {
			t.Fatalf("decodeMember(%q) = %d with error %v", body, level, err)
		}
		if level < 0 || level > MaxAccessLevel {
			t.Fatalf("decodeMember(%q) = %d, out of range", body, level)
		}
	})
}
