package service

import (
	"context"
	"crypto/subtle"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/forgelink/forgelink/shared/forgelink"
)

// IntegrationInput is what an admin sends to create or change an integration. nil means
// "not given". On create Platform and URL are required, Name and CABundle optional, and
// ClientID and ClientSecret optional together (a one-shot create that is active at once).
// On update any of Name, CABundle, AllowedGroups, the ClientID+ClientSecret pair and,
// while the integration is pending, URL may be given (an active one's URL may only be
// repeated unchanged).
type IntegrationInput struct {
	Platform     *string
	URL          *string
	Name         *string
	ClientID     *string
	ClientSecret *string
	CABundle     *string
	// AllowedGroups, when given, replaces who may sign in (empty: everyone); at most
	// MaxAllowedGroups, each a valid group path and level, no path twice.
	AllowedGroups *[]forgelink.GroupRule
	// CheckServer makes forgelink reach the server of a new URL (create, or a changed
	// URL) before it writes anything (the HTML forms set it): an unreachable server is a
	// field error, one whose OpenID issuer is not the URL a warning (the Notes methods).
	CheckServer bool
	// Version, when non-zero, is the version the admin's change is based on (optimistic
	// concurrency): a different stored version is ECONFLICT. Update only.
	Version int64
}

// Integrations are the org's connections to GitLab servers: created, set up, edited and
// deleted by admins (integrations function).
type Integrations struct {
	*base
	writes *writeLimiter
	probes *writeLimiter // calls out to GitLab: credential checks, DNS look-ups
}

// NewIntegrations returns the Integrations noun over d (it needs Store, Secrets, GitLab,
// URLs and SecretPrefix).
func NewIntegrations(d Deps) *Integrations {
	return &Integrations{base: newBase(d), writes: newWriteLimiter(d.AdminWrites, d.Now),
		probes: newProbeLimiter(d.GitLabProbes, d.Now)}
}

// Field limits.
const (
	MaxNameLength         = 100
	MaxClientIDLength     = 128
	MaxClientSecretLength = 256
)

// DuplicateURLMessage is the ECONFLICT message of a second integration for one GitLab URL.
const DuplicateURLMessage = "An integration for this GitLab URL already exists in this org."

// CallbackURL is the one redirect URI of an integration.
func CallbackURL(base, org, id string) string { return LoginURL(base, org, id) + "/callback" }

// LoginURL is the org-specific login link of an integration.
func LoginURL(base, org, id string) string {
	return strings.TrimRight(base, "/") + "/orgs/" + url.PathEscape(org) + "/login/" + url.PathEscape(id)
}

// SetupURL is where a GitLab user creates an OAuth application of their own.
func SetupURL(in forgelink.Integration) string { return in.URL + "/-/user_settings/applications" }

// AdminSetupURL is where a GitLab administrator creates an instance-wide application.
func AdminSetupURL(in forgelink.Integration) string { return in.URL + "/admin/applications/new" }

// GroupSetupURL is where a group owner creates a group-owned application; group is the
// group's full path ("{group}" shows a placeholder).
func GroupSetupURL(in forgelink.Integration, group string) string {
	return in.URL + "/groups/" + group + "/-/settings/applications"
}

// secretName is the deterministic Secrets Manager name of an integration's client secret.
func (s *Integrations) secretName(org, id string) string { return s.secretPrefix + org + "/" + id }

// SecretPrefix is the name prefix of every client secret (for sweeping orphans).
func (s *Integrations) SecretPrefix() string { return s.secretPrefix }

// GetIntegration returns one integration of org.
func (s *Integrations) GetIntegration(ctx context.Context, org, id string) (forgelink.Integration, error) {
	in, err := s.getIntegration(ctx, org, id)
	if err != nil {
		return forgelink.Integration{}, err
	}
	list, err := s.withHealth(ctx, org, []forgelink.Integration{in})
	if err != nil {
		return forgelink.Integration{}, err
	}
	return list[0], nil
}

func (s *Integrations) getIntegration(ctx context.Context, org, id string) (forgelink.Integration, error) {
	in, err := s.store.GetIntegration(ctx, org, id)
	if forgelink.ErrorCode(err) == forgelink.ENOTFOUND {
		return forgelink.Integration{}, forgelink.Wrap(forgelink.ENOTFOUND, err, "There is no such integration in this org.")
	}
	return in, err
}

// ListIntegrations returns org's integrations.
func (s *Integrations) ListIntegrations(ctx context.Context, org string) ([]forgelink.Integration, error) {
	list, err := s.store.ListIntegrations(ctx, org)
	if err != nil {
		return nil, err
	}
	if list == nil {
		list = []forgelink.Integration{}
	}
	return s.withHealth(ctx, org, list)
}

// withHealth fills each integration's last_sign_in_at from its members' latest sign-in,
// and verified_at with the later of that and its last successful Test sign-in. Sign-ins
// do not write the integration item: that would be a fourth write per sign-in, and a
// member item already records it.
func (s *Integrations) withHealth(ctx context.Context, org string, list []forgelink.Integration) ([]forgelink.Integration, error) {
	members, err := s.store.ListMembers(ctx, org)
	if err != nil {
		return nil, err
	}
	last := map[string]time.Time{}
	for _, m := range members {
		if m.LastSeenAt.After(last[m.IntegrationID]) {
			last[m.IntegrationID] = m.LastSeenAt
		}
	}
	for i, in := range list {
		if t := last[in.ID]; t.After(in.LastSignInAt) {
			list[i].LastSignInAt = t
		}
		if list[i].LastSignInAt.After(in.VerifiedAt) {
			list[i].VerifiedAt = list[i].LastSignInAt
		}
	}
	return list, nil
}

// CreateIntegration adds an integration to org: pending, or active at once when the input
// carries credentials (then they are checked against GitLab first, and a failure leaves
// nothing behind). base is the public base URL that callback URLs start with.
func (s *Integrations) CreateIntegration(ctx context.Context, actor Actor, org string, in IntegrationInput, base string) (forgelink.Integration, error) {
	out, _, err := s.CreateIntegrationNotes(ctx, actor, org, in, base)
	return out, err
}

// CreateIntegrationNotes is CreateIntegration that also returns notes for the admin, in
// words: a pasted GitLab page address cut back to the server URL, and (with CheckServer)
// a server whose OpenID issuer is not the URL.
func (s *Integrations) CreateIntegrationNotes(ctx context.Context, actor Actor, org string, in IntegrationInput, base string) (forgelink.Integration, []string, error) {
	var notes []string
	if in.URL != nil {
		if server, cut := ServerURLOfPage(*in.URL); cut {
			notes = append(notes, pageNote(*in.URL, server))
			in.URL = &server
		}
	}
	item, err := s.createIntegration(ctx, actor, org, in, base, &notes)
	return item, notes, err
}

func (s *Integrations) createIntegration(ctx context.Context, actor Actor, org string, in IntegrationInput, base string, notes *[]string) (forgelink.Integration, error) {
	if err := s.authorize(actor, org); err != nil {
		return forgelink.Integration{}, err
	}
	fields := map[string]string{}
	normURL, err := s.checkPlatformAndURL(ctx, fields, org, in)
	if err != nil {
		return forgelink.Integration{}, err
	}
	name := strings.TrimSpace(deref(in.Name))
	if msg := checkName(name); msg != "" {
		fields["name"] = msg
	}
	clientID, secret, withCreds := checkCredentialFields(fields, in)
	caBundle := s.checkCABundle(fields, in.CABundle)
	groups := checkAllowedGroups(fields, in.AllowedGroups)
	if len(fields) > 0 {
		return forgelink.Integration{}, forgelink.Invalid(fields)
	}
	if err := s.checkServerNote(ctx, in.CheckServer, org, forgelink.Integration{URL: normURL, CABundle: caBundle}, notes); err != nil {
		return forgelink.Integration{}, err
	}
	if _, err := s.getOrg(ctx, org); err != nil {
		return forgelink.Integration{}, err
	}
	if err := s.writes.allow(org); err != nil {
		return forgelink.Integration{}, err
	}
	if name == "" {
		name = forgelink.Integration{URL: normURL}.Host()
	}
	now := s.now().UTC()
	item, err := s.store.CreateIntegration(ctx, forgelink.Integration{
		Org: org, ID: newID(), Platform: forgelink.PlatformGitLab, Name: name, URL: normURL,
		CABundle: caBundle, Status: forgelink.StatusPending, CreatedAt: now, UpdatedAt: now,
		AllowedGroups: groups,
	})
	if forgelink.ErrorCode(err) == forgelink.ECONFLICT {
		return forgelink.Integration{}, &forgelink.Error{Code: forgelink.ECONFLICT, Message: DuplicateURLMessage,
			Fields: map[string]string{"url": DuplicateURLMessage}, Err: err}
	} else if err != nil {
		return forgelink.Integration{}, err
	}
	if !withCreds {
		s.audit(ctx, actor, forgelink.AuditIntegrationCreated, item.ID, describe(item))
		return item, nil
	}
	return s.activateCreated(ctx, actor, item, clientID, secret, base)
}

// activateCreated finishes a one-shot create: check, store the secret, activate; on any
// failure it removes both, so a failed create leaves nothing (the id was never shown to
// anyone).
func (s *Integrations) activateCreated(ctx context.Context, actor Actor, item forgelink.Integration, clientID, secret, base string) (forgelink.Integration, error) {
	active, err := s.saveCredentials(ctx, item, item.URL, clientID, secret, base)
	if err != nil {
		s.undoCreate(ctx, item)
		return forgelink.Integration{}, err
	}
	s.audit(ctx, actor, forgelink.AuditIntegrationCreated, item.ID, describe(item))
	s.audit(ctx, actor, forgelink.AuditIntegrationSaved, item.ID, "client_id "+clientID+"; credentials verified with GitLab; status active"+confidentialNote(active))
	return active, nil
}

// checkServerNote reaches in's server when check is set (the HTML forms: Continue, Change
// Server URL): an unreachable server is an error, a server that does not look like GitLab
// there is a note for the page.
func (s *Integrations) checkServerNote(ctx context.Context, check bool, org string, in forgelink.Integration, notes *[]string) error {
	if !check {
		return nil
	}
	warning, err := s.checkServer(ctx, org, in)
	if err != nil {
		return err
	}
	if warning != "" {
		*notes = append(*notes, warning)
	}
	return nil
}

// HoldsSecret reports whether secret is the client secret in stores now (false when it
// has none or it cannot be read). The page's Save uses it to tell a form sent twice from a
// stale form that carries another secret.
func (s *Integrations) HoldsSecret(ctx context.Context, in forgelink.Integration, secret string) bool {
	if in.SecretARN == "" {
		return false
	}
	v, err := s.clientSecret(ctx, in)
	return err == nil && subtle.ConstantTimeCompare([]byte(v), []byte(secret)) == 1
}

// probe is the gate of org's DNS look-ups: each one takes a token of the org's probe
// bucket (IP literals and allow-listed hosts need none, so they cost nothing).
func (s *Integrations) probe(org string) func() error {
	return func() error { return s.probes.allow(org) }
}

// checkPlatformAndURL puts create's platform and URL problems in fields and returns the
// normalised URL; an error that is not a validation error is returned as is.
func (s *Integrations) checkPlatformAndURL(ctx context.Context, fields map[string]string, org string, in IntegrationInput) (string, error) {
	platform := deref(in.Platform)
	switch {
	case in.Platform == nil || strings.TrimSpace(platform) == "":
		fields["platform"] = `is required: "gitlab" (GitLab Self-Managed)`
	case strings.TrimSpace(platform) != forgelink.PlatformGitLab:
		fields["platform"] = `must be "gitlab" (GitLab Self-Managed)`
	}
	if in.URL == nil {
		fields["url"] = "is required"
		return "", nil
	}
	normURL, err := s.urls.ValidateGitLabURLWith(ctx, *in.URL, s.probe(org))
	if err != nil && !mergeInvalid(fields, err) {
		return "", err
	}
	return normURL, nil
}

// undoCreate removes a one-shot create's pending item and secret after a failure.
func (s *Integrations) undoCreate(ctx context.Context, item forgelink.Integration) {
	ctx = context.WithoutCancel(ctx)
	if err := s.store.DeleteIntegration(ctx, item.Org, item.ID, item.Version); err != nil && forgelink.ErrorCode(err) != forgelink.ENOTFOUND {
		s.log.ErrorContext(ctx, "undo failed create: pending integration left behind", "org", item.Org, "integration", item.ID, "error", err.Error())
	}
	if err := s.secrets.DeleteSecret(ctx, s.secretName(item.Org, item.ID)); err != nil {
		s.log.ErrorContext(ctx, "undo failed create: secret left for sweep-secrets", "org", item.Org, "integration", item.ID, "error", err.Error())
	}
}

// UpdateIntegration saves credentials (checked against GitLab first; the integration
// becomes active) and/or edits name, CA bundle, who may sign in and, while pending, the
// URL. A stale in.Version, or a concurrent change, is ECONFLICT: no update is ever lost.
func (s *Integrations) UpdateIntegration(ctx context.Context, actor Actor, org, id string, in IntegrationInput, base string) (forgelink.Integration, error) {
	out, _, err := s.UpdateIntegrationNotes(ctx, actor, org, id, in, base)
	return out, err
}

// UpdateIntegrationNotes is UpdateIntegration that also returns notes about a new URL,
// as CreateIntegrationNotes does at create: a pasted page address cut back and (with
// CheckServer) a server whose OpenID issuer is not the URL.
func (s *Integrations) UpdateIntegrationNotes(ctx context.Context, actor Actor, org, id string, in IntegrationInput, base string) (forgelink.Integration, []string, error) {
	if err := s.authorize(actor, org); err != nil {
		return forgelink.Integration{}, nil, err
	}
	cur, err := s.getIntegration(ctx, org, id)
	if err != nil {
		return forgelink.Integration{}, nil, err
	}
	if in.Version != 0 && in.Version != cur.Version {
		return forgelink.Integration{}, nil, errStale
	}
	fields := map[string]string{}
	ed, err := s.applyEdits(ctx, org, cur, in, fields)
	if err != nil {
		return forgelink.Integration{}, nil, err
	}
	clientID, secret, withCreds := checkCredentialFields(fields, in)
	if len(fields) > 0 {
		return forgelink.Integration{}, nil, forgelink.Invalid(fields)
	}
	if !withCreds && in.Name == nil && in.CABundle == nil && in.AllowedGroups == nil && in.URL == nil {
		return forgelink.Integration{}, nil, forgelink.Errorf(forgelink.EINVALID,
			"Nothing to change: send client_id and client_secret, name, ca_bundle, allowed_groups or (while pending) url.")
	}
	if err := s.checkServerNote(ctx, in.CheckServer && ed.next.URL != cur.URL, org, ed.next, &ed.notes); err != nil {
		return forgelink.Integration{}, nil, err
	}
	if err := s.writes.allow(org); err != nil {
		return forgelink.Integration{}, nil, err
	}
	var out forgelink.Integration
	if withCreds {
		out, err = s.saveCredentialsAudited(ctx, actor, cur, ed, clientID, secret, base)
	} else {
		ed.next = s.recheckConfidential(ctx, ed.next, base)
		out, err = s.saveEdits(ctx, actor, cur, ed)
	}
	if err != nil {
		return forgelink.Integration{}, nil, err
	}
	return out, ed.notes, nil
}

// saveCredentialsAudited saves credentials with the edits in ed (a new URL included:
// the check reaches the new server) and writes the audit record.
func (s *Integrations) saveCredentialsAudited(ctx context.Context, actor Actor, cur forgelink.Integration, ed edits, clientID, secret, base string) (forgelink.Integration, error) {
	out, err := s.saveCredentials(ctx, ed.next, cur.URL, clientID, secret, base)
	if err != nil {
		return forgelink.Integration{}, err
	}
	s.cache.forgetIntegration(cur.Org, cur.ID)
	action, detail := forgelink.AuditIntegrationSaved, "client_id "+clientID+"; credentials verified with GitLab; status active"
	if cur.SecretARN != "" {
		action, detail = forgelink.AuditSecretReplaced, "client_id "+clientID+"; new secret verified with GitLab"
	}
	if len(ed.changed) > 0 {
		detail += "; changed " + strings.Join(ed.changed, ", ")
	}
	s.audit(ctx, actor, action, cur.ID, detail+confidentialNote(out))
	return out, nil
}

// URLFixedMessage is the url field's message when the integration is no longer pending:
// its GitLab application, and the people who sign in, are on its server. Adding the new
// one first keeps sign-ins working until it is active.
const URLFixedMessage = "can only be changed while the integration is pending. To move to another GitLab server, add an integration for the new URL, then delete this one."

// edits are an update's changes to an integration: the integration with them, the words
// for the audit trail, and notes for the admin.
type edits struct {
	next    forgelink.Integration
	changed []string
	notes   []string
}

// applyEdits checks an update's platform, URL, name, CA bundle and allowed groups against
// cur: problems go into fields. Only an error that is not about a field (a rate-limited
// look-up) is returned.
func (s *Integrations) applyEdits(ctx context.Context, org string, cur forgelink.Integration, in IntegrationInput, fields map[string]string) (edits, error) {
	ed := edits{next: cur}
	if in.Platform != nil && strings.TrimSpace(*in.Platform) != cur.Platform {
		fields["platform"] = "cannot be changed"
	}
	if in.URL != nil {
		url, note, err := s.editURL(ctx, org, cur, *in.URL, fields)
		if err != nil {
			return edits{}, err
		}
		if url != cur.URL {
			ed.next.URL = url
			ed.changed = append(ed.changed, "url ("+cur.URL+" → "+url+")")
			// A name that defaulted to the host follows the new host.
			if in.Name == nil && cur.Name == cur.Host() {
				in.Name = new(string)
			}
		}
		if note != "" {
			ed.notes = append(ed.notes, note)
		}
	}
	if in.Name != nil {
		name := strings.TrimSpace(*in.Name)
		if msg := checkName(name); msg != "" {
			fields["name"] = msg
		} else if name == "" {
			name = ed.next.Host()
		}
		if name != cur.Name {
			ed.next.Name = name
			ed.changed = append(ed.changed, "name")
		}
	}
	if in.CABundle != nil {
		if ca := s.checkCABundle(fields, in.CABundle); ca != cur.CABundle {
			ed.next.CABundle = ca
			ed.changed = append(ed.changed, map[bool]string{true: "ca_bundle removed", false: "ca_bundle"}[ca == ""])
		}
	}
	if in.AllowedGroups != nil {
		if groups := checkAllowedGroups(fields, in.AllowedGroups); !slices.Equal(groups, cur.AllowedGroups) {
			ed.next.AllowedGroups = groups
			ed.changed = append(ed.changed, "who may sign in ("+describeAllowedGroups(groups)+")")
		}
	}
	return ed, nil
}

// editURL checks an update's URL against cur and returns the URL to store. The same
// server URL, however spelt, is no change. Another one is taken while cur is pending, by
// create's rules: a pasted page address is cut back (the note says so), then the URL
// rules run. An active integration's GitLab application is on its server: its URL is a
// field error that says how to move. Only errors that are not about the field return.
func (s *Integrations) editURL(ctx context.Context, org string, cur forgelink.Integration, raw string, fields map[string]string) (url, note string, err error) {
	server, cut := ServerURLOfPage(raw)
	// A client that sends the integration back as it read it causes no look-up.
	if strings.TrimRight(strings.TrimSpace(server), "/") == cur.URL {
		return cur.URL, "", nil
	}
	norm, err := s.urls.ValidateGitLabURLWith(ctx, server, s.probe(org))
	switch {
	case err == nil && norm == cur.URL:
		return cur.URL, "", nil
	case cur.Status != forgelink.StatusPending:
		fields["url"] = URLFixedMessage
		return cur.URL, "", nil
	case err != nil && !mergeInvalid(fields, err):
		return "", "", err
	case err != nil:
		return cur.URL, "", nil
	}
	if cut {
		note = pageNote(raw, norm)
	}
	return norm, note, nil
}

// pageNote tells the admin that the GitLab page address raw was cut back to server.
func pageNote(raw, server string) string {
	return fmt.Sprintf("You entered the address of a GitLab page (%s); forgelink uses the server's URL, %s.", strings.TrimSpace(raw), server)
}

// saveEdits writes an update without credentials (nothing changed: nothing written); a
// new URL moves the integration with its URL claim.
func (s *Integrations) saveEdits(ctx context.Context, actor Actor, cur forgelink.Integration, ed edits) (forgelink.Integration, error) {
	confirmed := cur.NotConfidential && !ed.next.NotConfidential
	if len(ed.changed) == 0 && !confirmed {
		return cur, nil
	}
	out, err := s.write(ctx, ed.next, cur.URL)
	if err != nil {
		return forgelink.Integration{}, err
	}
	s.cache.forgetIntegration(cur.Org, cur.ID)
	var details []string
	if len(ed.changed) > 0 {
		details = append(details, "changed "+strings.Join(ed.changed, ", "))
	}
	if confirmed {
		details = append(details, "application is Confidential now")
	}
	s.audit(ctx, actor, forgelink.AuditIntegrationUpdated, cur.ID, strings.Join(details, "; "))
	return out, nil
}

// write stores next, which was read at fromURL: an update, or a move when its URL is
// new. The store's errors become the service's words.
func (s *Integrations) write(ctx context.Context, next forgelink.Integration, fromURL string) (forgelink.Integration, error) {
	if next.URL == fromURL {
		out, err := s.store.UpdateIntegration(ctx, next)
		return out, conflictMessage(err)
	}
	out, err := s.store.MoveIntegration(ctx, next, fromURL)
	switch {
	case err == nil:
		return out, nil
	case forgelink.ErrorFields(err)["url"] == "":
		return forgelink.Integration{}, conflictMessage(err)
	case forgelink.ErrorCode(err) == forgelink.ECONFLICT:
		return forgelink.Integration{}, &forgelink.Error{Code: forgelink.ECONFLICT, Message: DuplicateURLMessage,
			Fields: map[string]string{"url": DuplicateURLMessage}, Err: err}
	case forgelink.ErrorCode(err) == forgelink.EINVALID:
		return forgelink.Integration{}, &forgelink.Error{Code: forgelink.EINVALID, Message: "Please correct the highlighted fields.",
			Fields: map[string]string{"url": URLFixedMessage}, Err: err}
	}
	return forgelink.Integration{}, err
}

// saveCredentials checks clientID and secret against GitLab, stores the secret, then
// activates the item: next carries the admin's other edits and, as Version, the version
// the change is based on. Nothing is stored when the check fails.
//
// Secret first, item second. The item names the exact secret version it uses, so the
// version written here only takes effect when the item write succeeds: a concurrent save
// that loses the version check leaves its secret version unreferenced (Secrets Manager
// keeps up to 100 versions readable by id, so the winner's stays readable even if a loser
// became AWSCURRENT), and a failed item write leaves sign-ins on the previous version.
// A secret created here (first save) is deleted again when the item write fails.
// The version only moves when the save succeeds, so retrying after a failure works.
func (s *Integrations) saveCredentials(ctx context.Context, next forgelink.Integration, fromURL, clientID, secret, base string) (forgelink.Integration, error) {
	// One probe token covers both calls to GitLab, and one budget bounds them: a slow
	// GitLab must not push the Save past the function's timeout.
	if err := s.probes.allow(next.Org); err != nil {
		return forgelink.Integration{}, err
	}
	gctx, cancel := context.WithTimeout(ctx, s.gitlabBudget)
	defer cancel()
	if err := s.gitlab.CheckCredentials(gctx, next, clientID, secret, CallbackURL(base, next.Org, next.ID)); err != nil {
		return forgelink.Integration{}, err
	}
	next.NotConfidential = s.notConfidential(gctx, next, clientID, base, false)
	name := s.secretName(next.Org, next.ID)
	ref, err := s.secrets.PutSecret(ctx, name, secret, map[string]string{
		"org": next.Org, "integration": next.ID, "managed-by": "forgelink",
	})
	if err != nil {
		return forgelink.Integration{}, err
	}
	created := next.SecretARN == ""
	next.ClientID = clientID
	next.SecretARN, next.SecretVersion = ref.ARN, ref.Version
	next.SecretUpdatedAt = s.now().UTC()
	next.Status = forgelink.StatusActive
	out, err := s.write(ctx, next, fromURL)
	if err != nil {
		if created || forgelink.ErrorCode(err) == forgelink.ENOTFOUND {
			s.dropUnreferencedSecret(ctx, next.Org, next.ID)
		}
		return forgelink.Integration{}, err
	}
	return out, nil
}

// notConfidential asks GitLab whether the application clientID is not marked
// Confidential. When GitLab cannot tell, the Save goes on: it logs and returns unknown.
func (s *Integrations) notConfidential(ctx context.Context, in forgelink.Integration, clientID, base string, unknown bool) bool {
	confidential, err := s.gitlab.IsConfidential(ctx, in, clientID, CallbackURL(base, in.Org, in.ID))
	if err != nil {
		s.log.WarnContext(ctx, "could not tell whether the GitLab application is Confidential",
			"org", in.Org, "integration", in.ID, "error", err.Error())
		return unknown
	}
	return !confidential
}

// recheckConfidential asks GitLab again, at a Save without new credentials, about an
// application found not Confidential before. The check needs no secret, so ticking
// Confidential on GitLab and pressing Save here clears the warning. It is a call out to
// GitLab, so it takes a probe token; without one, or when GitLab cannot tell, the
// warning stays and the Save goes on.
func (s *Integrations) recheckConfidential(ctx context.Context, in forgelink.Integration, base string) forgelink.Integration {
	if !in.NotConfidential || in.ClientID == "" {
		return in
	}
	if err := s.probes.allow(in.Org); err != nil {
		s.log.WarnContext(ctx, "Confidential re-check skipped: probe limit reached", "org", in.Org, "integration", in.ID)
		return in
	}
	gctx, cancel := context.WithTimeout(ctx, s.gitlabBudget)
	defer cancel()
	in.NotConfidential = s.notConfidential(gctx, in, in.ClientID, base, true)
	return in
}

// confidentialNote is the audit detail of a Save that found the application not
// Confidential.
func confidentialNote(in forgelink.Integration) string {
	if in.NotConfidential {
		return "; application is not Confidential"
	}
	return ""
}

// dropUnreferencedSecret deletes the secret of a save whose item write failed, unless
// the item (changed concurrently) now refers to it. When that cannot be told, the secret
// stays: it is harmless (the next save overwrites it, deleting the integration or
// sweep-secrets removes it).
func (s *Integrations) dropUnreferencedSecret(ctx context.Context, org, id string) {
	ctx = context.WithoutCancel(ctx)
	latest, err := s.store.GetIntegration(ctx, org, id)
	if err != nil && forgelink.ErrorCode(err) != forgelink.ENOTFOUND {
		s.log.WarnContext(ctx, "cannot tell whether a new secret is referenced; kept", "org", org, "integration", id, "error", err.Error())
		return
	}
	if err == nil && latest.SecretARN != "" {
		return
	}
	if err := s.secrets.DeleteSecret(ctx, s.secretName(org, id)); err != nil {
		s.log.ErrorContext(ctx, "secret of a failed save left for sweep-secrets", "org", org, "integration", id, "error", err.Error())
	}
}

var errStale = forgelink.Errorf(forgelink.ECONFLICT, "The integration was changed by someone else in the meantime. Reload it and try again.")

func conflictMessage(err error) error {
	switch forgelink.ErrorCode(err) {
	case forgelink.ECONFLICT:
		return &forgelink.Error{Code: forgelink.ECONFLICT, Message: errStale.Message, Err: err}
	case forgelink.ENOTFOUND:
		return forgelink.Wrap(forgelink.ENOTFOUND, err, "The integration was deleted in the meantime.")
	}
	return err
}

// DeleteIntegration deletes an integration and its client secret.
func (s *Integrations) DeleteIntegration(ctx context.Context, actor Actor, org, id string) error {
	return s.DeleteIntegrationAt(ctx, actor, org, id, 0)
}

// DeleteIntegrationAt is DeleteIntegration with optimistic concurrency: version, when
// non-zero, must be the stored version (ECONFLICT otherwise).
//
// Order: the item first (version-checked), then the secret by its deterministic name (so
// even a pending item left by a crash takes its secret along). Deleting the secret first
// could leave an active integration whose secret is gone when the item delete then fails.
// If the secret delete fails after the item is gone, the secret is an orphan that
// `forgelinkctl sweep-secrets` removes; the call still succeeds.
func (s *Integrations) DeleteIntegrationAt(ctx context.Context, actor Actor, org, id string, version int64) error {
	if err := s.authorize(actor, org); err != nil {
		return err
	}
	var cur forgelink.Integration
	for attempt := 0; ; attempt++ {
		var err error
		if cur, err = s.getIntegration(ctx, org, id); err != nil {
			return err
		}
		if version != 0 && version != cur.Version {
			return errStale
		}
		// Like the other writes, only a delete that can happen counts against the
		// per-org limit: an unknown id is 404 (not 429) and costs nothing.
		if attempt == 0 {
			if err := s.writes.allow(org); err != nil {
				return err
			}
		}
		err = s.store.DeleteIntegration(ctx, org, id, cur.Version)
		if err == nil {
			break
		}
		// Without a version from the admin, a concurrent save does not stop a delete.
		if forgelink.ErrorCode(err) != forgelink.ECONFLICT || version != 0 || attempt == 2 {
			return conflictMessage(err)
		}
	}
	// This container forgets at once; others within the cache TTL (cache.go).
	s.cache.forgetIntegration(org, id)
	s.cache.forgetSecret(cur.SecretARN)
	dctx := context.WithoutCancel(ctx)
	if err := s.secrets.DeleteSecret(dctx, s.secretName(org, id)); err != nil {
		s.log.ErrorContext(ctx, "integration deleted but its secret was not; sweep-secrets will remove it",
			"org", org, "integration", id, "error", err.Error())
	}
	s.audit(dctx, actor, forgelink.AuditIntegrationDeleted, id, describe(cur))
	s.dropAdminRulesOf(dctx, actor, org, id)
	return nil
}

// SweepResult reports one orphaned secret.
type SweepResult struct {
	Name    string
	Deleted bool
	Err     error
}

// SweepSecrets deletes client secrets under the prefix whose integration item does not
// exist (left by a crash between the secret write and the item write, or by a failed
// secret delete). dryRun only reports them.
func (s *Integrations) SweepSecrets(ctx context.Context, dryRun bool) ([]SweepResult, error) {
	names, err := s.secrets.ListSecrets(ctx, s.secretPrefix)
	if err != nil {
		return nil, err
	}
	var out []SweepResult
	for _, name := range names {
		org, id, ok := strings.Cut(strings.TrimPrefix(name, s.secretPrefix), "/")
		if !ok || org == "" || id == "" || strings.Contains(id, "/") {
			continue // not a forgelink client secret name; leave it alone
		}
		_, err := s.store.GetIntegration(ctx, org, id)
		if err == nil {
			continue
		} else if forgelink.ErrorCode(err) != forgelink.ENOTFOUND {
			return out, err
		}
		r := SweepResult{Name: name}
		if !dryRun {
			r.Err = s.secrets.DeleteSecret(ctx, name)
			r.Deleted = r.Err == nil
		}
		out = append(out, r)
	}
	return out, nil
}

// authorize checks that actor acts for org (the web layer authenticated it).
func (s *base) authorize(actor Actor, org string) error {
	if actor.Org != org || actor.Name == "" {
		return forgelink.Errorf(forgelink.EFORBIDDEN, "You are not allowed to change this org's integrations.")
	}
	return nil
}

// checkCredentialFields validates the client id / secret pair: both or neither given;
// given but empty is an error (the setup form of a pending integration sends both).
func checkCredentialFields(fields map[string]string, in IntegrationInput) (clientID, secret string, ok bool) {
	clientID = strings.TrimSpace(deref(in.ClientID))
	secret = strings.TrimSpace(deref(in.ClientSecret))
	if in.ClientID == nil && in.ClientSecret == nil {
		return "", "", false
	}
	switch {
	case clientID == "" && secret == "":
		fields["client_id"] = "is required"
		fields["client_secret"] = "is required"
	case clientID == "":
		fields["client_id"] = "is required with the Secret"
	case !validClientID(clientID):
		fields["client_id"] = "must be 1-128 characters of letters, digits, _ and - (copy the Application ID from GitLab)"
	}
	switch {
	case clientID == "" && secret == "":
	case secret == "":
		fields["client_secret"] = "is required with the Application ID"
	case len(secret) > MaxClientSecretLength || strings.ContainsFunc(secret, func(r rune) bool { return r <= ' ' || r >= 0x7f }):
		fields["client_secret"] = "must be 1-256 printable characters without spaces (copy the Secret from GitLab)"
	}
	return clientID, secret, true
}

// checkCABundle validates an optional CA bundle and returns it trimmed.
func (s *Integrations) checkCABundle(fields map[string]string, ca *string) string {
	if ca == nil {
		return ""
	}
	v := strings.TrimSpace(*ca)
	if v == "" {
		return ""
	}
	if err := s.urls.ValidateCABundle(v); err != nil {
		if !mergeInvalid(fields, err) {
			fields["ca_bundle"] = "is not a valid PEM certificate bundle"
		}
	}
	return v
}

// checkName validates a display name ("" is fine: it defaults to the host).
func checkName(name string) string {
	switch {
	case !utf8.ValidString(name):
		return "must be valid text"
	case utf8.RuneCountInString(name) > MaxNameLength:
		return fmt.Sprintf("must be at most %d characters", MaxNameLength)
	case strings.ContainsAny(name, "<>"):
		return "must not contain < or >"
	case strings.ContainsFunc(name, func(r rune) bool { return !unicode.IsPrint(r) }):
		return "must not contain control or invisible characters"
	}
	return ""
}

// mergeInvalid copies an EINVALID error's fields into fields; false for other errors.
func mergeInvalid(fields map[string]string, err error) bool {
	if forgelink.ErrorCode(err) != forgelink.EINVALID {
		return false
	}
	for k, v := range forgelink.ErrorFields(err) {
		fields[k] = v
	}
	return true
}

// checkServer reaches the server at in.URL: an error when nothing answers, a warning when
// it answers but is not GitLab at that URL (its OpenID issuer differs, path included).
func (s *Integrations) checkServer(ctx context.Context, org string, in forgelink.Integration) (string, error) {
	// Each reach-out is a probe of the operator's networks: it takes a token of the org's
	// probe bucket like a DNS look-up does.
	if err := s.probes.allow(org); err != nil {
		return "", err
	}
	info, err := s.gitlab.Probe(ctx, in)
	if err != nil {
		return "", err
	}
	switch {
	case info.Issuer == in.URL:
		return "", nil
	case info.Issuer != "":
		return fmt.Sprintf("A server answered at %s, but it says it is GitLab at %s. If that is its address, change the Server URL to %s.", in.URL, info.Issuer, info.Issuer), nil
	case info.Status == 200:
		return fmt.Sprintf("A server answered at %s, but its OpenID configuration names no issuer. Check that this is your GitLab server's URL, path prefix included.", in.URL), nil
	}
	// No status code in the words: admin pages are no scanner (the log has the detail).
	s.log.InfoContext(ctx, "no GitLab OpenID configuration", "org", org, "status", info.Status)
	return fmt.Sprintf("A server answered at %s, but it has no GitLab OpenID configuration at /.well-known/openid-configuration. Check that this is your GitLab server's URL, path prefix included.", in.URL), nil
}

// describe is an audit detail of an integration: never secrets.
func describe(in forgelink.Integration) string {
	return fmt.Sprintf("%s %q at %s (status %s)", in.Platform, in.Name, in.URL, in.Status)
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
