package sam

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/forgelink/forgelink/shared/app"
	"github.com/forgelink/forgelink/shared/forgelink"
	"github.com/forgelink/forgelink/shared/service"
	"github.com/forgelink/forgelink/shared/statecookie"
)

// The fixtures behind events/*.json. The events are static files (for sam local invoke -e),
// so the ids, tokens and CSRF tokens in them are fixed here and SeedEvents puts the matching
// records (hashes only) into a store. None of these is a secret: each is derived from a
// public label, and they only mean something to a store seeded by SeedEvents. Client
// secrets never appear in events (DESIGN.md): there is no credential-saving event.
const (
	EventOrg     = "acme"
	EventOrgName = "Acme Corp"
	// EventStack is the stack the events pretend to come from: the template names the table,
	// the secret prefix and the log groups after it.
	EventStack      = "forgelink-dev"
	EventAPIID      = "k3x7q2m9zd"
	EventRegion     = "eu-west-1"
	EventAccountID  = "123456789012"
	EventDomain     = EventAPIID + ".execute-api." + EventRegion + ".amazonaws.com"
	EventBaseURL    = "https://" + EventDomain
	EventGitLabURL  = "https://gitlab.example.com"
	EventGitLabHost = "gitlab.example.com"
	// EventCookieKey is the FORGELINK_COOKIE_KEY the events' CSRF tokens and state cookie are
	// made with. Test-only; deployed stacks use the template's generated secret.
	EventCookieKey = "forgelink-events-cookie-key--not-a-secret--0123456789"
	// EventSecretPrefix is FORGELINK_SECRET_PREFIX as the template sets it for EventStack.
	EventSecretPrefix = "forgelink/" + EventStack + "/"
	// EventIntegrationName is the seeded integration's name; the PATCH and save-form events
	// rename it to EventRenamed.
	EventIntegrationName = "Example GitLab"
	EventRenamed         = "Example GitLab (renamed)"
	// EventCreateURL is the GitLab URL of the create events (another server than the seeded
	// integration's: one URL per org).
	EventCreateURL = "https://git.example.org/gitlab"
	// EventClientID is the seeded integration's application id (public in GitLab, not secret).
	EventClientID = "3f1c2b7a9d8e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a"
	// EventClientSecret is stored by SeedEvents only (never in an event file); obviously fake.
	EventClientSecret = "gloas-FAKE-events-client-secret-not-real"
	EventUserID       = 42
	EventUsername     = "alice"
)

// EventTime is the time the events claim; the state cookie of callback.json was sealed then
// and expired ten minutes later.
var EventTime = time.Date(2026, time.November, 25, 13, 0, 0, 0, time.UTC)

// fixture returns a stable, random-looking 256-bit token for label (base64url, like the
// session ids and tokens forgelink makes).
func fixture(label string) string {
	sum := sha256.Sum256([]byte("forgelink events/" + label))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// Fixed tokens of the events.
var (
	EventAdminToken      = fixture("admin-token")       // Authorization: Bearer of the API events
	EventAdminSessionID  = fixture("admin-session")     // admin cookie of the admin page events
	EventMemberSessionID = fixture("member-session")    // member cookie of home, whoami, logout
	EventAdminLinkToken  = fixture("admin-link")        // ?token= of admin-sign-in.json
	EventIntegrationID   = integrationID("integration") // the seeded, active integration
	EventOAuthCode       = hexFixture("oauth-code")     // ?code= of callback.json (GitLab's are 64 hex)
	EventOAuthState      = fixture("oauth-state")       // ?state= of callback.json
	// EventAdminRuleID is the seeded admin rule's (GitLab user alice on the seeded
	// integration): rule ids derive from the rule's content.
	EventAdminRuleID = forgelink.AdminRuleID(eventAdminRule)
	// EventMemberID is the seeded member's (alice through the seeded integration).
	EventMemberID = forgelink.MemberID(EventIntegrationID, EventUserID)
)

var eventAdminRule = forgelink.AdminRule{Org: EventOrg, IntegrationID: EventIntegrationID, Username: EventUsername}

func hexFixture(label string) string {
	sum := sha256.Sum256([]byte("forgelink events/" + label))
	return hex.EncodeToString(sum[:])
}

func integrationID(label string) string {
	sum := sha256.Sum256([]byte("forgelink events/" + label))
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(sum[:16]))
}

// HashToken is the store key of a token: hex SHA-256, as shared/service stores them.
func HashToken(plain string) string {
	sum := sha256.Sum256([]byte(plain))
	return hex.EncodeToString(sum[:])
}

// EventEnv is the environment under which events/*.json are valid (plus the store seeded by
// SeedEvents): FORGELINK_STORE=memory, the fixed cookie key, the template's secret prefix.
func EventEnv() map[string]string {
	return map[string]string{
		"FORGELINK_STORE":         "memory",
		"FORGELINK_COOKIE_KEY":    EventCookieKey,
		"FORGELINK_SECRET_PREFIX": EventSecretPrefix,
		"FORGELINK_TABLE":         EventStack + "-Table-EXAMPLE",
		"FORGELINK_LOG_LEVEL":     "info",
	}
}

// SeedEvents creates what the events refer to in a's store: org acme, its admin API token,
// an admin browser session, a one-time admin sign-in link, an active integration with its
// (fake) client secret, an admin rule (GitLab user alice), and alice as a member with a session, signed in through it. Only hashes of
// the tokens are stored, as the service does.
func SeedEvents(ctx context.Context, a *app.App) error {
	now := time.Now().UTC()
	if _, err := a.Services.Orgs.EnsureOrg(ctx, EventOrg, EventOrgName); err != nil {
		return fmt.Errorf("seed org: %w", err)
	}
	if _, err := a.Services.Tokens.CreateAdminToken(ctx, EventOrg, "events", EventAdminToken); err != nil {
		return fmt.Errorf("seed admin token: %w", err)
	}
	ref, err := a.Secrets.PutSecret(ctx, a.Config.SecretPrefix+EventOrg+"/"+EventIntegrationID, EventClientSecret,
		map[string]string{"forgelink:org": EventOrg, "forgelink:integration": EventIntegrationID})
	if err != nil {
		return fmt.Errorf("seed client secret: %w", err)
	}
	if _, err := a.Store.CreateIntegration(ctx, forgelink.Integration{
		Org: EventOrg, ID: EventIntegrationID, Platform: forgelink.PlatformGitLab,
		Name: EventIntegrationName, URL: EventGitLabURL, ClientID: EventClientID,
		SecretARN: ref.ARN, SecretVersion: ref.Version, SecretUpdatedAt: now,
		Status: forgelink.StatusActive, CreatedAt: now, UpdatedAt: now,
	}); err != nil {
		return fmt.Errorf("seed integration: %w", err)
	}
	if err := a.Store.CreateSession(ctx, forgelink.Session{
		Hash: HashToken(EventAdminSessionID), Kind: forgelink.SessionAdmin, Org: EventOrg, Role: forgelink.RoleAdmin, Principal: "Events",
		CreatedAt: now, ExpiresAt: now.Add(forgelink.SessionTTL),
	}); err != nil {
		return fmt.Errorf("seed admin session: %w", err)
	}
	alice := forgelink.GitLabUser{ID: EventUserID, Username: EventUsername, Name: "Alice Example",
		Email: "alice@example.com", AvatarURL: EventGitLabURL + "/uploads/-/system/user/avatar/42/avatar.png", State: "active"}
	member := forgelink.Session{
		Hash: HashToken(EventMemberSessionID), Kind: forgelink.SessionMember, Org: EventOrg, Role: forgelink.RoleMember,
		IntegrationID: EventIntegrationID, GitLabHost: EventGitLabHost, User: alice,
		CreatedAt: now, ExpiresAt: now.Add(forgelink.SessionTTL),
	}
	if err := a.Store.PutMember(ctx, forgelink.Member{Org: EventOrg, IntegrationID: EventIntegrationID, User: alice,
		Role: member.Role, Sessions: []forgelink.MemberSession{{Hash: member.Hash, ExpiresAt: member.ExpiresAt}},
		FirstSeenAt: now, LastSeenAt: now}); err != nil {
		return fmt.Errorf("seed member: %w", err)
	}
	if err := a.Store.CreateSession(ctx, member); err != nil {
		return fmt.Errorf("seed member session: %w", err)
	}
	rule := eventAdminRule
	rule.CreatedAt = now
	if _, err := a.Store.CreateAdminRule(ctx, rule); err != nil {
		return fmt.Errorf("seed admin rule: %w", err)
	}
	if err := a.Store.CreateAdminLink(ctx, forgelink.AdminLink{
		Hash: HashToken(EventAdminLinkToken), Org: EventOrg, Label: "Events", CreatedAt: now, ExpiresAt: now.Add(forgelink.AdminLinkTTL),
	}); err != nil {
		return fmt.Errorf("seed admin link: %w", err)
	}
	return nil
}

// Event is one API Gateway HTTP API payload 2.0 event, with the fields in the order AWS
// prints them.
type Event struct {
	Version               string            `json:"version"`
	RouteKey              string            `json:"routeKey"`
	RawPath               string            `json:"rawPath"`
	RawQueryString        string            `json:"rawQueryString"`
	Cookies               []string          `json:"cookies,omitempty"`
	Headers               map[string]string `json:"headers"`
	QueryStringParameters map[string]string `json:"queryStringParameters,omitempty"`
	RequestContext        RequestContext    `json:"requestContext"`
	PathParameters        map[string]string `json:"pathParameters,omitempty"`
	Body                  string            `json:"body,omitempty"`
	IsBase64Encoded       bool              `json:"isBase64Encoded"`
}

// RequestContext is the payload 2.0 requestContext.
type RequestContext struct {
	AccountID    string      `json:"accountId"`
	APIID        string      `json:"apiId"`
	DomainName   string      `json:"domainName"`
	DomainPrefix string      `json:"domainPrefix"`
	HTTP         HTTPContext `json:"http"`
	RequestID    string      `json:"requestId"`
	RouteKey     string      `json:"routeKey"`
	Stage        string      `json:"stage"`
	Time         string      `json:"time"`
	TimeEpoch    int64       `json:"timeEpoch"`
}

// HTTPContext is requestContext.http.
type HTTPContext struct {
	Method    string `json:"method"`
	Path      string `json:"path"`
	Protocol  string `json:"protocol"`
	SourceIP  string `json:"sourceIp"`
	UserAgent string `json:"userAgent"`
}

// Real clients' User-Agent strings: browsers' contain commas ("KHTML, like Gecko"), which
// the adapter must not split.
const (
	BrowserUserAgent = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
	CurlUserAgent    = "curl/8.11.1"
	browserAccept    = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
)

// request describes one event before it is dressed up as API Gateway sends it.
type request struct {
	file     string
	method   string
	route    string // API Gateway path with {org} and {id}
	query    url.Values
	cookies  []string
	form     url.Values // urlencoded body, sent base64-encoded as API Gateway does
	json     string     // JSON body
	bearer   string
	browser  bool // a browser navigation (else an API client)
	referer  string
	sequence int // varies request ids and times
}

// EventFiles returns every events/*.json file name and content, generated from the fixtures
// (go run ./infra/cmd/genevents writes them; a test checks the files are up to date).
// It is long on purpose: one table of every event, in file order, reads better than the
// same list split across helpers.
func EventFiles() (map[string][]byte, error) {
	sealer, err := statecookie.New([]byte(EventCookieKey))
	if err != nil {
		return nil, err
	}
	csrfAdmin := sealer.MAC("csrf", EventAdminSessionID)
	csrfMember := sealer.MAC("csrf", EventMemberSessionID)
	// One session cookie per org: the admin events come from the admin's browser, the
	// member events from a member's.
	adminCookie := "__Host-forgelink_session_" + EventOrg + "=" + EventAdminSessionID
	memberCookie := "__Host-forgelink_session_" + EventOrg + "=" + EventMemberSessionID
	// A state cookie sealed by login at EventTime with the events' key: valid for ten
	// minutes then, expired ever after, so the callback event answers the clear
	// "sign-in expired" page (the events test also replays it at EventTime).
	state, err := sealer.Seal(service.LoginState{
		State: EventOAuthState, Verifier: fixture("pkce-verifier"), Org: EventOrg,
		IntegrationID: EventIntegrationID, ReturnTo: "/orgs/" + EventOrg,
	}, EventTime.Add(-30*time.Second), forgelink.StateTTL)
	if err != nil {
		return nil, err
	}
	// Cookies the browser would send along anyway, to keep the cookie parsing honest.
	analytics := "_ga=GA1.1.1234567890.1732539600"

	settings := "/orgs/{org}/settings/integrations"
	api := "/api/v1/orgs/{org}/integrations"
	admins, apiAdmins := "/orgs/{org}/settings/admins", "/api/v1/orgs/{org}/admins"
	members, apiMembers := "/orgs/{org}/settings/members", "/api/v1/orgs/{org}/members"
	reqs := []request{
		{file: "healthz.json", method: "GET", route: "/healthz"},

		{file: "integrations-list.json", method: "GET", route: settings, cookies: []string{analytics, adminCookie}, browser: true},
		{file: "integrations-new.json", method: "GET", route: settings + "/new", cookies: []string{adminCookie}, browser: true,
			referer: settings},
		{file: "integrations-create-form.json", method: "POST", route: settings, cookies: []string{adminCookie}, browser: true,
			referer: settings + "/new",
			form:    url.Values{"csrf_token": {csrfAdmin}, "platform": {"gitlab"}, "url": {EventCreateURL}, "name": {"Team GitLab, EU"}}},
		{file: "integration-page.json", method: "GET", route: settings + "/{id}", cookies: []string{adminCookie}, browser: true,
			referer: settings},
		// Edits the name only: the form's Secret field left empty keeps the stored secret.
		{file: "integration-save-form.json", method: "POST", route: settings + "/{id}", cookies: []string{adminCookie}, browser: true,
			referer: settings + "/{id}",
			form:    url.Values{"csrf_token": {csrfAdmin}, "version": {"1"}, "name": {EventRenamed}, "client_id": {""}, "client_secret": {""}, "ca_bundle": {""}}},
		{file: "integration-delete-form.json", method: "POST", route: settings + "/{id}/delete", cookies: []string{adminCookie}, browser: true,
			referer: settings + "/{id}",
			form:    url.Values{"csrf_token": {csrfAdmin}}},

		{file: "api-integrations-list.json", method: "GET", route: api, bearer: EventAdminToken},
		{file: "api-integrations-create.json", method: "POST", route: api, bearer: EventAdminToken,
			json: `{"platform":"gitlab","url":"` + EventCreateURL + `","name":"Team GitLab"}`},
		{file: "api-integration-get.json", method: "GET", route: api + "/{id}", bearer: EventAdminToken},
		// Renames only: an event never carries a client secret (DESIGN.md), so there is no
		// credential-saving event.
		{file: "api-integration-update.json", method: "PATCH", route: api + "/{id}", bearer: EventAdminToken,
			json: `{"name":"` + EventRenamed + `"}`},
		{file: "api-integration-delete.json", method: "DELETE", route: api + "/{id}", bearer: EventAdminToken},
		{file: "api-integration-audit.json", method: "GET", route: api + "/{id}/audit", bearer: EventAdminToken},

		{file: "login.json", method: "GET", route: "/orgs/{org}/login/{id}", browser: true,
			query: url.Values{"return_to": {"/orgs/" + EventOrg}}},
		{file: "callback.json", method: "GET", route: "/orgs/{org}/login/{id}/callback", browser: true,
			cookies: []string{analytics, "__Host-forgelink_state=" + state},
			query:   url.Values{"code": {EventOAuthCode}, "state": {EventOAuthState}}},

		{file: "org-home.json", method: "GET", route: "/orgs/{org}", cookies: []string{memberCookie}, browser: true},
		{file: "session.json", method: "GET", route: "/api/v1/orgs/{org}/session", cookies: []string{memberCookie}, browser: true},
		{file: "logout-form.json", method: "POST", route: "/orgs/{org}/logout", cookies: []string{memberCookie}, browser: true,
			referer: "/orgs/{org}", form: url.Values{"csrf_token": {csrfMember}}},
		{file: "admin-sign-in.json", method: "GET", route: "/orgs/{org}/admin/sign-in", browser: true,
			query: url.Values{"token": {EventAdminLinkToken}}},

		// Admin rules (appended, so the events above keep their request times).
		{file: "admins-page.json", method: "GET", route: admins, cookies: []string{adminCookie}, browser: true, referer: settings},
		{file: "admin-rule-create-form.json", method: "POST", route: admins, cookies: []string{adminCookie}, browser: true,
			referer: admins,
			form: url.Values{"csrf_token": {csrfAdmin}, "integration_id": {EventIntegrationID}, "kind": {"group"},
				"username": {""}, "group": {"eng/platform"}, "min_access_level": {"30"}}},
		{file: "admin-rule-delete-form.json", method: "POST", route: admins + "/{rule}/delete", cookies: []string{adminCookie}, browser: true,
			referer: admins, form: url.Values{"csrf_token": {csrfAdmin}}},
		{file: "api-admins-list.json", method: "GET", route: apiAdmins, bearer: EventAdminToken},
		{file: "api-admins-create.json", method: "POST", route: apiAdmins, bearer: EventAdminToken,
			json: `{"integration_id":"` + EventIntegrationID + `","group":"eng","min_access_level":40}`},
		{file: "api-admin-delete.json", method: "DELETE", route: apiAdmins + "/{rule}", bearer: EventAdminToken},

		// The sign-in page's button, a setup link's Continue and Test sign-in (appended).
		{file: "login-start.json", method: "POST", route: "/orgs/{org}/login/{id}", browser: true,
			referer: "/orgs/{org}/login/{id}", form: url.Values{"return_to": {"/orgs/" + EventOrg}}},
		{file: "admin-sign-in-form.json", method: "POST", route: "/orgs/{org}/admin/sign-in", browser: true,
			referer: "/orgs/{org}/admin/sign-in", form: url.Values{"token": {EventAdminLinkToken}}},
		{file: "integration-test-form.json", method: "POST", route: settings + "/{id}/test", cookies: []string{adminCookie}, browser: true,
			referer: settings + "/{id}", form: url.Values{"csrf_token": {csrfAdmin}}},

		// Members (appended).
		{file: "members-page.json", method: "GET", route: members, cookies: []string{adminCookie}, browser: true, referer: settings},
		{file: "member-sign-out-form.json", method: "POST", route: members + "/{member}/sign-out", cookies: []string{adminCookie}, browser: true,
			referer: members, form: url.Values{"csrf_token": {csrfAdmin}}},
		{file: "api-members-list.json", method: "GET", route: apiMembers, bearer: EventAdminToken},
		{file: "api-member-sign-out.json", method: "DELETE", route: apiMembers + "/{member}/sessions", bearer: EventAdminToken},

		// The setup page's Server URL form (appended).
		{file: "integration-url-form.json", method: "POST", route: settings + "/{id}/url", cookies: []string{adminCookie}, browser: true,
			referer: settings + "/{id}", form: url.Values{"csrf_token": {csrfAdmin}, "version": {"1"}, "url": {EventCreateURL}}},
	}
	files := map[string][]byte{}
	for i, r := range reqs {
		r.sequence = i
		b, err := json.MarshalIndent(r.event(), "", "  ")
		if err != nil {
			return nil, err
		}
		files[r.file] = append(b, '\n')
	}
	return files, nil
}

func fill(route string) string {
	return strings.NewReplacer("{org}", EventOrg, "{id}", EventIntegrationID, "{rule}", EventAdminRuleID, "{member}", EventMemberID).Replace(route)
}

// event is the payload 2.0 event API Gateway would send for r. It is long because it
// sets every field API Gateway sets, each in one place, so the events stay faithful.
func (r request) event() Event {
	path := fill(r.route)
	at := EventTime.Add(time.Duration(r.sequence) * 1733 * time.Millisecond)
	ua := CurlUserAgent
	if r.browser {
		ua = BrowserUserAgent
	}
	h := map[string]string{
		"host":              EventDomain,
		"user-agent":        ua,
		"x-amzn-trace-id":   fmt.Sprintf("Root=1-%08x-%s", at.Unix(), hexFixture(r.file)[:24]),
		"x-forwarded-for":   "203.0.113.10",
		"x-forwarded-port":  "443",
		"x-forwarded-proto": "https",
	}
	if r.browser {
		h["accept"] = browserAccept
		h["accept-encoding"] = "gzip, deflate, br, zstd"
		h["accept-language"] = "en-US,en;q=0.9,de;q=0.8"
		h["sec-ch-ua"] = `"Chromium";v="131", "Not_A Brand";v="24"`
		h["sec-ch-ua-mobile"] = "?0"
		h["sec-ch-ua-platform"] = `"Linux"`
		h["sec-fetch-dest"] = "document"
		h["sec-fetch-mode"] = "navigate"
		h["sec-fetch-site"] = "none"
		h["upgrade-insecure-requests"] = "1"
		if r.referer != "" {
			h["referer"] = EventBaseURL + fill(r.referer)
			h["sec-fetch-site"] = "same-origin"
		}
		if r.method == "POST" {
			h["origin"] = EventBaseURL
			h["cache-control"] = "max-age=0"
		}
	} else {
		h["accept"] = "application/json"
	}
	if r.bearer != "" {
		h["authorization"] = "Bearer " + r.bearer
	}
	ev := Event{
		Version:        "2.0",
		RouteKey:       r.method + " " + r.route,
		RawPath:        path,
		RawQueryString: rawQuery(r.query),
		Cookies:        r.cookies,
		Headers:        h,
		RequestContext: RequestContext{
			AccountID:    EventAccountID,
			APIID:        EventAPIID,
			DomainName:   EventDomain,
			DomainPrefix: EventAPIID,
			HTTP: HTTPContext{
				Method: r.method, Path: path, Protocol: "HTTP/1.1",
				SourceIP: "203.0.113.10", UserAgent: ua,
			},
			RequestID: requestID(r.file),
			RouteKey:  r.method + " " + r.route,
			Stage:     "$default",
			Time:      at.Format("02/Jan/2006:15:04:05 -0700"),
			TimeEpoch: at.UnixMilli(),
		},
	}
	if len(r.query) > 0 {
		ev.QueryStringParameters = map[string]string{}
		for k, v := range r.query {
			ev.QueryStringParameters[k] = strings.Join(v, ",")
		}
	}
	if strings.Contains(r.route, "{") {
		ev.PathParameters = map[string]string{}
		if strings.Contains(r.route, "{org}") {
			ev.PathParameters["org"] = EventOrg
		}
		if strings.Contains(r.route, "{id}") {
			ev.PathParameters["id"] = EventIntegrationID
		}
		if strings.Contains(r.route, "{rule}") {
			ev.PathParameters["rule"] = EventAdminRuleID
		}
		if strings.Contains(r.route, "{member}") {
			ev.PathParameters["member"] = EventMemberID
		}
	}
	switch {
	case r.form != nil:
		body := r.form.Encode()
		h["content-type"] = "application/x-www-form-urlencoded"
		h["content-length"] = strconv.Itoa(len(body))
		ev.Body = base64.StdEncoding.EncodeToString([]byte(body))
		ev.IsBase64Encoded = true
	case r.json != "":
		h["content-type"] = "application/json"
		h["content-length"] = strconv.Itoa(len(r.json))
		ev.Body = r.json
	default:
		h["content-length"] = "0"
	}
	return ev
}

// rawQuery encodes q in a fixed order (url.Values.Encode sorts keys).
func rawQuery(q url.Values) string {
	if len(q) == 0 {
		return ""
	}
	return q.Encode()
}

// requestID looks like API Gateway's (e.g. "Vx3k2gFQjoEEMfA=").
func requestID(label string) string {
	sum := sha256.Sum256([]byte("forgelink events/request/" + label))
	return base64.StdEncoding.EncodeToString(sum[:10])
}

// EventsDir returns the repository's events folder.
func EventsDir() (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, "events"), nil
}

// SameEvent reports whether two event files are equal but for the state cookie of the
// callback event, which is sealed afresh (random nonce) at every generation.
func SameEvent(a, b []byte) bool {
	return bytes.Equal(maskState(a), maskState(b))
}

func maskState(b []byte) []byte {
	var ev Event
	if json.Unmarshal(b, &ev) != nil {
		return b
	}
	for i, c := range ev.Cookies {
		if name, _, ok := strings.Cut(c, "="); ok && strings.HasSuffix(name, "forgelink_state") {
			ev.Cookies[i] = name + "=<sealed>"
		}
	}
	out, _ := json.Marshal(ev)
	return out
}
