package fakegitlab

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

func TestAuthorizationCodeFlowWithPKCE(t *testing.T) {
	s, base := start(t, Options{})
	app := s.CreateApplication("forgelink", testCallback, []string{"api", "read_user"}, true, false)
	cfg := oauthConfig(base, app, "read_user")
	ctx := context.Background()

	code, verifier := code(t, base, cfg, "alice")
	tok, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	if tok.TokenType != "Bearer" || tok.RefreshToken == "" || tok.Extra("scope") != "read_user" {
		t.Fatalf("token: %+v scope=%v", tok, tok.Extra("scope"))
	}
	if ei, _ := tok.Extra("expires_in").(float64); ei != 7200 {
		t.Fatalf("expires_in = %v", tok.Extra("expires_in"))
	}
	if ca, _ := tok.Extra("created_at").(float64); ca == 0 {
		t.Fatal("created_at missing")
	}
	if tok.Extra("id_token") != nil {
		t.Fatal("id_token without openid scope")
	}

	status, user := apiGet(t, base+"/api/v4/user", tok.AccessToken)
	if status != 200 || user["username"] != "alice" || user["id"] != float64(2) || user["email"] != "alice@example.com" ||
		user["name"] != "Alice Liddell" || user["state"] != "active" || user["web_url"] != base+"/alice" {
		t.Fatalf("/api/v4/user: %d %v", status, user)
	}
	if av, _ := user["avatar_url"].(string); !strings.HasPrefix(av, base+"/") {
		t.Fatalf("avatar_url %q should be served locally", av)
	} else if p := get(t, http.DefaultClient, av); p.Status != 200 {
		t.Fatalf("avatar: %d", p.Status)
	}
	if status, v := apiGet(t, base+"/api/v4/version", tok.AccessToken); status != 200 || v["version"] != Version {
		t.Fatalf("version: %d %v", status, v)
	}
	if status, _ := apiGet(t, base+"/api/v4/version", ""); status != 401 {
		t.Fatalf("version without token: %d", status)
	}

	// Second sign-in for the same confidential app and scopes: no consent.
	c := browser(t)
	get(t, c, base+"/users/sign_in")
	if p := do(t, c, http.MethodPost, base+"/users/sign_in", url.Values{"user[login]": {"alice@example.com"}, "user[password]": {"password"}}); p.Status != 302 {
		t.Fatalf("sign-in by e-mail: %d", p.Status)
	}
	p := get(t, c, cfg.AuthCodeURL("again"))
	if p.Status != 302 || !strings.HasPrefix(p.Location, testCallback+"?code=") {
		t.Fatalf("matching token should skip consent: %d %q", p.Status, p.Location)
	}
}

func TestCodeIsSingleUseAndBound(t *testing.T) {
	s, base := start(t, Options{})
	app := s.CreateApplication("app", testCallback+"\nhttp://127.0.0.1:1/other", []string{"read_user"}, true, false)
	other := s.CreateApplication("other", testCallback, []string{"read_user"}, true, false)
	cfg := oauthConfig(base, app, "read_user")
	ctx := context.Background()

	t.Run("reuse", func(t *testing.T) {
		c, v := code(t, base, cfg, "alice")
		if _, err := cfg.Exchange(ctx, c, oauth2.VerifierOption(v)); err != nil {
			t.Fatal(err)
		}
		_, err := cfg.Exchange(ctx, c, oauth2.VerifierOption(v))
		if re := retrieveErr(t, err); re.ErrorCode != "invalid_grant" || re.Response.StatusCode != 400 ||
			!strings.HasPrefix(re.ErrorDescription, "The provided authorization grant is invalid") {
			t.Fatalf("reuse: %v", re)
		}
	})
	t.Run("wrong verifier", func(t *testing.T) {
		c, _ := code(t, base, cfg, "alice")
		_, err := cfg.Exchange(ctx, c, oauth2.VerifierOption(oauth2.GenerateVerifier()))
		if re := retrieveErr(t, err); re.ErrorCode != "invalid_grant" {
			t.Fatalf("%v", re)
		}
	})
	t.Run("missing verifier", func(t *testing.T) {
		c, _ := code(t, base, cfg, "alice")
		_, err := cfg.Exchange(ctx, c)
		// Doorkeeper reports the absent parameter rather than a bad grant.
		if re := retrieveErr(t, err); re.ErrorCode != "invalid_request" || re.ErrorDescription != "Missing required parameter: code_verifier." {
			t.Fatalf("%v", re)
		}
	})
	t.Run("plain", func(t *testing.T) {
		u := authorize(t, browser(t), base, cfg.AuthCodeURL("s", oauth2.SetAuthURLParam("code_challenge", "plainverifier-plainverifier-plainverifier-123")), "bob", true)
		if _, err := cfg.Exchange(ctx, u.Query().Get("code"), oauth2.VerifierOption("plainverifier-plainverifier-plainverifier-123")); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("other redirect uri", func(t *testing.T) {
		c, v := code(t, base, cfg, "alice")
		cfg2 := *cfg
		cfg2.RedirectURL = "http://127.0.0.1:1/other"
		_, err := cfg2.Exchange(ctx, c, oauth2.VerifierOption(v))
		if re := retrieveErr(t, err); re.ErrorCode != "invalid_grant" {
			t.Fatalf("%v", re)
		}
	})
	t.Run("other client", func(t *testing.T) {
		c, v := code(t, base, cfg, "alice")
		_, err := oauthConfig(base, other, "read_user").Exchange(ctx, c, oauth2.VerifierOption(v))
		if re := retrieveErr(t, err); re.ErrorCode != "invalid_grant" {
			t.Fatalf("%v", re)
		}
	})
	t.Run("expired", func(t *testing.T) {
		var skew atomic.Int64
		s2, base2 := start(t, Options{Now: func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }})
		app2 := s2.CreateApplication("app", testCallback, []string{"read_user"}, true, false)
		cfg2 := oauthConfig(base2, app2, "read_user")
		c, v := code(t, base2, cfg2, "alice")
		skew.Store(int64(11 * time.Minute))
		_, err := cfg2.Exchange(ctx, c, oauth2.VerifierOption(v))
		if re := retrieveErr(t, err); re.ErrorCode != "invalid_grant" {
			t.Fatalf("%v", re)
		}
	})
}

// TestCredentialCheck is the probe forgelink uses before saving an
// integration: a made-up code tells good credentials from bad ones.
func TestCredentialCheck(t *testing.T) {
	s, base := start(t, Options{})
	app := s.CreateApplication("app", testCallback, []string{"api", "read_user"}, true, false)
	probe := func(id, secret string, basic bool) (int, map[string]string) {
		form := url.Values{"grant_type": {"authorization_code"}, "code": {"dummy"}, "redirect_uri": {testCallback}}
		if !basic {
			form.Set("client_id", id)
			form.Set("client_secret", secret)
		}
		req, _ := http.NewRequest(http.MethodPost, base+"/oauth/token", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if basic {
			req.SetBasicAuth(id, secret)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]string
		json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}
	for _, basic := range []bool{false, true} {
		if st, m := probe(app.UID, app.Secret, basic); st != 400 || m["error"] != "invalid_grant" {
			t.Errorf("good credentials (basic=%v): %d %v", basic, st, m)
		}
		if st, m := probe(app.UID, "wrong", basic); st != 401 || m["error"] != "invalid_client" ||
			m["error_description"] != oauthDescriptions["invalid_client"] {
			t.Errorf("wrong secret (basic=%v): %d %v", basic, st, m)
		}
		if st, m := probe("nope", app.Secret, basic); st != 401 || m["error"] != "invalid_client" {
			t.Errorf("unknown client (basic=%v): %d %v", basic, st, m)
		}
	}
	if st, m := probe("", "", false); st != 401 || m["error"] != "invalid_client" {
		t.Errorf("no credentials: %d %v", st, m)
	}

	post := func(form url.Values) (int, map[string]string) {
		resp, err := http.PostForm(base+"/oauth/token", form)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]string
		json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}
	if st, m := post(url.Values{"grant_type": {"password"}}); st != 400 || m["error"] != "unsupported_grant_type" {
		t.Errorf("password grant: %d %v", st, m)
	}
	if st, m := post(url.Values{"client_id": {app.UID}}); st != 400 || m["error"] != "invalid_request" {
		t.Errorf("no grant_type: %d %v", st, m)
	}
	if st, m := post(url.Values{"grant_type": {"authorization_code"}, "code": {"x"}, "client_id": {app.UID}, "client_secret": {app.Secret}}); st != 400 || m["error"] != "invalid_request" {
		t.Errorf("no redirect_uri: %d %v", st, m)
	}
}

// TestPublicClientWithoutSecret: an application that is not Confidential is
// authenticated by its client_id alone (Doorkeeper's by_uid_and_secret), so a
// token request without a secret reaches the code check: a made-up code is
// invalid_grant, a real one with its PKCE verifier gets a token. The same
// request for a Confidential application is invalid_client; a secret that is
// sent is checked for both.
func TestPublicClientWithoutSecret(t *testing.T) {
	s, base := start(t, Options{})
	public := s.CreateApplication("public", testCallback, []string{"read_user"}, false, false)
	confidential := s.CreateApplication("confidential", testCallback, []string{"read_user"}, true, false)
	probe := func(id string, secret *string, basic bool) (int, string) {
		t.Helper()
		form := url.Values{"grant_type": {"authorization_code"}, "code": {"made-up"}, "redirect_uri": {testCallback},
			"code_verifier": {oauth2.GenerateVerifier()}}
		if !basic {
			form.Set("client_id", id)
			if secret != nil {
				form.Set("client_secret", *secret)
			}
		}
		req, _ := http.NewRequest(http.MethodPost, base+"/oauth/token", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if basic {
			req.SetBasicAuth(id, "")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]string
		json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m["error"]
	}
	wrong, empty := "wrong-secret", ""
	for _, tt := range []struct {
		name   string
		app    Application
		secret *string
		basic  bool
		status int
		error  string
	}{
		{"public, no secret", public, nil, false, 400, "invalid_grant"},
		{"public, empty secret", public, &empty, false, 400, "invalid_grant"},
		{"public, Basic with an empty secret", public, nil, true, 400, "invalid_grant"},
		{"public, its secret", public, &public.Secret, false, 400, "invalid_grant"},
		{"public, a wrong secret", public, &wrong, false, 401, "invalid_client"},
		{"confidential, no secret", confidential, nil, false, 401, "invalid_client"},
		{"confidential, Basic with an empty secret", confidential, nil, true, 401, "invalid_client"},
		{"confidential, its secret", confidential, &confidential.Secret, false, 400, "invalid_grant"},
	} {
		if st, code := probe(tt.app.UID, tt.secret, tt.basic); st != tt.status || code != tt.error {
			t.Errorf("%s: %d %s, want %d %s", tt.name, st, code, tt.status, tt.error)
		}
	}

	// Ticking Confidential on GitLab makes the secret necessary from then on.
	if !s.UpdateApplication(public.UID, func(a *Application) { a.Confidential = true }) || s.UpdateApplication("nope", func(*Application) {}) {
		t.Fatal("UpdateApplication")
	}
	if st, code := probe(public.UID, nil, false); st != 401 || code != "invalid_client" {
		t.Errorf("after ticking Confidential, no secret: %d %s, want 401 invalid_client", st, code)
	}
	s.UpdateApplication(public.UID, func(a *Application) { a.Confidential = false })

	// A real sign-in of the public application: the code and the verifier suffice.
	cfg := oauthConfig(base, public, "read_user")
	cfg.ClientSecret = ""
	c, verifier := code(t, base, cfg, "alice")
	tok, err := cfg.Exchange(context.Background(), c, oauth2.VerifierOption(verifier))
	if err != nil || tok.AccessToken == "" {
		t.Fatalf("public client's exchange without a secret: %v", err)
	}
	if st, u := apiGet(t, base+"/api/v4/user", tok.AccessToken); st != 200 || u["username"] != "alice" {
		t.Errorf("token of the public client: %d %v", st, u)
	}
	// Without the verifier the code is no good to someone who only has the client_id.
	c, _ = code(t, base, cfg, "alice")
	if _, err := cfg.Exchange(context.Background(), c); err == nil || retrieveErr(t, err).ErrorCode != "invalid_request" {
		t.Errorf("public client's exchange without the verifier: %v, want invalid_request (code_verifier missing)", err)
	}
}

func TestAuthorizeErrors(t *testing.T) {
	s, base := start(t, Options{})
	app := s.CreateApplication("app", testCallback, []string{"read_user"}, true, false)
	c := browser(t)
	get(t, c, base+"/users/sign_in")
	do(t, c, http.MethodPost, base+"/users/sign_in", url.Values{"user[login]": {"alice"}, "user[password]": {"password"}})
	q := func(kv ...string) string {
		v := url.Values{"client_id": {app.UID}, "redirect_uri": {testCallback}, "response_type": {"code"}, "scope": {"read_user"}, "state": {"xyz"}}
		for i := 0; i < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return base + "/oauth/authorize?" + v.Encode()
	}

	if p := get(t, c, q("client_id", "unknown")); p.Status != 401 || p.Location != "" ||
		!strings.Contains(p.Body, "Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method.") {
		t.Errorf("unknown client: %d %q\n%s", p.Status, p.Location, p.Body)
	}
	for _, bad := range []string{"http://127.0.0.1:1/callback/", "http://evil.example/callback", ""} {
		if p := get(t, c, q("redirect_uri", bad)); p.Status != 400 || p.Location != "" || !strings.Contains(p.Body, "The redirect URI included is not valid.") {
			t.Errorf("redirect %q: %d %q", bad, p.Status, p.Location)
		}
	}
	p := get(t, c, q("scope", "api"))
	if u, _ := url.Parse(p.Location); p.Status != 302 || u.Query().Get("error") != "invalid_scope" || u.Query().Get("state") != "xyz" {
		t.Errorf("invalid scope: %d %q", p.Status, p.Location)
	}
	p = get(t, c, q("response_type", "token"))
	if u, _ := url.Parse(p.Location); u.Query().Get("error") != "unsupported_response_type" {
		t.Errorf("response_type: %d %q", p.Status, p.Location)
	}

	// Deny.
	u := authorize(t, browser(t), base, q(), "bob", false)
	if u.Query().Get("error") != "access_denied" || u.Query().Get("state") != "xyz" ||
		u.Query().Get("error_description") != "The resource owner or authorization server denied the request." ||
		u.Query().Get("code") != "" {
		t.Errorf("deny: %s", u)
	}
}

func TestSignIn(t *testing.T) {
	_, base := start(t, Options{})
	c := browser(t)
	p := do(t, c, http.MethodPost, base+"/users/sign_in", url.Values{"user[login]": {"alice"}, "user[password]": {"nope"}})
	if p.Status != 200 || !strings.Contains(p.Body, "Invalid login or password.") {
		t.Fatalf("wrong password: %d", p.Status)
	}
	p = do(t, c, http.MethodPost, base+"/users/sign_in", url.Values{"user[login]": {"alice"}, "user[password]": {"password"}})
	if p.Status != 302 || p.Location != base+"/" {
		t.Fatalf("sign-in: %d %q", p.Status, p.Location)
	}
	if !strings.Contains(get(t, c, base+"/").Body, "@alice") {
		t.Fatal("home page should name the user")
	}
	if p := get(t, c, base+"/users/sign_in"); p.Status != 302 {
		t.Fatalf("signed-in user on sign_in: %d", p.Status)
	}
	do(t, c, http.MethodPost, base+"/users/sign_out", url.Values{})
	if strings.Contains(get(t, c, base+"/").Body, "@alice") {
		t.Fatal("still signed in after sign-out")
	}
}

func TestTrustedAndAutoApprove(t *testing.T) {
	s, base := start(t, Options{})
	app := s.CreateApplication("trusted", testCallback, []string{"read_user"}, true, true)
	cfg := oauthConfig(base, app, "read_user")
	c := browser(t)
	get(t, c, base+"/users/sign_in")
	do(t, c, http.MethodPost, base+"/users/sign_in", url.Values{"user[login]": {"bob"}, "user[password]": {"password"}})
	if p := get(t, c, cfg.AuthCodeURL("s")); p.Status != 302 || !strings.Contains(p.Location, "code=") {
		t.Fatalf("trusted app should skip consent: %d %q", p.Status, p.Location)
	}

	s2, base2 := start(t, Options{AutoApprove: "bob"})
	app2 := s2.CreateApplication("bench", testCallback, []string{"read_user"}, true, false)
	cfg2 := oauthConfig(base2, app2, "read_user")
	v := oauth2.GenerateVerifier()
	p := get(t, browser(t), cfg2.AuthCodeURL("s", oauth2.S256ChallengeOption(v)))
	loc, _ := url.Parse(p.Location)
	tok, err := cfg2.Exchange(context.Background(), loc.Query().Get("code"), oauth2.VerifierOption(v))
	if err != nil {
		t.Fatalf("auto approve: %d %q %v", p.Status, p.Location, err)
	}
	if _, u := apiGet(t, base2+"/api/v4/user", tok.AccessToken); u["username"] != "bob" {
		t.Fatalf("auto-approved user: %v", u)
	}
}

func TestRefreshRotationRevokesOldToken(t *testing.T) {
	s, base := start(t, Options{})
	app := s.CreateApplication("app", testCallback, []string{"read_user"}, true, false)
	cfg := oauthConfig(base, app, "read_user")
	ctx := context.Background()
	c, v := code(t, base, cfg, "alice")
	first, err := cfg.Exchange(ctx, c, oauth2.VerifierOption(v))
	if err != nil {
		t.Fatal(err)
	}
	expired := *first
	expired.Expiry = time.Now().Add(-time.Minute)
	second, err := cfg.TokenSource(ctx, &expired).Token()
	if err != nil {
		t.Fatal(err)
	}
	if second.AccessToken == first.AccessToken || second.RefreshToken == first.RefreshToken {
		t.Fatal("refresh must rotate both tokens")
	}
	if st, m := apiGet(t, base+"/api/v4/user", first.AccessToken); st != 401 || m["error"] != "invalid_token" {
		t.Fatalf("old access token: %d %v", st, m)
	}
	if st, _ := apiGet(t, base+"/api/v4/user", second.AccessToken); st != 200 {
		t.Fatalf("new access token: %d", st)
	}
	_, err = cfg.TokenSource(ctx, &expired).Token()
	if re := retrieveErr(t, err); re.ErrorCode != "invalid_grant" {
		t.Fatalf("old refresh token: %v", re)
	}
	// Wrong credentials on refresh.
	bad := *cfg
	bad.ClientSecret = "wrong"
	s2 := *second
	s2.Expiry = time.Now().Add(-time.Minute)
	_, err = bad.TokenSource(ctx, &s2).Token()
	if re := retrieveErr(t, err); re.ErrorCode != "invalid_client" || re.Response.StatusCode != 401 {
		t.Fatalf("refresh with bad secret: %v", re)
	}
}

func TestRevokeTokenInfoUserinfo(t *testing.T) {
	s, base := start(t, Options{})
	app := s.CreateApplication("app", testCallback, []string{"openid", "profile", "email", "read_user"}, true, false)
	cfg := oauthConfig(base, app, "openid", "email")
	c, v := code(t, base, cfg, "alice")
	tok, err := cfg.Exchange(context.Background(), c, oauth2.VerifierOption(v))
	if err != nil {
		t.Fatal(err)
	}
	st, info := apiGet(t, base+"/oauth/token/info", tok.AccessToken)
	if st != 200 || info["resource_owner_id"] != float64(2) || info["application"].(map[string]any)["uid"] != app.UID {
		t.Fatalf("token info: %d %v", st, info)
	}
	st, ui := apiGet(t, base+"/oauth/userinfo", tok.AccessToken)
	if st != 200 || ui["sub"] != "2" || ui["email"] != "alice@example.com" || ui["email_verified"] != true || ui["nickname"] != "alice" {
		t.Fatalf("userinfo: %d %v", st, ui)
	}
	// openid alone does not open the REST API. GitLab's API guard lists the
	// endpoint's registered scopes (the Users class's read_user first) and,
	// per the FIXME in its api_guard.rb, sends no WWW-Authenticate on a 403.
	req, _ := http.NewRequest(http.MethodGet, base+"/api/v4/user", nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 403 || resp.Header.Get("WWW-Authenticate") != "" || string(body) !=
		`{"error":"insufficient_scope","error_description":"The request requires higher privileges than provided by the access token.","scope":"read_user api read_api"}` {
		t.Fatalf("api with openid token: %d %v %s", resp.StatusCode, resp.Header, body)
	}

	revoke := func(secret, token string) int {
		resp, err := http.PostForm(base+"/oauth/revoke", url.Values{"client_id": {app.UID}, "client_secret": {secret}, "token": {token}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if st := revoke("wrong", tok.AccessToken); st != 401 {
		t.Fatalf("revoke with bad secret: %d", st)
	}
	if st := revoke(app.Secret, "unknown"); st != 200 {
		t.Fatalf("revoke unknown token: %d", st)
	}
	if st := revoke(app.Secret, tok.AccessToken); st != 200 {
		t.Fatalf("revoke: %d", st)
	}
	if st, _ := apiGet(t, base+"/oauth/userinfo", tok.AccessToken); st != 401 {
		t.Fatalf("userinfo after revoke: %d", st)
	}
}

func TestIDTokenVerifiesAgainstJWKS(t *testing.T) {
	s, base := start(t, Options{})
	app := s.CreateApplication("app", testCallback, []string{"openid", "read_user"}, true, false)
	cfg := oauthConfig(base, app, "openid", "read_user")
	c, v := code(t, base, cfg, "alice", oauth2.SetAuthURLParam("nonce", "n-0S6"))
	tok, err := cfg.Exchange(context.Background(), c, oauth2.VerifierOption(v))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := tok.Extra("id_token").(string)
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("id_token %q", raw)
	}

	_, disco := apiGet(t, base+"/.well-known/openid-configuration", "")
	if disco["issuer"] != base || disco["jwks_uri"] != base+"/oauth/discovery/keys" || disco["token_endpoint"] != base+"/oauth/token" {
		t.Fatalf("discovery: %v", disco)
	}
	var jwks struct {
		Keys []struct{ Kid, Kty, N, E, Alg string }
	}
	resp, err := http.Get(disco["jwks_uri"].(string))
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(resp.Body).Decode(&jwks)
	resp.Body.Close()

	var header struct{ Alg, Kid string }
	hb, _ := base64.RawURLEncoding.DecodeString(parts[0])
	json.Unmarshal(hb, &header)
	if header.Alg != "RS256" || len(jwks.Keys) != 1 || jwks.Keys[0].Kid != header.Kid {
		t.Fatalf("header %+v, jwks %+v", header, jwks)
	}
	n, _ := base64.RawURLEncoding.DecodeString(jwks.Keys[0].N)
	e, _ := base64.RawURLEncoding.DecodeString(jwks.Keys[0].E)
	pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig); err != nil {
		t.Fatalf("signature: %v", err)
	}

	var claims map[string]any
	cb, _ := base64.RawURLEncoding.DecodeString(parts[1])
	json.Unmarshal(cb, &claims)
	now := float64(time.Now().Unix())
	if claims["iss"] != base || claims["sub"] != "2" || claims["aud"] != app.UID || claims["nonce"] != "n-0S6" ||
		claims["email"] != "alice@example.com" || claims["preferred_username"] != "alice" ||
		claims["exp"].(float64) <= now || claims["iat"].(float64) > now+1 || claims["auth_time"] == nil {
		t.Fatalf("claims: %v", claims)
	}
	if _, ok := claims["groups_direct"].([]any); !ok {
		t.Fatalf("groups_direct: %v", claims["groups_direct"])
	}
}
