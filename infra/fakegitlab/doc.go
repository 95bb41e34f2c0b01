// Package fakegitlab is a faithful stand-in for a self-managed GitLab 17.5
// server, for tests and local runs of forgelink. It behaves like GitLab
// (Rails + Doorkeeper) for everything forgelink and its tests touch.
//
// Start one on a free loopback port:
//
//	gl := fakegitlab.New(fakegitlab.Options{})
//	base, err := gl.Start("127.0.0.1:0", false) // true: https with a generated CA
//	defer gl.Close()
//	app := gl.CreateApplication("forgelink", callbackURL, []string{"api", "read_user"}, true, false)
//	// app.UID is the client id ("Application ID"), app.Secret the secret.
//
// or mount Handler in an httptest.Server (set Options.BaseURL so the OIDC
// issuer does not depend on the Host header).
//
// Accounts: root (id 1, admin; personal access token RootToken()), alice
// (id 2, "Alice Liddell", alice@example.com), bob (id 3) and mallory (id 4,
// state "blocked"), all with password "password"; Options.ExtraUsers adds
// more. Avatars are served locally, so pages never load external resources.
//
// Endpoints:
//
//	GET  /, /-/health                      200
//	GET  /users/sign_in, POST /users/sign_in, POST /users/sign_out
//	                                       form fields user[login], user[password];
//	                                       session cookie _gitlab_session
//	GET  /oauth/authorize                  sign-in, then consent (skipped for trusted
//	                                       apps, or when the user already has a token
//	                                       for a confidential app with the same scopes)
//	POST /oauth/authorize                  Authorize; with _method=delete (or DELETE): Deny
//	POST /oauth/token                      authorization_code (+PKCE plain/S256), refresh_token
//	POST /oauth/revoke, GET /oauth/token/info, GET /oauth/userinfo
//	GET  /.well-known/openid-configuration, GET /oauth/discovery/keys (RS256 JWKS)
//	GET  /api/v4/user, GET /api/v4/version
//	GET, POST /api/v4/applications, DELETE /api/v4/applications/:id   (admin)
//	GET, POST /-/user_settings/applications, GET /-/user_settings/applications/:id
//	GET  /admin/applications, /admin/applications/new, /admin/applications/:id,
//	POST /admin/applications               (admin; others get 404)
//	GET, POST, DELETE /-/fake/fault        fault switches (root token), not GitLab
//
// The application pages show the new application in elements with ids
// application_id, secret and callback_url (<output> elements, so both
// .value and the text content work in a browser test).
//
// Errors follow Doorkeeper: unknown client_id and a redirect_uri that is not
// exactly registered get GitLab's error page (401 and 400), never a
// redirect; later errors (invalid_scope, access_denied, ...) go back to the
// redirect URI with state. The token endpoint validates parameters, then
// client credentials (invalid_client, 401), then the code (invalid_grant,
// 400), so a dummy code with good credentials is invalid_grant.
//
// Deliberate differences from GitLab, each for testability:
//   - the authenticity_token of forms is rendered but not checked;
//   - blocked users can sign in and read /api/v4/user (state "blocked"), so
//     a client's "refuse non-active users" rule can be tested;
//   - Options.AutoApprove (opt-in) signs a user in and skips consent;
//   - only the authorization_code and refresh_token grants exist.
//
// Faults (SetFault, or POST /-/fake/fault with {"slow":"2s","down":true,
// "malformed":true,"error500":true,"path_prefix":"/oauth/token"}): see Fault.
package fakegitlab
