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
// (id 2, "Alice Liddell", alice@example.com), bob (id 3), mallory (id 4,
// state "blocked") and carol (id 5, in no group), all with password
// "password"; Options.ExtraUsers adds more (or changes a default user of
// the same username). Avatars are served locally, so pages never load
// external resources.
//
// Groups (all private): eng (id 100, "Engineering": alice Maintainer 40, bob
// Developer 30), its subgroup eng/platform (id 101, "Platform", no direct
// members: alice and bob inherit their eng levels) and ops (id 102,
// "Operations": alice Owner 50). Group ids start at 100 so they never equal
// a user id. Tests add more with Options.ExtraGroups, CreateGroup,
// SetGroupMember (which also changes or removes a membership) and
// UpdateUser, read them with Groups and GroupAccess, or use root's API
// below; the command takes -group.
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
//	GET  /api/v4/users?username=           UserBasic; UserWithAdmin for admins
//	PUT  /api/v4/users/:id                 (admin) name, username, email, bio,
//	                                       location, organization, job_title,
//	                                       pronouns, website_url, password
//	GET  /api/v4/groups                    min_access_level, all_available,
//	                                       top_level_only, search, order_by,
//	                                       sort, page, per_page
//	POST /api/v4/groups                    name, path, parent_id, visibility,
//	                                       description; creator becomes Owner
//	GET  /api/v4/groups/:id
//	GET  /api/v4/groups/:id/members[/all]            paginated
//	GET  /api/v4/groups/:id/members[/all]/:user_id   /all: highest level along
//	                                       the ancestors; 404 "404 Not found"
//	POST /api/v4/groups/:id/members        user_id, access_level (Owner or admin)
//	GET, POST /-/user_settings/applications, GET /-/user_settings/applications/:id
//	GET  /admin/applications, /admin/applications/new, /admin/applications/:id,
//	POST /admin/applications               (admin; others get 404)
//	GET, POST, DELETE /-/fake/fault        fault switches (root token), not GitLab
//
// The application pages show the new application in elements with ids
// application_id, secret and callback_url (<output> elements, so both
// .value and the text content work in a browser test).
//
// Group routes take :id as a numeric id or a URL-encoded full path
// ("eng%2Fplatform", case-insensitive). A group the caller may not read
// (private, and no membership in it, an ancestor or a descendant) is 404
// {"message":"404 Group Not Found"}, like an unknown one. Group and member
// reads need a token with api or read_api (writes: api); other scopes get
// GitLab's 403 {"error":"insufficient_scope",...,"scope":"api read_api"},
// which GitLab sends without WWW-Authenticate. Lists carry GitLab's offset
// pagination headers (X-Page, X-Per-Page, X-Next-Page, X-Prev-Page,
// X-Total, X-Total-Pages, Link; per_page 20 by default, at most 100).
// Validation answers are GitLab's: Grape's 400 {"error":"x is missing"},
// 409 "Member already exists", 400 "Failed to save group {:path=>[...]}".
// Parameters with a NUL byte are refused with a plain 400 "Bad Request",
// as GitLab's HandleMalformedStrings middleware does. PUT /users/:id
// stores any text within GitLab's length limits (name, username, email,
// bio, location, organization, website_url 255 characters, job_title 200,
// pronouns 50), markup and quotes included; usernames and group paths must
// match GitLab's path format, and group names cannot hold markup (GitLab's
// group_name_regex). The OIDC claims groups (userinfo), groups_direct
// (id_token) and https://gitlab.org/claims/groups/<role> follow the
// memberships.
//
// Errors follow Doorkeeper: unknown client_id and a redirect_uri that is not
// exactly registered get GitLab's error page (401 and 400), never a
// redirect; later errors (invalid_scope, access_denied, ...) go back to the
// redirect URI with state. The token endpoint validates parameters, then
// client credentials (invalid_client, 401), then the code (invalid_grant,
// 400), so a dummy code with good credentials is invalid_grant. Credentials
// come from HTTP Basic, else the body. Applications are Confidential unless
// created otherwise (CreateApplication's flag, the form's checkbox, the
// API's confidential=false); one that is not may leave out its secret, as
// Doorkeeper's by_uid_and_secret allows: a dummy code with its client_id
// alone is invalid_grant, a real code with PKCE gets a token. A confidential
// application without its secret is invalid_client.
//
// Deliberate differences from GitLab, each for testability:
//   - the authenticity_token of forms is rendered but not checked;
//   - blocked users can sign in and read /api/v4/user (state "blocked"), so
//     a client's "refuse non-active users" rule can be tested;
//   - Options.AutoApprove (opt-in) signs a user in and skips consent;
//   - only the authorization_code and refresh_token grants exist;
//   - groups have no projects, invitations, shares, SAML or LDAP links;
//     POST members takes one user_id (no comma lists) and ignores
//     expires_at; GET /users ignores filters other than username.
//
// Faults (SetFault, or POST /-/fake/fault with {"slow":"2s","down":true,
// "malformed":true,"error500":true,"path_prefix":"/oauth/token"}; the
// prefix "/api/v4/groups" makes group reads fail): see Fault.
package fakegitlab
