package gitlab

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/forgelink/forgelink/infra/fakegitlab"
	"github.com/forgelink/forgelink/shared/forgelink"
)

// TestIsConfidentialAgainstFakeGitLab runs both checks of a Save against the fake GitLab,
// which authenticates clients as Doorkeeper does: a Confidential application needs its
// secret, one that is not is known by its client_id alone.
func TestIsConfidentialAgainstFakeGitLab(t *testing.T) {
	gl := fakegitlab.New(fakegitlab.Options{})
	base, err := gl.Start("127.0.0.1:0", false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { gl.Close() })
	c, in := clientFor(base), forgelink.Integration{URL: base}

	for _, confidential := range []bool{true, false} {
		app := gl.CreateApplication("forgelink", redirectURL, []string{"api", "read_user"}, confidential, false)
		if err := c.CheckCredentials(context.Background(), in, app.UID, app.Secret, redirectURL); err != nil {
			t.Errorf("confidential=%v: CheckCredentials = %v, want the pair accepted", confidential, err)
		}
		if err := c.CheckCredentials(context.Background(), in, app.UID, "gloas-wrong", redirectURL); forgelink.ErrorCode(err) != forgelink.EINVALID {
			t.Errorf("confidential=%v: a wrong secret = %v, want EINVALID", confidential, err)
		}
		got, err := c.IsConfidential(context.Background(), in, app.UID, redirectURL)
		if err != nil || got != confidential {
			t.Errorf("confidential=%v: IsConfidential = %v, %v", confidential, got, err)
		}
	}
}

// tokenRecorder answers the token endpoint with a fixed answer and keeps what it was sent.
type tokenRecorder struct {
	mu     sync.Mutex
	forms  []url.Values
	auth   []string
	answer func(w http.ResponseWriter)
}

func (rec *tokenRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	rec.mu.Lock()
	rec.forms = append(rec.forms, r.PostForm)
	rec.auth = append(rec.auth, r.Header.Get("Authorization"))
	rec.mu.Unlock()
	rec.answer(w)
}

func oauthAnswer(status int, code string) func(http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": "described"})
	}
}

// TestIsConfidentialSendsNoSecret: the probe's request names the client and carries a
// code and a PKCE verifier, but no client_secret parameter and no Authorization header
// (not even an empty one): GitLab must see a client without credentials.
func TestIsConfidentialSendsNoSecret(t *testing.T) {
	rec := &tokenRecorder{answer: oauthAnswer(http.StatusBadRequest, "invalid_grant")}
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	got, err := clientFor(srv.URL).IsConfidential(context.Background(), forgelink.Integration{URL: srv.URL}, appID, redirectURL)
	if err != nil || got {
		t.Fatalf("IsConfidential = %v, %v; want false (invalid_grant without a secret)", got, err)
	}
	if len(rec.forms) != 1 {
		t.Fatalf("%d token requests, want 1 (no retry in another auth style)", len(rec.forms))
	}
	form := rec.forms[0]
	if _, sent := form["client_secret"]; sent {
		t.Errorf("the probe sent client_secret=%q", form.Get("client_secret"))
	}
	if rec.auth[0] != "" {
		t.Errorf("the probe sent Authorization %q", rec.auth[0])
	}
	for _, k := range []string{"client_id", "code", "code_verifier", "redirect_uri", "grant_type"} {
		if form.Get(k) == "" {
			t.Errorf("the probe sent no %s: %v", k, form)
		}
	}
	if form.Get("client_id") != appID || form.Get("redirect_uri") != redirectURL || form.Get("grant_type") != "authorization_code" {
		t.Errorf("the probe sent %v", form)
	}
}

// TestIsConfidentialAnswers: invalid_client and invalid_grant are the two answers; every
// other outcome is an error that names the server and nothing of the request.
func TestIsConfidentialAnswers(t *testing.T) {
	tests := []struct {
		name   string
		answer func(http.ResponseWriter)
		want   bool
		msg    string // "" = no error
	}{
		{"confidential", oauthAnswer(http.StatusUnauthorized, "invalid_client"), true, ""},
		{"public", oauthAnswer(http.StatusBadRequest, "invalid_grant"), false, ""},
		{"unauthorized_client", oauthAnswer(http.StatusBadRequest, "unauthorized_client"), false, "refused the request (unauthorized_client)"},
		{"invalid_request", oauthAnswer(http.StatusBadRequest, "invalid_request"), false, "refused the request (invalid_request)"},
		{"500", func(w http.ResponseWriter) { http.Error(w, "boom", http.StatusInternalServerError) }, false, "server error"},
		{"html", func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "text/html")
			io.WriteString(w, "<html>nginx</html>")
		}, false, "does not look like a GitLab server"},
		{"token for a made-up code", func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"access_token":"x","token_type":"Bearer"}`)
		}, false, "accepted a made-up sign-in code"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(&tokenRecorder{answer: tt.answer})
			t.Cleanup(srv.Close)
			got, err := clientFor(srv.URL).IsConfidential(context.Background(), forgelink.Integration{URL: srv.URL}, appID, redirectURL)
			assertClean(t, err)
			if got != tt.want {
				t.Errorf("IsConfidential = %v, want %v", got, tt.want)
			}
			switch {
			case tt.msg == "" && err != nil:
				t.Errorf("err = %v, want none", err)
			case tt.msg != "" && (forgelink.ErrorCode(err) != forgelink.EUPSTREAM || !strings.Contains(forgelink.ErrorMessage(err), tt.msg)):
				t.Errorf("err = %v, want EUPSTREAM containing %q", err, tt.msg)
			}
		})
	}
}

func TestIsConfidentialUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + l.Addr().String()
	l.Close()
	_, err = clientFor(base).IsConfidential(context.Background(), forgelink.Integration{URL: base}, appID, redirectURL)
	if forgelink.ErrorCode(err) != forgelink.EUPSTREAM || !errors.Is(err, ErrUnreachable) {
		t.Fatalf("err = %v, want EUPSTREAM ErrUnreachable", err)
	}
	if _, err := clientFor(base).IsConfidential(context.Background(), forgelink.Integration{URL: base}, " ", redirectURL); forgelink.ErrorCode(err) != forgelink.EINVALID {
		t.Errorf("empty client id: %v, want EINVALID", err)
	}
}
