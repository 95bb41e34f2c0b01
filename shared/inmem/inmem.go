// Package inmem is the embedded, in-memory implementation of forgelink.Store and
// forgelink.Secrets (the default of `make run` and the fast leg of the conformance suite).
// It mirrors DynamoDB and Secrets Manager semantics rather than being merely convenient:
// conditional creates, optimistic versions, expiry checked on every read, single-use links,
// and values copied in and out so callers never share memory with the store.
package inmem

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"sort"
	"sync"
	"time"

	"github.com/forgelink/forgelink/shared/forgelink"
)

// Store keeps everything in maps behind one mutex; every method is one critical section,
// which gives the same atomicity a single DynamoDB conditional write or transaction does.
type Store struct {
	now func() time.Time

	mu           sync.Mutex
	orgs         map[string]forgelink.Org
	integrations map[string]map[string]forgelink.Integration // org → id → integration
	urls         map[string]map[string]string                // org → url → integration id
	members      map[memberKey]forgelink.Member
	sessions     map[string]forgelink.Session
	tokens       map[string]forgelink.AdminToken // hash → token (hashes are global, like the pointer item)
	links        map[string]forgelink.AdminLink
	audit        map[string][]forgelink.AuditRecord        // org → records, any order
	auditIDs     map[string]struct{}                       // org + "/" + id: PutAudit's duplicate check without a scan
	adminRules   map[string]map[string]forgelink.AdminRule // org → id → rule

	secrets map[string]*secret // name → secret
}

type memberKey struct {
	org, integrationID string
	userID             int64
}

var (
	_ forgelink.Store   = (*Store)(nil)
	_ forgelink.Secrets = (*Store)(nil)
)

// New returns an empty store. now is consulted for every timestamp and expiry check, so
// tests can drive time with a fake clock; nil means time.Now.
func New(now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{
		now:          now,
		orgs:         map[string]forgelink.Org{},
		integrations: map[string]map[string]forgelink.Integration{},
		urls:         map[string]map[string]string{},
		members:      map[memberKey]forgelink.Member{},
		sessions:     map[string]forgelink.Session{},
		tokens:       map[string]forgelink.AdminToken{},
		links:        map[string]forgelink.AdminLink{},
		audit:        map[string][]forgelink.AuditRecord{},
		auditIDs:     map[string]struct{}{},
		adminRules:   map[string]map[string]forgelink.AdminRule{},
		secrets:      map[string]*secret{},
	}
}

// utc drops the monotonic reading and location so stored times compare the same way the
// DynamoDB store's round-tripped strings do.
func utc(t time.Time) time.Time { return t.Round(0).UTC() }

func (s *Store) CreateOrg(ctx context.Context, org forgelink.Org) error {
	if org.Slug == "" {
		return forgelink.Invalid(map[string]string{"slug": "must not be empty"})
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.orgs[org.Slug]; ok {
		return forgelink.Errorf(forgelink.ECONFLICT, "an org with this slug already exists")
	}
	if org.CreatedAt.IsZero() {
		org.CreatedAt = s.now()
	}
	org.CreatedAt = utc(org.CreatedAt)
	s.orgs[org.Slug] = org
	return nil
}

func (s *Store) GetOrg(ctx context.Context, slug string) (forgelink.Org, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	org, ok := s.orgs[slug]
	if !ok {
		return forgelink.Org{}, forgelink.Errorf(forgelink.ENOTFOUND, "org not found")
	}
	return org, nil
}

func (s *Store) CreateIntegration(ctx context.Context, in forgelink.Integration) (forgelink.Integration, error) {
	if in.Org == "" || in.URL == "" {
		return forgelink.Integration{}, forgelink.Invalid(map[string]string{"url": "must not be empty"})
	}
	if in.ID == "" {
		in.ID = randomHex(10)
	}
	now := utc(s.now())
	in.Version = 1
	if in.CreatedAt.IsZero() {
		in.CreatedAt = now
	}
	if in.UpdatedAt.IsZero() {
		in.UpdatedAt = in.CreatedAt
	}
	in = normaliseIntegration(in)

	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.integrations[in.Org][in.ID]; ok {
		return forgelink.Integration{}, forgelink.Errorf(forgelink.ECONFLICT, "an integration with this id already exists")
	}
	if _, ok := s.urls[in.Org][in.URL]; ok {
		return forgelink.Integration{}, errDuplicateURL
	}
	if s.integrations[in.Org] == nil {
		s.integrations[in.Org] = map[string]forgelink.Integration{}
		s.urls[in.Org] = map[string]string{}
	}
	s.integrations[in.Org][in.ID] = in
	s.urls[in.Org][in.URL] = in.ID
	return detached(in), nil
}

func (s *Store) GetIntegration(ctx context.Context, org, id string) (forgelink.Integration, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in, ok := s.integrations[org][id]
	if !ok {
		return forgelink.Integration{}, errIntegrationNotFound
	}
	return detached(in), nil
}

var errIntegrationNotFound = forgelink.Errorf(forgelink.ENOTFOUND, "integration not found")

// ListIntegrations returns them ordered by id, the order a DynamoDB Query on the sort key gives.
func (s *Store) ListIntegrations(ctx context.Context, org string) ([]forgelink.Integration, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]forgelink.Integration, 0, len(s.integrations[org]))
	for _, in := range s.integrations[org] {
		out = append(out, detached(in))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

func (s *Store) UpdateIntegration(ctx context.Context, in forgelink.Integration) (forgelink.Integration, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.integrations[in.Org][in.ID]
	switch {
	case !ok:
		return forgelink.Integration{}, errIntegrationNotFound
	case in.URL != "" && in.URL != old.URL:
		return forgelink.Integration{}, errURLImmutable
	case old.Version != in.Version:
		return forgelink.Integration{}, errStale
	}
	next := s.withEdits(old, in)
	s.integrations[in.Org][in.ID] = next
	return detached(next), nil
}

// withEdits is old with in's mutable fields, the next version and the time: identity,
// URL and creation time stay as stored.
func (s *Store) withEdits(old, in forgelink.Integration) forgelink.Integration {
	next := old
	next.Name = in.Name
	next.ClientID = in.ClientID
	next.SecretARN = in.SecretARN
	next.SecretVersion = in.SecretVersion
	next.SecretUpdatedAt = in.SecretUpdatedAt
	next.CABundle = in.CABundle
	next.Status = in.Status
	next.NotConfidential = in.NotConfidential
	next.AllowedGroups = in.AllowedGroups
	next.Version = old.Version + 1
	next.UpdatedAt = s.now()
	return normaliseIntegration(next)
}

// MoveIntegration checks, in DynamoDB's order of reasons (the item, then the new URL's
// claim), and then moves item and claim together under the one lock.
func (s *Store) MoveIntegration(ctx context.Context, in forgelink.Integration, fromURL string) (forgelink.Integration, error) {
	if in.URL == "" || in.URL == fromURL {
		return forgelink.Integration{}, errMoveNowhere
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.integrations[in.Org][in.ID]
	switch {
	case !ok:
		return forgelink.Integration{}, errIntegrationNotFound
	case old.Status != forgelink.StatusPending:
		return forgelink.Integration{}, errNotPending
	case old.Version != in.Version, old.URL != fromURL:
		return forgelink.Integration{}, errStale
	}
	if _, taken := s.urls[in.Org][in.URL]; taken {
		return forgelink.Integration{}, errDuplicateURL
	}
	next := s.withEdits(old, in)
	next.URL = in.URL
	s.integrations[in.Org][in.ID] = next
	delete(s.urls[in.Org], fromURL)
	s.urls[in.Org][in.URL] = in.ID
	return detached(next), nil
}

// The DynamoDB store says the same (the conformance suite compares some of the words).
var (
	errStale        = forgelink.Errorf(forgelink.ECONFLICT, "the integration was changed by someone else; reload and try again")
	errURLImmutable = forgelink.Invalid(map[string]string{"url": "cannot be changed; delete the integration and add it again"})
	errNotPending   = forgelink.Invalid(map[string]string{"url": "cannot be changed once the integration is no longer pending"})
	errMoveNowhere  = forgelink.Invalid(map[string]string{"url": "must differ from the URL the integration moves from"})
	errDuplicateURL = &forgelink.Error{Code: forgelink.ECONFLICT, Message: duplicateURL, Fields: map[string]string{"url": duplicateURL}}
)

const duplicateURL = "an integration for this GitLab URL already exists in this org"

func (s *Store) DeleteIntegration(ctx context.Context, org, id string, version int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.integrations[org][id]
	if !ok {
		return errIntegrationNotFound
	}
	if old.Version != version {
		return errStale
	}
	delete(s.integrations[org], id)
	delete(s.urls[org], old.URL)
	return nil
}

func normaliseIntegration(in forgelink.Integration) forgelink.Integration {
	in.CreatedAt = utc(in.CreatedAt)
	in.UpdatedAt = utc(in.UpdatedAt)
	in.SecretUpdatedAt = utc(in.SecretUpdatedAt)
	in.VerifiedAt = utc(in.VerifiedAt)
	in.LastSignInAt = utc(in.LastSignInAt)
	in.AllowedGroups = copyGroups(in.AllowedGroups)
	return in
}

// expired is the read-side expiry check DynamoDB's lazy TTL makes necessary.
func (s *Store) expired(expiresAt time.Time) bool { return !s.now().Before(expiresAt) }

func (s *Store) CreateSession(ctx context.Context, sess forgelink.Session) error {
	if sess.Hash == "" {
		return forgelink.Errorf(forgelink.EINTERNAL, "session hash must not be empty")
	}
	sess = sess.WithDefaults(s.now())
	sess.CreatedAt, sess.ExpiresAt = utc(sess.CreatedAt), utc(sess.ExpiresAt)
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.sessions[sess.Hash]; ok && !s.expired(old.ExpiresAt) {
		return forgelink.Errorf(forgelink.ECONFLICT, "session already exists")
	}
	s.sessions[sess.Hash] = sess
	return nil
}

func (s *Store) GetSession(ctx context.Context, hash string) (forgelink.Session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.sessions[hash]
	if !ok || s.expired(sess.ExpiresAt) {
		return forgelink.Session{}, forgelink.Errorf(forgelink.ENOTFOUND, "session not found")
	}
	return sess, nil
}

// DeleteSession is idempotent: signing out twice is not an error.
func (s *Store) DeleteSession(ctx context.Context, hash string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.sessions, hash)
	return nil
}

func (s *Store) CreateAdminToken(ctx context.Context, t forgelink.AdminToken) error {
	if t.Hash == "" || t.Org == "" {
		return forgelink.Errorf(forgelink.EINTERNAL, "admin token hash and org must not be empty")
	}
	if t.CreatedAt.IsZero() {
		t.CreatedAt = s.now()
	}
	t.CreatedAt = utc(t.CreatedAt)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.tokens[t.Hash]; ok {
		return forgelink.Errorf(forgelink.ECONFLICT, "admin token already exists")
	}
	s.tokens[t.Hash] = t
	return nil
}

func (s *Store) GetAdminToken(ctx context.Context, org, hash string) (forgelink.AdminToken, error) {
	t, err := s.FindAdminToken(ctx, hash)
	if err != nil || t.Org != org {
		return forgelink.AdminToken{}, errTokenNotFound
	}
	return t, nil
}

var errTokenNotFound = forgelink.Errorf(forgelink.ENOTFOUND, "admin token not found")

func (s *Store) FindAdminToken(ctx context.Context, hash string) (forgelink.AdminToken, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokens[hash]
	if !ok {
		return forgelink.AdminToken{}, errTokenNotFound
	}
	return t, nil
}

func (s *Store) ListAdminTokens(ctx context.Context, org string) ([]forgelink.AdminToken, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []forgelink.AdminToken{}
	for _, t := range s.tokens {
		if t.Org == org {
			out = append(out, t)
		}
	}
	forgelink.SortAdminTokens(out)
	return out, nil
}

func (s *Store) DeleteAdminToken(ctx context.Context, org, hash string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.tokens[hash]; !ok || t.Org != org {
		return errTokenNotFound
	}
	delete(s.tokens, hash)
	return nil
}

func (s *Store) CreateAdminLink(ctx context.Context, l forgelink.AdminLink) error {
	if l.Hash == "" || l.Org == "" {
		return forgelink.Errorf(forgelink.EINTERNAL, "admin link hash and org must not be empty")
	}
	l = l.WithDefaults(s.now())
	l.CreatedAt, l.ExpiresAt = utc(l.CreatedAt), utc(l.ExpiresAt)
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.links[l.Hash]; ok && !s.expired(old.ExpiresAt) {
		return forgelink.Errorf(forgelink.ECONFLICT, "admin link already exists")
	}
	s.links[l.Hash] = l
	return nil
}

func (s *Store) ConsumeAdminLink(ctx context.Context, org, hash string) (forgelink.AdminLink, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.links[hash]
	if !ok || s.expired(l.ExpiresAt) || l.Org != org {
		return forgelink.AdminLink{}, forgelink.Errorf(forgelink.ENOTFOUND, "sign-in link not found, already used or expired")
	}
	delete(s.links, hash)
	return l, nil
}

func (s *Store) PutAudit(ctx context.Context, a forgelink.AuditRecord) error {
	if a.Org == "" {
		return forgelink.Errorf(forgelink.EINTERNAL, "audit record needs an org")
	}
	if a.Time.IsZero() {
		a.Time = s.now()
	}
	a.Time = utc(a.Time)
	if a.ID == "" {
		a.ID = forgelink.NewAuditID(a.Time)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	key := a.Org + "/" + a.ID
	if _, dup := s.auditIDs[key]; dup {
		return forgelink.Errorf(forgelink.ECONFLICT, "audit record already exists")
	}
	s.auditIDs[key] = struct{}{}
	s.audit[a.Org] = append(s.audit[a.Org], a)
	return nil
}

// ListAudit returns newest first; limit <= 0 means no limit.
func (s *Store) ListAudit(ctx context.Context, org, integrationID string, limit int) ([]forgelink.AuditRecord, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []forgelink.AuditRecord
	for _, a := range s.audit[org] {
		if integrationID == "" || a.IntegrationID == integrationID {
			out = append(out, a)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID > out[j].ID })
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b)
}
